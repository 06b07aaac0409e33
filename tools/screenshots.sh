#!/bin/sh
# screenshots.sh REPORT_DIR [OUT_DIR] — renders REPORT_DIR/report.html in headless Chromium
# and writes page screenshots (the top at 1280 and 800 px wide, and the whole page) to OUT_DIR (default
# REPORT_DIR/screenshots), so a person can check that no table or figure is clipped.
# Chromium is optional: without it this says so and exits 77 (skip).
set -eu
dir=${1:?usage: tools/screenshots.sh REPORT_DIR [OUT_DIR]}
out=${2:-$dir/screenshots}
html=$(cd "$dir" && pwd)/report.html
[ -f "$html" ] || { echo "screenshots: $html not found" >&2; exit 2; }
browser=
for b in chromium chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
	echo "SKIP: screenshots need chromium (apt-get install chromium)" >&2
	exit 77
fi
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
shot() { # NAME WIDTH HEIGHT
	"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$profile" --window-size="$2,$3" --virtual-time-budget=5000 \
		--screenshot="$out/$1.png" "file://$html" >/dev/null 2>&1
	echo "$out/$1.png"
}
shot top 1280 1400
shot narrow 800 1400
shot full 1280 12000
