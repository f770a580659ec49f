/* SPDX-License-Identifier: MIT */
/*
 * Lanes: the data path of one direction.  The sender's side (ivc_lane_tx)
 * lives with the region's owner; the receiver's side (ivc_lane_rx) with the
 * process that mapped the peer's region.  Neither ever blocks or calls the
 * kernel: waiting and doorbells belong to the channel (wait.c).
 *
 * Everything the other side can write is read once, validated, and only
 * the local copy is used (docs/layout.md).  A violation returns -EPROTO.
 */
#ifndef IVC_LANE_PVT_H
#define IVC_LANE_PVT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ivc/zerocopy.h>

#include "core/lane_layout_pvt.h"

/* Sender's view of a buffer of its own pool. */
enum { IVC_BUF_FREE = 0, IVC_BUF_APP = 1, IVC_BUF_LENT = 2 };
/* Receiver's view of a buffer of the peer's pool. */
enum { IVC_RXB_PEER = 0, IVC_RXB_STAGED = 1, IVC_RXB_APP = 2 };

/* A sender takes back returned buffers at least once per this many bytes
 * sent (lane_tx.c). */
#define IVC_RECLAIM_BYTES (64u << 10)

struct ivc_lane_tx {
	unsigned char *base;
	struct ivc_lane_geom g;
	uint32_t mask;
	uint32_t max_chain;
	unsigned char *ring; /* descriptors of g.desc_size bytes */
	const uint32_t *ret;
	const struct ivc_lane_rx_hot *rx_hot;
	const struct ivc_lane_rx_cold *rx_cold;
	struct ivc_lane_tx_cold *tx_cold;
	unsigned char *bufs;
	uint32_t start;      /* idx_start, as the header says it */
	uint32_t prod;       /* next descriptor index to write */
	uint32_t cons_cache; /* receiver's desc_cons when last read */
	uint32_t ret_cons;   /* next return-ring entry to read */
	uint32_t n_free;
	uint32_t n_lent;
	uint32_t chain;      /* MORE buffers in the open chain */
	uint32_t rung_epoch; /* receiver sleep epoch we last rang for */
	uint32_t sleep_epoch;
	uint32_t *free_stack;
	uint8_t *state;
	uint32_t reclaim_mark; /* cnt_bytes at the last reclaim, mod 2^32 */
	uint32_t in_order;     /* ivc_lane_tx_hand_out_in_order() */
	uint32_t inline_max; /* 0, or IVC_INLINE_MAX on an inline lane */
	uint64_t cnt_msgs, cnt_bytes, cnt_bufs; /* posted (ivc_stats) */
};

/* A descriptor copied out of the ring and validated. */
struct ivc_staged {
	uint32_t buf;
	uint32_t len;
	uint32_t flags;
};

struct ivc_lane_rx {
	unsigned char *base;
	struct ivc_lane_geom g;
	uint32_t mask;
	uint32_t max_chain;
	unsigned char *ring; /* descriptors of g.desc_size bytes */
	uint32_t *ret;
	struct ivc_lane_rx_hot *rx_hot;
	struct ivc_lane_rx_cold *rx_cold;
	const struct ivc_lane_tx_cold *tx_cold;
	unsigned char *bufs;
	uint32_t start;      /* idx_start, as the header said it */
	uint32_t cons;       /* next descriptor index expected */
	uint32_t ret_prod;
	uint32_t chain;      /* MORE buffers fetched in the open chain */
	uint32_t rung_epoch; /* sender sleep epoch we last rang for */
	uint32_t sleep_epoch;
	uint32_t st_head, st_n; /* staged descriptors (a ring of g.slots) */
	struct ivc_staged *stage;
	/* Per id: buffers 0..buf_count-1 of the peer, then our hold slots. */
	uint8_t *state;
	/* On an inline lane, inline payloads are copied here once (g.slots
	 * slots of IVC_DESC_SIZE_INLINE bytes); slot h is id buf_count + h. */
	unsigned char *hold;
	uint32_t *hold_free;
	uint32_t n_hold_free;
	uint64_t cnt_msgs, cnt_bytes, cnt_bufs; /* handed out (ivc_stats) */
};

/* Fill in a handed-out buffer: @len_cap is len | cap << 32 and @id_flags
 * id | flags << 32, stored as two words (four 32-bit stores of values in
 * four registers make compilers pack them into a vector first, which costs
 * more than the stores). */
static inline void ivc_buf_fill(struct ivc_buf *b, void *data, uint64_t len_cap,
				uint64_t id_flags)
{
	_Static_assert(offsetof(struct ivc_buf, cap) == offsetof(struct ivc_buf, len) + 4 &&
			       offsetof(struct ivc_buf, flags) == offsetof(struct ivc_buf, id) + 4,
		       "ivc_buf_fill's pairs");
	b->data = data;
	memcpy(&b->len, &len_cap, sizeof(len_cap));
	memcpy(&b->id, &id_flags, sizeof(id_flags));
}

/* Sender: set up over a region formatted with ivc_lane_format(). */
int ivc_lane_tx_init(struct ivc_lane_tx *tx, void *region,
		     const struct ivc_lane_geom *g, uint32_t idx_start);
