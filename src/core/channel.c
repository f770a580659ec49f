/* SPDX-License-Identifier: MIT */
/* Channel life cycle and state shared by the data-path calls. */
#include "core/channel_pvt.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/clock_pvt.h"
#include "util/compiler_pvt.h"

/* The public fd: one epoll set over both doorbells and (once asked for,
 * ivc_xport_watch_hup()) the hang-up fd, so an application's loop needs
 * one descriptor per channel. */
static int channel_make_epfd(const struct ivc_xport *xp)
{
	int fds[2] = { xp->bell_fd[IVC_BELL_RX], xp->bell_fd[IVC_BELL_TX] };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned i;

	if (ep < 0)
		return -errno;
	for (i = 0; i < IVC_ARRAY_LEN(fds); i++) {
		/* The TX doorbell starts silent: ivc_arm() turns it on only
		 * for a caller that waits to send, so a stale "room was
		 * made" never wakes a loop that waits to receive.  Doorbells
		 * are edge-triggered (a shm doorbell is always readable: its
		 * owner keeps the counter above 0); ivc_arm() consumes the
		 * edges. */
		struct epoll_event ev = { .events = i == IVC_BELL_TX ? 0u : EPOLLIN | EPOLLET,
					  .data.u32 = i };

		if (fds[i] >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
			int e = -errno;

			close(ep);
			return e;
		}
	}
	return ep;
}

/* A side's own sleep set.  The doorbell is edge-triggered: a wake-up
 * costs one epoll_wait() and no read() to clear the eventfd, which is
 * what makes a blocking round trip cheaper than a Unix socket's.  The
 * hang-up fd joins it before the side first sleeps. */
static int side_make_ep(const struct ivc_xport *xp, enum ivc_bell bell)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = 0 };
	int ep = epoll_create1(EPOLL_CLOEXEC), e;

	if (ep < 0)
		return -errno;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, xp->bell_fd[bell], &ev) == 0)
		return ep;
	e = -errno;
	close(ep);
	return e;
}

void ivc_hup_event(unsigned set, struct epoll_event *ev)
{
	*ev = (struct epoll_event){
		.events = EPOLLIN | (set == IVC_SET_PUBLIC ? 0u : EPOLLRDHUP),
		.data.u32 = set == IVC_SET_PUBLIC ? 2u : 1u,
	};
}

int ivc_xport_add_hup(struct ivc_xport *xp, unsigned set, struct epoll_event *ev)
{
	if (epoll_ctl(xp->watch_ep[set], EPOLL_CTL_ADD, xp->hup_fd, ev) == 0 ||
	    errno == EEXIST) /* another thread added it first */
		return 0;
	return -errno;
}

int ivc_xport_watch_hup(struct ivc_xport *xp, unsigned set)
{
	struct epoll_event ev;
	int r;

	if (xp->hup_fd < 0 || (__atomic_load_n(&xp->hup_in, __ATOMIC_ACQUIRE) & (1u << set)))
		return 0;
	ivc_hup_event(set, &ev);
	r = xp->ops->watch ? xp->ops->watch(xp, set, &ev) : ivc_xport_add_hup(xp, set, &ev);
	if (!r)
		__atomic_fetch_or(&xp->hup_in, 1u << set, __ATOMIC_RELEASE);
	return r;
}

static void side_init(struct ivc_chan_side *s, uint32_t spin_max_ns)
{
	memset(s, 0, sizeof(*s));
	s->sleep_ep = -1;
	ivc_backoff_init(&s->bo, spin_max_ns);
}

int ivc_channel_create(struct ivc_xport *xp, const struct ivc_lane_geom *txg,
		       uint32_t tx_start, const struct ivc_lane_geom *rxg,
		       uint32_t rx_start, int mode, uint32_t spin_max_ns,
		       struct ivc_channel **out)
{
	struct ivc_channel *ch;
	int r;

