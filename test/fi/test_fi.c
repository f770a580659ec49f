/* SPDX-License-Identifier: MIT */
/*
 * test_fi.c - the libfabric provider "ivc" (src/fi/) through libfabric's
 * public API, loaded from FI_PROVIDER_PATH (ctest sets it to the build
 * tree's src/fi/).
 *
 * In one process, three endpoints of one domain: tagged matching with
 * tag/ignore bits and directed receives, unexpected messages, the order of
 * 1000 messages, a 4 MiB message (fragmented) checked byte for byte, a
 * truncated receive (FI_ETRUNC), fi_cancel (FI_ECANCELED), fi_inject (no
 * completion), remote CQ data, untagged iovecs, FI_SOURCE, FI_PEEK /
 * FI_CLAIM / FI_DISCARD, and the same for large messages (rendezvous over
 * shm: read from the sender's memory; inline under IVC_FI_CMA=0).  Then
 * across two processes: a peer killed with SIGKILL turns the survivor's
 * pending directed receive and its send waiting for the peer into CQ
 * errors within a bounded time; and a peer forging rendezvous (an RTS
 * naming memory it does not have, stray ACKs, an RTS that does not add
 * up) fails a receive with FI_EIO and breaks its own channel, nothing
 * else.  And short headers on the wire (IVCFI_OP_SHORT): read from a peer
 * whose name says version 2, in each of their forms, a malformed one
 * breaking its channel; written only to a peer whose name says version 2
 * (a version-1 name gets the 40-byte header), names of version 3
 * refused.
 *
 * Nothing waits by sleeping: one process drives progress on every endpoint
 * it waits for; across processes, blocking CQ reads and a pipe.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "check.h"
#include "fi_testutil.h"
#include "fi/fi_pvt.h" /* the wire format, for the forger below */

#define NAME_MAX_LEN 256
#define N_EPS 3
#define BIG (4u << 20)

struct node {
	struct fid_ep *ep;
	struct fid_cq *cq;
	fi_addr_t addr; /* in the shared AV */
	char name[NAME_MAX_LEN];
	size_t namelen;
};

static struct fi_info *info;
static struct fid_fabric *fabric;
static struct fid_domain *domain;
static struct fid_av *av;

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void open_domain(void)
{
	info = fit_getinfo(FI_TAGGED | FI_MSG | FI_DIRECTED_RECV | FI_SOURCE,
			   FI_THREAD_UNSPEC, FI_AV_TABLE);
	CHECK(info->domain_attr->cq_data_size >= 4);
	CHECK(info->caps & FI_DIRECTED_RECV);
	REQUIRE_OK(fi_fabric(info->fabric_attr, &fabric, NULL));
	REQUIRE_OK(fi_domain(fabric, info, &domain, NULL));
	struct fi_av_attr aa = { .type = FI_AV_TABLE };
	REQUIRE_OK(fi_av_open(domain, &aa, &av, NULL));
}

static void open_node(struct node *n)
{
	struct fi_cq_attr ca = { .format = FI_CQ_FORMAT_TAGGED, .wait_obj = FI_WAIT_NONE };

	REQUIRE_OK(fi_cq_open(domain, &ca, &n->cq, NULL));
	REQUIRE_OK(fi_endpoint(domain, info, &n->ep, NULL));
	REQUIRE_OK(fi_ep_bind(n->ep, &av->fid, 0));
	REQUIRE_OK(fi_ep_bind(n->ep, &n->cq->fid, FI_TRANSMIT | FI_RECV));
	REQUIRE_OK(fi_enable(n->ep));
	n->namelen = 0;
	CHECK_EQ(fi_getname(&n->ep->fid, NULL, &n->namelen), -FI_ETOOSMALL);
	REQUIRE(n->namelen > 0 && n->namelen <= NAME_MAX_LEN);
	REQUIRE_OK(fi_getname(&n->ep->fid, n->name, &n->namelen));
	REQUIRE_EQ(fi_av_insert(av, n->name, 1, &n->addr, 0, NULL), 1);
}

static void close_node(struct node *n)
{
	CHECK_OK(fi_close(&n->ep->fid));
	CHECK_OK(fi_close(&n->cq->fid));
}

/* Drive every endpoint but consume nothing (a read of 0 entries). */
static void drive(struct node *nodes)
{
	struct fi_cq_tagged_entry e;

	for (int i = 0; i < N_EPS; i++)
		(void)fi_cq_read(nodes[i].cq, &e, 0);
}

/* Wait for one completion on @n, driving all: 1, or -FI_EAVAIL. */
static ssize_t wait_one(struct node *nodes, struct node *n,
			struct fi_cq_tagged_entry *e, fi_addr_t *src)
{
	long long end = now_ms() + t_scaled_ms(20000);

	for (;;) {
		ssize_t r = fi_cq_readfrom(n->cq, e, 1, src);
		if (r != -FI_EAGAIN)
			return r;
		if (now_ms() > end)
			return -FI_ETIMEDOUT;
		drive(nodes);
	}
}

static void read_err(struct node *n, struct fi_cq_err_entry *err)
{
	memset(err, 0, sizeof(*err));
	CHECK_EQ(fi_cq_readerr(n->cq, err, 0), 1);
}

/* Nothing more is (or becomes) there on @n. */
static void expect_empty(struct node *nodes, struct node *n)
{
	struct fi_cq_tagged_entry e;

	drive(nodes);
	CHECK_EQ(fi_cq_read(n->cq, &e, 1), -FI_EAGAIN);
}

static void send_tagged(struct node *nodes, struct node *from, struct node *to,
			const void *buf, size_t len, uint64_t tag, void *ctx)
{
	ssize_t r;

	while ((r = fi_tsend(from->ep, buf, len, NULL, to->addr, tag, ctx)) == -FI_EAGAIN)
		drive(nodes);
	CHECK_OK(r);
}

static ssize_t trecvmsg(struct node *n, void *buf, size_t len, fi_addr_t src,
			uint64_t tag, void *ctx, uint64_t flags)
{
	struct iovec iov = { buf, len };
	struct fi_msg_tagged m = {
		.msg_iov = &iov, .iov_count = buf ? 1 : 0, .addr = src,
		.tag = tag, .ignore = 0, .context = ctx,
	};
	return fi_trecvmsg(n->ep, &m, flags);
}

