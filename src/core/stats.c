/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <ivc/stats.h>

#include "core/channel_pvt.h"
#include "util/compiler_pvt.h"

IVC_PUBLIC int ivc_stats_get(const struct ivc_channel *ch, struct ivc_stats *out)
{
	const struct ivc_side_stats *t, *r;

	if (!ch || !out)
		return -EINVAL;
	/* Whole, reserved words included: a counter added there later must
	 * not read as garbage. */
	memset(out, 0, sizeof(*out));
	t = &ch->txs.st;
	r = &ch->rxs.st;
	out->tx_msgs = IVC_LOAD(&ch->tx.cnt_msgs);
	out->tx_bytes = IVC_LOAD(&ch->tx.cnt_bytes);
	out->tx_bufs = IVC_LOAD(&ch->tx.cnt_bufs);
	out->rx_msgs = IVC_LOAD(&ch->rx.cnt_msgs);
	out->rx_bytes = IVC_LOAD(&ch->rx.cnt_bytes);
	out->rx_bufs = IVC_LOAD(&ch->rx.cnt_bufs);
	out->doorbells = IVC_LOAD(&t->doorbells) + IVC_LOAD(&r->doorbells);
	out->sleeps = IVC_LOAD(&t->sleeps) + IVC_LOAD(&r->sleeps);
	out->spin_hits = IVC_LOAD(&t->spin_hits) + IVC_LOAD(&r->spin_hits);
	out->yields = IVC_LOAD(&t->yields) + IVC_LOAD(&r->yields);
	out->ring_full_stalls = IVC_LOAD(&t->ring_full);
	out->pool_empty_stalls = IVC_LOAD(&t->pool_empty);
	out->tx_drains = IVC_LOAD(&t->drains);
	return 0;
}
