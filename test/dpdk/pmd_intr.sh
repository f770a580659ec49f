#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/dpdk/pmd_intr.sh - RX interrupts: ivc-dpdk-check intr arms RX
# interrupts on its port, sleeps through an idle period in rte_epoll_wait
# (its CPU use then is measured and bounded), creates the ready file, and
# must be woken by the frames a second ivc-dpdk-check (send) sends only
# once the ready file exists.  The sender pauses after each burst, so the
# receiver goes back to sleep and is woken again: at least twice.
#
# usage: pmd_intr.sh BUILD KIND [COUNT]
#
#   KIND   memif or ivc (test/dpdk/pmd_lib.sh), or vhost: net_vhost and
#          net_virtio_user, a pair that has RX interrupts today, so the
#          mode itself is shown to work
#   COUNT  frames sent, in bursts of 30 with 5 ms between them [600]
#
# Environment: IVC_DPDK_IDLE_MS (the idle period, ms) [1000];
# IVC_DPDK_MAX_IDLE_CPU (per cent of a CPU allowed while idle) [5].
# Exit 0 passed, 1 failed, 77 skipped (the port has no RX interrupts:
# net_memif).
# shellcheck disable=SC2154  # PID_<name>: set by pmd_start (pmd_lib.sh)
set -uo pipefail
# shellcheck source=test/dpdk/pmd_lib.sh
. "$(dirname "$0")/pmd_lib.sh"

if [ $# -lt 2 ]; then
	pmd_usage
	exit 2
fi
BUILD=$1 KIND=$2 COUNT=${3:-600}
pmd_setup "pmd_intr $KIND"
pmd_kind "$BUILD" "$KIND"

READY="$PMD_WORK/ready"
pmd_check_bg intr "$PMD_CPU_A" "$VDEV_SERVER" intr --count "$COUNT" \
	--size 64 --idle-ms "${IVC_DPDK_IDLE_MS:-1000}" --ready-file "$READY" \
	--max-idle-cpu "${IVC_DPDK_MAX_IDLE_CPU:-5}" --timeout-ms 10000 \
	--started-file "$PMD_WORK/started"
pmd_wait_for "ivc-dpdk-check intr's port" 30 "$PID_intr" \
	test -e "$PMD_WORK/started"
pmd_check_bg send "$PMD_CPU_B" "$VDEV_CLIENT" send --count "$COUNT" \
	--size 64 --wait-file "$READY" --timeout-ms 20000 --gap-ms 5

pmd_wait intr
rc=$?
grep -a -E '^intr' "$PMD_WORK/intr.log"
[ $rc = 77 ] && pmd_skip "$KIND: no RX interrupts (ivc-dpdk-check intr exited 77)"
[ $rc = 0 ] || pmd_fail "ivc-dpdk-check intr exited $rc"
woken=$(sed -n 's/^intr: ok: woken \([0-9]*\) times.*/\1/p' "$PMD_WORK/intr.log")
[ "${woken:-0}" -ge 2 ] ||
	pmd_fail "woken ${woken:-0} times for $COUNT frames in paced bursts: it did not go back to sleep"
pmd_wait send
rc=$?
grep -a -E '^send' "$PMD_WORK/send.log"
[ $rc = 0 ] || pmd_fail "ivc-dpdk-check send exited $rc"
pmd_say PASS
