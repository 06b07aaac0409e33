#!/bin/sh
# Installs the Debian packages hvbench needs when any is missing. Idempotent; prints what it does.
set -eu
PKGS="gcc make libjansson-dev libiperf-dev libpfm4-dev libcmocka-dev fio iperf3 gnuplot-nox
qemu-system-x86 qemu-utils busybox-static cpio kmod iproute2 zstd xz-utils lz4 squashfs-tools clang
libclang-rt-14-dev file python3 python3-yaml jq stress-ng sockperf rt-tests
libsqlite3-dev sqlite3 libpq-dev postgresql python3-jsonschema prometheus ansible man-db
libvirt-dev libxml2-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients pkg-config"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; run as root or install by hand: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "deps: done"
