#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/fi/fi_bench_smoke.sh BUILD_DIR - perf/fi_bench.sh runs, and gives a
# figure for each provider (libfabric's shm, ivc, ivc with its channels
# over tcp) at each size it was asked for.  It asserts nothing about which
# is faster: that is the benchmark's to show, not a test's.  77 (skip)
# without fi_pingpong.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?usage: fi_bench_smoke.sh BUILD_DIR}
command -v fi_pingpong > /dev/null || { echo "no fi_pingpong (libfabric-bin): skipped"; exit 77; }

out=$(PROVIDERS="shm ivc ivc-tcp" SIZES="64 65536" REPEAT=1 SECS=0.02 \
	bash "$src/perf/fi_bench.sh" "$build" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || { echo "FAIL: fi_bench.sh exited $rc"; exit 1; }
num='[0-9]+(\.[0-9]+)?'
for s in 64 65536; do
	grep -qE "^\| $s( \| $num){5} \| µs \|$" <<<"$out" ||
		{ echo "FAIL: no row of figures for $s bytes"; exit 1; }
done
echo "ok: a figure for shm, ivc and ivc over tcp at 64 B and 64 KiB"
