#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/xen/run.sh - boot real Xen with a PV dom0 under QEMU (TCG: this
# machine's KVM cannot run Xen) and run the programs build.sh packed.
#
# usage: run.sh WORKDIR      (after build.sh WORKDIR ...)
# exit: 0 all passed; 1 a failure; 2 crashed or timed out.  The console goes
# to stdout and to WORKDIR/console.log.
set -uo pipefail
W=${1:?usage: run.sh WORKDIR}
# The conformance suite and the guests under TCG take many minutes; the watchdog in
# dom0 (ivc_timeout, test/xen/init) ends a hang a minute before QEMU's.
LIMIT=${IVC_XEN_LIMIT:-1800}
t0=$(date +%s.%N)
timeout "$LIMIT" qemu-system-x86_64 \
	-accel tcg -cpu ${IVC_XEN_CPU:-Westmere} -m 2048 -smp 2 -nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=4 \
	-kernel "$W/boot/xen" \
	-append "console=com1 dom0_mem=${IVC_XEN_DOM0_MEM:-512M} loglvl=warning" \
	-initrd "$W/boot/vmlinuz console=hvc0 quiet ivc_timeout=$((LIMIT - 60)) ${IVC_XEN_DOM0_ARGS:-},$W/boot/initrd.gz" \
	< /dev/null 2>&1 | tee "$W/console.log"
rc=${PIPESTATUS[0]}
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
case $rc in
3) echo "xen harness: PASS (boot to result: $secs s)"; exit 0 ;;
5) echo "xen harness: FAIL (boot to result: $secs s)"; exit 1 ;;
124) echo "xen harness: TIMEOUT after $LIMIT s"; exit 2 ;;
*) echo "xen harness: CRASH (qemu exit $rc after $secs s)"; exit 2 ;;
esac