/* Until a message tagged @tag waits, unexpected, at @n (FI_PEEK). */
static void wait_unexpected(struct node *nodes, struct node *n, uint64_t tag)
{
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;
	struct fi_context pctx;
	ssize_t r;

	do {
		CHECK_OK(trecvmsg(n, NULL, 0, FI_ADDR_UNSPEC, tag, &pctx, FI_PEEK));
		r = wait_one(nodes, n, &e, NULL);
		if (r == -FI_EAVAIL)
			read_err(n, &err);
	} while (r == -FI_EAVAIL && err.err == FI_ENOMSG);
	REQUIRE_EQ(r, 1);
}

/* Tag/ignore bits, and a directed receive that waits for its source. */
static void test_matching(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1], *c = &nodes[2];
	char r1[16] = {0}, r2[16] = {0}, r3[16] = {0};
	struct fi_cq_tagged_entry e;
	fi_addr_t src;
	int c1, c2, c3, s1, s2;

	/* r1 only from c; r2 from anyone with tag 0x12xx; r3 untagged. */
	CHECK_OK(fi_trecv(b->ep, r1, sizeof(r1), NULL, c->addr, 0x1200, 0xff, &c1));
	CHECK_OK(fi_trecv(b->ep, r2, sizeof(r2), NULL, FI_ADDR_UNSPEC, 0x1200, 0xff, &c2));
	CHECK_OK(fi_recv(b->ep, r3, sizeof(r3), NULL, FI_ADDR_UNSPEC, &c3));
	send_tagged(nodes, a, b, "from-a", 7, 0x1234, &s1);
	REQUIRE_EQ(wait_one(nodes, b, &e, &src), 1);
	CHECK(e.op_context == &c2);
	CHECK_EQ(e.tag, 0x1234);
	CHECK_EQ(e.len, 7);
	CHECK(e.flags & FI_TAGGED && e.flags & FI_RECV);
	CHECK_EQ(src, a->addr);
	CHECK(!strcmp(r2, "from-a"));
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	CHECK(e.op_context == &s1 && (e.flags & FI_SEND));
	/* A tag outside the mask matches nothing: it waits as unexpected. */
	send_tagged(nodes, c, b, "other", 6, 0x1300, &s2);
	REQUIRE_EQ(wait_one(nodes, c, &e, NULL), 1);
	expect_empty(nodes, b);
	send_tagged(nodes, c, b, "from-c", 7, 0x12ff, &s2);
	REQUIRE_EQ(wait_one(nodes, b, &e, &src), 1);
	CHECK(e.op_context == &c1);
	CHECK_EQ(src, c->addr);
	CHECK(!strcmp(r1, "from-c"));
	REQUIRE_EQ(wait_one(nodes, c, &e, NULL), 1);
	/* Untagged traffic does not meet tagged receives. */
	CHECK_OK(fi_send(a->ep, "plain", 6, NULL, b->addr, &s1));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK(e.op_context == &c3 && (e.flags & FI_MSG));
	CHECK(!strcmp(r3, "plain"));
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	/* Drain the unexpected 0x1300 so later tests start clean. */
	CHECK_OK(fi_trecv(b->ep, r1, sizeof(r1), NULL, FI_ADDR_UNSPEC, 0x1300, 0, &c1));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK(!strcmp(r1, "other"));
}

/* Sent before its receive is posted: kept, then delivered. */
static void test_unexpected(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	char buf[32] = {0};
	int ctx;

	send_tagged(nodes, a, b, "early bird", 11, 0x55, NULL);
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	expect_empty(nodes, b); /* it arrived: nothing to complete yet */
	CHECK_OK(fi_trecv(b->ep, buf, sizeof(buf), NULL, a->addr, 0x55, 0, &ctx));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK(e.op_context == &ctx);
	CHECK_EQ(e.len, 11);
	CHECK(!strcmp(buf, "early bird"));
}

/* A flood of empty unexpected messages is bounded too: the receiver stops
 * reading the channel (the sender then stalls with -FI_EAGAIN) long before
 * 300000 are in, and every one accepted is received once receives come. */
