/* SPDX-License-Identifier: MIT */
/* Waiting on a channel (wait.c): spin, yield, arm, re-check, block, by the
 * channel's mode and backoff (docs/design.md). */
#ifndef IVC_WAIT_PVT_H
#define IVC_WAIT_PVT_H

struct ivc_channel;

/* Wait until one of @ev (IVC_EVI_*) holds, at most @timeout_ms (< 0: for
 * ever).  Return the mask that holds, or -errno (-ETIMEDOUT, -EAGAIN for a
 * zero timeout, the channel's sticky error). */
int ivc_channel_wait(struct ivc_channel *ch, unsigned ev, int timeout_ms);

#endif
