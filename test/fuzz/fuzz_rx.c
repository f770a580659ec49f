/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rx - the receiver's side of a lane (src/core/lane_rx.c) against a hostile
 * sender.
 *
 * The region belongs to the sender: it may write any byte of it at any
 * time.  The receiver's promise (docs/layout.md, "Read once") is that what
 * it hands the application is always inside the peer's pool or its own
 * hold slots, no longer than the buffer, never handed out twice, and that
 * anything else is -EPROTO.  The input plays the sender and, interleaved,
 * chooses the receiver's calls in the order the channel might make them.
 *
 * Input:
 *   u8   slots 2..16 (bits 0-1), inline descriptors (bit 2)
 *   u8   buf_count 1..16
 *   u8   buf_size 64..256
 *   u32  XORed over IVC_IDX_START: the first index
 *   then operations, one u8 opcode and its operands each, until the input
 *   ends or a receiver call fails (the channel breaks there; so do we).
 *
 * The lane is kept tiny (two or three pages) so one run costs microseconds.
 * After every operation the receiver's private state is audited against
 * what this harness was handed (audit()).
 */
#include <errno.h>

#include "core/lane_pvt.h"
#include "fuzz.h"

#define MAX_IDS (16 + 16) /* buf_count + hold slots, at most */
#define MAX_BURST 8

struct rx_fuzz {
	struct fz_in in;
	struct ivc_lane_geom g;
	unsigned char *region;
	struct ivc_lane_rx rx;
	uint32_t nids, nhold;
	uint32_t sp;    /* the sender's next index, if it were honest */
	uint32_t chain; /* MORE buffers handed out since the last end */
	struct ivc_buf held[MAX_IDS];
	uint32_t nheld;
	uint8_t is_held[MAX_IDS];
};

enum {
	OP_POST,      /* write a descriptor at the sender's next index */
	OP_POKE_DESC, /* one field of any descriptor, any value */
	OP_POKE,      /* any 32-bit word of the region */
	OP_TX_COLD,   /* the sender's sleep epoch, closed flag, cpu */
	OP_FETCH,
	OP_BURST,     /* what ivc_rx_burst does: take if staged, else poll */
	OP_TAKE,
	OP_MSG,       /* msg_len, then take that message */
	OP_RELEASE,
	OP_READY,
	OP_BELL,      /* need_bell, sleep, peer_closed, peer_cpu */
	OP_COUNT
};

static struct ivc_desc *desc(struct rx_fuzz *f, uint32_t slot)
{
	return ivc_desc_at(f->region + f->g.desc_off, f->g.desc_size,
			   slot & (f->g.slots - 1));
}

/* Read every byte the application may touch, so ASan sees an overrun. */
static void touch(const struct ivc_buf *b)
{
	volatile unsigned char sum = 0;
	uint32_t i;

	for (i = 0; i < b->cap; i++)
		sum = (unsigned char)(sum + ((const unsigned char *)b->data)[i]);
	(void)sum;
}

/* One buffer the receiver just handed out: where it points, how long it
 * is, and that it was not already out. */
static void got_buf(struct rx_fuzz *f, const struct ivc_buf *b)
{
	uint32_t id = b->id;

	FZ_ASSERT(id < f->nids);
	FZ_ASSERT(!f->is_held[id]);
	FZ_ASSERT(f->rx.state[id] == IVC_RXB_APP);
	FZ_ASSERT(!(b->flags & ~IVC_BUF_MORE));
	if (id < f->g.buf_count) {
		FZ_ASSERT(b->data == f->region + f->g.buf_off +
					     (uint64_t)id * f->g.buf_size);
		FZ_ASSERT(b->cap == f->g.buf_size);
	} else {
		FZ_ASSERT(f->g.desc_size == IVC_DESC_SIZE_INLINE);
		FZ_ASSERT(b->data == f->rx.hold + (size_t)(id - f->g.buf_count) *
							  IVC_DESC_SIZE_INLINE);
		FZ_ASSERT(b->cap == (f->g.buf_size < IVC_INLINE_MAX ?
					     f->g.buf_size : IVC_INLINE_MAX));
	}
	FZ_ASSERT(b->len <= b->cap);
	touch(b);
	/* A message never spans more than the ring and the pool hold. */
	if (b->flags & IVC_BUF_MORE)
		FZ_ASSERT(++f->chain < ivc_lane_max_chain(&f->g));
	else
		f->chain = 0;
	f->is_held[id] = 1;
	f->held[f->nheld++] = *b;
}

