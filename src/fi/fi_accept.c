/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_accept.c - an endpoint's listener, served by a thread of its own.
 *
 * ivc's shm handshake needs the listener to answer (ivc_accept()); were
 * that done only from the application's progress calls, two ranks sending
 * to each other for the first time would each wait in ivc_connect() for
 * the other to accept.  The thread sleeps in poll(2) on the listener and a
 * stop eventfd, accepts, and hands each channel over through a locked list
 * and a notification eventfd that the progress engine drains.  The list
 * holds IVCFI_ACCEPT_MAX channels at most; full, the thread leaves the
 * listener alone until progress takes the list and rings resume_fd.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fi/fi_pvt.h"

/* The networks a peer on another host may connect from (tcp): the
 * comma-separated list in IVC_FI_ALLOW, else loopback only (ivc's tcp
 * default).  Read once; the strings live as long as the process. */
#define ALLOW_MAX 16
static const char *allow[ALLOW_MAX];
static size_t n_allow;
static pthread_once_t allow_once = PTHREAD_ONCE_INIT;

static void read_allow(void)
{
	const char *env = getenv("IVC_FI_ALLOW");
	char *copy, *save = NULL, *tok;

	if (!env || !*env || !(copy = strdup(env)))
		return;
	for (tok = strtok_r(copy, ",", &save); tok && n_allow < ALLOW_MAX;
	     tok = strtok_r(NULL, ",", &save))
		allow[n_allow++] = tok;
}

/* The lane the acceptor sends on is never used (one channel per
 * direction): make it as small as ivc allows.  Over tcp, what we consume
 * is told to the sender lazily (IVC_TCP_LAZY_RETURNS): with one channel
 * per direction our reports can never ride on data of ours, so told at
 * once they were one or two system calls at each end per message; now
 * once a quarter of its ring or buffers waits, or when it asks. */
static void listen_options(struct ivc_options *o, struct ivc_tcp_options *t)
{
	pthread_once(&allow_once, read_allow);
	ivc_options_init(o);
	o->tx = (struct ivc_geometry){ .slots = 2, .buf_size = 64, .buf_count = 1 };
	memset(t, 0, sizeof(*t));
	t->flags = IVC_TCP_LAZY_RETURNS;
	if (n_allow) {
		t->allow = allow;
		t->n_allow = n_allow;
	}
	o->tcp = t;
}

static void hand_over(struct ivcfi_acceptor *acc, struct ivc_channel *ch)
{
	pthread_mutex_lock(&acc->lock);
	if (acc->n_ready == acc->cap_ready) {
		size_t cap = acc->cap_ready ? acc->cap_ready * 2 : 8;
		struct ivc_channel **r = realloc(acc->ready, cap * sizeof(*r));
		if (!r) {
			pthread_mutex_unlock(&acc->lock);
			ivc_close(ch); /* the peer sees its channel reset */
			return;
		}
		acc->ready = r;
		acc->cap_ready = cap;
	}
	acc->ready[acc->n_ready++] = ch;
	__atomic_store_n(&acc->pending, 1u, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&acc->lock);
	uint64_t one = 1;
	ssize_t w = write(acc->notify_fd, &one, sizeof(one));
	(void)w; /* a full counter still polls readable */
}

static bool list_full(struct ivcfi_acceptor *acc)
{
	pthread_mutex_lock(&acc->lock);
	bool full = acc->n_ready >= IVCFI_ACCEPT_MAX;
	pthread_mutex_unlock(&acc->lock);
	return full;
}

static void accept_all(struct ivcfi_acceptor *acc)
{
	while (!list_full(acc)) {
		struct ivc_channel *ch;
		int rc = ivc_accept(acc->l, 0, &ch);
		if (rc == -EAGAIN || rc == -EINVAL)
			return;
		if (rc == 0)
			hand_over(acc, ch);
		/* A client's failed handshake is its own problem: go on. */
	}
}

