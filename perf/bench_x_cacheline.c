/* SPDX-License-Identifier: MIT */
/*
 * bench_x_cacheline - the physical limit of a round trip: each side writes
 * its own cache line and spins on the other's.  One line's ownership moves
 * each way per round trip, and nothing else: no transport can beat it.
 */
#define _GNU_SOURCE
#include "bench_xport.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>

struct cl_line {
	_Alignas(64) uint64_t v;
};

struct bx_pair {
	struct cl_line line[2];  /* [0]: written by the initiator, [1]: by the peer */
};

struct bx_ep {
	struct cl_line *mine, *theirs;
	uint64_t seen;
};

static int cl_prepare(const struct bx_cfg *c, struct bx_pair **pp)
{
	void *m = mmap(NULL, sizeof(struct bx_pair), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	(void)c;
	if (m == MAP_FAILED)
		return -errno;
	*pp = m;        /* zeroed: no tag is 0 */
	return 0;
}

static void cl_release(struct bx_pair *p)
{
	if (p)
		munmap(p, sizeof(*p));
}

static int cl_open(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		   struct bx_ep **ep)
{
	struct bx_ep *e = calloc(1, sizeof(*e));

	(void)c;
	if (!e)
		return -ENOMEM;
	e->mine = &p->line[r == BX_INITIATOR ? 0 : 1];
	e->theirs = &p->line[r == BX_INITIATOR ? 1 : 0];
	*ep = e;
	return 0;
}

static void cl_close(struct bx_ep *e)
{
	free(e);
}

void bx_line_send(uint64_t *mine, uint64_t tag)
{
	__atomic_store_n(mine, tag, __ATOMIC_RELEASE);
}

uint64_t bx_line_recv(const uint64_t *theirs, uint64_t *seen, bool yield)
{
	uint64_t v;

	while ((v = __atomic_load_n(theirs, __ATOMIC_ACQUIRE)) == *seen) {
		if (yield)
			sched_yield();
		else
			bx_relax();
	}
	*seen = v;
	return v;
}

static int cl_send(struct bx_ep *e, uint64_t tag)
{
	bx_line_send(&e->mine->v, tag);
	return 0;
}

static int cl_recv(struct bx_ep *e, uint64_t *tag)
{
	*tag = bx_line_recv(&e->theirs->v, &e->seen, false);
	return 0;
}

const struct bench_xport bx_cacheline = {
	.name = "cacheline",
	.what = "cache-line round trip: each side spins on the other's line (physical limit)",
	.kind = BX_KIND_LIMIT,
	.benches = BX_PINGPONG,
	.modes = BX_MODE(IVC_MODE_POLL),
	.size_free = true,
	.prepare = cl_prepare,
	.open = cl_open,
	.send = cl_send,
	.recv = cl_recv,
	.close = cl_close,
	.release = cl_release,
};
