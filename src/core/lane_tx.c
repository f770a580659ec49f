/* SPDX-License-Identifier: MIT */
/* The sender's side of a lane: its own buffer pool and descriptor ring. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/lane_pvt.h"
#include "util/compiler_pvt.h"

int ivc_lane_tx_init(struct ivc_lane_tx *tx, void *region,
		     const struct ivc_lane_geom *g, uint32_t idx_start)
{
	unsigned char *base = region;
	uint32_t i;

	tx->base = base;
	tx->g = *g;
	tx->mask = g->slots - 1;
	tx->max_chain = ivc_lane_max_chain(g);
	tx->ring = base + g->desc_off;
	tx->ret = (const uint32_t *)(base + g->ret_off);
	tx->rx_hot = (const struct ivc_lane_rx_hot *)(base + IVC_OFF_RX_HOT);
	tx->rx_cold = (const struct ivc_lane_rx_cold *)(base + IVC_OFF_RX_COLD);
	tx->tx_cold = (struct ivc_lane_tx_cold *)(base + IVC_OFF_TX_COLD);
	tx->bufs = base + g->buf_off;
	tx->start = tx->prod = tx->cons_cache = tx->ret_cons = idx_start;
	tx->n_lent = tx->chain = tx->rung_epoch = tx->sleep_epoch = 0;
	tx->reclaim_mark = 0;
	tx->in_order = 0;
	tx->cnt_msgs = tx->cnt_bytes = tx->cnt_bufs = 0;
	tx->inline_max = g->desc_size == IVC_DESC_SIZE_INLINE ? IVC_INLINE_MAX : 0;
	tx->free_stack = malloc(sizeof(uint32_t) * g->buf_count);
	tx->state = calloc(g->buf_count, 1);
	if (!tx->free_stack || !tx->state) {
		ivc_lane_tx_fini(tx);
		return -ENOMEM;
	}
	/* Lowest index on top: a quiet channel keeps reusing a few hot buffers. */
	for (i = 0; i < g->buf_count; i++)
		tx->free_stack[i] = g->buf_count - 1 - i;
	tx->n_free = g->buf_count;
	return 0;
}

void ivc_lane_tx_hand_out_in_order(struct ivc_lane_tx *tx)
{
	tx->in_order = 1;
}

void ivc_lane_tx_fini(struct ivc_lane_tx *tx)
{
	free(tx->free_stack);
	free(tx->state);
	tx->free_stack = NULL;
	tx->state = NULL;
}

/* Take back the buffers the receiver has put on the return ring; with
 * @in_order the first returned ends on top, so that a chain returned whole
 * is handed out again in the order it was sent (its buffers ascending and,
 * as sent from a fresh stack, consecutive).  On locals: a store to the
 * state bytes may alias any field of @tx, as far as the compiler knows,
 * and would have each of them read again per entry. */
static int reclaim(struct ivc_lane_tx *tx, int in_order)
{
	const uint32_t rp = IVC_LOAD_ACQ(&tx->rx_hot->ret_prod);
	const uint32_t first = tx->ret_cons, cnt = rp - first;
	const uint32_t rmask = tx->g.ret_slots - 1, count = tx->g.buf_count;
	const uint32_t *const ret = tx->ret;
	uint8_t *const state = tx->state;
	uint32_t *const stack = tx->free_stack + tx->n_free;
	uint32_t i;

	if (cnt > tx->n_lent)
		return -EPROTO; /* more returned than we lent */
	for (i = 0; i < cnt; i++) {
		uint32_t idx = IVC_LOAD(&ret[(first + i) & rmask]);

		/* Never lent, or returned twice: what came before it is
		 * taken back, as each was checked. */
		if (idx >= count || state[idx] != IVC_BUF_LENT)
			break;
		state[idx] = IVC_BUF_FREE;
		stack[i] = idx;
	}
	for (uint32_t lo = 0, hi = in_order ? i : 0; hi > lo + 1; lo++, hi--) {
		uint32_t t = stack[lo];

		stack[lo] = stack[hi - 1];
		stack[hi - 1] = t;
	}
	tx->n_free += i;
	tx->n_lent -= i;
	tx->ret_cons = first + i;
	tx->reclaim_mark = (uint32_t)IVC_LOAD(&tx->cnt_bytes);
	return i == cnt ? (int)cnt : -EPROTO;
}

