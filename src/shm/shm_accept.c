/* SPDX-License-Identifier: MIT */
/*
 * Listening over shm.  Handshakes never serialise the listener: each
 * accepted connection is a pending handshake, advanced without waiting
 * whenever its socket has something, and ivc_accept() waits on all of
 * them at once (one epoll set, which is also ivc_listener_fd()).  A silent
 * or slow client therefore delays nobody, and a timeout of 0 never waits.
 *
 * Bounds, so that clients cannot exhaust the listener: at most
 * IVC_SHM_MAX_PENDING handshakes at once, each step within
 * IVC_SHM_STEP_MS; when all are taken, the oldest client that has said
 * nothing for IVC_SHM_GRACE_MS makes room for the next (a real client
 * sends its HELLO as soon as it is connected).  A timerfd in the set wakes
 * the listener when a step is due or a client may be dropped.
 *
 * What a pending handshake holds: its socket; from its HELLO on, our lane
 * (whose memfd we freeze at READY), the client's lane (mapped, not
 * populated) and the channel, made before the WELCOME so that nothing on
 * our side can fail once the client has been told yes.
 */
#include "shm/shm_pvt.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/channel_pvt.h"
#include "endpoint/transport_pvt.h"
#include "shm/shm_addr_pvt.h"
#include "shm/shm_handshake_pvt.h"
#include "util/clock_pvt.h"
#include "util/compiler_pvt.h"
#include "util/fds_pvt.h"

enum { PEND_HELLO, PEND_READY };

struct pending {
	int sock;
	pid_t pid;               /* the client's (SO_PEERCRED) */
	int ready;               /* its socket has news (this pass) */
	int state;
	uint64_t since;          /* when it entered @state */
	struct shm_local loc;    /* PEND_READY: our lane's memfd */
	struct ivc_channel *ch;  /* PEND_READY */
};

struct shm_listener {
	struct ivc_listener base; /* first: the public handle */
	int fd;                   /* the listening socket */
	int ep;                   /* fd, timer and every pending socket */
	int timer;
	int fd_armed;             /* fd is watched (not while all slots are taken) */
	struct ivc_addr addr;
	dev_t dev;                /* the socket file we made */
	ino_t ino;
	struct shm_opts o;
	pid_t owner;              /* the process that listens (not a fork) */
	struct pending pend[IVC_SHM_MAX_PENDING];
	unsigned n;
};

#define MS_NS 1000000ull

/* ---- the set of pending handshakes ---- */

static void watch_fd(struct shm_listener *l, int on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0u, .data.fd = l->fd };

	if (l->fd_armed != on && epoll_ctl(l->ep, EPOLL_CTL_MOD, l->fd, &ev) == 0)
		l->fd_armed = on;
}

static int pending_add(struct shm_listener *l, int sock, pid_t pid)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = sock };
	struct pending *p = &l->pend[l->n];

	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, sock, &ev) < 0)
		return -errno;
	memset(p, 0, sizeof(*p));
	p->sock = sock;
	p->pid = pid;
	p->state = PEND_HELLO;
	p->since = ivc_now_ns();
	p->loc.memfd = -1;
	p->loc.bell[0] = p->loc.bell[1] = -1;
	l->n++;
	return 0;
}

/* Take @p out of the set; its socket is closed unless @keep_sock.  The
 * set stays in the order the clients came in. */
static void pending_remove(struct shm_listener *l, struct pending *p, int keep_sock)
{
	(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, p->sock, NULL);
	if (!keep_sock) {
		if (p->ch)
			ivc_close(p->ch);
		ivc_shm_local_free(&p->loc);
		close(p->sock);
	}
	l->n--;
	memmove(p, p + 1, (size_t)(&l->pend[l->n] - p) * sizeof(*p));
	watch_fd(l, 1);
}

static struct pending *pending_of(struct shm_listener *l, int sock)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (l->pend[i].sock == sock)
			return &l->pend[i];
	return NULL;
}

/* ---- one step of one handshake ---- */

/* Errors worth telling a refused client; others just hang up. */
static int tell_client(int err)
{
	return err == -EACCES || err == -EPROTONOSUPPORT || err == -EPROTO ||
	       err == -ENOMEM || err == -EMFILE || err == -ENFILE || err == -E2BIG;
}

