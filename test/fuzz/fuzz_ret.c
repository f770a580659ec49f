/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ret - the sender's side of a lane (src/core/lane_tx.c): its pool, its
 * descriptor ring, and what comes back from the receiver.
 *
 * The receiver maps our region read-write, so it may write desc_cons,
 * ret_prod and the return ring with anything.  The sender's promises: a
 * buffer is never handed out by alloc twice; reclaim takes back only
 * buffers that were lent, each once; every buffer is always exactly one of
 * free, the application's, or lent (n_free + n_lent + held == buf_count);
 * a bad post writes nothing; and lies are -EPROTO, nothing worse.
 *
 * The input is the application (alloc, post, free in any order, with any
 * lengths and flags) and the receiver, which is either honest (a real
 * ivc_lane_rx on the same region) or hostile (raw writes).  Until the
 * first hostile write neither side may see -EPROTO: the two halves of the
 * lane are checked against each other.
 *
 * Input:
 *   u8   slots 2..16 (bits 0-1), inline descriptors (bit 2)
 *   u8   buf_count 1..16
 *   u8   buf_size 64..256
 *   u32  XORed over IVC_IDX_START: the first index
 *   then operations, one u8 opcode and its operands each.
 *
 * The harness keeps its own model of every buffer (model[]), updated only
 * from what the calls returned, and compares the sender's state with it
 * after every operation (audit()).
 */
#include <errno.h>

#include "core/lane_pvt.h"
#include "fuzz.h"

#define MAX_BUFS 16
#define MAX_IDS (16 + 16) /* the receiver's ids: buffers + hold slots */
#define MAX_BURST 8

struct ret_fuzz {
	struct fz_in in;
	struct ivc_lane_geom g;
	unsigned char *region;
	struct ivc_lane_tx tx;
	struct ivc_lane_rx rx;
	int hostile; /* the receiver has written something of its own */
	int rx_dead; /* the honest receiver saw -EPROTO and stopped */
	uint8_t model[MAX_BUFS]; /* IVC_BUF_FREE / _APP / _LENT */
	uint32_t chain;          /* MORE buffers posted since the last end */
	struct ivc_buf app[MAX_BUFS]; /* what the application holds */
	uint32_t napp;
	struct ivc_buf rxb[MAX_IDS]; /* what the honest receiver holds */
	uint32_t nrxb;
};

enum {
	OP_ALLOC,
	OP_POST,
	OP_FREE,
	OP_SPACE,
	OP_RECLAIM,
	OP_DESC_CONS, /* hostile: desc_cons */
	OP_RET_PROD,  /* hostile: ret_prod */
	OP_RET_ENTRY, /* hostile: one return-ring entry */
	OP_RETURN,    /* hostile: return a lent buffer, consumed or not */
	OP_RX_RECV,   /* honest: receive */
	OP_RX_RELEASE,/* honest: release */
	OP_BELL,      /* sleep epochs and doorbells */
	OP_COUNT
};

static struct ivc_lane_rx_hot *rx_hot(struct ret_fuzz *f)
{
	return (struct ivc_lane_rx_hot *)(f->region + IVC_OFF_RX_HOT);
}

static uint32_t *ret_ring(struct ret_fuzz *f)
{
	return (uint32_t *)(f->region + f->g.ret_off);
}

/* The sender's state is the model's: each buffer's state, the counts,
 * and a free stack holding each free buffer once. */
static void audit(struct ret_fuzz *f)
{
	const struct ivc_lane_tx *tx = &f->tx;
	uint32_t i, n[3] = { 0, 0, 0 };
	uint8_t seen[MAX_BUFS] = { 0 };

	for (i = 0; i < f->g.buf_count; i++) {
		FZ_ASSERT(tx->state[i] == f->model[i]);
		n[f->model[i]]++;
	}
	FZ_ASSERT(n[IVC_BUF_FREE] == tx->n_free && n[IVC_BUF_LENT] == tx->n_lent &&
		  n[IVC_BUF_APP] == f->napp);
	FZ_ASSERT(tx->n_free + tx->n_lent + f->napp == f->g.buf_count);
	for (i = 0; i < tx->n_free; i++) {
		uint32_t id = tx->free_stack[i];

		FZ_ASSERT(id < f->g.buf_count && !seen[id]);
		FZ_ASSERT(f->model[id] == IVC_BUF_FREE);
		seen[id] = 1;
	}
	FZ_ASSERT(tx->chain == f->chain);
}

