/* SPDX-License-Identifier: MIT */
/*
 * The run-to-completion loop: one thread serves many channels.  Busy: call
 * each ready channel's callback, no system call.  Idle: spin for the
 * adaptive budget (yield instead while a peer shares our CPU), then arm
 * every channel and sleep in one epoll over all their descriptors.
 *
 * Listeners are in the same epoll set, so an idle loop wakes for a client
 * at once.  A busy loop never sleeps in epoll: it looks at the listeners
 * alone (a second set) about once a millisecond, reading the clock only
 * every few passes, and calls one listener's callback per look.
 *
 * ivc_poller_dispatch() is one pass of the same loop for an application's
 * own event loop: where ivc_poller_run() would sleep, it arms the channels
 * and returns 0, and the application sleeps on the epoll set instead.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ivc/placement.h>
#include <ivc/poller.h>
#include <ivc/wait.h>

#include "core/backoff_pvt.h"
#include "core/channel_pvt.h"
#include "poller/poller_pvt.h"
#include "util/clock_pvt.h"
#include "util/compiler_pvt.h"

#define POLL_SLICE_NS 1000000ull /* poll mode leaves its spin every 1 ms */
#define LISTEN_NS 1000000ull     /* a busy loop looks at listeners every 1 ms */
#define LISTEN_PASSES 16u        /* ... reading the clock every 16 passes */

static int options_ok(const struct ivc_poller_options *o)
{
	size_t i;

	if (o->mode < IVC_MODE_ADAPTIVE || o->mode > IVC_MODE_BLOCK || o->cpu < -1)
		return 0;
	if (o->flags & ~IVC_POLLER_PIN)
		return 0;
	if ((o->flags & IVC_POLLER_PIN) && o->cpu < 0)
		return 0;
	for (i = 0; i < IVC_ARRAY_LEN(o->reserved); i++)
		if (o->reserved[i])
			return 0;
	return 1;
}

static int make_sets(struct ivc_poller *p)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	p->ep = epoll_create1(EPOLL_CLOEXEC);
	p->lep = epoll_create1(EPOLL_CLOEXEC);
	p->req_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->ep < 0 || p->lep < 0 || p->req_fd < 0 ||
	    epoll_ctl(p->ep, EPOLL_CTL_ADD, p->req_fd, &ev) < 0)
		return -errno;
	return 0;
}

IVC_PUBLIC int ivc_poller_create(const struct ivc_poller_options *opts,
				 struct ivc_poller **out)
{
	static const struct ivc_poller_options defaults = { .cpu = -1 };
	struct ivc_poller *p;
	int r;

	if (!out || (opts && !options_ok(opts)))
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ep = p->lep = p->req_fd = -1;
	r = ivc_poller_req_init(p);
	if (r) {
		free(p);
		return r;
	}
	p->flags = opts->flags;
	p->cpu = opts->cpu;
	p->mode = opts->mode;
	p->apply = ivc_poller_apply;
	ivc_backoff_init(&p->bo, opts->spin_max_ns);
	r = make_sets(p);
	if (r) {
		ivc_poller_destroy(p);
		return r;
	}
	*out = p;
	return 0;
}

IVC_PUBLIC void ivc_poller_destroy(struct ivc_poller *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		if (p->v[i].ch)
			p->v[i].ch->watch = (struct ivc_chan_watch){ NULL, NULL };
	if (p->ep >= 0)
		close(p->ep);
	if (p->lep >= 0)
		close(p->lep);
	if (p->req_fd >= 0)
		close(p->req_fd);
	ivc_poller_req_fini(p);
	free(p->v);
	free(p->lv);
	free(p);
}

IVC_PUBLIC int ivc_poller_fd(const struct ivc_poller *p)
{
	return p ? p->ep : -EINVAL;
}

IVC_PUBLIC int ivc_poller_stop(struct ivc_poller *p)
{
	if (!p)
		return -EINVAL;
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
	ivc_poller_wake(p);
	return 0;
}

static int stopping(struct ivc_poller *p)
{
	return __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE);
}

/* ---- a pass ---- */

/* Call every ready channel's callback once.  Return the work done. */
static long serve(struct ivc_poller *p)
{
	long work = 0;
	size_t i;
	int r;

	/* By index: a callback may add channels (the array may move) or
	 * remove some (they are only marked until the end). */
	p->serving = 1;
	for (i = 0; i < p->n; i++) {
		if (p->v[i].dead)
			continue;
		r = ivc_ready(p->v[i].ch, IVC_EV_RX);
		if (r == 0)
			continue;
		r = p->v[i].cb(p->v[i].ch, p->v[i].arg);
		if (r < 0)
			ivc_poller_kill(p, i);
		/* A dropped channel counts as work: the loop re-checks
		 * whether any channel is left before it sleeps. */
		work += r > 0 ? r : 1;
	}
	p->serving = 0;
	ivc_poller_compact(p);
	return work;
}

