#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The CI smoke test of perf/ (ctest bench_smoke): the tool runs, a quick
# sweep finishes and writes a well-formed CSV, the report reads it back, the
# plot script turns it into PNGs, and bad input gets an error.  It asserts
# nothing about speed.
#
# usage: smoke.sh IVC_BENCH IVC_PLOT WORKDIR [gnuplot-required: 0|1]
set -euo pipefail

BENCH=$1
PLOT=$2
DIR=$3
NEED_GNUPLOT=${4:-0}
fails=0

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

rm -rf "$DIR"
mkdir -p "$DIR"

# 1. The transports and the placements.
"$BENCH" list > "$DIR/list.txt"
for t in ivc ivc-inline cacheline memcpy unix tcp pipe eventfd; do
	grep -q "^$t " "$DIR/list.txt" || bad "list has no $t"
done
ok "list"
# Synthetic boxes (hwloc's own synthetic topologies): the classes each
# must yield, in order, with the anchor's partner.
check_places() {
	local desc=$1 want=$2 got
	got=$("$BENCH" places --synthetic "$desc" | awk 'NR > 1 { printf "%s%s:%s", sep, $1, $2; sep = " " }')
	[ "$got" = "$want" ] || bad "places for \"$desc\": got \"$got\", want \"$want\""
}
check_places "pack:2 numa:1 l3:1 core:2 pu:2" "same-pu:0,0 smt:0,1 cores-shared-l3:0,2 packages:0,4"
check_places "pack:1 l3:2 core:4 pu:1" "same-pu:0,0 cores-shared-l3:0,1 cores:0,4"
check_places "pack:1 l3:1 l2:2 core:2 pu:1" "same-pu:0,0 cores-shared-l2:0,1 cores-shared-l3:0,2"
check_places "pack:2 numa:2 core:2 pu:2" "same-pu:0,0 smt:0,1 cores:0,2 numa:0,4 packages:0,8"
"$BENCH" places --synthetic "no such shape" > /dev/null 2>&1 && bad "places accepted a bad topology"
"$BENCH" places > "$DIR/places-here.txt"
grep -q "^same-pu " "$DIR/places-here.txt" || bad "this machine has no same-pu placement"
ok "places"

# 2. A quick sweep: every point must work.
"$BENCH" sweep --quick --no-progress -o "$DIR/sweep.csv" > "$DIR/report.txt" ||
	bad "the quick sweep failed"

# 3. Well-formed CSV: the header, 22 fields a row, numbers where they belong,
#    CPU per message at the initiator (and at ivc's peer on two CPUs: on one,
#    a short point may end before the peer runs again), a row for ivc
#    in each mode at each placement for both benchmarks.
awk -F, -v want="$(wc -l < "$DIR/places-here.txt")" '
NR == 1 {
	if ($0 != "bench,placement,cpu_a,cpu_b,transport,mode,kind,size,burst,touch,runs,samples,rtt_p50_us,rtt_p90_us,rtt_p99_us,rtt_p999_us,rtt_max_us,msgs_per_s,gbytes_per_s,cpu_ns_initiator,cpu_ns_peer,what") {
		print "bad header: " $0; bad = 1
	}
	next
}
NF != 22 { print "line " NR ": " NF " fields"; bad = 1; next }
$1 != "pingpong" && $1 != "stream" { print "line " NR ": bench " $1; bad = 1 }
$8 !~ /^[0-9]+$/ || $12 !~ /^[0-9]+$/ || $12 == 0 { print "line " NR ": size/samples"; bad = 1 }
$1 == "pingpong" && !($13 > 0 && $14 >= $13 && $15 >= $14 && $16 >= $15 && $17 >= $16) {
	print "line " NR ": percentiles not ordered"; bad = 1
}
$1 == "stream" && !($18 > 0 && $19 > 0) { print "line " NR ": no throughput"; bad = 1 }
!($20 > 0) { print "line " NR ": no CPU per message at the initiator"; bad = 1 }
$7 == "ivc" && $2 != "same-pu" && !($21 > 0) { print "line " NR ": no CPU per message at the peer"; bad = 1 }
$5 == "ivc" { seen[$1 "/" $2 "/" $6] = 1; places[$2] = 1 }
END {
	np = 0
	for (p in places) np++
	if (np != want - 1) { print "placements in the CSV: " np ", expected " want - 1; bad = 1 }
	for (p in places)
		for (b = 1; b <= 2; b++)
			for (m = 1; m <= 3; m++) {
				split("pingpong stream", B, " "); split("poll adaptive block", M, " ")
				if (!((B[b] "/" p "/" M[m]) in seen)) { print "no ivc row for " B[b] " " p " " M[m]; bad = 1 }
			}
	exit bad
}' "$DIR/sweep.csv" || bad "the CSV is not well formed"
ok "CSV: $(($(wc -l < "$DIR/sweep.csv") - 1)) rows"

