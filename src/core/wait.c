/* SPDX-License-Identifier: MIT */
/*
 * Waiting: spin with pause, yield, then declare ourselves asleep in shared
 * memory (full fence), re-check, and block on our doorbell.  The peer rings
 * only for a side that declared itself asleep, so a busy channel makes no
 * system call at all.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>

#include <ivc/wait.h>

#include "core/backoff_pvt.h"
#include "core/channel_pvt.h"
#include "core/wait_pvt.h"
#include "util/clock_pvt.h"
#include "util/compiler_pvt.h"

#define IVC_LIVENESS_NS 1000000ull /* peer check while polling: every 1 ms */

#define EV_RXSIDE (IVC_EVI_RX | IVC_EVI_RXMORE)
#define EV_TXSIDE (IVC_EVI_TX | IVC_EVI_TXBUF | IVC_EVI_TXSLOT)

static struct ivc_chan_side *side_of(struct ivc_channel *ch, unsigned ev)
{
	return (ev & EV_RXSIDE) ? &ch->rxs : &ch->txs;
}

/* The doorbell of @ev's side. */
static unsigned bell_of(unsigned ev)
{
	return (ev & EV_RXSIDE) ? IVC_BELL_RX : IVC_BELL_TX;
}

static void arm(struct ivc_channel *ch, unsigned ev, int on)
{
	if (ev & EV_RXSIDE)
		ivc_lane_rx_sleep(&ch->rx, on);
	if (ev & EV_TXSIDE)
		ivc_lane_tx_sleep(&ch->tx, on);
}

/* The peer went, found by a liveness check made at most every
 * IVC_LIVENESS_NS: the error, or 0 (no check due, or the peer is there). */
static int gone(struct ivc_channel *ch, unsigned ev, struct ivc_chan_side *s,
		uint64_t now)
{
	if (now < s->next_check_ns)
		return 0;
	s->next_check_ns = now + IVC_LIVENESS_NS;
	if (!ivc_channel_check_peer(ch))
		return 0;
	return ivc_channel_probe(ch, ev);
}

/* Ready now, or the peer went. */
static int ready_or_gone(struct ivc_channel *ch, unsigned ev,
			 struct ivc_chan_side *s, uint64_t now)
{
	int r = ivc_channel_probe(ch, ev);

	return r ? r : gone(ch, ev, s, now);
}

/* A first look for the spin loop: one load, no function calls. */
static int maybe_ready(const struct ivc_channel *ch, unsigned ev)
{
	if ((ev & EV_TXSIDE) || ch->copied)
		return 1; /* rare path, or tcp: let ivc_channel_probe() pull */
	return ivc_lane_rx_maybe(&ch->rx) || ivc_lane_rx_peer_closed(&ch->rx);
}

/* Spin (pause, or yield when sharing the peer's CPU) until ready, the
 * budget is spent (0), or the deadline passes.  The clock is read only
 * every 64 rounds: a message that comes quickly costs no clock read. */
static int spin(struct ivc_channel *ch, unsigned ev, struct ivc_chan_side *s,
		uint64_t deadline)
{
	int share = ivc_channel_shares_cpu(ch);
	uint64_t budget = ch->mode == IVC_MODE_POLL ? UINT64_MAX :
			  ivc_backoff_budget(&s->bo);
	uint64_t start = 0, now = 0;
	unsigned i = 0;
	int r = 0;

	for (;;) {
		if (maybe_ready(ch, ev) && (r = ivc_channel_probe(ch, ev)) != 0)
			break;
		if (share) {
			sched_yield();
			IVC_COUNT(&s->st.yields, 1);
		} else {
			ivc_cpu_relax();
		}
		if (!share && (++i & 63))
			continue;
		now = ivc_now_ns();
		if (!start)
			start = now;
		if (now >= deadline)
			return -ETIMEDOUT;
		if (now - start >= budget)
			break;
		r = ready_or_gone(ch, ev, s, now);
		if (r)
			break;
	}
	if (r > 0) {
		IVC_COUNT(&s->st.spin_hits, 1);
		/* Before the first clock read the wait was under 64 pauses. */
		ivc_backoff_hit(&s->bo, start ? ivc_now_ns() - start + 64 * 40 :
					       (uint64_t)i * 40);
	}
	if (r || share || ch->mode == IVC_MODE_POLL)
		return r;
	/* Spun out: a couple of yields let a preempted peer finish first. */
	for (i = 0; i < IVC_YIELDS_AFTER_SPIN && !r; i++) {
		sched_yield();
		IVC_COUNT(&s->st.yields, 1);
		r = ivc_channel_probe(ch, ev);
	}
	return r;
}

