/* SPDX-License-Identifier: MIT */
/*
 * Transmit: mbufs (one segment or many) copied into ivc buffers, a frame
 * larger than a buffer as a chain (IVC_BUF_MORE), the whole burst published
 * with one ivc_tx_send().  Only what fits in the ring and the pool right now
 * is taken, so a send never stops half-way through a chain; the rest of
 * the burst is left to the caller, as a full NIC ring would leave it.
 * A frame no peer may receive (longer than the MTU allows) is dropped and
 * counted in oerrors, as NICs do.
 */
#include <errno.h>

#include "dpdk/nivc_pvt.h"

struct tx_plan {
	uint16_t pkts;            /* frames taken */
	uint32_t bufs;            /* ivc buffers they need */
};

static uint32_t bufs_for(uint32_t len, uint32_t cap)
{
	return len <= cap ? 1 : (len + cap - 1) / cap; /* no division for most */
}

/* Copy one frame into @b (as many buffers as bufs_for() said). */
static void frame_fill(const struct rte_mbuf *m, struct ivc_buf *b)
{
	uint32_t boff = 0, moff = 0, chunk, k = 0;

	if (m->nb_segs == 1 && m->data_len <= b[0].cap) { /* the common case */
		rte_memcpy(b[0].data, rte_pktmbuf_mtod(m, const void *),
			   m->data_len);
		b[0].len = m->data_len;
		b[0].flags = 0;
		return;
	}
	b[0].len = 0;
	b[0].flags = 0;
	while (m != NULL) {
		if (moff == m->data_len) {
			m = m->next;
			moff = 0;
			continue;
		}
		if (boff == b[k].cap) {
			b[k].flags = IVC_BUF_MORE;
			k++;
			boff = 0;
			b[k].len = 0;
			b[k].flags = 0;
		}
		chunk = RTE_MIN(b[k].cap - boff, (uint32_t)m->data_len - moff);
		rte_memcpy((char *)b[k].data + boff,
			   rte_pktmbuf_mtod_offset(m, const char *, moff), chunk);
		boff += chunk;
		moff += chunk;
		b[k].len = boff;
	}
}

/*
 * Which frames of @pkts go now: up to @room buffers.  Frames too large are
 * dropped on the way while nothing is planned before them, so what is
 * returned to the caller stays a prefix of @pkts.
 */
static uint16_t plan(struct nivc_txq *tq, struct nivc_conn *c,
		     struct rte_mbuf **pkts, uint16_t n, uint32_t room,
		     uint32_t frame_max, struct tx_plan *pl, uint16_t *dropped)
{
	uint16_t i = 0;
	uint32_t need;

	*dropped = 0;
	pl->pkts = 0;
	pl->bufs = 0;
	for (i = 0; i < n; i++) {
		need = bufs_for(pkts[i]->pkt_len, c->tx_cap);
		if (pkts[i]->pkt_len > frame_max || need > c->chain_max) {
			if (pl->pkts > 0)
				break;
			rte_pktmbuf_free(pkts[i]);
			tq->st.errors++;
			(*dropped)++;
			pkts[i] = NULL;
			continue;
		}
		if (pl->bufs + need > room)
			break;
		pl->bufs += need;
		pl->pkts++;
	}
	return *dropped;
}

/* Send the planned frames; returns how many went (a prefix of them). */
static uint16_t send_planned(struct nivc_txq *tq, struct nivc_conn *c,
			     struct rte_mbuf **pkts, const struct tx_plan *pl)
{
	struct ivc_buf b[NIVC_TX_BUFS];
	uint32_t have, used = 0, need;
	uint16_t k;
	int r;

	r = ivc_tx_alloc(c->ch, b, pl->bufs, 0);
	if (r < 0) {
		if (r != -EAGAIN)
			nivc_mark_dead(tq->qp, r);
		return 0;
	}
	have = (uint32_t)r;
	for (k = 0; k < pl->pkts; k++) {
		need = bufs_for(pkts[k]->pkt_len, c->tx_cap);
		if (used + need > have)
			break;
		frame_fill(pkts[k], &b[used]);
		used += need;
	}
	if (have > used)
		(void)ivc_tx_free(c->ch, &b[used], have - used);
	if (used == 0)
		return 0;
	/* The ring had room for all of them: one call sends them all. */
	r = ivc_tx_send(c->ch, b, used, 0);
	if (r != (int)used) {
		nivc_mark_dead(tq->qp, r < 0 ? r : -EPROTO);
		if (r < 0)
			(void)ivc_tx_free(c->ch, b, used);
		return 0;
	}
	for (uint16_t i = 0; i < k; i++)
		tq->st.bytes += pkts[i]->pkt_len;
	tq->st.pkts += k;
	rte_pktmbuf_free_bulk(pkts, k);
	return k;
}

uint16_t nivc_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct nivc_txq *tq = q;
	struct nivc_qp *qp = tq->qp;
	struct nivc_conn *c = nivc_enter_tx(qp);
	uint32_t frame_max, room;
	struct tx_plan pl;
	uint16_t done = 0, dropped, sent;
	int slots;

	if (c == NULL)
		return 0;
	frame_max = (uint32_t)qp->port->dev->data->mtu + NIVC_FRAME_OVERHEAD;
	while (done < n) {
		slots = ivc_tx_slots_free(c->ch);
		if (slots < 0) {
			nivc_mark_dead(qp, slots);
			break;
		}
		room = RTE_MIN((uint32_t)slots, NIVC_TX_BUFS);
		done += plan(tq, c, pkts + done, n - done, room, frame_max, &pl,
			     &dropped);
		if (pl.pkts == 0)
			break;
		sent = send_planned(tq, c, pkts + done, &pl);
		done += sent;
		if (sent < pl.pkts)
			break;
	}
	nivc_leave(&qp->tx_busy);
	return done;
}