/* Call the callback of one listener that has something for us (epoll
 * takes turns among several).  Return 1 if one was called. */
static long serve_listener(struct ivc_poller *p)
{
	struct epoll_event ev;
	size_t i;

	if (epoll_wait(p->lep, &ev, 1, 0) != 1)
		return 0;
	for (i = 0; i < p->ln; i++) {
		if (p->lv[i].dead || p->lv[i].l != ev.data.ptr)
			continue;
		p->serving = 1;
		if (p->lv[i].cb(p->lv[i].l, p->lv[i].arg) < 0)
			ivc_poller_kill_listener(p, i);
		p->serving = 0;
		ivc_poller_compact(p);
		return 1;
	}
	return 0;
}

/* Whether to look at the listeners now: always when idle (the look is
 * cheap next to what an idle loop does anyway); while busy, once a
 * millisecond, by a clock read every LISTEN_PASSES passes. */
static int listeners_due(struct ivc_poller *p, int idle)
{
	uint64_t now;

	if (!p->ln)
		return 0;
	if (idle)
		return 1;
	if (++p->busy_passes % LISTEN_PASSES)
		return 0;
	now = ivc_now_ns();
	if (now < p->next_listen_ns)
		return 0;
	p->next_listen_ns = now + LISTEN_NS;
	return 1;
}

/* Changes handed over, then the channels, then (when due) a listener.
 * Return the work done. */
static long pass(struct ivc_poller *p)
{
	long work = 0;

	if (ivc_poller_requests_pending(p))
		work += ivc_poller_take_requests(p);
	work += serve(p);
	if (listeners_due(p, work == 0))
		work += serve_listener(p);
	return work;
}

/* ---- idle ---- */

/* Tell each peer which CPU we run on (its waits keep the same-CPU rule
 * too); again at each idle period: an unpinned loop may move. */
static void note_cpus(struct ivc_poller *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->v[i].dead)
			ivc_channel_note_cpu(p->v[i].ch);
}

/* A channel whose peer runs on our CPU, or NULL. */
static struct ivc_channel *sharing_cpu(struct ivc_poller *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->v[i].dead && ivc_channel_shares_cpu(p->v[i].ch))
			return p->v[i].ch;
	return NULL;
}

/* A channel with something to receive, or NULL. */
static struct ivc_channel *ready_one(struct ivc_poller *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->v[i].dead && ivc_channel_probe(p->v[i].ch, IVC_EVI_RX) != 0)
			return p->v[i].ch;
	return NULL;
}

/* Each channel's receiving side was waiting: count on each the counter at
 * @off in struct ivc_side_stats (yields, sleeps). */
static void count_all(struct ivc_poller *p, size_t off)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->v[i].dead)
			IVC_COUNT((uint64_t *)((char *)&p->v[i].ch->rxs.st + off), 1);
}

/* Spun out (adaptive, no peer on our CPU): a couple of yields let a
 * preempted peer finish before we pay for a sleep, as a channel wait does.
 * Return 1 if something became ready. */
static int yield_after_spin(struct ivc_poller *p)
{
	int i;

	for (i = 0; i < IVC_YIELDS_AFTER_SPIN; i++) {
		sched_yield();
		count_all(p, offsetof(struct ivc_side_stats, yields));
		if (ready_one(p))
			return 1;
	}
	return 0;
}

/* Idle: spin for the budget, or yield while a peer shares our CPU (the
 * same rule as a channel wait: spinning would only delay the peer).
 * Return 1 when something became ready or needs a pass. */
static int idle_spin(struct ivc_poller *p, uint64_t deadline)
{
	struct ivc_channel *share, *ch;
	uint64_t start, now, budget;
	unsigned i = 0;

	if (p->mode == IVC_MODE_BLOCK)
		return 0;
	share = sharing_cpu(p);
	budget = p->mode == IVC_MODE_POLL ? POLL_SLICE_NS : ivc_backoff_budget(&p->bo);
	start = ivc_now_ns();
	for (;;) {
		ch = ready_one(p);
		if (ch) {
			IVC_COUNT(&ch->rxs.st.spin_hits, 1);
			ivc_backoff_hit(&p->bo, ivc_now_ns() - start);
			return 1;
		}
		if (share) {
			sched_yield();
			IVC_COUNT(&share->rxs.st.yields, 1);
		} else {
			ivc_cpu_relax();
			if (++i & 63)
				continue;
		}
		/* Poll mode leaves every millisecond to look for a hang-up
		 * (serve() checks liveness) and the listeners, but never
		 * sleeps. */
		if (stopping(p) || ivc_poller_requests_pending(p))
			return 1;
		now = ivc_now_ns();
		if (now >= deadline)
			return 1;
		if (now - start >= budget)
			return p->mode == IVC_MODE_POLL || (!share && yield_after_spin(p));
	}
}