/* The receiver's private state says exactly what we were handed: held
 * ids APP, staged ones STAGED (each once, validated), all others PEER;
 * every hold slot either in use or free, once. */
static void audit(struct rx_fuzz *f)
{
	const struct ivc_lane_rx *rx = &f->rx;
	uint8_t want[MAX_IDS] = { 0 }, hold_free[MAX_IDS] = { 0 };
	uint32_t i, in_use = 0;

	FZ_ASSERT(rx->st_n <= f->g.slots);
	for (i = 0; i < f->nheld; i++)
		want[f->held[i].id] = IVC_RXB_APP;
	for (i = 0; i < rx->st_n; i++) {
		const struct ivc_staged *s = &rx->stage[(rx->st_head + i) & rx->mask];

		FZ_ASSERT(s->buf < f->nids && want[s->buf] == IVC_RXB_PEER);
		want[s->buf] = IVC_RXB_STAGED;
		FZ_ASSERT(!(s->flags & ~IVC_DESC_KNOWN_FLAGS));
		FZ_ASSERT(s->len <= f->g.buf_size);
		if (s->buf >= f->g.buf_count)
			FZ_ASSERT((s->flags & IVC_DESC_INLINE) &&
				  s->len <= IVC_INLINE_MAX);
		else
			FZ_ASSERT(!(s->flags & IVC_DESC_INLINE));
	}
	for (i = 0; i < f->nids; i++)
		FZ_ASSERT(rx->state[i] == want[i]);
	for (i = 0; i < rx->n_hold_free; i++) {
		uint32_t h = rx->hold_free[i];

		FZ_ASSERT(h < f->nhold && !hold_free[h]);
		FZ_ASSERT(want[f->g.buf_count + h] == IVC_RXB_PEER);
		hold_free[h] = 1;
	}
	for (i = f->g.buf_count; i < f->nids; i++)
		in_use += want[i] != IVC_RXB_PEER;
	FZ_ASSERT(in_use + rx->n_hold_free == f->nhold);
}

/* The receiver moved its index: it must have told the sender. */
static void check_published(struct rx_fuzz *f, uint32_t before)
{
	const struct ivc_lane_rx_hot *hot =
		(const struct ivc_lane_rx_hot *)(f->region + IVC_OFF_RX_HOT);

	if (f->rx.cons != before)
		FZ_ASSERT(hot->desc_cons == f->rx.cons);
}

static void op_post(struct rx_fuzz *f)
{
	struct ivc_desc *d = desc(f, f->sp);
	uint32_t buf = fz_u8(&f->in), len = fz_u16(&f->in), flags = fz_u8(&f->in);

	d->buf = buf;
	d->len = len;
	d->flags = flags;
	if ((flags & IVC_DESC_INLINE) && f->g.desc_size == IVC_DESC_SIZE_INLINE)
		fz_bytes(&f->in, d->data, len < IVC_INLINE_MAX ? len : IVC_INLINE_MAX);
	__atomic_store_n(&d->seq, f->sp++, __ATOMIC_RELEASE);
}

static void op_poke_desc(struct rx_fuzz *f)
{
	struct ivc_desc *d = desc(f, fz_u8(&f->in));
	uint32_t field = fz_u8(&f->in) & 3, v = fz_u32(&f->in);

	__atomic_store_n(&(&d->seq)[field], v, __ATOMIC_RELAXED);
}

static void op_poke(struct rx_fuzz *f)
{
	uint32_t words = (uint32_t)(f->g.region_size / 4);
	uint32_t off = fz_u16(&f->in) % words * 4, v = fz_u32(&f->in);

	__atomic_store_n((uint32_t *)(f->region + off), v, __ATOMIC_RELAXED);
}

static void op_tx_cold(struct rx_fuzz *f)
{
	struct ivc_lane_tx_cold *c =
		(struct ivc_lane_tx_cold *)(f->region + IVC_OFF_TX_COLD);
	uint32_t field = fz_u8(&f->in) % 3, v = fz_u32(&f->in);

	__atomic_store_n(&(&c->tx_sleep)[field], v, __ATOMIC_RELAXED);
}

static int op_fetch(struct rx_fuzz *f)
{
	uint32_t before = f->rx.cons, want = fz_u8(&f->in);
	int r = ivc_lane_rx_fetch(&f->rx, want);

	if (r < 0) {
		FZ_ASSERT(r == -EPROTO);
		return r;
	}
	FZ_ASSERT((uint32_t)r == f->rx.st_n && (uint32_t)r <= f->g.slots);
	check_published(f, before);
	return 0;
}

