/* SPDX-License-Identifier: MIT */
/*
 * test_flow - back-pressure and out-of-order release (one process, pairs
 * connected through t_pair()).
 *
 *  - ring full: with 4 slots the 5th send gets -EAGAIN (timeout 0) and
 *    -ETIMEDOUT (50 ms), nothing is lost, ring_full_stalls counts it, the
 *    sender resumes once the receiver consumes, and a sender blocked on the
 *    full ring is woken by the receiver consuming;
 *  - pool empty: with 4 buffers the 5th allocation gets -EAGAIN/-ETIMEDOUT,
 *    pool_empty_stalls counts it, buffers the receiver holds stay lent, and
 *    the one buffer it releases is the one the sender gets next; double and
 *    partial-invalid releases are refused whole;
 *  - out-of-order release: a receiver that holds several buffers and
 *    releases them in random order while a sender streams chained messages
 *    through a pool of 8 buffers; everything arrives intact and in order.
 * Each part runs with the endpoints in ADAPTIVE, POLL and BLOCK mode.
 */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ivc/ivc.h>

#ifdef IVC_TEST_SANITIZE
#define STREAM_MSGS 20000u
#else
#define STREAM_MSGS 200000u
#endif

static void opts(struct ivc_options *o, enum ivc_mode m, uint32_t slots,
		 uint32_t buf_size, uint32_t buf_count)
{
	ivc_options_init(o);
	o->mode = m;
	o->tx.slots = slots;
	o->tx.buf_size = buf_size;
	o->tx.buf_count = buf_count;
}

static uint64_t elapsed_ms(uint64_t t0)
{
	return (t_now_ns() - t0) / 1000000u;
}

/*
 * Wait (at most 5 s) until thread @tid sleeps in the kernel.  Not needed
 * for correctness - the tests pass whatever the interleaving - but it makes
 * the "blocked peer is woken" path the one that is exercised.
 */
static int wait_until_asleep(atomic_int *tid)
{
	uint64_t t0 = t_now_ns();
	while (elapsed_ms(t0) < 5000) {
		int t = atomic_load(tid);
		if (t > 0 && t_thread_state(t) == 'S')
			return 1;
		sched_yield();
	}
	return 0;
}

