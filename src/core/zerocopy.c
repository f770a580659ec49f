/* SPDX-License-Identifier: MIT */
/* The public zero-copy calls: thin loops of "try the lane, else wait". */
#include <errno.h>

#include <ivc/zerocopy.h>

#include "core/channel_pvt.h"
#include "core/wait_pvt.h"
#include "util/compiler_pvt.h"

/* Once the peer has gone, nothing more can be sent. */
static int tx_gate(struct ivc_channel *ch)
{
	int r = ivc_channel_broken(ch);

	if (r)
		return r;
	if (ch->tx.sleep_epoch & 1)
		ivc_lane_tx_sleep(&ch->tx, 0);
	return ivc_channel_peer_end(ch);
}

IVC_PUBLIC int ivc_tx_alloc(struct ivc_channel *ch, struct ivc_buf *bufs,
			    unsigned n, int timeout_ms)
{
	int r, stalled = 0;

	if (!ch || !bufs || !n)
		return -EINVAL;
	for (;;) {
		r = tx_gate(ch);
		if (r)
			return r;
		r = ivc_lane_tx_alloc(&ch->tx, bufs, n);
		/* tcp: returns may wait in the socket, as they would already
		 * be in the ring over shared memory. */
		if (ch->copied && r >= 0 && (unsigned)r < n && !ivc_channel_pull(ch, 0)) {
			int more = ivc_lane_tx_alloc(&ch->tx, bufs + r, n - (unsigned)r);

			if (more > 0 || !r)
				r += more;
		}
		if (r > 0)
			return r;
		if (r < 0)
			return ivc_channel_break(ch, r);
		if (!stalled++)
			IVC_COUNT(&ch->txs.st.pool_empty, 1);
		r = ivc_channel_wait(ch, IVC_EVI_TXBUF, timeout_ms);
		if (r < 0)
			return r;
	}
}

IVC_PUBLIC int ivc_tx_send(struct ivc_channel *ch, const struct ivc_buf *bufs,
			   unsigned n, int timeout_ms)
{
	int r, stalled = 0;

	if (!ch || !bufs || !n)
		return -EINVAL;
	for (;;) {
		r = tx_gate(ch);
		if (r)
			return r;
		r = ivc_lane_tx_post(&ch->tx, bufs, n);
		if (ch->copied && r >= 0 && (unsigned)r < n && !ivc_channel_pull(ch, 0)) {
			int more = ivc_lane_tx_post(&ch->tx, bufs + r, n - (unsigned)r);

			if (more > 0 || !r)
				r += more;
			else if (more == -EPROTO)
				(void)ivc_channel_break(ch, more);
		}
		if (r > 0)
			break;
		if (r == -EPROTO)
			return ivc_channel_break(ch, r);
		if (r < 0)
			return r; /* the caller's mistake: nothing sent */
		if (!stalled++)
			IVC_COUNT(&ch->txs.st.ring_full, 1);
		r = ivc_channel_wait(ch, IVC_EVI_TXSLOT, timeout_ms);
		if (r < 0)
			return r;
	}
	if (ivc_lane_tx_need_bell(&ch->tx))
		ivc_channel_ring(ch, IVC_BELL_RX, &ch->txs);
	if (ch->copied) {
		/* Done once it has left the host; or, when the caller asked for
		 * that (as a socket's write() is), once the kernel has all of
		 * it: only output still waiting for room (push returns 1) waits. */
		int waiting = ch->xp->ops->push(ch->xp, IVC_PUSH_ALL);

		if (timeout_ms != 0 && (!ch->xp->queued_sends || waiting > 0)) {
			IVC_COUNT(&ch->txs.st.drains, 1);
			ivc_channel_sent(ch, timeout_ms);
		}
	}
	return r;
}

IVC_PUBLIC int ivc_tx_free(struct ivc_channel *ch, const struct ivc_buf *bufs,
			   unsigned n)
{
	if (!ch || !bufs)
		return -EINVAL;
	return ivc_lane_tx_free(&ch->tx, bufs, n);
}

