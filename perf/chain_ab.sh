#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/chain_ab.sh - two builds of the example service chain side by side
# (e.g. the library before and after a change: build the same apps/chain
# against each), alternating runs point by point so that both see the same
# machine, medians of REPEAT; M packets/s at the sink.
#
# usage: perf/chain_ab.sh BEFORE/ivc-chain AFTER/ivc-chain
#
# Environment: COUNT [1000000] packets, REPEAT [3], PLACES ["0,1,1 0,0,1
# 0,0,0"] (gen,fw,sink CPUs), MODES ["poll adaptive block"], FWS ["loop
# poller"], TIMEOUT [25] seconds a run (a collapsed run shows as 0).
# Asserts nothing; a run that is not exact is marked '!'.
set -uo pipefail

if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
	sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
BEFORE=$1
AFTER=$2
COUNT=${COUNT:-1000000}
REPEAT=${REPEAT:-3}
PLACES=${PLACES:-0,1,1 0,0,1 0,0,0}
MODES=${MODES:-poll adaptive block}
FWS=${FWS:-loop poller}
TIMEOUT=${TIMEOUT:-25}

# One run: the rate, or 0 (collapsed/failed), with '!' when not exact.
one() {
	local out rate
	out=$(timeout $((TIMEOUT + 10)) "$1" run --count "$COUNT" --mode "$2" \
		--fw "$3" --cpus "$4" --timeout "$TIMEOUT" 2>&1)
	rate=$(sed -n 's/^rate: \([0-9.]*\) M.*/\1/p' <<<"$out")
	grep -q '^verdict: exact' <<<"$out" || rate="${rate:-0}!"
	echo "${rate:-0}"
}

median() {
	tr ' ' '\n' | tr -d '!' | grep . | sort -g |
		awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : 0)}'
}

printf '| mode | fw |'
for p in $PLACES; do printf ' %s before | %s after |' "$p" "$p"; done
printf '\n|---|---|'
for _ in $PLACES; do printf -- '---:|---:|'; done
printf '\n'
for m in $MODES; do
	for f in $FWS; do
		printf '| %s | %s |' "$m" "$f"
		for p in $PLACES; do
			b="" a=""
			for i in $(seq 1 "$REPEAT"); do
				# Alternate which goes first.
				if [ $((i % 2)) = 1 ]; then
					b="$b $(one "$BEFORE" "$m" "$f" "$p")"
					a="$a $(one "$AFTER" "$m" "$f" "$p")"
				else
					a="$a $(one "$AFTER" "$m" "$f" "$p")"
					b="$b $(one "$BEFORE" "$m" "$f" "$p")"
				fi
			done
			printf ' %s | %s |' "$(median <<<"$b")" "$(median <<<"$a")"
		done
		printf '\n'
	done
done
