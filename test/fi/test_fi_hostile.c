/* SPDX-License-Identifier: MIT */
/*
 * test_fi_hostile.c - the libfabric provider "ivc" against peers that do
 * not follow its protocol: plain ivc channels to an endpoint's listener,
 * saying whatever this program likes (the wire format of src/fi/fi_pvt.h).
 * The provider is loaded through libfabric (FI_PROVIDER_PATH), as
 * test_fi.c loads it; the peers live in this process, so their rendezvous
 * requests name memory the receiver may read.
 *
 *  - Peers that come and go: 300 visits (a hello, a message, gone) leave
 *    no trace on the endpoint, as an honest peer's visits do not.
 *  - A crowd that connects while the application makes no progress call:
 *    the endpoint's acceptor holds at most IVCFI_ACCEPT_MAX channels for
 *    progress to take, the rest wait (their connects time out), so that
 *    descriptors stay bounded; progress lets it accept again.
 *  - Peers that name someone else in their hello, with a different byte
 *    after the name's end each time, and ask for an answer (an RTS): the
 *    endpoint connects to that someone once per visitor at most, and lets
 *    go of the channel when the visitor leaves.
 *  - Random rounds: each a new peer sending chains made from the wire
 *    format (hellos, short and long messages, continuations, RTS, ACKs,
 *    RDATA) with bytes changed at random, while receives of many sizes and
 *    tags are posted.  Every receive completes exactly once (with data no
 *    longer than its buffer, nothing written past it, or an error), and
 *    the endpoint keeps serving: a message from the peer after its chains
 *    arrives, or the peer finds its channel broken.  IVC_HOSTILE_ROUNDS
 *    (default 300) and IVC_HOSTILE_SEED choose the rounds.
 *
 * Nothing waits by sleeping: one thread drives the endpoints' progress;
 * the only other threads are the endpoints' acceptors.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "check.h"
#include "fi_testutil.h"
#include "fi/fi_pvt.h" /* the wire format, and the endpoint's lists */
#include "shm/shm_pvt.h" /* IVC_SHM_MAX_PENDING */

#define MARK_TAG 0x4d41524bull
#define MAX_POSTED 8
#define CANARY 16
#define PEER_MEM (64u << 10)

struct node {
	struct fid_ep *ep;
	struct fid_cq *cq;
	struct fid_av *av;
	struct ivcfi_name name;
};

static struct fi_info *info;
static struct fid_fabric *fabric;
static struct fid_domain *domain;
static struct node victim, other;
/* What a peer's RTS points at: memory of this process, so readable. */
static unsigned char peer_mem[PEER_MEM];

static void open_domain(void)
{
	info = fit_getinfo(FI_TAGGED | FI_MSG | FI_DIRECTED_RECV | FI_SOURCE,
			   FI_THREAD_UNSPEC, FI_AV_TABLE);
	REQUIRE_OK(fi_fabric(info->fabric_attr, &fabric, NULL));
	REQUIRE_OK(fi_domain(fabric, info, &domain, NULL));
}

/* An endpoint with an AV of its own, empty: every peer is unknown to it. */
static void open_node(struct node *n)
{
	struct fi_cq_attr ca = { .format = FI_CQ_FORMAT_TAGGED, .wait_obj = FI_WAIT_NONE };
	struct fi_av_attr aa = { .type = FI_AV_TABLE };
	size_t len = sizeof(n->name);

	REQUIRE_OK(fi_av_open(domain, &aa, &n->av, NULL));
	REQUIRE_OK(fi_cq_open(domain, &ca, &n->cq, NULL));
	REQUIRE_OK(fi_endpoint(domain, info, &n->ep, NULL));
	REQUIRE_OK(fi_ep_bind(n->ep, &n->av->fid, 0));
	REQUIRE_OK(fi_ep_bind(n->ep, &n->cq->fid, FI_TRANSMIT | FI_RECV));
	REQUIRE_OK(fi_enable(n->ep));
	REQUIRE_OK(fi_getname(&n->ep->fid, &n->name, &len));
	REQUIRE_EQ(len, sizeof(n->name));
}

static void close_node(struct node *n)
{
	CHECK_OK(fi_close(&n->ep->fid));
	CHECK_OK(fi_close(&n->cq->fid));
	CHECK_OK(fi_close(&n->av->fid));
}

/* The provider's own endpoint behind @n (the test is built with its
 * header): to count what it keeps. */
