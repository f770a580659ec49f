#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/mpi_bench.sh - ivc-mpi-bench over ivc's libfabric provider and over
# Open MPI's own shared memory (vader), side by side in one run: for each
# test, the two transports alternate REPEAT times and each size's median
# is kept.  Asserts nothing.
#
# usage: perf/mpi_bench.sh BUILD_DIR [TEST...]
#
#   BUILD_DIR  holds perf/ivc-mpi-bench and src/fi/libivc-fi.so
#   TEST       latency bw bibw allreduce (default: all four)
#
# Environment: RANKS [2] (4 on 2 CPUs is the oversubscribed case), BIND
# [core] (mpirun --bind-to: core pins each rank on its own core, none lets
# the scheduler place them), MAX [4194304] bytes, SECS [0.3] per point and
# repetition, REPEAT [3].  Prints a markdown table: per size, vader's and
# ivc's median and the ratio ivc / vader (latency: lower is better; bw:
# higher is better).
set -uo pipefail

if [ $# -lt 1 ] || [ ! -x "$1/perf/ivc-mpi-bench" ]; then
	sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
B=$(cd "$1" && pwd)
shift
TESTS=${*:-latency bw bibw allreduce}
RANKS=${RANKS:-2}
BIND=${BIND:-core}
MAX=${MAX:-4194304}
SECS=${SECS:-0.3}
REPEAT=${REPEAT:-3}
ROOT=()
[ "$(id -u)" = 0 ] && ROOT=(--allow-run-as-root)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# One run: TRANSPORT TEST -> "size value" lines.
one() {
	local how=()
	case $1 in
	vader) how=(--mca pml ob1 --mca btl self,vader) ;;
	ivc) how=(--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include ivc
		-x FI_PROVIDER_PATH=$B/src/fi -x FI_PROVIDER=ivc) ;;
	esac
	timeout 600 mpirun "${ROOT[@]}" --oversubscribe --bind-to "$BIND" -np "$RANKS" \
		"${how[@]}" "$B/perf/ivc-mpi-bench" "$2" "$MAX" "$SECS" 2>/dev/null |
		awk -v t="$2" '$1 == t { print $2, $3 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) { print "nan"; exit }
	print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "$RANKS ranks, --bind-to $BIND, medians of $REPEAT runs ($(nproc) CPUs)"
echo
echo "| test | size | vader | ivc | ivc / vader | unit |"
echo "|---|---|---|---|---|---|"
for t in $TESTS; do
	for ((i = 0; i < REPEAT; i++)); do
		for x in vader ivc; do
			one $x "$t" > "$TMP/$t.$x.$i"
		done
	done
	unit="MB/s"
	case $t in latency | allreduce) unit="µs" ;; esac
	for n in $(cat "$TMP/$t.vader.0" "$TMP/$t.ivc.0" | awk '{ print $1 }' | sort -gu); do
		v=$(cat "$TMP/$t.vader."* | awk -v n="$n" '$1 == n { print $2 }' | median)
		w=$(cat "$TMP/$t.ivc."* | awk -v n="$n" '$1 == n { print $2 }' | median)
		r=$(awk -v a="$w" -v b="$v" 'BEGIN { if (b > 0 && a == a) printf "%.2f", a / b; else print "-" }')
		echo "| $t | $n | $v | $w | $r | $unit |"
	done
done
