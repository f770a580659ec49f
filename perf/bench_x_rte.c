/* SPDX-License-Identifier: MIT */
/*
 * bench_x_rte - DPDK's rte_ring in single-producer/single-consumer mode, the
 * in-memory ring reference: per direction, a ring of buffer indices and a
 * ring that hands the buffers back, over a pool in a shared mapping, so it
 * does the same work as ivc's zero-copy lanes (fill in place, publish, read
 * in place, return).  No EAL: rte_ring_init() on our own memory is enough.
 * Poll mode only (rte_ring has no way to sleep).
 */
#define _GNU_SOURCE
#include "bench_xport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_ring.h>

#define RTE_POOL_BYTES (2u << 20)       /* as ivc's default pool */
#define RTE_POOL_MAX 512u
#define RTE_POOL_MIN 4u
#define RTE_BURST 64u

struct rte_dir {
	size_t data_off, free_off, pool_off;
};

struct bx_pair {
	size_t map_len;
	unsigned nbuf;          /* buffers per direction (power of two) */
	size_t stride;          /* bytes per buffer (cache-line multiple) */
	struct rte_dir dir[2];  /* [0]: initiator -> peer, [1]: back */
};

struct bx_ep {
	struct bx_pair *p;
	struct rte_ring *tx_data, *tx_free, *rx_data, *rx_free;
	unsigned char *tx_pool, *rx_pool;
	bool touch;
	bool ended;             /* the end marker has been seen */
	size_t size;
	uint64_t tag;
};

#define RTE_END ((uintptr_t)UINT32_MAX)  /* end-of-stream "index" */

static void *at(struct bx_pair *p, size_t off)
{
	return (unsigned char *)p + off;
}

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static void rte_release(struct bx_pair *p)
{
	if (p)
		munmap(p, p->map_len);
}

static int rte_prepare(const struct bx_cfg *c, struct bx_pair **pp)
{
	unsigned nbuf = RTE_POOL_MAX;
	size_t stride = align64(c->size), ring, off, len;
	struct bx_pair *p;

	while (nbuf > RTE_POOL_MIN && (size_t)nbuf * stride > RTE_POOL_BYTES)
		nbuf /= 2;
	/* A ring of 2*nbuf holds every buffer: enqueue never finds it full. */
	ring = align64((size_t)rte_ring_get_memsize(2 * nbuf));
	off = align64(sizeof(*p));
	len = off + 4 * ring + 2 * (size_t)nbuf * stride;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	p->map_len = len;
	p->nbuf = nbuf;
	p->stride = stride;
	for (int d = 0; d < 2; d++) {
		struct rte_dir *dd = &p->dir[d];
		struct rte_ring *fr;

		dd->data_off = off + (size_t)(2 * d) * ring;
		dd->free_off = dd->data_off + ring;
		dd->pool_off = off + 4 * ring + (size_t)d * nbuf * stride;
		if (rte_ring_init(at(p, dd->data_off), "ivc-bench-data", 2 * nbuf,
				  RING_F_SP_ENQ | RING_F_SC_DEQ) < 0 ||
		    rte_ring_init(at(p, dd->free_off), "ivc-bench-free", 2 * nbuf,
				  RING_F_SP_ENQ | RING_F_SC_DEQ) < 0) {
			rte_release(p);
			return -EINVAL;
		}
		fr = at(p, dd->free_off);
		for (uintptr_t i = 0; i < nbuf; i++)
			rte_ring_sp_enqueue(fr, (void *)i);
	}
	*pp = p;
	return 0;
}

