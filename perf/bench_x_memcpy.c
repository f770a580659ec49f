/* SPDX-License-Identifier: MIT */
/*
 * bench_x_memcpy - the physical limit of moving bytes: one thread's memcpy()
 * of each message size, through a working set the size of ivc's default
 * buffer pool (2 MiB source, 2 MiB destination; more for bigger messages),
 * so the copy runs from the same cache level ivc's buffers live in.
 */
#define _GNU_SOURCE
#include "bench_xport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MC_WORKING_SET (2u << 20)

static double mc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int mc_local(const struct bx_cfg *c, uint64_t max, double secs,
		    uint64_t *msgs, double *elapsed)
{
	size_t n = MC_WORKING_SET / c->size, off = 0, span;
	unsigned char *src, *dst;
	uint64_t done = 0;
	double t0, t1;

	if (n < 2)
		n = 2;
	span = n * c->size;
	src = malloc(span);
	dst = malloc(span);
	if (!src || !dst) {
		free(src);
		free(dst);
		return -ENOMEM;
	}
	memset(src, 0x5a, span);
	memset(dst, 0xa5, span);        /* fault it in before timing */
	t0 = mc_now();
	t1 = t0;
	while (done < max) {
		memcpy(dst + off, src + off, c->size);
		/* The compiler must not drop or merge the copies. */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
		off += c->size;
		if (off == span)
			off = 0;
		if ((++done & 63) == 0 && (t1 = mc_now()) - t0 >= secs)
			break;
	}
	t1 = mc_now();
	free(src);
	free(dst);
	*msgs = done;
	*elapsed = t1 - t0;
	return 0;
}

const struct bench_xport bx_memcpy = {
	.name = "memcpy",
	.what = "single-thread memcpy through a 2 MiB working set (physical limit)",
	.kind = BX_KIND_LIMIT,
	.benches = BX_STREAM,
	.modes = BX_MODE(IVC_MODE_POLL),
	.local = mc_local,
};
