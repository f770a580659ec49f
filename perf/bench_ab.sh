#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/bench_ab.sh - two builds of ivc-bench side by side (e.g. the library
# before and after a change), alternating runs point by point so that both
# see the same machine; medians of REPEAT and the ratio after/before.
#
# usage: perf/bench_ab.sh BEFORE/ivc-bench AFTER/ivc-bench
#
# Environment: SIZES ["64 64k"], MODES ["poll adaptive"], CPUS ["0,1"],
# REPEAT [5], TIME [0.5] seconds a point, VIA [""] (ivc-bench --via: e.g.
# tcp or tcp-lazy), VIA_AFTER [VIA] (the after side's: one build may then
# be given twice, to compare two settings), BENCHES ["pingpong stream"].
# Round trips: the p50 in us (lower is better); streams: M messages/s with
# bursts of 32, the reader touching every byte (higher is better).  Asserts
# nothing.
set -uo pipefail

if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
	sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
BEFORE=$1
AFTER=$2
SIZES=${SIZES:-64 64k}
MODES=${MODES:-poll adaptive}
CPUS=${CPUS:-0,1}
REPEAT=${REPEAT:-5}
TIME=${TIME:-0.5}
VIA=${VIA:-}
VIA_AFTER=${VIA_AFTER:-$VIA}
BENCHES=${BENCHES:-pingpong stream}

# One figure from one run of BIN with --via VIA (or none): BENCH MODE SIZE.
figure() {
	local bin=$1 via=$2 bench=$3 mode=$4 size=$5 extra=()
	[ "$bench" = stream ] && extra=(-b 32 --touch yes)
	[ -n "$via" ] && extra+=(--via "$via")
	"$bin" "$bench" -x ivc -m "$mode" -s "$size" -t "$TIME" -c "$CPUS" \
		"${extra[@]}" --csv --no-progress 2>/dev/null |
		awk -F, -v b="$bench" 'NR > 1 && $5 == "ivc" {
			if (b == "pingpong") printf "%.3f\n", $13
			else printf "%.4g\n", $18 / 1e6 }' | head -1
}

median() { sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) { print "nan"; exit }
	print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| bench | mode | size | before | after | after/before | unit |"
echo "|---|---|---|---|---|---|---|"
for bench in $BENCHES; do
	for mode in $MODES; do
		for size in $SIZES; do
			b=() a=()
			for ((i = 0; i < REPEAT; i++)); do
				b+=("$(figure "$BEFORE" "$VIA" $bench $mode $size)")
				a+=("$(figure "$AFTER" "$VIA_AFTER" $bench $mode $size)")
			done
			mb=$(printf '%s\n' "${b[@]}" | median)
			ma=$(printf '%s\n' "${a[@]}" | median)
			unit="M msg/s"
			[ $bench = pingpong ] && unit="us p50 RTT"
			ratio=$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
			echo "| $bench | $mode | $size | $mb | $ma | $ratio | $unit |"
		done
	done
done
