/* SPDX-License-Identifier: MIT */
/*
 * bench_run - one measurement point: a transport, a placement, a mode, a
 * size, run as two pinned processes (initiator and peer) under a supervisor
 * that kills both if the point takes too long, so a stuck transport costs one
 * point, never the run.
 */
#ifndef IVC_BENCH_RUN_H
#define IVC_BENCH_RUN_H

#include <stdint.h>

#include "bench_place.h"
#include "bench_xport.h"

enum bench_kind { BENCH_PINGPONG, BENCH_STREAM };

struct bench_point {
	enum bench_kind bench;
	const struct bench_xport *x;
	const struct bench_place *place;
	struct bx_cfg cfg;
	uint64_t max_msgs;      /* count bound (round trips or messages) */
	double secs;            /* time bound of the timed part */
};

struct bench_result {
	int err;                /* 0, or the first -errno (see msg) */
	char msg[160];          /* what failed, for people */
	uint64_t samples;       /* round trips or messages timed */
	double secs;            /* length of the timed part */
	/* ping-pong: round-trip time percentiles, microseconds */
	double p50, p90, p99, p999, max;
	/* stream */
	double msgs_per_s, gbytes_per_s;
	/* CPU time (all the process's threads) per message over the timed
	 * part, nanoseconds, at the initiator and at the peer: per round trip
	 * in ping-pong (a send and a receive at each end), per message in a
	 * stream.  0: not measured (a one-process limit has no peer; split
	 * mode's peer is elsewhere). */
	double cpu_ns_init, cpu_ns_peer;
};

/* Measure the TSC's rate once, before any point (no-op without a TSC). */
void bench_run_calibrate(void);

/* Run @pt; fills @r (r->err says whether it worked). */
void bench_run(const struct bench_point *pt, struct bench_result *r);

/* Stream warm-up: messages received before timing starts. */
#define BENCH_STREAM_WARM 2000u

/*
 * Split mode's serving side (`ivc-bench serve`): the echoing peer of points
 * whose initiator runs elsewhere (`ivc-bench pingpong --connect`), maybe in
 * another Xen domain.
 */
struct bench_serve {
	const char *addr;                       /* --listen: the base address */
	const struct bench_xport *const *xports; /* those with .echo */
	int n_xports;
	unsigned modes;                         /* BX_MODE() bits */
	struct bx_cfg base;                     /* geometry, spin bound, flags */
	const struct ivc_xen_options *xen;      /* --allow, or NULL */
	uint64_t points;                        /* serve this many; 0: no end */
	int cpu;                                /* pin to it; -1: do not pin */
};

/*
 * bench_serve() - listen once at bx_split_addr(addr, x, mode) for every
 * transport and mode asked for, then, one client at a time, accept a
 * channel and echo on it until its stop tag: one point each, a line about
 * it on stdout.  A client that fails its handshake or goes away mid-point
 * is reported and the next one served.  Ends after @points points, or at
 * SIGINT or SIGTERM (once the point in progress is over; a second signal
 * ends it at once).
 *
 * Return: 0 when every point served ended at its stop tag, 1 when some did
 * not, or -errno when serving could not start (reported on stderr).
 */
int bench_serve(const struct bench_serve *s);

#endif /* IVC_BENCH_RUN_H */
