/* SPDX-License-Identifier: MIT */
/*
 * test_burst - a burst returns everything available up to n, however the
 * caller learnt that data was there (issue 13, bug 2).
 *
 * A readiness check (ivc_ready, ivc_wait, ivc_arm, the poller's own check)
 * stages the descriptor it looked at; the old ivc_rx_burst then returned
 * only that one and left the rest of the ring for another call, so a
 * poller-driven forwarder moved one message per callback.
 *
 *  - with 20 messages in the ring, after each kind of check, one
 *    ivc_rx_burst(.., 32, 0) returns all 20;
 *  - the poller's first callback over a ring preloaded with 20 messages
 *    receives all 20 in one burst;
 *  - under load (a producer thread streaming in bursts), every poller
 *    callback's burst is at least min(32, what ivc_rx_waiting() reported
 *    at the callback's start), and every message arrives in order.
 */
#include "check.h"

#include <poll.h>
#include <pthread.h>
#include <string.h>

#include <ivc/ivc.h>

#define PRE 20u
#define BURST 32u
#ifdef IVC_TEST_SANITIZE
#define LOAD_MSGS 20000u
#else
#define LOAD_MSGS 200000u
#endif
/* The poller's load: LOAD_MSGS, or fewer where IVC_TEST_MESSAGES says so
 * (the Xen harness's emulated CPU); never more (sanitizers' LOAD_MSGS). */
static uint32_t load_msgs(void)
{
	uint64_t want = t_env_u64("IVC_TEST_MESSAGES", LOAD_MSGS);

	return want && want < LOAD_MSGS ? (uint32_t)want : LOAD_MSGS;
}

static void opts(struct ivc_options *o)
{
	ivc_options_init(o);
	o->tx.slots = 64;
	o->tx.buf_size = 64;
	o->tx.buf_count = 256;
}

/* Send @n 8-byte messages numbered from *@seq on. */
static void send_n(struct ivc_channel *tx, unsigned n, uint64_t *seq)
{
	struct ivc_buf b[BURST];

	while (n) {
		unsigned want = n < BURST ? n : BURST;
		int k = ivc_tx_alloc(tx, b, want, 5000);
		REQUIRE(k > 0);
		for (int i = 0; i < k; i++) {
			memcpy(b[i].data, seq, 8);
			b[i].len = 8;
			++*seq;
		}
		for (int sent = 0; sent < k;) {
			int r = ivc_tx_send(tx, b + sent, (unsigned)(k - sent), 5000);
			REQUIRE(r > 0);
			sent += r;
		}
		n -= (unsigned)k;
	}
}

/* Receive one burst, check the numbers from *@next on, release.  Return
 * how many came. */
static int recv_burst(struct ivc_channel *rx, uint64_t *next)
{
	struct ivc_buf b[BURST];
	int r = ivc_rx_burst(rx, b, BURST, 0);

	if (r <= 0)
		return r;
	for (int i = 0; i < r; i++) {
		uint64_t v;
		memcpy(&v, b[i].data, 8);
		if (v != *next)
			t_fail(__FILE__, __LINE__, "message %llu, want %llu",
			       (unsigned long long)v, (unsigned long long)*next);
		*next = v + 1;
	}
	CHECK_OK(ivc_rx_release(rx, b, (unsigned)r));
	return r;
}

enum check_kind { BY_READY, BY_WAIT, BY_ARM, BY_FD, N_KINDS };
static const char *const kind_name[] = { "ivc_ready", "ivc_wait", "ivc_arm",
					 "ivc_fd" };