/* Nothing staged: the peer's end (after a last look at the ring) or 0. */
static int rx_end(struct ivc_channel *ch)
{
	int end = ivc_channel_peer_end(ch);
	int r;

	if (!end)
		return 0;
	r = ivc_channel_fetch(ch, 1);
	if (r != 0)
		return r < 0 ? r : 0;
	/* A descriptor still in the ring (the caller holds every inline hold
	 * slot) means the stream has not ended: nothing may be lost. */
	if (ivc_lane_rx_ready(&ch->rx) > 0)
		return 0;
	return ivc_channel_break(ch, end);
}

/* Something is staged (a readiness check, ivc_wait() or the poller looked
 * at the ring and kept what it read): hand that out, then go on straight
 * from the ring.  However the caller learnt that data was there, a burst
 * returns all that is available up to @n, not just the one descriptor the
 * look staged.  A ring error after some buffers were had is sticky and
 * comes with the next call. */
static int rx_take_then_poll(struct ivc_channel *ch, struct ivc_buf *bufs,
			     unsigned n)
{
	unsigned k = ivc_lane_rx_take(&ch->rx, bufs, n);
	int r;

	if (k == n || ch->rx.st_n)
		return (int)k;
	r = ivc_lane_rx_poll(&ch->rx, bufs + k, n - k);
	if (r < 0) {
		(void)ivc_channel_break(ch, r);
		return (int)k;
	}
	if (r > 0 && ivc_lane_rx_need_bell(&ch->rx))
		ivc_channel_ring(ch, IVC_BELL_TX, &ch->rxs);
	if (r > 0)
		ivc_channel_consumed(ch);
	return (int)k + r;
}

/* An empty zero-timeout poll, the run-to-completion loop's common case:
 * the ring, and over tcp the socket (the pull before it), was just looked
 * at, so no second look: over tcp it was a second recv(), and an empty
 * poll cost twice a raw socket's read.  Only what a look that finds
 * nothing does besides, what this end owes a tcp peer going out, and the
 * liveness check, whose finding the next poll reports.  (A sender's
 * zero-timeout calls keep their second look: without it MPI bandwidth
 * over tcp was lower in every comparison made, docs/performance.md.) */
static int rx_poll_missed(struct ivc_channel *ch)
{
	ivc_channel_idle_push(ch, 0);
	return ivc_channel_idle(ch, IVC_EVI_RX);
}

IVC_PUBLIC int ivc_rx_burst(struct ivc_channel *ch, struct ivc_buf *bufs,
			    unsigned n, int timeout_ms)
{
	int r;

	if (!ch || !bufs || !n)
		return -EINVAL;
	if (ch->rx.sleep_epoch & 1)
		ivc_lane_rx_sleep(&ch->rx, 0);
	for (;;) {
		r = ivc_channel_broken(ch);
		if (r)
			return r;
		if (ch->rx.st_n)
			return rx_take_then_poll(ch, bufs, n);
		/* tcp: what came on the socket into the ring first. */
		if (ch->copied)
			(void)ivc_channel_pull(ch, 1u << IVC_BELL_RX);
		/* The common case: straight from the ring, no staging. */
		r = ivc_lane_rx_poll(&ch->rx, bufs, n);
		if (r > 0) {
			if (ivc_lane_rx_need_bell(&ch->rx))
				ivc_channel_ring(ch, IVC_BELL_TX, &ch->rxs);
			ivc_channel_consumed(ch);
			return r;
		}
		if (r < 0)
			return ivc_channel_break(ch, r);
		r = rx_end(ch);
		if (r)
			return r;
		if (ch->rx.st_n)
			continue;
		r = timeout_ms == 0 ? rx_poll_missed(ch) :
				      ivc_channel_wait(ch, IVC_EVI_RX, timeout_ms);
		if (r < 0)
			return r;
	}
}

IVC_PUBLIC int ivc_rx_release(struct ivc_channel *ch, const struct ivc_buf *bufs,
			      unsigned n)
{
	uint32_t before;
	int r;

	if (!ch || !bufs)
		return -EINVAL;
	before = ch->rx.ret_prod;

	r = ivc_lane_rx_release(&ch->rx, bufs, n);
	if (r)
		return r;
	/* Inline messages free no buffer of the sender's: nothing to wake. */
	if (ch->rx.ret_prod == before)
		return 0;
	if (ivc_lane_rx_need_bell(&ch->rx))
		ivc_channel_ring(ch, IVC_BELL_TX, &ch->rxs);
	ivc_channel_consumed(ch);
	return 0;
}
