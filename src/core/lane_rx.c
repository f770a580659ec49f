/* SPDX-License-Identifier: MIT */
/*
 * The receiver's side of a lane: the peer's descriptor ring and buffers,
 * mapped from the peer's region.  Descriptors are copied out of the ring
 * once, validated, and kept in a private stage; the application only ever
 * sees the staged copies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/lane_pvt.h"
#include "util/compiler_pvt.h"

int ivc_lane_rx_init(struct ivc_lane_rx *rx, void *region,
		     const struct ivc_lane_geom *g, uint32_t idx_start)
{
	unsigned char *base = region;

	rx->base = base;
	rx->g = *g;
	rx->mask = g->slots - 1;
	rx->max_chain = ivc_lane_max_chain(g);
	rx->ring = base + g->desc_off;
	rx->ret = (uint32_t *)(base + g->ret_off);
	rx->rx_hot = (struct ivc_lane_rx_hot *)(base + IVC_OFF_RX_HOT);
	rx->rx_cold = (struct ivc_lane_rx_cold *)(base + IVC_OFF_RX_COLD);
	rx->tx_cold = (const struct ivc_lane_tx_cold *)(base + IVC_OFF_TX_COLD);
	rx->bufs = base + g->buf_off;
	rx->start = rx->cons = rx->ret_prod = idx_start;
	rx->chain = rx->rung_epoch = rx->sleep_epoch = 0;
	rx->st_head = rx->st_n = 0;
	rx->cnt_msgs = rx->cnt_bytes = rx->cnt_bufs = 0;
	uint32_t nhold = g->desc_size == IVC_DESC_SIZE_INLINE ? g->slots : 0;

	rx->stage = malloc(sizeof(*rx->stage) * g->slots);
	rx->state = calloc((size_t)g->buf_count + nhold, 1);
	rx->hold = nhold ? malloc((size_t)nhold * IVC_DESC_SIZE_INLINE) : NULL;
	rx->hold_free = nhold ? malloc(sizeof(uint32_t) * nhold) : NULL;
	rx->n_hold_free = 0;
	if (!rx->stage || !rx->state || (nhold && (!rx->hold || !rx->hold_free))) {
		ivc_lane_rx_fini(rx);
		return -ENOMEM;
	}
	for (; rx->n_hold_free < nhold; rx->n_hold_free++)
		rx->hold_free[rx->n_hold_free] = nhold - 1 - rx->n_hold_free;
	/* Our own indices start where the owner said; write them so that a
	 * peer which formatted them otherwise cannot confuse itself into
	 * blaming us. */
	IVC_STORE(&rx->rx_hot->desc_cons, idx_start);
	IVC_STORE(&rx->rx_hot->ret_prod, idx_start);
	IVC_STORE(&rx->rx_cold->rx_sleep, 0u);
	return 0;
}

void ivc_lane_rx_fini(struct ivc_lane_rx *rx)
{
	free(rx->stage);
	free(rx->state);
	free(rx->hold);
	free(rx->hold_free);
	rx->stage = NULL;
	rx->state = NULL;
	rx->hold = NULL;
	rx->hold_free = NULL;
}

/* An inline payload into its hold slot, 16 bytes a step.  memcpy() with
 * a length the compiler knows is at most IVC_INLINE_MAX became `rep movsq`,
 * whose start-up cost more than the copy; steps of 16 stay within the
 * cache lines that hold the payload (its start, 16 bytes into a 128-byte
 * aligned descriptor, and the line between, are multiples of 16), and
 * within the 128-byte slot. */
static void copy_inline(unsigned char *dst, const unsigned char *src,
			uint32_t len)
{
	for (uint32_t i = 0; i < len; i += 16)
		memcpy(dst + i, src + i, 16);
}

/* Read the descriptor at our index once and validate it into @out.
 * Return: 1, 0 when not written yet, -EPROTO. */
