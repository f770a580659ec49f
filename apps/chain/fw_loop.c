/* SPDX-License-Identifier: MIT */
/*
 * --fw loop: a plain run-to-completion loop over the upstream channels,
 * each receive without waiting.  Waiting when a whole pass found nothing:
 *
 *  - one upstream left: ivc_wait() on it, which spins, yields and sleeps
 *    as the mode says (and yields at once when it shares its peer's CPU);
 *  - several: the public API has no wait over many channels (besides the
 *    poller), so the loop does what <ivc/wait.h> describes: poll mode
 *    spins; block mode arms every upstream (ivc_arm) and sleeps in epoll
 *    on their ivc_fd()s; adaptive mode spins for SPIN_NS, yields twice,
 *    then sleeps as block does.  The loop cannot know on which CPUs its
 *    peers run, so it spins even on a CPU it shares with them.
 *
 * While upstreams may still come, the listener is looked at about every
 * millisecond when busy, and is in the sleep set when idle.
 */
#define _GNU_SOURCE
#include "fw.h"

#include <errno.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#define SPIN_NS 50000u          /* ivc's default spin_max_ns */
#define CTL_EVERY_NS 1000000u
#define SLEEP_MS 1000           /* a re-check, not a synchronisation */

struct loop {
	struct fw *fw;
	int ep;
	int ctl_fd;             /* the listener's fd in the epoll set, or -1 */
	uint64_t idle_since, last_ctl;
	unsigned yields;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void ep_add(struct loop *lp, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	if (fd >= 0)
		(void)epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void ep_del(struct loop *lp, int fd)
{
	if (fd >= 0)
		(void)epoll_ctl(lp->ep, EPOLL_CTL_DEL, fd, NULL);
}

/* Take new upstreams; keep the sleep set in step. */
static int control(struct loop *lp)
{
	struct fw *fw = lp->fw;
	unsigned from = fw->n_up, i;
	int r;

	ep_del(lp, lp->ctl_fd);         /* (the listener may close) */
	r = fw_ctl_poll(fw);
	lp->ctl_fd = fw_ctl_fd(fw);
	ep_add(lp, lp->ctl_fd, NULL);
	if (fw->end_seen)       /* (EOF stays readable: out of the set) */
		ep_del(lp, fw->end_fd);
	for (i = from; i < fw->n_up; i++)
		ep_add(lp, ivc_fd(fw->up[i].ch), &fw->up[i]);
	lp->last_ctl = now_ns();
	return r;
}

/* One pass over the live upstreams.  Return packets handled, or
 * FW_DOWN_FAILED. */
static long pass(struct loop *lp)
{
	struct fw *fw = lp->fw;
	long work = 0;
	unsigned i;

	for (i = 0; i < fw->n_up; i++) {
		struct fw_up *u = &fw->up[i];
		int r;

		if (!u->live)
			continue;
		r = fw_serve(fw, u->ch);
		if (r > 0) {
			work += r;
		} else if (r == FW_DOWN_FAILED) {
			return r;
		} else if (r != -EAGAIN) {
			ep_del(lp, ivc_fd(u->ch));
			fw_up_ended(fw, u, r);
			work++;         /* a change: look again before sleeping */
		}
	}
	return work;
}

static struct fw_up *only_live(struct fw *fw)
{
	unsigned i;

	for (i = 0; i < fw->n_up; i++)
		if (fw->up[i].live)
			return &fw->up[i];
	return NULL;
}

/* Arm every live upstream and sleep until a doorbell, a hang-up or the
 * listener. */
static void sleep_all(struct loop *lp)
{
	struct fw *fw = lp->fw;
	struct epoll_event evs[8];
	unsigned i;

	for (i = 0; i < fw->n_up; i++)
		if (fw->up[i].live && ivc_arm(fw->up[i].ch, IVC_EV_RX) != 0)
			return;         /* ready (or gone): no sleep */
	(void)epoll_wait(lp->ep, evs, 8, SLEEP_MS);
}

static void idle(struct loop *lp)
{
	struct fw *fw = lp->fw;
	uint64_t now;

	if (fw->n_live == 0) {
		fw_ctl_wait(fw, SLEEP_MS);
		return;
	}
	if (!fw_accepting(fw) && fw->n_live == 1) {
		/* Its errors come back from the next receive. */
		(void)ivc_wait(only_live(fw)->ch, IVC_EV_RX, SLEEP_MS);
		return;
	}
	switch (fw->st.mode) {
	case IVC_MODE_POLL:
		cpu_relax();
		return;
	case IVC_MODE_ADAPTIVE:
		now = now_ns();
		if (!lp->idle_since)
			lp->idle_since = now;
		if (now - lp->idle_since < SPIN_NS) {
			cpu_relax();
			return;
		}
		if (lp->yields < 2) {
			lp->yields++;
			sched_yield();
			return;
		}
		break;
	case IVC_MODE_BLOCK:
		break;
	}
	sleep_all(lp);
	lp->idle_since = 0;
	lp->yields = 0;
}

int fw_run_loop(struct fw *fw)
{
	struct loop lp = { .fw = fw, .ctl_fd = -1 };
	int r = 0;

	lp.ep = epoll_create1(EPOLL_CLOEXEC);
	if (lp.ep < 0)
		return -errno;
	if (fw->end_fd >= 0)
		ep_add(&lp, fw->end_fd, NULL);
	r = control(&lp);
	while (r == 0) {
		long work = pass(&lp);

		if (work == FW_DOWN_FAILED) {
			r = fw->down_err;
			break;
		}
		if (fw_accepting(fw) &&
		    (work == 0 || now_ns() - lp.last_ctl >= CTL_EVERY_NS)) {
			r = control(&lp);
			if (r)
				break;
		}
		if (!fw_accepting(fw) && fw->n_live == 0)
			break;
		if (work) {
			lp.idle_since = 0;
			lp.yields = 0;
			continue;
		}
		idle(&lp);
	}
	close(lp.ep);
	return r;
}