/* After any call that may reclaim: the return-ring entries the sender
 * consumed since @rc0 each named a buffer the model says was lent, once;
 * they are free now. */
static void reclaimed(struct ret_fuzz *f, uint32_t rc0)
{
	uint32_t rmask = f->g.ret_slots - 1;

	for (; rc0 != f->tx.ret_cons; rc0++) {
		uint32_t id = ret_ring(f)[rc0 & rmask];

		FZ_ASSERT(id < f->g.buf_count && f->model[id] == IVC_BUF_LENT);
		f->model[id] = IVC_BUF_FREE;
	}
}

/* A call failed.  Only a receiver that lied may make the sender fail. */
static int failed(struct ret_fuzz *f, int r)
{
	FZ_ASSERT(r == -EPROTO && f->hostile);
	return r;
}

static int op_alloc(struct ret_fuzz *f)
{
	struct ivc_buf b[MAX_BURST];
	uint32_t rc0 = f->tx.ret_cons;
	unsigned n = 1 + fz_u8(&f->in) % MAX_BURST, i;
	int r = ivc_lane_tx_alloc(&f->tx, b, n);

	if (r < 0)
		return failed(f, r);
	reclaimed(f, rc0);
	FZ_ASSERT((unsigned)r <= n);
	/* Short only when the pool (after reclaiming) is empty. */
	FZ_ASSERT((unsigned)r == n || f->tx.n_free == 0);
	for (i = 0; i < (unsigned)r; i++) {
		uint32_t id = b[i].id;

		FZ_ASSERT(id < f->g.buf_count && f->model[id] == IVC_BUF_FREE);
		FZ_ASSERT(b[i].data == f->region + f->g.buf_off +
					       (uint64_t)id * f->g.buf_size);
		FZ_ASSERT(b[i].cap == f->g.buf_size && b[i].len == 0 &&
			  b[i].flags == 0);
		f->model[id] = IVC_BUF_APP;
		f->app[f->napp++] = b[i];
	}
	return 0;
}

/* Pick @n buffers for post or free: a byte < 0xe0 picks one the
 * application holds (maybe twice), < 0xf0 one with its data pointer moved,
 * else a raw id follows, with its buffer's true address or not.  @ok[i]
 * says whether the i-th is held, named by its own address and not named
 * before it.  Return: all ok. */
static int pick(struct ret_fuzz *f, struct ivc_buf *b, unsigned n, uint8_t *ok)
{
	uint8_t named[MAX_BUFS] = { 0 };
	unsigned i;
	int all = 1;

	for (i = 0; i < n; i++) {
		uint8_t c = fz_u8(&f->in);

		int moved = 0;

		if (c < 0xf0 && f->napp) {
			b[i] = f->app[c % f->napp];
			moved = c >= 0xe0;
			if (moved)
				b[i].data = (char *)b[i].data + 64;
		} else {
			memset(&b[i], 0, sizeof(b[i]));
			b[i].id = fz_u32(&f->in);
			moved = fz_u8(&f->in) & 1 || b[i].id >= f->g.buf_count;
			if (!moved)
				b[i].data = f->tx.bufs + (uint64_t)b[i].id * f->g.buf_size;
		}
		ok[i] = !moved && b[i].id < f->g.buf_count &&
			f->model[b[i].id] == IVC_BUF_APP && !named[b[i].id]++;
		all &= ok[i];
	}
	return all;
}

static void app_drop(struct ret_fuzz *f, uint32_t id)
{
	uint32_t j;

	for (j = 0; j < f->napp; j++)
		if (f->app[j].id == id) {
			f->app[j] = f->app[--f->napp];
			return;
		}
	FZ_ASSERT(0);
}

/* What ivc_lane_tx_space will say, from the protocol: the cached
 * consumer index, re-read from the ring only when short. */
