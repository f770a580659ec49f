#!/usr/bin/env bash
# pmd_devargs.sh BUILD: bad net_ivc devargs end dpdk-testpmd's start with
# an error that names the devarg and what it takes (issue 19).
set -u
build=$1
# shellcheck source=test/pmd_so.sh
. "$(dirname "$0")/pmd_so.sh"
pmd_safe_so "$build/src/dpdk/librte_net_ivc.so" || exit 1
pmd=$PMD_SO
trap 'pmd_safe_so_cleanup; rm -rf "/var/run/dpdk/ivc-devargs-$$" 2>/dev/null' EXIT
command -v dpdk-testpmd >/dev/null || { echo "no dpdk-testpmd (Debian: dpdk-dev)"; exit 77; }
fails=0
# expect DEVARGS PATTERN: PATTERN is printed and no port works: testpmd
# exits non-zero, or says the device was not probed, or that the port
# could not start (it goes on then, and ends at once: stdin is empty).
expect() {
	local out rc=0 refused=0
	out=$(timeout 60 dpdk-testpmd --no-huge -m 128 --no-pci -l 0-1 --file-prefix "ivc-devargs-$$" \
		-d "$pmd" --vdev "net_ivc0,$1" -- --forward-mode=io --total-num-mbufs 2048 \
		</dev/null 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] || grep -qE "No probed ethernet devices|Fail to start port 0" <<<"$out"; then
		refused=1
	fi
	if [ "$refused" = 1 ] && grep -qF -- "$2" <<<"$out"; then
		echo "ok   '$1': $(grep -F -- "$2" <<<"$out" | head -n 1)"
	else
		echo "FAIL '$1': exit $rc, no '$2' in:"; tail -n 8 <<<"$out"
		fails=$((fails + 1))
	fi
}
expect "role=server" "addr= is required"
expect "addr=shm:@x,role=boss" "role=boss: server or client"
expect "addr=shm:@x,zc=2" "zc=2: 0 or 1"
expect "addr=shm:@x,mac=01:00:00:00:00:01" "a unicast MAC address"
expect "addr=shm:@x,bogus=1" "cannot parse"
expect "addr=shm:@x,slots=1" "slots=1: a number from 2 to 65536"
expect "addr=shm:@x,bufsize=70000" "bufsize=70000: a number from 64 to 65535"
expect "addr=shm:@x,allow=a:b" "allow=a:b: 1 to 64 Xen domain ids"
expect "addr=shm:@x,addr=shm:@y" "addr= given twice"
expect "addr=nope:x,role=server" "cannot listen on nope:x: unknown transport"
exit $((fails > 0))
