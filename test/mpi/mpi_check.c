/* SPDX-License-Identifier: MIT */
/*
 * mpi_check - MPI programs of our own that check what an MPI transport must
 * get right, run by test/mpi/mpi_check.sh under mpirun with Open MPI's ofi
 * MTL and the ivc provider (and, for comparison, with its own shared
 * memory).  One case per run, named by argv[1]:
 *
 *   pingpong  ranks 0 and 1 exchange every size from 0 B to 4 MiB, the
 *             bytes checked both ways
 *   any       every other rank sends to rank 0, which takes them with
 *             MPI_ANY_SOURCE/MPI_ANY_TAG and checks source, tag and bytes
 *   probe     MPI_Probe, MPI_Iprobe, MPI_Mprobe/MPI_Mrecv and MPI_Improbe
 *             tell the size and source before the receive
 *   storm     every pair of ranks exchanges 200 MPI_Isend/MPI_Irecv of
 *             mixed sizes at once, checked after MPI_Waitall
 *   cancel    a receive that nothing matches is cancelled
 *             (MPI_Test_cancelled), then the rank still works
 *   truncate  a receive shorter than its message is MPI_ERR_TRUNCATE
 *   coll      MPI_Barrier, MPI_Bcast (1 MiB), MPI_Allreduce, MPI_Alltoall
 *             and MPI_Alltoallv, every result checked
 *   kill      rank 1 kills itself with SIGKILL after one exchange while
 *             rank 0 waits for it: the job must end with an error (the
 *             script checks that it ends, and not with 0)
 *   idle      rank 1 waits in MPI_Recv while rank 0 sleeps, three times
 *             0.6 s, and may spend at most a quarter of that time on its
 *             CPU (run with IVC_FI_IDLE_MS set: without it every MPI rank
 *             spins); each message, sent while rank 1 dozes, must arrive
 *             with its bytes, and a ping-pong right after must run
 *
 * Rank 0 prints "mpi_check CASE: ok" when every rank passed; any failure
 * aborts the job with a message and a non-zero status.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int rank, size;

static void fail(const char *what, long a, long b)
{
	fprintf(stderr, "mpi_check: rank %d: %s (%ld, %ld)\n", rank, what, a, b);
	MPI_Abort(MPI_COMM_WORLD, 2);
}

static unsigned char pattern(unsigned seed, size_t i)
{
	return (unsigned char)(seed * 31u + i * 7u + (i >> 8));
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(seed, i);
}

static void expect(const unsigned char *p, size_t n, unsigned seed, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(seed, i))
			fail(what, (long)i, (long)n);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fail("out of memory", (long)n, 0);
	return p;
}

/* ---- cases ---- */

static void case_pingpong(void)
{
	static const size_t sizes[] = { 0, 1, 7, 64, 1000, 4096, 8193, 65536, 262147,
					1 << 20, 4 << 20 };
	unsigned char *buf = xmalloc(4 << 20);
	MPI_Status st;
	int n;

	if (rank > 1)
		return;
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k];

		for (unsigned it = 0; it < 3; it++) {
			unsigned seed = k * 10 + it;

			if (rank == 0) {
				fill(buf, len, seed);
				MPI_Send(buf, (int)len, MPI_BYTE, 1, (int)k, MPI_COMM_WORLD);
				memset(buf, 0, len);
				MPI_Recv(buf, (int)len, MPI_BYTE, 1, (int)k, MPI_COMM_WORLD, &st);
				expect(buf, len, seed + 1000, "pingpong: reply bytes");
			} else {
				MPI_Recv(buf, (int)len, MPI_BYTE, 0, (int)k, MPI_COMM_WORLD, &st);
				expect(buf, len, seed, "pingpong: request bytes");
				fill(buf, len, seed + 1000);
				MPI_Send(buf, (int)len, MPI_BYTE, 0, (int)k, MPI_COMM_WORLD);
			}
			MPI_Get_count(&st, MPI_BYTE, &n);
			if ((size_t)n != len)
				fail("pingpong: count", n, (long)len);
		}
	}
	free(buf);
}

