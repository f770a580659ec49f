/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/stats.h
 * @brief Per-channel counters.
 *
 * Each counter is written by the one thread that owns that side of the
 * endpoint (TX counters by the sender, RX counters by the receiver), so
 * keeping them costs no atomic read-modify-write.  A snapshot taken from
 * another thread is not atomic as a whole.
 */
#ifndef IVC_STATS_H
#define IVC_STATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ivc_channel;

/**
 * struct ivc_stats - counters since the channel was connected.
 * @tx_msgs:           messages sent (a chain counts once).
 * @tx_bytes:          payload bytes sent.
 * @tx_bufs:           buffers (descriptors) sent.
 * @rx_msgs:           messages received.
 * @rx_bytes:          payload bytes received.
 * @rx_bufs:           buffers received.
 * @doorbells:         doorbells this endpoint rang (system calls or
 *                     hypercalls made to wake the peer).
 * @sleeps:            times this endpoint blocked on its doorbell.
 * @spin_hits:         waits that ended while still spinning (no sleep).
 * @yields:            sched_yield() calls made while waiting.
 * @ring_full_stalls:  sends that found the descriptor ring full.
 * @pool_empty_stalls: allocations that found no free buffer.
 * @tx_drains:         sends that then waited until their bytes had left
 *                     the host (tcp, a send with a timeout other than 0:
 *                     a poll() at least; 0 over shm and xen).  With
 *                     IVC_TCP_QUEUED_SENDS only those whose bytes did not
 *                     all fit the socket.  It took a reserved word.
 * @reserved:          zeroed by the library: room for counters to come,
 *                     which a program built against this header never
 *                     reads.
 */
struct ivc_stats {
	uint64_t tx_msgs;
	uint64_t tx_bytes;
	uint64_t tx_bufs;
	uint64_t rx_msgs;
	uint64_t rx_bytes;
	uint64_t rx_bufs;
	uint64_t doorbells;
	uint64_t sleeps;
	uint64_t spin_hits;
	uint64_t yields;
	uint64_t ring_full_stalls;
	uint64_t pool_empty_stalls;
	uint64_t tx_drains;
	uint64_t reserved[19];
};

/**
 * ivc_stats_get() - snapshot the channel's counters.
 * @ch:  the channel.
 * @out: filled in whole (reserved words zeroed).
 *
 * Return: 0, or -EINVAL.
 */
int ivc_stats_get(const struct ivc_channel *ch, struct ivc_stats *out);

#ifdef __cplusplus
}
#endif
#endif
