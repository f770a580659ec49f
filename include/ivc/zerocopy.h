/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/zerocopy.h
 * @brief The zero-copy data path: buffers written and read in place.
 *
 * TX: ivc_tx_alloc() lends buffers from this endpoint's own lane; the caller
 * writes the payload in place, sets each buffer's len (and IVC_BUF_MORE to
 * chain it with the next), and publishes them with ivc_tx_send().
 *
 * RX: ivc_rx_burst() hands out buffers that point into the PEER's region;
 * the caller reads (or modifies) them in place and gives them back with
 * ivc_rx_release(), in any order and at any later time.
 *
 * Caution: a received buffer lies in memory the peer can write.  A hostile
 * peer can change the payload bytes while you read them (the descriptor -
 * index, length, flags - is copied and validated, the payload cannot be).
 * Read each payload byte once, or copy first (ivc_recv() copies).
 *
 * A burst costs one release fence and at most one doorbell for all of its
 * buffers; no system call is made unless the peer sleeps.
 */
#ifndef IVC_ZEROCOPY_H
#define IVC_ZEROCOPY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ivc_channel;

/** This buffer continues in the next one (a chained message). */
#define IVC_BUF_MORE 0x1u

/**
 * struct ivc_buf - a buffer lent by ivc.
 * @data:  first payload byte: the start of the buffer.  Give the struct
 *         back (ivc_tx_send, ivc_tx_free, ivc_rx_release) with @data and
 *         @id as ivc set them: the pair names one buffer of one channel's
 *         lane, and a buffer whose pair does not match is refused with
 *         -EINVAL (keep your own cursor to parse or write a payload).
 * @len:   payload bytes (TX: set by the caller before sending, <= cap;
 *         RX: as sent by the peer, already checked against cap).
 * @cap:   the buffer's size (the lane's buf_size).
 * @id:    ivc's index of the buffer; do not change it.
 *
 * A buffer belongs to the channel and the call that handed it out: one
 * from ivc_tx_alloc() may be sent or freed once, on that channel; one from
 * ivc_rx_burst() released once, on that channel.  A received buffer cannot
 * be sent on (not even on another channel: forward it by allocating one of
 * your own and copying), and every other misuse - another channel's
 * buffer, one sent, freed or released already - is -EINVAL, with nothing
 * sent, freed or released.  The check costs a compare per buffer.
 * @flags: IVC_BUF_MORE or 0.
 */
struct ivc_buf {
	void *data;
	uint32_t len;
	uint32_t cap;
	uint32_t id;
	uint32_t flags;
};

/**
 * ivc_tx_alloc() - take free buffers from this endpoint's pool.
 * @ch:         the channel.
 * @bufs:       array of at least @n entries, filled in.
 * @n:          buffers wanted (>= 1).
 * @timeout_ms: how long to wait if none is free (buffers come back when the
 *              peer releases them).
 *
 * Return: the number allocated (1..@n; fewer than @n when the pool runs
 * short: no waiting happens once one is had); -EAGAIN; -ETIMEDOUT; -EPIPE /
 * -ECONNRESET (the peer is gone); -EPROTO; -EINVAL.
 */
int ivc_tx_alloc(struct ivc_channel *ch, struct ivc_buf *bufs, unsigned n,
		 int timeout_ms);

/**
 * ivc_tx_send() - publish allocated buffers to the peer, in order.
 * @ch:         the channel.
 * @bufs:       buffers from ivc_tx_alloc() with len and flags set.
 * @n:          how many (>= 1).
 * @timeout_ms: how long to wait for descriptor-ring space.
 *
 * Sends a prefix of @bufs: as many as fit, waiting while none fits.  Buffers
 * not sent stay allocated to the caller (send them later or ivc_tx_free()).
 * A chain (IVC_BUF_MORE) may be split across calls; the peer sees one
 * message.  A chain longer than min(slots, buf_count) buffers is refused.
 *
 * Return: the number sent (1..@n); -EAGAIN; -ETIMEDOUT; -EPIPE (peer closed);
 * -ECONNRESET; -EPROTO; -EINVAL (a buffer not allocated to the caller by
 * this channel, or already sent or freed, or with @data changed; len > cap;
 * unknown flags: nothing is sent); -EMSGSIZE (chain too long).
 */
int ivc_tx_send(struct ivc_channel *ch, const struct ivc_buf *bufs, unsigned n,
		int timeout_ms);

/**
 * ivc_tx_free() - return allocated, unsent buffers to the pool.
 * @ch:   the channel.
 * @bufs: buffers from ivc_tx_alloc().
 * @n:    how many.
 *
 * Return: 0; -EINVAL if one is not currently allocated to the caller by
 * this channel (none is freed then).
 */
int ivc_tx_free(struct ivc_channel *ch, const struct ivc_buf *bufs, unsigned n);

/**
 * ivc_rx_burst() - receive up to @n buffers.
 * @ch:         the channel.
 * @bufs:       array of at least @n entries, filled in.
 * @n:          at most this many (>= 1).
 * @timeout_ms: how long to wait while nothing is there.
 *
 * Buffers come in the order sent; a buffer with IVC_BUF_MORE continues in
 * the next.  The burst holds all that is there up to @n, also right after
 * a readiness check (ivc_ready, ivc_wait, ivc_arm, the poller) looked at
 * the ring.  Once the peer has gone, what it had published is still handed
 * out; the error comes after.
 *
 * Return: the number received (1..@n); -EAGAIN; -ETIMEDOUT; -EPIPE (peer
 * closed, all drained); -ECONNRESET (peer died, all drained); -EPROTO (the
 * peer wrote an invalid index or descriptor; nothing invalid is handed out);
 * -EINVAL.
 */
int ivc_rx_burst(struct ivc_channel *ch, struct ivc_buf *bufs, unsigned n,
		 int timeout_ms);

/**
 * ivc_rx_release() - give received buffers back to the peer, in any order.
 * @ch:   the channel.
 * @bufs: buffers from ivc_rx_burst() of this channel (@id and @data are
 *        read).
 * @n:    how many.
 *
 * Return: 0; -EINVAL if one is not currently held by the caller from this
 * channel (released twice, another channel's, one for sending, @data
 * changed: none is released then).  Releasing after the peer has
 * gone succeeds and only drops the buffers.
 */
int ivc_rx_release(struct ivc_channel *ch, const struct ivc_buf *bufs,
		   unsigned n);

#ifdef __cplusplus
}
#endif
#endif
