/* SPDX-License-Identifier: MIT */
/*
 * bench_x_fd - the kernel byte-stream baselines: a Unix stream socket, TCP
 * over loopback (TCP_NODELAY), and a pair of pipes.  Block mode uses
 * blocking read()/write(); poll mode makes the descriptors non-blocking and
 * spins on EAGAIN, the busy-polling a latency-minded socket user would try.
 *
 * A stream receiver reads as much as is there (up to 64 KiB, or a whole
 * message when bigger) and counts messages by bytes; a stream sender writes
 * small messages 64 KiB at a time: each gets the batching it does best.
 */
#define _GNU_SOURCE
#include "bench_xport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FD_CHUNK 65536u

enum fd_kind { FD_UNIX, FD_TCP, FD_PIPE };

struct bx_pair {
	enum fd_kind kind;
	int lfd;                        /* listening socket */
	struct sockaddr_storage sa;     /* where it listens */
	socklen_t salen;
	int pipes[2][2];                /* [0]: initiator -> peer, [1]: back */
};

struct bx_ep {
	int rfd, wfd;
	bool poll;
	bool touch;
	size_t size;
	unsigned char *buf;             /* max(FD_CHUNK, size) bytes */
	size_t buf_len;
	uint64_t rx_bytes;              /* stream: bytes received so far */
	uint64_t tag;
};

static int fd_prepare_sock(struct bx_pair *p)
{
	int domain = p->kind == FD_TCP ? AF_INET : AF_UNIX;

	memset(&p->sa, 0, sizeof(p->sa));
	if (p->kind == FD_TCP) {
		struct sockaddr_in *in = (struct sockaddr_in *)&p->sa;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		p->salen = sizeof(*in);
	} else {
		static unsigned seq;
		struct sockaddr_un *un = (struct sockaddr_un *)&p->sa;
		int n;

		un->sun_family = AF_UNIX;
		/* Abstract name: nothing to clean up in the filesystem. */
		n = snprintf(un->sun_path + 1, sizeof(un->sun_path) - 1,
			     "ivc-bench-unix-%d-%u", (int)getpid(), seq++);
		p->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	}
	p->lfd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lfd < 0)
		return -errno;
	if (bind(p->lfd, (struct sockaddr *)&p->sa, p->salen) < 0 ||
	    listen(p->lfd, 1) < 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&p->sa, &p->salen) < 0)
		return -errno;
	return 0;
}

static int fd_prepare(enum fd_kind kind, struct bx_pair **pp)
{
	struct bx_pair *p = calloc(1, sizeof(*p));
	int ret = 0;

	if (!p)
		return -ENOMEM;
	p->kind = kind;
	p->lfd = -1;
	for (int i = 0; i < 2; i++)
		p->pipes[i][0] = p->pipes[i][1] = -1;
	if (kind == FD_PIPE) {
		for (int i = 0; i < 2 && !ret; i++)
			if (pipe2(p->pipes[i], O_CLOEXEC) < 0)
				ret = -errno;
	} else {
		ret = fd_prepare_sock(p);
	}
	*pp = p;        /* release() cleans up after a failure, too */
	return ret;
}

static int prep_unix(const struct bx_cfg *c, struct bx_pair **pp)
{
	(void)c;
	return fd_prepare(FD_UNIX, pp);
}

static int prep_tcp(const struct bx_cfg *c, struct bx_pair **pp)
{
	(void)c;
	return fd_prepare(FD_TCP, pp);
}

