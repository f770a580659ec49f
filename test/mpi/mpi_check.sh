#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/mpi/mpi_check.sh - run one MPI check under mpirun with Open MPI's
# ofi MTL and the ivc libfabric provider, and check that ivc carried it.
#
# usage: mpi_check.sh PROVIDER_DIR RANKS CASE PROGRAM [ARGS...]
#
#   PROVIDER_DIR  the directory of libivc-fi.so (FI_PROVIDER_PATH)
#   RANKS         the number of ranks (more than the cores: oversubscribed)
#   CASE          what PROGRAM prints it passed: "mpi_check CASE: ok" or, for
#                 CASE "mpi4py", "mpi4py_check: ok"; CASE "kill" expects
#                 the job to end in an error instead (within the timeout)
#
# FI_PROVIDER=ivc keeps libfabric from offering anything else, and
# IVC_FI_STATS=1 makes each endpoint print what it carried when it closes:
# a run passes only if every rank's endpoint sent something through ivc.
# Exit: 0 passed, 1 failed, 77 skipped (no mpirun here).
set -uo pipefail

if [ $# -lt 4 ]; then
	sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
PDIR=$1 RANKS=$2 CASE=$3
shift 3
command -v mpirun > /dev/null || { echo "SKIP: no mpirun (openmpi-bin)"; exit 77; }
if [ "$CASE" = mpi4py ] && ! "$1" -c 'import mpi4py' 2> /dev/null; then
	echo "SKIP: $1 has no mpi4py (python3-mpi4py)"
	exit 77
fi
ROOT=()
[ "$(id -u)" = 0 ] && ROOT=(--allow-run-as-root)
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

# IVC_FI_RDV (auto, always, off), when set, goes to every rank; so do
# IVC_NET=tcp and IVC_FI_HOST (every channel over tcp: the ranks are then
# as if on other hosts), and IVC_FI_IDLE_MS (ranks that wait doze).
ENV=()
for v in IVC_FI_RDV IVC_NET IVC_FI_HOST IVC_FI_IDLE_MS; do
	[ -z "${!v:-}" ] || ENV+=(-x "$v")
done
FI_PROVIDER_PATH=$PDIR FI_PROVIDER=ivc IVC_FI_STATS=1 \
	timeout 120 mpirun "${ROOT[@]}" --oversubscribe -np "$RANKS" \
	-x FI_PROVIDER_PATH -x FI_PROVIDER -x IVC_FI_STATS "${ENV[@]}" \
	--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include ivc \
	"$@" > "$OUT" 2>&1
rc=$?
cat "$OUT"
if [ "$CASE" = kill ]; then
	# timeout(1) exits 124 when it had to stop mpirun: somebody hung.
	if [ $rc = 0 ] || [ $rc = 124 ]; then
		echo "FAIL: a rank killed mid-run: the job must end in an error (exit $rc)"
		exit 1
	fi
	echo "PASS: the job ended in an error (exit $rc), nobody hung"
	exit 0
fi
want="mpi_check $CASE: ok"
[ "$CASE" = mpi4py ] && want="mpi4py_check: ok"
if [ $rc != 0 ] || ! grep -q "^$want" "$OUT"; then
	echo "FAIL: exit $rc, or no \"$want\""
	exit 1
fi
carried=$(grep -cE '^ivc-fi: ep .* sent [1-9][0-9]* msgs' "$OUT")
if [ "$carried" -lt "$RANKS" ]; then
	echo "FAIL: only $carried of $RANKS ranks' endpoints say ivc carried their messages"
	exit 1
fi
# Over tcp, every channel each rank's endpoint connected must be tcp.
if [ "${IVC_NET:-}" = tcp ]; then
	tcp=$(grep -cE '^ivc-fi: ep .* connected 0 shm 0 xen [1-9][0-9]* tcp' "$OUT")
	if [ "$tcp" -lt "$RANKS" ]; then
		echo "FAIL: only $tcp of $RANKS ranks' endpoints connected over tcp alone"
		exit 1
	fi
fi
# With rendezvous for every large message (the default) the ping-pong (up
# to 4 MiB) must have had each rank read its messages from 16 KiB on from
# the sender's memory (single copy): over shm only.
if [ "$CASE" = pingpong ] && [ "${IVC_FI_RDV:-always}" = always ] &&
	[ "${IVC_NET:-}" != tcp ]; then
	rdv=$(grep -cE '^ivc-fi: ep .* rendezvous [1-9][0-9]* read' "$OUT")
	if [ "$rdv" -lt "$RANKS" ]; then
		echo "FAIL: only $rdv of $RANKS ranks received large messages by rendezvous"
		exit 1
	fi
fi
# A rank that waited must have dozed in its CQ reads, not only spun less.
if [ "$CASE" = idle ] && ! grep -qE '^ivc-fi: cq dozed in [1-9][0-9]* reads' "$OUT"; then
	echo "FAIL: no rank's CQ says it dozed (IVC_FI_IDLE_MS=${IVC_FI_IDLE_MS:-unset})"
	exit 1
fi
echo "PASS: $want; ivc carried every rank's messages"
