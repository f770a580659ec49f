/* SPDX-License-Identifier: MIT */
/*
 * fuzz_fi_rx - the libfabric provider's receive side (src/fi/fi_rx.c,
 * fi_match.c, fi_rdv.c) against a peer that says anything in the
 * provider's wire format (fi_pvt.h), while the application posts,
 * peeks, claims and cancels receives.
 *
 * The provider is loaded through libfabric from the build tree (as the
 * fi tests load it); each input gets a fresh endpoint, so what one input
 * leaves (unexpected messages, a kept record of a peer) cannot make
 * another fail.  The peer is a plain ivc channel of this process to the
 * endpoint's listener, so its RTSs name memory the endpoint may read.
 *
 * The promise (docs/security.md, "The libfabric provider's peers"):
 * every receive completes exactly once, with no more than its buffer
 * holds and nothing written past it, or with FI_ETRUNC, FI_EIO,
 * FI_ECANCELED (or FI_ENOMSG for a peek); the endpoint never crashes,
 * hangs or leaks; a bad message breaks the peer's channel only.
 *
 * Input:
 *   u8   the peer's hello: 0 = 64 bytes of the input as the name; else a
 *        valid hello with the endpoint's own name (so that answers to
 *        an RTS go somewhere that takes them at once)
 *   then operations, one u8 opcode and its operands each (OP_*).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "fi/fi_pvt.h"
#include "fuzz.h"
#include "util/clock_pvt.h"

#define SLOTS 8
#define CANARY 16
#define PEER_MEM (64u << 10)
#define CHAIN_MAX (PEER_MEM + 256)
/* Any wait here is for the endpoint's own progress: far longer means a
 * hang, which libFuzzer reports as a crash. */
#define HANG_NS 10000000000ull

static struct fi_info *info;
static struct fid_fabric *fabric;
static struct fid_domain *domain;
static struct fid_av *av;
static unsigned char peer_mem[PEER_MEM];
static unsigned char chain[CHAIN_MAX];

struct slot {
	unsigned char *buf;
	size_t cap;
	bool out;     /* posted, no completion yet */
	bool peek;    /* posted with FI_PEEK: its length is the message's */
	bool peeking; /* posted with FI_PEEK|FI_CLAIM */
	bool claimed; /* that found a message, kept for its FI_CLAIM */
};

struct fi_fuzz {
	struct fz_in in;
	struct fid_ep *ep;
	struct fid_cq *cq;
	struct ivcfi_name name;
	struct ivc_channel *ch;
	struct slot s[SLOTS];
	int broken; /* the peer's channel is gone */
};

static void init_once(void)
{
	struct fi_info *h;

	if (info)
		return;
	setenv("FI_PROVIDER_PATH", IVC_FI_DIR, 0);
	setenv("FI_PROVIDER", "ivc", 0);
	for (size_t i = 0; i < PEER_MEM; i++)
		peer_mem[i] = (unsigned char)(i * 13 + 7);
	h = fi_allocinfo();
	FZ_ASSERT(h);
	h->fabric_attr->prov_name = strdup("ivc");
	h->ep_attr->type = FI_EP_RDM;
	h->caps = FI_TAGGED | FI_MSG | FI_DIRECTED_RECV | FI_SOURCE;
	h->domain_attr->av_type = FI_AV_TABLE;
	FZ_ASSERT(fi_getinfo(FI_VERSION(1, 17), NULL, NULL, 0, h, &info) == 0);
	fi_freeinfo(h);
	FZ_ASSERT(fi_fabric(info->fabric_attr, &fabric, NULL) == 0);
	FZ_ASSERT(fi_domain(fabric, info, &domain, NULL) == 0);
	struct fi_av_attr aa = { .type = FI_AV_TABLE };
	FZ_ASSERT(fi_av_open(domain, &aa, &av, NULL) == 0);
}

