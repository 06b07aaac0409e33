#!/bin/sh
# mkguest.sh — builds the embedded default guest under BUILD/guest/: a Debian 6.1 kernel
# (apt-get download of the newest linux-image-6.1.0-N-amd64, unpacked with dpkg-deb -x) and a
# gzip'd newc initramfs holding busybox-static, hvbench-guest, fio and iperf3 with every shared
# library ldd names (plus the loader), and the virtio modules resolved through modules.dep. The
# result is cached: a stamp holds a hash of the inputs (kernel package, binaries, this script,
# tools/guest-init) and nothing is rebuilt while it matches. Outputs:
#   BUILD/guest/vmlinuz  BUILD/guest/initrd.img  BUILD/guest/kernel-version  BUILD/guest/stamp
# Exit status 0 on success; 2 with "mkguest: SKIP: <reason>" when no kernel package is available.
set -eu

BUILD=${1:-build}
G="$BUILD/guest"
HERE=$(cd "$(dirname "$0")" && pwd)
INIT="$HERE/guest-init"
GUEST_BIN=${HB_GUEST_BIN:-$BUILD/hvbench-guest} # an installed hvbench-mkguest names its own
MODULES="virtio_pci virtio_mmio virtio_blk virtio_net failover net_failover virtio_console
virtio_scsi sd_mod"

say() { echo "mkguest: $*" >&2; }
die() { say "$*"; exit 1; }

for tool in busybox fio iperf3 dpkg-deb depmod cpio gzip ldd sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || die "missing tool '$tool' (run: make deps)"
done
[ -x "$GUEST_BIN" ] || die "$GUEST_BIN not built (run: make BUILD=$BUILD all)"
mkdir -p "$G/deb"

# The kernel: the newest linux-image-6.1.0-N-amd64 apt knows, else one already downloaded.
PKG=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
	grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -1 || true)
DEB=""
if [ -n "$PKG" ]; then
	DEB=$(ls "$G/deb/${PKG}_"*.deb 2>/dev/null | tail -1 || true)
	if [ -z "$DEB" ]; then
		say "downloading $PKG"
		(cd "$G/deb" && apt-get download -q -o APT::Sandbox::User=root "$PKG" >/dev/null 2>&1) ||
			say "apt-get download $PKG failed"
		DEB=$(ls "$G/deb/${PKG}_"*.deb 2>/dev/null | tail -1 || true)
	fi
fi
[ -n "$DEB" ] || DEB=$(ls "$G"/deb/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$DEB" ]; then
	echo "mkguest: SKIP: no linux-image-6.1.0-*-amd64 package available (apt-cache/apt-get download)" >&2
	exit 2
fi

BINS="$GUEST_BIN $(command -v busybox) $(command -v fio) $(command -v iperf3)"
# Every shared library (and the loader) the guest binaries use, at their real paths.
LIBS=$(for b in $GUEST_BIN $(command -v fio) $(command -v iperf3); do
	ldd "$b" | awk '/=>/ && $3 ~ /^\// {print $3} /^[ \t]*\/[^ ]*ld-linux/ {print $1}'
done | sort -u)
# shellcheck disable=SC2086
HASH=$( {
	basename "$DEB"
	sha256sum $BINS "$0" "$INIT" | awk '{print $1}'
	sha256sum $(for l in $LIBS; do readlink -f "$l"; done) | awk '{print $1}'
	echo "$MODULES"
} | sha256sum | awk '{print $1}')
if [ -f "$G/stamp" ] && [ "$(cat "$G/stamp")" = "$HASH" ] && [ -f "$G/vmlinuz" ] &&
	[ -f "$G/initrd.img" ]; then
	say "guest image up to date ($G)"
	exit 0
fi
say "building guest image from $(basename "$DEB")"
rm -f "$G/stamp"

# Kernel + full module tree, depmod'd so modprobe can resolve dependencies.
rm -rf "$G/kernel-root"
dpkg-deb -x "$DEB" "$G/kernel-root"
KVER=$(ls "$G/kernel-root/lib/modules" | head -1)
[ -n "$KVER" ] || die "no modules directory in $DEB"
cp "$G/kernel-root/boot/vmlinuz-$KVER" "$G/vmlinuz.tmp"
depmod -b "$G/kernel-root" "$KVER"

# Initramfs tree.
R="$G/initrd-root"
rm -rf "$R"
mkdir -p "$R/bin" "$R/sbin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/run" "$R/etc" \
	"$R/lib/modules/$KVER" "$R/usr/bin"
cp "$(command -v busybox)" "$R/bin/busybox"
for a in $(busybox --list); do
	[ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
cp "$GUEST_BIN" "$R/bin/hvbench-guest"
cp "$(command -v fio)" "$R/bin/fio"
cp "$(command -v iperf3)" "$R/bin/iperf3"
cp "$INIT" "$R/init"
chmod 0755 "$R/init"

# Shared libraries (and the loader) at their real paths.
for lib in $LIBS; do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
[ -e "$R/lib64/ld-linux-x86-64.so.2" ] || die "loader missing from the initramfs"

# Modules: the closure of MODULES through modules.dep, then a fresh depmod for the subset.
KR="$G/kernel-root/lib/modules/$KVER"
for m in $MODULES; do
	modprobe -d "$G/kernel-root" -S "$KVER" --show-depends "$m" 2>/dev/null ||
		say "warning: module $m not found"
done | awk '$1 == "insmod" {print $2}' | sort -u | while read -r ko; do
	rel="/lib/modules/${ko#*/lib/modules/}"
	mkdir -p "$R$(dirname "$rel")"
	cp "$ko" "$R$rel"
done
cp "$KR/modules.order" "$KR/modules.builtin" "$KR/modules.builtin.modinfo" "$R/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$R" "$KVER"
for m in virtio_pci virtio_blk virtio_net virtio_console; do
	grep -q "/$m.ko" "$R/lib/modules/$KVER/modules.dep" || die "module $m missing from the initramfs"
done

(cd "$R" && find . -print | sort | cpio -o -H newc --quiet) | gzip -6 >"$G/initrd.img.tmp"
mv "$G/vmlinuz.tmp" "$G/vmlinuz"
mv "$G/initrd.img.tmp" "$G/initrd.img"
echo "$KVER" >"$G/kernel-version"
echo "$HASH" >"$G/stamp"
say "guest ready: $G/vmlinuz $G/initrd.img ($(du -k "$G/initrd.img" | awk '{print $1}') KiB, kernel $KVER)"
