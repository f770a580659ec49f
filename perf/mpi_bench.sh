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
#   TEST       latency bw bibw allreduce wake idlecpu (default: the first
#              four; wake and idlecpu are a waiting rank's wake-up and CPU)
#
# Environment: RANKS [2] (4 on 2 CPUs is the oversubscribed case), BIND
# [core] (mpirun --bind-to: core pins each rank on its own core, none lets
# the scheduler place them), MAX [4194304] bytes, SECS [0.3] per point and
# repetition, REPEAT [3], TRANSPORTS [vader ivc]: also ivc-eager, the
# provider with rendezvous off (IVC_FI_RDV=off: large messages copied
# through ivc's buffers); ivc-auto, with it only on busy channels
# (IVC_FI_RDV=auto); ivc-alt, the provider found in the directory ALT_FI
# (another build, for before and after); ivc-tcp, the provider with every
# channel over tcp on loopback (IVC_NET=tcp, as between hosts), and
# ivc-tcp-alt, ALT_FI's provider so; tcp, Open
# MPI's own tcp (--mca pml ob1 --mca btl self,tcp, on loopback), the
# baseline for ivc-tcp; ivc-idle, the provider with IVC_FI_IDLE_MS=10
# (ranks that wait doze).  Prints a markdown table: per
# size, each transport's median and the ratio of each of ivc's to
# vader's (latency: lower is better; bw: higher is better).
set -uo pipefail

if [ $# -lt 1 ] || [ ! -x "$1/perf/ivc-mpi-bench" ]; then
	sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'
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
	ivc-eager) how=(--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include ivc
		-x FI_PROVIDER_PATH=$B/src/fi -x FI_PROVIDER=ivc -x IVC_FI_RDV=off) ;;
	ivc-auto) how=(--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include ivc
		-x FI_PROVIDER_PATH=$B/src/fi -x FI_PROVIDER=ivc -x IVC_FI_RDV=auto) ;;
	ivc-tcp) how=(--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include ivc
		-x FI_PROVIDER_PATH=$B/src/fi -x FI_PROVIDER=ivc -x IVC_NET=tcp
		-x IVC_FI_HOST=127.0.0.1) ;;
	ivc-idle) how=(--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include ivc
		-x FI_PROVIDER_PATH=$B/src/fi -x FI_PROVIDER=ivc -x IVC_FI_IDLE_MS=10) ;;
	tcp) how=(--mca pml ob1 --mca btl self,tcp --mca btl_tcp_if_include lo) ;;
	ivc-alt) how=(--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include ivc
		-x FI_PROVIDER_PATH=${ALT_FI:?ivc-alt: set ALT_FI to a provider directory}
		-x FI_PROVIDER=ivc) ;;
	ivc-tcp-alt) how=(--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include ivc
		-x FI_PROVIDER_PATH=${ALT_FI:?ivc-tcp-alt: set ALT_FI to a provider directory}
		-x FI_PROVIDER=ivc -x IVC_NET=tcp -x IVC_FI_HOST=127.0.0.1) ;;
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
TRANSPORTS=${TRANSPORTS:-vader ivc}
OTHERS=${TRANSPORTS//vader/}
head="| test | size | vader" rule="|---|---|---"
for x in $OTHERS; do head+=" | $x"; rule+="|---"; done
for x in $OTHERS; do head+=" | $x / vader"; rule+="|---"; done
echo "$head | unit |"
echo "$rule|---|"
for t in $TESTS; do
	for ((i = 0; i < REPEAT; i++)); do
		for x in vader $OTHERS; do
			one "$x" "$t" > "$TMP/$t.$x.$i"
		done
	done
	unit="MB/s"
	case $t in latency | allreduce | wake) unit="µs" ;; idlecpu) unit="% CPU" ;; esac
	for n in $(cat "$TMP/$t."*".0" | awk '{ print $1 }' | sort -gu); do
		v=$(cat "$TMP/$t.vader."* | awk -v n="$n" '$1 == n { print $2 }' | median)
		row="| $t | $n | $v" ratios=
		for x in $OTHERS; do
			w=$(cat "$TMP/$t.$x."* | awk -v n="$n" '$1 == n { print $2 }' | median)
			r=$(awk -v a="$w" -v b="$v" 'BEGIN { if (b > 0 && a == a) printf "%.2f", a / b; else print "-" }')
			row+=" | $w" ratios+=" | $r"
		done
		echo "$row$ratios | $unit |"
	done
done