static int rx_read_one(struct ivc_lane_rx *rx, struct ivc_staged *out)
{
	const struct ivc_desc *d = ivc_desc_at(rx->ring, rx->g.desc_size,
					       rx->cons & rx->mask);
	uint32_t seq = IVC_LOAD_ACQ(&d->seq);
	struct ivc_staged s;

	if (seq != rx->cons)
		/* Either last lap's stamp (not yet written) or a lie. */
		return seq == rx->cons - rx->g.slots ? 0 : -EPROTO;
	s.buf = IVC_LOAD(&d->buf);
	s.len = IVC_LOAD(&d->len);
	s.flags = IVC_LOAD(&d->flags);
	if (s.flags & ~IVC_DESC_KNOWN_FLAGS)
		return -EPROTO;
	if (s.flags & IVC_DESC_INLINE) {
		if (rx->g.desc_size != IVC_DESC_SIZE_INLINE ||
		    s.len > IVC_INLINE_MAX || s.len > rx->g.buf_size)
			return -EPROTO;
		if (!rx->n_hold_free)
			return 0; /* the caller holds every slot: wait for releases */
	} else if (s.buf >= rx->g.buf_count || rx->state[s.buf] != IVC_RXB_PEER ||
		   s.len > rx->g.buf_size) {
		return -EPROTO;
	}
	if (s.flags & IVC_DESC_MORE) {
		if (++rx->chain >= rx->max_chain)
			return -EPROTO; /* a chain that never ends */
	} else {
		rx->chain = 0;
	}
	if (s.flags & IVC_DESC_INLINE) {
		/* Copied once, before the slot is handed back to the sender:
		 * a small message can no longer change under its reader. */
		uint32_t h = rx->hold_free[--rx->n_hold_free];

		copy_inline(rx->hold + (size_t)h * IVC_DESC_SIZE_INLINE, d->data, s.len);
		s.buf = rx->g.buf_count + h;
	}
	rx->cons++;
	*out = s;
	return 1;
}

static int rx_fetch_one(struct ivc_lane_rx *rx)
{
	struct ivc_staged s;
	int r = rx_read_one(rx, &s);

	if (r <= 0)
		return r;
	rx->state[s.buf] = IVC_RXB_STAGED;
	rx->stage[(rx->st_head + rx->st_n) & rx->mask] = s;
	rx->st_n++;
	return 1;
}

/* Hand one validated descriptor to the caller. */
static void rx_give(struct ivc_lane_rx *rx, const struct ivc_staged *s,
		   struct ivc_buf *b)
{
	rx->state[s->buf] = IVC_RXB_APP;
	if (s->buf < rx->g.buf_count) {
		b->data = rx->bufs + (uint64_t)s->buf * rx->g.buf_size;
		b->cap = rx->g.buf_size;
	} else {
		b->data = rx->hold +
			  (size_t)(s->buf - rx->g.buf_count) * IVC_DESC_SIZE_INLINE;
		b->cap = rx->g.buf_size < IVC_INLINE_MAX ? rx->g.buf_size :
							   IVC_INLINE_MAX;
	}
	b->len = s->len;
	b->id = s->buf;
	b->flags = s->flags & IVC_DESC_MORE;
	/* Start the payload's cache miss now, in parallel with the caller's
	 * bookkeeping, rather than at its first read. */
	__builtin_prefetch(b->data);
}

static void rx_count(struct ivc_lane_rx *rx, const struct ivc_buf *bufs,
		     unsigned k)
{
	uint64_t bytes = 0, msgs = 0;
	unsigned i;

	for (i = 0; i < k; i++) {
		bytes += bufs[i].len;
		msgs += !(bufs[i].flags & IVC_DESC_MORE);
	}
	IVC_COUNT(&rx->cnt_msgs, msgs);
	IVC_COUNT(&rx->cnt_bytes, bytes);
	IVC_COUNT(&rx->cnt_bufs, k);
}

/* ivc_lane_rx_poll() on a lane of 16-byte descriptors (no inline
 * payloads, so no hold slots): rx_read_one() and rx_give() in one loop
 * over locals, the same checks in the same order, and the counting done
 * on the way (this is every small message's receive).  Only what every
 * descriptor needs is kept in registers; the rest is read on the rare
 * paths (a chain, the end of what is published). */
static int rx_poll_plain(struct ivc_lane_rx *rx, struct ivc_buf *bufs, unsigned n)
{
	const struct ivc_desc *const ring = (const struct ivc_desc *)rx->ring;
	const uint32_t mask = rx->mask, first = rx->cons, end = first + n;
	const uint32_t count = rx->g.buf_count, size = rx->g.buf_size;
	const uint64_t cap_hi = (uint64_t)size << 32;
	uint8_t *const state = rx->state;
	unsigned char *const base = rx->bufs;
	uint32_t idx, chain = rx->chain, more = 0;
	uint64_t bytes = 0;
	struct ivc_buf *b = bufs;
	int r = 0;

	for (idx = first; idx != end; idx++, b++) {
		const struct ivc_desc *d = &ring[idx & mask];
		uint32_t seq = IVC_LOAD_ACQ(&d->seq), buf, len, flags;

		if (seq != idx) {
			/* Either last lap's stamp (not yet written) or a lie. */
			r = seq == idx - rx->g.slots ? 0 : -EPROTO;
			break;
		}
		buf = IVC_LOAD(&d->buf);
		len = IVC_LOAD(&d->len);
		flags = IVC_LOAD(&d->flags);
		/* INLINE too is a lie here: this lane has no room for it. */
		if ((flags & ~IVC_DESC_MORE) || buf >= count ||
		    state[buf] != IVC_RXB_PEER || len > size) {
			r = -EPROTO;
			break;
		}
		if (flags) {
			if (++chain >= rx->max_chain) {
				r = -EPROTO; /* a chain that never ends */
				break;
			}
			more++;
		} else {
			chain = 0;
		}
		state[buf] = IVC_RXB_APP;
		ivc_buf_fill(b, base + (uint64_t)buf * size, cap_hi | len,
			     (uint64_t)flags << 32 | buf);
		/* Start the payload's cache miss now, in parallel with the
		 * caller's bookkeeping, rather than at its first read. */
		__builtin_prefetch(b->data);
		bytes += len;
	}
	rx->chain = chain;
	if (idx != first) {
		rx->cons = idx;
		IVC_STORE_REL(&rx->rx_hot->desc_cons, idx);
		IVC_COUNT(&rx->cnt_msgs, idx - first - more);
		IVC_COUNT(&rx->cnt_bytes, bytes);
		IVC_COUNT(&rx->cnt_bufs, idx - first);
	}
	return r < 0 ? r : (int)(idx - first);
}