static struct ivcfi_ep *inside(const struct node *n)
{
	return ivcfi_container(n->ep, struct ivcfi_ep, ep);
}

static size_t list_len(const struct ivcfi_list *h)
{
	size_t k = 0;

	for (const struct ivcfi_list *l = h->next; l != h; l = l->next)
		k++;
	return k;
}

/* Inbound channels the victim holds that still work. */
static size_t live_inpeers(void)
{
	const struct ivcfi_list *h = &inside(&victim)->inpeers;
	size_t k = 0;

	for (const struct ivcfi_list *l = h->next; l != h; l = l->next)
		k += ivcfi_container(l, struct ivcfi_inpeer, link)->err == 0;
	return k;
}

/* One round of progress on both endpoints, consuming nothing. */
static void drive(void)
{
	struct fi_cq_tagged_entry e;

	(void)fi_cq_read(victim.cq, &e, 0);
	(void)fi_cq_read(other.cq, &e, 0);
}

/* Drive until the victim has seen every peer's channel end (bounded: the
 * watchdog would report a hang). */
static void settle(void)
{
	uint64_t end = t_now_ns() + (uint64_t)t_scaled_ms(20000) * 1000000u;

	do
		drive();
	while (live_inpeers() && t_now_ns() < end);
	REQUIRE_EQ(live_inpeers(), 0);
}

/* ---- a peer ---------------------------------------------------------------- */

static struct ivc_channel *peer_connect(void)
{
	struct ivc_channel *ch = NULL;

	REQUIRE_OK(ivc_connect(victim.name.addr, NULL, (int)t_scaled_ms(10000), &ch));
	return ch;
}

/* Send @n bytes as one message: 0, or the channel's error (the victim
 * broke it). */
static int peer_send(struct ivc_channel *ch, const void *p, size_t n)
{
	int r = ivc_send(ch, p, n, 0);
	uint64_t end = t_now_ns() + (uint64_t)t_scaled_ms(20000) * 1000000u;

	/* Room comes back as the victim reads: drive it meanwhile. */
	while ((r == -EAGAIN || r == -ETIMEDOUT) && t_now_ns() < end) {
		drive();
		r = ivc_send(ch, p, n, 0);
	}
	REQUIRE(r != -EAGAIN && r != -ETIMEDOUT);
	return r;
}

static void peer_hello(struct ivc_channel *ch, const struct ivcfi_name *as)
{
	struct ivcfi_hello m;

	ivcfi_hello_make(&m, as);
	REQUIRE_OK(peer_send(ch, &m, sizeof(m)));
}

static size_t put_short(unsigned char *b, uint64_t tag, const void *p, size_t n)
{
	struct ivcfi_short h = { .op = IVCFI_OP_SHORT, .flags = IVCFI_HF_TAGGED, .tag = tag };

	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), p, n);
	return sizeof(h) + n;
}

/* An RTS for @len bytes of peer_mem, tagged @tag. */
static size_t put_rts(unsigned char *b, uint64_t msg_id, uint64_t tag, size_t len)
{
	struct ivcfi_hdr h = {
		.op = IVCFI_OP_RTS, .flags = IVCFI_HF_TAGGED, .msg_id = msg_id,
		.tag = tag, .total_len = len,
	};
	struct ivcfi_rts r = { .iov_count = 1 };

	r.iov[0].addr = (uint64_t)(uintptr_t)peer_mem;
	r.iov[0].len = len;
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), &r, sizeof(r));
	return sizeof(h) + sizeof(r);
}

/* RDATA: @len bytes of peer_mem for the RTS @msg_id, inline. */
static size_t put_rdata(unsigned char *b, uint64_t msg_id, size_t len)
{
	struct ivcfi_hdr h = {
		.op = IVCFI_OP_RDATA, .msg_id = msg_id, .frag_len = (uint32_t)len,
		.total_len = len,
	};

	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), peer_mem, len);
	return sizeof(h) + len;
}

static void a_name(struct ivcfi_name *n, unsigned port)
{
	memset(n, 0, sizeof(*n));
	n->magic = IVCFI_NAME_MAGIC;
	n->version = IVCFI_NAME_VERSION;
	snprintf(n->addr, sizeof(n->addr), "net:127.0.0.1:%u", port);
}

/* Wait for one completion on the victim: 1, or -FI_EAVAIL. */
static ssize_t victim_wait(struct fi_cq_tagged_entry *e)
{
	uint64_t end = t_now_ns() + (uint64_t)t_scaled_ms(20000) * 1000000u;
	ssize_t r;

	while ((r = fi_cq_read(victim.cq, e, 1)) == -FI_EAGAIN && t_now_ns() < end)
		(void)fi_cq_read(other.cq, e, 0);
	return r;
}