static void test_unexp_bound(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	unsigned sent = 0, stalls = 0, got = 0;
	int bad = 0;

	while (sent < 300000 && stalls < 2000) {
		ssize_t r = fi_tinject(a->ep, NULL, 0, b->addr, 9);

		if (r == -FI_EAGAIN) {
			drive(nodes);
			stalls++;
			continue;
		}
		CHECK_OK(r);
		stalls = 0;
		sent++;
	}
	printf("test_fi: %u empty unexpected messages taken before the sender stalled\n", sent);
	CHECK(sent < 300000);
	for (unsigned i = 0; i < sent; i++) {
		ssize_t r;

		while ((r = fi_trecv(b->ep, NULL, 0, NULL, a->addr, 9, 0, NULL)) == -FI_EAGAIN) {
			if (wait_one(nodes, b, &e, NULL) == 1)
				got++;
			else
				bad++;
		}
		CHECK_OK(r);
	}
	while (got < sent && !bad) {
		if (wait_one(nodes, b, &e, NULL) == 1)
			got++;
		else
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(got, sent);
	expect_empty(nodes, b);
}

/* 1000 messages of one tag arrive in the order sent (FI_ORDER_SAS), half
 * of them unexpected, sent with fi_tinject (no completions). */
static void test_order(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	enum { N = 1000 };
	static uint32_t got[N];
	struct fi_cq_tagged_entry e;
	int bad = 0;

	for (uint32_t i = 0; i < N / 2; i++)
		CHECK_OK(fi_trecv(b->ep, &got[i], sizeof(got[i]), NULL, a->addr, 7, 0, NULL));
	for (uint32_t i = 0; i < N; i++) {
		ssize_t r;
		while ((r = fi_tinject(a->ep, &i, sizeof(i), b->addr, 7)) == -FI_EAGAIN)
			drive(nodes);
		if (r)
			bad++;
	}
	CHECK_EQ(bad, 0);
	for (uint32_t i = N / 2; i < N; i++)
		CHECK_OK(fi_trecv(b->ep, &got[i], sizeof(got[i]), NULL, a->addr, 7, 0, NULL));
	for (int i = 0; i < N; i++)
		if (wait_one(nodes, b, &e, NULL) != 1)
			bad++;
	CHECK_EQ(bad, 0);
	for (uint32_t i = 0; i < N; i++)
		if (got[i] != i)
			bad++;
	CHECK_EQ(bad, 0);
	expect_empty(nodes, a); /* fi_inject never completes */
}

/* A read of zero entries progresses the endpoint even while completions
 * wait on its CQ (drive() relies on it).  It did not: a sender whose send
 * had completed unread was never progressed again, and over tcp, where
 * a completed send's bytes may still wait for the socket, the receiver
 * waited for ever (test_fi.tcp hung at random under load). */
static void test_zero_read(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	struct fi_cq_tagged_entry e[2];
	char rx[8], rx2[8];
	int ctx, sctx, bctx;

	/* The channel from b to a is up and a has adopted it. */
	CHECK_OK(fi_trecv(a->ep, rx, sizeof(rx), NULL, b->addr, 0x2e0, 0, &ctx));
	send_tagged(nodes, b, a, "warm", 5, 0x2e0, NULL);
	REQUIRE_EQ(wait_one(nodes, a, e, NULL), 1);
	REQUIRE_EQ(wait_one(nodes, b, e, NULL), 1);
	/* A completion waits unread on a's CQ. */
	send_tagged(nodes, a, b, "left", 5, 0x2e2, &sctx);
	/* b sends to a; only a's progress can take it. */
	CHECK_OK(fi_trecv(a->ep, rx, sizeof(rx), NULL, b->addr, 0x2e1, 0, &ctx));
	send_tagged(nodes, b, a, "came", 5, 0x2e1, NULL);
	for (int i = 0; i < 1000; i++)
		(void)fi_cq_read(a->cq, e, 0);
	CHECK_EQ(fi_cq_read(a->cq, e, 2), 2);
	CHECK(!strcmp(rx, "came"));
	/* b takes a's message; its CQ holds its send and this receive. */
	CHECK_OK(fi_trecv(b->ep, rx2, sizeof(rx2), NULL, a->addr, 0x2e2, 0, &bctx));
	REQUIRE_EQ(wait_one(nodes, b, e, NULL), 1);
	REQUIRE_EQ(wait_one(nodes, b, e, NULL), 1);
	CHECK(!strcmp(rx2, "left"));
	expect_empty(nodes, a);
	expect_empty(nodes, b);
}

/* 4 MiB, larger than a lane: fragmented and reassembled in place. */
static void test_big(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	unsigned char *tx = malloc(BIG), *rx = calloc(1, BIG);
	int ctx;

	REQUIRE(tx && rx);
	for (size_t i = 0; i < BIG; i++)
		tx[i] = (unsigned char)(i * 131 + (i >> 13));
	CHECK_OK(fi_trecv(b->ep, rx, BIG, NULL, a->addr, 0xb16, 0, &ctx));
	send_tagged(nodes, a, b, tx, BIG, 0xb16, NULL);
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK_EQ(e.len, BIG);
	CHECK(!memcmp(tx, rx, BIG));
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	/* And once more, unexpected this time (the send of a large message
	 * may complete only once a receive took it: rendezvous). */
	memset(rx, 0, BIG);
	send_tagged(nodes, a, b, tx, BIG, 0xb17, NULL);
	wait_unexpected(nodes, b, 0xb17);
	CHECK_OK(fi_trecv(b->ep, rx, BIG, NULL, a->addr, 0xb17, 0, &ctx));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK_EQ(e.len, BIG);
	CHECK(!memcmp(tx, rx, BIG));
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	free(tx);
	free(rx);
}

/* Large messages (rendezvous over shm, from 16 KiB; inline with
 * IVC_FI_CMA=0): a truncated receive, gathered and scattered iovecs,
 * FI_PEEK|FI_CLAIM then FI_CLAIM, and FI_PEEK|FI_DISCARD, whose sender
 * still completes. */
static void test_big_cases(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;
	struct fi_context pctx, cctx;
	const size_t n = 256u << 10;
	unsigned char *tx = malloc(n), *rx = calloc(1, n);
	int ctx, sctx;

	REQUIRE(tx && rx);
	for (size_t i = 0; i < n; i++)
		tx[i] = (unsigned char)(i * 7 + (i >> 11));
	/* Truncated: the head lands, FI_ETRUNC says how much did not. */
	CHECK_OK(fi_trecv(b->ep, rx, 100000, NULL, a->addr, 0x7b, 0, &ctx));
	send_tagged(nodes, a, b, tx, n, 0x7b, &sctx);
	CHECK_EQ(wait_one(nodes, b, &e, NULL), -FI_EAVAIL);
	read_err(b, &err);
	CHECK_EQ(err.err, FI_ETRUNC);
	CHECK_EQ(err.len, 100000);
	CHECK_EQ(err.olen, n - 100000);
	CHECK(!memcmp(tx, rx, 100000) && rx[100000] == 0);
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	CHECK(e.op_context == &sctx);

	/* Three pieces out, two in, posted first and then unexpected. */
	for (int unexpected = 0; unexpected < 2; unexpected++) {
		struct iovec out[3] = { { tx, 10000 }, { tx + 10000, 30000 },
					{ tx + 40000, 50000 } };
		struct iovec in[2] = { { rx, 45000 }, { rx + 45000, 60000 } };
		memset(rx, 0, n);
		if (!unexpected)
			CHECK_OK(fi_recvv(b->ep, in, NULL, 2, a->addr, &ctx));
		CHECK_OK(fi_sendv(a->ep, out, NULL, 3, b->addr, &sctx));
		if (unexpected) {
			for (int i = 0; i < 1000; i++)
				drive(nodes); /* no peek for untagged: let it land */
			CHECK_OK(fi_recvv(b->ep, in, NULL, 2, a->addr, &ctx));
		}
		REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
		CHECK_EQ(e.len, 90000);
		CHECK(!memcmp(tx, rx, 90000) && rx[90000] == 0);
		REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	}

	/* Probed, claimed, then received by the claiming context. */
	memset(rx, 0, n);
	send_tagged(nodes, a, b, tx, n, 0xc1a, &sctx);
	wait_unexpected(nodes, b, 0xc1a);
	CHECK_OK(trecvmsg(b, NULL, 0, a->addr, 0xc1a, &cctx, FI_PEEK | FI_CLAIM));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK_EQ(e.len, n);
	CHECK_OK(trecvmsg(b, rx, n, a->addr, 0xc1a, &cctx, FI_CLAIM));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK(e.op_context == &cctx);
	CHECK_EQ(e.len, n);
	CHECK(!memcmp(tx, rx, n));
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);

	/* Discarded: the sender is done with it all the same. */
	send_tagged(nodes, a, b, tx, n, 0xd1d, &sctx);
	wait_unexpected(nodes, b, 0xd1d);
	CHECK_OK(trecvmsg(b, NULL, 0, a->addr, 0xd1d, &pctx, FI_PEEK | FI_DISCARD));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	CHECK(e.op_context == &sctx);
	expect_empty(nodes, b);
	free(tx);
	free(rx);
}