static int64_t want_space(struct ret_fuzz *f, uint32_t want)
{
	uint32_t used = f->tx.prod - f->tx.cons_cache;

	if (f->g.slots - used < want) {
		uint32_t c = rx_hot(f)->desc_cons;

		if (f->tx.prod - c > f->g.slots)
			return -EPROTO;
		used = f->tx.prod - c;
	}
	return f->g.slots - used;
}

/* Post: the documented contract (include/ivc/zerocopy.h) decides the
 * outcome: -EINVAL for a buffer not the caller's or named twice, len >
 * cap, or flags other than IVC_BUF_MORE; -EMSGSIZE for a chain longer
 * than min(slots, buf_count); else the prefix that fits, each written
 * into the ring as documented, and nothing written on an error. */
static int op_post(struct ret_fuzz *f)
{
	struct ivc_buf b[MAX_BURST];
	uint8_t ok[MAX_BURST];
	unsigned n = 1 + fz_u8(&f->in) % MAX_BURST, i, k;
	uint32_t prod0 = f->tx.prod, chain = f->chain;
	int want_err = 0, r;
	int64_t space;

	(void)pick(f, b, n, ok);
	for (i = 0; i < n; i++) {
		b[i].len = fz_u16(&f->in);
		b[i].flags = fz_u8(&f->in);
		/* A payload to recognise: the buffer's id, then its offset. */
		if (ok[i]) {
			unsigned char *p = f->region + f->g.buf_off +
					   (uint64_t)b[i].id * f->g.buf_size;
			uint32_t j;

			for (j = 0; j < f->g.buf_size; j++)
				p[j] = (unsigned char)(b[i].id * 37 + j);
		}
	}
	/* The first bad buffer decides, as the contract's "nothing is sent"
	 * needs every one checked before any is written. */
	for (i = 0; i < n && !want_err; i++) {
		if (!ok[i] || b[i].len > f->g.buf_size ||
		    (b[i].flags & ~IVC_BUF_MORE))
			want_err = -EINVAL;
		else if (!(b[i].flags & IVC_BUF_MORE))
			chain = 0;
		else if (++chain >= ivc_lane_max_chain(&f->g))
			want_err = -EMSGSIZE;
	}
	space = want_space(f, n);
	r = ivc_lane_tx_post(&f->tx, b, n);
	if (space < 0) {
		/* The receiver's index is checked first. */
		FZ_ASSERT(r == -EPROTO);
		return failed(f, r);
	}
	if (want_err) {
		FZ_ASSERT(r == want_err);
		FZ_ASSERT(f->tx.prod == prod0);
		return 0;
	}
	FZ_ASSERT(r >= 0);
	k = (unsigned)r;
	FZ_ASSERT(k == (n < space ? n : (unsigned)space));
	FZ_ASSERT(f->tx.prod == prod0 + k);
	for (i = 0; i < k; i++) {
		const struct ivc_desc *d = ivc_desc_at(f->region + f->g.desc_off,
						       f->g.desc_size,
						       (prod0 + i) & (f->g.slots - 1));
		int in_desc = f->tx.inline_max && b[i].len <= f->tx.inline_max;

		FZ_ASSERT(d->seq == prod0 + i && d->len == b[i].len);
		if (in_desc) {
			const unsigned char *p = f->region + f->g.buf_off +
						 (uint64_t)b[i].id * f->g.buf_size;

			FZ_ASSERT(d->flags == (b[i].flags | IVC_DESC_INLINE));
			FZ_ASSERT(memcmp(d->data, p, b[i].len) == 0);
			f->model[b[i].id] = IVC_BUF_FREE;
		} else {
			/* Never INLINE here: the receiver would take the
			 * payload from the descriptor, or reject it. */
			FZ_ASSERT(d->flags == b[i].flags && d->buf == b[i].id);
			f->model[b[i].id] = IVC_BUF_LENT;
		}
		f->chain = (b[i].flags & IVC_BUF_MORE) ? f->chain + 1 : 0;
		app_drop(f, b[i].id);
	}
	return 0;
}

