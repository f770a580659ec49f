/* SPDX-License-Identifier: MIT */
/* The channel object: two lanes, a transport, waits, counters. */
#ifndef IVC_CHANNEL_PVT_H
#define IVC_CHANNEL_PVT_H

#include <stdalign.h>
#include <stdint.h>

#include <ivc/channel.h>
#include <ivc/stats.h>

#include "core/backoff_pvt.h"
#include "core/lane_pvt.h"
#include "core/xport_pvt.h"

/* Internal readiness conditions (the public IVC_EV_RX / IVC_EV_TX are 1, 2). */
#define IVC_EVI_RX 0x1u      /* something to receive (staged or in ring) */
#define IVC_EVI_TX 0x2u      /* a free buffer and a free slot */
#define IVC_EVI_TXBUF 0x4u   /* a free buffer */
#define IVC_EVI_TXSLOT 0x8u  /* a free descriptor slot */
#define IVC_EVI_RXMORE 0x10u /* a new descriptor in the ring (beyond stage) */

/* Counters kept by one thread (TX side or RX side). */
struct ivc_side_stats {
	uint64_t doorbells, sleeps, spin_hits, yields, ring_full, pool_empty;
	uint64_t drains; /* sends that waited for their bytes to leave (tcp) */
};

/* Per-side state, each on its own cache lines: the sending thread and the
 * receiving thread never write the same line. */
struct ivc_chan_side {
	alignas(64) struct ivc_backoff bo;
	struct ivc_side_stats st;
	uint64_t next_check_ns; /* next peer liveness check while polling */
	int sleep_ep; /* this side's doorbell (edge-triggered) + hang-up */
};

/* Whoever serves a channel (a poller) and wants to hear of its close,
 * through a hook it gave: the channel never calls up into the poller. */
struct ivc_chan_watch {
	void (*closing)(void *ctx, struct ivc_channel *ch);
	void *ctx;
};

struct ivc_channel {
	alignas(64) struct ivc_lane_tx tx;
	struct ivc_chan_side txs;
	alignas(64) struct ivc_lane_rx rx;
	struct ivc_chan_side rxs;
	alignas(64) struct ivc_xport *xp;
	int mode;
	int copied;     /* the transport copies the lanes (push/pull ops) */
	int err;        /* sticky error (atomic access) */
	int peer_state; /* the peer's end once seen, for good: 0, -EPIPE,
			 * -ECONNRESET, -EPROTO (atomic access) */
	int epfd;       /* ivc_fd() */
	int ep_tx;      /* the TX doorbell is live in epfd (armed for TX) */
	uint32_t tx_room; /* IVC_EVI_TXSLOT holds with this many free slots
			   * (0: one); ivc_send() waits for a whole chain */
	struct ivc_chan_watch watch; /* who serves it (a poller), if anyone */
};

/* Make a channel over a connected transport whose two lanes are formatted
 * (ours) and checked (the peer's).  Takes @xp on success. */
int ivc_channel_create(struct ivc_xport *xp, const struct ivc_lane_geom *txg,
		       uint32_t tx_start, const struct ivc_lane_geom *rxg,
		       uint32_t rx_start, int mode, uint32_t spin_max_ns,
		       struct ivc_channel **out);

/* Free @ch without a word to the peer (no closed flag, no doorbell): for
 * a copy of a channel that a fork() left in a process that does not own
 * it.  (ivc_close() is the orderly close.) */
void ivc_channel_discard(struct ivc_channel *ch);

/* Mark the channel broken with @err (first error wins) and return it. */
int ivc_channel_break(struct ivc_channel *ch, int err);
/* The sticky error the channel broke with, or 0 (what the public
 * ivc_channel_error() returns). */
int ivc_channel_broken(const struct ivc_channel *ch);

/* Slow-path check that neither lane's header changed since connect (a
 * hostile peer's tell; the data path never reads the headers).  Breaks the
 * channel: return 0, or -EPROTO (or an earlier sticky error). */
int ivc_channel_audit(struct ivc_channel *ch);

/* How the peer ended, as far as is known without asking the transport
 * (its closed flag, or an end seen before): -EPIPE (closed in order),
 * -ECONNRESET, -EPROTO, or 0; once seen, the same for good.  A load or
 * two: for the data path. */
