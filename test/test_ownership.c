/* SPDX-License-Identifier: MIT */
/*
 * test_ownership - a buffer is accepted only by the call, the channel and
 * the state it belongs to (issue 13, bug 1).
 *
 * Two connected pairs in one process: P (a -> b) and Q (c -> d), same
 * geometry, so that their buffers carry the same indices.  Every misuse a
 * forwarder can make must be -EINVAL with nothing sent, freed or released:
 *
 *  - ivc_tx_send/ivc_tx_free with another channel's allocated buffers
 *    (foreign channel), while this channel holds buffers of the same
 *    indices (the old code published ours under the foreign lengths);
 *  - ivc_tx_send/ivc_tx_free with buffers received on this or another
 *    channel (received-as-sent);
 *  - ivc_rx_release with another channel's received buffers (foreign
 *    channel) and with buffers allocated for sending (sent-as-received);
 *  - sent twice, freed twice, released twice;
 *  - a copied struct ivc_buf whose data pointer was changed;
 *  - a batch with one bad buffer after good ones: none of it acts.
 *
 * After each misuse the test checks that nothing moved (ivc_rx_waiting,
 * ivc_tx_bufs_free, ivc_tx_in_flight) and that the right buffers still work.
 * Runs on plain lanes and on inline lanes (IVC_OPT_INLINE: small messages
 * are received into private hold slots, which have their own indices).
 */
#include "check.h"

#include <string.h>

#include <ivc/ivc.h>

#define K 4u

/* On inline lanes a 64-byte message leaves the sender's pool at once: the
 * buffers the receiver holds are then private copies, not the sender's. */
static int g_inline;
#define HELD(n) (g_inline ? 0 : (int)(n))

/* Each sender keeps BALLAST buffers of its 32 from the start, so that the
 * free counts stay below half the pool, where ivc_tx_bufs_free() is exact
 * (above half it may answer a lower bound: include/ivc/depth.h).  Both
 * pools lose the same ones: their next indices still agree. */
#define POOL 32u
#define BALLAST 17u
#define FREE0 ((int)(POOL - BALLAST))

struct pairs {
	struct ivc_channel *a, *b, *c, *d;
	struct ivc_buf ballast[4][BALLAST];
};

static void setup(struct pairs *s, unsigned flags)
{
	struct ivc_options o;

	ivc_options_init(&o);
	o.tx.slots = 16;
	o.tx.buf_size = 256;
	o.tx.buf_count = POOL;
	o.flags = flags;
	REQUIRE_OK(t_pair("own_p", &o, &o, &s->b, &s->a));
	REQUIRE_OK(t_pair("own_q", &o, &o, &s->d, &s->c));
	struct ivc_channel *all[4] = { s->a, s->b, s->c, s->d };
	for (int i = 0; i < 4; i++)
		REQUIRE_EQ(ivc_tx_alloc(all[i], s->ballast[i], BALLAST, 0), BALLAST);
}

static void teardown(struct pairs *s)
{
	ivc_close(s->a);
	ivc_close(s->b);
	ivc_close(s->c);
	ivc_close(s->d);
}

static void fill(struct ivc_buf *b, unsigned n, char tag)
{
	for (unsigned i = 0; i < n; i++) {
		memset(b[i].data, tag, 64);
		b[i].len = 64;
	}
}

/* Send @n fresh buffers of @tag from @tx and receive them all on @rx. */
static void send_recv(struct ivc_channel *tx, struct ivc_channel *rx,
		      struct ivc_buf *got, unsigned n, char tag)
{
	struct ivc_buf b[K];

	REQUIRE_EQ(ivc_tx_alloc(tx, b, n, 0), n);
	fill(b, n, tag);
	REQUIRE_EQ(ivc_tx_send(tx, b, n, 0), n);
	REQUIRE_EQ(ivc_rx_burst(rx, got, n, 0), n);
}

/* Nothing is waiting on @rx, and @tx has @free free buffers. */
static void check_still(struct ivc_channel *tx, struct ivc_channel *rx, int free)
{
	CHECK_EQ(ivc_rx_waiting(rx), 0);
	CHECK_EQ(ivc_tx_in_flight(tx), 0);
	CHECK_EQ(ivc_tx_bufs_free(tx), free);
}

/* Every payload byte of the @n buffers received is @tag. */
static void check_payload(const struct ivc_buf *b, unsigned n, char tag)
{
	for (unsigned i = 0; i < n; i++) {
		const unsigned char *p = b[i].data;
		CHECK_EQ(b[i].len, 64);
		for (unsigned j = 0; j < 64; j++)
			if (p[j] != (unsigned char)tag) {
				t_fail(__FILE__, __LINE__, "buffer %u byte %u: %#x, want %#x",
				       i, j, p[j], (unsigned char)tag);
				break;
			}
	}
}