/* A receive shorter than the message: FI_ETRUNC, the head delivered. */
static void test_truncate(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;
	char tx[300], rx[100];
	int ctx;

	for (int i = 0; i < 300; i++)
		tx[i] = (char)i;
	CHECK_OK(fi_trecv(b->ep, rx, sizeof(rx), NULL, a->addr, 0x7, 0, &ctx));
	send_tagged(nodes, a, b, tx, sizeof(tx), 0x7, NULL);
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	CHECK_EQ(wait_one(nodes, b, &e, NULL), -FI_EAVAIL);
	read_err(b, &err);
	CHECK_EQ(err.err, FI_ETRUNC);
	CHECK(err.op_context == &ctx);
	CHECK_EQ(err.len, sizeof(rx));
	CHECK_EQ(err.olen, sizeof(tx) - sizeof(rx));
	CHECK(!memcmp(tx, rx, sizeof(rx)));
}

static void test_cancel(struct node *nodes)
{
	struct node *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;
	char rx[8];
	int ctx, other;

	CHECK_OK(fi_trecv(b->ep, rx, sizeof(rx), NULL, FI_ADDR_UNSPEC, 0x999, 0, &ctx));
	CHECK_OK(fi_cancel(&b->ep->fid, &ctx));
	CHECK_EQ(wait_one(nodes, b, &e, NULL), -FI_EAVAIL);
	read_err(b, &err);
	CHECK_EQ(err.err, FI_ECANCELED);
	CHECK(err.op_context == &ctx);
	CHECK_EQ(fi_cancel(&b->ep->fid, &other), -FI_ENOENT);
	expect_empty(nodes, b);
}

/* fi_injectdata / fi_tsenddata: the data and FI_REMOTE_CQ_DATA arrive. */
static void test_cq_data(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	char rx[16];
	int ctx;

	CHECK_OK(fi_trecv(b->ep, rx, sizeof(rx), NULL, a->addr, 0xda, 0, &ctx));
	CHECK_OK(fi_tsenddata(a->ep, "d", 2, NULL, 0xdeadbeef, b->addr, 0xda, NULL));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK(e.flags & FI_REMOTE_CQ_DATA);
	CHECK_EQ(e.data, 0xdeadbeef);
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	CHECK_OK(fi_recv(b->ep, rx, sizeof(rx), NULL, FI_ADDR_UNSPEC, &ctx));
	CHECK_OK(fi_injectdata(a->ep, "i", 2, 0x1234567, b->addr));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK(e.flags & FI_REMOTE_CQ_DATA);
	CHECK_EQ(e.data, 0x1234567);
	expect_empty(nodes, a);
}

/* Scatter and gather over iovecs, a zero-length message. */
static void test_iov(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	char p1[] = "hello, ", p2[] = "iovec world";
	char r1[5] = {0}, r2[32] = {0};
	struct iovec tx[2] = { { p1, 7 }, { p2, sizeof(p2) } };
	struct iovec rx[2] = { { r1, sizeof(r1) }, { r2, sizeof(r2) } };
	int ctx;

	CHECK_OK(fi_recvv(b->ep, rx, NULL, 2, FI_ADDR_UNSPEC, &ctx));
	CHECK_OK(fi_sendv(a->ep, tx, NULL, 2, b->addr, NULL));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK_EQ(e.len, 7 + sizeof(p2));
	CHECK(!memcmp(r1, "hello", 5) && !strcmp(r2, ", iovec world"));
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	CHECK_OK(fi_recv(b->ep, r1, sizeof(r1), NULL, FI_ADDR_UNSPEC, &ctx));
	CHECK_OK(fi_send(a->ep, NULL, 0, NULL, b->addr, NULL));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK_EQ(e.len, 0);
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
}

/* MPI_Probe / MPI_Mprobe: FI_PEEK, FI_PEEK|FI_CLAIM then FI_CLAIM,
 * FI_DISCARD. */