int ivc_lane_rx_poll(struct ivc_lane_rx *rx, struct ivc_buf *bufs, unsigned n)
{
	unsigned k = 0;
	int r = 0;

	if (rx->g.desc_size == IVC_DESC_SIZE)
		return rx_poll_plain(rx, bufs, n);
	while (k < n) {
		struct ivc_staged s;

		r = rx_read_one(rx, &s);
		if (r <= 0)
			break;
		rx_give(rx, &s, &bufs[k++]);
	}
	if (k) {
		IVC_STORE_REL(&rx->rx_hot->desc_cons, rx->cons);
		rx_count(rx, bufs, k);
	}
	return r < 0 ? r : (int)k;
}

int ivc_lane_rx_fetch(struct ivc_lane_rx *rx, uint32_t want)
{
	uint32_t got = 0;
	int r = 0;

	if (want > rx->g.slots)
		want = rx->g.slots;
	while (rx->st_n < want && (r = rx_fetch_one(rx)) > 0)
		got++;
	if (got)
		IVC_STORE_REL(&rx->rx_hot->desc_cons, rx->cons);
	return r < 0 ? r : (int)rx->st_n;
}

unsigned ivc_lane_rx_take(struct ivc_lane_rx *rx, struct ivc_buf *bufs,
			  unsigned n)
{
	unsigned i, k = n < rx->st_n ? n : rx->st_n;

	for (i = 0; i < k; i++)
		rx_give(rx, &rx->stage[rx->st_head++ & rx->mask], &bufs[i]);
	rx->st_n -= k;
	rx_count(rx, bufs, k);
	return k;
}

int64_t ivc_lane_rx_msg_len(const struct ivc_lane_rx *rx, uint32_t *nbufs)
{
	int64_t total = 0;
	uint32_t i;

	for (i = 0; i < rx->st_n; i++) {
		const struct ivc_staged *s = &rx->stage[(rx->st_head + i) & rx->mask];

		total += s->len;
		if (!(s->flags & IVC_DESC_MORE)) {
			*nbufs = i + 1;
			return total;
		}
	}
	return -EAGAIN;
}

/* Whether @b is a buffer ivc handed to the caller from this lane and not
 * yet released.  As on the sending side, the index alone could name a
 * buffer of another channel: the address handed out with it must match
 * (a peer's buffer in its mapped region, or one of our inline hold slots). */
static inline int rx_is_callers(const struct ivc_lane_rx *rx,
				const struct ivc_buf *b, uint32_t nids)
{
	uint32_t id = b->id;

	if (id >= nids || rx->state[id] != IVC_RXB_APP)
		return 0;
	if (id < rx->g.buf_count)
		return b->data == rx->bufs + (uint64_t)id * rx->g.buf_size;
	return b->data ==
	       rx->hold + (size_t)(id - rx->g.buf_count) * IVC_DESC_SIZE_INLINE;
}

/* ivc_lane_rx_release() on a lane without hold slots: check, mark and
 * write each return entry in one pass.  The entries past ret_prod are
 * not the sender's to read until ret_prod moves, so a bad buffer further
 * on undoes only the marks.  (The ring holds every buffer, so an honest
 * sender has read the entries we overwrite.) */
