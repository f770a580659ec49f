/* SPDX-License-Identifier: MIT */
/*
 * bench_x_eventfd - an eventfd ping-pong: the cost of the kernel's wake-up
 * alone (the value carries the 8-byte tag, no payload).  It is the floor of
 * any transport that sleeps in the kernel, ivc's block mode included.
 */
#define _GNU_SOURCE
#include "bench_xport.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct bx_pair {
	int efd[2];             /* [0]: initiator -> peer, [1]: back */
};

struct bx_ep {
	int rfd, wfd;
};

static void efd_release(struct bx_pair *p)
{
	if (!p)
		return;
	for (int i = 0; i < 2; i++)
		if (p->efd[i] >= 0)
			close(p->efd[i]);
	free(p);
}

static int efd_prepare(const struct bx_cfg *c, struct bx_pair **pp)
{
	struct bx_pair *p = malloc(sizeof(*p));
	int flags = EFD_CLOEXEC | (c->mode == IVC_MODE_POLL ? EFD_NONBLOCK : 0);

	if (!p)
		return -ENOMEM;
	p->efd[0] = p->efd[1] = -1;
	*pp = p;
	for (int i = 0; i < 2; i++)
		if ((p->efd[i] = eventfd(0, flags)) < 0)
			return -errno;
	return 0;
}

static int efd_open(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		    struct bx_ep **ep)
{
	struct bx_ep *e = malloc(sizeof(*e));
	int out = r == BX_INITIATOR ? 0 : 1;

	(void)c;
	if (!e)
		return -ENOMEM;
	/* dup: the pair keeps its own, released separately. */
	e->wfd = dup(p->efd[out]);
	e->rfd = dup(p->efd[!out]);
	if (e->wfd < 0 || e->rfd < 0) {
		int err = -errno;

		if (e->wfd >= 0)
			close(e->wfd);
		if (e->rfd >= 0)
			close(e->rfd);
		free(e);
		return err;
	}
	*ep = e;
	return 0;
}

static void efd_close(struct bx_ep *e)
{
	if (!e)
		return;
	close(e->rfd);
	close(e->wfd);
	free(e);
}

static int efd_send(struct bx_ep *e, uint64_t tag)
{
	for (;;) {
		ssize_t n = write(e->wfd, &tag, sizeof(tag));

		if (n == (ssize_t)sizeof(tag))
			return 0;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

static int efd_recv(struct bx_ep *e, uint64_t *tag)
{
	for (;;) {
		ssize_t n = read(e->rfd, tag, sizeof(*tag));

		if (n == (ssize_t)sizeof(*tag))
			return 0;
		if (n < 0 && errno == EAGAIN)
			bx_relax();
		else if (n < 0 && errno != EINTR)
			return -errno;
	}
}

const struct bench_xport bx_eventfd = {
	.name = "eventfd",
	.what = "eventfd ping-pong: kernel wake-up only (8-byte counter; no payload)",
	.kind = BX_KIND_BASELINE,
	.benches = BX_PINGPONG,
	.modes = BX_MODE(IVC_MODE_BLOCK) | BX_MODE(IVC_MODE_POLL),
	.size_free = true,
	.prepare = efd_prepare,
	.open = efd_open,
	.send = efd_send,
	.recv = efd_recv,
	.close = efd_close,
	.release = efd_release,
};
