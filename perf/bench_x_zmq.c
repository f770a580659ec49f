/* SPDX-License-Identifier: MIT */
/*
 * bench_x_zmq - ZeroMQ over ipc://, a PAIR socket each side: the peer
 * library users reach for first.  zmq_send() copies in, zmq_recv() copies
 * out.  Each context's I/O thread is made after the process has been pinned,
 * so it inherits the same CPU: the placement is the whole library's.
 * Block mode waits in zmq_recv(); poll mode spins with ZMQ_DONTWAIT.
 */
#define _GNU_SOURCE
#include "bench_xport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

struct bx_pair {
	char path[96];          /* the ipc socket file */
	char endpoint[112];     /* "ipc://" path */
};

struct bx_ep {
	void *ctx, *sock;
	int flags;              /* ZMQ_DONTWAIT in poll mode */
	bool touch;
	size_t size;
	unsigned char *buf;
	uint64_t tag;
};

static int zmq_err(void)
{
	return -zmq_errno();
}

static int zq_prepare(const struct bx_cfg *c, struct bx_pair **pp)
{
	static unsigned seq;
	struct bx_pair *p = calloc(1, sizeof(*p));
	const char *dir = getenv("TMPDIR");

	(void)c;
	if (!p)
		return -ENOMEM;
	snprintf(p->path, sizeof(p->path), "%s/ivc-bench-zmq-%d-%u",
		 dir && *dir && strlen(dir) < 48 ? dir : "/tmp", (int)getpid(), seq++);
	snprintf(p->endpoint, sizeof(p->endpoint), "ipc://%s", p->path);
	*pp = p;
	return 0;
}

static void zq_release(struct bx_pair *p)
{
	if (!p)
		return;
	unlink(p->path);
	free(p);
}

static void zq_close(struct bx_ep *e)
{
	if (!e)
		return;
	if (e->sock)
		zmq_close(e->sock);
	if (e->ctx)
		zmq_ctx_term(e->ctx);
	free(e->buf);
	free(e);
}

static int zq_open(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		   struct bx_ep **ep)
{
	struct bx_ep *e = calloc(1, sizeof(*e));
	int linger = 1000, ret = 0;

	if (!e)
		return -ENOMEM;
	e->flags = c->mode == IVC_MODE_POLL ? ZMQ_DONTWAIT : 0;
	e->touch = c->touch;
	e->size = c->size;
	e->buf = malloc(c->size);
	e->ctx = zmq_ctx_new();
	if (!e->buf || !e->ctx)
		ret = -ENOMEM;
	if (!ret && !(e->sock = zmq_socket(e->ctx, ZMQ_PAIR)))
		ret = zmq_err();
	/* Bounded: an unsent message never holds up the exit for long. */
	if (!ret && zmq_setsockopt(e->sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0)
		ret = zmq_err();
	/* The initiator binds; the peer's connect retries until it has. */
	if (!ret && (r == BX_INITIATOR ? zmq_bind(e->sock, p->endpoint)
				       : zmq_connect(e->sock, p->endpoint)) < 0)
		ret = zmq_err();
	if (ret) {
		zq_close(e);
		return ret;
	}
	*ep = e;
	return 0;
}

static int zq_send_buf(struct bx_ep *e, size_t len)
{
	for (;;) {
		if (zmq_send(e->sock, e->buf, len, e->flags) >= 0)
			return 0;
		if (zmq_errno() == EAGAIN)
			bx_relax();
		else if (zmq_errno() != EINTR)
			return zmq_err();
	}
}

/* Receive one message; its length, or -errno. */
static int zq_recv_buf(struct bx_ep *e)
{
	for (;;) {
		int n = zmq_recv(e->sock, e->buf, e->size, e->flags);

		if (n >= 0)
			return n;
		if (zmq_errno() == EAGAIN)
			bx_relax();
		else if (zmq_errno() != EINTR)
			return zmq_err();
	}
}

static int zq_send(struct bx_ep *e, uint64_t tag)
{
	bx_fill(e->buf, e->size, tag);
	return zq_send_buf(e, e->size);
}

static int zq_recv(struct bx_ep *e, uint64_t *tag)
{
	int n = zq_recv_buf(e);

	if (n < 0)
		return n;
	if ((size_t)n != e->size)
		return -EBADMSG;
	*tag = bx_read(e->buf, e->size, e->touch);
	return 0;
}

static int zq_send_burst(struct bx_ep *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = zq_send(e, e->tag++);

		if (ret < 0)
			return ret;
	}
	return 0;
}

static int zq_recv_burst(struct bx_ep *e)
{
	int n = zq_recv_buf(e);

	if (n == 0) {
		/* The empty end-of-stream message: acknowledge it, so the
		 * sender can close without lingering. */
		zmq_send(e->sock, "", 0, ZMQ_DONTWAIT);
		return 0;
	}
	if (n < 0)
		return n;
	if ((size_t)n != e->size)
		return -EBADMSG;
	bx_read(e->buf, e->size, e->touch);
	return 1;
}

static int zq_finish(struct bx_ep *e)
{
	int wait_ms = BX_OPEN_WAIT_MS, linger = 0, ret = zq_send_buf(e, 0);
	char ack;

	if (ret < 0)
		return ret;
	/* Once the receiver has the end, nothing is left to deliver. */
	zmq_setsockopt(e->sock, ZMQ_RCVTIMEO, &wait_ms, sizeof(wait_ms));
	if (zmq_recv(e->sock, &ack, sizeof(ack), 0) < 0)
		return zmq_err();
	zmq_setsockopt(e->sock, ZMQ_LINGER, &linger, sizeof(linger));
	return 0;
}

const struct bench_xport bx_zmq = {
	.name = "zmq",
	.what = "ZeroMQ PAIR over ipc:// (zmq_send/zmq_recv)",
	.kind = BX_KIND_BASELINE,
	.benches = BX_PINGPONG | BX_STREAM,
	.modes = BX_MODE(IVC_MODE_BLOCK) | BX_MODE(IVC_MODE_POLL),
	.prepare = zq_prepare,
	.open = zq_open,
	.send = zq_send,
	.recv = zq_recv,
	.send_burst = zq_send_burst,
	.recv_burst = zq_recv_burst,
	.finish = zq_finish,
	.close = zq_close,
	.release = zq_release,
};