static void put_u32(void *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get_u32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* ---- ring full ------------------------------------------------------------------ */

struct blocked_send {
	struct ivc_channel *ch;
	uint32_t seq;
	int rc;
	atomic_int tid;
};

static void *blocked_send_thread(void *p)
{
	struct blocked_send *a = p;
	atomic_store(&a->tid, (int)gettid());
	a->rc = ivc_send(a->ch, &a->seq, 4, 10000);
	return NULL;
}

/* Receive one 4-byte message with timeout 1 s and return its number. */
static int64_t recv_seq(struct ivc_channel *rx)
{
	uint32_t v = 0;
	ssize_t r = ivc_recv(rx, &v, sizeof(v), 1000);
	if (r != 4) {
		t_fail(__FILE__, __LINE__, "ivc_recv: %zd (%s)", r, t_errname(r));
		return -1;
	}
	return v;
}

static void test_ring_full(enum ivc_mode m)
{
	printf("-- ring full, %s\n", t_mode_name(m));
	struct ivc_options so, co;
	struct ivc_channel *rx, *tx;
	opts(&so, m, 0, 0, 0);
	opts(&co, m, 4, 64, 16);
	REQUIRE_OK(t_pair("ringfull", &so, &co, &rx, &tx));

	struct ivc_stats st0, st1;
	REQUIRE_OK(ivc_stats_get(tx, &st0));
	uint32_t seq;
	for (seq = 0; seq < 4; seq++)
		CHECK_ERR(ivc_send(tx, &seq, 4, 0), 0);
	CHECK_ERR(ivc_send(tx, &seq, 4, 0), -EAGAIN);
	uint64_t t0 = t_now_ns();
	CHECK_ERR(ivc_send(tx, &seq, 4, 50), -ETIMEDOUT);
	CHECK(elapsed_ms(t0) >= 49);
	CHECK_ERR(ivc_ready(tx, IVC_EV_TX), 0);
	CHECK_ERR(ivc_wait(tx, IVC_EV_TX, 0), -EAGAIN);
	t0 = t_now_ns();
	CHECK_ERR(ivc_wait(tx, IVC_EV_TX, 50), -ETIMEDOUT);
	CHECK(elapsed_ms(t0) >= 49);

	/* Zero-copy: a buffer is there, a slot is not; it stays ours. */
	struct ivc_buf b;
	REQUIRE_EQ(ivc_tx_alloc(tx, &b, 1, 0), 1);
	put_u32(b.data, seq);
	b.len = 4;
	b.flags = 0;
	CHECK_ERR(ivc_tx_send(tx, &b, 1, 0), -EAGAIN);
	t0 = t_now_ns();
	CHECK_ERR(ivc_tx_send(tx, &b, 1, 50), -ETIMEDOUT);
	CHECK(elapsed_ms(t0) >= 49);

	REQUIRE_OK(ivc_stats_get(tx, &st1));
	CHECK(st1.ring_full_stalls > st0.ring_full_stalls);
	CHECK_EQ(st1.tx_msgs - st0.tx_msgs, 4);

	/* Failed copying sends keep no buffer: 11 of the 16 are still free
	 * (4 in the ring, 1 in b) after many more of them. */
	static const char junk[100];
	for (int i = 0; i < 20; i++)
		CHECK_ERR(ivc_send(tx, junk, sizeof(junk), 0), -EAGAIN);
	struct ivc_buf spare[11];
	int ns = ivc_tx_alloc(tx, spare, 11, 0);
	CHECK_EQ(ns, 11);
	if (ns > 0)
		CHECK_ERR(ivc_tx_free(tx, spare, (unsigned)ns), 0);

	/* The receiver consumes one: the sender resumes. */
	CHECK_EQ(recv_seq(rx), 0);
	CHECK_EQ(ivc_tx_send(tx, &b, 1, 0), 1);
	for (uint32_t want = 1; want <= 4; want++)
		CHECK_EQ(recv_seq(rx), want);
	CHECK_ERR(ivc_recv(rx, &seq, 4, 0), -EAGAIN);

	/* A sender blocked on the full ring is woken by the receiver. */
	for (seq = 5; seq < 9; seq++)
		CHECK_ERR(ivc_send(tx, &seq, 4, 0), 0);
	CHECK_ERR(ivc_send(tx, &seq, 4, 0), -EAGAIN);
	struct blocked_send a = {.ch = tx, .seq = 9, .rc = 1};
	atomic_init(&a.tid, 0);
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, blocked_send_thread, &a) == 0);
	/* (POLL mode never sleeps: nothing to wait for) */
	int slept = m != IVC_MODE_POLL && wait_until_asleep(&a.tid);
	printf("   sender thread %s before the receiver consumed\n",
	       slept ? "slept" : "did not sleep");
	for (uint32_t want = 5; want <= 9; want++)
		CHECK_EQ(recv_seq(rx), want);
	pthread_join(th, NULL);
	CHECK_ERR(a.rc, 0);
	CHECK_ERR(ivc_recv(rx, &seq, 4, 0), -EAGAIN);

	CHECK_ERR(ivc_close(tx), 0);
	CHECK_ERR(ivc_recv(rx, &seq, 4, 1000), -EPIPE);
	CHECK_ERR(ivc_close(rx), 0);
}

/* ---- pool empty ------------------------------------------------------------------- */

struct blocked_alloc {
	struct ivc_channel *ch;
	struct ivc_buf b;
	int rc;
	atomic_int tid;
};