static void open_ep(struct fi_fuzz *f)
{
	struct fi_cq_attr ca = { .format = FI_CQ_FORMAT_TAGGED, .wait_obj = FI_WAIT_NONE };
	size_t len = sizeof(f->name);

	FZ_ASSERT(fi_cq_open(domain, &ca, &f->cq, NULL) == 0);
	FZ_ASSERT(fi_endpoint(domain, info, &f->ep, NULL) == 0);
	FZ_ASSERT(fi_ep_bind(f->ep, &av->fid, 0) == 0);
	FZ_ASSERT(fi_ep_bind(f->ep, &f->cq->fid, FI_TRANSMIT | FI_RECV) == 0);
	FZ_ASSERT(fi_enable(f->ep) == 0);
	FZ_ASSERT(fi_getname(&f->ep->fid, &f->name, &len) == 0);
}

/* ---- completions --------------------------------------------------------- */

static void account(struct fi_fuzz *f, void *ctx, size_t len, int err)
{
	struct slot *s = ctx;

	FZ_ASSERT(s >= f->s && s < f->s + SLOTS && s->out);
	s->out = false;
	if (err)
		FZ_ASSERT(err == FI_ETRUNC || err == FI_EIO || err == FI_ECANCELED ||
			  err == FI_ENOMSG);
	else if (!s->peek)
		FZ_ASSERT(len <= s->cap);
	for (unsigned k = 0; k < CANARY; k++)
		FZ_ASSERT(s->buf[s->cap + k] == 0xcc);
}

/* One progress call, and every completion it wrote. */
static void reap(struct fi_fuzz *f)
{
	struct fi_cq_tagged_entry e[8];
	ssize_t k;

	while ((k = fi_cq_read(f->cq, e, 8)) != -FI_EAGAIN) {
		if (k == -FI_EAVAIL) {
			struct fi_cq_err_entry err;

			memset(&err, 0, sizeof(err));
			FZ_ASSERT(fi_cq_readerr(f->cq, &err, 0) == 1);
			account(f, err.op_context, err.len, err.err);
			continue;
		}
		FZ_ASSERT(k > 0);
		for (ssize_t i = 0; i < k; i++) {
			/* A successful FI_PEEK|FI_CLAIM keeps the message for
			 * the slot's FI_CLAIM. */
			struct slot *s = e[i].op_context;
			account(f, s, e[i].len, 0);
			s->claimed = s->peeking;
		}
	}
}

/* The endpoint's inbound channels that still work (the provider's own
 * list: the API has no way to ask when it has seen a peer leave). */
static size_t live_inpeers(const struct fi_fuzz *f)
{
	const struct ivcfi_ep *ep = ivcfi_container(f->ep, struct ivcfi_ep, ep);
	size_t k = 0;

	for (const struct ivcfi_list *l = ep->inpeers.next; l != &ep->inpeers; l = l->next)
		k += ivcfi_container(l, struct ivcfi_inpeer, link)->err == 0;
	return k;
}

/* Until the endpoint has taken the channel its acceptor thread accepted:
 * from then on, what each input does happens in its order. */
static void adopted(struct fi_fuzz *f)
{
	uint64_t end = ivc_now_ns() + HANG_NS;

	while (!live_inpeers(f)) {
		FZ_ASSERT(ivc_now_ns() < end);
		reap(f);
	}
}

/* ---- the peer -------------------------------------------------------------- */

static void peer_send(struct fi_fuzz *f, const void *p, size_t n)
{
	uint64_t end = ivc_now_ns() + HANG_NS;
	int r;

	if (f->broken)
		return;
	while ((r = ivc_send(f->ch, p, n, 0)) == -EAGAIN || r == -ETIMEDOUT) {
		FZ_ASSERT(ivc_now_ns() < end);
		reap(f);
	}
	if (r)
		f->broken = 1; /* the endpoint broke the channel, or too long */
}

static void hello(struct fi_fuzz *f)
{
	struct ivcfi_hello m;

	ivcfi_hello_make(&m, &f->name);
	if (fz_u8(&f->in) == 0)
		fz_bytes(&f->in, &m.n, sizeof(m.n));
	peer_send(f, &m, sizeof(m));
}

/* A message of the wire format, its fields from the input, its payload
 * from peer_mem (or, raw, everything from the input). */
