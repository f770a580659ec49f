#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/chain.sh - the example service chain (apps/chain, docs/nfv.md)
# measured over its matrix, medians of REPEAT runs, in M packets/s at the
# sink (first packet to last):
#
#   1. wait mode {poll, adaptive, block} x firewall {loop, poller} x
#      placement {two CPUs, one CPU};
#   2. the copy per hop: the firewall with and without copying the payload
#      (--fw-copy off; the sink then only counts: verification off both
#      ways, so that only the firewall's work differs), at 64 and 1518 B,
#      as ns per packet: from the chain's rate (which shows the copy only
#      where the firewall is the slowest stage), and as timed by the
#      firewall itself (--time-copy);
#   3. the lane geometry for 64-byte packets: ivc's default (256 slots of
#      4 KiB buffers) against small buffers.
#
# usage: perf/chain.sh [path/to/ivc-chain] [table...]   (tables: modes copy
#        geometry; default all three)
#
# Environment (defaults in brackets):
#   COUNT     packets per generator [1000000]
#   GENS      generators [1]
#   REPEAT    runs per point, the median is shown [3]
#   PLACES    the placements of table 1, each gen,fw,sink ["0,1,1 0,0,0"]:
#             on two CPUs, the generator alone on CPU 0 and the firewall and
#             the sink, neighbours, sharing CPU 1 (ivc knows that peers
#             share a CPU, and their waits yield to each other; non-
#             neighbours sharing one, 0,1,0, collapse in poll mode: try it);
#             then everything on CPU 0
#   TWO_CPUS  the two-CPU placement of table 3 [0,1,1]
#   COPY_PLACES  the placements of table 2 ["0,1,1 0,1,0"]: the firewall
#             sharing its CPU with the sink (whose cache then holds the
#             lines the firewall writes), and alone
#   ONE_CPU   the one-CPU placement of table 3 [0,0,0]
#   TIMEOUT   seconds a run may take [60]; a run that takes longer is shown
#             as "<R" (fewer than R M packets/s: the placement collapsed),
#             and the point's other runs are skipped
#   EXTRA     more arguments for every run (e.g. "--block none")
#
# It asserts nothing: a failed run (not exact) is shown as FAIL.  The
# figures of a busy or virtual machine are preliminary; say where they
# were measured.
set -uo pipefail

CHAIN=${1:-build/apps/ivc-chain}
shift || true
TABLES=${*:-modes copy geometry}
COUNT=${COUNT:-1000000}
GENS=${GENS:-1}
REPEAT=${REPEAT:-3}
PLACES=${PLACES:-0,1,1 0,0,0}
TWO_CPUS=${TWO_CPUS:-0,1,1}
COPY_PLACES=${COPY_PLACES:-0,1,1 0,1,0}
ONE_CPU=${ONE_CPU:-0,0,0}
TIMEOUT=${TIMEOUT:-60}
EXTRA=${EXTRA:-}

if [ ! -x "$CHAIN" ]; then
	echo "chain.sh: no ivc-chain at $CHAIN (build it, or give its path)" >&2
	exit 2
fi

# median: the median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f\n", v[int((NR + 1) / 2)]; else print "-" }'
}

# point ARGS...: the median rate of REPEAT runs, or FAIL / <bound; with
# --time-copy among ARGS, also the median of the firewall's timed copy
# (ns per packet) after it.
point() {
	local rates=() copies=() out rc i
	for ((i = 0; i < REPEAT; i++)); do
		# shellcheck disable=SC2086  # EXTRA is a list of words
		out=$("$CHAIN" run --count "$COUNT" --gens "$GENS" \
			--timeout "$TIMEOUT" $EXTRA "$@" 2>&1)
		rc=$?
		if grep -q watchdog <<<"$out"; then
			# Not one run finished in time: an upper bound.
			awk -v n="$COUNT" -v g="$GENS" -v t="$TIMEOUT" \
				'BEGIN { printf "<%.3g -\n", n * g / t / 1e6 }'
			return
		fi
		if [ $rc -ne 0 ]; then
			echo "FAIL -"
			return
		fi
		rates+=("$(sed -n 's/^rate: \([0-9.]*\) M packets.*/\1/p' <<<"$out")")
		copies+=("$(sed -n 's/^firewall: \([0-9.]*\) ns per packet.*/\1/p' <<<"$out")")
	done
	echo "$(printf '%s\n' "${rates[@]}" | median)" \
		"$(printf '%s\n' "${copies[@]}" | grep . | median)"
}