static void *blocked_alloc_thread(void *p)
{
	struct blocked_alloc *a = p;
	atomic_store(&a->tid, (int)gettid());
	a->rc = ivc_tx_alloc(a->ch, &a->b, 1, 10000);
	return NULL;
}

static void test_pool_empty(enum ivc_mode m)
{
	printf("-- pool empty, %s\n", t_mode_name(m));
	struct ivc_options so, co;
	struct ivc_channel *rx, *tx;
	opts(&so, m, 0, 0, 0);
	opts(&co, m, 16, 64, 4);
	REQUIRE_OK(t_pair("poolempty", &so, &co, &rx, &tx));

	struct ivc_info info;
	REQUIRE_OK(ivc_channel_info(tx, &info));
	CHECK_EQ(info.tx.buf_count, 4);
	CHECK_EQ(info.max_tx_msg, 64 * 4);
	REQUIRE_OK(ivc_channel_info(rx, &info));
	CHECK_EQ(info.rx.buf_count, 4);
	CHECK_EQ(info.max_rx_msg, 64 * 4);

	struct ivc_stats st0, st1;
	REQUIRE_OK(ivc_stats_get(tx, &st0));
	struct ivc_buf b[4], x;
	REQUIRE_EQ(ivc_tx_alloc(tx, b, 4, 0), 4);
	for (int i = 0; i < 4; i++) {
		CHECK(b[i].id < 4);
		CHECK_EQ(b[i].cap, 64);
		for (int j = 0; j < i; j++)
			CHECK(b[i].id != b[j].id);
	}
	CHECK_ERR(ivc_tx_alloc(tx, &x, 1, 0), -EAGAIN);
	uint64_t t0 = t_now_ns();
	CHECK_ERR(ivc_tx_alloc(tx, &x, 1, 50), -ETIMEDOUT);
	CHECK(elapsed_ms(t0) >= 49);
	CHECK_ERR(ivc_send(tx, "x", 1, 0), -EAGAIN);
	CHECK_ERR(ivc_wait(tx, IVC_EV_TX, 0), -EAGAIN);
	REQUIRE_OK(ivc_stats_get(tx, &st1));
	CHECK(st1.pool_empty_stalls > st0.pool_empty_stalls);

	/* A freed buffer is the next one allocated. */
	CHECK_ERR(ivc_tx_free(tx, &b[3], 1), 0);
	CHECK_ERR(ivc_tx_free(tx, &b[3], 1), -EINVAL);
	REQUIRE_EQ(ivc_tx_alloc(tx, &x, 1, 0), 1);
	CHECK_EQ(x.id, b[3].id);
	b[3] = x;

	/* Too big for the lane. */
	static char big[64 * 4 + 1];
	CHECK_ERR(ivc_send(tx, big, sizeof(big), 0), -EMSGSIZE);

	for (uint32_t i = 0; i < 4; i++) {
		put_u32(b[i].data, i);
		b[i].len = 4;
		b[i].flags = 0;
	}
	CHECK_EQ(ivc_tx_send(tx, b, 4, 0), 4);
	/* Sent buffers are not the caller's any more. */
	CHECK_ERR(ivc_tx_free(tx, &b[0], 1), -EINVAL);
	CHECK_ERR(ivc_tx_send(tx, &b[0], 1, 0), -EINVAL);
	CHECK_ERR(ivc_tx_alloc(tx, &x, 1, 0), -EAGAIN);

	struct ivc_buf rb[4];
	int got = 0;
	while (got < 4) {
		int r = ivc_rx_burst(rx, rb + got, (unsigned)(4 - got), 1000);
		if (r <= 0) {
			t_fail(__FILE__, __LINE__, "ivc_rx_burst: %d (%s)", r,
			       t_errname(r));
			break;
		}
		got += r;
	}
	REQUIRE_EQ(got, 4);
	for (uint32_t i = 0; i < 4; i++) {
		CHECK_EQ(rb[i].len, 4);
		CHECK_EQ(get_u32(rb[i].data), i);
		CHECK_EQ(rb[i].id, b[i].id);
		CHECK_EQ(rb[i].flags, 0);
	}
	/* The receiver holds all four: still nothing to allocate. */
	CHECK_ERR(ivc_tx_alloc(tx, &x, 1, 0), -EAGAIN);

	/* Releasing one (out of order) gives exactly that one back. */
	CHECK_ERR(ivc_rx_release(rx, &rb[2], 1), 0);
	REQUIRE_EQ(ivc_tx_alloc(tx, &x, 1, 0), 1);
	CHECK_EQ(x.id, rb[2].id);
	CHECK_ERR(ivc_tx_alloc(tx, &b[0], 1, 0), -EAGAIN);
	CHECK_ERR(ivc_tx_free(tx, &x, 1), 0);

	/* Twice, or in a batch with a bad one: refused, nothing released. */
	CHECK_ERR(ivc_rx_release(rx, &rb[2], 1), -EINVAL);
	struct ivc_buf pairv[2] = {rb[0], rb[2]};
	CHECK_ERR(ivc_rx_release(rx, pairv, 2), -EINVAL);
	struct ivc_buf bogus = rb[0];
	bogus.id = 4;
	CHECK_ERR(ivc_rx_release(rx, &bogus, 1), -EINVAL);
	bogus.id = UINT32_MAX;
	CHECK_ERR(ivc_rx_release(rx, &bogus, 1), -EINVAL);
	CHECK_ERR(ivc_rx_release(rx, &rb[0], 1), 0); /* still held until now */
	struct ivc_buf rev[2] = {rb[3], rb[1]};
	CHECK_ERR(ivc_rx_release(rx, rev, 2), 0);

	/* All four are free again. */
	REQUIRE_EQ(ivc_tx_alloc(tx, b, 4, 0), 4);

	/* A sender blocked on the empty pool is woken by a release. */
	for (uint32_t i = 0; i < 4; i++) {
		put_u32(b[i].data, 10 + i);
		b[i].len = 4;
		b[i].flags = 0;
	}
	CHECK_EQ(ivc_tx_send(tx, b, 4, 0), 4);
	got = 0;
	while (got < 4) {
		int r = ivc_rx_burst(rx, rb + got, (unsigned)(4 - got), 1000);
		if (r <= 0)
			break;
		got += r;
	}
	REQUIRE_EQ(got, 4);
	struct blocked_alloc ba = {.ch = tx, .rc = 0};
	atomic_init(&ba.tid, 0);
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, blocked_alloc_thread, &ba) == 0);
	int slept = m != IVC_MODE_POLL && wait_until_asleep(&ba.tid);
	printf("   allocating thread %s before the receiver released\n",
	       slept ? "slept" : "did not sleep");
	CHECK_ERR(ivc_rx_release(rx, &rb[1], 1), 0);
	pthread_join(th, NULL);
	CHECK_EQ(ba.rc, 1);
	CHECK_EQ(ba.b.id, rb[1].id);
	CHECK_ERR(ivc_tx_free(tx, &ba.b, 1), 0);
	struct ivc_buf rest[3] = {rb[3], rb[0], rb[2]};
	CHECK_ERR(ivc_rx_release(rx, rest, 3), 0);

	CHECK_ERR(ivc_close(tx), 0);
	struct ivc_buf e;
	CHECK_ERR(ivc_rx_burst(rx, &e, 1, 1000), -EPIPE);
	CHECK_ERR(ivc_close(rx), 0);
}