/* ---- peers that come and go ------------------------------------------------ */

/* Each visit: a hello with a name nobody else has, one message (received),
 * gone.  What the victim keeps of them must not grow with their number. */
static void visitors(void)
{
	struct fi_cq_tagged_entry e;
	unsigned char buf[64], got[8];
	int ctx;
	size_t before = list_len(&inside(&victim)->inpeers);

	for (unsigned i = 0; i < 300; i++) {
		struct ivc_channel *ch = peer_connect();
		struct ivcfi_name n;

		a_name(&n, 40000 + i);
		peer_hello(ch, &n);
		REQUIRE_OK(peer_send(ch, buf, put_short(buf, 0x77, "visit", 5)));
		REQUIRE_OK(fi_trecv(victim.ep, got, sizeof(got), NULL, FI_ADDR_UNSPEC,
				    0x77, 0, &ctx));
		REQUIRE_EQ(victim_wait(&e), 1);
		CHECK(e.op_context == &ctx && e.len == 5 && !memcmp(got, "visit", 5));
		ivc_close(ch);
	}
	settle();
	size_t after = list_len(&inside(&victim)->inpeers);
	CHECK(after <= before + 1);
	if (after > before + 1)
		fprintf(stderr, "visitors: the endpoint keeps %zu inbound channels' state"
			" after 300 visits (%zu before)\n", after, before);
}

/* Channels the victim's acceptor holds for progress to take. */
static size_t accepted_waiting(void)
{
	struct ivcfi_acceptor *acc = &inside(&victim)->acc;

	pthread_mutex_lock(&acc->lock);
	size_t n = acc->n_ready;
	pthread_mutex_unlock(&acc->lock);
	return n;
}

/* A crowd connects while the application makes no progress call (it
 * computes): the acceptor takes IVCFI_ACCEPT_MAX channels and leaves the
 * rest in the listener's backlog, where their connects time out; once
 * progress takes those it holds, it accepts again.  A client or two more
 * may get in: the listener's last accept may have answered handshakes
 * beside the one it returned, which it then holds itself (at most
 * IVC_SHM_MAX_PENDING). */
static void crowd(void)
{
	enum { MOST = IVCFI_ACCEPT_MAX + IVC_SHM_MAX_PENDING };
	struct ivc_channel *ch[MOST + 1];
	unsigned ok = 0;
	int r = 0;

	for (unsigned i = 0; i <= MOST; i++) {
		/* The first ones must get in; then a short wait will do. */
		int ms = (int)t_scaled_ms(i < IVCFI_ACCEPT_MAX ? 10000 : 300);
		if ((r = ivc_connect(victim.name.addr, NULL, ms, &ch[ok])) != 0)
			break;
		ok++;
	}
	CHECK(ok >= IVCFI_ACCEPT_MAX && ok <= MOST);
	CHECK_EQ(r, -ETIMEDOUT);
	CHECK(accepted_waiting() <= IVCFI_ACCEPT_MAX);
	if (ok > MOST || accepted_waiting() > IVCFI_ACCEPT_MAX)
		fprintf(stderr, "crowd: %u connects got in, the acceptor holds %zu channels\n",
			ok, accepted_waiting());
	drive(); /* progress takes what the acceptor holds */
	struct ivc_channel *late = NULL;
	CHECK_OK(ivc_connect(victim.name.addr, NULL, (int)t_scaled_ms(10000), &late));
	ivc_close(late);
	for (unsigned i = 0; i < ok; i++)
		ivc_close(ch[i]);
	settle();
}

/* Each visitor names the other endpoint, with another byte after the
 * name's end, and sends an RTS that is read: the victim's answer goes to
 * that name.  Channels it opened for that must not outlive the visitors. */
