/* SPDX-License-Identifier: MIT */
/*
 * test_inline - small messages inside the descriptors (IVC_OPT_INLINE).
 *
 *  - the sending buffer is back in the pool at once (the next allocation
 *    gets it again), the receiver gets a private copy with cap 112;
 *  - the receiver may hold at most `slots` inline messages: then the next
 *    receive waits (-EAGAIN) although the ring has more, until a release;
 *  - inline and buffer messages interleave, and a chain may end inline
 *    (copying receive reassembles it);
 *  - every length from 0 to 112 arrives exact;
 *  - a hostile INLINE descriptor longer than 112 bytes, or than a buffer,
 *    is -EPROTO (white-box, on a lane in memory).
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include <ivc/ivc.h>

#include "core/lane_pvt.h"

#define SLOTS 8u

static void opts(struct ivc_options *o, int inl)
{
	ivc_options_init(o);
	o->tx.slots = SLOTS;
	o->tx.buf_size = 4096;
	o->tx.buf_count = 2 * SLOTS;
	o->flags = inl ? IVC_OPT_INLINE : 0;
}

static void send_small(struct ivc_channel *tx, unsigned char tag, uint32_t len,
		       uint32_t *id)
{
	struct ivc_buf b;

	REQUIRE_EQ(ivc_tx_alloc(tx, &b, 1, 1000), 1);
	memset(b.data, tag, len);
	b.len = len;
	b.flags = 0;
	*id = b.id;
	CHECK_EQ(ivc_tx_send(tx, &b, 1, 1000), 1);
}

static void test_api(void)
{
	struct ivc_options so, co;
	struct ivc_channel *rx, *tx;
	struct ivc_buf r[SLOTS + 4], again;
	uint32_t id0, id1;
	unsigned i;

	opts(&so, 0);
	opts(&co, 1);
	REQUIRE_OK(t_pair("inline", &so, &co, &rx, &tx));

	/* The buffer comes straight back: same id on the next allocation. */
	send_small(tx, 0xa1, 100, &id0);
	send_small(tx, 0xa2, 112, &id1);
	CHECK_EQ(id0, id1);
	CHECK_EQ(ivc_rx_burst(rx, r, 2, 1000), 2);
	CHECK_EQ(r[0].len, 100);
	CHECK_EQ(r[0].cap, 112);
	CHECK_EQ(r[1].len, 112);
	CHECK(r[0].id != r[1].id);
	CHECK(((unsigned char *)r[0].data)[99] == 0xa1);
	CHECK(((unsigned char *)r[1].data)[0] == 0xa2);
	/* Modifying the private copy is allowed and touches nobody. */
	memset(r[0].data, 0, r[0].cap);
	CHECK_ERR(ivc_rx_release(rx, r, 2), 0);
	CHECK_ERR(ivc_rx_release(rx, r, 1), -EINVAL); /* twice */

	/* Hold slots: SLOTS held, the next one waits in the ring. */
	for (i = 0; i < SLOTS; i++)
		send_small(tx, (unsigned char)i, 8, &id0);
	CHECK_EQ(ivc_rx_burst(rx, r, SLOTS, 1000), SLOTS);
	send_small(tx, 0x55, 8, &id0);
	CHECK_ERR(ivc_rx_burst(rx, &again, 1, 0), -EAGAIN);
	CHECK_ERR(ivc_rx_release(rx, &r[3], 1), 0);
	CHECK_EQ(ivc_rx_burst(rx, &again, 1, 1000), 1);
	CHECK(((unsigned char *)again.data)[0] == 0x55);
	CHECK_ERR(ivc_rx_release(rx, &again, 1), 0);
	for (i = 0; i < SLOTS; i++)
		if (i != 3)
			CHECK_ERR(ivc_rx_release(rx, &r[i], 1), 0);

	/* Interleaved sizes, and a chain that ends inline. */
	static unsigned char big[4096 + 50], got[sizeof(big)];
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	CHECK_ERR(ivc_send(tx, big, 200, 1000), 0);
	CHECK_ERR(ivc_send(tx, big, 50, 1000), 0);
	CHECK_ERR(ivc_send(tx, big, sizeof(big), 1000), 0);
	CHECK_EQ(ivc_rx_burst(rx, r, 1, 1000), 1);
	CHECK_EQ(r[0].cap, 4096); /* 200 bytes: a buffer */
	CHECK_ERR(ivc_rx_release(rx, r, 1), 0);
	CHECK_EQ(ivc_recv(rx, got, sizeof(got), 1000), 50);
	CHECK(memcmp(got, big, 50) == 0);
	CHECK_EQ(ivc_recv(rx, got, sizeof(got), 1000), (ssize_t)sizeof(big));
	CHECK(memcmp(got, big, sizeof(big)) == 0);

	struct ivc_stats st;
	CHECK_ERR(ivc_stats_get(rx, &st), 0);
	CHECK_EQ(st.rx_msgs, 2 + SLOTS + 1 + 3);

	/* Every hold slot held, one more in the ring, then the peer closes:
	 * that message is not lost to an early -EPIPE. */
	CHECK_EQ(ivc_rx_burst(rx, r, 1, 0), -EAGAIN);
	for (i = 0; i < SLOTS; i++)
		send_small(tx, (unsigned char)(0x30 + i), 4, &id0);
	CHECK_EQ(ivc_rx_burst(rx, r, SLOTS, 1000), SLOTS);
	send_small(tx, (unsigned char)(0x30 + SLOTS), 4, &id0); /* in the ring */
	ivc_close(tx);
	CHECK_ERR(ivc_rx_burst(rx, &again, 1, 0), -EAGAIN);
	CHECK_ERR(ivc_rx_burst(rx, &again, 1, 20), -ETIMEDOUT);
	CHECK_ERR(ivc_rx_release(rx, r, SLOTS), 0);
	CHECK_EQ(ivc_rx_burst(rx, &again, 1, 1000), 1);
	CHECK(((unsigned char *)again.data)[0] == 0x30 + SLOTS);
	CHECK_ERR(ivc_rx_release(rx, &again, 1), 0);
	CHECK_ERR(ivc_rx_burst(rx, &again, 1, 1000), -EPIPE);
	ivc_close(rx);
}