static void after_check(struct ivc_channel *a, struct ivc_channel *b,
			enum check_kind kind, uint64_t *seq, uint64_t *next)
{
	send_n(a, PRE, seq);
	switch (kind) {
	case BY_READY:
		CHECK_EQ(ivc_ready(b, IVC_EV_RX), IVC_EV_RX);
		break;
	case BY_WAIT:
		CHECK_EQ(ivc_wait(b, IVC_EV_RX, 1000), IVC_EV_RX);
		break;
	case BY_ARM:
		CHECK_EQ(ivc_arm(b, IVC_EV_RX), IVC_EV_RX);
		break;
	default:
		break;
	}
	CHECK_EQ(ivc_rx_waiting(b), PRE);
	int r = recv_burst(b, next);
	if (r != (int)PRE)
		t_fail(__FILE__, __LINE__, "after %s: a burst of 32 returned %d of %u",
		       kind_name[kind], r, PRE);
}

static void checks(void)
{
	struct ivc_options o;
	struct ivc_channel *a, *b;
	uint64_t seq = 0, next = 0;

	opts(&o);
	REQUIRE_OK(t_pair("burst", &o, &o, &b, &a));
	for (int k = 0; k < BY_FD; k++)
		after_check(a, b, (enum check_kind)k, &seq, &next);
	/* ivc_fd: armed while empty, then rung by the sender. */
	CHECK_EQ(ivc_arm(b, IVC_EV_RX), 0);
	send_n(a, PRE, &seq);
	struct pollfd p = { .fd = ivc_fd(b), .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 5000), 1);
	CHECK_EQ(ivc_ready(b, IVC_EV_RX), IVC_EV_RX);
	int r = recv_burst(b, &next);
	if (r != (int)PRE)
		t_fail(__FILE__, __LINE__, "after ivc_fd: a burst returned %d of %u", r,
		       PRE);
	CHECK_EQ(next, seq);
	ivc_close(a);
	ivc_close(b);
}

struct load {
	struct ivc_channel *rx;
	struct ivc_poller *p;
	uint64_t next;
	unsigned total, calls, short_bursts, first;
};

static int load_cb(struct ivc_channel *ch, void *arg)
{
	struct load *l = arg;
	int w = ivc_rx_waiting(ch);
	int r = recv_burst(ch, &l->next);

	if (r == -EPIPE) {
		ivc_poller_stop(l->p);
		return -1;
	}
	if (r < 0)
		return r == -EAGAIN ? 0 : r;
	if (!l->calls++)
		l->first = (unsigned)r;
	if (w > 0 && r < (w < (int)BURST ? w : (int)BURST))
		l->short_bursts++;
	l->total += (unsigned)r;
	return r;
}

struct producer {
	struct ivc_channel *tx;
	unsigned n;
};

static void *produce(void *arg)
{
	struct producer *pr = arg;
	uint64_t seq = PRE;

	send_n(pr->tx, pr->n, &seq);
	ivc_close(pr->tx);
	return NULL;
}

static void poller(void)
{
	struct ivc_options o;
	struct ivc_poller_options po;
	struct load l = { 0 };
	struct producer pr;
	uint64_t seq = 0;
	pthread_t th;

	opts(&o);
	o.tx.slots = 256;
	memset(&po, 0, sizeof(po));
	po.cpu = -1;
	REQUIRE_OK(t_pair("burst_poll", &o, &o, &l.rx, &pr.tx));
	REQUIRE_OK(ivc_poller_create(&po, &l.p));
	REQUIRE_OK(ivc_poller_add(l.p, l.rx, load_cb, &l));
	send_n(pr.tx, PRE, &seq); /* preloaded before the poller looks */
	pr.n = load_msgs();
	REQUIRE(pthread_create(&th, NULL, produce, &pr) == 0);
	CHECK_EQ(ivc_poller_run(l.p, 60000), 0);
	pthread_join(th, NULL);
	CHECK(l.first >= PRE); /* the producer may have added more */
	CHECK_EQ(l.total, PRE + pr.n);
	CHECK_EQ(l.short_bursts, 0);
	printf("poller: %u callbacks for %u messages (%.1f per burst)\n", l.calls,
	       l.total, l.calls ? (double)l.total / l.calls : 0.0);
	ivc_poller_destroy(l.p);
	ivc_close(l.rx);
}

int main(void)
{
	t_init("test_burst", 80);
	checks();
	poller();
	return t_finish();
}
