#!/bin/sh
# tools/libvirtd.sh start|stop|status — a libvirtd (and its virtlogd) for hvbench's libvirt
# tests when none is running. `start` does nothing when a daemon already answers on
# qemu:///system (it is not ours: `stop` will leave it alone); otherwise it makes what Debian's
# libvirt-daemon-system package would have made (the libvirt-qemu user and group, the kvm group,
# /var/log/libvirt, /run/libvirt), starts virtlogd and libvirtd as daemons and records their
# pids in $HB_LIBVIRTD_STATE (default /run/hvbench-libvirtd.pids). `stop` kills only the pids
# recorded there by this script. Exit 0: running; 2: cannot be started here (reason printed);
# 1: usage or an unexpected failure.
set -u
STATE=${HB_LIBVIRTD_STATE:-/run/hvbench-libvirtd.pids}
URI=qemu:///system

answers() { virsh -q -c "$URI" version >/dev/null 2>&1; }

# Waits up to $2 tenths of a second for command $1 to succeed.
wait_for() {
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ $i -gt "$2" ] && return 1
		sleep 0.1
	done
	return 0
}

start() {
	for b in libvirtd virtlogd virsh; do
		command -v $b >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
		command -v $b >/dev/null 2>&1 ||
			{ echo "libvirtd.sh: $b not installed (sh tools/deps.sh)"; return 2; }
	done
	if answers; then
		echo "libvirtd.sh: a libvirtd already answers on $URI (not started by us)"
		return 0
	fi
	[ "$(id -u)" = 0 ] || { echo "libvirtd.sh: starting libvirtd needs root"; return 2; }
	# Debian's libvirt runs QEMU as libvirt-qemu:libvirt-qemu, a member of kvm
	getent group kvm >/dev/null || groupadd -r kvm || return 2
	getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu || return 2
	getent passwd libvirt-qemu >/dev/null ||
		useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin \
			libvirt-qemu || return 2
	# /dev/kvm as udev's rule makes it (root:kvm 0660). Left root-only, libvirt 9 finds KVM
	# unusable for its QEMU user at every capabilities lookup, drops its cache and probes QEMU
	# again each time (8-15 s a call on the TCG test host): a domain start took 100-110 s
	# instead of a few; with it, one probe (3 s) and then the cache.
	if [ -c /dev/kvm ] && { [ "$(stat -c %G /dev/kvm)" != kvm ] ||
		[ $(( 0$(stat -c %a /dev/kvm) & 060 )) -ne 48 ]; }; then
		chgrp kvm /dev/kvm && chmod g+rw /dev/kvm || return 2
		echo "libvirtd.sh: /dev/kvm given to group kvm (rw), as udev does"
	fi
	mkdir -p /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/qemu || return 2
	: >"$STATE.new" || return 2
	if ! pgrep -x virtlogd >/dev/null 2>&1; then
		virtlogd -d -p /run/libvirt/hb-virtlogd.pid || { echo "libvirtd.sh: virtlogd failed"; return 2; }
		wait_for '[ -s /run/libvirt/hb-virtlogd.pid ]' 50 || { echo "libvirtd.sh: virtlogd wrote no pid"; return 2; }
		echo "virtlogd $(cat /run/libvirt/hb-virtlogd.pid)" >>"$STATE.new"
	fi
	libvirtd -d -p /run/libvirt/hb-libvirtd.pid || { echo "libvirtd.sh: libvirtd failed to start"; return 2; }
	wait_for '[ -s /run/libvirt/hb-libvirtd.pid ]' 50 || { echo "libvirtd.sh: libvirtd wrote no pid"; return 2; }
	echo "libvirtd $(cat /run/libvirt/hb-libvirtd.pid)" >>"$STATE.new"
	mv "$STATE.new" "$STATE"
	if ! wait_for answers 300; then
		echo "libvirtd.sh: libvirtd started but does not answer on $URI within 30 s"
		stop
		return 2
	fi
	echo "libvirtd.sh: started $(tr '\n' ' ' <"$STATE")"
	return 0
}

stop() {
	[ -f "$STATE" ] || { echo "libvirtd.sh: nothing started by us"; return 0; }
	# libvirtd first (it holds virtlogd's clients), then virtlogd
	for what in libvirtd virtlogd; do
		pid=$(awk -v w=$what '$1 == w {print $2}' "$STATE")
		[ -n "$pid" ] || continue
		# only a process that still is that daemon (the pid may have been reused)
		[ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$what" ] || continue
		kill -TERM "$pid"
		wait_for "! kill -0 $pid 2>/dev/null" 100 || kill -KILL "$pid"
	done
	rm -f "$STATE" /run/libvirt/hb-libvirtd.pid /run/libvirt/hb-virtlogd.pid
	echo "libvirtd.sh: stopped"
	return 0
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) answers && echo "libvirtd.sh: running" || { echo "libvirtd.sh: not running"; exit 2; } ;;
*) echo "usage: $0 start|stop|status" >&2; exit 1 ;;
esac
