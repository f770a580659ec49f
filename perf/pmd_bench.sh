#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/pmd_bench.sh - DPDK shared-memory PMDs side by side, one run:
#
#   rate     M packets/s at 64 and 1518 B between two dpdk-testpmd
#            processes, one --forward-mode=txonly (the client), the other
#            --forward-mode=rxonly (the server), read from the receiver's
#            --stats-period 1 Rx-pps after a warm-up;
#   latency  ivc-dpdk-check latency (one frame at a time, TSC) against
#            dpdk-testpmd --forward-mode=io: median and p99 round trip;
#
# for the variants: net_memif copy, net_memif zero-copy (zero-copy=yes on
# the client), and net_ivc copy and zero-copy (zc=1 on both ports), the
# last two only where the PMD (BUILD/src/dpdk/librte_net_ivc.so, or
# IVC_PMD_SO) exists; and, for reference, ivc's native service chain
# (variant chain: ivc-chain run, generator -> firewall -> sink on CPUs
# 0,1,1, no DPDK; rate only).  Each figure is the median of REPEAT runs; each
# run's rate is the median of its SECS one-second samples.  With two CPUs
# or more, one side's lcores (testpmd's main and forwarding lcore) are
# pinned on CPU 0 and the other's on CPU 1.
#
# usage: perf/pmd_bench.sh [--build DIR] [--secs N] [--repeat N]
#        [--count N] [--csv FILE] [--variants LIST] [--sizes LIST]
#
#   --build DIR     the build tree [build]
#   --secs N        rate samples per run, after 2 s of warm-up [5]
#   --repeat N      runs per figure [3]
#   --count N       latency round trips per run (a tenth more warm up) [100000]
#   --csv FILE      the CSV [pmd_bench.csv]
#   --variants L    of memif-copy,memif-zc,ivc-copy,ivc-zc,chain [all]
#   --sizes L       frame sizes [64,1518]
#
# It prints a markdown table (rates: the median run, and the least and
# the most of the runs) and writes the same figures as CSV.  It asserts
# nothing; a run that fails is shown as FAIL, a variant whose PMD
# is missing as n/a.  Figures of a shared or virtual machine are
# preliminary: say where they were measured.
# shellcheck disable=SC2154  # PID_<name>: set by pmd_start (pmd_lib.sh)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/dpdk/pmd_lib.sh
. "$HERE/../test/dpdk/pmd_lib.sh"

BUILD=build SECS=5 REPEAT=3 COUNT=100000 CSV=pmd_bench.csv
VARIANTS=memif-copy,memif-zc,ivc-copy,ivc-zc,chain SIZES=64,1518
WARM=2
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2 ;;
	--secs) SECS=$2 ;;
	--repeat) REPEAT=$2 ;;
	--count) COUNT=$2 ;;
	--csv) CSV=$2 ;;
	--variants) VARIANTS=$2 ;;
	--sizes) SIZES=$2 ;;
	-h | --help)
		pmd_usage
		exit 0
		;;
	*)
		echo "pmd_bench: unknown option $1 (--help)" >&2
		exit 2
		;;
	esac
	shift 2 || { echo "pmd_bench: $1 needs a value" >&2; exit 2; }
done
BUILD=$(cd "$BUILD" 2> /dev/null && pwd) || { echo "pmd_bench: no build tree" >&2; exit 2; }
command -v dpdk-testpmd > /dev/null || [ -n "${IVC_DPDK_TESTPMD:-}" ] ||
	{ echo "pmd_bench: no dpdk-testpmd (Debian package dpdk)" >&2; exit 2; }

# median: the median of the numbers on stdin, or "-" for none.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}

# variant VARIANT: KIND, the devargs added to the client's and the
# server's vdev, and more EAL arguments for the client (net_memif's
# zero-copy exports the client's memory, which must then be one file per
# segment list: "Zero-copy doesn't support multi-file segments").
variant() {
	EAL_C=()
	case $1 in
	memif-copy) KIND=memif ZC_C="" ZC_S="" ;;
	memif-zc) KIND=memif ZC_C=",zero-copy=yes" ZC_S="" EAL_C=(--single-file-segments) ;;
	ivc-copy) KIND=ivc ZC_C="" ZC_S="" ;;
	ivc-zc) KIND=ivc ZC_C=",zc=1" ZC_S=",zc=1" ;;
	chain) KIND=chain ZC_C="" ZC_S="" ;;
	*) echo "pmd_bench: no variant $1" >&2; exit 2 ;;
	esac
}

# have VARIANT: its PMD is there.
have() {
	variant "$1"
	case $KIND in
	ivc) [ -f "${IVC_PMD_SO:-$BUILD/src/dpdk/librte_net_ivc.so}" ] ;;
	chain) [ -x "$BUILD/apps/ivc-chain" ] ;;
	esac
}

# run_chain SIZE: ivc's native service chain (apps/chain: generator ->
# firewall -> sink, three processes on CPUs 0,1,1, no DPDK), for
# reference: its rate at the sink, M packets/s, when delivery was exact.
run_chain() {
	"$BUILD/apps/ivc-chain" run --size "$1" --cpus 0,1,1 2> /dev/null |
		awk '/^rate:/ { r = $2 } /^verdict: exact/ { ok = 1 } END { if (ok) print r }'
}

# rx_samples LOG: the receiver's Rx-pps samples so far, one a line.
rx_samples() {
	tr -d '\033' < "$1" | awk '/Rx-pps:/ { print $2 }'
}