/* After a wake-up of @side's sleep set: what woke it.  The doorbell is
 * edge-triggered (consumed by the wake itself, but for a transport whose
 * doorbell must be acknowledged); the hang-up is a liveness check. */
static void woke(struct ivc_channel *ch, enum ivc_bell bell,
		 const struct epoll_event *e, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (e[i].data.u32 == 1) {
			/* tcp: the socket has data, or room for what waits.
			 * Another thread reading it will wake us when it has
			 * applied what came: let it run (the socket stays
			 * readable until it has read). */
			if (ivc_channel_pull(ch, 1u << bell) == 1)
				sched_yield();
			(void)ivc_channel_check_peer(ch);
		}
		else if (ch->xp->ack_on_wake)
			ch->xp->ops->ack(ch->xp, bell);
	}
}

/* Block on both sides' sleep sets (ivc_wait(RX | TX): rare), then take
 * the edges of both. */
static int sleep_both(struct ivc_channel *ch, uint64_t deadline)
{
	struct pollfd p[2] = { { ch->rxs.sleep_ep, POLLIN, 0 },
			       { ch->txs.sleep_ep, POLLIN, 0 } };
	struct epoll_event e[2];
	int r = poll(p, 2, ivc_ms_left(deadline));

	if (r < 0 && errno != EINTR)
		return -errno;
	r = epoll_wait(ch->rxs.sleep_ep, e, 2, 0);
	woke(ch, IVC_BELL_RX, e, r);
	r = epoll_wait(ch->txs.sleep_ep, e, 2, 0);
	woke(ch, IVC_BELL_TX, e, r);
	return 0;
}

/* Block until our doorbell rings or the peer hangs up: one system call. */
static int sleep_once(struct ivc_channel *ch, unsigned ev, uint64_t deadline)
{
	struct epoll_event e[2];
	int r;

	if ((ev & EV_RXSIDE) && (ev & EV_TXSIDE))
		return sleep_both(ch, deadline);
	r = epoll_wait(side_of(ch, ev)->sleep_ep, e, 2, ivc_ms_left(deadline));
	if (r < 0 && errno != EINTR)
		return -errno;
	woke(ch, bell_of(ev), e, r);
	return 0;
}

/* A wait for ever of one side over tcp sleeps in the socket's own read
 * (one system call, not epoll_wait() and a read), where it can: 1 when it
 * did (what it read, or the end, is for the next look), 0 to sleep on the
 * set instead.  A sender's too: its room and its buffers come back in
 * what the peer sends (a buffer freed by another thread of ours wakes no
 * sleeper either way). */
static int in_socket(struct ivc_channel *ch, unsigned ev, uint64_t deadline)
{
	if (!ch->copied || ((ev & EV_RXSIDE) && (ev & EV_TXSIDE)) || deadline != IVC_NEVER)
		return 0;
	return ivc_channel_pull_wait(ch, ev, bell_of(ev)) != -EAGAIN;
}

/* Sleep on the sets of @ev's sides, which watch the hang-up fd (over tcp,
 * the socket) from the first such sleep on.  Level-triggered, it reports
 * on joining what came before. */
static int sleep_on_sets(struct ivc_channel *ch, unsigned ev, uint64_t deadline)
{
	int r = 0;

	if (ev & EV_RXSIDE)
		r = ivc_xport_watch_hup(ch->xp, IVC_SET_RX);
	if (!r && (ev & EV_TXSIDE))
		r = ivc_xport_watch_hup(ch->xp, IVC_SET_TX);
	return r ? r : sleep_once(ch, ev, deadline);
}

static int sleep_loop(struct ivc_channel *ch, unsigned ev,
		      struct ivc_chan_side *s, uint64_t start, uint64_t deadline)
{
	int r;

