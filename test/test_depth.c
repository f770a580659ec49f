/* SPDX-License-Identifier: MIT */
/*
 * test_depth - the queue-depth calls (issue 13, item 7).
 *
 *  - a fresh channel: every slot and buffer free, nothing in flight or
 *    waiting; bad input is -EINVAL;
 *  - as messages are sent, received (a burst or a readiness check that
 *    stages one), released: slots_free, bufs_free, in_flight and waiting
 *    follow exactly; a full ring is slots waiting; a chain counts per
 *    buffer; inline messages leave the pool at once;
 *  - a forwarder that receives only what it can forward
 *    (min(slots_free, bufs_free) downstream) never finds its downstream full;
 *  - a peer killed after receiving some: the survivor's in-flight count is
 *    exactly what the peer never received.
 */
#include "check.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define SLOTS 32u
#define BUFS 48u

static void opts(struct ivc_options *o, unsigned flags)
{
	ivc_options_init(o);
	o->tx.slots = SLOTS;
	o->tx.buf_size = 128;
	o->tx.buf_count = BUFS;
	o->flags = flags;
}

static int send_n(struct ivc_channel *tx, unsigned n, uint32_t len)
{
	struct ivc_buf b[SLOTS];
	int k = ivc_tx_alloc(tx, b, n, 0);

	if (k < 0)
		return k;
	for (int i = 0; i < k; i++) {
		memset(b[i].data, 'd', len);
		b[i].len = len;
	}
	return ivc_tx_send(tx, b, (unsigned)k, 0);
}

/* Free slots and buffers: exact below half of @total, else in
 * [half, exact] (include/ivc/depth.h). */
static int free_ok(int v, int exact, int total)
{
	return exact < total / 2 ? v == exact : v >= total / 2 && v <= exact;
}

static void expect(struct ivc_channel *a, struct ivc_channel *b, int slots_free,
		   int bufs_free, int in_flight, int waiting, int line)
{
	int v[4] = { ivc_tx_slots_free(a), ivc_tx_bufs_free(a), ivc_tx_in_flight(a),
		     ivc_rx_waiting(b) };
	int w[4] = { slots_free, bufs_free, in_flight, waiting };
	int ok[4] = { free_ok(v[0], w[0], SLOTS), free_ok(v[1], w[1], BUFS),
		      v[2] == w[2], v[3] == w[3] };
	static const char *const name[4] = { "slots_free", "bufs_free", "in_flight",
					     "waiting" };

	for (int i = 0; i < 4; i++)
		if (!ok[i])
			t_fail(__FILE__, line, "%s = %d, want %d%s", name[i], v[i], w[i],
			       i < 2 ? " (or at least half, below it)" : "");
		else
			t_pass();
}
#define EXPECT(sf, bf, fl, wt) expect(a, b, sf, bf, fl, wt, __LINE__)

static void counts(unsigned flags)
{
	struct ivc_options o;
	struct ivc_channel *a, *b;
	struct ivc_buf got[SLOTS], c[2];
	/* Inline lanes take small payloads out of the pool at once. */
	int il = (flags & IVC_OPT_INLINE) != 0;

	opts(&o, flags);
	REQUIRE_OK(t_pair("depth", &o, &o, &b, &a));
	EXPECT(SLOTS, BUFS, 0, 0);
	REQUIRE_EQ(send_n(a, 10, 64), 10);
	EXPECT(SLOTS - 10, il ? BUFS : BUFS - 10, 10, 10);
	CHECK_EQ(ivc_ready(b, IVC_EV_RX), IVC_EV_RX); /* stages one */
	EXPECT(SLOTS - 9, il ? BUFS : BUFS - 10, 9, 10);
	REQUIRE_EQ(ivc_rx_burst(b, got, 4, 0), 4);
	EXPECT(SLOTS - 6, il ? BUFS : BUFS - 10, 6, 6);
	CHECK_OK(ivc_rx_release(b, got, 4));
	EXPECT(SLOTS - 6, il ? BUFS : BUFS - 6, 6, 6);
	REQUIRE_EQ(ivc_rx_burst(b, got, SLOTS, 0), 6);
	CHECK_OK(ivc_rx_release(b, got, 6));
	EXPECT(SLOTS, BUFS, 0, 0);
	/* Past half the ring and pool: both counts exact, also after the
	 * receiver made room (they are read again below half). */
	REQUIRE_EQ(send_n(a, 20, 64), 20);
	REQUIRE_EQ(ivc_rx_burst(b, got, 3, 0), 3);
	CHECK_OK(ivc_rx_release(b, got, 3));
	CHECK_EQ(ivc_tx_slots_free(a), SLOTS - 17);
	/* The pool may be above half here: a tcp lane took the first ten
	 * back at the allocation that found all it had lent returned. */
	if (!il)
		CHECK(free_ok(ivc_tx_bufs_free(a), BUFS - 17, BUFS));
	REQUIRE_EQ(ivc_rx_burst(b, got, SLOTS, 0), 17);
	CHECK_OK(ivc_rx_release(b, got, 17));
	/* A full ring: slots waiting, none free. */
	REQUIRE_EQ(send_n(a, SLOTS, 64), SLOTS);
	EXPECT(0, il ? BUFS : BUFS - SLOTS, SLOTS, SLOTS);
	REQUIRE_EQ(ivc_rx_burst(b, got, SLOTS, 0), SLOTS);
	CHECK_OK(ivc_rx_release(b, got, SLOTS));
	/* A chain of two buffers counts two (and is never inline). */
	REQUIRE_OK(t_chain2(a, c, 128, 'x', 128, 'y'));
	REQUIRE_EQ(ivc_tx_send(a, c, 2, 0), 2);
	EXPECT(SLOTS - 2, BUFS - 2, 2, 2);
	REQUIRE_EQ(ivc_rx_burst(b, got, SLOTS, 0), 2);
	CHECK_OK(ivc_rx_release(b, got, 2));
	EXPECT(SLOTS, BUFS, 0, 0);
	CHECK_ERR(ivc_tx_slots_free(NULL), -EINVAL);
	CHECK_ERR(ivc_tx_bufs_free(NULL), -EINVAL);
	CHECK_ERR(ivc_tx_in_flight(NULL), -EINVAL);
	CHECK_ERR(ivc_rx_waiting(NULL), -EINVAL);
	ivc_close(a);
	ivc_close(b);
}