static int rx_release_plain(struct ivc_lane_rx *rx, const struct ivc_buf *bufs,
			    unsigned n)
{
	const uint32_t rmask = rx->g.ret_slots - 1, count = rx->g.buf_count;
	const uint32_t size = rx->g.buf_size;
	uint8_t *const state = rx->state;
	const unsigned char *const base = rx->bufs;
	uint32_t *const ret = rx->ret;
	uint32_t prod = rx->ret_prod;
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t id = bufs[i].id;

		/* rx_is_callers(), on locals. */
		if (id >= count || state[id] != IVC_RXB_APP ||
		    bufs[i].data != base + (uint64_t)id * size) {
			while (i--)
				state[bufs[i].id] = IVC_RXB_APP;
			return -EINVAL;
		}
		state[id] = IVC_RXB_PEER;
		IVC_STORE(&ret[(prod + i) & rmask], id);
	}
	if (n) {
		rx->ret_prod = prod + n;
		IVC_STORE_REL(&rx->rx_hot->ret_prod, rx->ret_prod);
	}
	return 0;
}

int ivc_lane_rx_release(struct ivc_lane_rx *rx, const struct ivc_buf *bufs,
			unsigned n)
{
	uint32_t rmask = rx->g.ret_slots - 1;
	unsigned i;

	if (rx->g.desc_size == IVC_DESC_SIZE)
		return rx_release_plain(rx, bufs, n);

	uint32_t nids = rx->g.buf_count + rx->g.slots;
	uint32_t nret = 0;

	for (i = 0; i < n; i++) {
		uint32_t id = bufs[i].id;

		if (!rx_is_callers(rx, &bufs[i], nids)) {
			while (i--)
				rx->state[bufs[i].id] = IVC_RXB_APP;
			return -EINVAL;
		}
		rx->state[id] = IVC_RXB_PEER;
	}
	for (i = 0; i < n; i++) {
		uint32_t id = bufs[i].id;

		if (id < rx->g.buf_count)
			IVC_STORE(&rx->ret[(rx->ret_prod + nret++) & rmask], id);
		else
			rx->hold_free[rx->n_hold_free++] = id - rx->g.buf_count;
	}
	if (nret) {
		rx->ret_prod += nret;
		IVC_STORE_REL(&rx->rx_hot->ret_prod, rx->ret_prod);
	}
	return 0;
}

int ivc_lane_rx_need_bell(struct ivc_lane_rx *rx)
{
	uint32_t e;

	IVC_FENCE(); /* our indices before the sender's sleep flag */
	e = IVC_LOAD(&rx->tx_cold->tx_sleep);
	if (!(e & 1) || e == rx->rung_epoch)
		return 0;
	rx->rung_epoch = e;
	return 1;
}

int ivc_lane_rx_ring_ready(const struct ivc_lane_rx *rx)
{
	uint32_t seq = IVC_LOAD_ACQ(&ivc_desc_at(rx->ring, rx->g.desc_size,
						 rx->cons & rx->mask)->seq);

	if (seq == rx->cons)
		return 1;
	return seq == rx->cons - rx->g.slots ? 0 : -EPROTO;
}

/* Whether the descriptor @ahead slots past our index is published. */
static int rx_published(const struct ivc_lane_rx *rx, uint32_t ahead)
{
	uint32_t idx = rx->cons + ahead;

	return IVC_LOAD_ACQ(&ivc_desc_at(rx->ring, rx->g.desc_size,
					 idx & rx->mask)->seq) == idx;
}

uint32_t ivc_lane_rx_ring_count(const struct ivc_lane_rx *rx)
{
	/* Staged descriptors have left the ring: all of it may be refilled. */
	uint32_t lo = 0, hi = rx->g.slots; /* the count is in [lo, hi] */

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (rx_published(rx, mid - 1))
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int ivc_lane_rx_ready(struct ivc_lane_rx *rx)
{
	return rx->st_n ? 1 : ivc_lane_rx_ring_ready(rx);
}

void ivc_lane_rx_sleep(struct ivc_lane_rx *rx, int asleep)
{
	/* Every arming is a new odd epoch, even when re-arming while still
	 * odd: the peer rings once per epoch, so a sleeper that woke without
	 * its condition and sleeps again must be rung again. */
	if (!asleep && !(rx->sleep_epoch & 1))
		return;
	rx->sleep_epoch += (asleep && (rx->sleep_epoch & 1)) ? 2 : 1;
	IVC_STORE(&rx->rx_cold->rx_sleep, rx->sleep_epoch);
	if (asleep)
		IVC_FENCE(); /* the flag before our re-check of the ring */
}

int ivc_lane_rx_peer_closed(const struct ivc_lane_rx *rx)
{
	return IVC_LOAD_ACQ(&rx->tx_cold->closed) != 0;
}

int ivc_lane_rx_peer_cpu(const struct ivc_lane_rx *rx)
{
	uint32_t c = IVC_LOAD(&rx->tx_cold->cpu);

	return (c == 0 || c > 0x7fffffffu) ? -1 : (int)(c - 1);
}