static int op_burst(struct rx_fuzz *f)
{
	struct ivc_buf b[MAX_BURST];
	uint32_t before = f->rx.cons;
	unsigned n = 1 + fz_u8(&f->in) % MAX_BURST, i;
	int r;

	if (f->rx.st_n) {
		r = (int)ivc_lane_rx_take(&f->rx, b, n);
	} else {
		r = ivc_lane_rx_poll(&f->rx, b, n);
		if (r < 0) {
			FZ_ASSERT(r == -EPROTO);
			return r;
		}
		check_published(f, before);
	}
	FZ_ASSERT((unsigned)r <= n);
	for (i = 0; i < (unsigned)r; i++)
		got_buf(f, &b[i]);
	return 0;
}

static void op_take(struct rx_fuzz *f)
{
	struct ivc_buf b[MAX_BURST];
	uint32_t staged = f->rx.st_n;
	unsigned n = fz_u8(&f->in) % (MAX_BURST + 1), k, i;

	k = ivc_lane_rx_take(&f->rx, b, n);
	FZ_ASSERT(k == (n < staged ? n : staged));
	FZ_ASSERT(f->rx.st_n == staged - k);
	for (i = 0; i < k; i++)
		got_buf(f, &b[i]);
}

/* The whole first message, as ivc_recv sees it: its length, then its
 * buffers, which must add up and end where msg_len said. */
static void op_msg(struct rx_fuzz *f)
{
	struct ivc_buf b[16];
	uint32_t nbufs = 0, i;
	int64_t len = ivc_lane_rx_msg_len(&f->rx, &nbufs), sum = 0;

	if (len < 0) {
		FZ_ASSERT(len == -EAGAIN);
		return;
	}
	FZ_ASSERT(nbufs >= 1 && nbufs <= f->rx.st_n && nbufs <= 16);
	FZ_ASSERT(nbufs <= ivc_lane_max_chain(&f->g));
	FZ_ASSERT(ivc_lane_rx_take(&f->rx, b, nbufs) == nbufs);
	for (i = 0; i < nbufs; i++) {
		FZ_ASSERT(!(b[i].flags & IVC_BUF_MORE) == (i + 1 == nbufs));
		sum += b[i].len;
		got_buf(f, &b[i]);
	}
	FZ_ASSERT(sum == len);
}

/* Release a few held buffers, in the input's order; a byte >= 0xf0 names
 * an id we do not hold instead.  All or nothing: -EINVAL exactly when one
 * is not ours or is named twice. */
static void op_release(struct rx_fuzz *f)
{
	const struct ivc_lane_rx_hot *hot =
		(const struct ivc_lane_rx_hot *)(f->region + IVC_OFF_RX_HOT);
	struct ivc_buf b[4];
	uint8_t pick[MAX_IDS] = { 0 };
	uint32_t rmask = f->g.ret_slots - 1, ret0 = f->rx.ret_prod, nret = 0;
	unsigned n = 1 + fz_u8(&f->in) % 4, i, j;
	int r, ok = 1;

	for (i = 0; i < n; i++) {
		uint8_t c = fz_u8(&f->in);

		if (c < 0xf0 && f->nheld) {
			/* A held buffer, or (0xe0..0xef) a copy of it whose
			 * data pointer moved: not the caller's to release. */
			b[i] = f->held[c % f->nheld];
			if (c >= 0xe0) {
				b[i].data = (char *)b[i].data + 1;
				ok = 0;
			}
			ok &= !pick[b[i].id]++;
		} else {
			/* A raw id, without the address ivc handed out. */
			memset(&b[i], 0, sizeof(b[i]));
			b[i].id = fz_u32(&f->in);
			ok = 0;
		}
	}
	r = ivc_lane_rx_release(&f->rx, b, n);
	FZ_ASSERT(r == (ok ? 0 : -EINVAL));
	if (r) {
		FZ_ASSERT(f->rx.ret_prod == ret0);
		return;
	}
	/* Pool buffers go back on the return ring, in order; hold slots
	 * were never the peer's. */
	for (i = 0; i < n; i++) {
		if (b[i].id < f->g.buf_count)
			FZ_ASSERT(f->rx.ret[(ret0 + nret++) & rmask] == b[i].id);
		f->is_held[b[i].id] = 0;
		for (j = 0; j < f->nheld; j++)
			if (f->held[j].id == b[i].id) {
				f->held[j] = f->held[--f->nheld];
				break;
			}
	}
	FZ_ASSERT(f->rx.ret_prod == ret0 + nret);
	if (nret)
		FZ_ASSERT(hot->ret_prod == f->rx.ret_prod);
}

