#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/dpdk/pmd_selftest.sh - ivc-dpdk-check checks itself, with no PMD
# pair and no testpmd:
#   1. selftest: the frame format (every byte, every segmentation, every
#      kind of damage caught at its offset);
#   2. verify over net_ring0, a loopback port (what is sent is received,
#      the very mbufs): frames of 64, 1518 and 9000 B, whole and in
#      segments, must pass;
#   3. the same with a fault injected on purpose (--inject): a lost,
#      repeated, swapped, corrupted or misnumbered frame, or one more
#      after the last, must each fail with the message that names it.
#
# usage: pmd_selftest.sh BUILD
# Exit 0 passed, 1 failed.
# shellcheck disable=SC2154  # PID_<name>: set by pmd_start (pmd_lib.sh)
set -uo pipefail
# shellcheck source=test/dpdk/pmd_lib.sh
. "$(dirname "$0")/pmd_lib.sh"

if [ $# -lt 1 ]; then
	pmd_usage
	exit 2
fi
pmd_setup "pmd_selftest"
CHECK=${IVC_DPDK_CHECK:-$1/test/dpdk/ivc-dpdk-check}
[ -x "$CHECK" ] || pmd_fail "no ivc-dpdk-check at $CHECK"
PMD_EAL=()
n=0

# run MODE ARGS...: ivc-dpdk-check on net_ring0; output in $OUT, status
# in $RC.
run() {
	n=$((n + 1))
	pmd_eal "ring$n" "0@$PMD_CPU_A" net_ring0
	OUT=$(timeout -k 5 120 "$CHECK" "${EAL[@]}" -- "$@" 2>&1)
	RC=$?
}

run selftest
echo "$OUT" | grep -a '^selftest'
[ $RC = 0 ] || { echo "$OUT"; pmd_fail "selftest exited $RC"; }

# shellcheck disable=SC2054  # 64,1518,9000 is one argument
SIZES=(--count 1000 --sizes 64,1518,9000)
for segs in "" "--segs 256" "--segs 7 --window 16 --count 200" "--segs 2048"; do
	# shellcheck disable=SC2086  # segs is a list of words
	run verify "${SIZES[@]}" $segs
	echo "$OUT" | grep -a '^verify'
	[ $RC = 0 ] || { echo "$OUT"; pmd_fail "loopback verify $segs exited $RC"; }
done

# fault | options | what the report must say
FAULTS=(
	"drop@500||got seq 501: 1 frame(s) lost"
	"dup@500||got seq 500 again: a duplicate"
	"swap@500||got seq 501: 1 frame(s) lost or reordered"
	"corrupt@500||byte 63 (segment 0 of 1"
	"corrupt@1500:700||byte 700 (segment 0 of 1"
	"corrupt@2500:5000|--segs 256|byte 5000 (segment 19 of 36, its byte 136)"
	"corrupt@500:13||not one of our frames"
	"corrupt@500:29||got seq 430 again: a duplicate or a reordering (byte 34"
	"round@500||a frame of round 2 (seq 500)"
	"dup@2999||an extra frame (seq 2999) after the last"
)
for f in "${FAULTS[@]}"; do
	IFS='|' read -r fault opts want <<< "$f"
	# shellcheck disable=SC2086  # opts is zero or two words
	run verify "${SIZES[@]}" $opts --inject "$fault"
	got=$(echo "$OUT" | grep -a 'FAIL' | head -n 1)
	if [ $RC != 1 ] || ! grep -qF -- "$want" <<< "$got"; then
		echo "$OUT"
		pmd_fail "--inject $fault: exit $RC, and not \"$want\""
	fi
	pmd_say "--inject $fault $opts: caught: ${got#ivc-dpdk-check: }"
done
pmd_say PASS
