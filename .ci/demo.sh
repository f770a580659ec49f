#!/bin/sh
# The ivc demo: round-trip latency of ivc next to a Unix socket and the
# cache-line floor, then an ivc-cat pipeline.  The caller builds first:
#   cmake -S . -B build && cmake --build build && .ci/demo.sh build
# Takes well under a minute.
set -eu

BUILD=${1:-build}
PP=$BUILD/perf/ivc-pingpong
CAT=$BUILD/apps/ivc-cat
SECS=${IVC_DEMO_SECS:-3}        # time bound per measurement
SIZE=64

for b in "$PP" "$CAT"; do
	if [ ! -x "$b" ]; then
		echo "demo: $b is not built (build dir: $BUILD)" >&2
		exit 1
	fi
done

# The first two CPUs this process may run on (0,1 on a plain 2-CPU box); one
# CPU twice on a 1-CPU machine.
CPUS=$(awk '/^Cpus_allowed_list:/ {
	n = split($2, parts, ",")
	for (i = 1; i <= n && got < 2; i++) {
		m = split(parts[i], r, "-")
		lo = r[1] + 0; hi = ((m > 1) ? r[2] : r[1]) + 0
		for (c = lo; c <= hi && got < 2; c++) cpu[got++] = c
	}
	if (got == 1) cpu[1] = cpu[0]
	print cpu[0] "," cpu[1]
}' /proc/self/status)
[ -n "$CPUS" ] || CPUS=0,0

echo "== ivc demo: $SIZE-byte ping-pong between two processes on CPUs $CPUS"
echo "   (up to 100000 round trips or $SECS s per measurement)"
echo
"$PP" -s "$SIZE" -c "$CPUS" -m poll,adaptive,block -b cacheline,yield,ring,unix,ivc \
	-n 100000 -t "$SECS"

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
echo "demo: OK"
