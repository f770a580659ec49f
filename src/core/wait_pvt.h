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

/* ivc_channel_wait() with a zero timeout for a caller that has just looked
 * at the lanes for @ev and found nothing (and has nothing to push): only
 * the rate-limited liveness check.  -EAGAIN; or, when that check found the
 * peer gone, what ivc_channel_wait() returns then (a mask: look again, and
 * the look reports the end; or the error). */
int ivc_channel_idle(struct ivc_channel *ch, unsigned ev);

#endif
