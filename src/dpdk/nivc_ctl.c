/* SPDX-License-Identifier: MIT */
/*
 * The control thread of a started port: accepts (server) or connects
 * (client) one channel per queue pair, checks each channel's hello, takes
 * back channels the lcores found broken, and sets the link status: up when
 * every queue pair has a live channel.  It is the only thread that opens
 * or closes channels; it never touches the data path.
 *
 * The hello: the client's first message on a channel names the queue pair
 * it is for and how many the client has; the server answers with a status.
 * A peer that says nothing within NIVC_HELLO_MS, names a queue the port
 * does not have, or disagrees on the number of queue pairs is turned away
 * (and, when it is the other end of our own port, logged).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_lcore.h>

#include <ivc/xen.h>

#include "dpdk/nivc_pvt.h"

#define NIVC_HELLO_MAGIC 0x4e495643u /* "NIVC" */
#define NIVC_HELLO_VERSION 1u

struct nivc_hello {
	uint32_t magic;
	uint16_t version;
	uint16_t qid;
	uint16_t nb_qp;
	uint16_t reserved;
	uint32_t reserved2;
};

struct nivc_ack {
	uint32_t magic;
	int32_t status;           /* 0, or a negative errno: why not */
};

void nivc_ctl_wake(struct nivc_port *p)
{
	uint64_t one = 1;

	if (p->wake_fd >= 0 && write(p->wake_fd, &one, sizeof(one)) < 0) {
		/* Full counter: a wake-up is pending anyway. */
	}
}

static void channel_options(const struct nivc_port *p, struct ivc_options *o,
			    struct ivc_xen_options *xo)
{
	ivc_options_init(o);
	memset(xo, 0, sizeof(*xo));
	if (p->args.n_allow > 0 && p->args.server) {
		xo->allowed_domids = p->args.allow;
		xo->n_allowed_domids = p->args.n_allow;
		o->xen = xo;
	}
	o->tx.slots = p->args.slots;
	o->tx.buf_size = p->args.buf_size;
	o->tx.buf_count = p->args.buf_count;
	o->mode = IVC_MODE_ADAPTIVE;
}

static int hello_check(const struct nivc_port *p, const struct nivc_hello *h,
		       ssize_t len)
{
	if (len != (ssize_t)sizeof(*h) || h->magic != NIVC_HELLO_MAGIC ||
	    h->version != NIVC_HELLO_VERSION)
		return -EPROTO;
	if (h->nb_qp != p->nb_qp || h->qid >= p->nb_qp)
		return -EXDEV; /* the two ends disagree on the queue pairs */
	return 0;
}

static void link_set(struct nivc_port *p)
{
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_100G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = RTE_ETH_LINK_UP,
	};
	uint16_t q;

	for (q = 0; q < p->nb_qp; q++)
		if (__atomic_load_n(&p->qp[q].conn, __ATOMIC_ACQUIRE) == NULL)
			link.link_status = RTE_ETH_LINK_DOWN;
	if (rte_eth_linkstatus_set(p->dev, &link) == 0) /* 0: it changed */
		if (p->dev->data->dev_conf.intr_conf.lsc)
			rte_eth_dev_callback_process(p->dev, RTE_ETH_EVENT_INTR_LSC, NULL);
}

static void install(struct nivc_port *p, uint16_t qid, struct ivc_channel *ch)
{
	struct nivc_conn *c = nivc_conn_new(p, qid, ch);

	if (c == NULL) {
		NIVC_LOG(ERR, "queue %u: out of memory for a channel", qid);
		ivc_close(ch);
		return;
	}
	if (__atomic_load_n(&p->qp[qid].conn, __ATOMIC_ACQUIRE) != NULL) {
		/* A peer that restarted before its old channel was found
		 * dead: that one goes, and the link flaps, as it would have. */
		pthread_mutex_lock(&p->lock);
		nivc_conn_retire(p, qid);
		pthread_mutex_unlock(&p->lock);
		link_set(p);
	}
	pthread_mutex_lock(&p->lock);
	nivc_conn_install(p, c);
	pthread_mutex_unlock(&p->lock);
}

/* Server: take every connection waiting on the listener. */
static void accept_all(struct nivc_port *p)
{
	struct ivc_channel *ch;
	struct nivc_hello h;
	struct nivc_ack ack = { .magic = NIVC_HELLO_MAGIC };
	ssize_t len;

	while (ivc_accept(p->listener, 0, &ch) == 0) {
		memset(&h, 0, sizeof(h));
		len = ivc_recv(ch, &h, sizeof(h), NIVC_HELLO_MS);
		ack.status = len < 0 ? (int32_t)len : hello_check(p, &h, len);
		if (len >= 0 && ivc_send(ch, &ack, sizeof(ack), NIVC_HELLO_MS) < 0 &&
		    ack.status == 0)
			ack.status = -EPIPE;
		if (ack.status != 0) {
			NIVC_LOG(WARNING, "%s: a peer was turned away: %s%s", p->args.addr,
				 ack.status == -EXDEV ? "" : ivc_strerror(ack.status),
				 ack.status == -EXDEV ? "it has another number of queue pairs" : "");
			ivc_close(ch);
			continue;
		}
		install(p, h.qid, ch);
	}
}