void ivc_lane_tx_fini(struct ivc_lane_tx *tx);
/* Hand returned buffers out again in the order they were sent (the
 * first returned on top of the free stack), so that a chain gets the
 * consecutive buffers it had (the lowest first from the start): a tcp
 * channel sends those as one frame.  By default that order holds only for
 * returns taken back after IVC_RECLAIM_BYTES sent; those taken back when
 * the pool runs short (small messages) put the last returned on top,
 * which a small-message shm stream is about 10% faster with. */
void ivc_lane_tx_hand_out_in_order(struct ivc_lane_tx *tx);
/* Up to @n free buffers, reclaiming returned ones when short, once
 * IVC_RECLAIM_BYTES were sent since, and (handing out in order: tcp) once
 * every buffer lent has come back.  Return: the number (0 when none), or
 * -EPROTO (bad return ring). */
int ivc_lane_tx_alloc(struct ivc_lane_tx *tx, struct ivc_buf *bufs, unsigned n);
int ivc_lane_tx_free(struct ivc_lane_tx *tx, const struct ivc_buf *bufs,
		     unsigned n);
/* Free descriptor slots (re-reads the receiver's index when short). */
int ivc_lane_tx_space(struct ivc_lane_tx *tx, uint32_t want);
/* Write up to @n descriptors, as many as fit.  Return: how many (0 if the
 * ring is full), -EINVAL / -EMSGSIZE (nothing written), -EPROTO. */
int ivc_lane_tx_post(struct ivc_lane_tx *tx, const struct ivc_buf *bufs,
		     unsigned n);
/* Descriptors published that the receiver has not consumed: 0..slots, or
 * -EPROTO for a consumer index outside the ring. */
int ivc_lane_tx_in_flight(struct ivc_lane_tx *tx);
/* After posting: whether the receiver sleeps and needs a doorbell (at most
 * one per sleep). */
int ivc_lane_tx_need_bell(struct ivc_lane_tx *tx);
/* Take back what the receiver returned.  Return: how many, or -EPROTO. */
int ivc_lane_tx_reclaim(struct ivc_lane_tx *tx);
void ivc_lane_tx_sleep(struct ivc_lane_tx *tx, int asleep);

/* Receiver: set up over a mapped, checked peer region. */
int ivc_lane_rx_init(struct ivc_lane_rx *rx, void *region,
		     const struct ivc_lane_geom *g, uint32_t idx_start);
void ivc_lane_rx_fini(struct ivc_lane_rx *rx);
/* Copy ready descriptors into the stage until @want are staged (or the
 * ring has no more).  Stopping there matters: probing a slot the sender has
 * not written yet costs a cache miss on a line it is about to take back.
 * Return: staged count, -EPROTO. */
int ivc_lane_rx_fetch(struct ivc_lane_rx *rx, uint32_t want);
/* Cheap probe for a spin loop: nonzero if a receive may succeed. */
static inline int ivc_lane_rx_maybe(const struct ivc_lane_rx *rx)
{
	return rx->st_n ||
	       __atomic_load_n(&ivc_desc_at(rx->ring, rx->g.desc_size,
					     rx->cons & rx->mask)->seq,
			       __ATOMIC_RELAXED) != rx->cons - rx->g.slots;
}
/* Receive up to @n buffers straight from the ring into @bufs (nothing may
 * be staged).  Return: how many (0 if none is ready), -EPROTO. */
int ivc_lane_rx_poll(struct ivc_lane_rx *rx, struct ivc_buf *bufs, unsigned n);
/* Hand out up to @n staged buffers.  Return: how many. */
unsigned ivc_lane_rx_take(struct ivc_lane_rx *rx, struct ivc_buf *bufs,
			  unsigned n);
/* Length of the whole first staged message: >= 0 with *nbufs set, -EAGAIN
 * when its end has not arrived. */
int64_t ivc_lane_rx_msg_len(const struct ivc_lane_rx *rx, uint32_t *nbufs);
int ivc_lane_rx_release(struct ivc_lane_rx *rx, const struct ivc_buf *bufs,
			unsigned n);
/* After consuming or releasing: whether the sender waits for room. */
int ivc_lane_rx_need_bell(struct ivc_lane_rx *rx);
/* Whether a descriptor is staged or ready in the ring: 1, 0, -EPROTO. */
int ivc_lane_rx_ready(struct ivc_lane_rx *rx);
/* Whether a descriptor waits in the ring, beyond what is staged: 1, 0,
 * -EPROTO.  With the peer gone and none there, a chain staged in part can
 * never be completed. */
int ivc_lane_rx_ring_ready(const struct ivc_lane_rx *rx);
/* Descriptors published in the ring beyond what is staged (0..slots), by a
 * binary search over the stamps: an honest sender publishes in order, so
 * the published slots are a prefix; a dishonest one only gets a wrong
 * count, and the receive itself still validates each descriptor. */
uint32_t ivc_lane_rx_ring_count(const struct ivc_lane_rx *rx);
void ivc_lane_rx_sleep(struct ivc_lane_rx *rx, int asleep);
/* The peer set its closed flag (acquire: its last descriptors are visible). */
int ivc_lane_rx_peer_closed(const struct ivc_lane_rx *rx);
/* The CPU the peer said it runs on, or -1. */
int ivc_lane_rx_peer_cpu(const struct ivc_lane_rx *rx);

#endif
