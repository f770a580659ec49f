#!/usr/bin/env bash
# pmd_hostile.sh BUILD ZC: dpdk-testpmd with the net_ivc PMD listening
# (zc=ZC, io forwarding) against the hostile peer (pmd_hostile.c); then
# testpmd must still stop cleanly.
set -u
build=$1 zc=$2
name=ivc-pmd-hostile-$$
dir=$(mktemp -d "${TMPDIR:-/tmp}/ivc-pmd-hostile.XXXXXX")
# shellcheck source=test/pmd_so.sh
. "$(dirname "$0")/pmd_so.sh"
pmd_safe_so "$build/src/dpdk/librte_net_ivc.so" || exit 1
pmd=$PMD_SO
tp=
cleanup() {
	[ -n "$tp" ] && kill -9 "$tp" 2>/dev/null
	rm -rf "$dir" "/var/run/dpdk/$name" 2>/dev/null
	pmd_safe_so_cleanup
}
trap cleanup EXIT
command -v dpdk-testpmd >/dev/null || { echo "no dpdk-testpmd (Debian: dpdk-dev)"; exit 77; }
# Its own lcore 0 (main) and 1 (forwarding); --stats-period keeps it running
# until told to stop; --no-flush-rx: frames sent while it starts are echoed,
# not flushed.
timeout 300 dpdk-testpmd --no-huge -m 256 --no-pci -l 0-1 --file-prefix "$name" \
	-d "$pmd" --vdev "net_ivc0,addr=shm:@$name,role=server,zc=$zc" -- \
	--forward-mode=io --no-flush-rx --stats-period 5 --total-num-mbufs 8192 \
	>"$dir/testpmd.log" 2>&1 </dev/null &
tp=$!
rc=0
"$build/test/pmd_hostile" "shm:@$name" "$tp" || rc=$?
if ! kill -0 "$tp" 2>/dev/null; then
	echo "testpmd is gone:"; tail -n 40 "$dir/testpmd.log"; exit 1
fi
kill -INT "$tp"
wait "$tp"; trc=$?
tp=
if [ "$trc" -ne 0 ]; then
	echo "testpmd exited with $trc after the attacks:"; tail -n 40 "$dir/testpmd.log"
	rc=1
fi
grep -E "net_ivc|Bye" "$dir/testpmd.log" | tail -n 5
exit $rc
