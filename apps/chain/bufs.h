/* SPDX-License-Identifier: MIT */
/*
 * bufs.h - the zero-copy helpers every stage shares: receiving whole
 * packets (a burst may end in the middle of a chain), packets' extents
 * in a burst, sending everything, taking buffers from the pool.
 */
#ifndef IVC_CHAIN_BUFS_H
#define IVC_CHAIN_BUFS_H

#include <stdint.h>

#include <ivc/ivc.h>

/* Buffers a packet of @len bytes takes in buffers of @cap bytes. */
static inline unsigned bufs_per_pkt(uint32_t len, uint32_t cap)
{
	return len ? (unsigned)((len + cap - 1) / cap) : 1u;
}

/*
 * rx_whole() - receive a burst of up to @burst buffers (waiting at most
 * @timeout_ms for the first) and, if it ends inside a chain, wait for the
 * rest of that packet, so that @bufs holds whole packets only.
 * @cap: entries at @bufs (>= @burst + the longest chain).
 * Return: the number of buffers (>= 1); or the channel's error (-EAGAIN,
 * -EPIPE, -ECONNRESET, ...) with nothing held: a chain cut by the peer's
 * end is released and dropped (it was never whole), after the whole
 * packets before it were handed out.  -EMSGSIZE: a chain
 * longer than @cap allows (released).
 */
int rx_whole(struct ivc_channel *ch, struct ivc_buf *bufs, unsigned burst,
	     unsigned cap, int timeout_ms);

/* The index one past the packet that starts at @i (< @n). */
static inline unsigned pkt_end(const struct ivc_buf *bufs, unsigned i,
			       unsigned n)
{
	while (i < n - 1 && (bufs[i].flags & IVC_BUF_MORE))
		i++;
	return i + 1;
}

/*
 * tx_send_all() - send @n allocated buffers, waiting as the channel's mode
 * says while the ring is full (that wait is the back-pressure).
 * Return: @n; or a negative error, with *@sent (if not NULL) buffers sent.
 */
int tx_send_all(struct ivc_channel *ch, const struct ivc_buf *bufs, unsigned n,
		unsigned *sent);

#endif
