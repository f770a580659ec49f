/* SPDX-License-Identifier: MIT */
/*
 * bench_x_ivc - ivc itself, three ways: the zero-copy API ("ivc"), the same
 * with small messages carried inside descriptors ("ivc-inline"), and the
 * copying ivc_send()/ivc_recv() ("ivc-copy").  The initiator listens, the
 * peer connects (ivc_connect waits for the listener).
 */
#define _GNU_SOURCE
#include "bench_xport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RX_BURST 64u

struct bx_pair {
	char addr[64];
};

struct bx_ep {
	struct ivc_channel *ch;
	bool copy;
	bool touch;
	size_t size;
	unsigned nb;            /* buffers per message (zero-copy) */
	struct ivc_buf *tx;     /* tx_cap entries */
	unsigned tx_cap;
	unsigned tx_have;       /* allocated, not yet used (stream leftovers) */
	struct ivc_buf rx[RX_BURST];
	unsigned char *cbuf;    /* copy API: the user's buffer */
	size_t cbuf_len;
	uint64_t tag;           /* stream: next tag */
	bool rx_first;          /* stream: the next buffer starts a message */
};

static int ivc_prepare(const struct bx_cfg *c, struct bx_pair **pp)
{
	static unsigned seq;
	struct bx_pair *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	/* xen: a service of the local domain, which the peer connects to. */
	if (c->ivc_via && !strcmp(c->ivc_via, "xen"))
		snprintf(p->addr, sizeof(p->addr), "xen:ivc-bench-%d-%u", (int)getpid(), seq++);
	else
		snprintf(p->addr, sizeof(p->addr), "shm:@ivc-bench-%d-%u", (int)getpid(), seq++);
	*pp = p;
	return 0;
}

static void ivc_release(struct bx_pair *p)
{
	free(p);
}

static void ivc_ep_close(struct bx_ep *e)
{
	if (!e)
		return;
	if (e->tx_have)
		ivc_tx_free(e->ch, e->tx, e->tx_have);
	if (e->ch)
		ivc_close(e->ch);
	free(e->tx);
	free(e->cbuf);
	free(e);
}

/* Size the endpoint's arrays from the channel's real geometry. */
static int ep_setup(struct bx_ep *e, const struct bx_cfg *c)
{
	struct ivc_info info;
	unsigned want;
	int ret;

	if ((ret = ivc_channel_info(e->ch, &info)) < 0)
		return ret;
	if (c->size > info.max_tx_msg || c->size > info.max_rx_msg)
		return -EMSGSIZE;
	e->size = c->size;
	e->touch = c->touch;
	e->nb = (unsigned)((c->size + info.tx.buf_size - 1) / info.tx.buf_size);
	/* Room for a whole burst of whole messages, bounded by the pool. */
	want = c->burst ? c->burst * e->nb : e->nb;
	if (want > info.tx.buf_count)
		want = info.tx.buf_count;
	e->tx_cap = want < e->nb ? e->nb : want;
	e->tx = calloc(e->tx_cap, sizeof(*e->tx));
	if (!e->tx)
		return -ENOMEM;
	if (e->copy) {
		e->cbuf_len = info.max_rx_msg > c->size ? info.max_rx_msg : c->size;
		e->cbuf = malloc(e->cbuf_len);
		if (!e->cbuf)
			return -ENOMEM;
	}
	return 0;
}

static int ivc_ep_open(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		       bool copy, unsigned flags, struct bx_ep **ep)
{
	struct ivc_options o;
	struct bx_ep *e = calloc(1, sizeof(*e));
	int ret;

	if (!e)
		return -ENOMEM;
	e->copy = copy;
	e->rx_first = true;
	ivc_options_init(&o);
	o.tx = c->geo;
	o.mode = c->mode;
	o.spin_max_ns = c->spin_max_ns;
	o.flags |= flags | c->ivc_flags;
	if (r == BX_INITIATOR) {
		struct ivc_listener *l;

		ret = ivc_listen(p->addr, &o, &l);
		if (ret == 0) {
			ret = ivc_accept(l, BX_OPEN_WAIT_MS, &e->ch);
			ivc_listener_close(l);
		}
	} else {
		ret = ivc_connect(p->addr, &o, BX_OPEN_WAIT_MS, &e->ch);
	}
	if (ret == 0)
		ret = ep_setup(e, c);
	if (ret < 0) {
		ivc_ep_close(e);
		return ret;
	}
	*ep = e;
	return 0;
}

static int open_zc(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		   struct bx_ep **ep)
{
	return ivc_ep_open(p, c, r, false, 0, ep);
}

static int open_inline(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		       struct bx_ep **ep)
{
	return ivc_ep_open(p, c, r, false, IVC_OPT_INLINE, ep);
}

static int open_copy(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		     struct bx_ep **ep)
{
	return ivc_ep_open(p, c, r, true, 0, ep);
}

/* ------------------------------------------------------------ zero-copy -- */

/* Fill message @m's buffers (e->tx[m*nb ...]) in place. */
static void zc_fill(struct bx_ep *e, unsigned m, uint64_t tag)
{
	struct ivc_buf *b = e->tx + (size_t)m * e->nb;
	size_t left = e->size;

	for (unsigned i = 0; i < e->nb; i++) {
		uint32_t l = left < b[i].cap ? (uint32_t)left : b[i].cap;

		if (i == 0)
			bx_fill(b[i].data, l, tag);
		else
			memset(b[i].data, (int)(tag & 0xff), l);
		b[i].len = l;
		b[i].flags = i + 1 < e->nb ? IVC_BUF_MORE : 0;
		left -= l;
	}
}