/* Arm every channel for RX (ivc_arm() also takes the stale edges of its
 * descriptor).  Return 1 if one turned out ready: do not sleep. */
static int arm_all(struct ivc_poller *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->v[i].dead && ivc_arm(p->v[i].ch, IVC_EV_RX) != 0)
			return 1;
	return 0;
}

/* Take the request eventfd's wake-up: the flags say what it was for. */
static void take_wakeup(struct ivc_poller *p)
{
	uint64_t v;

	if (read(p->req_fd, &v, sizeof(v)) < 0)
		(void)v;
}

/* Arm everything, re-check, sleep in epoll.  Return 0 or -errno. */
static int idle_sleep(struct ivc_poller *p, uint64_t deadline)
{
	struct epoll_event evs[16];
	uint64_t start = ivc_now_ns();
	int r;

	if (arm_all(p))
		return 0;
	count_all(p, offsetof(struct ivc_side_stats, sleeps));
	r = epoll_wait(p->ep, evs, (int)IVC_ARRAY_LEN(evs), ivc_ms_left(deadline));
	if (r < 0 && errno != EINTR)
		return -errno;
	take_wakeup(p);
	if (r > 0)
		ivc_backoff_slept(&p->bo, ivc_now_ns() - start);
	return 0;
}

/* ---- the two drivers ---- */

static int run_loop(struct ivc_poller *p, uint64_t deadline)
{
	int r;

	if ((p->flags & IVC_POLLER_PIN) && (r = ivc_pin_thread(p->cpu)) < 0)
		return r;
	__atomic_store_n(&p->stop, 0, __ATOMIC_RELAXED);
	note_cpus(p);
	while (!stopping(p) && (p->n || p->ln)) {
		if (pass(p) > 0)
			continue;
		if (ivc_now_ns() >= deadline)
			return -ETIMEDOUT;
		note_cpus(p);
		if (idle_spin(p, deadline))
			continue;
		r = idle_sleep(p, deadline);
		if (r)
			return r;
	}
	return 0;
}

IVC_PUBLIC int ivc_poller_run(struct ivc_poller *p, int timeout_ms)
{
	uint64_t deadline = ivc_deadline(timeout_ms);
	int r;

	if (!p)
		return -EINVAL;
	r = ivc_poller_own(p);
	if (r)
		return r;
	r = run_loop(p, deadline);
	ivc_poller_disown(p);
	return r;
}

/* A stop since the last dispatch.  Its wake-up of the descriptor is taken
 * with the stale ones, so the stop itself must be reported, once: else an
 * application told "idle" would block on a descriptor that will not wake
 * for it. */
static int took_stop(struct ivc_poller *p)
{
	return __atomic_exchange_n(&p->stop, 0, __ATOMIC_SEQ_CST) != 0;
}

/* Nothing was ready: arm every channel so that ivc_poller_fd() polls
 * readable for what comes next, and take the set's stale wake-ups.  Return
 * 0 when armed and quiet, 1 when the caller should pass again at once. */
static int dispatch_idle(struct ivc_poller *p)
{
	struct epoll_event evs[16];
	int i, n, again = 0;

	note_cpus(p);
	if (arm_all(p))
		return 1;
	take_wakeup(p);
	/* The channels' descriptors are level-triggered in the set: one
	 * look drops those that armed themselves quiet.  What is still
	 * there came after (a listener, a doorbell since we armed). */
	n = epoll_wait(p->ep, evs, (int)IVC_ARRAY_LEN(evs), 0);
	for (i = 0; i < n; i++)
		if (evs[i].data.ptr)
			again = 1;
	return again || ivc_poller_requests_pending(p) || took_stop(p);
}

IVC_PUBLIC int ivc_poller_dispatch(struct ivc_poller *p)
{
	long work;
	int r;

	if (!p)
		return -EINVAL;
	r = ivc_poller_own(p);
	if (r)
		return r;
	work = pass(p);
	if (!work)
		work = dispatch_idle(p);
	ivc_poller_disown(p);
	return work > INT_MAX ? INT_MAX : (int)work;
}