/* up -> fw -> down, down's lane smaller than up's: the forwarder asks how
 * much it can forward before it receives, and so never holds more. */
static void forwarder(void)
{
	struct ivc_options big, small;
	struct ivc_channel *up_tx, *up_rx, *dn_tx, *dn_rx;
	struct ivc_buf in[SLOTS], out[SLOTS];
	unsigned sent = 0, fwd = 0, got = 0, total = 2000;

	opts(&big, 0);
	opts(&small, 0);
	small.tx.slots = 8;
	small.tx.buf_count = 12;
	REQUIRE_OK(t_pair("depth_up", &big, &big, &up_rx, &up_tx));
	REQUIRE_OK(t_pair("depth_dn", &small, &small, &dn_rx, &dn_tx));
	while (got < total) {
		if (sent < total && ivc_tx_slots_free(up_tx) > 0) {
			int r = send_n(up_tx, total - sent < 16 ? total - sent : 16, 64);
			if (r > 0)
				sent += (unsigned)r;
		}
		int room = ivc_tx_slots_free(dn_tx), bufs = ivc_tx_bufs_free(dn_tx);
		int n = room < bufs ? room : bufs;
		if (n > 0) {
			int r = ivc_rx_burst(up_rx, in, (unsigned)(n < (int)SLOTS ? n : (int)SLOTS), 0);
			if (r > 0) {
				int k = ivc_tx_alloc(dn_tx, out, (unsigned)r, 0);
				CHECK_EQ(k, r); /* never short: we asked first */
				for (int i = 0; i < k; i++) {
					memcpy(out[i].data, in[i].data, in[i].len);
					out[i].len = in[i].len;
				}
				CHECK_EQ(ivc_tx_send(dn_tx, out, (unsigned)k, 0), k);
				CHECK_OK(ivc_rx_release(up_rx, in, (unsigned)r));
				fwd += (unsigned)r;
			}
		}
		int r = ivc_rx_burst(dn_rx, in, SLOTS, 0);
		if (r > 0) {
			got += (unsigned)r;
			CHECK_OK(ivc_rx_release(dn_rx, in, (unsigned)r));
		}
		if (t_failures())
			break;
	}
	CHECK_EQ(fwd, total);
	struct ivc_stats st;
	CHECK_OK(ivc_stats_get(dn_tx, &st));
	CHECK_EQ(st.ring_full_stalls, 0);
	CHECK_EQ(st.pool_empty_stalls, 0);
	ivc_close(up_tx);
	ivc_close(up_rx);
	ivc_close(dn_tx);
	ivc_close(dn_rx);
}

/* The child connects, receives exactly @take messages, says so, and dies
 * without a word (SIGKILL from the parent). */
static void death(void)
{
	char addr[108];
	struct ivc_options o;
	struct ivc_listener *l;
	struct ivc_channel *a;
	int pfd[2];
	const unsigned sent_n = 25, take = 7;

	opts(&o, 0);
	t_addr(addr, sizeof(addr), "depth_death");
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	REQUIRE(pipe(pfd) == 0);
	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *c;
		struct ivc_buf b[SLOTS];
		unsigned n = 0;
		char x = 'r';
		close(pfd[0]);
		REQUIRE_OK(ivc_connect(addr, &o, 10000, &c));
		while (n < take) {
			int r = ivc_rx_burst(c, b, take - n, 10000);
			REQUIRE(r > 0);
			n += (unsigned)r;
		}
		REQUIRE(write(pfd[1], &x, 1) == 1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	REQUIRE_OK(ivc_accept(l, 10000, &a));
	REQUIRE_EQ(send_n(a, sent_n, 64), sent_n);
	char x;
	REQUIRE(read(pfd[0], &x, 1) == 1);
	kill(pid, SIGKILL);
	int st;
	REQUIRE(waitpid(pid, &st, 0) == pid);
	/* The peer's death is seen... */
	struct ivc_buf b[1];
	CHECK_ERR(ivc_rx_burst(a, b, 1, 5000), -ECONNRESET);
	CHECK_ERR(ivc_tx_alloc(a, b, 1, 0), -ECONNRESET);
	/* ...and what it never received is known. */
	CHECK_EQ(ivc_tx_in_flight(a), sent_n - take);
	CHECK_EQ(ivc_tx_slots_free(a), SLOTS - (sent_n - take));
	close(pfd[0]);
	ivc_close(a);
	ivc_listener_close(l);
}

int main(void)
{
	t_init("test_depth", 80);
	counts(0);
	counts(IVC_OPT_INLINE);
	forwarder();
	death();
	return t_finish();
}
