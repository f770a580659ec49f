#!/usr/bin/env bash
# pmd_echo.sh BUILD: the example application ivc-dpdk-echo (apps/dpdk/)
# on a net_ivc server port echoes a verified stream from ivc-dpdk-check
# (every frame back, in order, byte for byte), sleeping between, and stops
# cleanly on SIGINT with its counters, however many SIGINTs come (a
# one-shot handler, what signal() gives a strict C11 program, let the
# second one kill it: timeout(1) alone sends two).
set -u
build=$1
# shellcheck source=test/pmd_so.sh
. "$(dirname "$0")/pmd_so.sh"
pmd_safe_so "$build/src/dpdk/librte_net_ivc.so" || exit 1
pmd=$PMD_SO
name=ivc-pmd-echo-$$
dir=$(mktemp -d "${TMPDIR:-/tmp}/ivc-pmd-echo.XXXXXX")
ep=
cleanup() {
	[ -n "$ep" ] && kill -9 "$ep" 2>/dev/null
	rm -rf "$dir" "/var/run/dpdk/$name-e" "/var/run/dpdk/$name-c" 2>/dev/null
	pmd_safe_so_cleanup
}
trap cleanup EXIT
n=20000
# Not under timeout(1): the signals below go to ivc-dpdk-echo itself (ctest
# bounds the test).
"$build/apps/ivc-dpdk-echo" --no-huge -m 256 --no-pci -l 1 \
	--file-prefix "$name-e" -d "$pmd" --vdev "net_ivc0,addr=shm:@$name,role=server" \
	>"$dir/echo.log" 2>&1 &
ep=$!
rc=0
timeout 300 "$build/test/dpdk/ivc-dpdk-check" --no-huge -m 256 --no-pci -l 0 \
	--file-prefix "$name-c" -d "$pmd" --vdev "net_ivc0,addr=shm:@$name,role=client" -- \
	verify --count "$n" --sizes 64,1518 --timeout-ms 30000 || rc=1
# SIGINTs in bursts of 50 until it has printed its counters or exited (a
# zombie, not yet reaped): the first sets it stopping, the rest must find
# the handler still there.  Bounded, in case it never stops.
alive() { read -r _ _ st _ < "/proc/$ep/stat" 2>/dev/null && [ "$st" != Z ]; }
i=0
until grep -q '^ivc-dpdk-echo: in ' "$dir/echo.log" || ! alive || [ $i -ge 100000 ]; do
	for _ in {1..50}; do kill -INT "$ep" 2>/dev/null; done
	i=$((i + 50))
done
echo "sent $i SIGINTs before ivc-dpdk-echo stopped"
wait "$ep" || { echo "ivc-dpdk-echo exited with $?"; rc=1; }
ep=
grep -v '^EAL' "$dir/echo.log"
grep -q "in $((2 * n)) frames" "$dir/echo.log" || { echo "FAIL: ivc-dpdk-echo did not count $((2 * n)) frames in"; rc=1; }
exit $rc