static void namedroppers(void)
{
	struct fi_cq_tagged_entry e;
	unsigned char buf[256], *rx = malloc(PEER_MEM), *rdata = malloc(PEER_MEM);
	const char *cma = getenv("IVC_FI_CMA");
	bool inline_only = cma && !strcmp(cma, "0");
	int ctx, fds0;

	REQUIRE(rx && rdata);
	settle();
	fds0 = t_count_fds();
	for (unsigned i = 0; i < 20; i++) {
		struct ivc_channel *ch = peer_connect();
		struct ivcfi_name n = other.name;
		size_t end = strlen(n.addr) + 1;

		REQUIRE(end < sizeof(n.addr));
		n.addr[end] = (char)(1 + i); /* after the NUL: the same name */
		peer_hello(ch, &n);
		REQUIRE_OK(fi_trecv(victim.ep, rx, PEER_MEM, NULL, FI_ADDR_UNSPEC, 0x99,
				    0, &ctx));
		REQUIRE_OK(peer_send(ch, buf, put_rts(buf, 1 + i, 0x99, 20000)));
		if (inline_only) /* answered "send it inline": RDATA */
			REQUIRE_OK(peer_send(ch, rdata, put_rdata(rdata, 1 + i, 20000)));
		REQUIRE_EQ(victim_wait(&e), 1);
		CHECK(e.op_context == &ctx && e.len == 20000);
		ivc_close(ch);
	}
	settle();
	/* The other endpoint sees the victim's channels to it end too, once
	 * its acceptor has handed them over. */
	uint64_t end = t_now_ns() + (uint64_t)t_scaled_ms(10000) * 1000000u;
	int fds1;
	while ((fds1 = t_count_fds()) > fds0 + 4 && t_now_ns() < end)
		for (int k = 0; k < 100; k++)
			drive();
	CHECK(fds1 <= fds0 + 4);
	if (fds1 > fds0 + 4)
		fprintf(stderr, "namedroppers: %d descriptors after 20 visitors, %d before\n",
			fds1, fds0);
	CHECK(list_len(&inside(&victim)->anon) <= 1);
	free(rx);
	free(rdata);
}

/* ---- random rounds ---------------------------------------------------------- */

struct posted {
	unsigned char *buf;
	size_t cap;
	bool out;     /* posted, not yet completed */
	bool tagged;
};

struct round {
	uint64_t rng;
	struct posted p[MAX_POSTED];
	unsigned n;
	int mark_ctx;
	bool mark_done;
	uint64_t next_id;
	uint64_t pending;        /* bytes of a long message still to come */
	unsigned served, broken; /* rounds that ended each way */
};

static uint64_t rnd(struct round *r, uint64_t n)
{
	return n ? t_splitmix64(&r->rng) % n : 0;
}

static void post_some(struct round *r)
{
	r->n = (unsigned)rnd(r, MAX_POSTED + 1);
	for (unsigned i = 0; i < r->n; i++) {
		struct posted *p = &r->p[i];
		uint64_t tag = 1 + rnd(r, 3), ignore = rnd(r, 4) ? 0 : 3;

		p->cap = rnd(r, 4) ? rnd(r, 300) : rnd(r, 70000);
		p->buf = malloc(p->cap + CANARY);
		REQUIRE(p->buf);
		memset(p->buf + p->cap, 0xcc, CANARY);
		p->tagged = rnd(r, 4) != 0;
		p->out = true;
		if (p->tagged)
			REQUIRE_OK(fi_trecv(victim.ep, p->buf, p->cap, NULL, FI_ADDR_UNSPEC,
					    tag, ignore, p));
		else
			REQUIRE_OK(fi_recv(victim.ep, p->buf, p->cap, NULL, FI_ADDR_UNSPEC, p));
	}
	r->mark_done = false;
	REQUIRE_OK(fi_trecv(victim.ep, NULL, 0, NULL, FI_ADDR_UNSPEC, MARK_TAG, 0,
			    &r->mark_ctx));
}

/* A completion or error for one of ours: once, within its buffer. */
static void account(struct round *r, void *ctx, size_t len, int err)
{
	if (ctx == &r->mark_ctx) {
		CHECK(!r->mark_done);
		r->mark_done = true;
		return;
	}
	struct posted *p = ctx;
	REQUIRE(p >= r->p && p < r->p + r->n);
	CHECK(p->out);
	p->out = false;
	if (!err)
		CHECK(len <= p->cap);
	else
		CHECK(err == FI_ETRUNC || err == FI_EIO || err == FI_ECANCELED);
	for (unsigned k = 0; k < CANARY; k++)
		if (p->buf[p->cap + k] != 0xcc) {
			CHECK(!"a receive wrote past its buffer");
			break;
		}
}