/* Allocate until at least @want buffers are held (at most tx_cap). */
static int zc_alloc(struct bx_ep *e, unsigned want)
{
	while (e->tx_have < want) {
		int ret = ivc_tx_alloc(e->ch, e->tx + e->tx_have, e->tx_cap - e->tx_have, -1);

		if (ret < 0)
			return ret;
		e->tx_have += (unsigned)ret;
	}
	return 0;
}

/* Send the first @n held buffers, keep the rest at the front. */
static int zc_push(struct bx_ep *e, unsigned n)
{
	unsigned sent = 0;

	while (sent < n) {
		int ret = ivc_tx_send(e->ch, e->tx + sent, n - sent, -1);

		if (ret < 0)
			return ret;
		sent += (unsigned)ret;
	}
	memmove(e->tx, e->tx + n, (e->tx_have - n) * sizeof(*e->tx));
	e->tx_have -= n;
	return 0;
}

static int zc_send(struct bx_ep *e, uint64_t tag)
{
	int ret = zc_alloc(e, e->nb);

	if (ret < 0)
		return ret;
	zc_fill(e, 0, tag);
	return zc_push(e, e->nb);
}

static int zc_send_burst(struct bx_ep *e, unsigned n)
{
	while (n) {
		unsigned m, want = n * e->nb;
		int ret;

		if (want > e->tx_cap)
			want = e->tx_cap - e->tx_cap % e->nb;
		/* Wait for one whole message; take what else is free. */
		if ((ret = zc_alloc(e, e->nb)) < 0)
			return ret;
		if (e->tx_have < want) {
			ret = ivc_tx_alloc(e->ch, e->tx + e->tx_have, want - e->tx_have, 0);
			if (ret > 0)
				e->tx_have += (unsigned)ret;
		}
		m = e->tx_have / e->nb;
		if (m > n)
			m = n;
		for (unsigned i = 0; i < m; i++)
			zc_fill(e, i, e->tag++);
		if ((ret = zc_push(e, m * e->nb)) < 0)
			return ret;
		n -= m;
	}
	return 0;
}

/* Receive one burst; count whole messages; *@tag: the last one's tag. */
static int zc_recv_some(struct bx_ep *e, uint64_t *tag, bool *first)
{
	int n = ivc_rx_burst(e->ch, e->rx, RX_BURST, -1), done = 0, ret;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		uint64_t t = bx_read(e->rx[i].data, e->rx[i].len, e->touch);

		if (*first)
			*tag = t;
		*first = !(e->rx[i].flags & IVC_BUF_MORE);
		done += *first;
	}
	if ((ret = ivc_rx_release(e->ch, e->rx, (unsigned)n)) < 0)
		return ret;
	return done;
}

static int zc_recv(struct bx_ep *e, uint64_t *tag)
{
	bool first = true;
	int ret;

	do
		ret = zc_recv_some(e, tag, &first);
	while (ret == 0);
	return ret < 0 ? ret : 0;
}

static int zc_recv_burst(struct bx_ep *e)
{
	uint64_t tag;
	int ret;

	/* A burst may end inside a chain: where it stopped is kept for the
	 * next call (waiting here for a message boundary could wait forever
	 * on a sender that keeps the ring partly full). */
	do
		ret = zc_recv_some(e, &tag, &e->rx_first);
	while (ret == 0);
	if (ret == -EPIPE && e->rx_first)
		return 0;
	return ret;
}

/* ----------------------------------------------------------------- copy -- */

static int copy_send(struct bx_ep *e, uint64_t tag)
{
	bx_fill(e->cbuf, e->size, tag);
	return ivc_send(e->ch, e->cbuf, e->size, -1);
}

static int copy_recv(struct bx_ep *e, uint64_t *tag)
{
	ssize_t n = ivc_recv(e->ch, e->cbuf, e->cbuf_len, -1);

	if (n < 0)
		return (int)n;
	if ((size_t)n != e->size)
		return -EBADMSG;
	*tag = bx_read(e->cbuf, (size_t)n, e->touch);
	return 0;
}

static int copy_send_burst(struct bx_ep *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = copy_send(e, e->tag++);

		if (ret < 0)
			return ret;
	}
	return 0;
}

static int copy_recv_burst(struct bx_ep *e)
{
	uint64_t tag;
	int ret = copy_recv(e, &tag);

	if (ret == -EPIPE)
		return 0;
	return ret < 0 ? ret : 1;
}

#define IVC_MODES (BX_MODE(IVC_MODE_POLL) | BX_MODE(IVC_MODE_ADAPTIVE) | \
		   BX_MODE(IVC_MODE_BLOCK))

#define IVC_XPORT(n, w, max, op, tx, rx, txb, rxb) { \
	.name = n, .what = w, .kind = BX_KIND_IVC, \
	.benches = BX_PINGPONG | BX_STREAM, .modes = IVC_MODES, .max_size = max, \
	.prepare = ivc_prepare, .open = op, .send = tx, .recv = rx, \
	.send_burst = txb, .recv_burst = rxb, .close = ivc_ep_close, \
	.release = ivc_release, }

const struct bench_xport bx_ivc =
	IVC_XPORT("ivc", "ivc zero-copy API (tx_alloc/tx_send; rx_burst/rx_release)", 0,
		  open_zc, zc_send, zc_recv, zc_send_burst, zc_recv_burst);
const struct bench_xport bx_ivc_inline =
	IVC_XPORT("ivc-inline",
		  "ivc zero-copy API with IVC_OPT_INLINE (<= 112 B inside the descriptor)", 112,
		  open_inline, zc_send, zc_recv, zc_send_burst, zc_recv_burst);
const struct bench_xport bx_ivc_copy =
	IVC_XPORT("ivc-copy", "ivc copying API (ivc_send/ivc_recv)", 0,
		  open_copy, copy_send, copy_recv, copy_send_burst, copy_recv_burst);