int ivc_lane_tx_reclaim(struct ivc_lane_tx *tx)
{
	return reclaim(tx, tx->in_order);
}

/* A lane that hands out in order (tcp), every buffer it lent returned. */
static int all_back(const struct ivc_lane_tx *tx)
{
	return tx->in_order &&
	       IVC_LOAD_ACQ(&tx->rx_hot->ret_prod) - tx->ret_cons == tx->n_lent;
}

int ivc_lane_tx_alloc(struct ivc_lane_tx *tx, struct ivc_buf *bufs, unsigned n)
{
	unsigned i, k;
	uint32_t sent;

	/* Returns are taken back when the free buffers run short, and also
	 * once IVC_RECLAIM_BYTES have been sent since the last time: they go
	 * on top of the stack, so large messages reuse buffers still in the
	 * cache instead of working down through the whole pool (a 64 KiB
	 * round trip walked 2 MiB of buffers at each end).  Counted in bytes
	 * sent: a stream of small messages takes them back as rarely as it
	 * did, only when short, last returned first.  Taken back for large
	 * messages, they come in sending order: a chain gets its ascending
	 * buffers back, which the prefetcher streams through (shm round
	 * trips of 64 KiB - 1 MiB 19-30% shorter).  A lane handing out in
	 * order (tcp) also takes them back once every buffer it lent has
	 * come back, as in a request and its answer: a small message then
	 * reuses the buffer its predecessor had, still in the cache at both
	 * ends (the peer's copy lands in the same place of its mirror), where
	 * working down through the pool missed the cache at both ends
	 * (applying a 64 B message's frames took 240-380 ns, 66-104 with
	 * it).  Not for some of them: a stream's sender would then hand out a
	 * few returned buffers ahead of the rest (4 KiB streams up to 16%
	 * slower, likely in more iovecs).  The return ring is our own memory
	 * there: looking costs one load. */
	sent = (uint32_t)IVC_LOAD(&tx->cnt_bytes) - tx->reclaim_mark;
	if ((tx->n_free < n || sent >= IVC_RECLAIM_BYTES || all_back(tx)) && tx->n_lent) {
		int r = reclaim(tx, tx->in_order || sent >= IVC_RECLAIM_BYTES);

		if (r < 0)
			return r;
	}
	k = n < tx->n_free ? n : tx->n_free;
	/* On locals: the stores to @bufs could otherwise be our own fields,
	 * as far as the compiler knows, and have them read again each time. */
	const uint32_t *const stack = tx->free_stack + tx->n_free;
	uint8_t *const state = tx->state;
	unsigned char *const base = tx->bufs;
	const uint32_t size = tx->g.buf_size;

	for (i = 0; i < k; i++) {
		uint32_t idx = stack[-1 - (int)i];

		state[idx] = IVC_BUF_APP;
		ivc_buf_fill(&bufs[i], base + (uint64_t)idx * size,
			     (uint64_t)size << 32, idx);
	}
	tx->n_free -= k;
	return (int)k;
}

/* Whether @b is a buffer of this lane that ivc lent to the caller and the
 * caller has neither sent nor freed.  The index alone is not enough: a
 * buffer of another channel (or one received from the peer) carries an
 * index that may well be valid here, and accepting it would publish one of
 * our own buffers under its length.  ivc_tx_alloc() hands out the one
 * address that goes with each index, so the pair names exactly one buffer
 * of exactly one lane: a compare that costs nothing next to the state
 * byte's load. */
static inline int tx_is_callers(const struct ivc_lane_tx *tx,
				const struct ivc_buf *b)
{
	return b->id < tx->g.buf_count && tx->state[b->id] == IVC_BUF_APP &&
	       b->data == tx->bufs + (uint64_t)b->id * tx->g.buf_size;
}

