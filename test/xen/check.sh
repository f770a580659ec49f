#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/xen/check.sh - run ivc's xen tests against the real hypervisor: pack
# the programs of a build (test_xen, test_xen_hostile, test_delivery,
# test_close, test_timeout, test_hostile, ivc-cat, ivc-bench, and the
# probe) into dom0, boot Xen
# under QEMU, run test/xen/tests.list there, and report.
#
# usage: check.sh BUILD_DIR [WORKDIR]     (WORKDIR default BUILD_DIR/xen)
# exit: 0 passed; 1 failed; 2 crashed or timed out; 77 skipped: the harness
# could not be set up here (no QEMU, no hypervisor or kernel package), which
# it says loudly.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
B=$(cd "${1:?usage: check.sh BUILD_DIR [WORKDIR]}" && pwd)
W=${2:-$B/xen}
mkdir -p "$W"

if [ ! -x "$B/test/test_xen" ]; then
	echo "xen harness: SKIPPED: $B has no test_xen (was libxen-dev missing at configure time?)"
	exit 77
fi
gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$W/xen_probe" "$HERE/xen_probe.c" \
	-lxenevtchn -lxengnttab -lxenstore || exit 1
PROGS=("$W/xen_probe" "$B/test/test_xen" "$B/test/test_delivery" "$B/test/test_close"
	"$B/test/test_timeout" "$B/test/test_hostile" "$B/test/test_xen_hostile" "$B/apps/ivc-cat" "$B/perf/ivc-bench")
if ! IVC_XEN_TESTS="$HERE/tests.list" bash "$HERE/build.sh" "$W" "${PROGS[@]}"; then
	echo "xen harness: SKIPPED: could not build the boot image (see above)"
	exit 77
fi
bash "$HERE/run.sh" "$W"
rc=$?
grep -E '^=== (passed|FAILED)|IVC-XEN-RESULT|ivc-cat:|^  [a-z-]+ +ivc:' "$W/console.log" | tail -n 40
exit $rc