/* Client: one channel for queue pair @qid, hello answered. */
static void connect_one(struct nivc_port *p, uint16_t qid)
{
	struct nivc_hello h = { .magic = NIVC_HELLO_MAGIC,
				.version = NIVC_HELLO_VERSION,
				.qid = qid, .nb_qp = p->nb_qp };
	struct nivc_ack ack;
	struct ivc_options o;
	struct ivc_xen_options xo;
	struct ivc_channel *ch;
	ssize_t len;
	int rc;

	channel_options(p, &o, &xo);
	rc = ivc_connect(p->args.addr, &o, NIVC_HELLO_MS, &ch);
	if (rc < 0) {
		/* Not there (yet): tried again next period.  Said once per
		 * reason, so that a wrong address does not go unnoticed. */
		if (rc != p->connect_rc)
			rte_log(rc == -EAFNOSUPPORT || rc == -EINVAL ? RTE_LOG_ERR :
				RTE_LOG_NOTICE, nivc_logtype,
				"net_ivc: connecting to %s: %s (trying again every %d ms)\n",
				p->args.addr, ivc_strerror(rc), NIVC_CTL_PERIOD_MS);
		p->connect_rc = rc;
		return;
	}
	p->connect_rc = 0;
	rc = ivc_send(ch, &h, sizeof(h), NIVC_HELLO_MS);
	len = rc < 0 ? rc : ivc_recv(ch, &ack, sizeof(ack), NIVC_HELLO_MS);
	if (len != (ssize_t)sizeof(ack) || ack.magic != NIVC_HELLO_MAGIC ||
	    ack.status != 0) {
		if (len == (ssize_t)sizeof(ack) && ack.status == -EXDEV)
			NIVC_LOG(ERR, "%s: the server has another number of queue pairs than our %u",
				 p->args.addr, p->nb_qp);
		ivc_close(ch);
		return;
	}
	install(p, qid, ch);
}