	ch = aligned_alloc(64, (sizeof(*ch) + 63) & ~(size_t)63);
	if (!ch)
		return -ENOMEM;
	memset(ch, 0, sizeof(*ch));
	r = ivc_lane_tx_init(&ch->tx, xp->tx_region, txg, tx_start);
	if (r)
		goto fail;
	r = ivc_lane_rx_init(&ch->rx, xp->rx_region, rxg, rx_start);
	if (r)
		goto fail_tx;
	r = channel_make_epfd(xp);
	if (r < 0)
		goto fail_rx;
	ch->epfd = r;
	ch->xp = xp;
	ch->mode = mode;
	ch->copied = xp->ops->pull != NULL;
	if (ch->copied)
		ivc_lane_tx_hand_out_in_order(&ch->tx);
	side_init(&ch->txs, spin_max_ns);
	side_init(&ch->rxs, spin_max_ns);
	r = side_make_ep(xp, IVC_BELL_RX);
	if (r < 0)
		goto fail_ep;
	ch->rxs.sleep_ep = r;
	r = side_make_ep(xp, IVC_BELL_TX);
	if (r < 0)
		goto fail_ep;
	ch->txs.sleep_ep = r;
	xp->watch_ep[IVC_SET_PUBLIC] = ch->epfd;
	xp->watch_ep[IVC_SET_RX] = ch->rxs.sleep_ep;
	xp->watch_ep[IVC_SET_TX] = ch->txs.sleep_ep;
	ivc_channel_note_cpu(ch);
	*out = ch;
	return 0;
fail_ep:
	if (ch->rxs.sleep_ep >= 0)
		close(ch->rxs.sleep_ep);
	close(ch->epfd);
fail_rx:
	ivc_lane_rx_fini(&ch->rx);
fail_tx:
	ivc_lane_tx_fini(&ch->tx);
fail:
	free(ch);
	return r;
}