static void reap(struct round *r)
{
	struct fi_cq_tagged_entry e[8];
	ssize_t k;

	while ((k = fi_cq_read(victim.cq, e, 8)) != -FI_EAGAIN) {
		if (k == -FI_EAVAIL) {
			struct fi_cq_err_entry err;

			memset(&err, 0, sizeof(err));
			REQUIRE_EQ(fi_cq_readerr(victim.cq, &err, 0), 1);
			account(r, err.op_context, err.len, err.err);
			continue;
		}
		REQUIRE(k > 0);
		for (ssize_t i = 0; i < k; i++)
			account(r, e[i].op_context, e[i].len, 0);
	}
}

/* Bytes of a chain: one of the wire format's messages, well formed or
 * nearly.  Return: its length. */
static size_t make_chain(struct round *r, unsigned char *b, size_t cap)
{
	struct ivcfi_hdr h = { 0 };
	size_t n = 0, pay;
	/* Mostly messages; now and then what breaks a channel at once. */
	static const unsigned char kinds[16] = { 0, 0, 0, 0, 0, 2, 2, 2, 2, 5, 5, 6, 7, 4, 0, 0 };
	unsigned kind = kinds[rnd(r, 16)];

	h.msg_id = rnd(r, 3) ? r->next_id : rnd(r, 1000);
	h.tag = 1 + rnd(r, 3);
	h.flags = (uint8_t)(rnd(r, 3) ? 0 : rnd(r, 8));
	if (r->pending && rnd(r, 20))
		kind = 4; /* mostly, a long message goes on */
	switch (kind) {
	case 0: case 1: /* a short message */
		return put_short(b, h.tag, peer_mem, rnd(r, 200));
	case 2: case 3: /* a message in one or two fragments */
		pay = rnd(r, 4) ? rnd(r, 3000) : rnd(r, 20000);
		h.op = rnd(r, 2) ? IVCFI_OP_TAGGED : IVCFI_OP_MSG;
		h.frag_len = (uint32_t)pay;
		h.total_len = pay + (rnd(r, 3) ? 0 : rnd(r, 5000));
		r->pending = h.total_len - pay;
		r->next_id++;
		break;
	case 4: /* a continuation: of what is pending, or made up */
		h.op = IVCFI_OP_CONT;
		pay = r->pending && rnd(r, 2) ? r->pending : rnd(r, 5000);
		r->pending -= pay < r->pending ? pay : r->pending;
		h.frag_len = (uint32_t)pay;
		h.msg_id = r->next_id - 1;
		memcpy(b, &h, IVCFI_CONT_HDR_LEN);
		memcpy(b + IVCFI_CONT_HDR_LEN, peer_mem, pay);
		return IVCFI_CONT_HDR_LEN + pay;
	case 5: /* a rendezvous */
		n = put_rts(b, r->next_id++, h.tag, rnd(r, 3) ? rnd(r, PEER_MEM) : 0);
		if (!rnd(r, 4)) { /* memory nobody has */
			struct ivcfi_rts *t = (void *)(b + sizeof(h));
			t->iov[0].addr = 4096 * (1 + rnd(r, 4));
		}
		return n;
	case 6: { /* answers to rendezvous nobody asked for */
		struct ivcfi_ack a[3];
		unsigned k = 1 + (unsigned)rnd(r, 3);

		for (unsigned i = 0; i < k; i++)
			a[i] = (struct ivcfi_ack){ rnd(r, 1000), rnd(r, 3) };
		h.op = IVCFI_OP_ACK;
		h.frag_len = (uint32_t)(k * sizeof(a[0]));
		h.total_len = h.frag_len;
		memcpy(b, &h, sizeof(h));
		memcpy(b + sizeof(h), a, k * sizeof(a[0]));
		return sizeof(h) + k * sizeof(a[0]);
	}
	default: /* the payload of a rendezvous, asked for or not */
		h.op = IVCFI_OP_RDATA;
		pay = rnd(r, 3000);
		h.msg_id = rnd(r, 2) ? r->next_id - 1 : rnd(r, 1000);
		h.frag_len = (uint32_t)pay;
		h.total_len = pay;
		break;
	}
	REQUIRE(sizeof(h) + pay <= cap);
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), peer_mem, pay);
	return sizeof(h) + pay;
}

/* A few of a chain's first bytes changed, or its length. */
static size_t mutate(struct round *r, unsigned char *b, size_t n, size_t cap)
{
	unsigned k = (unsigned)rnd(r, 4);

	for (unsigned i = 0; i < k && n; i++)
		b[rnd(r, n < 48 ? n : 48)] ^= (unsigned char)(1u << rnd(r, 8));
	if (!rnd(r, 6))
		n = rnd(r, n + 1);
	else if (!rnd(r, 8) && n + 16 <= cap)
		n += rnd(r, 17);
	return n;
}

