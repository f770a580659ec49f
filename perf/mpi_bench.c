/* SPDX-License-Identifier: MIT */
/*
 * ivc-mpi-bench - OSU-style MPI measurements, to compare transports under
 * the same mpirun (perf/mpi_bench.sh runs it over ivc's libfabric provider
 * and over Open MPI's own shared memory, side by side):
 *
 *   latency    ranks 0 and 1 ping-pong; half the round trip, µs (p50 of
 *              the repetitions' averages)
 *   bw         rank 0 sends windows of 64 non-blocking messages to rank 1,
 *              which acknowledges each window; MB/s
 *   bibw       both send windows to each other at once; MB/s both ways
 *   allreduce  MPI_Allreduce of the size in doubles over every rank; µs
 *   wake       rank 1 waits 30 ms in MPI_Recv (rank 0 sleeps), then one
 *              round trip; µs for that round trip, the first after idling
 *   idlecpu    rank 1 waits 200 ms in MPI_Recv; the share of that time
 *              it spent on its CPU, % (100: it spun)
 *   (wake and idlecpu take no seconds: each repetition is one wait)
 *
 * usage: ivc-mpi-bench latency|bw|bibw|allreduce|wake|idlecpu [max_size [seconds [min_size]]]
 * Prints one line per size on rank 0: "<test> <bytes> <value>".  Sizes are
 * min_size (default 1 B), then ×4 up to max_size (default 4 MiB).  Other ranks than
 * 0 and 1 wait in a barrier during the point-to-point tests, as OSU's do.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW 64
#define REPS 5

static int rank, size;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Iterations for @bytes so one repetition takes about @secs / REPS. */
static long iters_for(size_t bytes, double secs)
{
	double per = 2e-6 + (double)bytes / 2e9;
	long n = (long)(secs / REPS / per);

	return n < 4 ? 4 : n > 100000 ? 100000 : n;
}