static void ctl_take(uint32_t *busy)
{
	uint32_t idle = 0;

	while (!__atomic_compare_exchange_n(busy, &idle, NIVC_BUSY_CTL, 0,
					    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
		idle = 0;
		rte_pause();
	}
}

/* Ask the channel whether its peer went: 0, -EPIPE or -ECONNRESET. */
static int peer_check(struct nivc_conn *c)
{
	int r = ivc_ready(c->ch, IVC_EV_RX);

	if (r >= 0)
		r = ivc_ready(c->ch, IVC_EV_TX);
	return r < 0 ? r : 0;
}

/*
 * The tests' stand-in for peer_gone() taken off its CPU while it holds a
 * queue's send side, with frames received before it came still to send
 * (IVC_PMD_TEST_CTL_HOLD_US, read when the port starts): it waits until
 * it has both sides, looks, lets the receive side go and holds the send
 * side that long.
 */
static int peer_gone_held(struct nivc_qp *qp, struct nivc_conn *c)
{
	int r;

	ctl_take(&qp->rx_busy);
	ctl_take(&qp->tx_busy);
	r = peer_check(c);
	nivc_leave(&qp->rx_busy);
	usleep(qp->port->ctl_hold_us);
	nivc_leave(&qp->tx_busy);
	return r;
}

/*
 * Whether the peer is still there, asked as the owner of both sides of
 * the channel (taken from the lcores for a moment; skipped while a burst
 * runs: the burst finds a dead peer itself).  The receive side's look
 * makes ivc check the peer (rate-limited) when nothing is waiting; the
 * send side's then reports a peer that went: closed (-EPIPE) or died
 * (-ECONNRESET).  Return: that error, or 0.
 */
static int peer_gone(struct nivc_qp *qp, struct nivc_conn *c)
{
	uint32_t idle = 0, idle2 = 0;
	int r = 0;

	if (qp->port->ctl_hold_us)
		return peer_gone_held(qp, c);
	if (!__atomic_compare_exchange_n(&qp->rx_busy, &idle, NIVC_BUSY_CTL, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return 0;
	if (__atomic_compare_exchange_n(&qp->tx_busy, &idle2, NIVC_BUSY_CTL, 0,
					__ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
		r = peer_check(c);
		nivc_leave(&qp->tx_busy);
	}
	nivc_leave(&qp->rx_busy);
	return r;
}

/* Retire what the lcores found broken, or what broke while nobody looked. */
static void retire_broken(struct nivc_port *p)
{
	struct nivc_conn *c;
	uint16_t q;

	pthread_mutex_lock(&p->lock);
	for (q = 0; q < p->nb_qp; q++) {
		c = __atomic_load_n(&p->qp[q].conn, __ATOMIC_ACQUIRE);
		if (c != NULL && (__atomic_load_n(&p->qp[q].dead, __ATOMIC_ACQUIRE) ||
				  ivc_channel_error(c->ch) != 0 || peer_gone(&p->qp[q], c)))
			nivc_conn_retire(p, q);
	}
	nivc_zombies_reap(p, 0);
	pthread_mutex_unlock(&p->lock);
}

static void wait_period(struct nivc_port *p)
{
	struct pollfd fds[2] = { { .fd = p->wake_fd, .events = POLLIN },
				 { .fd = p->listener ? ivc_listener_fd(p->listener) : -1,
				   .events = POLLIN } };
	uint64_t v;

	if (poll(fds, 2, NIVC_CTL_PERIOD_MS) > 0 && (fds[0].revents & POLLIN))
		if (read(p->wake_fd, &v, sizeof(v)) < 0) {
			/* EAGAIN: another reader took it */
		}
}

/*
 * The tests' stand-in for a control thread that the scheduler takes off
 * its CPU while it holds a queue (peer_gone()): IVC_PMD_TEST_CTL_HOLD_US
 * makes it hold each queue that long.  Not for production use.
 */
static uint32_t ctl_hold_us(void)
{
	const char *v = getenv("IVC_PMD_TEST_CTL_HOLD_US");
	unsigned long us = v != NULL ? strtoul(v, NULL, 10) : 0;

	return us > 1000000 ? 1000000 : (uint32_t)us;
}

static void *ctl_main(void *arg)
{
	struct nivc_port *p = arg;
	uint16_t q;

	while (!__atomic_load_n(&p->ctl_stop, __ATOMIC_ACQUIRE)) {
		retire_broken(p);
		/* Down before a new channel comes: even a reconnect within
		 * the same period is a link flap the application hears of. */
		link_set(p);
		if (p->listener)
			accept_all(p);
		else
			for (q = 0; q < p->nb_qp; q++)
				if (__atomic_load_n(&p->qp[q].conn, __ATOMIC_ACQUIRE) == NULL &&
				    !__atomic_load_n(&p->ctl_stop, __ATOMIC_ACQUIRE))
					connect_one(p, q);
		link_set(p);
		wait_period(p);
	}
	return NULL;
}

int nivc_ctl_start(struct nivc_port *p)
{
	char name[RTE_MAX_THREAD_NAME_LEN];
	struct ivc_options o;
	struct ivc_xen_options xo;
	int rc;

	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->wake_fd < 0)
		return -errno;
	p->ctl_hold_us = ctl_hold_us();
	if (p->args.server) {
		channel_options(p, &o, &xo);
		rc = ivc_listen(p->args.addr, &o, &p->listener);
		if (rc < 0) {
			NIVC_LOG(ERR, "cannot listen on %s: %s", p->args.addr, ivc_strerror(rc));
			close(p->wake_fd);
			p->wake_fd = -1;
			return rc;
		}
	}
	__atomic_store_n(&p->ctl_stop, 0, __ATOMIC_RELEASE);
	snprintf(name, sizeof(name), "nivc-ctl-%u", p->dev->data->port_id);
	rc = rte_ctrl_thread_create(&p->ctl, name, NULL, ctl_main, p);
	if (rc != 0) {
		NIVC_LOG(ERR, "cannot start the control thread: %s", strerror(rc));
		if (p->listener)
			ivc_listener_close(p->listener);
		p->listener = NULL;
		close(p->wake_fd);
		p->wake_fd = -1;
		return -rc;
	}
	p->ctl_running = 1;
	return 0;
}

/* Stop the control thread, close every channel and the listener. */
void nivc_ctl_stop(struct nivc_port *p)
{
	uint16_t q;

	if (p->ctl_running) {
		__atomic_store_n(&p->ctl_stop, 1, __ATOMIC_RELEASE);
		nivc_ctl_wake(p);
		pthread_join(p->ctl, NULL);
		p->ctl_running = 0;
	}
	pthread_mutex_lock(&p->lock);
	for (q = 0; q < NIVC_MAX_QP; q++)
		nivc_conn_retire(p, q);
	nivc_zombies_reap(p, 0);
	pthread_mutex_unlock(&p->lock);
	if (p->listener)
		ivc_listener_close(p->listener);
	p->listener = NULL;
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	p->wake_fd = -1;
	link_set(p);
}