/* Another channel's allocated buffers, same indices as ours. */
static void foreign_tx(struct pairs *s)
{
	struct ivc_buf mine[K], theirs[K], got[K];

	REQUIRE_EQ(ivc_tx_alloc(s->a, mine, K, 0), K);
	REQUIRE_EQ(ivc_tx_alloc(s->c, theirs, K, 0), K);
	for (unsigned i = 0; i < K; i++)
		REQUIRE_EQ(mine[i].id, theirs[i].id); /* the bug's precondition */
	fill(mine, K, 'm');
	fill(theirs, K, 't');
	theirs[0].len = 17;
	CHECK_ERR(ivc_tx_send(s->a, theirs, K, 0), -EINVAL);
	CHECK_ERR(ivc_tx_free(s->a, theirs, K), -EINVAL);
	check_still(s->a, s->b, FREE0 - K);
	/* Ours still go, with our payload; theirs still go on their channel. */
	CHECK_EQ(ivc_tx_send(s->a, mine, K, 0), K);
	CHECK_EQ(ivc_rx_burst(s->b, got, K, 0), K);
	check_payload(got, K, 'm');
	CHECK_OK(ivc_rx_release(s->b, got, K));
	CHECK_EQ(ivc_tx_send(s->c, theirs, 1, 0), 1);
	CHECK_EQ(ivc_rx_burst(s->d, got, 1, 0), 1);
	CHECK_EQ(got[0].len, 17);
	CHECK_OK(ivc_rx_release(s->d, got, 1));
	CHECK_OK(ivc_tx_free(s->c, theirs + 1, K - 1));
}

/* Buffers received (on this channel's other lane, or another channel)
 * offered for sending. */
static void received_as_sent(struct pairs *s)
{
	struct ivc_buf mine[K], got_q[K], got_back[K];

	REQUIRE_EQ(ivc_tx_alloc(s->a, mine, K, 0), K);
	fill(mine, K, 'm');
	send_recv(s->c, s->d, got_q, K, 'q'); /* d holds Q's buffers */
	/* A forwarder's first try: send what it received from upstream. */
	CHECK_ERR(ivc_tx_send(s->a, got_q, K, 0), -EINVAL);
	CHECK_ERR(ivc_tx_free(s->a, got_q, K), -EINVAL);
	check_still(s->a, s->b, FREE0 - K);
	/* a's own reverse lane: b sends to a, a offers them back to b. */
	send_recv(s->b, s->a, got_back, K, 'r');
	CHECK_ERR(ivc_tx_send(s->a, got_back, K, 0), -EINVAL);
	check_still(s->a, s->b, FREE0 - K);
	CHECK_OK(ivc_rx_release(s->a, got_back, K));
	CHECK_OK(ivc_rx_release(s->d, got_q, K));
	CHECK_OK(ivc_tx_free(s->a, mine, K));
	CHECK_EQ(ivc_tx_bufs_free(s->a), FREE0);
}

/* Another channel's received buffers (and buffers for sending) released. */
static void foreign_release(struct pairs *s)
{
	struct ivc_buf got_p[K], got_q[K], mine[K], got[K];

	send_recv(s->a, s->b, got_p, K, 'p'); /* b holds P's buffers */
	send_recv(s->c, s->d, got_q, K, 'q'); /* d holds Q's, same indices */
	for (unsigned i = 0; i < K; i++)
		REQUIRE_EQ(got_p[i].id, got_q[i].id);
	CHECK_ERR(ivc_rx_release(s->b, got_q, K), -EINVAL);
	/* Nothing went back to a: b still holds all K of P's buffers. */
	CHECK_EQ(ivc_tx_bufs_free(s->a), FREE0 - HELD(K));
	check_payload(got_p, K, 'p');
	/* Buffers allocated for sending are not received buffers. */
	REQUIRE_EQ(ivc_tx_alloc(s->b, mine, K, 0), K);
	CHECK_ERR(ivc_rx_release(s->b, mine, K), -EINVAL);
	CHECK_EQ(ivc_tx_bufs_free(s->a), FREE0 - HELD(K));
	CHECK_OK(ivc_tx_free(s->b, mine, K));
	CHECK_OK(ivc_rx_release(s->b, got_p, K));
	CHECK_EQ(ivc_tx_bufs_free(s->a), FREE0);
	CHECK_OK(ivc_rx_release(s->d, got_q, K));
	CHECK_EQ(ivc_tx_bufs_free(s->c), FREE0);
	(void)got;
}

