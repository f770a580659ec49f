#!/bin/sh
# The ivc demo: round-trip latency of ivc next to the kernel's IPC, the peer
# libraries and the cache-line limit, then an ivc-cat pipeline.  The caller
# builds first:
#   cmake -S . -B build && cmake --build build && .ci/demo.sh build
# Takes about 20 seconds.
set -eu

BUILD=${1:-build}
BENCH=$BUILD/perf/ivc-bench
CAT=$BUILD/apps/ivc-cat
SECS=${IVC_DEMO_SECS:-1}        # time bound per measurement
SIZE=64

for b in "$BENCH" "$CAT"; do
	if [ ! -x "$b" ]; then
		echo "demo: $b is not built (build dir: $BUILD)" >&2
		exit 1
	fi
done

echo "== ivc demo: $SIZE-byte ping-pong between two processes on separate CPUs"
echo "   (up to 100000 round trips or $SECS s per measurement)"
"$BENCH" places
echo
"$BENCH" pingpong -s "$SIZE" -t "$SECS" --no-progress \
	-x ivc,ivc-inline,cacheline,unix,tcp,pipe,eventfd,$("$BENCH" list |
		awk '$1 == "zmq" || $1 == "rte_ring" { printf "%s,", $1 }' | sed 's/,$//')

echo
echo "== ivc-cat: an 8 MiB random file through a channel, both directions"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
head -c 8388608 /dev/urandom > "$tmp/in"
addr="shm:@ivc-demo-$$"

# 1. listener receives, client sends (netcat style: the listener in the
#    background, its stdin /dev/null).
start=$(date +%s.%N)
timeout 30 "$CAT" -l "$addr" < /dev/null > "$tmp/out1" &
lpid=$!
timeout 30 "$CAT" -w 5 "$addr" < "$tmp/in" > /dev/null
wait "$lpid"
end=$(date +%s.%N)
cmp "$tmp/in" "$tmp/out1"
echo "client -> listener: identical ($(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s)"

# 2. listener sends only (-s), client receives only (-r).
timeout 30 "$CAT" -s -l "$addr" < "$tmp/in" &
lpid=$!
timeout 30 "$CAT" -r -w 5 "$addr" > "$tmp/out2"
wait "$lpid"
cmp "$tmp/in" "$tmp/out2"
echo "listener -> client (-s / -r): identical"
echo
echo "== more: $BENCH sweep (every placement, mode, transport and size; ~12 min on 2 CPUs)"
echo "   then perf/ivc-plot ivc-sweep.csv: see docs/performance.md"
echo
echo "demo: OK"
