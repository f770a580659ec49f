/* SPDX-License-Identifier: MIT */
/*
 * bench_x_ivc - ivc itself, three ways: the zero-copy API ("ivc"), the same
 * with small messages carried inside descriptors ("ivc-inline"), and the
 * copying ivc_send()/ivc_recv() ("ivc-copy").  The initiator listens, the
 * peer connects (ivc_connect waits for the listener).
 *
 * Split mode (bench_xport.h): the initiator connects instead, to an
 * `ivc-bench serve` whose echo (below) does what the local peer does, with
 * the message size learnt from each message.
 */
#define _GNU_SOURCE
#include "bench_xport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

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
	/* split mode's echo: what the lane we send on allows */
	size_t max_tx;
	uint32_t tx_buf_size;
};

/* A port of 127.0.0.1 nobody uses now (bound to 0, read, let go). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static int ivc_prepare(const struct bx_cfg *c, struct bx_pair **pp)
{
	static unsigned seq;
	struct bx_pair *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	/* xen: a service of the local domain, which the peer connects to;
	 * tcp: a port of 127.0.0.1 the kernel has just said is free. */
	if (c->ivc_via && !strncmp(c->ivc_via, "tcp", 3))
		snprintf(p->addr, sizeof(p->addr), "tcp:127.0.0.1:%d", free_port());
	else if (c->ivc_via && !strcmp(c->ivc_via, "xen"))
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

/* The options of an endpoint of transport @x (either side) for @c. */
static void ep_options(const struct bench_xport *x, const struct bx_cfg *c,
		       struct ivc_options *o)
{
	ivc_options_init(o);
	o->tx = c->geo;
	o->mode = c->mode;
	o->spin_max_ns = c->spin_max_ns;
	o->flags |= (x == &bx_ivc_inline ? IVC_OPT_INLINE : 0) | c->ivc_flags;
	/* --via tcp-lazy, tcp-queued, tcp-lazy-queued: both ends report
	 * consumption lazily, and/or a send is done once queued. */
	if (c->ivc_via && !strncmp(c->ivc_via, "tcp-", 4)) {
		static const struct ivc_tcp_options by_flags[] = {
			{ .flags = 0 },
			{ .flags = IVC_TCP_LAZY_RETURNS },
			{ .flags = IVC_TCP_QUEUED_SENDS },
			{ .flags = IVC_TCP_LAZY_RETURNS | IVC_TCP_QUEUED_SENDS },
		};

		o->tcp = &by_flags[(strstr(c->ivc_via, "lazy") ? 1 : 0) |
				   (strstr(c->ivc_via, "queued") ? 2 : 0)];
	}
}

/* The initiator's channel: accepted from the forked peer, or (split mode)
 * connected to the server's listener for this transport and mode. */
static int initiator_channel(struct bx_pair *p, const struct bench_xport *x,
			     const struct bx_cfg *c, const struct ivc_options *o,
			     struct ivc_channel **ch)
{
	struct ivc_listener *l;
	char addr[256];
	int ret;

	if (c->ivc_remote) {
		if ((ret = bx_split_addr(addr, sizeof(addr), c->ivc_remote, x, c->mode)) < 0)
			return ret;
		return ivc_connect(addr, o, BX_OPEN_WAIT_MS, ch);
	}
	ret = ivc_listen(p->addr, o, &l);
	if (ret == 0) {
		ret = ivc_accept(l, BX_OPEN_WAIT_MS, ch);
		ivc_listener_close(l);
	}
	return ret;
}

static int ivc_ep_open(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		       const struct bench_xport *x, struct bx_ep **ep)
{
	struct ivc_options o;
	struct bx_ep *e = calloc(1, sizeof(*e));
	int ret;

	if (!e)
		return -ENOMEM;
	e->copy = x == &bx_ivc_copy;
	e->rx_first = true;
	ep_options(x, c, &o);
	if (r == BX_INITIATOR)
		ret = initiator_channel(p, x, c, &o, &e->ch);
	else
		ret = ivc_connect(p->addr, &o, BX_OPEN_WAIT_MS, &e->ch);
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
	return ivc_ep_open(p, c, r, &bx_ivc, ep);
}

static int open_inline(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		       struct bx_ep **ep)
{
	return ivc_ep_open(p, c, r, &bx_ivc_inline, ep);
}