/* Sent twice, freed twice, released twice. */
static void twice(struct pairs *s)
{
	struct ivc_buf b[K], got[K];

	REQUIRE_EQ(ivc_tx_alloc(s->a, b, K, 0), K);
	fill(b, K, 'x');
	CHECK_EQ(ivc_tx_send(s->a, b, K, 0), K);
	CHECK_ERR(ivc_tx_send(s->a, b, K, 0), -EINVAL);
	CHECK_ERR(ivc_tx_free(s->a, b, K), -EINVAL);
	CHECK_EQ(ivc_tx_in_flight(s->a), K);
	CHECK_EQ(ivc_rx_burst(s->b, got, 2 * K, 0), K);
	CHECK_OK(ivc_rx_release(s->b, got, K));
	CHECK_ERR(ivc_rx_release(s->b, got, K), -EINVAL);
	CHECK_EQ(ivc_tx_bufs_free(s->a), FREE0);
	/* A buffer named twice in one call. */
	REQUIRE_EQ(ivc_tx_alloc(s->a, b, 2, 0), 2);
	struct ivc_buf second = b[1];
	b[1] = b[0];
	CHECK_ERR(ivc_tx_free(s->a, b, 2), -EINVAL);
	CHECK_ERR(ivc_tx_send(s->a, b, 2, 0), -EINVAL);
	CHECK_OK(ivc_tx_free(s->a, b, 1));
	CHECK_ERR(ivc_tx_free(s->a, b, 1), -EINVAL);
	CHECK_OK(ivc_tx_free(s->a, &second, 1));
	CHECK_EQ(ivc_tx_bufs_free(s->a), FREE0);
	check_still(s->a, s->b, FREE0);
}

/* A copy of a struct ivc_buf whose data pointer moved. */
static void moved_pointer(struct pairs *s)
{
	struct ivc_buf b[K], copy[K], got[K];

	REQUIRE_EQ(ivc_tx_alloc(s->a, b, K, 0), K);
	fill(b, K, 'y');
	memcpy(copy, b, sizeof(b));
	copy[K - 1].data = (char *)copy[K - 1].data + 64;
	CHECK_ERR(ivc_tx_send(s->a, copy, K, 0), -EINVAL);
	CHECK_ERR(ivc_tx_free(s->a, copy, K), -EINVAL);
	copy[K - 1].data = b[0].data; /* another buffer's address */
	CHECK_ERR(ivc_tx_send(s->a, copy, K, 0), -EINVAL);
	check_still(s->a, s->b, FREE0 - K);
	CHECK_EQ(ivc_tx_send(s->a, b, K, 0), K);
	CHECK_EQ(ivc_rx_burst(s->b, got, K, 0), K);
	memcpy(copy, got, sizeof(got));
	copy[1].data = (char *)copy[1].data + 1;
	CHECK_ERR(ivc_rx_release(s->b, copy, K), -EINVAL);
	CHECK_EQ(ivc_tx_bufs_free(s->a), FREE0 - HELD(K));
	CHECK_OK(ivc_rx_release(s->b, got, K));
	CHECK_EQ(ivc_tx_bufs_free(s->a), FREE0);
}

/* Good buffers followed by a foreign one: the whole call is refused. */
static void mixed_batch(struct pairs *s)
{
	struct ivc_buf b[K + 1], theirs[1], got[K];

	REQUIRE_EQ(ivc_tx_alloc(s->a, b, K, 0), K);
	REQUIRE_EQ(ivc_tx_alloc(s->c, theirs, 1, 0), 1);
	fill(b, K, 'z');
	b[K] = theirs[0];
	CHECK_ERR(ivc_tx_send(s->a, b, K + 1, 0), -EINVAL);
	CHECK_ERR(ivc_tx_free(s->a, b, K + 1), -EINVAL);
	check_still(s->a, s->b, FREE0 - K);
	CHECK_EQ(ivc_tx_send(s->a, b, K, 0), K);
	CHECK_EQ(ivc_rx_burst(s->b, got, K, 0), K);
	check_payload(got, K, 'z');
	CHECK_OK(ivc_rx_release(s->b, got, K));
	CHECK_OK(ivc_tx_free(s->c, theirs, 1));
}

static void run(unsigned flags)
{
	struct pairs s;

	g_inline = (flags & IVC_OPT_INLINE) != 0;
	printf("lanes: %s\n", g_inline ? "inline" : "plain");
	/* Fresh pairs for each case: both pools in their first state, so
	 * that the two channels hand out the same indices. */
	void (*const cases[])(struct pairs *) = { foreign_tx, received_as_sent,
						  foreign_release, twice,
						  moved_pointer, mixed_batch };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setup(&s, flags);
		cases[i](&s);
		teardown(&s);
	}
}

int main(void)
{
	t_init("test_ownership", 60);
	run(0);
	run(IVC_OPT_INLINE);
	return t_finish();
}
