/* SPDX-License-Identifier: MIT */
/*
 * The run-to-completion loop: one (pinned) thread serves many channels.
 * Busy: call each ready channel's callback, no system call.  Idle: spin
 * for the adaptive budget, then arm every channel and sleep in one epoll
 * over all their descriptors.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ivc/placement.h>
#include <ivc/poller.h>
#include <ivc/wait.h>

#include "backoff.h"
#include "channel.h"
#include "clock.h"
#include "compiler.h"

struct poll_entry {
	struct ivc_channel *ch;
	ivc_poll_cb cb;
	void *arg;
	int dead;
};

struct ivc_poller {
	struct poll_entry *v;
	size_t n, cap;
	int ep;
	int stop_fd;
	int stop;
	int cpu;
	int mode;
	struct ivc_backoff bo;
};

IVC_PUBLIC int ivc_poller_create(const struct ivc_poller_options *opts,
				 struct ivc_poller **out)
{
	struct ivc_poller *p;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int r;

	if (!out || (opts && (opts->mode < IVC_MODE_ADAPTIVE ||
			      opts->mode > IVC_MODE_BLOCK || opts->cpu < -1)))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cpu = opts ? opts->cpu : -1;
	p->mode = opts ? opts->mode : IVC_MODE_ADAPTIVE;
	p->bo.spin_max_ns = opts && opts->spin_max_ns ? opts->spin_max_ns : 50000u;
	p->bo.est_ns = p->bo.spin_max_ns / 2;
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->ep < 0 || p->stop_fd < 0 ||
	    epoll_ctl(p->ep, EPOLL_CTL_ADD, p->stop_fd, &ev) < 0) {
		r = -errno;
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
			p->v[i].ch->poller = NULL;
	if (p->ep >= 0)
		close(p->ep);
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	free(p->v);
	free(p);
}

IVC_PUBLIC int ivc_poller_add(struct ivc_poller *p, struct ivc_channel *ch,
			      ivc_poll_cb cb, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (!p || !ch || !cb)
		return -EINVAL;
	if (ch->poller)
		return -EEXIST;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct poll_entry *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	ev.data.ptr = ch;
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, ch->epfd, &ev) < 0)
		return -errno;
	p->v[p->n++] = (struct poll_entry){ ch, cb, arg, 0 };
	ch->poller = p;
	return 0;
}

static void entry_drop(struct ivc_poller *p, size_t i)
{
	if (p->v[i].ch) {
		(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, p->v[i].ch->epfd, NULL);
		p->v[i].ch->poller = NULL;
	}
	p->v[i] = p->v[--p->n];
}

/* A channel closed while registered (maybe from its own callback, in the
 * middle of serve()): unhook it now, drop its entry at the next pass. */
void ivc_poller_forget(void *pv, struct ivc_channel *ch)
{
	struct ivc_poller *p = pv;
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (p->v[i].ch != ch)
			continue;
		(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, ch->epfd, NULL);
		ch->poller = NULL;
		p->v[i].ch = NULL;
		p->v[i].dead = 1;
	}
}

IVC_PUBLIC int ivc_poller_remove(struct ivc_poller *p, struct ivc_channel *ch)
{
	size_t i;

	if (!p || !ch)
		return -EINVAL;
	for (i = 0; i < p->n; i++) {
		if (p->v[i].ch == ch && !p->v[i].dead) {
			entry_drop(p, i);
			return 0;
		}
	}
	return -ENOENT;
}

IVC_PUBLIC int ivc_poller_stop(struct ivc_poller *p)
{
	uint64_t one = 1;

	if (!p)
		return -EINVAL;
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
	if (write(p->stop_fd, &one, sizeof(one)) < 0)
		(void)one; /* counter saturated: a wake-up is pending anyway */
	return 0;
}

static int stopping(struct ivc_poller *p)
{
	return __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE);
}

/* Call every ready channel's callback once.  Return the work done. */
static long serve(struct ivc_poller *p)
{
	long work = 0;
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct poll_entry *e = &p->v[i];
		int r;

		if (e->dead)
			continue;
		r = ivc_ready(e->ch, IVC_EV_RX);
		if (r == 0)
			continue;
		r = e->cb(e->ch, e->arg);
		if (r < 0)
			e->dead = 1;
		/* A dropped channel counts as work: the loop re-checks
		 * whether any channel is left before it sleeps. */
		work += r > 0 ? r : 1;
	}
	for (i = p->n; i-- > 0;)
		if (p->v[i].dead)
			entry_drop(p, i);
	return work;
}

static int any_ready(struct ivc_poller *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->v[i].dead && ivc_channel_ready(p->v[i].ch, IVC_EVI_RX) != 0)
			return 1;
	return 0;
}

/* Idle: spin for the budget.  Return 1 when something became ready. */
static int idle_spin(struct ivc_poller *p, uint64_t deadline)
{
	uint64_t start = ivc_now_ns(), now, budget;
	unsigned i = 0;

	if (p->mode == IVC_MODE_BLOCK)
		return 0;
	budget = p->mode == IVC_MODE_POLL ? 1000000ull : ivc_backoff_budget(&p->bo);
	for (;;) {
		if (any_ready(p)) {
			ivc_backoff_hit(&p->bo, ivc_now_ns() - start);
			return 1;
		}
		ivc_cpu_relax();
		if (++i & 63)
			continue;
		now = ivc_now_ns();
		/* Poll mode leaves every millisecond to look for a stop or a
		 * hang-up (serve() checks liveness), but never sleeps. */
		if (now - start >= budget || now >= deadline || stopping(p))
			return p->mode == IVC_MODE_POLL;
	}
}

/* Arm everything, re-check, sleep in epoll.  Return 0 or -errno. */
static int idle_sleep(struct ivc_poller *p, uint64_t deadline)
{
	struct epoll_event evs[16];
	uint64_t start = ivc_now_ns(), v;
	size_t i;
	int r;

	for (i = 0; i < p->n; i++)
		if (!p->v[i].dead && ivc_arm(p->v[i].ch, IVC_EV_RX) != 0)
			return 0;
	r = epoll_wait(p->ep, evs, (int)IVC_ARRAY_LEN(evs), ivc_ms_left(deadline));
	if (r < 0 && errno != EINTR)
		return -errno;
	if (read(p->stop_fd, &v, sizeof(v)) < 0)
		(void)v;
	if (r > 0)
		ivc_backoff_slept(&p->bo, ivc_now_ns() - start);
	return 0;
}

IVC_PUBLIC int ivc_poller_run(struct ivc_poller *p, int timeout_ms)
{
	uint64_t deadline = ivc_deadline(timeout_ms);
	int r;

	if (!p)
		return -EINVAL;
	if (p->cpu >= 0 && (r = ivc_pin_thread(p->cpu)) < 0)
		return r;
	__atomic_store_n(&p->stop, 0, __ATOMIC_RELAXED);
	while (!stopping(p) && p->n) {
		if (serve(p) > 0)
			continue;
		if (ivc_now_ns() >= deadline)
			return -ETIMEDOUT;
		if (idle_spin(p, deadline))
			continue;
		r = idle_sleep(p, deadline);
		if (r)
			return r;
	}
	return 0;
}
