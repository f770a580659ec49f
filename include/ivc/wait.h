/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/wait.h
 * @brief Waiting: blocking waits with a timeout, and a pollable descriptor.
 *
 * Waiting follows the channel's mode (enum ivc_mode).  In the adaptive mode
 * an endpoint spins with a pause instruction for a budget that follows how
 * long messages recently took to arrive, then yields, then declares itself
 * asleep in shared memory (with a full fence), re-checks, and blocks on its
 * doorbell.  A peer rings a doorbell only for an endpoint that declared
 * itself asleep, so a busy pipeline makes no system calls.  When both ends
 * run on the same CPU the spin is skipped: it would only steal the peer's
 * time slice.
 *
 * Threads: waiting for IVC_EV_RX belongs to the thread that receives on the
 * channel, for IVC_EV_TX to the one that sends; waiting for both, and
 * ivc_arm(), to a thread that does both (one at a time on a channel).
 * ivc_fd() may be called from any thread.
 */
#ifndef IVC_WAIT_H
#define IVC_WAIT_H

#ifdef __cplusplus
extern "C" {
#endif

struct ivc_channel;

/** A message (or the peer's closing) can be received. */
#define IVC_EV_RX 0x1u
/** A buffer can be allocated and a descriptor slot is free. */
#define IVC_EV_TX 0x2u

/**
 * ivc_ready() - which of @events are ready now, without waiting.
 * @ch:     the channel.
 * @events: IVC_EV_RX and/or IVC_EV_TX.
 *
 * Return: the ready subset (0 if none); a channel whose peer has gone reports
 * IVC_EV_RX ready (the next receive returns the data or the error);
 * -EPIPE or -ECONNRESET for IVC_EV_TX alone once the peer has gone; the
 * channel's error (-EPROTO, ...) if it is broken; -EINVAL.
 */
int ivc_ready(struct ivc_channel *ch, unsigned events);

/**
 * ivc_wait() - wait until one of @events is ready.
 * @ch:         the channel.
 * @events:     IVC_EV_RX and/or IVC_EV_TX.
 * @timeout_ms: see ivc/channel.h.
 *
 * Return: the ready subset (> 0); -EAGAIN; -ETIMEDOUT; -EPIPE or -ECONNRESET
 * when waiting for IVC_EV_TX only and the peer has gone; the channel's error
 * (-EPROTO, ...) if it is broken; -EINVAL; -ENOMEM or -ENOSPC from
 * epoll_ctl(2) if the first sleep cannot watch the peer's hang-up.
 */
int ivc_wait(struct ivc_channel *ch, unsigned events, int timeout_ms);

/**
 * ivc_fd() - a descriptor for epoll/poll/select loops.
 * @ch: the channel.
 *
 * It polls readable when a doorbell rang for this endpoint or the peer's
 * state changed (hang-up).  Doorbells ring only for an armed endpoint, so
 * the loop is: ivc_arm(); if it returns 0, sleep in epoll; on wake-up, do
 * the work (receiving disarms the endpoint, so a busy peer stops ringing:
 * arm again before the next sleep).
 * The descriptor is owned by the channel.  The first call (or ivc_arm(),
 * or adding the channel to a poller) puts the peer's hang-up in it, over
 * tcp the socket itself, which is watched by no set before one is used.
 *
 * Return: the descriptor, or -EINVAL; -ENOMEM or -ENOSPC from epoll_ctl(2)
 * if the hang-up cannot join it.
 */
int ivc_fd(const struct ivc_channel *ch);

/**
 * ivc_arm() - declare this endpoint asleep for @events before blocking on
 * ivc_fd(); clears stale wake-ups.
 * @ch:     the channel.
 * @events: IVC_EV_RX and/or IVC_EV_TX.
 *
 * Return: 0 when armed (safe to block on ivc_fd()); else the subset of
 * @events already ready (> 0: do not block; the endpoint stays armed,
 * which costs at most a spurious doorbell); -EPIPE or -ECONNRESET for
 * IVC_EV_TX alone once the peer has gone; the channel's error (-EPROTO, ...)
 * if it is broken; -EINVAL; -ENOMEM or -ENOSPC, as for ivc_fd().
 */
int ivc_arm(struct ivc_channel *ch, unsigned events);

#ifdef __cplusplus
}
#endif
#endif
