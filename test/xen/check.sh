#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/xen/check.sh - run ivc's xen tests against the real hypervisor: pack
# the programs of a build (test_xen, test_xen_hostile, ivc-cat, ivc-bench,
# the probe, and the conformance suite's programs) into dom0, boot Xen
# under QEMU, run test/xen/tests.list and then the conformance suite
# (test/conformance/cases.list) over xen there, and report.  Where the
# build has the net_ivc DPDK PMD, guests g1 and g2 also get dpdk-testpmd
# and the PMD (xdom.sh's phase_pmd); where it has the libfabric provider,
# fi_pingpong and the provider (phase_fi).
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
PROGS=("$W/xen_probe" "$B/test/test_xen" "$B/test/test_xen_hostile" "$B/apps/ivc-cat"
	"$B/apps/ivc-netd" "$B/perf/ivc-bench")
# What dom0 runs: the xen transport's own cases (tests.list), then every
# case of the conformance suite over xen, with shorter streams, fewer
# fault-injection rounds and longer watchdogs (TCG runs the CPU in
# software; a loaded host made 500000 messages outlast a watchdog).  Each
# case's program is packed.
cases=$HERE/../conformance/cases.list
# Cases the xen transport fails today, each with its finding: none.  (Say
# it loudly, never pass one silently: a line [case]="finding" here makes
# the harness skip it and name it in every report.)
declare -A known=()
msgs=${IVC_XEN_MESSAGES:-20000}
# test_poller streams 4 channels of IVC_TEST_MESSAGES each through one
# poller, an event per message under TCG: 45 s at 20000.
declare -A fewer=([poller]=$((msgs / 4)))
{
	cat "$HERE/tests.list"
	echo "# The conformance suite over xen (test/conformance/cases.list)."
	grep -v '^[[:space:]]*\(#\|$\)' "$cases" | while read -r name label timeout lock prog args; do
		if [ -n "${known[$name]:-}" ]; then
			echo "!!! conformance.xen.$name: NOT RUN, known to fail over xen: ${known[$name]}" >&2
			continue
		fi
		echo "# conformance.xen.$name"
		echo "IVC_TEST_TRANSPORT=xen IVC_TEST_TIME_SCALE=3 IVC_TEST_MESSAGES=${fewer[$name]:-$msgs} IVC_FAULT_ITERS=10 IVC_FAULT_CYCLES=50 $prog $args"
	done
	# Then ivc between real domains: dom0 starts guests (xdom.sh).
	echo "# Between domains: dom0 and unprivileged guests (test/xen/xdom.sh)."
	echo "xdom.sh"
} >"$W/tests.list"
# IVC_XEN_ONLY=xdom: the cross-domain phase alone (while working on it);
# XDOM_CASES then picks its parts (xdom.sh's phase_* names).
if [ "${IVC_XEN_ONLY:-}" = xdom ]; then
	echo "${XDOM_CASES:+XDOM_CASES='$XDOM_CASES' }${XDOM_MIGRATE_HOW:+XDOM_MIGRATE_HOW=$XDOM_MIGRATE_HOW }xdom.sh" > "$W/tests.list"
fi
for prog in $(grep -v '^[[:space:]]*\(#\|$\)' "$cases" | awk '{ print $5 }' | sort -u); do
	PROGS+=("$B/test/$prog")
done
# What the guests run (test/xen/guest-init); xdom is the cross-domain test
# program (test/xen/xdom.c).
GUEST_PROGS="$B/test/xdom $B/apps/ivc-cat $B/perf/ivc-bench"
PROGS+=("$B/test/xdom")
# The net_ivc DPDK PMD, where the build has it (it is optional): the guests
# then also get dpdk-testpmd (xdom.sh's phase_pmd; skipped without it).
GUEST_PMD=""
[ -f "$B/src/dpdk/librte_net_ivc.so" ] && GUEST_PMD=$B/src/dpdk/librte_net_ivc.so
# The libfabric provider, where the build has it: the guests then also get
# fi_pingpong (xdom.sh's phase_fi; skipped without it).
GUEST_FI=""
[ -f "$B/src/fi/libivc-fi.so" ] && GUEST_FI=$B/src/fi/libivc-fi.so
if ! IVC_XEN_GUEST_PROGS="$GUEST_PROGS" IVC_XEN_GUEST_PMD="$GUEST_PMD" IVC_XEN_GUEST_FI="$GUEST_FI" \
	IVC_XEN_TESTS="$W/tests.list" \
	bash "$HERE/build.sh" "$W" "${PROGS[@]}"; then
	echo "xen harness: SKIPPED: could not build the boot image (see above)"
	exit 77
fi
bash "$HERE/run.sh" "$W"
rc=$?
grep -E '^=== (passed|FAILED)|IVC-XEN-RESULT|ivc-cat:|^  [a-z-]+ +ivc:' "$W/console.log" | tail -n 80
for n in "${!known[@]}"; do
	echo "!!! conformance.xen.$n NOT RUN, known to fail over xen: ${known[$n]}"
done
exit $rc