# 4. The report reads it back; it names ratios.
"$BENCH" report "$DIR/sweep.csv" > "$DIR/report2.txt" || bad "report could not read the CSV"
grep -q "ratio ivc / X" "$DIR/report2.txt" || bad "the report has no ratio table"
grep -q "/ cacheline:poll" "$DIR/report2.txt" || bad "the report has no ratio to the cache-line limit"
ok "report"

# 5. Bad input: an error, not a crash or a hang.
printf 'not,a,sweep\n' > "$DIR/bad.csv"
if "$BENCH" report "$DIR/bad.csv" > /dev/null 2> "$DIR/bad.err"; then
	bad "report accepted a file that is not a sweep"
elif ! grep -q "bad.csv:1: not an ivc-bench sweep CSV" "$DIR/bad.err"; then
	bad "report: unclear error: $(cat "$DIR/bad.err")"
fi
head -3 "$DIR/sweep.csv" | sed '3s/,[^,]*$//' > "$DIR/short.csv"   # a row one field short
"$BENCH" report "$DIR/short.csv" > /dev/null 2>&1 && bad "report accepted a truncated row"
# Input without end or bound: refused promptly, in bounded memory (400 MB
# of address space; an unbounded reader runs out of it or of time), with an
# error that says what is wrong, not by timeout (124) or a signal (> 128).
bounded() {
	local what=$1 want=$2 cmd=$3 rc=0
	BENCH=$BENCH timeout 20 bash -c "ulimit -v 400000; $cmd" > /dev/null 2> "$DIR/bounded.err" ||
		rc=$?
	if [ $rc -eq 0 ]; then
		bad "report accepted $what"
	elif [ $rc -eq 124 ] || [ $rc -gt 128 ]; then
		bad "report on $what: timed out or killed (exit $rc)"
	elif ! grep -q -- "$want" "$DIR/bounded.err"; then
		bad "report on $what: unclear error: $(head -c 300 "$DIR/bounded.err")"
	fi
}
HEADER='bench,placement,cpu_a,cpu_b,transport,mode,kind,size,burst,touch,runs,samples,rtt_p50_us,rtt_p90_us,rtt_p99_us,rtt_p999_us,rtt_max_us,msgs_per_s,gbytes_per_s,what'
ROW='pingpong,same-pu,0,0,ivc,poll,ivc,64,1,1,1,1000,1.0000,1.1000,1.2000,1.3000,1.4000,,,ivc'
export HEADER ROW
bounded "/dev/zero" "/dev/zero:1: not an ivc-bench sweep CSV" \
	'exec "$BENCH" report /dev/zero'
bounded "endless text" "/dev/stdin:1: not an ivc-bench sweep CSV" \
	'yes | exec "$BENCH" report /dev/stdin'
bounded "an endless row" "/dev/stdin:2: not an ivc-bench CSV line (longer than" \
	'{ echo "$HEADER"; tr "\0" x < /dev/zero; } | exec "$BENCH" report /dev/stdin'
bounded "endless rows" "too many rows" \
	'{ echo "$HEADER"; yes "$ROW"; } | exec "$BENCH" report /dev/stdin'
bounded "a NUL byte in a row" "/dev/stdin:3: not an ivc-bench CSV line (it has a NUL byte)" \
	'{ echo "$HEADER"; echo "$ROW"; printf "%s\0more\n" "$ROW"; } | exec "$BENCH" report /dev/stdin'
"$BENCH" pingpong -s 4 > /dev/null 2>&1 && bad "pingpong accepted a 4-byte size"
"$BENCH" pingpong -x nosuch > /dev/null 2>&1 && bad "pingpong accepted an unknown transport"
"$BENCH" sweep -p nosuch -o "$DIR/x.csv" > /dev/null 2>&1 && bad "sweep accepted an unknown placement"
ok "bad input"

# 6. Plots.
if command -v gnuplot > /dev/null; then
	"$PLOT" "$DIR/sweep.csv" "$DIR" || bad "ivc-plot failed"
	for png in rtt.png throughput.png throughput-notouch.png; do
		if [ "$(head -c 4 "$DIR/$png" 2>/dev/null | od -An -c | tr -d ' ')" != '211PNG' ]; then
			bad "$png is not a PNG"
		fi
	done
	ok "plots"
elif [ "$NEED_GNUPLOT" = 1 ]; then
	bad "gnuplot was found at configure time but is not here"
else
	echo "SKIPPED: plots (gnuplot is not installed; Debian: gnuplot-nox)"
fi

[ $fails -eq 0 ] || { echo "bench smoke: $fails failure(s)" >&2; exit 1; }
echo "bench smoke: OK"
