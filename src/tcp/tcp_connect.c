/* SPDX-License-Identifier: MIT */
/* Connecting over tcp (tcp_pvt.h): retried while nothing listens yet,
 * within the caller's timeout; then HELLO, and the listener's answer. */
#include "tcp/tcp_pvt.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock_pvt.h"

/* One attempt: the connected socket, -ECONNREFUSED (nobody listens),
 * -ETIMEDOUT, or -errno. */
static int connect_once(const struct tcp_addr *a, uint64_t deadline)
{
	struct pollfd p;
	int e = 0, n;
	socklen_t len = sizeof(e);
	int s = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (s < 0)
		return -errno;
	if (connect(s, (const struct sockaddr *)&a->ss, a->len) == 0)
		return s;
	if (errno != EINPROGRESS) {
		e = errno;
		goto fail;
	}
	p = (struct pollfd){ s, POLLOUT, 0 };
	do
		n = poll(&p, 1, ivc_ms_left(deadline));
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		e = n ? errno : ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (!e)
		return s;
fail:
	close(s);
	return -e;
}

/* Connect, retrying every 1..50 ms while nobody listens, until @deadline.
 * With @timeout_ms 0 one attempt, which may take a handshake step's time
 * (a listener must answer; only its absence is not waited for). */
static int connect_sock(const struct tcp_addr *a, int timeout_ms, uint64_t deadline)
{
	uint64_t pause = 1000000ull;

	if (timeout_ms == 0)
		deadline = ivc_deadline(IVC_TCP_STEP_MS);
	for (;;) {
		int s = connect_once(a, deadline);

		if (s != -ECONNREFUSED)
			return s;
		if (timeout_ms == 0 || ivc_now_ns() + pause >= deadline)
			return timeout_ms == 0 ? s : -ETIMEDOUT;
		nanosleep(&(struct timespec){ 0, (long)pause }, NULL);
		if (pause < 50000000ull)
			pause *= 2;
	}
}

/* HELLO (with a nonce when we hold a key), the key's exchange, then the
 * listener's answer: its lane, or why it refused. */
static int handshake(int s, const struct tcp_opts *o, int timeout_ms, uint64_t deadline,
		     struct tcp_peer_hs *p)
{
	uint64_t step = ivc_deadline(IVC_TCP_STEP_MS);
	uint8_t cn[IVC_TCP_NONCE] = { 0 };
	int r = ivc_tcp_sock_setup(s);

	if (timeout_ms > 0 && deadline < step)
		step = deadline;
	if (!r && o->psk)
		r = ivc_tcp_nonce(cn);
	if (!r)
		r = ivc_tcp_hs_send(s, TCP_HELLO, &o->txg, 0,
				    ivc_tcp_hs_flags(o) | (o->psk ? TCP_HS_PSK : 0u), cn, step);
	if (!r && o->psk)
		r = ivc_tcp_auth_client(s, o, cn, step);
	if (!r)
		r = ivc_tcp_hs_recv(s, TCP_WELCOME, o->peer_lane_max, p, step);
	/* Dropped before an answer: it never took us (ivc_connect()). */
	return r == -ECONNRESET ? -ECONNREFUSED : r;
}

int ivc_tcp_connect(const char *addr, const struct ivc_options *opts,
		    int timeout_ms, struct ivc_channel **out)
{
	uint64_t deadline = ivc_deadline(timeout_ms);
	struct tcp_xport *t = NULL;
	struct tcp_peer_hs p;
	struct tcp_opts o;
	struct tcp_addr a;
	int r = ivc_tcp_addr(addr, &a), s;

	if (!r)
		r = ivc_tcp_opts(opts, &o);
	if (r)
		return r;
	/* Our lane first: one we cannot have fails before anyone hears of us.
	 * (The allow list is a listener's: a connector talks to whom it named.) */
	r = ivc_tcp_xport_new(&o, &t);
	if (r)
		goto out;
	s = connect_sock(&a, timeout_ms, deadline);
	if (s < 0) {
		ivc_tcp_xport_free(t);
		r = s == -ENETUNREACH || s == -EHOSTUNREACH ? -ECONNREFUSED : s;
		goto out;
	}
	r = handshake(s, &o, timeout_ms, deadline, &p);
	if (r) {
		close(s);
		ivc_tcp_xport_free(t);
		goto out;
	}
	r = ivc_tcp_channel(t, s, &o, &p, out);
out:
	ivc_tcp_opts_free(&o);
	return r;
}