/* Move @n of the caller's buffers to @to, all or none: a buffer that is
 * not the caller's, or is named twice, undoes the ones already moved. */
static int tx_claim(struct ivc_lane_tx *tx, const struct ivc_buf *bufs,
		    unsigned n, uint8_t to)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (!tx_is_callers(tx, &bufs[i])) {
			while (i--)
				tx->state[bufs[i].id] = IVC_BUF_APP;
			return -EINVAL;
		}
		tx->state[bufs[i].id] = to;
	}
	return 0;
}

int ivc_lane_tx_free(struct ivc_lane_tx *tx, const struct ivc_buf *bufs,
		     unsigned n)
{
	unsigned i;
	int r = tx_claim(tx, bufs, n, IVC_BUF_FREE);

	if (r)
		return r;
	for (i = 0; i < n; i++)
		tx->free_stack[tx->n_free++] = bufs[i].id;
	return 0;
}

int ivc_lane_tx_space(struct ivc_lane_tx *tx, uint32_t want)
{
	uint32_t used = tx->prod - tx->cons_cache;

	if (tx->g.slots - used < want) {
		uint32_t c = IVC_LOAD_ACQ(&tx->rx_hot->desc_cons);

		/* Unsigned: a consumer index ahead of us wraps to a huge value. */
		if (tx->prod - c > tx->g.slots)
			return -EPROTO;
		tx->cons_cache = c;
		used = tx->prod - c;
	}
	return (int)(tx->g.slots - used);
}

int ivc_lane_tx_in_flight(struct ivc_lane_tx *tx)
{
	uint32_t c = IVC_LOAD_ACQ(&tx->rx_hot->desc_cons);

	if (tx->prod - c > tx->g.slots)
		return -EPROTO;
	tx->cons_cache = c;
	return (int)(tx->prod - c);
}

/* One pass over all @n: each must be the caller's (not named twice), no
 * longer than a buffer, with known flags, and no chain may outgrow the
 * ring.  Each is marked LENT as it passes; a failure undoes the marks. */
static int tx_check_claim(struct ivc_lane_tx *tx, const struct ivc_buf *bufs,
			  unsigned n)
{
	const uint32_t count = tx->g.buf_count, size = tx->g.buf_size;
	const uint32_t max_chain = tx->max_chain;
	const unsigned char *const base = tx->bufs;
	uint8_t *const state = tx->state;
	uint32_t chain = tx->chain;
	unsigned i;
	int r = 0;

	for (i = 0; i < n; i++) {
		const struct ivc_buf *b = &bufs[i];
		uint32_t id = b->id;

		/* tx_is_callers(), on locals.  The caller's only flag is
		 * MORE: INLINE is the lane's to set, and set by the caller on
		 * a payload that sits in the buffer it would make an honest
		 * receiver fail with -EPROTO. */
		if (id >= count || state[id] != IVC_BUF_APP ||
		    b->data != base + (uint64_t)id * size || b->len > size ||
		    (b->flags & ~IVC_DESC_MORE)) {
			r = -EINVAL;
			break;
		}
		chain = (b->flags & IVC_DESC_MORE) ? chain + 1 : 0;
		if (chain >= max_chain) {
			r = -EMSGSIZE;
			break;
		}
		state[id] = IVC_BUF_LENT;
	}
	if (r)
		while (i--)
			state[bufs[i].id] = IVC_BUF_APP;
	return r;
}

/* The descriptors of @k checked buffers on a lane of 16-byte descriptors
 * (every buffer is lent), on locals; each stamp last. */
