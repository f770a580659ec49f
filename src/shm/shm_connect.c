/* SPDX-License-Identifier: MIT */
/*
 * Connecting over shm.  Our lane is made before we connect, so that the
 * HELLO follows the connection at once (a listener drops clients that
 * stay silent while others wait).  The listener's uid is checked before
 * anything of ours goes to it: whoever holds an address first may not be
 * the service we meant (docs/security.md, the local squatter).
 */
#include "shm/shm_pvt.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/channel_pvt.h"
#include "shm/shm_addr_pvt.h"
#include "shm/shm_handshake_pvt.h"
#include "util/clock_pvt.h"
#include "util/fds_pvt.h"

/* Connect, retrying while nothing listens yet, until @deadline. */
static int connect_sock(const struct ivc_addr *a, int timeout_ms,
			uint64_t deadline)
{
	uint64_t pause = 1000000ull; /* 1 ms, doubling to 50 ms */

	for (;;) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int e;

		if (fd < 0)
			return -errno;
		if (connect(fd, (const struct sockaddr *)&a->sun, a->len) == 0)
			return fd;
		e = errno;
		close(fd);
		if (e == EPROTOTYPE || e == ENOTSOCK)
			return -ECONNREFUSED; /* something, but not an ivc socket */
		if (e == EACCES || e == EPERM)
			return -EPERM; /* the filesystem's permissions */
		if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN && e != EINTR)
			return -e;
		if (timeout_ms == 0)
			return -ECONNREFUSED;
		if (ivc_now_ns() + pause > deadline) {
			if (deadline == IVC_NEVER)
				continue;
			ivc_sleep_ns(deadline > ivc_now_ns() ? deadline - ivc_now_ns() : 0);
			return -ETIMEDOUT;
		}
		ivc_sleep_ns(pause);
		if (pause < 50000000ull)
			pause *= 2;
	}
}

/* Whoever listens there must be a uid we trust, before we say a word. */
static int check_listener(int sock, const struct shm_opts *o, pid_t *pid)
{
	uid_t uid;
	int r = ivc_shm_peer_uid(sock, &uid, pid);

	if (r)
		return r;
	return ivc_shm_uid_allowed(o, uid, 0) ? 0 : -EACCES;
}

/* The answer to our HELLO.  Takes the descriptors it came with. */
static int welcomed(const struct ivc_ctrl_msg *m, int *fds, int nfds)
{
	if (m->type == IVC_CTRL_REJECT) {
		ivc_close_fds(fds, nfds);
		return ivc_ctrl_reject_error(m);
	}
	if (m->type != IVC_CTRL_WELCOME || nfds != IVC_CTRL_NFDS) {
		ivc_close_fds(fds, nfds);
		return -EPROTO;
	}
	return 0;
}

/* HELLO, then the WELCOME: the server has mapped our lane, so we freeze
 * it, and map the server's. */
static int hello(int sock, const struct shm_opts *o, pid_t pid,
		 struct shm_local *loc, struct shm_xport *s, uint64_t deadline,
		 struct ivc_lane_geom *rxg, uint32_t *rx_start)
{
	struct ivc_ctrl_msg m;
	int fds[IVC_CTRL_MAX_FDS], nfds = 0;
	int r = ivc_shm_send_lane(sock, IVC_CTRL_HELLO, o->mode, loc, s, deadline);

	/* A server that refused us at once may have hung up before our
	 * HELLO went out: its REJECT is still queued for us to read. */
	if (!r || r == -ECONNRESET)
		r = ivc_ctrl_recv(sock, &m, fds, &nfds, r ? ivc_now_ns() : deadline);
	if (!r)
		r = welcomed(&m, fds, nfds);
	if (!r && (r = ivc_shm_local_done(loc)) != 0)
		ivc_close_fds(fds, nfds);
	if (!r)
		r = ivc_shm_peer_map(s, &m, fds, o->peer_lane_max, pid, rxg, rx_start);
	return r;
}

/* Everything after the connection.  Return: 0 with the channel, which
 * owns @sock; or an error (@sock is still the caller's). */
static int handshake(int sock, const struct shm_opts *o, uint64_t deadline,
		     struct shm_local *loc, struct shm_xport *s,
		     struct ivc_channel **out)
{
	struct ivc_lane_geom rxg;
	struct ivc_ctrl_msg ready;
	uint32_t rx_start;
	pid_t pid = 0;
	int r = check_listener(sock, o, &pid);

	if (!r)
		r = hello(sock, o, pid, loc, s, deadline, &rxg, &rx_start);
	if (r) {
		ivc_shm_xport_destroy(&s->x);
		/* A lane we cannot take: the listener hears why. */
		if (r == -E2BIG || r == -EPROTO)
			ivc_ctrl_reject(sock, r);
		/* A listener that hung up before its WELCOME never took us:
		 * it exited, was killed or closed with our connection still
		 * pending, or dropped it.  That is a refusal, not a broken
		 * protocol (a bad answer is -EPROTO, from welcomed()). */
		return r == -ECONNRESET ? -ECONNREFUSED : r;
	}
	r = ivc_shm_channel(s, sock, o, &rxg, rx_start, out);
	if (r)
		return r;
	ivc_ctrl_init(&ready, IVC_CTRL_READY);
	r = ivc_ctrl_send(sock, &ready, NULL, 0, deadline);
	if (r) {
		ivc_close(*out); /* (its transport does not own @sock yet) */
		*out = NULL;
		/* It said yes and then went away: -ECONNRESET, as for a
		 * peer that goes away once connected. */
		return r;
	}
	s->sock = sock;
	ivc_shm_peer_populate(s);
	return 0;
}

int ivc_shm_connect(const char *addr, const struct ivc_options *opts,
		    int timeout_ms, struct ivc_channel **out)
{
	uint64_t deadline = ivc_deadline(timeout_ms);
	struct shm_xport *s = NULL;
	struct shm_local loc;
	struct shm_opts o;
	struct ivc_addr a;
	int sock, r;

	r = ivc_addr_parse(addr, &a);
	if (r)
		return r;
	r = ivc_shm_opts(opts, &o);
	if (!r)
		r = ivc_shm_xport_make(&o.txg, &loc, &s);
	if (r) {
		ivc_shm_opts_free(&o);
		return r;
	}
	sock = connect_sock(&a, timeout_ms, deadline);
	if (sock < 0) {
		r = sock;
		ivc_shm_xport_destroy(&s->x);
	} else {
		if (timeout_ms == 0) /* the handshake itself */
			deadline = ivc_deadline(IVC_SHM_STEP_MS);
		r = handshake(sock, &o, deadline, &loc, s, out);
		if (r)
			close(sock);
	}
	ivc_shm_local_free(&loc);
	ivc_shm_opts_free(&o);
	return r;
}
