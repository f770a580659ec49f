# SPDX-License-Identifier: MIT
"""mpi4py_check - the same transport checks through mpi4py (python3-mpi4py):
buffer ping-pong of 0 B to 4 MiB checked byte for byte, pickled objects
with ANY_SOURCE, a probe, and collectives.  Rank 0 prints
"mpi4py_check: ok (N ranks)"; any failure aborts the job."""
import sys

from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()


def fail(what):
    sys.stderr.write("mpi4py_check: rank %d: %s\n" % (rank, what))
    sys.stderr.flush()
    comm.Abort(2)


def pattern(n, seed):
    return bytes((seed * 31 + i * 7 + (i >> 8)) & 0xFF for i in range(n))


# Buffers, both ways (a pattern of 4 MiB costs seconds in Python: a few sizes).
for k, n in enumerate((0, 1, 4096, 65537, 4 << 20)):
    if rank == 0:
        comm.Send([pattern(n, k), MPI.BYTE], dest=1, tag=k)
        buf = bytearray(n)
        comm.Recv([buf, MPI.BYTE], source=1, tag=k)
        if bytes(buf) != pattern(n, k + 50):
            fail("reply bytes at %d" % n)
    elif rank == 1:
        buf = bytearray(n)
        st = MPI.Status()
        comm.Recv([buf, MPI.BYTE], source=0, tag=k, status=st)
        if bytes(buf) != pattern(n, k) or st.Get_count(MPI.BYTE) != n:
            fail("request bytes at %d" % n)
        comm.Send([pattern(n, k + 50), MPI.BYTE], dest=0, tag=k)

# Pickled objects from every rank, received with ANY_SOURCE after a probe.
if rank:
    comm.send({"from": rank, "data": list(range(rank * 10))}, dest=0, tag=rank)
else:
    seen = set()
    for _ in range(size - 1):
        st = MPI.Status()
        comm.probe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=st)
        obj = comm.recv(source=st.Get_source(), tag=st.Get_tag())
        if obj["from"] != st.Get_source() or obj["data"] != list(range(obj["from"] * 10)):
            fail("object from %d" % st.Get_source())
        seen.add(obj["from"])
    if seen != set(range(1, size)):
        fail("senders %r" % sorted(seen))

# Collectives.
if comm.allreduce(rank, op=MPI.SUM) != size * (size - 1) // 2:
    fail("allreduce")
if comm.bcast("root says %d" % size if rank == 0 else None, root=0) != "root says %d" % size:
    fail("bcast")
if comm.alltoall([rank * 100 + p for p in range(size)]) != [p * 100 + rank for p in range(size)]:
    fail("alltoall")
comm.Barrier()
if rank == 0:
    print("mpi4py_check: ok (%d ranks)" % size)