/* A formatted lane in plain memory with @desc_size-byte descriptors and
 * its receiver: the test plays the (hostile) sender by hand. */
static void *mem_lane(uint32_t buf_size, uint32_t desc_size,
		      struct ivc_lane_geom *g, struct ivc_lane_rx *rx)
{
	struct ivc_geometry geo = { 4, buf_size, 4 };
	void *region;

	REQUIRE_OK(ivc_lane_geom_compute_ex(&geo, 0, desc_size, g));
	region = aligned_alloc(4096, g->region_size);
	REQUIRE(region != NULL);
	memset(region, 0, g->region_size);
	ivc_lane_format(region, g, 0);
	REQUIRE_OK(ivc_lane_rx_init(rx, region, g, 0));
	return region;
}

/* Write descriptor @idx as the sender would, publishing it last. */
static struct ivc_desc *put(void *region, const struct ivc_lane_geom *g,
			    uint32_t idx, uint32_t len, uint32_t flags)
{
	struct ivc_desc *d = ivc_desc_at((char *)region + g->desc_off,
					 g->desc_size, idx & (g->slots - 1));

	d->buf = 12345; /* ignored for inline */
	d->len = len;
	d->flags = flags;
	if (flags & IVC_DESC_INLINE)
		memset(d->data, 0x7e, len <= IVC_INLINE_MAX ? len : IVC_INLINE_MAX);
	__atomic_store_n(&d->seq, idx, __ATOMIC_RELEASE);
	return d;
}

