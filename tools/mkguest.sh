#!/bin/sh
# mkguest.sh — builds the embedded default guest under BUILD/guest/, shaped for a fast boot under
# emulation. From a Debian 6.1 kernel package (apt-get download of the newest
# linux-image-6.1.0-N-amd64, unpacked with dpkg-deb -x):
#   vmlinux     the kernel uncompressed (extracted from the xz bzImage): QEMU boots it through
#               its PVH entry, which skips the firmware's kernel loading and the xz
#               decompression that take seconds under TCG (vmlinuz is kept for reference)
#   initrd.img  a small lz4 newc initramfs: busybox-static, hvbench-guest with its shared
#               libraries, tools/guest-init and the modules it loads (virtio, squashfs), resolved
#               through modules.dep
#   tools.img   a read-only squashfs (lz4) holding fio, iperf3 and their libraries; the guest
#               mounts it on /usr from a virtio-blk disk with serial "hbtools", so nothing is
#               unpacked into RAM and only the pages fio touches are ever read. Debian's fio
#               links the library of every I/O engine (ceph, gluster, nbd, rdma, pmem: with
#               their closure ~50 libraries, ~70 MiB, about a second of loading per fio start
#               under emulation); hvbench runs only libaio, io_uring, psync and sync, so those
#               libraries are replaced by stubs generated here by tools/fiostub.sh (same
#               SONAME and symbol versions; a stubbed function exits with a message naming it)
# The result is cached: a stamp holds a hash of the inputs (kernel package, binaries, this
# script, tools/guest-init) and nothing is rebuilt while it matches. The sizes are printed.
# Outputs: BUILD/guest/{vmlinux,vmlinuz,initrd.img,tools.img,kernel-version,sizes,stamp}
# Exit status 0 on success; 2 with "mkguest: SKIP: <reason>" when no kernel package is available.
set -eu

BUILD=${1:-build}
G="$BUILD/guest"
HERE=$(cd "$(dirname "$0")" && pwd)
INIT="$HERE/guest-init"
STUBGEN="$HERE/fiostub.sh"
# fio's engine libraries hvbench never uses (the disk workload's engines need none of them)
FIO_STUBS="librbd.so.1 librados.so.2 libgfapi.so.0 libnbd.so.0 libibverbs.so.1 librdmacm.so.1
libpmemblk.so.1 libpmem.so.1"
if ! command -v gcc >/dev/null 2>&1 || ! command -v readelf >/dev/null 2>&1; then
	say "warning: gcc or readelf missing: fio keeps all its engine libraries (a slower fio start)"
	FIO_STUBS=""
fi
GUEST_BIN=${HB_GUEST_BIN:-$BUILD/hvbench-guest} # an installed hvbench-mkguest names its own
MODULES="virtio_pci virtio_mmio virtio_blk virtio_net failover net_failover virtio_console
virtio_scsi sd_mod squashfs"

say() { echo "mkguest: $*" >&2; }
die() { say "$*"; exit 1; }
kib() { echo $(($(wc -c <"$1") / 1024)); }

for tool in busybox fio iperf3 dpkg-deb depmod cpio lz4 xz mksquashfs ldd sha256sum; do
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

# Shared libraries (and the loader) of some binaries, at their real paths, one per line.
libs_of() {
	for b in "$@"; do
		ldd "$b" | awk '/=>/ && $3 ~ /^\// {print $3} /^[ \t]*\/[^ ]*ld-linux/ {print $1}'
	done | sort -u
}
FIO=$(command -v fio)
IPERF=$(command -v iperf3)
BUSYBOX=$(command -v busybox)
AGENT_LIBS=$(libs_of "$GUEST_BIN")
# The tools image holds what the initramfs does not (the hash covers the libraries the stubs
# are generated from).
TOOL_LIBS=$(libs_of "$FIO" "$IPERF" | grep -vxF "$AGENT_LIBS" || true)
# shellcheck disable=SC2086
HASH=$( {
	basename "$DEB"
	sha256sum "$GUEST_BIN" "$BUSYBOX" "$FIO" "$IPERF" "$0" "$INIT" "$STUBGEN" | awk '{print $1}'
	echo "$FIO_STUBS"
	sha256sum $(for l in $AGENT_LIBS $TOOL_LIBS; do readlink -f "$l"; done) | awk '{print $1}'
	echo "$MODULES"
	mksquashfs -version 2>/dev/null | head -1
} | sha256sum | awk '{print $1}')
OUTS="vmlinux vmlinuz initrd.img tools.img kernel-version sizes"
uptodate=1
for f in $OUTS stamp; do [ -f "$G/$f" ] || uptodate=0; done
if [ "$uptodate" = 1 ] && [ "$(cat "$G/stamp")" = "$HASH" ]; then
	say "guest image up to date ($G): $(cat "$G/sizes")"
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

