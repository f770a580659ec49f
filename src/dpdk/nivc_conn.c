/* SPDX-License-Identifier: MIT */
/*
 * A queue pair's channel: made when the hello checks out, published to
 * the lcores, taken back and closed by the control thread (nivc_pvt.h says
 * how the two sides keep off each other).  In zero-copy mode a channel
 * whose buffers still sit in mbufs is kept open (a zombie) until the last
 * of them is freed: closing it would unmap memory an mbuf points into.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_malloc.h>

#include "dpdk/nivc_pvt.h"

static void zc_free_cb(void *addr, void *opaque)
{
	struct nivc_zc_slot *s = opaque;
	struct nivc_zc *zc = s->zc;

	(void)addr;
	/* Never full: each id is out at most once and the ring holds nbufs. */
	if (rte_ring_mp_enqueue(zc->ret, (void *)(uintptr_t)s->id) != 0)
		NIVC_LOG(ERR, "zero-copy return ring full (id %u)", s->id);
	__atomic_fetch_sub(&zc->out, 1, __ATOMIC_RELEASE);
}

static void zc_destroy(struct nivc_zc *zc)
{
	if (zc == NULL)
		return;
	rte_ring_free(zc->ret);
	free(zc->held);
	free(zc->slot);
	free(zc);
}

static struct nivc_zc *zc_new(struct nivc_port *p, uint16_t qid, uint32_t nbufs)
{
	struct nivc_zc *zc = calloc(1, sizeof(*zc));
	char name[RTE_RING_NAMESIZE];
	static uint32_t seq;
	uint32_t i;

	if (zc == NULL)
		return NULL;
	zc->nbufs = nbufs;
	zc->held = calloc(nbufs, sizeof(*zc->held));
	zc->slot = calloc(nbufs, sizeof(*zc->slot));
	snprintf(name, sizeof(name), "nivc%u_%u_%u", p->dev->data->port_id, qid,
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	zc->ret = rte_ring_create(name, rte_align32pow2(nbufs + 1), SOCKET_ID_ANY,
				  RING_F_SC_DEQ);
	if (zc->held == NULL || zc->slot == NULL || zc->ret == NULL) {
		zc_destroy(zc);
		return NULL;
	}
	for (i = 0; i < nbufs; i++) {
		zc->slot[i].zc = zc;
		zc->slot[i].id = i;
		zc->slot[i].shinfo.free_cb = zc_free_cb;
		zc->slot[i].shinfo.fcb_opaque = &zc->slot[i];
	}
	return zc;
}

/* Rx lcore: give back to ivc what freed mbufs returned. */
void nivc_zc_reclaim(struct nivc_conn *c)
{
	struct nivc_zc *zc = c->zc;
	void *ids[NIVC_RX_BUFS];
	struct ivc_buf b[NIVC_RX_BUFS];
	unsigned int n, i;

	while ((n = rte_ring_sc_dequeue_burst(zc->ret, ids, RTE_DIM(ids), NULL)) > 0) {
		for (i = 0; i < n; i++)
			b[i] = zc->held[(uintptr_t)ids[i]];
		(void)ivc_rx_release(c->ch, b, n);
		if (n < RTE_DIM(ids))
			break;
	}
}

static void conn_free(struct nivc_conn *c)
{
	if (c->ch)
		ivc_close(c->ch);
	zc_destroy(c->zc);
	free(c->part);
	free(c->rel);
	free(c);
}

struct nivc_conn *nivc_conn_new(struct nivc_port *p, uint16_t qid,
				struct ivc_channel *ch)
{
	struct nivc_conn *c = calloc(1, sizeof(*c));
	struct ivc_info info;
	uint32_t small;

	if (c == NULL || ivc_channel_info(ch, &info) < 0) {
		free(c);
		return NULL;
	}
	c->ch = ch;
	c->qid = qid;
	c->rx_cap = info.rx.buf_size;
	c->tx_cap = info.tx.buf_size;
	small = RTE_MIN(c->rx_cap, c->tx_cap);
	c->chain_max = (uint32_t)((NIVC_MAX_FRAME + small - 1) / small);
	c->part = calloc(c->chain_max, sizeof(*c->part));
	c->rel = calloc(NIVC_RX_BUFS + c->chain_max, sizeof(*c->rel));
	if (p->args.zc)
		c->zc = zc_new(p, qid, info.rx.buf_count);
	if (c->part == NULL || c->rel == NULL || (p->args.zc && c->zc == NULL)) {
		c->ch = NULL; /* the caller still owns it */
		conn_free(c);
		return NULL;
	}
	return c;
}

/* Control thread, port->lock held: publish @c for its queue pair. */
void nivc_conn_install(struct nivc_port *p, struct nivc_conn *c)
{
	struct nivc_qp *qp = &p->qp[c->qid];

	qp->connects++;
	__atomic_store_n(&qp->dead, 0, __ATOMIC_SEQ_CST);
	nivc_intr_watch(qp, c, 1);
	__atomic_store_n(&qp->conn, c, __ATOMIC_SEQ_CST);
	/* An lcore asleep on the queue's interrupt learns the link came up. */
	nivc_intr_kick(qp);
}

static void zombie_add(struct nivc_port *p, struct nivc_conn *c)
{
	c->next = p->zombies;
	p->zombies = c;
}

/*
 * Control thread, port->lock held: take the channel away from the lcores,
 * wait until no burst uses it, close it (or keep it as a zombie).
 */
void nivc_conn_retire(struct nivc_port *p, uint16_t qid)
{
	struct nivc_qp *qp = &p->qp[qid];
	struct nivc_conn *c = __atomic_exchange_n(&qp->conn, NULL, __ATOMIC_SEQ_CST);
	struct ivc_stats s;

	if (c == NULL)
		return;
	while (__atomic_load_n(&qp->rx_busy, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&qp->tx_busy, __ATOMIC_SEQ_CST))
		sched_yield(); /* a burst still using it: bursts are short */
	if (ivc_stats_get(c->ch, &s) == 0)
		nivc_ivc_stats_add(&qp->ivc_base, &s);
	nivc_intr_watch(qp, c, 0);
	nivc_intr_kick(qp);
	if (c->zc && __atomic_load_n(&c->zc->out, __ATOMIC_ACQUIRE) > 0) {
		zombie_add(p, c);
		return;
	}
	conn_free(c);
}

/*
 * Control thread, port->lock held: close zombies whose mbufs are all back.
 * @last (the port is closing): what is still held is left open on
 * purpose, logged, since the application may yet read or free those mbufs.
 */
void nivc_zombies_reap(struct nivc_port *p, int last)
{
	struct nivc_conn **pp = &p->zombies, *c;

	while ((c = *pp) != NULL) {
		if (__atomic_load_n(&c->zc->out, __ATOMIC_ACQUIRE) == 0) {
			*pp = c->next;
			conn_free(c);
		} else {
			if (last)
				NIVC_LOG(WARNING, "queue %u: %u zero-copy mbufs still held at close: their channel stays mapped",
					 c->qid, __atomic_load_n(&c->zc->out, __ATOMIC_RELAXED));
			pp = &c->next;
		}
	}
	if (last)
		p->zombies = NULL;
}
