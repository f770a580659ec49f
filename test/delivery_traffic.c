/* SPDX-License-Identifier: MIT */
/*
 * The conformance suite's delivery stream, both ends (delivery_traffic.h).
 * Everything here is one connected channel and the CHECKs of check.h; who
 * made the channel, and where the peer runs, is the caller's business.
 */
#include "delivery_traffic.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>

/* The largest piece that travels inline with IVC_OPT_INLINE. */
#define INLINE_MAX 112u

void delivery_cfg_init(struct delivery_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->seed = DELIVERY_SEED;
	c->mode = IVC_MODE_BLOCK;
	c->call_ms = 20000;
	c->max_gap_ns = 5000000000ull;
	c->slots = 256;
	c->buf_size = 1024;
	c->buf_count = 512;
	c->max_msg = 32u * 1024u;
	c->burst = 64;
	c->tag = "";
}

void delivery_options(const struct delivery_cfg *c, struct ivc_options *o)
{
	ivc_options_init(o);
	o->tx.slots = c->slots;
	o->tx.buf_size = c->buf_size;
	o->tx.buf_count = c->buf_count;
	o->mode = c->mode;
	if (c->inl)
		o->flags |= IVC_OPT_INLINE;
}

/* The sender queues a whole chain before it flushes: the longest must fit
 * a burst.  A caller's mistake, not the library's: no check is counted. */
static void cfg_sane(const struct delivery_cfg *c)
{
	if (!c->buf_size || !c->burst || !c->max_msg ||
	    (c->max_msg + c->buf_size - 1) / c->buf_size > c->burst)
		t_abort(__FILE__, __LINE__,
			"delivery: %zu-byte messages in %u-byte buffers do not "
			"fit bursts of %u", c->max_msg, c->buf_size, c->burst);
}

/* ---- liveness ------------------------------------------------------------- */

/*
 * The longest time one loop iteration took.  While the peer is busy
 * streaming no call should wait for seconds: a call that does and then
 * succeeds was woken late.  The bound is deliberately loose; it is not a
 * performance claim.
 */
static void gap(uint64_t *last, uint64_t *max)
{
	uint64_t now = t_now_ns();

	if (now - *last > *max)
		*max = now - *last;
	*last = now;
}

static void check_gap(const struct delivery_cfg *c, const char *who,
		      uint64_t max)
{
	if (max < c->max_gap_ns)
		t_pass();
	else
		t_fail(__FILE__, __LINE__,
		       "%s: one call waited %.1f s although the peer was "
		       "streaming (a late or lost wake-up)", who, (double)max / 1e9);
}

/* ---- sender -------------------------------------------------------------------- */

/* Send the pending burst, all of it.  Return: 0, or -1 (recorded). */
static int flush(const struct delivery_cfg *c, struct ivc_channel *ch,
		 struct ivc_buf *p, unsigned *np)
{
	unsigned sent = 0;

	while (sent < *np) {
		int r = ivc_tx_send(ch, p + sent, *np - sent, c->call_ms);

		if (r <= 0) {
			t_fail(__FILE__, __LINE__, "ivc_tx_send: %d (%s)", r,
			       t_errname(r));
			return -1;
		}
		sent += (unsigned)r;
	}
	*np = 0;
	return 0;
}

/* One message (@len bytes at @msg) into freshly allocated buffers appended
 * to the pending burst; flushes first when it would not fit.  Return: 0,
 * or -1 (recorded). */
