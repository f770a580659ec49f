#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/dpdk/pmd_pair.sh - two ivc-dpdk-checks over a PMD pair, no testpmd:
# the client sends (verify --tx-only), the server receives and checks
# every frame (verify --rx-only).  The PMD's own back-pressure must
# lose nothing: the sender has no window, it sends as fast as the TX
# queue takes frames.
#
# usage: pmd_pair.sh BUILD KIND [COUNT [SIZES [ARGS...]]]
#
#   COUNT  frames per size [100000]; SIZES [the kind's: 64,1518,9000, but
#          64,1518 for memif, whose TX overruns its ring with frames of
#          more than one 2 KiB buffer when the ring is nearly full (see
#          PMD_PAIR_SIZES in pmd_lib.sh)]; ARGS more options for both
#          sides (e.g. --segs 256)
#
# Exit 0 passed, 1 failed, 77 skipped.
# shellcheck disable=SC2154  # PID_<name>: set by pmd_start (pmd_lib.sh)
set -uo pipefail
# shellcheck source=test/dpdk/pmd_lib.sh
. "$(dirname "$0")/pmd_lib.sh"

if [ $# -lt 2 ]; then
	pmd_usage
	exit 2
fi
BUILD=$1 KIND=$2 COUNT=${3:-100000} SIZES=${4:-}
shift 2
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
pmd_setup "pmd_pair $KIND"
pmd_kind "$BUILD" "$KIND"
SIZES=${SIZES:-$PMD_PAIR_SIZES}

COMMON=(verify "${PMD_CHECK_OPTS[@]}" --count "$COUNT" --sizes "$SIZES"
	--timeout-ms 10000 "$@")
pmd_check_bg rx "$PMD_CPU_A" "$VDEV_SERVER" "${COMMON[@]}" --rx-only \
	--started-file "$PMD_WORK/started"
pmd_wait_for "the receiver's port" 30 "$PID_rx" test -e "$PMD_WORK/started"
pmd_check_bg tx "$PMD_CPU_B" "$VDEV_CLIENT" "${COMMON[@]}" --tx-only

pmd_wait rx
rc=$?
grep -a -E '^verify' "$PMD_WORK/rx.log"
[ $rc = 0 ] || pmd_fail "the receiver exited $rc"
pmd_wait tx
rc=$?
grep -a -E '^verify' "$PMD_WORK/tx.log"
[ $rc = 0 ] || pmd_fail "the sender exited $rc"
pmd_say PASS