static void message(struct fi_fuzz *f)
{
	uint8_t op = fz_u8(&f->in);
	uint32_t len = fz_u16(&f->in) % 20000;
	size_t n;

	switch (op % 8) {
	case 0: { /* short: flags, data, tag, then len % 300 payload */
		struct ivcfi_short h = { .op = IVCFI_OP_SHORT };

		h.flags = fz_u8(&f->in) & 7;
		h.data = fz_u32(&f->in);
		h.tag = fz_u8(&f->in) % 4;
		memcpy(chain, &h, sizeof(h));
		n = sizeof(h);
		if (h.flags & IVCFI_HF_DATA64) {
			fz_bytes(&f->in, chain + n, 8);
			n += 8;
		}
		memcpy(chain + n, peer_mem, len % 300);
		n += len % 300;
		break;
	}
	case 1: case 2: case 3: case 4: { /* MSG, TAGGED, CONT, RDATA: 40-byte head */
		static const uint8_t ops[] = { IVCFI_OP_MSG, IVCFI_OP_TAGGED, IVCFI_OP_CONT,
					       IVCFI_OP_RDATA };
		struct ivcfi_hdr h = { .op = ops[op % 8 - 1] };
		uint32_t more = fz_u16(&f->in);

		h.flags = fz_u8(&f->in) & 7;
		h.msg_id = fz_u8(&f->in) % 4;
		h.tag = fz_u8(&f->in) % 4;
		h.frag_len = len;
		h.total_len = (uint64_t)len + (more & 1 ? more : 0);
		n = h.op == IVCFI_OP_CONT ? IVCFI_CONT_HDR_LEN : sizeof(h);
		memcpy(chain, &h, n);
		memcpy(chain + n, peer_mem, len);
		n += len;
		break;
	}
	case 5: { /* RTS: up to 4 pieces of peer_mem, or anywhere */
		struct ivcfi_hdr h = { .op = IVCFI_OP_RTS };
		struct ivcfi_rts r = { 0 };
		uint8_t how = fz_u8(&f->in);

		h.flags = fz_u8(&f->in) & 7;
		h.msg_id = fz_u8(&f->in) % 4;
		h.tag = fz_u8(&f->in) % 4;
		r.iov_count = how % 6; /* 5: more than the limit */
		for (uint32_t i = 0; i < r.iov_count && i < IVCFI_IOV_LIMIT; i++) {
			uint16_t at = fz_u16(&f->in), l = fz_u16(&f->in);

			r.iov[i].addr = how & 0x80 ? fz_u64(&f->in) :
					(uint64_t)(uintptr_t)(peer_mem + at % PEER_MEM);
			r.iov[i].len = how & 0x40 ? fz_u64(&f->in) : l % (PEER_MEM - at % PEER_MEM + 1);
			h.total_len += r.iov[i].len;
		}
		if (how & 0x20)
			h.total_len = fz_u32(&f->in);
		memcpy(chain, &h, sizeof(h));
		memcpy(chain + sizeof(h), &r, sizeof(r));
		n = sizeof(h) + sizeof(r);
		break;
	}
	case 6: { /* ACKs */
		struct ivcfi_hdr h = { .op = IVCFI_OP_ACK };
		unsigned k = 1 + len % 4;

		h.frag_len = (uint32_t)(k * sizeof(struct ivcfi_ack));
		h.total_len = h.frag_len;
		memcpy(chain, &h, sizeof(h));
		for (unsigned i = 0; i < k; i++) {
			struct ivcfi_ack a = { fz_u8(&f->in) % 4, fz_u32(&f->in) };
			memcpy(chain + sizeof(h) + i * sizeof(a), &a, sizeof(a));
		}
		n = sizeof(h) + k * sizeof(struct ivcfi_ack);
		break;
	}
	default: /* raw */
		n = len % 600;
		fz_bytes(&f->in, chain, n);
		break;
	}
	peer_send(f, chain, n);
}

/* ---- the application --------------------------------------------------- */