static void case_any(void)
{
	unsigned char buf[512];
	MPI_Status st;
	int n;

	if (rank) {
		fill(buf, (size_t)rank * 10, (unsigned)rank);
		MPI_Send(buf, rank * 10, MPI_BYTE, 0, 100 + rank, MPI_COMM_WORLD);
		return;
	}
	for (int i = 1; i < size; i++) {
		MPI_Recv(buf, sizeof(buf), MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG,
			 MPI_COMM_WORLD, &st);
		MPI_Get_count(&st, MPI_BYTE, &n);
		if (st.MPI_TAG != 100 + st.MPI_SOURCE || n != st.MPI_SOURCE * 10)
			fail("any: source, tag or count", st.MPI_SOURCE, st.MPI_TAG);
		expect(buf, (size_t)n, (unsigned)st.MPI_SOURCE, "any: bytes");
	}
}

static void probe_one(int how, int want_tag, int want_len)
{
	MPI_Status st;
	MPI_Message m = MPI_MESSAGE_NULL;
	unsigned char *buf;
	int n, flag = 0;

	if (how == 0) {
		MPI_Probe(1, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
	} else if (how == 1) {
		while (!flag)
			MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
	} else if (how == 2) {
		MPI_Mprobe(1, want_tag, MPI_COMM_WORLD, &m, &st);
	} else {
		while (!flag)
			MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &m, &st);
	}
	MPI_Get_count(&st, MPI_BYTE, &n);
	if (n != want_len || st.MPI_TAG != want_tag || st.MPI_SOURCE != 1)
		fail("probe: count, tag or source", n, st.MPI_TAG);
	buf = xmalloc((size_t)n);
	if (how >= 2)
		MPI_Mrecv(buf, n, MPI_BYTE, &m, &st);
	else
		MPI_Recv(buf, n, MPI_BYTE, 1, st.MPI_TAG, MPI_COMM_WORLD, &st);
	expect(buf, (size_t)n, (unsigned)want_tag, "probe: bytes");
	free(buf);
}

static void case_probe(void)
{
	static const int lens[] = { 10, 70000, 0, 3 << 20 };

	if (rank == 1) {
		for (int i = 0; i < 4; i++) {
			unsigned char *b = xmalloc((size_t)lens[i]);

			fill(b, (size_t)lens[i], (unsigned)(200 + i));
			MPI_Send(b, lens[i], MPI_BYTE, 0, 200 + i, MPI_COMM_WORLD);
			free(b);
		}
	} else if (rank == 0) {
		for (int i = 0; i < 4; i++)
			probe_one(i, 200 + i, lens[i]);
	}
}

#define STORM 200

static size_t storm_len(int from, int to, int i)
{
	return (size_t)((from * 7 + to * 3 + i * 131) % 5 == 0 ? 65536 - i : (i * 37) % 3000);
}

static void case_storm(void)
{
	int peers = size - 1, n = 0;
	MPI_Request *rq = xmalloc(sizeof(*rq) * (size_t)peers * STORM * 2);
	unsigned char **bufs = xmalloc(sizeof(*bufs) * (size_t)peers * STORM * 2);

	for (int p = 0; p < size; p++) {
		if (p == rank)
			continue;
		for (int i = 0; i < STORM; i++) {
			size_t in = storm_len(p, rank, i), out = storm_len(rank, p, i);

			bufs[n] = xmalloc(in);
			MPI_Irecv(bufs[n], (int)in, MPI_BYTE, p, i, MPI_COMM_WORLD, &rq[n]);
			n++;
			bufs[n] = xmalloc(out);
			fill(bufs[n], out, (unsigned)(rank * 1000 + p * 10 + i));
			MPI_Isend(bufs[n], (int)out, MPI_BYTE, p, i, MPI_COMM_WORLD, &rq[n]);
			n++;
		}
	}
	MPI_Waitall(n, rq, MPI_STATUSES_IGNORE);
	n = 0;
	for (int p = 0; p < size; p++) {
		if (p == rank)
			continue;
		for (int i = 0; i < STORM; i++) {
			expect(bufs[n], storm_len(p, rank, i), (unsigned)(p * 1000 + rank * 10 + i),
			       "storm: bytes");
			free(bufs[n]);
			free(bufs[n + 1]);
			n += 2;
		}
	}
	free(bufs);
	free(rq);
}

