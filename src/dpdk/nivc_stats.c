/* SPDX-License-Identifier: MIT */
/*
 * Counters.  The basic ones (ipackets, opackets, ibytes, obytes, imissed,
 * oerrors, per queue too) are the lcores' own, read here without a lock
 * (aligned 64-bit words); a reset keeps a base to subtract, so no other
 * thread ever writes a counter an lcore writes.  The extended ones are
 * ivc's per-channel counters (ivc/stats.h), summed over the channels each
 * queue pair has had since the port started, and how often it connected.
 */
#include <stdio.h>
#include <string.h>

#include "dpdk/nivc_pvt.h"

static const char *const ivc_names[] = {
	"doorbells", "sleeps", "spin_hits", "yields", "ring_full_stalls",
	"pool_empty_stalls", "connects",
};
#define NIVC_XSTATS_PER_QP RTE_DIM(ivc_names)

void nivc_ivc_stats_add(struct ivc_stats *sum, const struct ivc_stats *s)
{
	sum->doorbells += s->doorbells;
	sum->sleeps += s->sleeps;
	sum->spin_hits += s->spin_hits;
	sum->yields += s->yields;
	sum->ring_full_stalls += s->ring_full_stalls;
	sum->pool_empty_stalls += s->pool_empty_stalls;
}

static struct nivc_qstats qdiff(const struct nivc_qstats *now,
				const struct nivc_qstats *base)
{
	struct nivc_qstats d = {
		.pkts = now->pkts - base->pkts,
		.bytes = now->bytes - base->bytes,
		.errors = now->errors - base->errors,
		.dropped = now->dropped - base->dropped,
	};
	return d;
}

int nivc_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct nivc_port *p = dev->data->dev_private;
	struct nivc_qstats r, t;
	uint16_t q;

	pthread_mutex_lock(&p->lock);
	for (q = 0; q < p->nb_qp; q++) {
		r = qdiff(&p->qp[q].rxq.st, &p->qp[q].rx_base);
		t = qdiff(&p->qp[q].txq.st, &p->qp[q].tx_base);
		st->ipackets += r.pkts;
		st->ibytes += r.bytes;
		st->imissed += r.dropped;
		st->ierrors += r.errors;
		st->opackets += t.pkts;
		st->obytes += t.bytes;
		st->oerrors += t.errors;
		if (q < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			st->q_ipackets[q] = r.pkts;
			st->q_ibytes[q] = r.bytes;
			st->q_opackets[q] = t.pkts;
			st->q_obytes[q] = t.bytes;
			st->q_errors[q] = r.errors + t.errors;
		}
	}
	st->rx_nombuf = dev->data->rx_mbuf_alloc_failed;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int nivc_stats_reset(struct rte_eth_dev *dev)
{
	struct nivc_port *p = dev->data->dev_private;
	uint16_t q;

	pthread_mutex_lock(&p->lock);
	for (q = 0; q < NIVC_MAX_QP; q++) {
		p->qp[q].rx_base = p->qp[q].rxq.st;
		p->qp[q].tx_base = p->qp[q].txq.st;
	}
	dev->data->rx_mbuf_alloc_failed = 0;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* Lock held: queue pair @q's ivc counters since the port started. */
static void qp_ivc(struct nivc_qp *qp, uint64_t v[NIVC_XSTATS_PER_QP])
{
	struct ivc_stats sum = qp->ivc_base, s;
	struct nivc_conn *c = __atomic_load_n(&qp->conn, __ATOMIC_ACQUIRE);

	if (c != NULL && ivc_stats_get(c->ch, &s) == 0)
		nivc_ivc_stats_add(&sum, &s);
	v[0] = sum.doorbells - qp->ivc_reset.doorbells;
	v[1] = sum.sleeps - qp->ivc_reset.sleeps;
	v[2] = sum.spin_hits - qp->ivc_reset.spin_hits;
	v[3] = sum.yields - qp->ivc_reset.yields;
	v[4] = sum.ring_full_stalls - qp->ivc_reset.ring_full_stalls;
	v[5] = sum.pool_empty_stalls - qp->ivc_reset.pool_empty_stalls;
	v[6] = qp->connects - qp->connects_reset;
}

int nivc_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs,
		    unsigned int n)
{
	struct nivc_port *p = dev->data->dev_private;
	unsigned int count = p->nb_qp * NIVC_XSTATS_PER_QP, q, i, k = 0;
	uint64_t v[NIVC_XSTATS_PER_QP];

	if (xs == NULL || n < count)
		return (int)count;
	pthread_mutex_lock(&p->lock);
	for (q = 0; q < p->nb_qp; q++) {
		qp_ivc(&p->qp[q], v);
		for (i = 0; i < NIVC_XSTATS_PER_QP; i++, k++) {
			xs[k].id = k;
			xs[k].value = v[i];
		}
	}
	pthread_mutex_unlock(&p->lock);
	return (int)count;
}

int nivc_xstats_get_names(struct rte_eth_dev *dev,
			  struct rte_eth_xstat_name *names, unsigned int n)
{
	struct nivc_port *p = dev->data->dev_private;
	unsigned int count = p->nb_qp * NIVC_XSTATS_PER_QP, q, i, k = 0;

	if (names == NULL || n < count)
		return (int)count;
	for (q = 0; q < p->nb_qp; q++)
		for (i = 0; i < NIVC_XSTATS_PER_QP; i++, k++)
			snprintf(names[k].name, sizeof(names[k].name), "qp%u_ivc_%s",
				 q, ivc_names[i]);
	return (int)count;
}

int nivc_xstats_reset(struct rte_eth_dev *dev)
{
	struct nivc_port *p = dev->data->dev_private;
	struct ivc_stats s;
	struct nivc_conn *c;
	uint16_t q;

	pthread_mutex_lock(&p->lock);
	for (q = 0; q < p->nb_qp; q++) {
		p->qp[q].ivc_reset = p->qp[q].ivc_base;
		c = __atomic_load_n(&p->qp[q].conn, __ATOMIC_ACQUIRE);
		if (c != NULL && ivc_stats_get(c->ch, &s) == 0)
			nivc_ivc_stats_add(&p->qp[q].ivc_reset, &s);
		p->qp[q].connects_reset = p->qp[q].connects;
	}
	pthread_mutex_unlock(&p->lock);
	return nivc_stats_reset(dev);
}