/*
 * A sender asleep waiting for a buffer is woken by the release that frees
 * one, even when the receiver's consuming the descriptors (which frees
 * ring slots, not buffers) woke it first.  The TX doorbell serves both
 * conditions; a receiver that rings only once per sender sleep would
 * leave the sender asleep here until its timeout.
 * Regression test (found at 6781eee, fixed in 7fcda9a): wait.c's
 * sleep_loop() went back to sleep
 * after a wake-up that did not satisfy it without starting a new sleep
 * epoch, and the peer rings at most once per epoch (rung_epoch): the
 * release's doorbell was never rung.  It was also behind BLOCK/ADAPTIVE
 * stalls and deadlocks in the out-of-order test and test_delivery.
 */
static void test_wake_after_consume(enum ivc_mode m)
{
	printf("-- allocator woken by a release after a consume, %s\n",
	       t_mode_name(m));
	struct ivc_options so, co;
	struct ivc_channel *rx, *tx;
	opts(&so, m, 0, 0, 0);
	opts(&co, m, 4, 64, 2);
	REQUIRE_OK(t_pair("wake2", &so, &co, &rx, &tx));
	CHECK_ERR(ivc_send(tx, "1", 1, 0), 0);
	CHECK_ERR(ivc_send(tx, "2", 1, 0), 0); /* pool (2) empty */

	struct blocked_alloc ba = {.ch = tx, .rc = 0};
	atomic_init(&ba.tid, 0);
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, blocked_alloc_thread, &ba) == 0);
	int slept = wait_until_asleep(&ba.tid);
	/* Consume both descriptors (slots free up; buffers stay held). */
	struct ivc_buf rb[2];
	int got = 0;
	while (got < 2) {
		int r = ivc_rx_burst(rx, rb + got, (unsigned)(2 - got), 1000);
		if (r <= 0)
			break;
		got += r;
	}
	REQUIRE_EQ(got, 2);
	/* Let the allocator wake (from the consume), find no buffer, and
	 * sleep again; then release. */
	slept += wait_until_asleep(&ba.tid);
	printf("   allocating thread slept %d time(s) before the release\n", slept);
	uint64_t t0 = t_now_ns();
	CHECK_ERR(ivc_rx_release(rx, rb, 2), 0);
	pthread_join(th, NULL);
	uint64_t ms = elapsed_ms(t0);
	/* Expected: 1 buffer at once.  A lost wake-up shows as -ETIMEDOUT
	 * after the thread's 10 s. */
	CHECK_EQ(ba.rc, 1);
	if (ms >= 5000)
		t_fail(__FILE__, __LINE__, "the release did not wake the allocator "
		       "(it returned after %llu ms)", (unsigned long long)ms);
	if (ba.rc == 1)
		CHECK_ERR(ivc_tx_free(tx, &ba.b, 1), 0);
	CHECK_ERR(ivc_close(tx), 0);
	CHECK_ERR(ivc_close(rx), 0);
}

