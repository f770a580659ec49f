/* SPDX-License-Identifier: MIT */
/*
 * Receive: ivc messages to mbufs.  A frame is one ivc message: one buffer,
 * or a chain of them (IVC_BUF_MORE) for frames larger than a buffer.  A
 * chain may arrive split across ivc_rx_burst() calls, so its first buffers
 * wait in conn->part for the rest.
 *
 * Copy mode copies each frame into mbufs from the queue's pool (a chain of
 * mbufs when the frame is larger than one) and releases the ivc buffers at
 * the end of the burst; frames of one buffer that fit one mbuf, the common
 * case, skip the staging and take their mbufs in bulk (take_singles()).
 * Zero-copy mode (zc=1) attaches each ivc buffer to
 * an mbuf as external memory; freeing the mbuf gives the buffer back
 * (nivc_conn.c).
 *
 * The peer is not trusted: ivc has checked every descriptor, so lengths are
 * within the buffers; what is left to check here is a chain longer than the
 * largest frame, which is dropped whole and counted (dropped, not errors:
 * imissed), never buffered without bound.
 */
#include <errno.h>
#include <string.h>

#include "dpdk/nivc_pvt.h"

void nivc_mark_dead(struct nivc_qp *qp, int err)
{
	if (err == -EAGAIN || err == -ETIMEDOUT)
		return;
	if (!__atomic_exchange_n(&qp->dead, 1, __ATOMIC_SEQ_CST)) {
		nivc_ctl_wake(qp->port);
		nivc_intr_kick(qp);
	}
}

static uint32_t chain_len(const struct ivc_buf *b, uint32_t n)
{
	uint32_t i, len = 0;

	for (i = 0; i < n; i++)
		len += b[i].len;
	return len;
}

/* Copy a frame of @n buffers into a chain of mbufs; NULL without mbufs. */
static struct rte_mbuf *frame_copy(struct nivc_rxq *rq, const struct ivc_buf *b,
				   uint32_t n, uint32_t len)
{
	struct rte_mbuf *head = NULL, *m = NULL, *prev = NULL;
	uint32_t i = 0, off = 0, room = 0, chunk;
	char *dst = NULL;

	while (i < n) {
		if (off == b[i].len) { /* this buffer done (or empty) */
			i++;
			off = 0;
			continue;
		}
		if (room == 0) {
			m = rte_pktmbuf_alloc(rq->mp);
			if (m == NULL) {
				rte_pktmbuf_free(head);
				return NULL;
			}
			if (head == NULL) {
				head = m;
			} else {
				prev->next = m;
				head->nb_segs++;
			}
			prev = m;
			room = rte_pktmbuf_tailroom(m);
			dst = rte_pktmbuf_mtod(m, char *);
		}
		chunk = RTE_MIN(room, b[i].len - off);
		rte_memcpy(dst, (const char *)b[i].data + off, chunk);
		dst += chunk;
		room -= chunk;
		m->data_len = (uint16_t)(m->data_len + chunk);
		off += chunk;
	}
	if (head == NULL) { /* an empty frame */
		head = rte_pktmbuf_alloc(rq->mp);
		if (head == NULL)
			return NULL;
	}
	head->pkt_len = len;
	head->port = rq->qp->port->dev->data->port_id;
	return head;
}

/* Attach each buffer of a frame to an mbuf of its own; NULL without mbufs. */
static struct rte_mbuf *frame_attach(struct nivc_rxq *rq, struct nivc_conn *c,
				     const struct ivc_buf *b, uint32_t n,
				     uint32_t len)
{
	struct rte_mbuf *segs[n];
	struct nivc_zc *zc = c->zc;
	struct nivc_zc_slot *s;
	uint32_t i;

	if (rte_pktmbuf_alloc_bulk(rq->mp, segs, n) != 0)
		return NULL;
	for (i = 0; i < n; i++) {
		s = &zc->slot[b[i].id];
		zc->held[b[i].id] = b[i];
		rte_mbuf_ext_refcnt_set(&s->shinfo, 1);
		rte_pktmbuf_attach_extbuf(segs[i], b[i].data,
					  rte_eal_iova_mode() == RTE_IOVA_VA ?
					  (rte_iova_t)(uintptr_t)b[i].data : RTE_BAD_IOVA,
					  (uint16_t)b[i].cap, &s->shinfo);
		segs[i]->data_len = (uint16_t)b[i].len;
		if (i > 0)
			segs[i - 1]->next = segs[i];
	}
	__atomic_fetch_add(&zc->out, n, __ATOMIC_RELAXED);
	segs[0]->nb_segs = (uint16_t)n;
	segs[0]->pkt_len = len;
	segs[0]->port = rq->qp->port->dev->data->port_id;
	return segs[0];
}

struct rx_state {
	struct nivc_rxq *rq;
	struct nivc_conn *c;
	struct rte_mbuf **pkts;
	uint16_t got, max;
	uint32_t nrel;            /* copy mode: buffers to release */
	uint32_t frame_max;       /* MTU and overhead */
};

static void rel_add(struct rx_state *s, const struct ivc_buf *b, uint32_t n)
{
	struct nivc_conn *c = s->c;

	if (s->nrel + n > NIVC_RX_BUFS + c->chain_max) {
		(void)ivc_rx_release(c->ch, c->rel, s->nrel);
		s->nrel = 0;
	}
	memcpy(&c->rel[s->nrel], b, n * sizeof(*b));
	s->nrel += n;
}

