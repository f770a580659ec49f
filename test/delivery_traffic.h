/* SPDX-License-Identifier: MIT */
/*
 * delivery_traffic.h - the conformance suite's delivery stream, both ends
 * (test helper).  test_delivery.c runs it between two processes of one
 * test, test/xen/xdom.c's `deliver` between two domains; each only sets up
 * the channel (and its own prints) and calls these.
 *
 * Message i of a stream is t_msg_len(seed, i, max_msg) bytes of
 * t_msg_fill() (check.h): pseudo-random sizes from 1 byte to max_msg, so
 * with the default geometry about 5% are chains of 2..32 buffers.  The
 * sender sends them zero-copy (bursts of ivc_tx_alloc/ivc_tx_send) or
 * copying (ivc_send).  The receiver checks every message byte for byte (no
 * loss, duplicate, reordering or corruption): zero-copy with ivc_rx_burst,
 * reassembling chains and releasing each burst in order, every 8th one by
 * one in reverse; copying with ivc_recv, asking first with a buffer one
 * byte too small every 1009 messages (-EMSGSIZE, the message stays).  Then
 * the sender closes in order and the receiver must get -EPIPE; both check
 * their counters.  Both ends must be given the same configuration.
 *
 * Every check is a CHECK*() of check.h: a failure is recorded and the run
 * goes on (or stops early, with fewer messages than asked for).
 */
#ifndef IVC_TEST_DELIVERY_TRAFFIC_H
#define IVC_TEST_DELIVERY_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

#include <ivc/ivc.h>

/* The seed of the suite's stream, unless IVC_TEST_SEED says otherwise. */
#define DELIVERY_SEED 0x1dc0ffeeull

struct delivery_cfg {
	uint64_t n;          /* messages in the stream */
	uint64_t seed;       /* t_msg_*()'s stream */
	int zc;              /* 1: zero-copy calls; 0: ivc_send/ivc_recv */
	int inl;             /* IVC_OPT_INLINE at both ends */
	enum ivc_mode mode;  /* how both ends wait */
	int call_ms;         /* the timeout of every call that may wait */
	uint64_t max_gap_ns; /* the liveness bound (see delivery_send()) */
	uint32_t slots;      /* the lanes' geometry, the same both ways */
	uint32_t buf_size;
	uint32_t buf_count;
	size_t max_msg;      /* the longest message */
	unsigned burst;      /* buffers per ivc_tx_send/ivc_rx_burst, at most */
	const char *tag;     /* put before the "sender:"/"receiver:" lines */
};

/*
 * delivery_cfg_init() - the suite's stream: lanes of 256 slots x 1 KiB
 * buffers x 512, messages of up to 32 KiB, bursts of 64, calls bounded by
 * 20 s, a 5 s liveness bound, seed DELIVERY_SEED, no tag; mode block,
 * copying, not inline and no messages: the caller sets what it was told.
 */
void delivery_cfg_init(struct delivery_cfg *c);

/* delivery_options() - @c's lane options (geometry, mode, inline) for
 * ivc_listen/ivc_connect; the rest are ivc_options_init()'s defaults. */
void delivery_options(const struct delivery_cfg *c, struct ivc_options *o);

/*
 * delivery_send() - send the stream on @ch, a connected channel.  Liveness:
 * no loop iteration (one call that may wait, plus making one message) may
 * take c->max_gap_ns while the peer streams; one that does was woken late
 * (a lost wake-up rescued by its own timeout).  CHECKs that all were sent.
 * @bytes: the bytes of the messages tried, added to *bytes.
 * Return: how many messages were sent (c->n unless a call failed).
 */
uint64_t delivery_send(const struct delivery_cfg *c, struct ivc_channel *ch,
		       uint64_t *bytes);

/*
 * delivery_send_after() - the sender's checks after its last message,
 * before its orderly close: unsent zero-copy buffers go back with
 * ivc_tx_free() (twice is -EINVAL), and the counters say @bytes in c->n
 * messages (and no sleep in mode poll).  Prints them on one line
 * "<tag>sender: ...".
 */
void delivery_send_after(const struct delivery_cfg *c, struct ivc_channel *ch,
			 uint64_t bytes);

/*
 * delivery_recv() - receive and check the stream on @ch, a connected
 * channel, with delivery_send()'s liveness bound.  CHECKs that all came.
 * @bytes: the bytes of the messages received, added to *bytes.
 * Return: how many messages were received (c->n unless one was wrong or a
 * call failed).
 */
uint64_t delivery_recv(const struct delivery_cfg *c, struct ivc_channel *ch,
		       uint64_t *bytes);

/*
 * delivery_recv_after() - the receiver's checks after delivery_recv() said
 * @got messages of @bytes: when all came, the sender's orderly close is
 * next (-EPIPE, waiting and not, and nothing more: an extra message would
 * be a duplicate); the counters agree (and no sleep in mode poll).  Prints
 * them on one line "<tag>receiver: ...".
 */
void delivery_recv_after(const struct delivery_cfg *c, struct ivc_channel *ch,
			 uint64_t got, uint64_t bytes);

#endif