static void test_peek(struct node *nodes)
{
	struct node *a = &nodes[0], *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;
	struct fi_context pctx, cctx;
	char rx[32] = {0};
	fi_addr_t src;

	CHECK_OK(trecvmsg(b, NULL, 0, FI_ADDR_UNSPEC, 0x9ee, &pctx, FI_PEEK));
	CHECK_EQ(wait_one(nodes, b, &e, NULL), -FI_EAVAIL);
	read_err(b, &err);
	CHECK_EQ(err.err, FI_ENOMSG);
	send_tagged(nodes, a, b, "peeked", 7, 0x9ee, NULL);
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	/* Peek until it is there (it arrives during progress). */
	ssize_t r;
	do {
		CHECK_OK(trecvmsg(b, NULL, 0, FI_ADDR_UNSPEC, 0x9ee, &pctx, FI_PEEK));
		r = wait_one(nodes, b, &e, &src);
		if (r == -FI_EAVAIL)
			read_err(b, &err);
	} while (r == -FI_EAVAIL && err.err == FI_ENOMSG);
	REQUIRE_EQ(r, 1);
	CHECK_EQ(e.len, 7);
	CHECK_EQ(e.tag, 0x9ee);
	CHECK_EQ(src, a->addr);
	/* Still there: claim it, then receive it by the claiming context. */
	CHECK_OK(trecvmsg(b, NULL, 0, a->addr, 0x9ee, &cctx, FI_PEEK | FI_CLAIM));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK(e.op_context == &cctx);
	/* A claimed message is no longer matched by ordinary receives. */
	CHECK_OK(trecvmsg(b, NULL, 0, FI_ADDR_UNSPEC, 0x9ee, &pctx, FI_PEEK));
	CHECK_EQ(wait_one(nodes, b, &e, NULL), -FI_EAVAIL);
	read_err(b, &err);
	CHECK_EQ(err.err, FI_ENOMSG);
	CHECK_OK(trecvmsg(b, rx, sizeof(rx), a->addr, 0x9ee, &cctx, FI_CLAIM));
	REQUIRE_EQ(wait_one(nodes, b, &e, NULL), 1);
	CHECK(e.op_context == &cctx);
	CHECK_EQ(e.len, 7);
	CHECK(!strcmp(rx, "peeked"));
	/* FI_PEEK|FI_DISCARD drops it. */
	send_tagged(nodes, a, b, "dropme", 7, 0xd15, NULL);
	REQUIRE_EQ(wait_one(nodes, a, &e, NULL), 1);
	do {
		CHECK_OK(trecvmsg(b, NULL, 0, FI_ADDR_UNSPEC, 0xd15, &pctx,
				  FI_PEEK | FI_DISCARD));
		r = wait_one(nodes, b, &e, NULL);
		if (r == -FI_EAVAIL)
			read_err(b, &err);
	} while (r == -FI_EAVAIL && err.err == FI_ENOMSG);
	CHECK_EQ(r, 1);
	CHECK_OK(trecvmsg(b, NULL, 0, FI_ADDR_UNSPEC, 0xd15, &pctx, FI_PEEK));
	CHECK_EQ(wait_one(nodes, b, &e, NULL), -FI_EAVAIL);
	read_err(b, &err);
	CHECK_EQ(err.err, FI_ENOMSG);
}

static long long cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* A blocking read with nothing to come sleeps (issue 18: idle ranks must
 * not burn a core): its timeout passes, at little CPU. */
static void test_sread_idle(struct node *nodes)
{
	struct node *b = &nodes[1];
	struct fi_cq_tagged_entry e;
	char rx[8];
	int ctx;

	CHECK_OK(fi_trecv(b->ep, rx, sizeof(rx), NULL, FI_ADDR_UNSPEC, 0x1d1e, 0, &ctx));
	long long t0 = now_ms(), c0 = cpu_ms();
	CHECK_EQ(fi_cq_sread(b->cq, &e, 1, NULL, 500), -FI_EAGAIN);
	long long wall = now_ms() - t0, cpu = cpu_ms() - c0;
	printf("fi_cq_sread idle: %lld ms wall, %lld ms CPU\n", wall, cpu);
	CHECK(wall >= 490);
	CHECK(cpu < 100);
	CHECK_OK(fi_cancel(&b->ep->fid, &ctx));
	CHECK_EQ(fi_cq_read(b->cq, &e, 1), -FI_EAVAIL);
	struct fi_cq_err_entry err;
	read_err(b, &err);
}

static void one_process(void)
{
	struct node nodes[N_EPS];

	open_domain();
	for (int i = 0; i < N_EPS; i++)
		open_node(&nodes[i]);
	test_matching(nodes);
	test_unexpected(nodes);
	test_order(nodes);
	test_unexp_bound(nodes);
	test_zero_read(nodes);
	test_big(nodes);
	test_big_cases(nodes);
	test_truncate(nodes);
	test_cancel(nodes);
	test_cq_data(nodes);
	test_iov(nodes);
	test_peek(nodes);
	test_sread_idle(nodes);
	for (int i = 0; i < N_EPS; i++)
		close_node(&nodes[i]);
	CHECK_OK(fi_close(&av->fid));
	CHECK_OK(fi_close(&domain->fid));
	CHECK_OK(fi_close(&fabric->fid));
	fi_freeinfo(info);
}

/* ---- a peer that dies --------------------------------------------------- */

static void write_all(int fd, const void *p, size_t n)
{
	REQUIRE_EQ(write(fd, p, n), (ssize_t)n);
}

static void read_all(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		REQUIRE(r > 0);
		got += (size_t)r;
	}
}

/* The victim: says its name, learns ours, sends one message, and waits
 * for ever (on a pipe nobody writes) to be killed. */
static _Noreturn void victim(int to_parent, int from_parent)
{
	struct node me;
	fi_addr_t parent;
	char pname[NAME_MAX_LEN];
	size_t plen;
	struct fi_cq_tagged_entry e;

	open_domain();
	open_node(&me);
	write_all(to_parent, &me.namelen, sizeof(me.namelen));
	write_all(to_parent, me.name, me.namelen);
	read_all(from_parent, &plen, sizeof(plen));
	REQUIRE(plen <= sizeof(pname));
	read_all(from_parent, pname, plen);
	REQUIRE_EQ(fi_av_insert(av, pname, 1, &parent, 0, NULL), 1);
	CHECK_OK(fi_tsend(me.ep, "alive", 6, NULL, parent, 1, NULL));
	REQUIRE_EQ(fi_cq_sread(me.cq, &e, 1, NULL, (int)t_scaled_ms(20000)), 1);
	char c;
	(void)!read(from_parent, &c, 1); /* until killed */
	t_child_exit();
}