static void *acceptor_main(void *arg)
{
	struct ivcfi_acceptor *acc = arg;
	struct pollfd fds[3] = {
		{ .fd = ivc_listener_fd(acc->l), .events = POLLIN },
		{ .fd = acc->stop_fd, .events = POLLIN },
		{ .fd = acc->resume_fd, .events = POLLIN },
	};
	uint64_t v;

	for (;;) {
		/* A full list: clients wait in the backlog (a negative
		 * descriptor is not polled). */
		fds[0].fd = list_full(acc) ? -1 : ivc_listener_fd(acc->l);
		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (fds[2].revents && read(acc->resume_fd, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			break;
		if (fds[0].revents)
			accept_all(acc);
	}
	return NULL;
}

int ivcfi_acceptor_start(struct ivcfi_acceptor *acc, const char *addr)
{
	struct ivc_options o;
	struct ivc_tcp_options t;
	int rc;

	listen_options(&o, &t);
	rc = ivc_listen(addr, &o, &acc->l);
	if (rc < 0)
		return rc;
	acc->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	acc->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	acc->resume_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (acc->stop_fd < 0 || acc->notify_fd < 0 || acc->resume_fd < 0)
		goto fail;
	pthread_mutex_init(&acc->lock, NULL);
	if (pthread_create(&acc->thread, NULL, acceptor_main, acc)) {
		pthread_mutex_destroy(&acc->lock);
		goto fail;
	}
	acc->running = true;
	return 0;
fail:
	rc = -errno;
	if (acc->stop_fd >= 0)
		close(acc->stop_fd);
	if (acc->notify_fd >= 0)
		close(acc->notify_fd);
	if (acc->resume_fd >= 0)
		close(acc->resume_fd);
	acc->stop_fd = acc->notify_fd = acc->resume_fd = -1;
	ivc_listener_close(acc->l);
	acc->l = NULL;
	return rc ? rc : -ENOMEM;
}

size_t ivcfi_acceptor_take(struct ivcfi_acceptor *acc, struct ivc_channel ***out)
{
	*out = NULL;
	/* Progress runs on every CQ read: look without a system call. */
	if (!acc->running || !__atomic_load_n(&acc->pending, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&acc->lock);
	size_t n = acc->n_ready;
	*out = acc->ready;
	acc->ready = NULL;
	acc->n_ready = acc->cap_ready = 0;
	__atomic_store_n(&acc->pending, 0u, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&acc->lock);
	if (n >= IVCFI_ACCEPT_MAX) { /* the thread stopped accepting */
		uint64_t one = 1;
		ssize_t w = write(acc->resume_fd, &one, sizeof(one));
		(void)w; /* a full counter still polls readable */
	}
	return n;
}

bool ivcfi_acceptor_arm(struct ivcfi_acceptor *acc)
{
	uint64_t v;

	if (!acc->running)
		return true;
	/* Clear first, then look: a hand-over after the look writes the
	 * eventfd again, so the sleep that follows wakes. */
	if (read(acc->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return true;
	return !__atomic_load_n(&acc->pending, __ATOMIC_ACQUIRE);
}

void ivcfi_acceptor_stop(struct ivcfi_acceptor *acc)
{
	if (!acc->running)
		return;
	uint64_t one = 1;
	ssize_t w = write(acc->stop_fd, &one, sizeof(one));
	(void)w;
	pthread_join(acc->thread, NULL);
	acc->running = false;
	for (size_t i = 0; i < acc->n_ready; i++)
		ivc_close(acc->ready[i]);
	free(acc->ready);
	acc->ready = NULL;
	acc->n_ready = acc->cap_ready = 0;
	pthread_mutex_destroy(&acc->lock);
	close(acc->stop_fd);
	close(acc->notify_fd);
	close(acc->resume_fd);
	ivc_listener_close(acc->l);
	acc->l = NULL;
}