int ivc_channel_peer_end(struct ivc_channel *ch);
/* The same, after asking the transport whether the peer is still there
 * (a system call, and a look at the headers): for waits, rate-limited. */
int ivc_channel_check_peer(struct ivc_channel *ch);

/* Over a transport that copies the lanes (tcp): send what changed
 * at once, and read and apply what came (waking the other side's
 * sleeper, not @self's: 1 << IVC_BELL_*).  The pull makes a stream's end
 * the peer's end, and junk sticky -EPROTO; it returns that error, 0, or
 * 1 when another thread was reading (nothing read: that one applies what
 * comes and wakes whoever declared itself asleep).  Both do nothing over
 * shm and xen. */
static inline void ivc_channel_published(struct ivc_channel *ch)
{
	if (__builtin_expect(ch->copied, 0))
		(void)ch->xp->ops->push(ch->xp, IVC_PUSH_ALL);
}
/* The same after this side only consumed (read slots, released buffers):
 * a lazy tcp end may tell the peer later (IVC_TCP_LAZY_RETURNS). */
static inline void ivc_channel_consumed(struct ivc_channel *ch)
{
	if (__builtin_expect(ch->copied, 0))
		(void)ch->xp->ops->push(ch->xp, IVC_PUSH_RETURNS);
}
/* The same when a look found nothing (the caller may wait next), @tx if
 * it wants room or buffers: a lazy tcp end keeps its returns back from a
 * peer that asks for them, and asks a lazy peer for its own. */
static inline void ivc_channel_idle_push(struct ivc_channel *ch, int tx)
{
	if (__builtin_expect(ch->copied, 0))
		(void)ch->xp->ops->push(ch->xp, tx ? IVC_PUSH_IDLE_TX : IVC_PUSH_IDLE);
}
int ivc_channel_pull(struct ivc_channel *ch, unsigned self);
/* A wait for ever of one side (@bell: IVC_BELL_RX or IVC_BELL_TX), over
 * tcp: block in the socket itself until something comes, unless
 * ivc_channel_look(@ev), made with the input held, finds something to do
 * (1).  -EAGAIN: not now, or not this transport (sleep on the set
 * instead).  Otherwise as ivc_channel_pull(). */
int ivc_channel_pull_wait(struct ivc_channel *ch, unsigned ev, unsigned bell);
/* After a send: wait until what was pushed has left this host, within
 * @timeout_ms (0: not at all), so that a message reported sent survives
 * the sender's death as it does in shared memory. */
void ivc_channel_sent(struct ivc_channel *ch, int timeout_ms);

/* Ring the peer's @bell, counting it on the @side doing it. */
void ivc_channel_ring(struct ivc_channel *ch, enum ivc_bell bell,
		      struct ivc_chan_side *side);

/* After consuming descriptors from index @before on: wake a sender that
 * sleeps waiting for ring room (one fence, one check).  Over tcp the
 * caller also pushes (ivc_channel_published()): ivc_recv() does it once,
 * with its release. */
void ivc_channel_rx_moved(struct ivc_channel *ch, uint32_t before);

/* Stage what the ring holds, up to @want staged, waking a sender that
 * waits for room.  Return: staged count, or the (sticky) -EPROTO. */
int ivc_channel_fetch(struct ivc_channel *ch, uint32_t want);

/* Which of @ev (IVC_EVI_*) hold now; negative on a broken channel.  Not a
 * pure look: to answer, it stages the next descriptor (and rings a sender
 * waiting for room), takes back returned buffers, and breaks the channel
 * on a violation it finds. */
int ivc_channel_probe(struct ivc_channel *ch, unsigned ev);
/* The same without reading the socket first (tcp): for the look made just
 * before blocking in a sleep set, which watches the socket level-triggered
 * and so returns at once if anything waits there.  Over shared memory the
 * two are the same. */
int ivc_channel_look(struct ivc_channel *ch, unsigned ev);

/* Publish the CPU we run on in our lane, for the peer's backoff. */
void ivc_channel_note_cpu(struct ivc_channel *ch);

/* The same-CPU rule (docs/design.md): whether the peer's published CPU is
 * the one we run on now (only where the transport's CPU numbers are
 * comparable).  Then a wait yields instead of spinning: spinning would
 * only delay the peer it waits for.  ivc_channel_wait() and the poller
 * both ask this. */
int ivc_channel_shares_cpu(struct ivc_channel *ch);

#endif