static void peer_killed(void)
{
	int up[2], down[2];
	struct node me;
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;
	fi_addr_t vaddr;
	char vname[NAME_MAX_LEN], buf[16];
	size_t vlen;
	int rctx, sctx;

	REQUIRE(pipe(up) == 0 && pipe(down) == 0);
	pid_t pid = t_fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		victim(up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	open_domain();
	open_node(&me);
	read_all(up[0], &vlen, sizeof(vlen));
	REQUIRE(vlen <= sizeof(vname));
	read_all(up[0], vname, vlen);
	REQUIRE_EQ(fi_av_insert(av, vname, 1, &vaddr, 0, NULL), 1);
	write_all(down[1], &me.namelen, sizeof(me.namelen));
	write_all(down[1], me.name, me.namelen);

	/* Its message proves the channel from it is up. */
	CHECK_OK(fi_trecv(me.ep, buf, sizeof(buf), NULL, vaddr, 1, 0, &rctx));
	REQUIRE_EQ(fi_cq_sread(me.cq, &e, 1, NULL, (int)t_scaled_ms(20000)), 1);
	CHECK(!strcmp(buf, "alive"));
	/* Pending: a directed receive it will never satisfy, and a send
	 * larger than its lane that it will never read. */
	CHECK_OK(fi_trecv(me.ep, buf, sizeof(buf), NULL, vaddr, 2, 0, &rctx));
	unsigned char *big = calloc(1, BIG);
	REQUIRE(big);
	CHECK_OK(fi_tsend(me.ep, big, BIG, NULL, vaddr, 3, &sctx));
	CHECK_EQ(fi_cq_read(me.cq, &e, 1), -FI_EAGAIN);

	long long t0 = now_ms();
	t_kill_child(pid);
	bool recv_failed = false, send_failed = false;
	while (!(recv_failed && send_failed) && now_ms() - t0 < t_scaled_ms(10000)) {
		ssize_t r = fi_cq_sread(me.cq, &e, 1, NULL, 1000);
		if (r != -FI_EAVAIL)
			continue;
		read_err(&me, &err);
		CHECK_EQ(err.err, FI_EIO);
		if (err.op_context == &rctx)
			recv_failed = true;
		if (err.op_context == &sctx)
			send_failed = true;
	}
	CHECK(recv_failed);
	CHECK(send_failed);
	printf("peer killed: errors after %lld ms\n", now_ms() - t0);
	/* A directed receive posted now fails at once. */
	CHECK_OK(fi_trecv(me.ep, buf, sizeof(buf), NULL, vaddr, 4, 0, &rctx));
	CHECK_EQ(fi_cq_read(me.cq, &e, 1), -FI_EAVAIL);
	read_err(&me, &err);
	CHECK(err.op_context == &rctx && err.err == FI_EIO);
	free(big);
	close_node(&me);
	CHECK_OK(fi_close(&av->fid));
	CHECK_OK(fi_close(&domain->fid));
	CHECK_OK(fi_close(&fabric->fid));
	fi_freeinfo(info);
}

/* ---- a peer that forges rendezvous ------------------------------------- */

static void forge_send(struct ivc_channel *ch, const void *p, size_t n)
{
	REQUIRE_OK(ivc_send(ch, p, n, (int)t_scaled_ms(10000)));
}

/* A domain and one node in this process, and a child running @peer (plain
 * ivc) against the node's name, with a pipe each way; returns once the
 * child has said its first word.  *@to_peer, *@from_peer: our ends. */
static pid_t start_raw_peer(struct node *me, int *to_peer, int *from_peer,
			    void (*peer)(const struct ivcfi_name *, int, int))
{
	int up[2], down[2];
	struct ivcfi_name target;
	char c;

	REQUIRE(pipe(up) == 0 && pipe(down) == 0);
	open_domain();
	open_node(me);
	REQUIRE(me->namelen == sizeof(target));
	memcpy(&target, me->name, sizeof(target));
	pid_t pid = t_fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		peer(&target, up[1], down[0]);
		t_child_exit(); /* not reached: each peer exits itself */
	}
	close(up[1]);
	close(down[0]);
	read_all(up[0], &c, 1);
	*to_peer = down[1];
	*from_peer = up[0];
	return pid;
}

/* Close @me and the domain open_domain() opened. */
static void close_domain(struct node *me)
{
	close_node(me);
	CHECK_OK(fi_close(&av->fid));
	CHECK_OK(fi_close(&domain->fid));
	CHECK_OK(fi_close(&fabric->fid));
	fi_freeinfo(info);
}

/* The forger: plain ivc, not the provider.  A hello with a made-up name,
 * an RTS pointing at memory it does not have, ACKs for sends nobody made,
 * then an RTS whose pieces do not add up to its length. */
static _Noreturn void forger(const struct ivcfi_name *target, int to_parent,
			     int from_parent)
{
	struct ivc_channel *ch;
	struct ivcfi_hello hello;
	struct ivcfi_name name = { IVCFI_NAME_MAGIC, IVCFI_NAME_VERSION, "net:127.0.0.1:1" };
	struct {
		struct ivcfi_hdr h;
		struct ivcfi_rts r;
	} rts;
	struct {
		struct ivcfi_hdr h;
		struct ivcfi_ack a[2];
	} ack;
	char c;

	REQUIRE_OK(ivc_connect(target->addr, NULL, (int)t_scaled_ms(10000), &ch));
	ivcfi_hello_make(&hello, &name);
	forge_send(ch, &hello, sizeof(hello));
	memset(&rts, 0, sizeof(rts));
	rts.h.op = IVCFI_OP_RTS;
	rts.h.flags = IVCFI_HF_TAGGED;
	rts.h.msg_id = 1;
	rts.h.tag = 0xbad;
	rts.h.total_len = 65536;
	rts.r.iov_count = 1;
	rts.r.iov[0].addr = 4096; /* never mapped */
	rts.r.iov[0].len = 65536;
	forge_send(ch, &rts, sizeof(rts));
	memset(&ack, 0, sizeof(ack));
	ack.h.op = IVCFI_OP_ACK;
	ack.h.frag_len = ack.h.total_len = sizeof(ack.a);
	ack.a[0].msg_id = 0;
	ack.a[1].msg_id = 12345;
	forge_send(ch, &ack, sizeof(ack));
	write_all(to_parent, "1", 1);
	read_all(from_parent, &c, 1); /* the parent saw the first RTS fail */
	rts.h.msg_id = 2;
	rts.h.tag = 0xbad2;
	rts.r.iov[0].len = 100; /* 100 != 65536 */
	forge_send(ch, &rts, sizeof(rts));
	write_all(to_parent, "2", 1);
	read_all(from_parent, &c, 1);
	ivc_close(ch);
	t_child_exit();
}