static double latency_once(char *buf, size_t n, long iters)
{
	double t0;

	MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	for (long i = 0; i < iters; i++) {
		if (rank == 0) {
			MPI_Send(buf, (int)n, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
			MPI_Recv(buf, (int)n, MPI_BYTE, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else if (rank == 1) {
			MPI_Recv(buf, (int)n, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			MPI_Send(buf, (int)n, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
		}
	}
	return (MPI_Wtime() - t0) * 1e6 / (double)iters / 2;
}

/* One side's window: @out sends to @peer, else receives; then the ack. */
static void window(char *buf, size_t n, int peer, int out, MPI_Request *rq)
{
	for (int w = 0; w < WINDOW; w++) {
		if (out)
			MPI_Isend(buf, (int)n, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &rq[w]);
		else
			MPI_Irecv(buf, (int)n, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &rq[w]);
	}
	MPI_Waitall(WINDOW, rq, MPI_STATUSES_IGNORE);
}

static double bw_once(char *sbuf, char *rbuf, size_t n, long iters, int bidir)
{
	MPI_Request rq[2 * WINDOW];
	double t0, secs;
	char ack = 0;

	MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	for (long i = 0; i < iters && rank < 2; i++) {
		int peer = 1 - rank;

		if (bidir) {
			for (int w = 0; w < WINDOW; w++) {
				MPI_Irecv(rbuf, (int)n, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &rq[w]);
				MPI_Isend(sbuf, (int)n, MPI_BYTE, peer, 2, MPI_COMM_WORLD,
					  &rq[WINDOW + w]);
			}
			MPI_Waitall(2 * WINDOW, rq, MPI_STATUSES_IGNORE);
		} else {
			window(rank == 0 ? sbuf : rbuf, n, peer, rank == 0, rq);
		}
		if (rank == 0)
			MPI_Recv(&ack, 1, MPI_BYTE, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		else
			MPI_Send(&ack, 1, MPI_BYTE, 0, 3, MPI_COMM_WORLD);
	}
	secs = MPI_Wtime() - t0;
	return (double)n * WINDOW * (double)iters * (bidir ? 2 : 1) / secs / 1e6;
}

static double allreduce_once(double *a, double *b, size_t n, long iters)
{
	double t0;

	MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	for (long i = 0; i < iters; i++)
		MPI_Allreduce(a, b, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
	return (MPI_Wtime() - t0) * 1e6 / (double)iters;
}

#define WAKE_GAP_MS 30
#define IDLE_GAP_MS 200

/* Rank 0 sleeps @ms: rank 1, waiting for it in MPI_Recv, idles. */
static void rank0_sleeps(unsigned ms)
{
	struct timespec d = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&d, &d))
		;
}

static double wake_once(char *buf, size_t n)
{
	double t0 = 0;

	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == 0) {
		rank0_sleeps(WAKE_GAP_MS);
		t0 = MPI_Wtime();
		MPI_Send(buf, (int)n, MPI_BYTE, 1, 2, MPI_COMM_WORLD);
		MPI_Recv(buf, (int)n, MPI_BYTE, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	} else if (rank == 1) {
		MPI_Recv(buf, (int)n, MPI_BYTE, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		MPI_Send(buf, (int)n, MPI_BYTE, 0, 2, MPI_COMM_WORLD);
	}
	return (MPI_Wtime() - t0) * 1e6;
}

static double seconds_of(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Rank 1's CPU share while it waits, on every rank. */
static double idlecpu_once(char *buf, size_t n)
{
	double share = 0;

	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == 0) {
		rank0_sleeps(IDLE_GAP_MS);
		MPI_Send(buf, (int)n, MPI_BYTE, 1, 3, MPI_COMM_WORLD);
	} else if (rank == 1) {
		double c0 = seconds_of(CLOCK_THREAD_CPUTIME_ID), w0 = seconds_of(CLOCK_MONOTONIC);
		MPI_Recv(buf, (int)n, MPI_BYTE, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		share = 100 * (seconds_of(CLOCK_THREAD_CPUTIME_ID) - c0) /
			(seconds_of(CLOCK_MONOTONIC) - w0);
	}
	MPI_Bcast(&share, 1, MPI_DOUBLE, 1, MPI_COMM_WORLD);
	return share;
}

static double run_point(const char *test, size_t n, double secs, char *s, char *r)
{
	double v[REPS];
	long iters = iters_for(n * (strcmp(test, "latency") ? WINDOW : 1), secs);

	if (strcmp(test, "latency"))
		iters = iters / 8 < 2 ? 2 : iters / 8;
	for (int k = 0; k < REPS; k++) {
		if (!strcmp(test, "latency"))
			v[k] = latency_once(s, n, iters);
		else if (!strcmp(test, "bw"))
			v[k] = bw_once(s, r, n, iters, 0);
		else if (!strcmp(test, "bibw"))
			v[k] = bw_once(s, r, n, iters, 1);
		else if (!strcmp(test, "wake"))
			v[k] = wake_once(s, n);
		else if (!strcmp(test, "idlecpu"))
			v[k] = idlecpu_once(s, n);
		else
			v[k] = allreduce_once((double *)(void *)s, (double *)(void *)r,
					      n / sizeof(double) ? n / sizeof(double) : 1, iters);
		/* Every rank reports rank 0's figure: one decision for all. */
		MPI_Bcast(&v[k], 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
	}
	qsort(v, REPS, sizeof(v[0]), cmp_double);
	return v[REPS / 2];
}

int main(int argc, char **argv)
{
	const char *test = argc > 1 ? argv[1] : "latency";
	size_t max = argc > 2 ? strtoul(argv[2], NULL, 0) : 4u << 20;
	double secs = argc > 3 ? atof(argv[3]) : 0.5;
	size_t min = argc > 4 ? strtoul(argv[4], NULL, 0) : 1;
	char *s, *r;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (strcmp(test, "latency") && strcmp(test, "bw") && strcmp(test, "bibw") &&
	    strcmp(test, "allreduce") && strcmp(test, "wake") && strcmp(test, "idlecpu")) {
		if (rank == 0)
			fprintf(stderr, "usage: ivc-mpi-bench latency|bw|bibw|allreduce|wake|idlecpu"
					" [max_size [seconds [min_size]]]\n");
		MPI_Finalize();
		return 2;
	}
	if (size < 2 || max < 1 || min < 1 || secs <= 0) {
		if (rank == 0)
			fprintf(stderr, "ivc-mpi-bench: needs 2 ranks or more, a size and a time\n");
		MPI_Finalize();
		return 2;
	}
	s = calloc(1, max + 8);
	r = calloc(1, max + 8);
	if (!s || !r)
		MPI_Abort(MPI_COMM_WORLD, 1);
	for (size_t n = min; n <= max; n = n == 1 ? 4 : n * 4) {
		double v = run_point(test, n, secs, s, r);

		if (rank == 0)
			printf("%s %zu %.3f\n", test, n, v);
		fflush(stdout);
	}
	free(s);
	free(r);
	MPI_Finalize();
	return 0;
}