static void case_cancel(void)
{
	MPI_Request rq;
	MPI_Status st;
	int cancelled = 0, v = 0;

	MPI_Irecv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 999, MPI_COMM_WORLD, &rq);
	MPI_Cancel(&rq);
	MPI_Wait(&rq, &st);
	MPI_Test_cancelled(&st, &cancelled);
	if (!cancelled)
		fail("cancel: the receive was not cancelled", 0, 0);
	/* The rank still works: a ring of one message each. */
	MPI_Sendrecv(&rank, 1, MPI_INT, (rank + 1) % size, 5, &v, 1, MPI_INT,
		     (rank + size - 1) % size, 5, MPI_COMM_WORLD, &st);
	if (v != (rank + size - 1) % size)
		fail("cancel: ring after cancel", v, 0);
}

static void case_truncate(void)
{
	int big[100], small[10], cls, r, v = 0;
	MPI_Status st;

	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	if (rank == 1) {
		for (int i = 0; i < 100; i++)
			big[i] = i;
		MPI_Send(big, 100, MPI_INT, 0, 7, MPI_COMM_WORLD);
		MPI_Send(&v, 1, MPI_INT, 0, 8, MPI_COMM_WORLD);
	} else if (rank == 0) {
		r = MPI_Recv(small, 10, MPI_INT, 1, 7, MPI_COMM_WORLD, &st);
		MPI_Error_class(r, &cls);
		if (cls != MPI_ERR_TRUNCATE)
			fail("truncate: error class", cls, MPI_ERR_TRUNCATE);
		/* The next message is whole. */
		v = -1;
		if (MPI_Recv(&v, 1, MPI_INT, 1, 8, MPI_COMM_WORLD, &st) != MPI_SUCCESS || v != 0)
			fail("truncate: the next message", v, 0);
	}
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

static void case_coll(void)
{
	enum { BC = 1 << 20, AR = 1000 };
	unsigned char *b = xmalloc(BC);
	double *x = xmalloc(sizeof(double) * AR), *y = xmalloc(sizeof(double) * AR);
	int *s = xmalloc(sizeof(int) * (size_t)size), *r = xmalloc(sizeof(int) * (size_t)size);
	int *sc = xmalloc(sizeof(int) * (size_t)size), *sd = xmalloc(sizeof(int) * (size_t)size);
	int *rc = xmalloc(sizeof(int) * (size_t)size), *rd = xmalloc(sizeof(int) * (size_t)size);
	int *sv, *rv, tot_s = 0, tot_r = 0;

	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == size - 1)
		fill(b, BC, 77);
	MPI_Bcast(b, BC, MPI_BYTE, size - 1, MPI_COMM_WORLD);
	expect(b, BC, 77, "bcast: bytes");
	for (int i = 0; i < AR; i++)
		x[i] = rank + i * 0.5;
	MPI_Allreduce(x, y, AR, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
	for (int i = 0; i < AR; i++)
		if (y[i] != size * (size - 1) / 2.0 + size * i * 0.5)
			fail("allreduce: sum", i, (long)y[i]);
	for (int p = 0; p < size; p++)
		s[p] = rank * 100 + p;
	MPI_Alltoall(s, 1, MPI_INT, r, 1, MPI_INT, MPI_COMM_WORLD);
	for (int p = 0; p < size; p++)
		if (r[p] != p * 100 + rank)
			fail("alltoall: value", p, r[p]);
	/* Alltoallv: rank i sends i + p + 1 ints to rank p. */
	for (int p = 0; p < size; p++) {
		sc[p] = rank + p + 1;
		rc[p] = p + rank + 1;
		sd[p] = tot_s;
		rd[p] = tot_r;
		tot_s += sc[p];
		tot_r += rc[p];
	}
	sv = xmalloc(sizeof(int) * (size_t)tot_s);
	rv = xmalloc(sizeof(int) * (size_t)tot_r);
	for (int p = 0; p < size; p++)
		for (int i = 0; i < sc[p]; i++)
			sv[sd[p] + i] = rank * 10000 + p * 100 + i;
	MPI_Alltoallv(sv, sc, sd, MPI_INT, rv, rc, rd, MPI_INT, MPI_COMM_WORLD);
	for (int p = 0; p < size; p++)
		for (int i = 0; i < rc[p]; i++)
			if (rv[rd[p] + i] != p * 10000 + rank * 100 + i)
				fail("alltoallv: value", p, i);
	MPI_Barrier(MPI_COMM_WORLD);
	free(b), free(x), free(y), free(s), free(r), free(sc), free(sd);
	free(rc), free(rd), free(sv), free(rv);
}

static void case_kill(void)
{
	int v = rank;

	if (rank == 1) {
		MPI_Send(&v, 1, MPI_INT, 0, 1, MPI_COMM_WORLD);
		raise(SIGKILL);
	} else if (rank == 0) {
		MPI_Recv(&v, 1, MPI_INT, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		/* Never sent: this must end in an error, not a hang. */
		MPI_Recv(&v, 1, MPI_INT, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	}
	MPI_Barrier(MPI_COMM_WORLD);
}

#define IDLE_ROUNDS 3
#define IDLE_WAIT_MS 600
#define IDLE_MSG 1024

static double seconds(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Rank 0's sleep is what makes rank 1 idle, not a synchronisation: the
 * message is waited for whenever it comes. */
static void idle_round(int r, unsigned char *buf, double *cpu, double *wall)
{
	if (rank == 0) {
		struct timespec d = { IDLE_WAIT_MS / 1000, (IDLE_WAIT_MS % 1000) * 1000000L };
		while (nanosleep(&d, &d))
			;
		fill(buf, IDLE_MSG, (unsigned)r);
		MPI_Send(buf, IDLE_MSG, MPI_BYTE, 1, r, MPI_COMM_WORLD);
	} else if (rank == 1) {
		double c0 = seconds(CLOCK_THREAD_CPUTIME_ID), w0 = seconds(CLOCK_MONOTONIC);
		MPI_Recv(buf, IDLE_MSG, MPI_BYTE, 0, r, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		*cpu += seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
		*wall += seconds(CLOCK_MONOTONIC) - w0;
		expect(buf, IDLE_MSG, (unsigned)r, "idle: bytes after the wait");
	}
	/* Awake again: a ping-pong at full speed. */
	for (int i = 0; i < 1000 && rank < 2; i++) {
		int v = i, peer = 1 - rank;
		if (rank == 0) {
			MPI_Send(&v, 1, MPI_INT, peer, 100, MPI_COMM_WORLD);
			MPI_Recv(&v, 1, MPI_INT, peer, 100, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(&v, 1, MPI_INT, peer, 100, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			MPI_Send(&v, 1, MPI_INT, peer, 100, MPI_COMM_WORLD);
		}
		if (v != i)
			fail("idle: ping-pong value", v, i);
	}
	MPI_Barrier(MPI_COMM_WORLD);
}

static void case_idle(void)
{
	unsigned char *buf = xmalloc(IDLE_MSG);
	double cpu = 0, wall = 0;

	for (int r = 0; r < IDLE_ROUNDS; r++)
		idle_round(r, buf, &cpu, &wall);
	if (rank == 1) {
		printf("mpi_check idle: rank 1 used %.0f ms of CPU in %.0f ms of waiting\n",
		       cpu * 1e3, wall * 1e3);
		if (cpu > wall / 4)
			fail("idle: a waiting rank spun (CPU ms, wall ms)", (long)(cpu * 1e3),
			     (long)(wall * 1e3));
	}
	free(buf);
}

static const struct {
	const char *name;
	void (*run)(void);
	int min_ranks;
} cases[] = {
	{ "pingpong", case_pingpong, 2 }, { "any", case_any, 2 },
	{ "probe", case_probe, 2 },       { "storm", case_storm, 2 },
	{ "cancel", case_cancel, 1 },     { "truncate", case_truncate, 2 },
	{ "coll", case_coll, 1 },         { "kill", case_kill, 2 },
	{ "idle", case_idle, 2 },
};

int main(int argc, char **argv)
{
	int ok = 1, all_ok = 0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (argc < 2 || strcmp(argv[1], cases[i].name))
			continue;
		if (size < cases[i].min_ranks)
			fail("too few ranks", size, cases[i].min_ranks);
		cases[i].run();
		MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
		if (rank == 0 && all_ok)
			printf("mpi_check %s: ok (%d ranks)\n", cases[i].name, size);
		MPI_Finalize();
		return all_ok ? 0 : 1;
	}
	if (rank == 0)
		fprintf(stderr, "usage: mpi_check pingpong|any|probe|storm|cancel|truncate|coll|kill|idle\n");
	MPI_Finalize();
	return 2;
}