/* A HELLO: map the client's lane, make ours and the channel, and say yes.
 * Takes @fds. */
static int serve_hello(struct shm_listener *l, struct pending *p,
		       const struct ivc_ctrl_msg *m, int *fds)
{
	struct ivc_lane_geom rxg;
	struct shm_xport *s;
	uint32_t start;
	int r = ivc_shm_xport_make(&l->o.txg, &p->loc, &s);

	if (r) {
		ivc_close_fds(fds, IVC_CTRL_NFDS);
		return r;
	}
	r = ivc_shm_peer_map(s, m, fds, l->o.peer_lane_max, p->pid, &rxg, &start);
	if (r) {
		ivc_shm_xport_destroy(&s->x);
		return r; /* (pending_remove() frees p->loc) */
	}
	r = ivc_shm_channel(s, p->sock, &l->o, &rxg, start, &p->ch);
	if (r)
		return r;
	/* Never waits: a fresh socket has room for one message. */
	r = ivc_shm_send_lane(p->sock, IVC_CTRL_WELCOME, l->o.mode, &p->loc, s,
			      ivc_now_ns());
	/* A client that left after its HELLO aborted; it broke nothing. */
	if (r)
		return r == -ECONNRESET ? -ECONNABORTED : r;
	p->state = PEND_READY;
	p->since = ivc_now_ns();
	return 0;
}

static int step_hello(struct shm_listener *l, struct pending *p)
{
	struct ivc_ctrl_msg m;
	int fds[IVC_CTRL_MAX_FDS], nfds, r = ivc_ctrl_try_recv(p->sock, &m, fds, &nfds);

	if (r == -EAGAIN)
		return r;
	if (r == -ECONNRESET) { /* left before saying anything */
		pending_remove(l, p, 0);
		return -EAGAIN;
	}
	if (!r && (m.type != IVC_CTRL_HELLO || nfds != IVC_CTRL_NFDS)) {
		ivc_close_fds(fds, nfds);
		r = -EPROTO;
	}
	if (!r)
		r = serve_hello(l, p, &m, fds);
	if (!r)
		return -EAGAIN; /* now waiting for its READY */
	if (tell_client(r))
		ivc_ctrl_reject(p->sock, r);
	pending_remove(l, p, 0);
	return r;
}

/* The READY: the client has mapped our lane, so we freeze it (no hole can
 * appear in it any more) and the channel is the caller's. */
static int step_ready(struct shm_listener *l, struct pending *p,
		      struct ivc_channel **out)
{
	struct ivc_ctrl_msg m;
	struct shm_xport *s;
	int fds[IVC_CTRL_MAX_FDS], nfds, r = ivc_ctrl_try_recv(p->sock, &m, fds, &nfds);

	if (r == -EAGAIN)
		return r;
	if (!r && m.type == IVC_CTRL_REJECT && !nfds) /* it could not take our lane */
		r = ivc_ctrl_reject_error(&m);
	else if (!r && (m.type != IVC_CTRL_READY || nfds)) {
		ivc_close_fds(fds, nfds);
		r = -EPROTO;
	}
	if (!r)
		r = ivc_shm_local_done(&p->loc);
	if (r) { /* it was told yes already: it only hears the hang-up */
		pending_remove(l, p, 0);
		return r == -ECONNRESET ? -ECONNABORTED : r;
	}
	s = (struct shm_xport *)p->ch->xp;
	s->sock = p->sock;
	ivc_shm_peer_populate(s);
	*out = p->ch;
	pending_remove(l, p, 1);
	return 0;
}

static int step(struct shm_listener *l, struct pending *p, struct ivc_channel **out)
{
	return p->state == PEND_HELLO ? step_hello(l, p) : step_ready(l, p, out);
}

/* ---- new clients, expiry, eviction ---- */

/* The oldest client still to send its HELLO, or NULL. */
static struct pending *oldest_silent(struct shm_listener *l)
{
	struct pending *old = NULL;
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (l->pend[i].state == PEND_HELLO &&
		    (!old || l->pend[i].since < old->since))
			old = &l->pend[i];
	return old;
}

static int backlog_waiting(const struct shm_listener *l)
{
	struct pollfd p = { l->fd, POLLIN, 0 };

	return poll(&p, 1, 0) > 0;
}