static void op_free(struct ret_fuzz *f)
{
	struct ivc_buf b[4];
	uint8_t ok[4];
	unsigned n = 1 + fz_u8(&f->in) % 4, i;
	int all = pick(f, b, n, ok);
	int r = ivc_lane_tx_free(&f->tx, b, n);

	FZ_ASSERT(r == (all ? 0 : -EINVAL));
	if (r)
		return;
	for (i = 0; i < n; i++) {
		f->model[b[i].id] = IVC_BUF_FREE;
		app_drop(f, b[i].id);
	}
}

static int op_space(struct ret_fuzz *f)
{
	uint32_t want = fz_u8(&f->in);
	int64_t space = want_space(f, want);
	int r = ivc_lane_tx_space(&f->tx, want);

	if (r < 0)
		return failed(f, r);
	FZ_ASSERT(r == space && (uint32_t)r <= f->g.slots);
	return 0;
}

static int op_reclaim(struct ret_fuzz *f)
{
	uint32_t rc0 = f->tx.ret_cons;
	int r = ivc_lane_tx_reclaim(&f->tx);

	if (r < 0)
		return failed(f, r);
	FZ_ASSERT((uint32_t)r == f->tx.ret_cons - rc0);
	FZ_ASSERT(f->tx.ret_cons == rx_hot(f)->ret_prod);
	reclaimed(f, rc0);
	return 0;
}

/* Hostile writes: a byte < 0x80 gives a value near the honest one (most
 * of them acceptable, so the run goes on), else a raw 32-bit value. */
static uint32_t near(struct ret_fuzz *f, uint32_t honest, uint32_t spread)
{
	uint8_t c = fz_u8(&f->in);

	if (c < 0x80)
		return honest - spread / 2 + c % (spread + 1);
	return fz_u32(&f->in);
}

static void op_desc_cons(struct ret_fuzz *f)
{
	__atomic_store_n(&rx_hot(f)->desc_cons, near(f, f->tx.prod, f->g.slots + 2),
			 __ATOMIC_RELEASE);
	f->hostile = 1;
}

static void op_ret_prod(struct ret_fuzz *f)
{
	__atomic_store_n(&rx_hot(f)->ret_prod,
			 near(f, f->tx.ret_cons + f->tx.n_lent, 4), __ATOMIC_RELEASE);
	f->hostile = 1;
}

static void op_ret_entry(struct ret_fuzz *f)
{
	uint32_t slot = fz_u8(&f->in) & (f->g.ret_slots - 1);

	__atomic_store_n(&ret_ring(f)[slot], near(f, f->g.buf_count / 2, f->g.buf_count + 2),
			 __ATOMIC_RELAXED);
	f->hostile = 1;
}

/* Return a buffer the model says is lent, whether or not its descriptor
 * was consumed, and whether or not it was returned already. */
static void op_return(struct ret_fuzz *f)
{
	uint32_t lent[MAX_BUFS], n = 0, i, rp = rx_hot(f)->ret_prod;
	uint8_t c = fz_u8(&f->in);

	for (i = 0; i < f->g.buf_count; i++)
		if (f->model[i] == IVC_BUF_LENT)
			lent[n++] = i;
	if (!n)
		return;
	__atomic_store_n(&ret_ring(f)[rp & (f->g.ret_slots - 1)], lent[c % n],
			 __ATOMIC_RELAXED);
	__atomic_store_n(&rx_hot(f)->ret_prod, rp + 1, __ATOMIC_RELEASE);
	f->hostile = 1;
}