static int queue_zc(const struct delivery_cfg *c, struct ivc_channel *ch,
		    const unsigned char *msg, size_t len, struct ivc_buf *pend,
		    unsigned *np)
{
	unsigned nb = (unsigned)((len + c->buf_size - 1) / c->buf_size), got = 0;
	size_t off = 0;

	if (*np + nb > c->burst && flush(c, ch, pend, np))
		return -1;
	while (got < nb) {
		int r = ivc_tx_alloc(ch, pend + *np + got, nb - got, c->call_ms);

		if (r <= 0 || (unsigned)r > nb - got) {
			t_fail(__FILE__, __LINE__, "ivc_tx_alloc: %d (%s)", r,
			       t_errname(r));
			return -1;
		}
		got += (unsigned)r;
	}
	for (unsigned k = 0; k < nb; k++) {
		struct ivc_buf *b = &pend[*np + k];
		size_t chunk = len - off < c->buf_size ? len - off : c->buf_size;

		if (b->cap != c->buf_size || b->data == NULL) {
			t_fail(__FILE__, __LINE__, "allocated buffer: cap %u data %p",
			       b->cap, b->data);
			return -1;
		}
		memcpy(b->data, msg + off, chunk);
		b->len = (uint32_t)chunk;
		b->flags = k + 1 < nb ? IVC_BUF_MORE : 0;
		off += chunk;
	}
	*np += nb;
	return 0;
}

/* Message @i with ivc_send().  Return: 0, or -1 (recorded). */
static int send_copy(const struct delivery_cfg *c, struct ivc_channel *ch,
		     uint64_t i, const unsigned char *msg, size_t len)
{
	int r = ivc_send(ch, msg, len, c->call_ms);

	if (r == 0)
		return 0;
	t_fail(__FILE__, __LINE__, "ivc_send(#%llu, %zu bytes): %d (%s)",
	       (unsigned long long)i, len, r, t_errname(r));
	return -1;
}

uint64_t delivery_send(const struct delivery_cfg *c, struct ivc_channel *ch,
		       uint64_t *bytes)
{
	unsigned char *msg;
	struct ivc_buf *pend;
	unsigned np = 0;
	uint64_t i, last, maxgap = 0;

	cfg_sane(c);
	msg = malloc(c->max_msg);
	pend = calloc(c->burst, sizeof(*pend));
	REQUIRE(msg != NULL && pend != NULL);
	last = t_now_ns();
	for (i = 0; i < c->n; i++) {
		size_t len = t_msg_len(c->seed, i, c->max_msg);

		gap(&last, &maxgap);
		t_msg_fill(c->seed, i, msg, len);
		*bytes += len;
		if (c->zc ? queue_zc(c, ch, msg, len, pend, &np)
			  : send_copy(c, ch, i, msg, len))
			break;
	}
	if (c->zc && i == c->n)
		(void)flush(c, ch, pend, &np); /* the last burst; a failure is recorded */
	CHECK_EQ(i, c->n);
	check_gap(c, "sender", maxgap);
	free(pend);
	free(msg);
	return i;
}

void delivery_send_after(const struct delivery_cfg *c, struct ivc_channel *ch,
			 uint64_t bytes)
{
	struct ivc_stats st;

	if (c->zc) {
		/* ivc_tx_free(): unsent buffers go back to the pool. */
		struct ivc_buf b[3];
		int r = ivc_tx_alloc(ch, b, 3, c->call_ms);

		CHECK(r >= 1);
		if (r >= 1) {
			CHECK_ERR(ivc_tx_free(ch, b, (unsigned)r), 0);
			CHECK_ERR(ivc_tx_free(ch, b, 1), -EINVAL); /* twice */
		}
	}
	REQUIRE_OK(ivc_stats_get(ch, &st));
	CHECK_EQ(st.tx_msgs, c->n);
	CHECK_EQ(st.tx_bytes, bytes);
	CHECK(st.tx_bufs >= c->n);
	if (c->mode == IVC_MODE_POLL)
		CHECK_EQ(st.sleeps, 0);
	printf("%ssender: %llu msgs, %llu bytes, %llu bufs, doorbells %llu, "
	       "sleeps %llu, ring_full %llu, pool_empty %llu\n", c->tag,
	       (unsigned long long)st.tx_msgs, (unsigned long long)st.tx_bytes,
	       (unsigned long long)st.tx_bufs, (unsigned long long)st.doorbells,
	       (unsigned long long)st.sleeps,
	       (unsigned long long)st.ring_full_stalls,
	       (unsigned long long)st.pool_empty_stalls);
}

/* ---- receiver ------------------------------------------------------------------ */

