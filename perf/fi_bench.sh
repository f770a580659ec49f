#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/fi_bench.sh - libfabric's own fi_pingpong over ivc's provider and
# over libfabric's shm provider, side by side in one run: the baseline
# that Open MPI's MTL cannot load (shm lacks FI_REMOTE_COMM), compared
# where it runs, one level below MPI.  For each size the providers
# alternate REPEAT times and each one's median is kept.  Asserts nothing.
#
# usage: perf/fi_bench.sh BUILD_DIR
#
#   BUILD_DIR  holds src/fi/libivc-fi.so
#
# Environment: SIZES [1 64 1024 4096 65536 1048576] bytes, REPEAT [3],
# PROVIDERS [shm ivc] (the first is the one the ratios divide by; ivc-alt
# is the provider found in the directory ALT_FI, for before and after;
# ivc-tcp is ivc with every channel over tcp on loopback, IVC_NET=tcp,
# to compare with libfabric's own `tcp`),
# CPUS [0 1] (the server's and the client's), SECS [0.3] per point and
# repetition (iterations are sized to it from a short first run).
# Prints a markdown table: per size, each provider's time per transfer
# (fi_pingpong's usec/xfer: half a round trip) and the ratio to the
# first's.
set -uo pipefail

if [ $# -lt 1 ] || [ ! -f "$1/src/fi/libivc-fi.so" ]; then
	sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
B=$(cd "$1" && pwd)
SIZES=${SIZES:-1 64 1024 4096 65536 1048576}
REPEAT=${REPEAT:-3}
PROVIDERS=${PROVIDERS:-shm ivc}
read -r CPU_S CPU_C <<<"${CPUS:-0 1}"
SECS=${SECS:-0.3}
command -v fi_pingpong >/dev/null || { echo "fi_pingpong not found (libfabric-bin)"; exit 2; }
TMP=$(mktemp -d)
trap 'pkill -P $$ fi_pingpong 2>/dev/null; rm -rf "$TMP"' EXIT

# listening PORT: whether a TCP socket listens on PORT (fi_pingpong's
# control connection, which its server opens before it waits).
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# one PROVIDER SIZE ITERS: fi_pingpong's usec/xfer, or nothing.
one() {
	local prov=$1 size=$2 iters=$3 port path=$B/src/fi srv line i env=()
	[ "$prov" = ivc-alt ] && { path=${ALT_FI:?ivc-alt: set ALT_FI}; prov=ivc; }
	[ "$prov" = ivc-tcp ] && { env=(IVC_NET=tcp IVC_FI_HOST=127.0.0.1); prov=ivc; }
	for ((i = 0; i < 20; i++)); do
		port=$((20000 + RANDOM % 20000))
		listening "$port" || break
	done
	env "${env[@]}" FI_PROVIDER_PATH="$path" taskset -c "$CPU_S" timeout 120 fi_pingpong \
		-p "$prov" -e rdm -S "$size" -I "$iters" -B "$port" > "$TMP/srv" 2>&1 &
	srv=$!
	for ((i = 0; i < 500; i++)); do
		listening "$port" && break
		kill -0 "$srv" 2>/dev/null || break
		sleep 0.01
	done
	line=$(env "${env[@]}" FI_PROVIDER_PATH="$path" taskset -c "$CPU_C" timeout 120 fi_pingpong \
		-p "$prov" -e rdm -S "$size" -I "$iters" -P "$port" 127.0.0.1 2>&1 | tail -n 1)
	wait "$srv"
	# bytes #sent #ack total time MB/sec usec/xfer Mxfers/sec (bytes as
	# 1k, 64k, 1m)
	awk 'NF == 8 && $7 ~ /^[0-9.]+$/ { print $7 }' <<<"$line"
}

# iterations for about SECS a point, from a run of 1000.
iters_for() {
	local us
	us=$(one "$1" "$2" 1000)
	awk -v us="${us:-0}" -v secs="$SECS" 'BEGIN {
		n = (us > 0) ? secs * 1e6 / (2 * us) : 1000
		if (n < 100) n = 100
		if (n > 1000000) n = 1000000
		printf "%d", n }'
}

median() { sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) { print "-"; exit }
	print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

read -r -a P <<<"$PROVIDERS"
echo "fi_pingpong -e rdm, server on CPU $CPU_S, client on CPU $CPU_C, medians of $REPEAT runs ($(nproc) CPUs)"
echo
head="| size" rule="|---"
for p in "${P[@]}"; do head+=" | $p"; rule+="|---"; done
for p in "${P[@]:1}"; do head+=" | $p / ${P[0]}"; rule+="|---"; done
echo "$head | unit |"
echo "$rule|---|"
for s in $SIZES; do
	n=$(iters_for "${P[0]}" "$s")
	for ((i = 0; i < REPEAT; i++)); do
		for p in "${P[@]}"; do
			one "$p" "$s" "$n" >> "$TMP/$s.$p"
		done
	done
	base=$(median < "$TMP/$s.${P[0]}")
	row="| $s" ratios=
	for p in "${P[@]}"; do
		v=$(median < "$TMP/$s.$p")
		row+=" | $v"
		[ "$p" = "${P[0]}" ] && continue
		ratios+=" | $(awk -v a="$v" -v b="$base" 'BEGIN {
			if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')"
	done
	echo "$row$ratios | µs |"
done