# rate ARGS...: the rate of point() alone.
rate() {
	point "$@" | cut -d' ' -f1
}

header() {
	echo
	echo "$*"
}

table_modes() {
	header "1. M packets/s at the sink, median of $REPEAT; $GENS gen(s) x $COUNT" \
		"packets of 64 B, bursts of 32, default geometry"
	local line="|----------|--------|" p
	printf '| %-8s | %-6s |' mode fw
	for p in $PLACES; do
		printf ' %-9s |' "cpus $p"
		line+="-----------|"
	done
	printf '\n%s\n' "$line"
	for mode in poll adaptive block; do
		for fw in loop poller; do
			printf '| %-8s | %-6s |' "$mode" "$fw"
			for p in $PLACES; do
				printf ' %9s |' "$(rate --mode "$mode" --fw "$fw" --cpus "$p")"
			done
			printf '\n'
		done
	done
}

# ns per packet from M packets/s.
ns_of() {
	awk -v r="$1" 'BEGIN { if (r + 0 > 0 && r !~ /^</) printf "%.1f", 1000 / r; else print "-" }'
}

table_copy() {
	header "2. The copy per hop: fw loop, adaptive; sink verification off both" \
		"ways (it counts packets only); median of $REPEAT." \
		"ns/pkt = 1000 / rate; 'timed' = the firewall's own clock around" \
		"its filling of downstream buffers, per packet"
	printf '| %-6s | %-5s | %-8s | %-8s | %-10s | %-10s | %-9s | %-9s | %-9s |\n' \
		size cpus "on Mp/s" "off Mp/s" "on ns/pkt" "off ns/pkt" "diff ns" \
		"timed on" "timed off"
	printf '|--------|-------|----------|----------|------------|------------|-----------|-----------|-----------|\n'
	for p in $COPY_PLACES; do
		for size in 64 1518; do
			read -r on ton < <(point --size "$size" --fw-copy on --verify off \
				--time-copy --cpus "$p")
			read -r off toff < <(point --size "$size" --fw-copy off \
				--time-copy --cpus "$p")
			non=$(ns_of "$on")
			noff=$(ns_of "$off")
			diff=$(awk -v a="$non" -v b="$noff" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.1f", a - b }')
			printf '| %-6s | %-5s | %8s | %8s | %10s | %10s | %9s | %9s | %9s |\n' \
				"$size" "$p" "$on" "$off" "$non" "$noff" "$diff" "$ton" "$toff"
		done
	done
}

table_geometry() {
	header "3. Geometry for 64-byte packets: fw loop, adaptive, median of $REPEAT"
	printf '| %-34s | %-14s | %-14s |\n' "every sending lane" "two CPUs" "one CPU"
	printf '|------------------------------------|----------------|----------------|\n'
	while read -r label args; do
		# shellcheck disable=SC2086  # args is a list of words
		two=$(rate $args --cpus "$TWO_CPUS")
		# shellcheck disable=SC2086
		one=$(rate $args --cpus "$ONE_CPU")
		printf '| %-34s | %14s | %14s |\n' "$label" "$two" "$one"
	done <<-EOF
		256x4KiB(ivc-default) --slots 256 --buf-size 4096 --buf-count 512
		256x64B --slots 256 --buf-size 64 --buf-count 512
		1024x4KiB --slots 1024 --buf-size 4096 --buf-count 2048
		1024x64B(chain-default) --slots 1024 --buf-size 64 --buf-count 2048
		4096x64B --slots 4096 --buf-size 64 --buf-count 8192
	EOF
}

echo "perf/chain.sh: $("$CHAIN" run --help >/dev/null 2>&1 && echo "$CHAIN")," \
	"$(nproc) CPUs, $(uname -srm), $(date -u +%Y-%m-%dT%H:%MZ)"
for t in $TABLES; do
	case $t in
	modes) table_modes ;;
	copy) table_copy ;;
	geometry) table_geometry ;;
	*) echo "chain.sh: unknown table '$t' (modes copy geometry)" >&2; exit 2 ;;
	esac
done