/*
 * The same on the receiving side: a receiver asleep in ivc_recv() for a
 * chain whose first buffer came (one doorbell) is woken by its last
 * buffer, sent by a second ivc_tx_send() call.
 */
struct blocked_recv {
	struct ivc_channel *ch;
	char buf[256];
	ssize_t rc;
	atomic_int tid;
};

static void *blocked_recv_thread(void *p)
{
	struct blocked_recv *a = p;
	atomic_store(&a->tid, (int)gettid());
	a->rc = ivc_recv(a->ch, a->buf, sizeof(a->buf), 10000);
	return NULL;
}

static void test_wake_chain_end(enum ivc_mode m)
{
	printf("-- receiver woken by the end of a chain sent in two calls, %s\n",
	       t_mode_name(m));
	struct ivc_options so, co;
	struct ivc_channel *rx, *tx;
	opts(&so, m, 0, 0, 0);
	opts(&co, m, 4, 64, 4);
	REQUIRE_OK(t_pair("wake3", &so, &co, &rx, &tx));
	struct ivc_buf b[2];
	REQUIRE_OK(t_chain2(tx, b, 64, 'A', 10, 'B'));

	struct blocked_recv br = {.ch = rx, .rc = 0};
	atomic_init(&br.tid, 0);
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, blocked_recv_thread, &br) == 0);
	int slept = wait_until_asleep(&br.tid);
	CHECK_EQ(ivc_tx_send(tx, &b[0], 1, 0), 1);
	/* The receiver wakes, finds half a message, sleeps again. */
	slept += wait_until_asleep(&br.tid);
	printf("   receiving thread slept %d time(s) before the chain's end\n",
	       slept);
	uint64_t t0 = t_now_ns();
	CHECK_EQ(ivc_tx_send(tx, &b[1], 1, 0), 1);
	pthread_join(th, NULL);
	uint64_t ms = elapsed_ms(t0);
	CHECK_EQ(br.rc, 74);
	CHECK(br.buf[0] == 'A' && br.buf[63] == 'A' && br.buf[64] == 'B');
	if (ms >= 5000)
		t_fail(__FILE__, __LINE__, "the chain's end did not wake the "
		       "receiver (it returned after %llu ms)", (unsigned long long)ms);
	CHECK_ERR(ivc_close(tx), 0);
	CHECK_ERR(ivc_close(rx), 0);
}