static void test_hostile(void)
{
	struct ivc_lane_geom g;
	struct ivc_lane_rx rx;
	struct ivc_buf b;
	struct ivc_desc *d;
	void *region = mem_lane(64, IVC_DESC_SIZE_INLINE, &g, &rx);

	/* 64 bytes inline in a lane of 64-byte buffers: fine. */
	d = put(region, &g, 0, 64, IVC_DESC_INLINE);
	CHECK_EQ(ivc_lane_rx_fetch(&rx, 1), 1);
	CHECK_EQ(ivc_lane_rx_take(&rx, &b, 1), 1);
	CHECK_EQ(b.len, 64);
	CHECK_EQ(b.cap, 64);
	CHECK(((unsigned char *)b.data)[63] == 0x7e);
	CHECK(b.id >= g.buf_count);
	/* The copy is private: the peer rewriting the slot changes nothing. */
	memset(d->data, 0, 64);
	CHECK(((unsigned char *)b.data)[63] == 0x7e);
	CHECK_ERR(ivc_lane_rx_release(&rx, &b, 1), 0);
	/* Longer than a buffer (65 > 64): a lie. */
	put(region, &g, 1, 65, IVC_DESC_INLINE);
	CHECK_ERR(ivc_lane_rx_fetch(&rx, 1), -EPROTO);
	ivc_lane_rx_fini(&rx);
	free(region);

	/* Longer than 112 bytes in a lane of 4 KiB buffers: a lie. */
	region = mem_lane(4096, IVC_DESC_SIZE_INLINE, &g, &rx);
	put(region, &g, 0, IVC_INLINE_MAX + 1, IVC_DESC_INLINE);
	CHECK_ERR(ivc_lane_rx_fetch(&rx, 1), -EPROTO);
	ivc_lane_rx_fini(&rx);
	free(region);

	/* INLINE on a lane of 16-byte descriptors: a lie, whatever its size. */
	region = mem_lane(4096, IVC_DESC_SIZE, &g, &rx);
	d = ivc_desc_at((char *)region + g.desc_off, g.desc_size, 0);
	d->len = 8;
	d->flags = IVC_DESC_INLINE;
	__atomic_store_n(&d->seq, 0u, __ATOMIC_RELEASE);
	CHECK_ERR(ivc_lane_rx_fetch(&rx, 1), -EPROTO);
	ivc_lane_rx_fini(&rx);
	free(region);
}

/* Every length from 0 to 112 arrives whole and exact: the receiver copies
 * in steps of 16 bytes, so each remainder mod 16 is its own case. */
static void test_lengths(void)
{
	struct ivc_options so, co;
	struct ivc_channel *rx, *tx;
	unsigned char want[IVC_INLINE_MAX];
	struct ivc_buf b;

	opts(&so, 0);
	opts(&co, 1);
	REQUIRE_OK(t_pair("inline-lengths", &so, &co, &rx, &tx));
	for (uint32_t len = 0; len <= IVC_INLINE_MAX; len++) {
		for (uint32_t i = 0; i < len; i++)
			want[i] = (unsigned char)(len * 31 + i);
		REQUIRE_EQ(ivc_tx_alloc(tx, &b, 1, 1000), 1);
		memcpy(b.data, want, len);
		b.len = len;
		b.flags = 0;
		CHECK_EQ(ivc_tx_send(tx, &b, 1, 1000), 1);
		REQUIRE_EQ(ivc_rx_burst(rx, &b, 1, 1000), 1);
		CHECK_EQ(b.len, len);
		CHECK_EQ(b.cap, IVC_INLINE_MAX);
		CHECK(memcmp(b.data, want, len) == 0);
		CHECK_ERR(ivc_rx_release(rx, &b, 1), 0);
	}
	ivc_close(tx);
	ivc_close(rx);
}

int main(void)
{
	int fds0;

	t_init("test_inline", 60);
	fds0 = t_count_fds();
	test_api();
	test_lengths();
	test_hostile();
	CHECK_EQ(t_count_fds(), fds0);
	return t_finish();
}
