#!/usr/bin/env bash
# pmd_config.sh BUILD: a net_ivc port's MAC address and MTU are settable,
# an MTU above 9000 is refused, and ivc's counters show as xstats: what
# testpmd's own commands say.
set -u
build=$1
# shellcheck source=test/pmd_so.sh
. "$(dirname "$0")/pmd_so.sh"
pmd_safe_so "$build/src/dpdk/librte_net_ivc.so" || exit 1
pmd=$PMD_SO
trap 'pmd_safe_so_cleanup; rm -rf "/var/run/dpdk/ivc-config-$$" 2>/dev/null' EXIT
command -v dpdk-testpmd >/dev/null || { echo "no dpdk-testpmd (Debian: dpdk-dev)"; exit 77; }
out=$(printf '%s\n' 'mac_addr set 0 02:00:00:00:00:09' 'port stop 0' \
	'port config mtu 0 9000' 'port start 0' 'show port info 0' \
	'port config mtu 0 9100' 'show port xstats 0' 'quit' |
	timeout 120 dpdk-testpmd --no-huge -m 128 --no-pci -l 0-1 --file-prefix "ivc-config-$$" \
		-d "$pmd" --vdev "net_ivc0,addr=shm:@ivc-config-$$,role=server" -- \
		-i --total-num-mbufs 2048 2>&1)
rc=$?
fails=0
want() {
	if grep -qF -- "$1" <<<"$out"; then echo "ok   $1"; else echo "FAIL no '$1'"; fails=$((fails + 1)); fi
}
want "MAC address: 02:00:00:00:00:09"
want "MTU: 9000"
want "MTU (9100) > device max MTU (9000)"
want "qp0_ivc_doorbells: 0"
want "qp0_ivc_connects: 0"
[ "$rc" -eq 0 ] || { echo "FAIL testpmd exited with $rc"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ] || tail -n 30 <<<"$out"
exit $((fails > 0))
