/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_cq_wait.c - how a blocking CQ read waits: progress in a short
 * spin (a reply often comes within microseconds), then sleep in poll(2) on
 * the descriptors of every channel that could bring something - armed
 * first, so the peer rings - and on the acceptors' notifications.  An
 * idle rank therefore costs no CPU (issue 18: ranks spinning at 100%).
 *
 * On a locking domain (FI_THREAD_SAFE and the like) the sleep happens
 * outside the domain's lock, so that other threads go on sending and
 * reading meanwhile.  A completion they queue may then come from no
 * descriptor the sleeper watches (a send written at once, a receive
 * matched to a message already here), so the CQ has an eventfd of its own
 * that ivcfi_cq_write() rings while anyone sleeps on it.  A channel
 * another thread closes while we poll its descriptor only makes the sleep
 * end early (POLLNVAL) or late by the timeout; its failure is a
 * completion, and that rings wake_fd.
 */
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fi/fi_pvt.h"

bool ivcfi_cq_has_work(const struct ivcfi_cq *cq)
{
	return cq->count || cq->err_head ||
	       __atomic_load_n(&cq->signaled, __ATOMIC_ACQUIRE);
}

bool ivcfi_cq_take_signal(struct ivcfi_cq *cq)
{
	return __atomic_exchange_n(&cq->signaled, 0, __ATOMIC_ACQ_REL) != 0;
}

/* A CQ with a wait object has the eventfd even on a domain that does not
 * lock: fi_cq_signal() may come from any thread, and a completion written
 * after fi_trywait() must make the handed-out descriptor readable. */
int ivcfi_cq_wake_init(struct ivcfi_cq *cq)
{
	cq->wake_fd = -1;
	if (!cq->dom->locking && cq->wait_obj == FI_WAIT_NONE)
		return 0;
	cq->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return cq->wake_fd < 0 ? -FI_ENOMEM : 0;
}

void ivcfi_cq_wake_fini(struct ivcfi_cq *cq)
{
	if (cq->wake_fd >= 0)
		close(cq->wake_fd);
	cq->wake_fd = -1;
}

void ivcfi_cq_wake(struct ivcfi_cq *cq)
{
	/* sleepers is only ever non-zero on a locking domain, and read under
	 * the lock, like every write to the CQ; so is armed. */
	if (!cq->sleepers && !cq->armed)
		return;
	uint64_t one = 1;
	ssize_t w = write(cq->wake_fd, &one, sizeof(one));
	(void)w; /* a full counter still polls readable */
}

/* Returns true when something completed during the spin.  Between rounds
 * the lock is let go, so that a spinning reader does not shut out the
 * threads that would bring what it waits for. */
static bool spin(struct ivcfi_cq *cq)
{
	struct timespec t0;
	bool first = true;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (!first) {
			ivcfi_unlock(cq->dom);
			ivcfi_lock(cq->dom);
		}
		first = false;
		ivcfi_cq_progress(cq);
		if (ivcfi_cq_has_work(cq))
			return true;
	} while (ivcfi_elapsed_ns(&t0) < IVCFI_SPIN_NS);
	return false;
}

/* What rang the eventfd before now is seen by the look that follows (a
 * signal by its flag, a completion in the CQ); left to sleepers while
 * there are any, or one on its way into poll(2) would miss it. */
static void drain_wake(struct ivcfi_cq *cq)
{
	uint64_t v;

	if (cq->wake_fd >= 0 && !cq->sleepers) {
		ssize_t r = read(cq->wake_fd, &v, sizeof(v));
		(void)r; /* EAGAIN: nobody rang */
	}
}

void ivcfi_cq_sleep_begin(struct ivcfi_cq *cq)
{
	if (cq->wake_fd >= 0 && cq->dom->locking)
		cq->sleepers++;
}

/* The last sleeper out clears the eventfd: earlier ones leave it set, or
 * a sleeper still on its way into poll(2) would miss the ring. */
void ivcfi_cq_sleep_end(struct ivcfi_cq *cq)
{
	if (cq->wake_fd >= 0 && cq->dom->locking)
		cq->sleepers--;
	drain_wake(cq);
}

/* Sleep in poll(2) with the lock let go.  Counted among the CQ's sleepers
 * from before the lock is dropped, so a completion written after that
 * rings wake_fd. */
static void sleep_unlocked(struct ivcfi_cq *cq, struct pollfd *fds, int n,
			   int timeout_ms)
{
	ivcfi_cq_sleep_begin(cq);
	ivcfi_unlock(cq->dom);
	poll(fds, (nfds_t)n, timeout_ms);
	ivcfi_lock(cq->dom);
	ivcfi_cq_sleep_end(cq);
}

int ivcfi_cq_wait_fds(struct ivcfi_cq *cq, struct pollfd *fds, int max)
{
	int n = 0;

	if (ivcfi_cq_has_work(cq))
		return -1;
	if (cq->wake_fd >= 0 && n < max) {
		fds[n].fd = cq->wake_fd;
		fds[n].events = POLLIN;
		fds[n++].revents = 0;
	}
	for (size_t i = 0; i < cq->n_eps; i++) {
		int k = ivcfi_ep_wait_fds(cq->eps[i], fds + n, max - n);
		if (k < 0)
			return -1; /* armed too late: something is ready */
		n += k;
	}
	return n;
}

void ivcfi_cq_sleep(struct ivcfi_cq *cq, int timeout_ms)
{
	if (!spin(cq))
		ivcfi_cq_block(cq, timeout_ms);
}

void ivcfi_cq_block(struct ivcfi_cq *cq, int timeout_ms)
{
	int cap = IVCFI_WAIT_FDS0, n;
	struct pollfd *fds;

	fds = malloc((size_t)cap * sizeof(*fds));
	n = fds ? ivcfi_cq_collect(cq, &fds, &cap, 0) : -FI_ENOMEM;
	if (n == -FI_ENOMEM) /* watch nothing: look again soon */
		sleep_unlocked(cq, NULL, 0, timeout_ms < 0 || timeout_ms > 1 ? 1 : timeout_ms);
	else if (n >= 0)
		sleep_unlocked(cq, fds, n, timeout_ms);
	free(fds);
}

int ivcfi_cq_collect(struct ivcfi_cq *cq, struct pollfd **fds, int *cap, int at)
{
	int n;

	/* Every descriptor must be watched, or a message on one left out
	 * would wake nobody: grow until all fit. */
	while ((n = ivcfi_cq_wait_fds(cq, *fds + at, *cap - at)) == *cap - at) {
		struct pollfd *p = realloc(*fds, (size_t)*cap * 2 * sizeof(*p));
		if (!p)
			return -FI_ENOMEM;
		*fds = p;
		*cap *= 2;
	}
	return n;
}

int ivcfi_cq_trywait(struct ivcfi_cq *cq, struct pollfd **fds, int *cap, int at)
{
	int n;

	ivcfi_lock(cq->dom);
	cq->armed = false;
	drain_wake(cq);
	ivcfi_cq_progress(cq);
	n = ivcfi_cq_collect(cq, fds, cap, at);
	/* From here a completion written (by another thread, or by a call
	 * the application makes before it blocks) rings the eventfd. */
	cq->armed = n >= 0;
	ivcfi_unlock(cq->dom);
	return n == -1 ? -FI_EAGAIN : n;
}
