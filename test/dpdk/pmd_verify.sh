#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/dpdk/pmd_verify.sh - ivc-dpdk-check against dpdk-testpmd in io
# forwarding (which returns every frame unchanged), over a PMD pair.
#
# usage: pmd_verify.sh BUILD KIND SIDE MODE [ARGS...]
#
#   BUILD  the build directory (BUILD/test/dpdk/ivc-dpdk-check, and for
#          KIND ivc BUILD/src/dpdk/librte_net_ivc.so)
#   KIND   memif or ivc (test/dpdk/pmd_lib.sh)
#   SIDE   client: ivc-dpdk-check is the client, testpmd the server;
#          server: the other way round
#   MODE ARGS  what ivc-dpdk-check runs (verify ..., latency ...)
#
# Passes when ivc-dpdk-check passes (it checks every frame and its port's
# counters), testpmd stops cleanly on SIGINT once it has (and then
# ivc-dpdk-check sees it leave and exits 0), and testpmd's forwarding
# statistics count at least the frames that came back, both ways.
# Exit 0 passed, 1 failed, 77 skipped.
# shellcheck disable=SC2154  # PID_<name>: set by pmd_start (pmd_lib.sh)
set -uo pipefail
# shellcheck source=test/dpdk/pmd_lib.sh
. "$(dirname "$0")/pmd_lib.sh"

if [ $# -lt 4 ]; then
	pmd_usage
	exit 2
fi
BUILD=$1 KIND=$2 SIDE=$3 MODE=$4
shift 4
pmd_setup "pmd_verify $KIND $SIDE $MODE"
pmd_kind "$BUILD" "$KIND"
pmd_need_testpmd

# testpmd's own limits for large frames, where the kind enforces them:
# an MTU for the largest frame (frame = MTU + 18 to testpmd), RX scatter
# into its 2 KiB mbufs, and multi-segment TX to send the chains back.
TP_OPTS=(--forward-mode=io)
max=0 prev=""
for a in "$@"; do
	if [ "$prev" = --sizes ] || [ "$prev" = --size ]; then
		for s in ${a//,/ }; do
			((s > max)) && max=$s
		done
	fi
	prev=$a
done
if [ "$PMD_TP_MTU" = 1 ] && [ "$max" -gt 1514 ]; then
	TP_OPTS+=(--max-pkt-len=$((max + 4)))
	if [ "$max" -gt 2048 ]; then
		TP_OPTS+=(--enable-scatter --tx-offloads=0x8000)
	fi
fi

if [ "$SIDE" = client ]; then
	pmd_testpmd tp "$PMD_CPU_B" "$VDEV_SERVER" "${TP_OPTS[@]}"
	pmd_check_bg chk "$PMD_CPU_A" "$VDEV_CLIENT" "$MODE" \
		"${PMD_CHECK_OPTS[@]}" --timeout-ms 10000 --wait-close "$@"
elif [ "$SIDE" = server ]; then
	pmd_check_bg chk "$PMD_CPU_A" "$VDEV_SERVER" "$MODE" \
		"${PMD_CHECK_OPTS[@]}" --timeout-ms 10000 --wait-close \
		--started-file "$PMD_WORK/started" "$@"
	pmd_wait_for "ivc-dpdk-check's port" 30 "$PID_chk" \
		test -e "$PMD_WORK/started"
	pmd_testpmd tp "$PMD_CPU_B" "$VDEV_CLIENT" "${TP_OPTS[@]}"
else
	pmd_fail "SIDE is client or server, not '$SIDE'"
fi

pmd_finish chk tp '^(verify: ok|latency size=)'
read -r rx tx < <(pmd_testpmd_forwarded tp)
ours=$(sed -n -e 's/^verify: ok: \([0-9]*\) frames.*/\1/p' \
	-e 's/^latency size=[0-9]* count=\([0-9]*\) .*/\1/p' "$PMD_WORK/chk.log")
pmd_say "testpmd's forwarding statistics: RX $rx TX $tx (ours: ${ours:-?} back)"
if [ -z "$ours" ] || [ "$rx" -lt "$ours" ] || [ "$tx" -lt "$ours" ]; then
	pmd_fail "testpmd counted fewer frames than came back (RX $rx, TX $tx)"
fi
pmd_say PASS