static int open_copy(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		     struct bx_ep **ep)
{
	return ivc_ep_open(p, c, r, &bx_ivc_copy, ep);
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

/* ------------------------------------------------- split mode: serving -- */

int bx_split_addr(char *buf, size_t len, const char *base, const struct bench_xport *x,
		  enum ivc_mode m)
{
	/* '-', not '.': xenstore's node names have no dots. */
	int n = snprintf(buf, len, "%s-%s-%s", base, x->name, bench_mode_str(m));

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int split_listen(const struct bench_xport *x, const struct bx_cfg *c,
			const char *addr, const struct ivc_xen_options *xo,
			struct ivc_listener **l)
{
	struct ivc_options o;

	ep_options(x, c, &o);
	o.xen = xo;
	return ivc_listen(addr, &o, l);
}

static int listen_zc(const struct bx_cfg *c, const char *addr,
		     const struct ivc_xen_options *xo, struct ivc_listener **l)
{
	return split_listen(&bx_ivc, c, addr, xo, l);
}

static int listen_inline(const struct bx_cfg *c, const char *addr,
			 const struct ivc_xen_options *xo, struct ivc_listener **l)
{
	return split_listen(&bx_ivc_inline, c, addr, xo, l);
}

static int listen_copy(const struct bx_cfg *c, const char *addr,
		       const struct ivc_xen_options *xo, struct ivc_listener **l)
{
	return split_listen(&bx_ivc_copy, c, addr, xo, l);
}

/* An endpoint that echoes on accepted channel @ch (owned by it from now
 * on, even on failure).  The size is learnt from each message, so the
 * array of buffers to send has room for the largest one our lane carries. */
static int echo_setup(struct ivc_channel *ch, bool copy, struct bx_ep **ep)
{
	struct bx_ep *e = calloc(1, sizeof(*e));
	struct ivc_info info;
	unsigned most;
	int ret;

	if (!e) {
		ivc_close(ch);
		return -ENOMEM;
	}
	e->ch = ch;
	e->copy = copy;
	e->touch = true;        /* ping-pong always reads every byte */
	if ((ret = ivc_channel_info(ch, &info)) < 0)
		goto fail;
	e->max_tx = info.max_tx_msg;
	e->tx_buf_size = info.tx.buf_size;
	most = (unsigned)((info.max_tx_msg + info.tx.buf_size - 1) / info.tx.buf_size);
	ret = -ENOMEM;
	if (!(e->tx = calloc(most, sizeof(*e->tx))))
		goto fail;
	if (copy) {
		e->cbuf_len = info.max_rx_msg > info.max_tx_msg ? info.max_rx_msg
								: info.max_tx_msg;
		if (!(e->cbuf = malloc(e->cbuf_len)))
			goto fail;
	}
	*ep = e;
	return 0;
fail:
	ivc_ep_close(e);
	return ret;
}

/* Echo @len-byte messages from now on, as the local peer of a point of
 * that size does (tx_cap = nb: it allocates exactly one message's
 * buffers).  -EBADMSG for a message with no room for a tag (not ivc-bench's
 * initiator), -EMSGSIZE for one our lane cannot carry back. */
static int echo_size(struct bx_ep *e, size_t len)
{
	if (len < sizeof(uint64_t))
		return -EBADMSG;
	if (len > e->max_tx)
		return -EMSGSIZE;
	e->size = len;
	e->nb = (unsigned)((len + e->tx_buf_size - 1) / e->tx_buf_size);
	e->tx_cap = e->nb;
	return 0;
}

/* Zero-copy: receive one whole message within @timeout_ms, reading every
 * byte as zc_recv() does; its tag and length.  A second message in the
 * same burst is not the ping-pong protocol (one message in flight):
 * -EBADMSG. */
static int echo_recv_zc(struct bx_ep *e, int timeout_ms, uint64_t *tag, size_t *len)
{
	bool first = true, end = false, extra = false;

	*tag = 0;
	*len = 0;
	while (!end) {
		int n = ivc_rx_burst(e->ch, e->rx, RX_BURST, timeout_ms), ret;

		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			const struct ivc_buf *b = &e->rx[i];

			if (end) {
				extra = true;
				break;
			}
			/* (A buffer shorter than a tag is not read: the
			 * message is refused by its length.) */
			if (b->len >= sizeof(*tag)) {
				uint64_t t = bx_read(b->data, b->len, e->touch);

				if (first)
					*tag = t;
			}
			*len += b->len;
			first = false;
			end = !(b->flags & IVC_BUF_MORE);
		}
		if ((ret = ivc_rx_release(e->ch, e->rx, (unsigned)n)) < 0)
			return ret;
	}
	return extra ? -EBADMSG : 0;
}

/* Copying: the same with ivc_recv(), as copy_recv() does. */
static int echo_recv_copy(struct bx_ep *e, int timeout_ms, uint64_t *tag, size_t *len)
{
	ssize_t n = ivc_recv(e->ch, e->cbuf, e->cbuf_len, timeout_ms);

	if (n < 0)
		return (int)n;
	*len = (size_t)n;
	*tag = *len >= sizeof(*tag) ? bx_read(e->cbuf, *len, e->touch) : 0;
	return 0;
}

/* The local peer's loop (bench_run.c), over a channel a client made. */
static int echo_on(struct ivc_channel *ch, bool copy, uint64_t *echoed, size_t *size)
{
	struct bx_ep *e;
	uint64_t tag = 0;
	size_t len = 0;
	int ret = echo_setup(ch, copy, &e);

	*echoed = 0;
	*size = 0;
	if (ret < 0)
		return ret;
	for (;;) {
		/* A client that connects and says nothing would hold the
		 * server: the first message has BX_OPEN_WAIT_MS (the initiator
		 * sends it at once).  The others wait for ever, as the local
		 * peer's do: a timeout costs a clock read in every wait, and a
		 * client that dies mid-point is seen by the library anyway. */
		int wait_ms = *echoed ? -1 : BX_OPEN_WAIT_MS;

		ret = copy ? echo_recv_copy(e, wait_ms, &tag, &len)
			   : echo_recv_zc(e, wait_ms, &tag, &len);
		if (ret < 0 || tag == BX_TAG_STOP)
			break;
		if (len != e->size && (ret = echo_size(e, len)) < 0)
			break;
		if ((ret = copy ? copy_send(e, tag) : zc_send(e, tag)) < 0)
			break;
		++*echoed;
		*size = len;
	}
	ivc_ep_close(e);
	return ret;
}

static int echo_zc(struct ivc_channel *ch, uint64_t *echoed, size_t *size)
{
	return echo_on(ch, false, echoed, size);
}

static int echo_copy(struct ivc_channel *ch, uint64_t *echoed, size_t *size)
{
	return echo_on(ch, true, echoed, size);
}

#define IVC_MODES (BX_MODE(IVC_MODE_POLL) | BX_MODE(IVC_MODE_ADAPTIVE) | \
		   BX_MODE(IVC_MODE_BLOCK))