static void forged_rendezvous(void)
{
	int up[2], down[2];
	struct node me;
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;
	unsigned char *rx = calloc(1, 65536);
	int ctx, ctx2;
	char c;

	REQUIRE(rx);
	pid_t pid = start_raw_peer(&me, &down[1], &up[0], forger);
	/* The RTS's memory is not the forger's to give: the receive fails,
	 * and nothing of ours is touched. */
	CHECK_OK(fi_trecv(me.ep, rx, 65536, NULL, FI_ADDR_UNSPEC, 0xbad, 0, &ctx));
	CHECK_EQ(fi_cq_sread(me.cq, &e, 1, NULL, (int)t_scaled_ms(20000)), -FI_EAVAIL);
	read_err(&me, &err);
	CHECK(err.op_context == &ctx);
	CHECK_EQ(err.err, FI_EIO);
	CHECK_EQ(err.prov_errno, EFAULT);
	write_all(down[1], "g", 1);
	read_all(up[0], &c, 1);
	/* The RTS that does not add up broke its channel: nothing matches
	 * this receive, which stays cancellable. */
	CHECK_OK(fi_trecv(me.ep, rx, 65536, NULL, FI_ADDR_UNSPEC, 0xbad2, 0, &ctx2));
	CHECK_EQ(fi_cq_sread(me.cq, &e, 1, NULL, 200), -FI_EAGAIN);
	CHECK_OK(fi_cancel(&me.ep->fid, &ctx2));
	CHECK_EQ(fi_cq_read(me.cq, &e, 1), -FI_EAVAIL);
	read_err(&me, &err);
	CHECK(err.op_context == &ctx2 && err.err == FI_ECANCELED);
	write_all(down[1], "g", 1);
	CHECK_CHILD_OK(t_wait_child(pid, (int)t_scaled_ms(20000)));
	free(rx);
	close(up[0]);
	close(down[1]);
	close_domain(&me);
}

/* ---- short headers on the wire ------------------------------------------ */

/* One IVCFI_OP_SHORT buffer: @flags, then @data (in the header, or after
 * it with IVCFI_HF_DATA64), then @len bytes of @payload. */