/* ---- out-of-order release under a stream --------------------------------------- */

#define OOO_SLOTS 8u
#define OOO_BUF 64u
#define OOO_POOL 8u
#define OOO_HOLD 4u     /* held by the receiver at most, between bursts */
#define OOO_MAXLEN 200u /* up to 4 buffers */

struct stream_arg {
	struct ivc_channel *tx;
	uint32_t n;
	uint64_t slowest_ns; /* the longest ivc_send() */
};

static size_t ooo_len(uint32_t i)
{
	uint64_t s = i;
	return 1 + (size_t)(t_splitmix64(&s) % OOO_MAXLEN);
}

static void ooo_fill(uint32_t i, unsigned char *p, size_t len)
{
	for (size_t k = 0; k < len; k++)
		p[k] = (unsigned char)(i * 31u + k * 7u);
	if (len >= 4)
		put_u32(p, i);
}

static void *stream_sender(void *p)
{
	struct stream_arg *a = p;
	unsigned char msg[OOO_MAXLEN];
	for (uint32_t i = 0; i < a->n; i++) {
		size_t len = ooo_len(i);
		ooo_fill(i, msg, len);
		uint64_t t0 = t_now_ns();
		int r = ivc_send(a->tx, msg, len, 10000);
		uint64_t dt = t_now_ns() - t0;
		if (dt > a->slowest_ns)
			a->slowest_ns = dt;
		if (r != 0) {
			t_fail(__FILE__, __LINE__, "ivc_send #%u: %d (%s)", i, r,
			       t_errname(r));
			break;
		}
	}
	CHECK_ERR(ivc_close(a->tx), 0);
	return NULL;
}

