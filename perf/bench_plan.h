/* SPDX-License-Identifier: MIT */
/*
 * bench_plan - what a run measures (benchmarks x placements x sizes x
 * transports x modes x bursts x touch) and running it: points side by side
 * (every transport at one placement and size, then the next run of them
 * all), medians over the runs, rows out as they complete, a progress line
 * with the time left on stderr.
 */
#ifndef IVC_BENCH_PLAN_H
#define IVC_BENCH_PLAN_H

#include <stdbool.h>
#include <stdio.h>

#include "bench_csv.h"
#include "bench_place.h"
#include "bench_xport.h"

#define BENCH_MAX_XPORTS 16
#define BENCH_MAX_SIZES 64
#define BENCH_MAX_BURSTS 8

/* Touch settings (bench_plan.touch bits). */
#define BENCH_TOUCH_NO 0x1u
#define BENCH_TOUCH_YES 0x2u

struct bench_plan {
	unsigned benches;                       /* BX_PINGPONG | BX_STREAM */
	const struct bench_xport *xports[BENCH_MAX_XPORTS];
	int n_xports;
	unsigned modes;                         /* BX_MODE() bits */
	uint64_t sizes[BENCH_MAX_SIZES];
	int n_sizes;
	unsigned bursts[BENCH_MAX_BURSTS];
	int n_bursts;
	unsigned touch;                         /* BENCH_TOUCH_* bits */
	struct bench_place places[BENCH_MAX_PLACES];
	int n_places;
	uint64_t pp_count, st_count;            /* count bounds */
	double secs;                            /* time bound per point */
	unsigned runs;                          /* repetitions (median) */
	struct bx_cfg base;                     /* ivc geometry and flags */
	bool progress;                          /* progress line on stderr */
	FILE *csv;                              /* rows as they complete, or NULL */
};

/*
 * bench_plan_run() - measure everything in @p.
 * @rows: receives the malloc()ed rows (free it), in measurement order.
 * @n:    their number.
 *
 * Points that fail are reported on stderr and have no row.
 * Return: the number of points that failed (0: all worked), or -ENOMEM.
 */
int bench_plan_run(const struct bench_plan *p, struct bench_row **rows, size_t *n);

#endif /* IVC_BENCH_PLAN_H */