static void short_send(struct ivc_channel *ch, uint8_t flags, uint64_t tag,
		       uint64_t data, const void *payload, size_t len)
{
	unsigned char buf[4096];
	struct ivcfi_short h = {
		.op = IVCFI_OP_SHORT, .flags = flags, .tag = tag,
		.data = (flags & IVCFI_HF_DATA64) ? 0 : (uint32_t)data,
	};
	size_t hlen = sizeof(h) + ((flags & IVCFI_HF_DATA64) ? 8 : 0);

	REQUIRE(hlen + len <= sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	if (flags & IVCFI_HF_DATA64)
		memcpy(buf + sizeof(h), &data, 8);
	if (len)
		memcpy(buf + hlen, payload, len);
	forge_send(ch, buf, hlen + len);
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

/* Plain ivc, as a peer of version 2: short messages of each kind, then one
 * that claims 8 bytes of data without saying it has data. */
static _Noreturn void short_sender(const struct ivcfi_name *target, int to_parent,
				   int from_parent)
{
	/* Buffers of 4 KiB, as the provider's own lanes: 3000 bytes are one. */
	const struct ivc_options o = {
		.tx = { .slots = 64, .buf_size = 4096, .buf_count = 64 },
	};
	struct ivc_channel *ch;
	struct ivcfi_hello hello;
	struct ivcfi_name name = { IVCFI_NAME_MAGIC, 2, "net:127.0.0.1:1" };
	unsigned char big[3000], mid[100];
	char c;

	REQUIRE_OK(ivc_connect(target->addr, &o, (int)t_scaled_ms(10000), &ch));
	ivcfi_hello_make(&hello, &name);
	forge_send(ch, &hello, sizeof(hello));
	fill_pattern(mid, sizeof(mid), 1);
	fill_pattern(big, sizeof(big), 2);
	short_send(ch, IVCFI_HF_TAGGED | IVCFI_HF_DATA, 0x51, 0xdeadbeef, "abc", 3);
	short_send(ch, IVCFI_HF_TAGGED | IVCFI_HF_DATA | IVCFI_HF_DATA64, 0x52,
		   0x1122334455667788ull, mid, sizeof(mid));
	short_send(ch, 0, 0, 0, NULL, 0); /* untagged and empty */
	short_send(ch, IVCFI_HF_TAGGED, 0x54, 0, big, sizeof(big));
	write_all(to_parent, "1", 1);
	read_all(from_parent, &c, 1);
	short_send(ch, IVCFI_HF_TAGGED | IVCFI_HF_DATA64, 0x55, 1, "x", 1);
	write_all(to_parent, "2", 1);
	read_all(from_parent, &c, 1);
	/* The provider's progress read it and broke the channel: it closed
	 * its end. */
	ssize_t r = ivc_recv(ch, big, sizeof(big), (int)t_scaled_ms(10000));
	CHECK(r == -EPIPE || r == -ECONNRESET);
	ivc_close(ch);
	t_child_exit();
}

/* Receive one completion on @n: it must be for @ctx, @len bytes long. */
static void short_expect(struct node *n, void *ctx, size_t len,
			 struct fi_cq_tagged_entry *e)
{
	REQUIRE_EQ(fi_cq_sread(n->cq, e, 1, NULL, (int)t_scaled_ms(20000)), 1);
	CHECK(e->op_context == ctx);
	CHECK_EQ(e->len, len);
}

/* A peer of version 2 may send IVCFI_OP_SHORT: tagged or not, with 32 or
 * 64 bits of remote CQ data or none, empty or of 3000 bytes; a malformed
 * one breaks its channel and is never delivered. */
static void short_received(void)
{
	int up[2], down[2];
	struct node me;
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;
	unsigned char buf[4096], want[3000];
	int ctx[5];
	char c;

	pid_t pid = start_raw_peer(&me, &down[1], &up[0], short_sender);
	CHECK_OK(fi_trecv(me.ep, buf, sizeof(buf), NULL, FI_ADDR_UNSPEC, 0x51, 0, &ctx[0]));
	short_expect(&me, &ctx[0], 3, &e);
	CHECK(e.tag == 0x51 && e.data == 0xdeadbeef && (e.flags & FI_REMOTE_CQ_DATA));
	CHECK(!memcmp(buf, "abc", 3));
	CHECK_OK(fi_trecv(me.ep, buf, sizeof(buf), NULL, FI_ADDR_UNSPEC, 0x52, 0, &ctx[1]));
	short_expect(&me, &ctx[1], 100, &e);
	CHECK(e.data == 0x1122334455667788ull && (e.flags & FI_REMOTE_CQ_DATA));
	fill_pattern(want, 100, 1);
	CHECK(!memcmp(buf, want, 100));
	CHECK_OK(fi_recv(me.ep, buf, sizeof(buf), NULL, FI_ADDR_UNSPEC, &ctx[2]));
	short_expect(&me, &ctx[2], 0, &e);
	CHECK((e.flags & FI_MSG) && !(e.flags & (FI_TAGGED | FI_REMOTE_CQ_DATA)));
	CHECK_OK(fi_trecv(me.ep, buf, sizeof(buf), NULL, FI_ADDR_UNSPEC, 0x54, 0, &ctx[3]));
	short_expect(&me, &ctx[3], sizeof(want), &e);
	CHECK(!(e.flags & FI_REMOTE_CQ_DATA));
	fill_pattern(want, sizeof(want), 2);
	CHECK(!memcmp(buf, want, sizeof(want)));
	write_all(down[1], "g", 1);
	read_all(up[0], &c, 1);
	/* The malformed one never matches (progress reads it and breaks
	 * its channel): the receive stays cancellable. */
	CHECK_OK(fi_trecv(me.ep, buf, sizeof(buf), NULL, FI_ADDR_UNSPEC, 0x55, 0, &ctx[4]));
	CHECK_EQ(fi_cq_sread(me.cq, &e, 1, NULL, 200), -FI_EAGAIN);
	CHECK_OK(fi_cancel(&me.ep->fid, &ctx[4]));
	CHECK_EQ(fi_cq_read(me.cq, &e, 1), -FI_EAVAIL);
	read_err(&me, &err);
	CHECK(err.op_context == &ctx[4] && err.err == FI_ECANCELED);
	write_all(down[1], "g", 1);
	CHECK_CHILD_OK(t_wait_child(pid, (int)t_scaled_ms(20000)));
	close(up[0]);
	close(down[1]);
	close_domain(&me);
}

/* What the provider sent on one accepted channel, after its hello. */
static size_t short_take(struct ivc_listener *l, unsigned char *buf, size_t cap)
{
	struct ivc_channel *ch;
	struct ivcfi_hdr h;

	REQUIRE_OK(ivc_accept(l, (int)t_scaled_ms(10000), &ch));
	ssize_t n = ivc_recv(ch, buf, cap, (int)t_scaled_ms(10000));
	REQUIRE(n >= (ssize_t)sizeof(h));
	memcpy(&h, buf, sizeof(h));
	CHECK_EQ(h.op, IVCFI_OP_HELLO);
	n = ivc_recv(ch, buf, cap, (int)t_scaled_ms(10000));
	REQUIRE(n > 0);
	ivc_close(ch);
	return (size_t)n;
}

/* A plain ivc listener, in the provider's place for two names of one
 * address: of version 2 (the message must come short) and of version 1
 * (the 40-byte header). */
static _Noreturn void short_listener(const char *addr, int to_parent)
{
	struct ivc_listener *l;
	unsigned char buf[4096];
	struct ivcfi_short s;
	struct ivcfi_hdr h;

	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	write_all(to_parent, "L", 1);
	size_t n = short_take(l, buf, sizeof(buf));
	REQUIRE(n >= sizeof(s));
	memcpy(&s, buf, sizeof(s));
	CHECK_EQ(s.op, IVCFI_OP_SHORT);
	CHECK_EQ(s.flags, IVCFI_HF_TAGGED | IVCFI_HF_DATA);
	CHECK(s.tag == 0x61 && s.data == 7);
	CHECK(n == sizeof(s) + 5 && !memcmp(buf + sizeof(s), "hello", 5));
	n = short_take(l, buf, sizeof(buf));
	REQUIRE(n >= sizeof(h));
	memcpy(&h, buf, sizeof(h));
	CHECK_EQ(h.op, IVCFI_OP_TAGGED);
	CHECK(h.tag == 0x62 && h.data == 7 && (h.flags & IVCFI_HF_DATA));
	CHECK(h.frag_len == 5 && h.total_len == 5);
	CHECK(n == sizeof(h) + 5 && !memcmp(buf + sizeof(h), "hello", 5));
	ivc_listener_close(l);
	t_child_exit();
}

/* The provider writes a short header only to a peer whose name says it
 * reads one, and refuses names of a version it does not know. */
static void short_sent(void)
{
	int up[2];
	struct node me;
	struct ivcfi_name n1, n2, n3;
	fi_addr_t a1, a2, a3;
	char c;

	REQUIRE(pipe(up) == 0);
	memset(&n2, 0, sizeof(n2));
	n2.magic = IVCFI_NAME_MAGIC;
	n2.version = 2;
	snprintf(n2.addr, sizeof(n2.addr), "shm:@ivcfi-short-%d", (int)getpid());
	n1 = n2;
	n1.version = 1;
	n3 = n2;
	n3.version = 3;
	open_domain();
	open_node(&me);
	pid_t pid = t_fork();
	if (pid == 0) {
		close(up[0]);
		short_listener(n2.addr, up[1]);
	}
	close(up[1]);
	read_all(up[0], &c, 1);
	CHECK_EQ(fi_av_insert(av, &n3, 1, &a3, 0, NULL), 0);
	REQUIRE_EQ(fi_av_insert(av, &n2, 1, &a2, 0, NULL), 1);
	REQUIRE_EQ(fi_av_insert(av, &n1, 1, &a1, 0, NULL), 1);
	CHECK_OK(fi_tinjectdata(me.ep, "hello", 5, 7, a2, 0x61));
	CHECK_OK(fi_tinjectdata(me.ep, "hello", 5, 7, a1, 0x62));
	CHECK_CHILD_OK(t_wait_child(pid, (int)t_scaled_ms(20000)));
	close(up[0]);
	close_domain(&me);
}

int main(void)
{
	fit_init("test_fi", 240);
	one_process();
	peer_killed();
	/* Rendezvous is over shm only, and read only where IVC_FI_CMA is not
	 * 0: elsewhere an RTS has nothing to forge. */
	const char *cma = getenv("IVC_FI_CMA"), *net = getenv("IVC_NET");
	if ((!cma || strcmp(cma, "0")) && (!net || strcmp(net, "tcp")))
		forged_rendezvous();
	short_received();
	short_sent();
	return t_finish();
}
