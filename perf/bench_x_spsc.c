/* SPDX-License-Identifier: MIT */
/*
 * bench_x_spsc - two limits for moving small messages between two CPUs.
 *
 * spsc: a bare single-producer/single-consumer ring of 64-byte slots per
 * direction, the payload in the slots (a message of S bytes takes
 * ceil(S/64) slots, never split across the ring's end), head and tail on
 * lines of their own, each side caching the other's index and publishing
 * its own once per burst.  No descriptors, no pool, no return ring, no
 * checks: the least any ring can do to hand a message over, so the ceiling
 * for small messages between two cores.  Waits spin.
 *
 * yield: the same, but every wait is sched_yield(), and its round trip is
 * the bare cache-line hand-over (bench_x_cacheline.c) waiting with
 * sched_yield(): on one PU, where spinning waits out the time slice, a
 * hand-over costs a yield, and this is the least it costs.
 */
#define _GNU_SOURCE
#include "bench_xport.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>

#define SPSC_SLOT 64u
#define SPSC_SLOTS 1024u        /* 64 KiB of slots per direction */
#define SPSC_MAX_SIZE 4096u     /* a message takes at most 64 slots */

struct spsc_ring {
	_Alignas(64) uint64_t head;     /* written by the producer */
	_Alignas(64) uint64_t tail;     /* written by the consumer */
	_Alignas(64) unsigned char slot[SPSC_SLOTS][SPSC_SLOT];
};

struct spsc_line {
	_Alignas(64) uint64_t v;
};

struct bx_pair {
	struct spsc_ring ring[2];       /* [0]: initiator -> peer, [1]: back */
	struct spsc_line line[2];       /* yield's round trip */
};

struct bx_ep {
	struct spsc_ring *tx, *rx;
	struct spsc_line *mine, *theirs;
	bool yield, touch;
	size_t size;
	unsigned need;                  /* slots per message */
	uint64_t head, tail_cache;      /* as producer */
	uint64_t tail, head_cache;      /* as consumer */
	uint64_t tag, seen;
};

#define SPSC_END UINT64_MAX             /* the end-of-stream tag */

static void spsc_wait(const struct bx_ep *e)
{
	if (e->yield)
		sched_yield();
	else
		bx_relax();
}

static int spsc_prepare(const struct bx_cfg *c, struct bx_pair **pp)
{
	void *m;

	if (c->size > SPSC_MAX_SIZE)
		return -EMSGSIZE;
	m = mmap(NULL, sizeof(struct bx_pair), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	*pp = m;        /* zeroed: indices at 0, no line tag is 0 */
	return 0;
}

static void spsc_release(struct bx_pair *p)
{
	if (p)
		munmap(p, sizeof(*p));
}

static int spsc_open_as(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
			bool yield, struct bx_ep **ep)
{
	struct bx_ep *e = calloc(1, sizeof(*e));
	int out = r == BX_INITIATOR ? 0 : 1;

	if (!e)
		return -ENOMEM;
	e->tx = &p->ring[out];
	e->rx = &p->ring[!out];
	e->mine = &p->line[out];
	e->theirs = &p->line[!out];
	e->yield = yield;
	e->touch = c->touch;
	e->size = c->size;
	e->need = (unsigned)((c->size + SPSC_SLOT - 1) / SPSC_SLOT);
	*ep = e;
	return 0;
}

static int spsc_open(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		     struct bx_ep **ep)
{
	return spsc_open_as(p, c, r, false, ep);
}

static int yield_open(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		      struct bx_ep **ep)
{
	return spsc_open_as(p, c, r, true, ep);
}

static void spsc_close(struct bx_ep *e)
{
	free(e);
}

/* Index @i moved past the ring's end if a message would straddle it (both
 * sides know the message size, so no padding marker is needed). */
static uint64_t fit(const struct bx_ep *e, uint64_t i)
{
	uint64_t off = i % SPSC_SLOTS;

	return off + e->need > SPSC_SLOTS ? i + (SPSC_SLOTS - off) : i;
}

/* Producer: room for a message at fit(head); waits for the consumer,
 * having published what the burst wrote so far (a burst may be larger
 * than the ring). */
static uint64_t room(struct bx_ep *e)
{
	uint64_t at = fit(e, e->head);

	while (at + e->need - e->tail_cache > SPSC_SLOTS) {
		e->tail_cache = __atomic_load_n(&e->tx->tail, __ATOMIC_ACQUIRE);
		if (at + e->need - e->tail_cache <= SPSC_SLOTS)
			break;
		__atomic_store_n(&e->tx->head, e->head, __ATOMIC_RELEASE);
		spsc_wait(e);
	}
	return at;
}

/* Write @n messages (tags from @tag, or all @tag when @same), publish once. */
static void put(struct bx_ep *e, unsigned n, uint64_t tag, bool same)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t at = room(e);

		bx_fill(e->tx->slot[at % SPSC_SLOTS], e->size, same ? tag : tag + i);
		e->head = at + e->need;
	}
	__atomic_store_n(&e->tx->head, e->head, __ATOMIC_RELEASE);
}