static void random_round(struct round *r, unsigned round)
{
	static unsigned char chain[PEER_MEM + 256];
	unsigned char mark[64];
	struct ivc_channel *ch = peer_connect();
	struct ivcfi_name n;
	int rc = 0;
	uint64_t end;

	/* Mostly the other endpoint's name (an answer to an RTS can go
	 * there); now and then one nobody listens at (the answer is not
	 * sent, after the provider tried for up to a second). */
	n = other.name;
	if (round % 97 == 5)
		a_name(&n, 1);
	if (!rnd(r, 12)) {
		n.addr[rnd(r, sizeof(n.addr))] ^= (char)(1u << rnd(r, 8));
		if (!rnd(r, 2))
			n.magic ^= 1;
	}
	peer_hello(ch, &n);
	post_some(r);
	r->pending = 0;
	for (unsigned k = 1 + (unsigned)rnd(r, 8); k-- && !rc;) {
		size_t len = make_chain(r, chain, sizeof(chain));

		if (!rnd(r, 5))
			len = mutate(r, chain, len, sizeof(chain));
		rc = peer_send(ch, chain, len);
	}
	if (!rc && r->pending) { /* the long message ends before the mark */
		struct ivcfi_hdr h = { .op = IVCFI_OP_CONT, .msg_id = r->next_id - 1,
				       .frag_len = (uint32_t)r->pending };

		memcpy(chain, &h, IVCFI_CONT_HDR_LEN);
		memcpy(chain + IVCFI_CONT_HDR_LEN, peer_mem, r->pending);
		rc = peer_send(ch, chain, IVCFI_CONT_HDR_LEN + r->pending);
	}
	if (!rc)
		rc = peer_send(ch, mark, put_short(mark, MARK_TAG, "", 0));
	/* Until the victim served the mark, or broke the channel. */
	end = t_now_ns() + (uint64_t)t_scaled_ms(20000) * 1000000u;
	for (;;) {
		drive();
		reap(r);
		int st = ivc_ready(ch, IVC_EV_TX);
		if (r->mark_done || (st < 0 && st != -EAGAIN)) {
			r->served += r->mark_done;
			r->broken += !r->mark_done;
			break;
		}
		if (t_now_ns() > end) {
			CHECK(!"the victim neither served the mark nor broke the channel");
			break;
		}
	}
	/* The peer leaves; a receive it matched (an RTS waiting for its
	 * RDATA) fails then.  Whatever is still posted: cancelled.  Each
	 * completes once. */
	ivc_close(ch);
	settle();
	reap(r);
	for (unsigned i = 0; i < r->n; i++)
		if (r->p[i].out)
			(void)fi_cancel(&victim.ep->fid, &r->p[i]);
	if (!r->mark_done)
		(void)fi_cancel(&victim.ep->fid, &r->mark_ctx);
	drive();
	reap(r);
	for (unsigned i = 0; i < r->n; i++) {
		CHECK(!r->p[i].out);
		free(r->p[i].buf);
	}
	CHECK(r->mark_done);
}

static void random_rounds(void)
{
	unsigned rounds = (unsigned)t_env_u64("IVC_HOSTILE_ROUNDS", 300);
	uint64_t seed = t_env_u64("IVC_HOSTILE_SEED", 0x1badb002);
	struct round r;

	memset(&r, 0, sizeof(r));
	r.rng = seed;
	r.next_id = 1;
	for (size_t i = 0; i < PEER_MEM; i++)
		peer_mem[i] = (unsigned char)(i * 13 + 7);
	printf("random rounds: %u, IVC_HOSTILE_SEED=%#llx\n", rounds,
	       (unsigned long long)seed);
	for (unsigned i = 0; i < rounds; i++) {
		t_watchdog(120);
		random_round(&r, i);
	}
	settle();
	printf("random rounds: %u served the last message, %u broke the channel\n",
	       r.served, r.broken);
	CHECK(r.served > 0 && r.broken > 0);
}

int main(void)
{
	t_init("test_fi_hostile", 300);
	open_domain();
	open_node(&victim);
	open_node(&other);
	visitors();
	crowd();
	namedroppers();
	random_rounds();
	close_node(&victim);
	close_node(&other);
	CHECK_OK(fi_close(&domain->fid));
	CHECK_OK(fi_close(&fabric->fid));
	fi_freeinfo(info);
	return t_finish();
}
