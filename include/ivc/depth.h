/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/depth.h
 * @brief Queue depths: how much room, how much in flight, how much waiting.
 *
 * A pipeline stage needs these to stay ahead of trouble: a forwarder
 * receives only as many messages as it can forward (so it never holds what
 * it cannot send), a sender sees how far its peer lags, and after a peer
 * has died the survivor learns how many of its messages never reached it.
 *
 * Each call is cheap (no system call; at most a few cache-line reads of
 * the shared ring) and belongs to one side of the channel, like the data
 * calls: the ivc_tx_* ones to the thread that sends, ivc_rx_waiting() to
 * the thread that receives.  Counts are in buffers (descriptors): a chained
 * message counts once per buffer, any other message once.  They stay
 * available after the peer has gone; a peer that wrote an impossible index
 * gets -EPROTO, as on the data path.
 */
#ifndef IVC_DEPTH_H
#define IVC_DEPTH_H

#ifdef __cplusplus
extern "C" {
#endif

struct ivc_channel;

/**
 * ivc_tx_slots_free() - free descriptor slots in this endpoint's send ring.
 * @ch: the channel.
 *
 * A send of up to this many buffers finds room without waiting.  The
 * count is exact when it is below half the ring; otherwise it is at least
 * half the ring and may be fewer than are free (the receiver's index is
 * read again only when what this side knows shows less than half free:
 * asking at every burst then costs nothing).
 *
 * Return: 0..slots; -EPROTO; -EINVAL.
 */
int ivc_tx_slots_free(struct ivc_channel *ch);

/**
 * ivc_tx_bufs_free() - free buffers in this endpoint's pool.
 * @ch: the channel.
 *
 * An allocation of up to this many succeeds without waiting.  As with
 * ivc_tx_slots_free(), exact below half the pool (the buffers the peer has
 * released are taken back first), otherwise at least half the pool.
 *
 * Return: 0..buf_count; -EPROTO; -EINVAL.
 */
int ivc_tx_bufs_free(struct ivc_channel *ch);

/**
 * ivc_tx_in_flight() - buffers sent that the peer has not taken yet.
 * @ch: the channel.
 *
 * What sits in the send ring, published but not yet received by the peer.
 * Once the peer has died (-ECONNRESET), these are the messages it never
 * received: lost with it.  (Buffers it had received but not yet released
 * are not counted: whether it acted on them is the application's to know.)
 * Over tcp the count is what the peer reported: one with
 * IVC_TCP_LAZY_RETURNS (<ivc/tcp.h>) reports late, so the count stays
 * higher meanwhile, and after its death may include messages it had
 * received.  A count above 0 asks such a peer to report (as a short
 * ivc_tx_slots_free() or ivc_tx_bufs_free() does): a later call sees its
 * answer, once the peer has made a call.
 *
 * Return: 0..slots; -EPROTO; -EINVAL.
 */
int ivc_tx_in_flight(struct ivc_channel *ch);

/**
 * ivc_rx_waiting() - buffers waiting for this endpoint to receive.
 * @ch: the channel.
 *
 * The buffers a receive would hand out now, without waiting: a burst of
 * this many returns them all.
 *
 * Return: 0..slots; -EPROTO; -EINVAL.
 */
int ivc_rx_waiting(struct ivc_channel *ch);

#ifdef __cplusplus
}
#endif
#endif