	for (;;) {
		arm(ch, ev, 1);
		/* No liveness system call here: the hang-up is in the sleep
		 * set, so a dead peer wakes us at once.  Nor a read of a tcp
		 * socket: either way of sleeping below ends at once if
		 * something waits there (the sleep set watches it
		 * level-triggered; in_socket() reads it). */
		r = ivc_channel_look(ch, ev);
		if (r)
			break;
		if (ivc_now_ns() >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		/* About to make a system call anyway: a 64-byte look costs
		 * nothing next to it. */
		r = ivc_channel_audit(ch);
		if (r)
			break;
		IVC_COUNT(&s->st.sleeps, 1);
		r = in_socket(ch, ev, deadline) ? 0 : sleep_on_sets(ch, ev, deadline);
		if (r)
			break;
	}
	arm(ch, ev, 0);
	if (r > 0)
		ivc_backoff_slept(&s->bo, ivc_now_ns() - start);
	return r;
}

int ivc_channel_wait(struct ivc_channel *ch, unsigned ev, int timeout_ms)
{
	struct ivc_chan_side *s = side_of(ch, ev);
	uint64_t deadline;
	int r = ivc_channel_probe(ch, ev);

	if (r)
		return r;
	/* A poll that finds nothing (the probe above just looked): only the
	 * rate-limited liveness check, on the coarse clock, since a
	 * run-to-completion loop makes this call millions of times a
	 * second. */
	if (timeout_ms == 0) {
		r = gone(ch, ev, s, ivc_coarse_ns());
		return r ? r : -EAGAIN;
	}
	/* No clock read for "for ever": the common benchmark/poller case. */
	deadline = ivc_deadline(timeout_ms);
	ivc_channel_note_cpu(ch);
	if (ch->mode != IVC_MODE_BLOCK) {
		r = spin(ch, ev, s, deadline);
		if (r)
			return r;
	}
	return sleep_loop(ch, ev, s, ivc_now_ns(), deadline);
}

int ivc_channel_idle(struct ivc_channel *ch, unsigned ev)
{
	int r = gone(ch, ev, side_of(ch, ev), ivc_coarse_ns());

	return r ? r : -EAGAIN;
}

static int check_events(const struct ivc_channel *ch, unsigned events)
{
	return ch && events && !(events & ~(IVC_EV_RX | IVC_EV_TX));
}

IVC_PUBLIC int ivc_ready(struct ivc_channel *ch, unsigned events)
{
	int r;

	if (!check_events(ch, events))
		return -EINVAL;
	r = ivc_channel_wait(ch, events, 0);
	return r == -EAGAIN ? 0 : r;
}

IVC_PUBLIC int ivc_wait(struct ivc_channel *ch, unsigned events, int timeout_ms)
{
	if (!check_events(ch, events))
		return -EINVAL;
	return ivc_channel_wait(ch, events, timeout_ms);
}

IVC_PUBLIC int ivc_fd(const struct ivc_channel *ch)
{
	int r;

	if (!ch)
		return -EINVAL;
	r = ivc_xport_watch_hup(ch->xp, IVC_SET_PUBLIC);
	return r ? r : ch->epfd;
}

/* Listen to the TX doorbell in ivc_fd()'s set only while armed for TX. */
static int set_ep_tx(struct ivc_channel *ch, int on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN | EPOLLET : 0u,
				  .data.u32 = IVC_BELL_TX };

	if (ch->ep_tx == on)
		return 0;
	if (epoll_ctl(ch->epfd, EPOLL_CTL_MOD, ch->xp->bell_fd[IVC_BELL_TX], &ev) < 0)
		return -errno;
	ch->ep_tx = on;
	return 0;
}

/* Take the doorbells' edges out of ivc_fd()'s set, so that it polls
 * readable again only for a ring that comes after this (the set is ours
 * alone: nothing the peer does to a doorbell can make this wait). */
static void consume_edges(struct ivc_channel *ch)
{
	struct epoll_event e[3];

	(void)epoll_wait(ch->epfd, e, 3, 0);
}

IVC_PUBLIC int ivc_arm(struct ivc_channel *ch, unsigned events)
{
	int r;

	if (!check_events(ch, events))
		return -EINVAL;
	/* Armed, the caller blocks on ivc_fd()'s set: it watches the peer. */
	r = ivc_xport_watch_hup(ch->xp, IVC_SET_PUBLIC);
	if (!r)
		r = set_ep_tx(ch, (events & IVC_EV_TX) != 0);
	if (r)
		return r;
	consume_edges(ch);
	if (events & IVC_EV_RX)
		ch->xp->ops->ack(ch->xp, IVC_BELL_RX);
	if (events & IVC_EV_TX)
		ch->xp->ops->ack(ch->xp, IVC_BELL_TX);
	arm(ch, events, 1);
	r = ivc_channel_probe(ch, events);
	if (!r && ivc_channel_check_peer(ch))
		r = ivc_channel_probe(ch, events);
	return r;
}