/* ready (and the spin loop's cheap probe) against the slot we expect. */
static int op_ready(struct rx_fuzz *f)
{
	uint32_t seq = desc(f, f->rx.cons)->seq;
	int want = f->rx.st_n || seq == f->rx.cons ? 1 :
		   seq == f->rx.cons - f->g.slots ? 0 : -EPROTO;
	int maybe = ivc_lane_rx_maybe(&f->rx);
	int r = ivc_lane_rx_ready(&f->rx);

	FZ_ASSERT(r == want);
	FZ_ASSERT(!maybe == (!f->rx.st_n && seq == f->rx.cons - f->g.slots));
	return r < 0 ? r : 0;
}

static void op_bell(struct rx_fuzz *f)
{
	const struct ivc_lane_tx_cold *c =
		(const struct ivc_lane_tx_cold *)(f->region + IVC_OFF_TX_COLD);
	const struct ivc_lane_rx_cold *rc =
		(const struct ivc_lane_rx_cold *)(f->region + IVC_OFF_RX_COLD);
	uint32_t cpu = c->cpu;
	int r;

	switch (fz_u8(&f->in) % 4) {
	case 0:
		/* At most one doorbell per sleep of the sender's. */
		r = ivc_lane_rx_need_bell(&f->rx);
		FZ_ASSERT(r == 0 || (r == 1 && (c->tx_sleep & 1)));
		FZ_ASSERT(ivc_lane_rx_need_bell(&f->rx) == 0);
		break;
	case 1:
		r = fz_u8(&f->in) & 1;
		ivc_lane_rx_sleep(&f->rx, r);
		FZ_ASSERT((f->rx.sleep_epoch & 1) == (uint32_t)r);
		if (r)
			FZ_ASSERT(rc->rx_sleep == f->rx.sleep_epoch);
		break;
	case 2:
		FZ_ASSERT(ivc_lane_rx_peer_closed(&f->rx) == (c->closed != 0));
		break;
	default:
		r = ivc_lane_rx_peer_cpu(&f->rx);
		FZ_ASSERT(r == (cpu == 0 || cpu > 0x7fffffffu ? -1 : (int)(cpu - 1)));
		break;
	}
}

static int step(struct rx_fuzz *f)
{
	switch (fz_u8(&f->in) % OP_COUNT) {
	case OP_POST:
		op_post(f);
		return 0;
	case OP_POKE_DESC:
		op_poke_desc(f);
		return 0;
	case OP_POKE:
		op_poke(f);
		return 0;
	case OP_TX_COLD:
		op_tx_cold(f);
		return 0;
	case OP_FETCH:
		return op_fetch(f);
	case OP_BURST:
		return op_burst(f);
	case OP_TAKE:
		op_take(f);
		return 0;
	case OP_MSG:
		op_msg(f);
		return 0;
	case OP_RELEASE:
		op_release(f);
		return 0;
	case OP_READY:
		return op_ready(f);
	default:
		op_bell(f);
		return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rx_fuzz f;
	uint32_t start;
	int r;

	memset(&f, 0, sizeof(f));
	f.in.p = data;
	f.in.n = size;
	f.region = fz_lane_make(&f.in, 16, &f.g, &start);
	f.nhold = f.g.desc_size == IVC_DESC_SIZE_INLINE ? f.g.slots : 0;
	f.nids = f.g.buf_count + f.nhold;
	FZ_ASSERT(f.nids <= MAX_IDS);
	FZ_ASSERT(ivc_lane_rx_init(&f.rx, f.region, &f.g, start) == 0);
	f.sp = start;

	do {
		r = step(&f);
		if (!r)
			audit(&f);
	} while (!r && f.in.n);

	/* After -EPROTO the channel hands nothing more out, but the
	 * application may still give back what it holds. */
	if (f.nheld)
		FZ_ASSERT(ivc_lane_rx_release(&f.rx, f.held, f.nheld) == 0);
	ivc_lane_rx_fini(&f.rx);
	free(f.region);
	return 0;
}