# vmlinux: the ELF inside the bzImage, after the xz stream's magic (what the kernel's
# scripts/extract-vmlinux does). xz reports "trailing garbage" after the stream: ignored.
off=$(LC_ALL=C grep -abo "$(printf '\3757zXZ')" "$G/vmlinuz.tmp" | head -1 | cut -d: -f1 || true)
[ -n "$off" ] || die "no xz stream in the kernel image (not an xz bzImage)"
tail -c +$((off + 1)) "$G/vmlinuz.tmp" | xz -dc -q >"$G/vmlinux.tmp" 2>/dev/null || true
head -c 4 "$G/vmlinux.tmp" | grep -q "ELF" || die "extracting vmlinux from the bzImage failed"
# PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 18) or QEMU cannot boot it directly.
if command -v readelf >/dev/null 2>&1; then
	readelf -n "$G/vmlinux.tmp" | grep -q "0x00000012" ||
		die "the kernel has no PVH entry note (CONFIG_PVH): cannot boot vmlinux directly"
fi

# Initramfs tree: busybox, init, the agent and its libraries, the modules.
R="$G/initrd-root"
rm -rf "$R"
mkdir -p "$R/bin" "$R/sbin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/run" "$R/etc" \
	"$R/lib/modules/$KVER" "$R/usr"
cp "$BUSYBOX" "$R/bin/busybox"
for a in $(busybox --list); do
	[ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
cp "$GUEST_BIN" "$R/bin/hvbench-guest"
strip --strip-debug "$R/bin/hvbench-guest" 2>/dev/null || true
cp "$INIT" "$R/init"
chmod 0755 "$R/init"
for lib in $AGENT_LIBS; do
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
for m in virtio_pci virtio_blk virtio_net virtio_console squashfs; do
	grep -q "/$m.ko" "$R/lib/modules/$KVER/modules.dep" || die "module $m missing from the initramfs"
done
# lz4 legacy frames (-l) are what the kernel's initramfs unpacker reads; decompressing them
# under TCG costs a fraction of gzip's time.
(cd "$R" && find . -print | sort | cpio -o -H newc --quiet) >"$G/initrd.cpio.tmp"
lz4 -l -9 -q -f "$G/initrd.cpio.tmp" "$G/initrd.img.tmp"

# fio's unused engine libraries as stubs; the stubbed fio must still start and run a job here.
S="$(cd "$G" && pwd)/fiostub"
rm -rf "$S"
mkdir -p "$S"
[ -z "$FIO_STUBS" ] || sh "$STUBGEN" build "$FIO" "$S" $FIO_STUBS >"$G/fiostub.log" ||
	die "building fio's stub libraries failed"
probe="$G/fiostub-probe.dat"
LD_LIBRARY_PATH="$S" "$FIO" --name=probe --filename="$probe" --size=256k --bs=4k --rw=read \
	--ioengine=psync --output-format=terse >/dev/null 2>"$G/fiostub-probe.err" ||
	die "fio with stub libraries fails to run a psync job: $(tail -c 300 "$G/fiostub-probe.err")"
rm -f "$probe" "$G/fiostub-probe.err"
# What fio and iperf3 load with the stubs in place (the stubs themselves are listed apart).
IMAGE_LIBS=$(LD_LIBRARY_PATH="$S" libs_of "$FIO" "$IPERF" | grep -vxF "$AGENT_LIBS" |
	grep -v "^$S/" || true)
NFIO=$(LD_LIBRARY_PATH="$S" libs_of "$FIO" | wc -l)

# Tools image: mounted on /usr in the guest, so /usr/bin/fio and the libraries under
# /usr/lib/x86_64-linux-gnu (the loader's default path).
T="$G/tools-root"
rm -rf "$T"
mkdir -p "$T/bin" "$T/lib/x86_64-linux-gnu"
cp "$FIO" "$T/bin/fio"
cp "$IPERF" "$T/bin/iperf3"
for lib in $IMAGE_LIBS; do
	rel=${lib#/usr}
	mkdir -p "$T$(dirname "$rel")"
	cp -L "$lib" "$T$rel"
done
for so in $FIO_STUBS; do
	if [ -f "$S/$so" ]; then cp "$S/$so" "$T/lib/x86_64-linux-gnu/$so"; fi
done
rm -f "$G/tools.img.tmp"
mksquashfs "$T" "$G/tools.img.tmp" -comp lz4 -Xhc -b 128K -noappend -all-root -no-xattrs \
	-mkfs-time 0 -all-time 0 -quiet >/dev/null

mv "$G/vmlinuz.tmp" "$G/vmlinuz"
mv "$G/vmlinux.tmp" "$G/vmlinux"
mv "$G/initrd.img.tmp" "$G/initrd.img"
mv "$G/tools.img.tmp" "$G/tools.img"
echo "$KVER" >"$G/kernel-version"
printf 'initrd.img %d KiB (%d KiB unpacked), tools.img %d KiB (%d KiB of files; fio loads %d libraries, %d of them stubs), vmlinux %d KiB, kernel %s\n' \
	"$(kib "$G/initrd.img")" "$(kib "$G/initrd.cpio.tmp")" "$(kib "$G/tools.img")" \
	"$(du -sk --apparent-size "$T" | awk '{print $1}')" "$NFIO" "$(ls "$S" | grep -c '\.so')" \
	"$(kib "$G/vmlinux")" "$KVER" >"$G/sizes"
rm -f "$G/initrd.cpio.tmp"
echo "$HASH" >"$G/stamp"
say "guest ready in $G: $(cat "$G/sizes")"