/* All slots are taken.  Return: 1 if one was freed for a waiting client.
 * Else the listening socket is watched only while a waiting client could
 * be served at once (an old silent one to drop), so that epoll does not
 * spin on a backlog we cannot take; the timer covers the rest. */
static int make_room(struct shm_listener *l)
{
	struct pending *old = oldest_silent(l);
	int droppable = old && old->since + IVC_SHM_GRACE_MS * MS_NS <= ivc_now_ns();

	if (droppable && backlog_waiting(l)) {
		pending_remove(l, old, 0);
		return 1;
	}
	watch_fd(l, droppable);
	return 0;
}

static int admit(struct shm_listener *l, int sock)
{
	uid_t uid;
	pid_t pid;
	int r = ivc_shm_peer_uid(sock, &uid, &pid);

	if (!r && !ivc_shm_uid_allowed(&l->o, uid, 1))
		r = -EACCES;
	if (r == -EACCES)
		ivc_ctrl_reject(sock, r);
	if (!r)
		r = pending_add(l, sock, pid);
	if (r)
		close(sock);
	return r;
}

/* Accept what waits in the backlog, running each new handshake as far as
 * it goes at once (its HELLO is usually there already). */
static int take_new(struct shm_listener *l, struct ivc_channel **out)
{
	for (;;) {
		int sock, r;

		if (l->n == IVC_SHM_MAX_PENDING && !make_room(l))
			return -EAGAIN;
		sock = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (sock < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* accept4() takes a descriptor number before it looks
			 * at the backlog: out of them is our error only if a
			 * client is really there. */
			if (errno == EAGAIN || ((errno == EMFILE || errno == ENFILE) &&
						!backlog_waiting(l)))
				return -EAGAIN;
			return -errno;
		}
		r = admit(l, sock);
		if (!r)
			r = step(l, &l->pend[l->n - 1], out);
		if (r != -EAGAIN)
			return r;
	}
}

/* Drop handshakes whose step is overdue.  A client that never said
 * anything goes quietly; one that broke off after its HELLO is reported. */
static int expire(struct shm_listener *l, uint64_t now)
{
	int r = -EAGAIN;
	unsigned i = 0;

	while (i < l->n) {
		struct pending *p = &l->pend[i];

		if (p->since + IVC_SHM_STEP_MS * MS_NS > now) {
			i++;
			continue;
		}
		if (p->state == PEND_READY)
			r = -EPROTO;
		pending_remove(l, p, 0);
	}
	return r;
}

/* The timer fires at the next step deadline; and, while the listening
 * socket is not watched, when the oldest silent client may be dropped. */
static void timer_set(struct shm_listener *l)
{
	const struct pending *old = l->fd_armed ? NULL : oldest_silent(l);
	struct itimerspec it;
	uint64_t t = old ? old->since + IVC_SHM_GRACE_MS * MS_NS : IVC_NEVER;
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (l->pend[i].since + IVC_SHM_STEP_MS * MS_NS < t)
			t = l->pend[i].since + IVC_SHM_STEP_MS * MS_NS;
	memset(&it, 0, sizeof(it));
	if (t != IVC_NEVER) {
		t = t ? t : 1; /* (0 would disarm it) */
		it.it_value.tv_sec = (time_t)(t / 1000000000ull);
		it.it_value.tv_nsec = (long)(t % 1000000000ull);
	}
	(void)timerfd_settime(l->timer, TFD_TIMER_ABSTIME, &it, NULL);
}

/* Mark the handshakes whose sockets have news.  Return: whether new
 * clients wait in the backlog. */
static int gather(struct shm_listener *l)
{
	struct epoll_event ev[IVC_SHM_MAX_PENDING + 2];
	int i, n = epoll_wait(l->ep, ev, (int)IVC_ARRAY_LEN(ev), 0), news = 0;
	uint64_t ticks;

	for (i = 0; i < n; i++) {
		struct pending *p = pending_of(l, ev[i].data.fd);

		if (ev[i].data.fd == l->fd)
			news = 1;
		else if (ev[i].data.fd == l->timer)
			(void)!read(l->timer, &ticks, sizeof(ticks));
		else if (p)
			p->ready = 1;
	}
	return news;
}

/* Step the handshakes that have news, oldest first: clients ready at the
 * same time are accepted in the order they connected. */
