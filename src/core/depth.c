/* SPDX-License-Identifier: MIT */
/* The public queue-depth calls: read-only looks at the lanes' indices. */
#include <errno.h>

#include <ivc/depth.h>

#include "core/channel_pvt.h"
#include "util/compiler_pvt.h"

/* A count, or the lane's -EPROTO made sticky as the data path does. */
static int depth_result(struct ivc_channel *ch, int r)
{
	return r == -EPROTO ? ivc_channel_break(ch, r) : r;
}

/* A sending side's figure @r: over tcp, when it shows room or buffers
 * still out (@out), a lazy peer is asked for its returns, which the next
 * look sees (a peer that reports at once is never asked). */
static int tx_result(struct ivc_channel *ch, int r, int out)
{
	if (r >= 0 && out)
		ivc_channel_idle_push(ch, 1);
	return depth_result(ch, r);
}

/* Free slots and buffers are answered from what this side already knows
 * while that is at least half the ring (the pool): the receiver's index and
 * its return ring sit on lines the receiver keeps writing, and reading them
 * at every burst cost a forwarder ~5% of its rate (two cache misses per
 * burst of 32).  Below half, the answer is exact. */
IVC_PUBLIC int ivc_tx_slots_free(struct ivc_channel *ch)
{
	int r;

	if (!ch)
		return -EINVAL;
	(void)ivc_channel_pull(ch, 0);
	r = ivc_lane_tx_space(&ch->tx, ch->tx.g.slots / 2);
	return tx_result(ch, r, (uint32_t)r < ch->tx.g.slots / 2);
}

IVC_PUBLIC int ivc_tx_bufs_free(struct ivc_channel *ch)
{
	int r;

	if (!ch)
		return -EINVAL;
	(void)ivc_channel_pull(ch, 0);
	if (ch->tx.n_lent && ch->tx.n_free < ch->tx.g.buf_count / 2) {
		r = ivc_lane_tx_reclaim(&ch->tx);
		if (r < 0)
			return depth_result(ch, r);
	}
	return tx_result(ch, (int)ch->tx.n_free, ch->tx.n_free < ch->tx.g.buf_count / 2);
}

IVC_PUBLIC int ivc_tx_in_flight(struct ivc_channel *ch)
{
	int r;

	if (!ch)
		return -EINVAL;
	(void)ivc_channel_pull(ch, 0);
	r = ivc_lane_tx_in_flight(&ch->tx);
	return tx_result(ch, r, r > 0);
}

IVC_PUBLIC int ivc_rx_waiting(struct ivc_channel *ch)
{
	if (!ch)
		return -EINVAL;
	(void)ivc_channel_pull(ch, 0);
	return (int)ch->rx.st_n + ivc_lane_rx_ring_count(&ch->rx);
}
