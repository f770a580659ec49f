/* SPDX-License-Identifier: MIT */
/* The public queue-depth calls: read-only looks at the lanes' indices. */
#include <errno.h>

#include <ivc/depth.h>

#include "channel.h"
#include "compiler.h"

/* A count, or the lane's -EPROTO made sticky as the data path does. */
static int depth_result(struct ivc_channel *ch, int r)
{
	return r == -EPROTO ? ivc_channel_break(ch, r) : r;
}

IVC_PUBLIC int ivc_tx_slots_free(struct ivc_channel *ch)
{
	if (!ch)
		return -EINVAL;
	return depth_result(ch, ivc_lane_tx_space(&ch->tx, ch->tx.g.slots));
}

IVC_PUBLIC int ivc_tx_bufs_free(struct ivc_channel *ch)
{
	int r;

	if (!ch)
		return -EINVAL;
	if (ch->tx.n_lent) {
		r = ivc_lane_tx_reclaim(&ch->tx);
		if (r < 0)
			return depth_result(ch, r);
	}
	return (int)ch->tx.n_free;
}

IVC_PUBLIC int ivc_tx_in_flight(struct ivc_channel *ch)
{
	if (!ch)
		return -EINVAL;
	return depth_result(ch, ivc_lane_tx_in_flight(&ch->tx));
}

IVC_PUBLIC int ivc_rx_waiting(struct ivc_channel *ch)
{
	if (!ch)
		return -EINVAL;
	return (int)ch->rx.st_n + ivc_lane_rx_ring_count(&ch->rx);
}
