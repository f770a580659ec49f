#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/dpdk/pmd_restart.sh - the peer dies mid-run and comes back: testpmd
# (io forwarding) is killed with SIGKILL while ivc-dpdk-check streams
# through it, a new testpmd takes its place, and traffic must resume.
#
# usage: pmd_restart.sh BUILD KIND SIDE [COUNT]
#
#   SIDE   client: ivc-dpdk-check is the client, the killed testpmd the
#          server; server: the other way round
#   COUNT  frames per size (64 and 1518 B) in each round [100000]
#
# ivc-dpdk-check resume: round 1 streams until COUNT/2 frames are back,
# then creates the kill file, on which this script kills testpmd; frames
# in flight then may be lost, but every one back before the link went
# down must be in order and intact.  Once the new testpmd is up and the
# link with it, round 2 must check out in full.  For memif, ivc-dpdk-check
# makes no burst call after the kill file (--quiesce): net_memif faults
# in one when its peer dies under it.  net_ivc is polled throughout.
# Exit 0 passed, 1 failed, 77 skipped.
# shellcheck disable=SC2154  # PID_<name>: set by pmd_start (pmd_lib.sh)
set -uo pipefail
# shellcheck source=test/dpdk/pmd_lib.sh
. "$(dirname "$0")/pmd_lib.sh"

if [ $# -lt 3 ]; then
	pmd_usage
	exit 2
fi
BUILD=$1 KIND=$2 SIDE=$3 COUNT=${4:-100000}
pmd_setup "pmd_restart $KIND $SIDE"
pmd_kind "$BUILD" "$KIND"
pmd_need_testpmd

KILL="$PMD_WORK/kill"
# shellcheck disable=SC2054  # 64,1518 is one argument
RESUME=(resume "${PMD_CHECK_OPTS[@]}" "${PMD_RESUME_OPTS[@]}" --count "$COUNT"
	--sizes 64,1518 --kill-file "$KILL" --timeout-ms 15000 --wait-close)
case $SIDE in
client)
	OURS=$VDEV_CLIENT PEER=$VDEV_SERVER
	RESUME+=(--reconnect "$PMD_RECONNECT_CLIENT")
	;;
server)
	OURS=$VDEV_SERVER PEER=$VDEV_CLIENT
	RESUME+=(--reconnect auto --started-file "$PMD_WORK/started")
	;;
*)
	pmd_fail "SIDE is client or server, not '$SIDE'"
	;;
esac

if [ "$SIDE" = client ]; then
	pmd_testpmd tp1 "$PMD_CPU_B" "$PEER" --forward-mode=io
	pmd_check_bg chk "$PMD_CPU_A" "$OURS" "${RESUME[@]}"
else
	pmd_check_bg chk "$PMD_CPU_A" "$OURS" "${RESUME[@]}"
	pmd_wait_for "ivc-dpdk-check's port" 30 "$PID_chk" \
		test -e "$PMD_WORK/started"
	pmd_testpmd tp1 "$PMD_CPU_B" "$PEER" --forward-mode=io
fi

pmd_wait_for "the kill file" 60 "$PID_chk" test -e "$KILL"
victim=$(pmd_child "$PID_tp1") || pmd_fail "testpmd tp1 is gone"
kill -KILL "$victim"
pmd_wait tp1
rc=$?
[ $rc = 137 ] || pmd_fail "testpmd tp1 exited $rc, not by our SIGKILL"
pmd_say "killed testpmd (pid $victim) mid-run; starting another"
pmd_testpmd tp2 "$PMD_CPU_B" "$PEER" --forward-mode=io

pmd_finish chk tp2 '^resume round 2: ok'
pmd_say PASS