/* What the receiver has so far. */
struct rx {
	const struct delivery_cfg *c;
	unsigned char *msg;     /* the message being assembled or received */
	unsigned char *scratch; /* t_msg_verify()'s */
	struct ivc_buf *b;      /* a burst (zero-copy) */
	size_t alen;            /* bytes of msg assembled so far (zero-copy) */
	uint64_t seq;           /* whole messages received */
	uint64_t bytes;         /* their bytes */
};

/* A received buffer's cap: the lane's buffer size; with IVC_OPT_INLINE
 * (the peer's too) every piece of at most 112 bytes must have come inline
 * (cap 112). */
static int cap_ok(const struct delivery_cfg *c, const struct ivc_buf *b)
{
	if (c->inl && b->len <= INLINE_MAX)
		return b->cap == INLINE_MAX;
	return b->cap == c->buf_size;
}

/* One received buffer, appended to the message being assembled; a whole
 * message is verified, and counted even when wrong (the library counted
 * it too: only the real failure is reported).  Return: 0, or -1 on a bad
 * buffer or message (recorded). */
static int take_piece(struct rx *x, const struct ivc_buf *b)
{
	const struct delivery_cfg *c = x->c;
	const char *why;

	if (!cap_ok(c, b) || b->len > b->cap || (b->flags & ~IVC_BUF_MORE) ||
	    x->alen + b->len > c->max_msg || x->seq >= c->n) {
		t_fail(__FILE__, __LINE__, "message %llu: bad buffer len %u cap %u "
		       "flags %#x (so far %zu)", (unsigned long long)x->seq, b->len,
		       b->cap, b->flags, x->alen);
		return -1;
	}
	memcpy(x->msg + x->alen, b->data, b->len);
	x->alen += b->len;
	if (b->flags & IVC_BUF_MORE)
		return 0;
	why = t_msg_verify(c->seed, x->seq, c->max_msg, x->msg, x->alen,
			   x->scratch);
	if (why)
		t_fail(__FILE__, __LINE__, "message %llu: %s",
		       (unsigned long long)x->seq, why);
	x->bytes += x->alen;
	x->alen = 0;
	x->seq++;
	return why ? -1 : 0;
}

/* Give a burst of @n back: in order, or every 8th burst one by one in
 * reverse order (the library must take them back in any order).  Return:
 * 0, or -1 if a release failed. */
static int release(struct ivc_channel *ch, struct ivc_buf *b, int n,
		   uint64_t burst_no)
{
	int bad = 0;

	if (burst_no % 8 == 0) {
		for (int k = n - 1; k >= 0; k--)
			if (ivc_rx_release(ch, &b[k], 1) != 0)
				bad = 1;
	} else if (ivc_rx_release(ch, b, (unsigned)n) != 0) {
		bad = 1;
	}
	return bad ? -1 : 0;
}

static void receive_zc(struct rx *x, struct ivc_channel *ch)
{
	const struct delivery_cfg *c = x->c;
	uint64_t bursts = 0, last = t_now_ns(), maxgap = 0;
	int bad = 0;

	while (x->seq < c->n && !bad) {
		gap(&last, &maxgap);
		int r = ivc_rx_burst(ch, x->b, c->burst, c->call_ms);
		if (r <= 0 || (unsigned)r > c->burst) {
			t_fail(__FILE__, __LINE__,
			       "ivc_rx_burst after %llu messages: %d (%s)",
			       (unsigned long long)x->seq, r, t_errname(r));
			return;
		}
		for (int k = 0; k < r && !bad; k++)
			bad = take_piece(x, &x->b[k]) != 0;
		if (release(ch, x->b, r, ++bursts))
			bad = 1;
		CHECK(!bad);
	}
	CHECK_EQ(x->alen, 0); /* no chain left open */
	check_gap(c, "receiver", maxgap);
}

/* Message x->seq with ivc_recv(), first into one byte too few every 1009
 * messages.  Return: 0, or -1 (recorded). */