static int prep_pipe(const struct bx_cfg *c, struct bx_pair **pp)
{
	(void)c;
	return fd_prepare(FD_PIPE, pp);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The descriptors are the children's now. */
static void fd_forked(struct bx_pair *p)
{
	close_fd(&p->lfd);
	for (int i = 0; i < 2; i++) {
		close_fd(&p->pipes[i][0]);
		close_fd(&p->pipes[i][1]);
	}
}

static void fd_release(struct bx_pair *p)
{
	if (!p)
		return;
	fd_forked(p);
	free(p);
}

/* Accept one connection within BX_OPEN_WAIT_MS. */
static int accept_one(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int ret = poll(&pfd, 1, BX_OPEN_WAIT_MS), fd;

	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int connect_one(const struct bx_pair *p)
{
	int fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* The listener was bound before the fork: no retry needed. */
	if (connect(fd, (const struct sockaddr *)&p->sa, p->salen) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int sock_open(struct bx_pair *p, enum bx_role r)
{
	int fd, one = 1;

	if (r == BX_INITIATOR)
		fd = accept_one(p->lfd);
	else
		fd = connect_one(p);
	close_fd(&p->lfd);
	if (fd >= 0 && p->kind == FD_TCP &&
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void fd_close(struct bx_ep *e)
{
	if (!e)
		return;
	if (e->wfd != e->rfd)
		close_fd(&e->wfd);
	close_fd(&e->rfd);
	free(e->buf);
	free(e);
}

static int fd_open(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		   struct bx_ep **ep)
{
	struct bx_ep *e = calloc(1, sizeof(*e));
	int ret = 0;

	if (!e)
		return -ENOMEM;
	e->rfd = e->wfd = -1;
	e->poll = c->mode == IVC_MODE_POLL;
	e->touch = c->touch;
	e->size = c->size;
	e->buf_len = c->size > FD_CHUNK ? c->size : FD_CHUNK;
	e->buf = malloc(e->buf_len);
	if (!e->buf) {
		fd_close(e);
		return -ENOMEM;
	}
	if (p->kind == FD_PIPE) {
		int out = r == BX_INITIATOR ? 0 : 1;

		e->wfd = p->pipes[out][1];
		e->rfd = p->pipes[!out][0];
		p->pipes[out][1] = p->pipes[!out][0] = -1;
		fd_forked(p);   /* the other side's ends: else no EOF */
	} else if ((ret = sock_open(p, r)) >= 0) {
		e->rfd = e->wfd = ret;
		ret = 0;
	}
	if (!ret && e->poll &&
	    (fcntl(e->rfd, F_SETFL, O_NONBLOCK) < 0 || fcntl(e->wfd, F_SETFL, O_NONBLOCK) < 0))
		ret = -errno;
	if (ret < 0) {
		fd_close(e);
		return ret;
	}
	*ep = e;
	return 0;
}

/* After a failed read/write: whether to try again (EINTR; EAGAIN in poll
 * mode, after a pause). */
static bool retry(void)
{
	if (errno == EAGAIN)
		bx_relax();
	return errno == EINTR || errno == EAGAIN;
}

/* Write all @len bytes (spinning on EAGAIN in poll mode). */
static int write_all(struct bx_ep *e, const unsigned char *b, size_t len)
{
	while (len) {
		ssize_t n = write(e->wfd, b, len);

		if (n < 0) {
			if (!retry())
				return -errno;
			continue;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read at least @min and at most @max bytes; 0 at EOF before any. */
static ssize_t read_some(struct bx_ep *e, unsigned char *b, size_t min, size_t max)
{
	size_t got = 0;

	while (got < min) {
		ssize_t n = read(e->rfd, b + got, max - got);

		if (n < 0) {
			if (!retry())
				return -errno;
			continue;
		}
		if (n == 0)
			return got ? -EPIPE : 0;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int fd_send(struct bx_ep *e, uint64_t tag)
{
	bx_fill(e->buf, e->size, tag);
	return write_all(e, e->buf, e->size);
}

static int fd_recv(struct bx_ep *e, uint64_t *tag)
{
	ssize_t n = read_some(e, e->buf, e->size, e->size);

	if (n <= 0)
		return n < 0 ? (int)n : -EPIPE;
	*tag = bx_read(e->buf, e->size, e->touch);
	return 0;
}

static int fd_send_burst(struct bx_ep *e, unsigned n)
{
	size_t per = e->buf_len / e->size;   /* messages per write */

	while (n) {
		size_t k = n < per ? n : per;
		int ret;

		for (size_t i = 0; i < k; i++)
			bx_fill(e->buf + i * e->size, e->size, e->tag++);
		if ((ret = write_all(e, e->buf, k * e->size)) < 0)
			return ret;
		n -= (unsigned)k;
	}
	return 0;
}

static int fd_recv_burst(struct bx_ep *e)
{
	uint64_t before = e->rx_bytes / e->size;

	while (e->rx_bytes / e->size == before) {
		ssize_t n = read_some(e, e->buf, 1, e->buf_len);

		if (n <= 0)
			return (int)n;
		bx_read(e->buf, (size_t)n, e->touch);
		e->rx_bytes += (uint64_t)n;
	}
	return (int)(e->rx_bytes / e->size - before);
}

#define FD_MODES (BX_MODE(IVC_MODE_BLOCK) | BX_MODE(IVC_MODE_POLL))

#define FD_XPORT(n, w, prep) { \
	.name = n, .what = w, .kind = BX_KIND_BASELINE, \
	.benches = BX_PINGPONG | BX_STREAM, .modes = FD_MODES, \
	.prepare = prep, .open = fd_open, .send = fd_send, .recv = fd_recv, \
	.send_burst = fd_send_burst, .recv_burst = fd_recv_burst, \
	.close = fd_close, .forked = fd_forked, .release = fd_release, }

const struct bench_xport bx_unix =
	FD_XPORT("unix", "Unix stream socket (read/write)", prep_unix);
const struct bench_xport bx_tcp =
	FD_XPORT("tcp", "TCP over loopback with TCP_NODELAY (read/write)", prep_tcp);
const struct bench_xport bx_pipe =
	FD_XPORT("pipe", "two pipes (read/write; 64 KiB pipe buffer)", prep_pipe);