#define IVC_XPORT(n, w, max, op, tx, rx, txb, rxb, li, echo_fn) { \
	.name = n, .what = w, .kind = BX_KIND_IVC, \
	.benches = BX_PINGPONG | BX_STREAM, .modes = IVC_MODES, .max_size = max, \
	.prepare = ivc_prepare, .open = op, .send = tx, .recv = rx, \
	.send_burst = txb, .recv_burst = rxb, .close = ivc_ep_close, \
	.release = ivc_release, .listen = li, .echo = echo_fn, }

const struct bench_xport bx_ivc =
	IVC_XPORT("ivc", "ivc zero-copy API (tx_alloc/tx_send; rx_burst/rx_release)", 0,
		  open_zc, zc_send, zc_recv, zc_send_burst, zc_recv_burst, listen_zc, echo_zc);
const struct bench_xport bx_ivc_inline =
	IVC_XPORT("ivc-inline",
		  "ivc zero-copy API with IVC_OPT_INLINE (<= 112 B inside the descriptor)", 112,
		  open_inline, zc_send, zc_recv, zc_send_burst, zc_recv_burst, listen_inline,
		  echo_zc);
const struct bench_xport bx_ivc_copy =
	IVC_XPORT("ivc-copy", "ivc copying API (ivc_send/ivc_recv)", 0,
		  open_copy, copy_send, copy_recv, copy_send_burst, copy_recv_burst, listen_copy,
		  echo_copy);