static int recv_one(struct rx *x, struct ivc_channel *ch)
{
	const struct delivery_cfg *c = x->c;
	size_t want = t_msg_len(c->seed, x->seq, c->max_msg);
	const char *why;
	ssize_t r;

	if (x->seq % 1009 == 0) {
		/* Too small a buffer: -EMSGSIZE, the message stays. */
		r = ivc_recv(ch, x->msg, want - 1, c->call_ms);
		if (r != -EMSGSIZE) {
			t_fail(__FILE__, __LINE__,
			       "ivc_recv(cap %zu < len %zu) of #%llu: %zd (%s)",
			       want - 1, want, (unsigned long long)x->seq, r,
			       t_errname(r));
			return -1;
		}
	}
	r = ivc_recv(ch, x->msg, c->max_msg, c->call_ms);
	if (r < 0) {
		t_fail(__FILE__, __LINE__, "ivc_recv after %llu messages: %zd (%s)",
		       (unsigned long long)x->seq, r, t_errname(r));
		return -1;
	}
	why = t_msg_verify(c->seed, x->seq, c->max_msg, x->msg, (size_t)r,
			   x->scratch);
	if (why) {
		t_fail(__FILE__, __LINE__, "message %llu: %s",
		       (unsigned long long)x->seq, why);
		return -1;
	}
	x->bytes += (size_t)r;
	return 0;
}

static void receive_copy(struct rx *x, struct ivc_channel *ch)
{
	uint64_t last = t_now_ns(), maxgap = 0;

	for (; x->seq < x->c->n; x->seq++) {
		gap(&last, &maxgap);
		if (recv_one(x, ch))
			return;
	}
	check_gap(x->c, "receiver", maxgap);
}

uint64_t delivery_recv(const struct delivery_cfg *c, struct ivc_channel *ch,
		       uint64_t *bytes)
{
	struct rx x = { .c = c };

	cfg_sane(c);
	x.msg = malloc(c->max_msg);
	x.scratch = malloc(c->max_msg);
	x.b = calloc(c->burst, sizeof(*x.b));
	REQUIRE(x.msg && x.scratch && x.b);
	if (c->zc)
		receive_zc(&x, ch);
	else
		receive_copy(&x, ch);
	CHECK_EQ(x.seq, c->n);
	*bytes += x.bytes;
	free(x.b);
	free(x.scratch);
	free(x.msg);
	return x.seq;
}

void delivery_recv_after(const struct delivery_cfg *c, struct ivc_channel *ch,
			 uint64_t got, uint64_t bytes)
{
	struct ivc_stats st;

	if (got == c->n) {
		if (c->zc) {
			struct ivc_buf b[1];

			CHECK_ERR(ivc_rx_burst(ch, b, 1, c->call_ms), -EPIPE);
			CHECK_ERR(ivc_rx_burst(ch, b, 1, 0), -EPIPE);
		} else {
			/* Room for a whole message: a duplicate would arrive. */
			unsigned char *buf = malloc(c->max_msg);

			if (!buf)
				t_abort(__FILE__, __LINE__, "out of memory");
			CHECK_ERR(ivc_recv(ch, buf, c->max_msg, c->call_ms), -EPIPE);
			CHECK_ERR(ivc_recv(ch, buf, c->max_msg, 0), -EPIPE);
			free(buf);
		}
		CHECK_ERR(ivc_channel_error(ch), -EPIPE);
	}
	CHECK_ERR(ivc_stats_get(ch, &st), 0);
	CHECK_EQ(st.rx_msgs, got);
	CHECK_EQ(st.rx_bytes, bytes);
	if (c->mode == IVC_MODE_POLL)
		CHECK_EQ(st.sleeps, 0);
	printf("%sreceiver: rx_bufs %llu, doorbells %llu, sleeps %llu, "
	       "spin_hits %llu, yields %llu\n", c->tag,
	       (unsigned long long)st.rx_bufs, (unsigned long long)st.doorbells,
	       (unsigned long long)st.sleeps, (unsigned long long)st.spin_hits,
	       (unsigned long long)st.yields);
}