static void test_out_of_order(enum ivc_mode m)
{
	printf("-- out-of-order release, %s\n", t_mode_name(m));
	struct ivc_options so, co;
	struct ivc_channel *rx, *tx;
	opts(&so, m, 0, 0, 0);
	opts(&co, m, OOO_SLOTS, OOO_BUF, OOO_POOL);
	REQUIRE_OK(t_pair("ooo", &so, &co, &rx, &tx));

	/* IVC_TEST_MESSAGES shortens it where the CPU is slow (the Xen
	 * harness runs under TCG). */
	uint32_t total = (uint32_t)t_env_u64("IVC_TEST_MESSAGES", STREAM_MSGS);
	struct stream_arg a = {.tx = tx, .n = total};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, stream_sender, &a) == 0);

	struct ivc_buf held[OOO_POOL];
	unsigned nheld = 0;
	unsigned char asmb[OOO_MAXLEN + OOO_BUF], want[OOO_MAXLEN];
	size_t alen = 0;
	uint32_t seq = 0;
	uint64_t rng = 42, releases = 0;
	int bad = 0, last = 0;
	uint64_t slowest_ns = 0, start = t_now_ns();

	while (!bad) {
		struct ivc_buf rb[3];
		unsigned n = 1 + (unsigned)(t_splitmix64(&rng) % 3);
		uint64_t t0 = t_now_ns();
		int r = ivc_rx_burst(rx, rb, n, 10000);
		uint64_t dt = t_now_ns() - t0;
		if (dt > slowest_ns)
			slowest_ns = dt;
		if (r < 0) {
			last = r;
			break;
		}
		if (r == 0 || (unsigned)r > n) {
			t_fail(__FILE__, __LINE__, "ivc_rx_burst: %d", r);
			bad = 1;
			break;
		}
		for (int k = 0; k < r; k++) {
			if (rb[k].len > rb[k].cap || alen + rb[k].len > OOO_MAXLEN ||
			    nheld >= OOO_POOL) {
				t_fail(__FILE__, __LINE__,
				       "message %u: len %u, assembled %zu, held %u",
				       seq, rb[k].len, alen, nheld);
				bad = 1;
				break;
			}
			memcpy(asmb + alen, rb[k].data, rb[k].len);
			alen += rb[k].len;
			held[nheld++] = rb[k];
			if (rb[k].flags & IVC_BUF_MORE)
				continue;
			size_t wl = ooo_len(seq);
			ooo_fill(seq, want, wl);
			if (alen != wl || memcmp(asmb, want, wl) != 0) {
				t_fail(__FILE__, __LINE__,
				       "message %u: got %zu bytes, want %zu%s",
				       seq, alen, wl,
				       alen == wl ? " (content differs)" : "");
				bad = 1;
			}
			alen = 0;
			seq++;
		}
		/* Release random held buffers until at most OOO_HOLD remain;
		 * sometimes all of them, last-received first. */
		if (t_splitmix64(&rng) % 16 == 0) {
			while (nheld > 0)
				if (ivc_rx_release(rx, &held[--nheld], 1) != 0)
					bad = 1;
		}
		while (nheld > OOO_HOLD) {
			unsigned i = (unsigned)(t_splitmix64(&rng) % nheld);
			if (ivc_rx_release(rx, &held[i], 1) != 0) {
				t_fail(__FILE__, __LINE__, "release of id %u failed",
				       held[i].id);
				bad = 1;
			}
			held[i] = held[--nheld];
			releases++;
		}
	}
	CHECK(!bad);
	CHECK_EQ(seq, total);
	CHECK_ERR(last, -EPIPE);
	CHECK_EQ(alen, 0);
	/* Releasing after the peer has gone succeeds. */
	if (nheld)
		CHECK_ERR(ivc_rx_release(rx, held, nheld), 0);
	CHECK(releases > 0);
	pthread_join(th, NULL);
	/* A wake-up lost and found again only at a wait's deadline shows as
	 * a call of about its 10 s timeout. */
	printf("   %u messages in %.1f ms; slowest ivc_rx_burst %.1f ms, slowest ivc_send %.1f ms\n",
	       total, (double)(t_now_ns() - start) / 1e6, (double)slowest_ns / 1e6,
	       (double)a.slowest_ns / 1e6);
	struct ivc_stats st;
	REQUIRE_OK(ivc_stats_get(rx, &st));
	CHECK_EQ(st.rx_msgs, total);
	CHECK_ERR(ivc_close(rx), 0);
}

int main(void)
{
	t_init("test_flow", 100);
	static const enum ivc_mode modes[] = {IVC_MODE_ADAPTIVE, IVC_MODE_POLL,
					      IVC_MODE_BLOCK};
	for (unsigned i = 0; i < 3; i++) {
		test_ring_full(modes[i]);
		test_pool_empty(modes[i]);
		if (modes[i] != IVC_MODE_POLL) {
			test_wake_after_consume(modes[i]);
			test_wake_chain_end(modes[i]);
		}
		test_out_of_order(modes[i]);
	}
	return t_finish();
}