static int step_ready_ones(struct shm_listener *l, struct ivc_channel **out)
{
	unsigned i = 0, n;
	int r = -EAGAIN;

	while (i < l->n && r == -EAGAIN) {
		struct pending *p = &l->pend[i];

		if (!p->ready) {
			i++;
			continue;
		}
		p->ready = 0;
		n = l->n;
		r = step(l, p, out);
		if (l->n == n)
			i++; /* (else the next one moved into slot i) */
	}
	return r;
}

/* Everything that can be done now, without waiting.  Return: 0 (a
 * channel), an error to report, or -EAGAIN. */
static int accept_pass(struct shm_listener *l, struct ivc_channel **out)
{
	int news = gather(l), r = step_ready_ones(l, out);

	if (r == -EAGAIN)
		r = expire(l, ivc_now_ns());
	if (r == -EAGAIN && (news || l->n == IVC_SHM_MAX_PENDING))
		r = take_new(l, out);
	timer_set(l);
	return r;
}

static int shm_accept(struct ivc_listener *base, int timeout_ms,
		      struct ivc_channel **out)
{
	struct shm_listener *l = (struct shm_listener *)base;
	uint64_t deadline = ivc_deadline(timeout_ms);
	struct epoll_event ev;
	int r;

	*out = NULL;
	for (;;) {
		r = accept_pass(l, out);
		if (r != -EAGAIN || timeout_ms == 0)
			return r;
		if (ivc_now_ns() >= deadline)
			return -ETIMEDOUT;
		/* Level-triggered: this only waits; the next pass reads. */
		if (epoll_wait(l->ep, &ev, 1, ivc_ms_left(deadline)) < 0 && errno != EINTR)
			return -errno;
	}
}

/* ---- the listener ---- */

static int shm_listener_fd(const struct ivc_listener *base)
{
	return ((const struct shm_listener *)base)->ep;
}

/* A copy of the listener that fork() left in a child: its epoll set,
 * socket file and handshakes are still the parent's.  Let go of them
 * without touching them (no epoll_ctl on the shared set, no unlink, no
 * word to the clients). */
static void forked_copy_drop(struct shm_listener *l)
{
	unsigned i;

	for (i = 0; i < l->n; i++) {
		if (l->pend[i].ch)
			ivc_channel_discard(l->pend[i].ch);
		ivc_shm_local_free(&l->pend[i].loc);
		close(l->pend[i].sock);
	}
	l->n = 0;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static void shm_listener_close(struct ivc_listener *base)
{
	struct shm_listener *l = (struct shm_listener *)base;

	if (getpid() != l->owner)
		forked_copy_drop(l);
	while (l->n)
		pending_remove(l, &l->pend[0], 0);
	if (l->fd >= 0) {
		ivc_shm_unbind(&l->addr, l->dev, l->ino);
		close(l->fd);
	}
	if (l->ep >= 0)
		close(l->ep);
	if (l->timer >= 0)
		close(l->timer);
	ivc_shm_opts_free(&l->o);
	free(l);
}

static const struct ivc_listener_ops shm_listener_ops = {
	.accept = shm_accept,
	.fd = shm_listener_fd,
	.close = shm_listener_close,
};

static int watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* The socket, the epoll set and the timer. */
static int listener_open(struct shm_listener *l)
{
	int r, fd = ivc_shm_bind(&l->addr, &l->dev, &l->ino);

	if (fd < 0)
		return fd;
	l->fd = fd;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->ep < 0 || l->timer < 0)
		return -errno;
	r = watch(l->ep, l->fd);
	if (!r)
		r = watch(l->ep, l->timer);
	l->fd_armed = 1;
	return r;
}

int ivc_shm_listen(const char *addr, const struct ivc_options *opts,
		   struct ivc_listener **out)
{
	struct shm_listener *l;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->base.ops = &shm_listener_ops;
	l->fd = l->ep = l->timer = -1;
	l->owner = getpid();
	r = ivc_addr_parse(addr, &l->addr);
	if (!r)
		r = ivc_shm_opts(opts, &l->o);
	if (!r)
		r = listener_open(l);
	if (r) {
		shm_listener_close(&l->base);
		return r;
	}
	*out = &l->base;
	return 0;
}