static void tx_write_plain(struct ivc_lane_tx *tx, const struct ivc_buf *bufs,
			   unsigned k)
{
	struct ivc_desc *const ring = (struct ivc_desc *)tx->ring;
	const uint32_t mask = tx->mask;
	uint32_t prod = tx->prod, chain = tx->chain;
	uint64_t bytes = 0, msgs = 0;
	unsigned i;

	for (i = 0; i < k; i++) {
		struct ivc_desc *d = &ring[prod & mask];
		uint32_t more = bufs[i].flags & IVC_DESC_MORE;

		IVC_STORE(&d->buf, bufs[i].id);
		IVC_STORE(&d->len, bufs[i].len);
		IVC_STORE(&d->flags, more);
		/* The stamp last: it publishes the descriptor. */
		IVC_STORE_REL(&d->seq, prod);
		chain = more ? chain + 1 : 0;
		prod++;
		bytes += bufs[i].len;
		msgs += !more;
	}
	tx->prod = prod;
	tx->chain = chain;
	tx->n_lent += k;
	IVC_COUNT(&tx->cnt_msgs, msgs);
	IVC_COUNT(&tx->cnt_bytes, bytes);
	IVC_COUNT(&tx->cnt_bufs, k);
}

int ivc_lane_tx_post(struct ivc_lane_tx *tx, const struct ivc_buf *bufs,
		     unsigned n)
{
	int space = ivc_lane_tx_space(tx, n);
	uint64_t bytes = 0, msgs = 0;
	unsigned i, k, lent = 0;
	int r;

	if (space < 0)
		return space;
	/* All @n are checked, not only the prefix that fits: a bad buffer or
	 * an over-long chain further on must not leave half a chain sent. */
	r = tx_check_claim(tx, bufs, n);
	if (r)
		return r;
	k = n < (unsigned)space ? n : (unsigned)space;
	for (i = k; i < n; i++)
		tx->state[bufs[i].id] = IVC_BUF_APP; /* not sent this time */
	if (!tx->inline_max) {
		tx_write_plain(tx, bufs, k);
		return (int)k;
	}
	for (i = 0; i < k; i++) {
		const struct ivc_buf *b = &bufs[i];
		struct ivc_desc *d = ivc_desc_at(tx->ring, tx->g.desc_size,
						 tx->prod & tx->mask);
		uint32_t more = b->flags & IVC_DESC_MORE, flags = b->flags;

		if (tx->inline_max && b->len <= tx->inline_max) {
			/* Small: the payload rides in the descriptor, and the
			 * buffer is ours again at once, still hot in our cache
			 * for the next allocation. */
			memcpy(d->data, tx->bufs + (uint64_t)b->id * tx->g.buf_size,
			       b->len);
			flags |= IVC_DESC_INLINE;
			IVC_STORE(&d->buf, 0u);
			tx->state[b->id] = IVC_BUF_FREE;
			tx->free_stack[tx->n_free++] = b->id;
		} else {
			IVC_STORE(&d->buf, b->id);
			lent++;
		}
		IVC_STORE(&d->len, b->len);
		IVC_STORE(&d->flags, flags);
		/* The stamp last: it publishes the descriptor. */
		IVC_STORE_REL(&d->seq, tx->prod);
		tx->chain = more ? tx->chain + 1 : 0;
		tx->prod++;
		bytes += b->len;
		msgs += !more;
	}
	tx->n_lent += lent;
	IVC_COUNT(&tx->cnt_msgs, msgs);
	IVC_COUNT(&tx->cnt_bytes, bytes);
	IVC_COUNT(&tx->cnt_bufs, k);
	return (int)k;
}

int ivc_lane_tx_need_bell(struct ivc_lane_tx *tx)
{
	uint32_t e;

	IVC_FENCE(); /* our stamps before the receiver's sleep flag */
	e = IVC_LOAD(&tx->rx_cold->rx_sleep);
	if (!(e & 1) || e == tx->rung_epoch)
		return 0;
	tx->rung_epoch = e;
	return 1;
}

void ivc_lane_tx_sleep(struct ivc_lane_tx *tx, int asleep)
{
	/* Every arming is a new odd epoch, even when re-arming while still
	 * odd: the peer rings once per epoch, so a sleeper that woke without
	 * its condition and sleeps again must be rung again. */
	if (!asleep && !(tx->sleep_epoch & 1))
		return;
	tx->sleep_epoch += (asleep && (tx->sleep_epoch & 1)) ? 2 : 1;
	IVC_STORE(&tx->tx_cold->tx_sleep, tx->sleep_epoch);
	if (asleep)
		IVC_FENCE(); /* the flag before our re-check of the indices */
}
