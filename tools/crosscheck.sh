#!/bin/sh
# crosscheck.sh — checks the workloads against the tools run by hand: the same fio job through
# the fio CLI, the same iperf3 test through the iperf3 CLI (server in one network namespace,
# client in the other, like the workload; loopback when namespaces are unavailable), netrr's TCP
# round trips against sockperf ping-pong on that same path, and noise's interruptions against
# oslat (rt-tests' user-space OS latency loop) on the same CPU. Runs are interleaved (workload,
# CLI, workload, CLI, ...) and the medians compared. Prints both figures and the % difference.
# Needs root for the namespaces, jq, fio, iperf3, sockperf, oslat.
#
# Usage: tools/crosscheck.sh [BUILD_DIR]   (env: REPS=3 DURATION=5 ONLY="disk net netrr noise")
# The workload runs through `BUILD/tests/test_workloads` in driver mode (HB_WL_RUN=...), which
# calls the same hb_wl_disk / hb_wl_net code `hvbench run` uses.
set -eu
BUILD=${1:-build}
REPS=${REPS:-3}
DURATION=${DURATION:-5}
DRIVER="$BUILD/tests/test_workloads"
[ -x "$DRIVER" ] || { echo "crosscheck: $DRIVER not built (make BUILD=$BUILD $DRIVER)" >&2; exit 2; }
ONLY=${ONLY:-disk net netrr noise}
for t in jq fio iperf3; do
	command -v $t >/dev/null || { echo "crosscheck: $t not installed" >&2; exit 2; }
done
case $ONLY in *netrr*) command -v sockperf >/dev/null ||
	{ echo "crosscheck: sockperf not installed (tools/deps.sh)" >&2; exit 2; } ;; esac
case $ONLY in *noise*) command -v oslat >/dev/null ||
	{ echo "crosscheck: oslat not installed (rt-tests; tools/deps.sh)" >&2; exit 2; } ;; esac

