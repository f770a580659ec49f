/* SPDX-License-Identifier: MIT */
/*
 * Receive interrupts (rte_eth_dev_rx_intr_enable and friends), so that an
 * lcore with nothing to do sleeps in rte_epoll_wait() instead of polling.
 *
 * The descriptor DPDK hands the application for queue i must outlive the
 * channel (the peer may restart; the application registered it once), so
 * it is an epoll set of our own, intr_fd, holding the current channel's
 * ivc_fd() and an eventfd, kick_fd.  ivc rings a doorbell only for an
 * endpoint that armed itself, which is what enabling the interrupt does;
 * when arming finds a frame already there, or the channel changes or
 * breaks, kick_fd makes the set readable so the lcore wakes and polls.
 * DPDK watches the set edge-triggered and reads nothing from it (the
 * handle's type is EXT): each doorbell or kick is one edge.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_interrupts.h>
#include <rte_pause.h>

#include "dpdk/nivc_pvt.h"

int nivc_intr_queue_init(struct nivc_qp *qp)
{
	struct epoll_event ev = { .events = EPOLLIN };

	qp->intr_fd = epoll_create1(EPOLL_CLOEXEC);
	qp->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (qp->intr_fd < 0 || qp->kick_fd < 0 ||
	    epoll_ctl(qp->intr_fd, EPOLL_CTL_ADD, qp->kick_fd, &ev) < 0) {
		nivc_intr_queue_fini(qp);
		return -errno;
	}
	return 0;
}

void nivc_intr_queue_fini(struct nivc_qp *qp)
{
	if (qp->intr_fd >= 0)
		close(qp->intr_fd);
	if (qp->kick_fd >= 0)
		close(qp->kick_fd);
	qp->intr_fd = qp->kick_fd = -1;
}

void nivc_intr_kick(struct nivc_qp *qp)
{
	uint64_t one = 1;

	if (qp->kick_fd >= 0 && write(qp->kick_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, a wake-up is pending anyway */
	}
}

static void kick_clear(struct nivc_qp *qp)
{
	uint64_t v;

	if (qp->kick_fd >= 0 && read(qp->kick_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending */
	}
}

/* Control thread: put @c's descriptor in (or out of) the queue's set. */
void nivc_intr_watch(struct nivc_qp *qp, struct nivc_conn *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = ivc_fd(c->ch);

	if (qp->intr_fd < 0 || fd < 0)
		return;
	if (epoll_ctl(qp->intr_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0)
		NIVC_LOG(WARNING, "queue %u: epoll_ctl: %s", qp->qid, strerror(errno));
}

/* dev_start with intr_conf.rxq: one vector per Rx queue, its set the efd. */
int nivc_intr_install(struct nivc_port *p)
{
	struct rte_eth_dev *dev = p->dev;
	uint16_t n = dev->data->nb_rx_queues, q;

	if (!dev->data->dev_conf.intr_conf.rxq)
		return 0;
	if (rte_intr_vec_list_alloc(p->intr, NULL, n) != 0)
		return -ENOMEM;
	for (q = 0; q < n; q++)
		if (rte_intr_vec_list_index_set(p->intr, q, RTE_INTR_VEC_RXTX_OFFSET + q) != 0 ||
		    rte_intr_efds_index_set(p->intr, q, p->qp[q].intr_fd) != 0)
			return -rte_errno;
	if (rte_intr_nb_efd_set(p->intr, n) != 0 ||
	    rte_intr_max_intr_set(p->intr, n + 1) != 0)
		return -rte_errno;
	return 0;
}

void nivc_intr_uninstall(struct nivc_port *p)
{
	if (p->intr == NULL)
		return;
	rte_intr_vec_list_free(p->intr);
	rte_intr_nb_efd_set(p->intr, 0);
}

/* Rx lcore: ask ivc to ring for the next frame; one already there (or a
 * broken channel) is a wake-up now. */
void nivc_intr_rearm(struct nivc_qp *qp, struct nivc_conn *c)
{
	if (ivc_arm(c->ch, IVC_EV_RX) != 0)
		nivc_intr_kick(qp);
}

int nivc_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct nivc_port *p = dev->data->dev_private;
	struct nivc_qp *qp = &p->qp[qid];
	struct nivc_conn *c;

	kick_clear(qp);
	qp->intr_on = 1;
	/* Not skipped while the control thread looks at the channel (a few
	 * microseconds): an unarmed sleeper would miss its frames. */
	while ((c = nivc_enter(qp, &qp->rx_busy)) == NULL &&
	       __atomic_load_n(&qp->rx_busy, __ATOMIC_ACQUIRE) == NIVC_BUSY_CTL)
		rte_pause();
	if (c == NULL)
		return 0; /* down: the control thread kicks when it comes up */
	nivc_intr_rearm(qp, c);
	nivc_leave(&qp->rx_busy);
	return 0;
}

int nivc_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct nivc_port *p = dev->data->dev_private;

	p->qp[qid].intr_on = 0;
	kick_clear(&p->qp[qid]);
	return 0;
}
