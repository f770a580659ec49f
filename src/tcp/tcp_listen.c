/* SPDX-License-Identifier: MIT */
/*
 * Listening over tcp (tcp_pvt.h).  ivc_accept() takes the next connection
 * from an allowed address (loopback only: nothing over the network vouches
 * for a peer), reads its HELLO within IVC_TCP_STEP_MS, answers WELCOME and
 * makes the channel.  One handshake at a time.
 */
#include "tcp/tcp_pvt.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/channel_pvt.h"
#include "endpoint/transport_pvt.h"
#include "util/clock_pvt.h"

struct tcp_listener {
	struct ivc_listener l; /* first: the public handle */
	int sock;
	struct tcp_opts o;
};

/* Wait for a connection until @deadline: 0, -EAGAIN (@timeout_ms 0),
 * -ETIMEDOUT, -errno. */
static int wait_client(int sock, int timeout_ms, uint64_t deadline)
{
	struct pollfd p = { sock, POLLIN, 0 };
	int n;

	do
		n = poll(&p, 1, timeout_ms == 0 ? 0 : ivc_ms_left(deadline));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n)
		return 0;
	return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
}

/* A failed handshake: tell the client why where it is its fault (or our
 * refusal), and say whether ivc_accept() reports it. */
static int refuse(int c, int r, uint64_t step)
{
	if (r == -EPROTO || r == -E2BIG || r == -EPROTONOSUPPORT || r == -EACCES)
		(void)ivc_tcp_hs_send(c, TCP_REJECT, NULL, r, 0, NULL, step);
	close(c);
	/* A client that left or stayed silent is nobody's error. */
	return r == -ECONNRESET || r == -ETIMEDOUT ? -EAGAIN : r;
}

/* The handshake with a client: its HELLO; the key's exchange, if either
 * side has one; the channel, made before we answer (a client told yes
 * must get a listener's channel); our WELCOME.  Takes @c. */
static int serve(struct tcp_listener *tl, int c, struct ivc_channel **out)
{
	uint64_t step = ivc_deadline(IVC_TCP_STEP_MS);
	struct tcp_xport *t = NULL;
	struct tcp_peer_hs p;
	int r = ivc_tcp_sock_setup(c);

	if (!r)
		r = ivc_tcp_hs_recv(c, TCP_HELLO, tl->o.peer_lane_max, &p, step);
	if (!r)
		r = ivc_tcp_auth_server(c, &tl->o, &p, step);
	if (!r)
		r = ivc_tcp_xport_new(&tl->o, &t);
	if (r)
		return refuse(c, r, step);
	r = ivc_tcp_channel(t, c, &tl->o, &p, out);
	if (r)
		return r;
	r = ivc_tcp_hs_send(c, TCP_WELCOME, &tl->o.txg, 0, ivc_tcp_hs_flags(&tl->o), NULL,
			    step);
	if (r) {
		ivc_channel_discard(*out);
		*out = NULL;
		return r == -ECONNRESET || r == -ETIMEDOUT ? -EAGAIN : r;
	}
	return 0;
}

static int tcp_accept(struct ivc_listener *l, int timeout_ms, struct ivc_channel **out)
{
	struct tcp_listener *tl = (struct tcp_listener *)l;
	uint64_t deadline = ivc_deadline(timeout_ms);

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int c, r = wait_client(tl->sock, timeout_ms, deadline);

		if (r)
			return r;
		c = accept4(tl->sock, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
				return -errno;
			continue; /* gone before we took it, or interrupted */
		}
		if (!ivc_tcp_allowed(&tl->o, &ss)) {
			close(c); /* not on the allow list: dropped unheard */
			continue;
		}
		r = serve(tl, c, out);
		if (r != -EAGAIN)
			return r;
		if (timeout_ms == 0)
			return -EAGAIN;
	}
}

static int tcp_listener_fd(const struct ivc_listener *l)
{
	return ((const struct tcp_listener *)l)->sock;
}

static void tcp_listener_close(struct ivc_listener *l)
{
	struct tcp_listener *tl = (struct tcp_listener *)l;

	close(tl->sock);
	ivc_tcp_opts_free(&tl->o);
	free(tl);
}

static const struct ivc_listener_ops tcp_listener_ops = {
	.accept = tcp_accept,
	.fd = tcp_listener_fd,
	.close = tcp_listener_close,
};

static int bind_listen(const struct tcp_addr *a)
{
	int one = 1, e;
	int s = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (s < 0)
		return -errno;
	/* A port whose last channels linger in TIME_WAIT is free to reuse. */
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	    bind(s, (const struct sockaddr *)&a->ss, a->len) == 0 &&
	    listen(s, 128) == 0)
		return s;
	e = errno;
	close(s);
	return e == EACCES ? -EPERM : -e;
}

int ivc_tcp_listen(const char *addr, const struct ivc_options *opts,
		   struct ivc_listener **out)
{
	struct tcp_listener *tl;
	struct tcp_addr a;
	int r = ivc_tcp_addr(addr, &a);

	if (r)
		return r;
	tl = calloc(1, sizeof(*tl));
	if (!tl)
		return -ENOMEM;
	r = ivc_tcp_opts(opts, &tl->o);
	if (!r)
		r = bind_listen(&a);
	if (r < 0) {
		ivc_tcp_opts_free(&tl->o);
		free(tl);
		return r;
	}
	tl->sock = r;
	tl->l.ops = &tcp_listener_ops;
	*out = &tl->l;
	return 0;
}