static void post(struct fi_fuzz *f)
{
	uint8_t how = fz_u8(&f->in);
	struct slot *s = &f->s[fz_u8(&f->in) % SLOTS];
	uint64_t tag = fz_u8(&f->in) % 4, ignore = how & 0x10 ? 3 : 0;
	static const uint64_t flags[] = { 0, 0, FI_PEEK, FI_PEEK | FI_CLAIM, FI_CLAIM,
					  FI_CLAIM | FI_DISCARD, FI_PEEK | FI_DISCARD, 0 };
	uint64_t fl = flags[how % 8];
	ssize_t r;

	if (s->out)
		return;
	if ((fl & FI_CLAIM) && !(fl & FI_PEEK) && !s->claimed)
		return; /* FI_CLAIM only for what a peek claimed for it */
	free(s->buf);
	s->cap = fz_u16(&f->in) % 70000;
	s->buf = malloc(s->cap + CANARY);
	FZ_ASSERT(s->buf);
	memset(s->buf + s->cap, 0xcc, CANARY);
	if (fl) {
		struct iovec iov = { s->buf, s->cap };
		struct fi_msg_tagged m = {
			.msg_iov = &iov, .iov_count = 1, .addr = FI_ADDR_UNSPEC,
			.tag = tag, .ignore = ignore, .context = s,
		};
		r = fi_trecvmsg(f->ep, &m, fl);
		if (r == 0 && (fl & FI_CLAIM) && !(fl & FI_PEEK))
			s->claimed = false;
	} else if (how & 0x20) {
		r = fi_recv(f->ep, s->buf, s->cap, NULL, FI_ADDR_UNSPEC, s);
	} else {
		r = fi_trecv(f->ep, s->buf, s->cap, NULL, FI_ADDR_UNSPEC, tag, ignore, s);
	}
	FZ_ASSERT(r == 0 || r == -FI_EAGAIN);
	s->out = r == 0;
	s->peek = fl & FI_PEEK;
	s->peeking = (fl & (FI_PEEK | FI_CLAIM)) == (FI_PEEK | FI_CLAIM);
}

static void cancel(struct fi_fuzz *f)
{
	struct slot *s = &f->s[fz_u8(&f->in) % SLOTS];

	(void)fi_cancel(&f->ep->fid, s);
}

enum { OP_MSG, OP_MSG2, OP_POST, OP_PROGRESS, OP_CANCEL, OP_COUNT };

/* The peer leaves; the endpoint sees it go; whatever is still posted is
 * cancelled; every receive has completed once. */
static void finish(struct fi_fuzz *f)
{
	uint64_t end = ivc_now_ns() + HANG_NS;

	ivc_close(f->ch);
	do {
		reap(f);
		FZ_ASSERT(ivc_now_ns() < end);
	} while (live_inpeers(f));
	for (unsigned i = 0; i < SLOTS; i++)
		if (f->s[i].out)
			(void)fi_cancel(&f->ep->fid, &f->s[i]);
	reap(f);
	for (unsigned i = 0; i < SLOTS; i++) {
		FZ_ASSERT(!f->s[i].out);
		free(f->s[i].buf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ivc_options small = {
		.tx = { .slots = 64, .buf_size = 4096, .buf_count = 64 },
	};
	struct fi_fuzz f;

	init_once();
	memset(&f, 0, sizeof(f));
	f.in = (struct fz_in){ data, size };
	open_ep(&f);
	FZ_ASSERT(ivc_connect(f.name.addr, &small, 10000, &f.ch) == 0);
	adopted(&f);
	hello(&f);
	while (f.in.n) {
		switch (fz_u8(&f.in) % OP_COUNT) {
		case OP_MSG:
		case OP_MSG2: message(&f); break;
		case OP_POST: post(&f); break;
		case OP_PROGRESS: reap(&f); break;
		default: cancel(&f); break;
		}
	}
	finish(&f);
	FZ_ASSERT(fi_close(&f.ep->fid) == 0);
	FZ_ASSERT(fi_close(&f.cq->fid) == 0);
	return 0;
}