/* Drop a frame: its buffers go back at once, whatever the mode. */
static void frame_drop(struct rx_state *s, const struct ivc_buf *b, uint32_t n)
{
	if (s->c->zc)
		(void)ivc_rx_release(s->c->ch, b, n);
	else
		rel_add(s, b, n);
	s->rq->st.dropped++;
}

/* A whole frame is in c->part: make it an mbuf. */
static void frame_done(struct rx_state *s)
{
	struct nivc_conn *c = s->c;
	uint32_t n = c->npart, len = chain_len(c->part, n);
	struct rte_mbuf *m;

	c->npart = 0;
	if (len > s->frame_max) {
		frame_drop(s, c->part, n);
		return;
	}
	if (c->zc) {
		m = frame_attach(s->rq, c, c->part, n, len);
	} else {
		m = frame_copy(s->rq, c->part, n, len);
		rel_add(s, c->part, n);
	}
	if (m == NULL) {
		s->rq->qp->port->dev->data->rx_mbuf_alloc_failed++;
		if (c->zc)
			(void)ivc_rx_release(c->ch, c->part, n);
		s->rq->st.dropped++;
		return;
	}
	s->pkts[s->got++] = m;
	s->rq->st.pkts++;
	s->rq->st.bytes += len;
}

/* One buffer in arrival order. */
static void buf_take(struct rx_state *s, const struct ivc_buf *b)
{
	struct nivc_conn *c = s->c;
	int more = (b->flags & IVC_BUF_MORE) != 0;

	if (c->discarding) {
		frame_drop(s, b, 1);
		s->rq->st.dropped--; /* the frame was counted when it overflowed */
		c->discarding = more;
		return;
	}
	c->part[c->npart++] = *b;
	if (!more) {
		frame_done(s);
	} else if (c->npart == c->chain_max) {
		/* Longer than any frame may be: drop it whole. */
		frame_drop(s, c->part, c->npart);
		c->npart = 0;
		c->discarding = 1;
	}
}

/*
 * Copy mode's common case: frames of one buffer each that fit one mbuf,
 * with no chain pending.  The longest such run at the head of @b is
 * copied into mbufs allocated in one go and its buffers are released in
 * one go, without staging each through c->part and c->rel; returns how
 * many buffers it took (0: leave them all to buf_take()).
 */
static uint32_t take_singles(struct rx_state *s, const struct ivc_buf *b,
			     uint32_t n)
{
	struct nivc_rxq *rq = s->rq;
	uint32_t i, k, limit = RTE_MIN(s->frame_max, rq->seg_room);
	uint16_t port = rq->qp->port->dev->data->port_id;
	struct rte_mbuf **m = s->pkts + s->got;
	uint64_t bytes = 0;

	if (s->c->npart != 0 || s->c->discarding)
		return 0;
	for (k = 0; k < n; k++)
		if ((b[k].flags & IVC_BUF_MORE) || b[k].len > limit)
			break;
	if (k == 0 || rte_pktmbuf_alloc_bulk(rq->mp, m, k) != 0)
		return 0; /* buf_take() counts a failed allocation per frame */
	for (i = 0; i < k; i++) {
		rte_memcpy(rte_pktmbuf_mtod(m[i], void *), b[i].data, b[i].len);
		m[i]->data_len = (uint16_t)b[i].len;
		m[i]->pkt_len = b[i].len;
		m[i]->port = port;
		bytes += b[i].len;
	}
	(void)ivc_rx_release(s->c->ch, b, k);
	s->got = (uint16_t)(s->got + k);
	rq->st.pkts += k;
	rq->st.bytes += bytes;
	return k;
}

uint16_t nivc_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct nivc_rxq *rq = q;
	struct nivc_qp *qp = rq->qp;
	struct ivc_buf b[NIVC_RX_BUFS];
	struct rx_state s = { .rq = rq, .pkts = pkts, .max = n };
	int r, i;

	s.c = nivc_enter(qp, &qp->rx_busy);
	if (s.c == NULL)
		return 0;
	s.frame_max = (uint32_t)qp->port->dev->data->mtu + NIVC_FRAME_OVERHEAD;
	if (s.c->zc)
		nivc_zc_reclaim(s.c);
	while (s.got < s.max) {
		/* Never more buffers than frames wanted: each frame takes one. */
		r = ivc_rx_burst(s.c->ch, b, RTE_MIN((unsigned)(s.max - s.got),
						     NIVC_RX_BUFS), 0);
		if (r <= 0) {
			if (r < 0)
				nivc_mark_dead(qp, r);
			break;
		}
		i = s.c->zc ? 0 : (int)take_singles(&s, b, (uint32_t)r);
		for (; i < r; i++)
			buf_take(&s, &b[i]);
	}
	if (s.nrel > 0)
		(void)ivc_rx_release(s.c->ch, s.c->rel, s.nrel);
	/* Receiving leaves ivc's endpoint awake (the peer stops ringing);
	 * with the queue's interrupt on, the application may sleep next. */
	if (qp->intr_on)
		nivc_intr_rearm(qp, s.c);
	nivc_leave(&qp->rx_busy);
	return s.got;
}