# enough N: the receiver has printed N samples.
enough() {
	[ "$(rx_samples "$PMD_WORK/rx.log" | wc -l)" -ge "$1" ]
}

# run_rate VARIANT SIZE (in a subshell): one run; its last line is the
# median Rx-pps in M packets/s.
run_rate() {
	local size=$2 base n pid
	variant "$1"
	if [ "$KIND" = chain ]; then
		run_chain "$size"
		return
	fi
	pmd_setup "pmd_bench rate $1 $size"
	pmd_kind "$BUILD" "$KIND"
	pmd_need_testpmd
	# The receiver: stats every second; it prints no "Press enter".
	pmd_eal rx "0@$PMD_CPU_B,1@$PMD_CPU_B" "$VDEV_SERVER$ZC_S"
	pmd_start rx 600 "$TESTPMD" "${EAL[@]}" -- --forward-mode=rxonly \
		--stats-period 1 --disable-link-check --total-num-mbufs=16384
	pmd_wait_for "the receiver" 30 "$PID_rx" pmd_log_has rx "Rx-pps:"
	PMD_EAL+=("${EAL_C[@]}")
	pmd_testpmd tx "$PMD_CPU_A" "$VDEV_CLIENT$ZC_C" --forward-mode=txonly \
		--txpkts="$size"
	base=$(rx_samples "$PMD_WORK/rx.log" | wc -l)
	n=$((base + WARM + SECS))
	pmd_wait_for "$SECS samples" $((WARM + SECS + 30)) "$PID_rx" enough "$n"
	# Teardown: a figure is in either way.
	pid=$(pmd_child "$PID_tx") && kill -INT "$pid"
	rx_samples "$PMD_WORK/rx.log" | sed -n "$((base + WARM + 1)),${n}p" |
		median | awk '{ printf "%.3f\n", $1 / 1e6 }'
}

# run_lat VARIANT SIZE (in a subshell): one run; its last line is
# "median_ns p99_ns".
run_lat() {
	local size=$2 line
	variant "$1"
	pmd_setup "pmd_bench latency $1 $size"
	pmd_kind "$BUILD" "$KIND"
	pmd_testpmd io "$PMD_CPU_B" "$VDEV_SERVER$ZC_S" --forward-mode=io
	PMD_EAL+=("${EAL_C[@]}")
	pmd_eal lat "0@$PMD_CPU_A" "$VDEV_CLIENT$ZC_C"
	line=$(timeout -k 5 300 "$CHECK" "${EAL[@]}" -- latency \
		"${PMD_CHECK_OPTS[@]}" --count "$COUNT" --size "$size" 2>&1 |
		grep -a '^latency ')
	[ -n "$line" ] || pmd_fail "no latency line"
	sed -E 's/.*median_ns=([0-9]+) p99_ns=([0-9]+).*/\1 \2/' <<< "$line"
}

# point KIND VARIANT SIZE: REPEAT runs, the median (FAIL if none gave
# one); for rate, also the least and the most: on a virtual machine the
# rate can move several times over from run to run (with where the host
# puts the two vCPUs), and the spread says so.
point() {
	local what=$1 i out vals=() col
	shift
	for ((i = 0; i < REPEAT; i++)); do
		out=$("run_$what" "$@" 2> /dev/null | tail -n 1)
		if [[ $out =~ ^[0-9.]+( [0-9.]+)?$ ]]; then
			vals+=("$out")
		fi
	done
	if [ ${#vals[@]} = 0 ]; then
		[ "$what" = rate ] && echo "FAIL - -" || echo "FAIL FAIL"
		return
	fi
	if [ "$what" = rate ]; then
		echo "$(printf '%s\n' "${vals[@]}" | median)" \
			"$(printf '%s\n' "${vals[@]}" | sort -g | head -n 1)" \
			"$(printf '%s\n' "${vals[@]}" | sort -g | tail -n 1)"
	else
		for col in 1 2; do
			printf '%s\n' "${vals[@]}" | cut -d' ' -f$col | median
		done | paste -sd' '
	fi
}

echo "pmd_bench: $(nproc) CPUs, $(dpkg-query -W -f='dpdk ${Version}' dpdk 2> /dev/null), medians of $REPEAT; rate: ${SECS} s after ${WARM} s of warm-up; latency: $COUNT round trips; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| variant | size (B) | M packets/s | (least–most) | latency median (ns) | latency p99 (ns) |"
echo "|---|--:|--:|--:|--:|--:|"
echo "variant,size,mpps,mpps_min,mpps_max,lat_median_ns,lat_p99_ns" > "$CSV"
for v in ${VARIANTS//,/ }; do
	variant "$v"
	for size in ${SIZES//,/ }; do
		if ! have "$v"; then
			echo "| $v | $size | n/a | | n/a | n/a |"
			echo "$v,$size,,,,," >> "$CSV"
			continue
		fi
		read -r rate rmin rmax <<< "$(point rate "$v" "$size")"
		lmed=n/a lp99=n/a
		[ "$v" = chain ] || read -r lmed lp99 <<< "$(point lat "$v" "$size")"
		echo "| $v | $size | $rate | $rmin–$rmax | $lmed | $lp99 |"
		echo "$v,$size,$rate,$rmin,$rmax,$lmed,$lp99" >> "$CSV"
	done
done
echo
echo "CSV: $CSV; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