int ivc_channel_break(struct ivc_channel *ch, int err)
{
	int expected = 0;

	__atomic_compare_exchange_n(&ch->err, &expected, err, 0,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return __atomic_load_n(&ch->err, __ATOMIC_RELAXED);
}

int ivc_channel_broken(const struct ivc_channel *ch)
{
	return __atomic_load_n(&ch->err, __ATOMIC_RELAXED);
}

int ivc_channel_audit(struct ivc_channel *ch)
{
	/* Both headers: the peer maps ours read-write too. */
	if (ivc_lane_intact(ch->rx.base, &ch->rx.g, ch->rx.start) ||
	    ivc_lane_intact(ch->tx.base, &ch->tx.g, ch->tx.start))
		return ivc_channel_break(ch, -EPROTO);
	return 0;
}

/* The first end seen is the end for good: a peer that clears its closed
 * flag again does not make a send that failed with -EPIPE succeed. */
static int peer_ended(struct ivc_channel *ch, int end)
{
	int expected = 0;

	__atomic_compare_exchange_n(&ch->peer_state, &expected, end, 0,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return __atomic_load_n(&ch->peer_state, __ATOMIC_RELAXED);
}

int ivc_channel_peer_end(struct ivc_channel *ch)
{
	int ps = __atomic_load_n(&ch->peer_state, __ATOMIC_RELAXED);

	if (ps)
		return ps;
	/* The peer's closed flag first: it is set after its last descriptor
	 * and before its hang-up, so an orderly close is never mistaken for
	 * a crash. */
	if (ivc_lane_rx_peer_closed(&ch->rx))
		return peer_ended(ch, -EPIPE);
	return 0;
}

int ivc_channel_check_peer(struct ivc_channel *ch)
{
	int ps = ivc_channel_peer_end(ch);

	if (ps)
		return ps;
	if (ivc_channel_audit(ch))
		return ivc_channel_broken(ch);
	ps = ch->xp->ops->check_peer(ch->xp);
	if (!ps)
		return 0;
	if (ivc_lane_rx_peer_closed(&ch->rx))
		return peer_ended(ch, -EPIPE);
	ps = peer_ended(ch, ps);
	/* A crash still lets us drain; a protocol violation breaks the
	 * channel at once. */
	return ps == -EPROTO ? ivc_channel_break(ch, ps) : ps;
}

/* What a pull's error means for the channel: a protocol violation breaks
 * it, a reset ends the peer's side (its messages still drain). */
static int pulled(struct ivc_channel *ch, int r)
{
	if (r == -EPROTO)
		return ivc_channel_break(ch, r);
	if (r == -ECONNRESET && !ivc_channel_peer_end(ch))
		(void)peer_ended(ch, r);
	return r;
}

int ivc_channel_pull(struct ivc_channel *ch, unsigned self)
{
	if (!ch->copied)
		return 0;
	return pulled(ch, ch->xp->ops->pull(ch->xp, self));
}

struct look_arg {
	struct ivc_channel *ch;
	unsigned ev;
};

static int look_busy(void *arg)
{
	const struct look_arg *a = arg;

	return ivc_channel_look(a->ch, a->ev) != 0;
}

int ivc_channel_pull_wait(struct ivc_channel *ch, unsigned ev, unsigned bell)
{
	struct look_arg a = { ch, ev };

	if (!ch->xp->ops->pull_wait)
		return -EAGAIN;
	return pulled(ch, ch->xp->ops->pull_wait(ch->xp, 1u << bell, look_busy, &a));
}

void ivc_channel_sent(struct ivc_channel *ch, int timeout_ms)
{
	if (ch->copied && timeout_ms != 0)
		(void)ch->xp->ops->drain(ch->xp, ivc_deadline(timeout_ms));
}

void ivc_channel_ring(struct ivc_channel *ch, enum ivc_bell bell,
		      struct ivc_chan_side *side)
{
	/* A failed ring means the peer is gone; the waits find that out. */
	(void)ch->xp->ops->ring(ch->xp, bell);
	IVC_COUNT(&side->st.doorbells, 1);
}

void ivc_channel_rx_moved(struct ivc_channel *ch, uint32_t before)
{
	/* We freed ring slots: wake the sender if it sleeps for room. */
	if (ch->rx.cons != before && ivc_lane_rx_need_bell(&ch->rx))
		ivc_channel_ring(ch, IVC_BELL_TX, &ch->rxs);
}

int ivc_channel_fetch(struct ivc_channel *ch, uint32_t want)
{
	uint32_t before = ch->rx.cons;
	int r = ivc_lane_rx_fetch(&ch->rx, want);

	if (r < 0)
		return ivc_channel_break(ch, r);
	ivc_channel_rx_moved(ch, before);
	if (ch->rx.cons != before)
		ivc_channel_consumed(ch);
	return r;
}

static int rx_ready(struct ivc_channel *ch, unsigned ev)
{
	uint32_t before = ch->rx.st_n;
	int mask = 0, r = ivc_channel_fetch(ch, before + 1);

	if (r < 0)
		return r;
	if ((ev & IVC_EVI_RX) && ch->rx.st_n)
		mask |= IVC_EVI_RX;
	if ((ev & IVC_EVI_RXMORE) && ch->rx.st_n > before)
		mask |= IVC_EVI_RXMORE;
	/* A peer that has gone makes a receive "ready": it returns the error
	 * (unless a descriptor still waits in the ring for a hold slot).  Only
	 * the ring counts: a chain staged in part will never be completed, so
	 * ivc_recv() waiting for its end (RXMORE) must wake up too. */
	if (!mask && ivc_lane_rx_ring_ready(&ch->rx) <= 0 && ivc_channel_peer_end(ch))
		mask = (int)(ev & (IVC_EVI_RX | IVC_EVI_RXMORE));
	return mask;
}

static int tx_ready(struct ivc_channel *ch, unsigned ev)
{
	int mask = 0, bufs, slots, r;

	if (!ch->tx.n_free && ch->tx.n_lent) {
		r = ivc_lane_tx_reclaim(&ch->tx);
		if (r < 0)
			return ivc_channel_break(ch, r);
	}
	uint32_t room = ch->tx_room ? ch->tx_room : 1;

	bufs = ch->tx.n_free > 0;
	slots = ivc_lane_tx_space(&ch->tx, room);
	if (slots < 0)
		return ivc_channel_break(ch, slots);
	if ((ev & IVC_EVI_TXBUF) && bufs)
		mask |= IVC_EVI_TXBUF;
	if ((ev & IVC_EVI_TXSLOT) && (uint32_t)slots >= room)
		mask |= IVC_EVI_TXSLOT;
	if ((ev & IVC_EVI_TX) && bufs && slots > 0)
		mask |= IVC_EVI_TX;
	return mask;
}

static int channel_probe_lanes(struct ivc_channel *ch, unsigned ev);

int ivc_channel_look(struct ivc_channel *ch, unsigned ev)
{
	int err = ivc_channel_broken(ch);
	int mask;

	if (err)
		return err;
	mask = channel_probe_lanes(ch, ev);
	/* Nothing to do: the caller may wait next, so what it owes the peer
	 * goes out now, and a sender short of room or buffers asks a lazy
	 * peer for its returns. */
	if (!mask)
		ivc_channel_idle_push(ch, ev & (IVC_EVI_TX | IVC_EVI_TXBUF | IVC_EVI_TXSLOT));
	return mask;
}

int ivc_channel_probe(struct ivc_channel *ch, unsigned ev)
{
	int err = ivc_channel_broken(ch);
	int r;

	if (err)
		return err;
	if (ch->copied) {
		r = ivc_channel_pull(ch, (ev & (IVC_EVI_RX | IVC_EVI_RXMORE) ?
						  1u << IVC_BELL_RX : 0u) |
					 (ev & (IVC_EVI_TX | IVC_EVI_TXBUF | IVC_EVI_TXSLOT) ?
						  1u << IVC_BELL_TX : 0u));
		if (r == -EPROTO)
			return r;
	}
	return ivc_channel_look(ch, ev);
}

static int channel_probe_lanes(struct ivc_channel *ch, unsigned ev)
{
	int mask = 0, r;

	if (ev & (IVC_EVI_RX | IVC_EVI_RXMORE)) {
		r = rx_ready(ch, ev);
		if (r < 0)
			return r;
		mask |= r;
	}
	if (ev & (IVC_EVI_TX | IVC_EVI_TXBUF | IVC_EVI_TXSLOT)) {
		r = tx_ready(ch, ev);
		if (r < 0)
			return r;
		mask |= r;
		/* Waiting only to send, and the peer has gone: say so, room
		 * or not (every send fails with it now: tx_gate()). */
		if ((!mask || !(ev & (IVC_EVI_RX | IVC_EVI_RXMORE))) &&
		    (r = ivc_channel_peer_end(ch)) != 0)
			return r;
	}
	return mask;
}

void ivc_channel_note_cpu(struct ivc_channel *ch)
{
	int cpu = sched_getcpu();
	uint32_t v = cpu < 0 ? 0 : (uint32_t)cpu + 1;

	if (IVC_LOAD(&ch->tx.tx_cold->cpu) != v)
		IVC_STORE(&ch->tx.tx_cold->cpu, v);
}

int ivc_channel_shares_cpu(struct ivc_channel *ch)
{
	int peer;

	if (!ch->xp->cpu_comparable)
		return 0;
	peer = ivc_lane_rx_peer_cpu(&ch->rx);
	return peer >= 0 && peer == sched_getcpu();
}

void ivc_channel_discard(struct ivc_channel *ch)
{
	close(ch->epfd);
	close(ch->rxs.sleep_ep);
	close(ch->txs.sleep_ep);
	ivc_lane_tx_fini(&ch->tx);
	ivc_lane_rx_fini(&ch->rx);
	ch->xp->ops->destroy(ch->xp);
	free(ch);
}

IVC_PUBLIC int ivc_close(struct ivc_channel *ch)
{
	if (!ch)
		return -EINVAL;
	if (ch->watch.closing)
		ch->watch.closing(ch->watch.ctx, ch);
	/* After our last descriptor, before the hang-up: "closed in order". */
	IVC_STORE_REL(&ch->tx.tx_cold->closed, 1u);
	IVC_FENCE();
	(void)ch->xp->ops->ring(ch->xp, IVC_BELL_RX);
	(void)ch->xp->ops->ring(ch->xp, IVC_BELL_TX);
	/* Over tcp: what we sent, our returns and the flag go out first. */
	ivc_channel_published(ch);
	ivc_channel_sent(ch, IVC_CLOSE_DRAIN_MS);
	ivc_channel_discard(ch);
	return 0;
}

IVC_PUBLIC int ivc_channel_info(const struct ivc_channel *ch,
				struct ivc_info *out)
{
	if (!ch || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->transport = ch->xp->ops->name;
	out->peer_pid = ch->xp->peer_pid;
	out->peer_uid = ch->xp->peer_uid;
	out->peer_domid = ch->xp->peer_domid;
	out->route = ch->xp->route;
	out->tx.slots = ch->tx.g.slots;
	out->tx.buf_size = ch->tx.g.buf_size;
	out->tx.buf_count = ch->tx.g.buf_count;
	out->rx.slots = ch->rx.g.slots;
	out->rx.buf_size = ch->rx.g.buf_size;
	out->rx.buf_count = ch->rx.g.buf_count;
	out->max_tx_msg = (size_t)ch->tx.max_chain * ch->tx.g.buf_size;
	out->max_rx_msg = (size_t)ch->rx.max_chain * ch->rx.g.buf_size;
	return 0;
}

IVC_PUBLIC int ivc_channel_error(const struct ivc_channel *ch)
{
	if (!ch)
		return -EINVAL;
	return ivc_channel_broken(ch);
}