/* The honest receiver: what it is handed must be what was posted. */
static void op_rx_recv(struct ret_fuzz *f)
{
	struct ivc_buf b[MAX_BURST];
	uint8_t c = fz_u8(&f->in);
	unsigned n = 1 + c % MAX_BURST, i;
	int r;

	if (f->rx_dead)
		return;
	if (c & 0x80) {
		r = ivc_lane_rx_fetch(&f->rx, c & 0x1f);
		if (r >= 0)
			r = (int)ivc_lane_rx_take(&f->rx, b, n);
	} else if (f->rx.st_n) {
		r = (int)ivc_lane_rx_take(&f->rx, b, n);
	} else {
		r = ivc_lane_rx_poll(&f->rx, b, n);
	}
	if (r < 0) {
		/* Only after the receiver's own index was tampered with can
		 * an honest sender's ring look wrong to it. */
		FZ_ASSERT(r == -EPROTO && f->hostile);
		f->rx_dead = 1;
		return;
	}
	for (i = 0; i < (unsigned)r; i++) {
		const unsigned char *p = b[i].data;
		uint32_t j;

		FZ_ASSERT(b[i].len <= b[i].cap);
		if (!f->hostile) {
			/* A buffer still lent to it, carrying the payload the
			 * application wrote (or, inline, a copy of one). */
			if (b[i].id < f->g.buf_count)
				FZ_ASSERT(f->model[b[i].id] == IVC_BUF_LENT &&
					  (!b[i].len ||
					   p[0] == (unsigned char)(b[i].id * 37)));
			for (j = 1; j < b[i].len; j++)
				FZ_ASSERT(p[j] == (unsigned char)(p[0] + j));
		}
		FZ_ASSERT(f->nrxb < MAX_IDS);
		f->rxb[f->nrxb++] = b[i];
	}
}

static void op_rx_release(struct ret_fuzz *f)
{
	unsigned n = fz_u8(&f->in) % 4 + 1, i;

	for (i = 0; i < n && f->nrxb; i++) {
		uint32_t j = fz_u8(&f->in) % f->nrxb;

		FZ_ASSERT(ivc_lane_rx_release(&f->rx, &f->rxb[j], 1) == 0);
		f->rxb[j] = f->rxb[--f->nrxb];
	}
}

static void op_bell(struct ret_fuzz *f)
{
	struct ivc_lane_rx_cold *rc =
		(struct ivc_lane_rx_cold *)(f->region + IVC_OFF_RX_COLD);
	uint8_t c = fz_u8(&f->in);
	int r;

	switch (c % 3) {
	case 0:
		__atomic_store_n(&rc->rx_sleep, fz_u32(&f->in), __ATOMIC_RELAXED);
		break;
	case 1:
		/* At most one doorbell per sleep of the receiver's. */
		r = ivc_lane_tx_need_bell(&f->tx);
		FZ_ASSERT(r == 0 || (r == 1 && (rc->rx_sleep & 1)));
		FZ_ASSERT(ivc_lane_tx_need_bell(&f->tx) == 0);
		break;
	default:
		ivc_lane_tx_sleep(&f->tx, c & 0x80);
		FZ_ASSERT((f->tx.sleep_epoch & 1) == !!(c & 0x80));
		break;
	}
}

static int step(struct ret_fuzz *f)
{
	switch (fz_u8(&f->in) % OP_COUNT) {
	case OP_ALLOC:
		return op_alloc(f);
	case OP_POST:
		return op_post(f);
	case OP_FREE:
		op_free(f);
		return 0;
	case OP_SPACE:
		return op_space(f);
	case OP_RECLAIM:
		return op_reclaim(f);
	case OP_DESC_CONS:
		op_desc_cons(f);
		return 0;
	case OP_RET_PROD:
		op_ret_prod(f);
		return 0;
	case OP_RET_ENTRY:
		op_ret_entry(f);
		return 0;
	case OP_RETURN:
		op_return(f);
		return 0;
	case OP_RX_RECV:
		op_rx_recv(f);
		return 0;
	case OP_RX_RELEASE:
		op_rx_release(f);
		return 0;
	default:
		op_bell(f);
		return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ret_fuzz f;
	uint32_t start;
	int r;

	memset(&f, 0, sizeof(f));
	f.in.p = data;
	f.in.n = size;
	f.region = fz_lane_make(&f.in, MAX_BUFS, &f.g, &start);
	FZ_ASSERT(ivc_lane_tx_init(&f.tx, f.region, &f.g, start) == 0);
	FZ_ASSERT(ivc_lane_rx_init(&f.rx, f.region, &f.g, start) == 0);
	audit(&f);

	do {
		r = step(&f);
		if (!r)
			audit(&f);
	} while (!r && f.in.n);

	ivc_lane_rx_fini(&f.rx);
	ivc_lane_tx_fini(&f.tx);
	free(f.region);
	return 0;
}