/* Consumer: whether a message is there (refreshing the cached head). */
static bool ready(struct bx_ep *e)
{
	uint64_t at = fit(e, e->tail);

	if (at + e->need <= e->head_cache)
		return true;
	e->head_cache = __atomic_load_n(&e->rx->head, __ATOMIC_ACQUIRE);
	return at + e->need <= e->head_cache;
}

/* Read one message; its tag. */
static uint64_t take(struct bx_ep *e)
{
	uint64_t at = fit(e, e->tail);
	uint64_t tag = bx_read(e->rx->slot[at % SPSC_SLOTS], e->size, e->touch);

	e->tail = at + e->need;
	return tag;
}

static int spsc_send(struct bx_ep *e, uint64_t tag)
{
	put(e, 1, tag, true);
	return 0;
}

static int spsc_recv(struct bx_ep *e, uint64_t *tag)
{
	while (!ready(e))
		spsc_wait(e);
	*tag = take(e);
	__atomic_store_n(&e->rx->tail, e->tail, __ATOMIC_RELEASE);
	return 0;
}

static int spsc_send_burst(struct bx_ep *e, unsigned n)
{
	put(e, n, e->tag, false);
	e->tag += n;
	return 0;
}

/* Up to a burst of what is there (at least one); 0 at the end marker. */
static int spsc_recv_burst(struct bx_ep *e)
{
	int got = 0;

	while (!ready(e))
		spsc_wait(e);
	do {
		if (take(e) == SPSC_END) {
			__atomic_store_n(&e->rx->tail, e->tail, __ATOMIC_RELEASE);
			return got;
		}
		got++;
	} while (got < 64 && ready(e));
	__atomic_store_n(&e->rx->tail, e->tail, __ATOMIC_RELEASE);
	return got;
}

static int spsc_finish(struct bx_ep *e)
{
	put(e, 1, SPSC_END, true);
	return 0;
}

/* yield's round trip: a cache line handed over, each wait a yield. */
static int line_send(struct bx_ep *e, uint64_t tag)
{
	bx_line_send(&e->mine->v, tag);
	return 0;
}

static int line_recv(struct bx_ep *e, uint64_t *tag)
{
	*tag = bx_line_recv(&e->theirs->v, &e->seen, true);
	return 0;
}

const struct bench_xport bx_spsc = {
	.name = "spsc",
	.what = "bare SPSC ring of 64 B slots, payload in the slots, cached indices (small-message limit)",
	.kind = BX_KIND_LIMIT,
	.benches = BX_PINGPONG | BX_STREAM,
	.modes = BX_MODE(IVC_MODE_POLL),
	.max_size = SPSC_MAX_SIZE,
	.prepare = spsc_prepare,
	.open = spsc_open,
	.send = spsc_send,
	.recv = spsc_recv,
	.send_burst = spsc_send_burst,
	.recv_burst = spsc_recv_burst,
	.finish = spsc_finish,
	.close = spsc_close,
	.release = spsc_release,
};

const struct bench_xport bx_yield = {
	.name = "yield",
	.what = "hand-over waiting with sched_yield: cache line (round trip), spsc ring (stream) (one-PU limit)",
	.kind = BX_KIND_LIMIT,
	.benches = BX_PINGPONG | BX_STREAM,
	.modes = BX_MODE(IVC_MODE_POLL),
	.max_size = SPSC_MAX_SIZE,
	.prepare = spsc_prepare,
	.open = yield_open,
	.send = line_send,
	.recv = line_recv,
	.send_burst = spsc_send_burst,
	.recv_burst = spsc_recv_burst,
	.finish = spsc_finish,
	.close = spsc_close,
	.release = spsc_release,
};