TMP=$(mktemp -d /tmp/hb-crosscheck-XXXXXX)
NS_S="hbx-$$-s"
NS_C="hbx-$$-c"
SRV_PID=""
RR_PID=""
cleanup() {
	if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then kill "$SRV_PID"; fi
	if [ -n "$RR_PID" ] && kill -0 "$RR_PID" 2>/dev/null; then kill "$RR_PID"; fi
	ip netns del "$NS_S" 2>/dev/null || true
	ip netns del "$NS_C" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f%%", (a-b)/b*100}'; }

# ---- disk: the same job file via the workload and via the fio CLI ----
disk_case() { # name params-json
	name=$1; params=$2
	: >"$TMP/wl.txt"; : >"$TMP/cli.txt"
	i=0
	while [ $i -lt "$REPS" ]; do
		HB_WL_RUN=disk HB_WL_DURATION=$DURATION HB_WL_SCRATCH="$TMP" HB_WL_PARAMS="$params" \
			"$DRIVER" >"$TMP/wl.json"
		jq -r '.metrics[] | select(.name=="iops") | .value' "$TMP/wl.json" >>"$TMP/wl.txt"
		# The job the workload used, pointed at a fresh scratch file of the same size.
		jq -r '.info.job' "$TMP/wl.json" | sed "s|^filename=.*|filename=$TMP/cli.dat|" >"$TMP/job.fio"
		fio --output-format=json --eta=never "$TMP/job.fio" >"$TMP/cli.json"
		rm -f "$TMP/cli.dat"
		sed -n '/^{/,$p' "$TMP/cli.json" |
			jq -r '[.jobs[] | (.read.iops + .write.iops)] | add' >>"$TMP/cli.txt"
		i=$((i + 1))
	done
	w=$(median <"$TMP/wl.txt"); c=$(median <"$TMP/cli.txt")
	printf '%-22s %-8s workload %12.1f   fio CLI %12.1f   diff %s   (runs: wl %s | cli %s)\n' \
		"disk $name" IOPS "$w" "$c" "$(pct "$w" "$c")" \
		"$(tr '\n' ' ' <"$TMP/wl.txt")" "$(tr '\n' ' ' <"$TMP/cli.txt")"
}

# ---- net: the same iperf3 test via the workload and via the iperf3 CLI ----
PATHKIND=loopback
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns add "$NS_S" 2>/dev/null; then
	ip netns add "$NS_C"
	ip -n "$NS_S" link set lo up
	ip -n "$NS_C" link set lo up
	ip -n "$NS_S" link add hbv0 type veth peer name hbv1 netns "$NS_C"
	ip -n "$NS_S" addr add 198.18.0.1/30 dev hbv0
	ip -n "$NS_C" addr add 198.18.0.2/30 dev hbv1
	ip -n "$NS_S" link set hbv0 up
	ip -n "$NS_C" link set hbv1 up
	PATHKIND=veth-netns
fi

net_cli() { # extra iperf3 client flags -> Gbit/s (receiver side)
	if [ "$PATHKIND" = veth-netns ]; then
		ip netns exec "$NS_S" iperf3 -s -1 -B 198.18.0.1 -p 5201 -D -I "$TMP/srv.pid" >/dev/null
		SRV_ADDR=198.18.0.1; RUN_C="ip netns exec $NS_C"
	else
		iperf3 -s -1 -B 127.0.0.1 -p 5399 -D -I "$TMP/srv.pid" >/dev/null
		SRV_ADDR=127.0.0.1; RUN_C=""
	fi
	sleep 0.3
	SRV_PID=$(cat "$TMP/srv.pid")
	port=5201; [ "$PATHKIND" = veth-netns ] || port=5399
	# shellcheck disable=SC2086
	$RUN_C iperf3 -c "$SRV_ADDR" -p $port -t "$DURATION" -J "$@" >"$TMP/iperf.json"
	jq -r '.end.sum_received.bits_per_second / 1e9' "$TMP/iperf.json"
	k=0; while kill -0 "$SRV_PID" 2>/dev/null && [ $k -lt 20 ]; do sleep 0.1; k=$((k + 1)); done
	SRV_PID=""
}

net_case() { # name params-json iperf3-flags...
	name=$1; params=$2; shift 2
	: >"$TMP/wl.txt"; : >"$TMP/cli.txt"
	i=0
	while [ $i -lt "$REPS" ]; do
		HB_WL_RUN=net HB_WL_DURATION=$DURATION HB_WL_PARAMS="$params" "$DRIVER" >"$TMP/wl.json"
		jq -r '.metrics[] | select(.name=="throughput") | .value' "$TMP/wl.json" >>"$TMP/wl.txt"
		wpath=$(jq -r '.info.path' "$TMP/wl.json")
		net_cli "$@" >>"$TMP/cli.txt"
		i=$((i + 1))
	done
	w=$(median <"$TMP/wl.txt"); c=$(median <"$TMP/cli.txt")
	printf '%-22s %-8s workload %12.3f   iperf3 CLI %9.3f   diff %s   (path: wl %s, cli %s; runs: wl %s| cli %s)\n' \
		"net $name" Gbit/s "$w" "$c" "$(pct "$w" "$c")" "$wpath" "$PATHKIND" \
		"$(tr '\n' ' ' <"$TMP/wl.txt")" "$(tr '\n' ' ' <"$TMP/cli.txt")"
}

# ---- netrr: TCP round trips via the workload and via sockperf ping-pong (--full-rtt) ----
RR_PORT=11111
rr_cli() { # size -> "p50 p99" round trip in µs
	if [ "$PATHKIND" = veth-netns ]; then
		ip netns exec "$NS_S" sockperf sr --tcp -i 198.18.0.1 -p $RR_PORT >/dev/null 2>&1 &
		RR_PID=$!; SRV_ADDR=198.18.0.1; RUN_C="ip netns exec $NS_C"; RUN_S="ip netns exec $NS_S"
	else
		sockperf sr --tcp -i 127.0.0.1 -p $RR_PORT >/dev/null 2>&1 &
		RR_PID=$!; SRV_ADDR=127.0.0.1; RUN_C=""; RUN_S=""
	fi
	k=0 # wait until it listens
	# shellcheck disable=SC2086
	until $RUN_S ss -Hltn "sport = :$RR_PORT" | grep -q LISTEN || [ $k -ge 100 ]; do
		sleep 0.05; k=$((k + 1))
	done
	# shellcheck disable=SC2086
	$RUN_C sockperf pp --tcp -i "$SRV_ADDR" -p $RR_PORT -t "$DURATION" -m "$1" --full-rtt \
		>"$TMP/sockperf.txt" 2>&1
	kill "$RR_PID"; wait "$RR_PID" 2>/dev/null || true; RR_PID=""
	awk '/percentile 50.000 =/ {p50=$NF} /percentile 99.000 =/ {p99=$NF}
	     END {if (p50 == "" || p99 == "") exit 1; print p50, p99}' "$TMP/sockperf.txt"
}

rr_case() { # size (sockperf's minimum is 14 bytes)
	size=$1
	: >"$TMP/wl.txt"; : >"$TMP/wl99.txt"; : >"$TMP/cli.txt"; : >"$TMP/cli99.txt"
	i=0
	while [ $i -lt "$REPS" ]; do
		# sockperf warms up for 0.4 s before measuring: the same ramp here
		HB_WL_RUN=netrr HB_WL_DURATION=$DURATION HB_WL_RAMP=0.4 \
			HB_WL_PARAMS="{\"size\":$size}" "$DRIVER" >"$TMP/wl.json"
		jq -r '.metrics[] | select(.name=="rtt_p50") | .value' "$TMP/wl.json" >>"$TMP/wl.txt"
		jq -r '.metrics[] | select(.name=="rtt_p99") | .value' "$TMP/wl.json" >>"$TMP/wl99.txt"
		wpath=$(jq -r '.info.path' "$TMP/wl.json")
		rr_cli "$size" >"$TMP/rr.txt"
		cut -d' ' -f1 "$TMP/rr.txt" >>"$TMP/cli.txt"
		cut -d' ' -f2 "$TMP/rr.txt" >>"$TMP/cli99.txt"
		i=$((i + 1))
	done
	for q in 50 99; do
		sfx=""; [ $q = 99 ] && sfx=99
		w=$(median <"$TMP/wl$sfx.txt"); c=$(median <"$TMP/cli$sfx.txt")
		printf '%-22s %-8s workload %12.2f   sockperf %11.2f   diff %s   (path: wl %s, cli %s; runs: wl %s| cli %s)\n' \
			"netrr tcp-${size}B p$q" "RTT us" "$w" "$c" "$(pct "$w" "$c")" "$wpath" "$PATHKIND" \
			"$(tr '\n' ' ' <"$TMP/wl$sfx.txt")" "$(tr '\n' ' ' <"$TMP/cli$sfx.txt")"
	done
}

# ---- noise: interruptions above 5 µs via the workload and via oslat, on the same CPU ----
noise_case() {
	cpu=$(($(nproc) - 1))
	: >"$TMP/wl.txt"; : >"$TMP/cli.txt"; : >"$TMP/wlmax.txt"; : >"$TMP/climax.txt"
	i=0
	while [ $i -lt "$REPS" ]; do
		HB_WL_RUN=noise HB_WL_DURATION=$DURATION \
			HB_WL_PARAMS="{\"threshold\":5,\"cpu\":$cpu}" "$DRIVER" >"$TMP/wl.json"
		jq -r '.metrics[] | select(.name=="interrupts") | .value' "$TMP/wl.json" >>"$TMP/wl.txt"
		jq -r '.metrics[] | select(.name=="gap_max") | .value' "$TMP/wl.json" >>"$TMP/wlmax.txt"
		oslat -c "$cpu" -D "$(printf '%.0f' "$DURATION")" -q --json="$TMP/oslat.json" >/dev/null 2>&1
		# oslat's bucket k counts loops that took (k-1, k] µs: above 5 µs is k >= 6 (the
		# last bucket holds every longer one)
		jq -r '.thread["0"] | ([.histogram | to_entries[] | select((.key|tonumber) >= 6) | .value]
			| add // 0) / .duration' "$TMP/oslat.json" >>"$TMP/cli.txt"
		jq -r '.thread["0"].max' "$TMP/oslat.json" >>"$TMP/climax.txt"
		i=$((i + 1))
	done
	w=$(median <"$TMP/wl.txt"); c=$(median <"$TMP/cli.txt")
	printf '%-22s %-8s workload %12.1f   oslat %14.1f   diff %s   (cpu %s; runs: wl %s| cli %s)\n' \
		"noise >5us" "1/s" "$w" "$c" "$(pct "$w" "$c")" "$cpu" \
		"$(tr '\n' ' ' <"$TMP/wl.txt")" "$(tr '\n' ' ' <"$TMP/cli.txt")"
	w=$(median <"$TMP/wlmax.txt"); c=$(median <"$TMP/climax.txt")
	printf '%-22s %-8s workload %12.1f   oslat %14.1f   diff %s   (max is one extreme event: indicative only)\n' \
		"noise max gap" "us" "$w" "$c" "$(pct "$w" "$c")"
}

echo "crosscheck: $REPS interleaved runs of $DURATION s each; medians compared"
case $ONLY in *disk*)
	disk_case "4k-randread" '{"rw":"randread","bs":"4k","size":"256M"}'
	disk_case "1M-read" '{"rw":"read","bs":"1M","iodepth":4,"size":"256M"}'
	;;
esac
case " $ONLY " in *" net "*)
	net_case "send" '{"direction":"send"}'
	net_case "recv" '{"direction":"recv"}' -R
	# Capped rate: both sides must report the cap (checks units and which side is summed).
	net_case "send-capped-2G" '{"direction":"send","bitrate":2000000000}' -b 2000000000
	;;
esac
case $ONLY in *netrr*)
	rr_case 64
	;;
esac
case $ONLY in *noise*)
	noise_case
	;;
esac