static int rte_open(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		    struct bx_ep **ep)
{
	struct bx_ep *e = calloc(1, sizeof(*e));
	int out = r == BX_INITIATOR ? 0 : 1;

	if (!e)
		return -ENOMEM;
	e->p = p;
	e->touch = c->touch;
	e->size = c->size;
	e->tx_data = at(p, p->dir[out].data_off);
	e->tx_free = at(p, p->dir[out].free_off);
	e->tx_pool = at(p, p->dir[out].pool_off);
	e->rx_data = at(p, p->dir[!out].data_off);
	e->rx_free = at(p, p->dir[!out].free_off);
	e->rx_pool = at(p, p->dir[!out].pool_off);
	*ep = e;
	return 0;
}

static void rte_close(struct bx_ep *e)
{
	free(e);
}

/* Take 1..@n free buffers of the TX pool, spinning until one is there. */
static unsigned take_free(struct bx_ep *e, void **objs, unsigned n)
{
	unsigned got;

	while (!(got = rte_ring_sc_dequeue_burst(e->tx_free, objs, n, NULL)))
		bx_relax();
	return got;
}

static void publish(struct bx_ep *e, void *const *objs, unsigned n)
{
	unsigned done = 0;

	while (done < n)
		done += rte_ring_sp_enqueue_burst(e->tx_data, objs + done, n - done, NULL);
}

static int rte_send(struct bx_ep *e, uint64_t tag)
{
	void *obj;

	take_free(e, &obj, 1);
	bx_fill(e->tx_pool + (uintptr_t)obj * e->p->stride, e->size, tag);
	publish(e, &obj, 1);
	return 0;
}

static int rte_send_burst(struct bx_ep *e, unsigned n)
{
	void *objs[RTE_BURST];

	while (n) {
		unsigned k = take_free(e, objs, n < RTE_BURST ? n : RTE_BURST);

		for (unsigned i = 0; i < k; i++)
			bx_fill(e->tx_pool + (uintptr_t)objs[i] * e->p->stride, e->size,
				e->tag++);
		publish(e, objs, k);
		n -= k;
	}
	return 0;
}

/* Receive 1..@n buffers; read them; hand them back.  -EPIPE at the end. */
static int rte_recv_some(struct bx_ep *e, unsigned n, uint64_t *tag)
{
	void *objs[RTE_BURST];
	unsigned got, i, done;

	if (e->ended)
		return -EPIPE;
	while (!(got = rte_ring_sc_dequeue_burst(e->rx_data, objs, n, NULL)))
		bx_relax();
	for (i = 0; i < got; i++) {
		uintptr_t idx = (uintptr_t)objs[i];

		if (idx == RTE_END) {
			e->ended = true;
			break;
		}
		if (idx >= e->p->nbuf)
			return -EPROTO;
		*tag = bx_read(e->rx_pool + idx * e->p->stride, e->size, e->touch);
	}
	for (done = 0; done < i; )
		done += rte_ring_sp_enqueue_burst(e->rx_free, objs + done, i - done, NULL);
	return i ? (int)i : -EPIPE;
}

static int rte_recv(struct bx_ep *e, uint64_t *tag)
{
	int n = rte_recv_some(e, 1, tag);

	return n < 0 ? n : 0;
}

static int rte_recv_burst(struct bx_ep *e)
{
	uint64_t tag;
	int n = rte_recv_some(e, RTE_BURST, &tag);

	return n == -EPIPE ? 0 : n;
}

static int rte_finish(struct bx_ep *e)
{
	void *end = (void *)RTE_END;

	publish(e, &end, 1);
	return 0;
}

const struct bench_xport bx_rte_ring = {
	.name = "rte_ring",
	.what = "DPDK rte_ring SPSC: index ring + return ring over a shared pool (spin)",
	.kind = BX_KIND_BASELINE,
	.benches = BX_PINGPONG | BX_STREAM,
	.modes = BX_MODE(IVC_MODE_POLL),
	.prepare = rte_prepare,
	.open = rte_open,
	.send = rte_send,
	.recv = rte_recv,
	.send_burst = rte_send_burst,
	.recv_burst = rte_recv_burst,
	.finish = rte_finish,
	.close = rte_close,
	.release = rte_release,
};
