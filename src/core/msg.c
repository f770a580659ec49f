/* SPDX-License-Identifier: MIT */
/*
 * Copying send and receive of whole messages.  All or nothing: a message
 * is published only once every buffer and slot it needs is had, and is
 * consumed only once all of it has arrived, so a timeout never tears one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ivc/msg.h>
#include <ivc/zerocopy.h>

#include "core/channel_pvt.h"
#include "core/wait_pvt.h"
#include "util/clock_pvt.h"
#include "util/compiler_pvt.h"

#define IVC_STACK_BUFS 16

/* Remaining milliseconds of a public timeout, for a wait inside a loop. */
static int ms_left(int timeout_ms, uint64_t deadline)
{
	return timeout_ms <= 0 ? timeout_ms : ivc_ms_left(deadline);
}

/* Wait for @ev within what is left of @timeout_ms.  A wait that comes
 * round again after the deadline asks with 0 ms left, which answers
 * -EAGAIN: the caller gave a timeout, so it is told -ETIMEDOUT. */
static int msg_wait(struct ivc_channel *ch, unsigned ev, int timeout_ms,
		    uint64_t deadline)
{
	int r = ivc_channel_wait(ch, ev, ms_left(timeout_ms, deadline));

	return r == -EAGAIN && timeout_ms > 0 ? -ETIMEDOUT : r;
}

/* Get @k buffers, waiting as needed.  On failure none is kept. */
static int send_alloc(struct ivc_channel *ch, struct ivc_buf *b, uint32_t k,
		      int timeout_ms, uint64_t deadline)
{
	uint32_t got = 0;

	while (got < k) {
		int r = ivc_tx_alloc(ch, b + got, k - got,
				     ms_left(timeout_ms, deadline));

		if (r == -EAGAIN && timeout_ms > 0)
			r = -ETIMEDOUT; /* (as in msg_wait) */
		if (r < 0) {
			if (got)
				(void)ivc_tx_free(ch, b, got);
			return r;
		}
		got += (uint32_t)r;
	}
	return 0;
}

static void send_fill(struct ivc_buf *b, uint32_t k, const void *data,
		      size_t len)
{
	const unsigned char *p = data;
	uint32_t i;

	for (i = 0; i < k; i++) {
		size_t part = len < b[i].cap ? len : b[i].cap;

		if (part)
			memcpy(b[i].data, p, part);
		b[i].len = (uint32_t)part;
		b[i].flags = i + 1 < k ? IVC_BUF_MORE : 0;
		p += part;
		len -= part;
	}
}

IVC_PUBLIC int ivc_send(struct ivc_channel *ch, const void *data, size_t len,
			int timeout_ms)
{
	struct ivc_buf stack[IVC_STACK_BUFS], *b = stack;
	uint64_t deadline = ivc_deadline(timeout_ms);
	uint32_t k, sent = 0;
	int r;

	if (!ch || (!data && len))
		return -EINVAL;
	if (len > (size_t)ch->tx.max_chain * ch->tx.g.buf_size)
		return -EMSGSIZE;
	k = len ? (uint32_t)((len + ch->tx.g.buf_size - 1) / ch->tx.g.buf_size) : 1;
	if (k > IVC_STACK_BUFS && !(b = malloc(sizeof(*b) * k)))
		return -ENOMEM;
	r = send_alloc(ch, b, k, timeout_ms, deadline);
	if (r)
		goto out;
	/* Room for the whole chain first, so it goes out in one piece.  The
	 * wait must hold only once k slots are free: with "a slot is free" a
	 * ring with 1..k-1 free slots makes it return at once, a busy loop
	 * that never sleeps, never times out, and starves a receiver that
	 * shares our CPU. */
	ch->tx_room = k;
	while ((r = ivc_lane_tx_space(&ch->tx, k)) >= 0 && (uint32_t)r < k) {
		r = msg_wait(ch, IVC_EVI_TXSLOT, timeout_ms, deadline);
		if (r < 0)
			break;
	}
	ch->tx_room = 0;
	if (r < 0) {
		if (r == -EPROTO)
			ivc_channel_break(ch, r);
		(void)ivc_tx_free(ch, b, k);
		goto out;
	}
	send_fill(b, k, data, len);
	while (sent < k && r >= 0) {
		r = ivc_tx_send(ch, b + sent, k - sent, ms_left(timeout_ms, deadline));
		if (r > 0)
			sent += (uint32_t)r;
	}
	r = r < 0 ? r : 0;
out:
	if (b != stack)
		free(b);
	return r;
}

/* Copy the first staged message (@nb buffers) out and release it. */
static ssize_t recv_copy(struct ivc_channel *ch, void *data, uint32_t nb)
{
	struct ivc_buf stack[IVC_STACK_BUFS], *b = stack;
	unsigned char *p = data;
	uint32_t i;

	if (nb > IVC_STACK_BUFS && !(b = malloc(sizeof(*b) * nb)))
		return -ENOMEM;
	ivc_lane_rx_take(&ch->rx, b, nb);
	for (i = 0; i < nb; i++) {
		if (b[i].len)
			memcpy(p, b[i].data, b[i].len);
		p += b[i].len;
	}
	(void)ivc_rx_release(ch, b, nb);
	if (b != stack)
		free(b);
	return p - (unsigned char *)data;
}

/* Stage descriptors one at a time until the first message is whole (never
 * probing past its end).  Return: its length, -EAGAIN, or -EPROTO. */
static int64_t recv_stage(struct ivc_channel *ch, uint32_t *nb)
{
	uint32_t cons0 = ch->rx.cons;
	int64_t len;

	for (;;) {
		uint32_t staged = ch->rx.st_n;
		int r;

		len = ivc_lane_rx_msg_len(&ch->rx, nb);
		if (len >= 0)
			break;
		r = ivc_lane_rx_fetch(&ch->rx, staged + 1);
		if (r < 0) {
			len = ivc_channel_break(ch, r);
			break;
		}
		if (ch->rx.st_n == staged) {
			len = -EAGAIN;
			break;
		}
	}
	/* One room check for the whole message, not one per buffer. */
	ivc_channel_rx_moved(ch, cons0);
	return len;
}

IVC_PUBLIC ssize_t ivc_recv(struct ivc_channel *ch, void *data, size_t cap,
			    int timeout_ms)
{
	uint64_t deadline = ivc_deadline(timeout_ms);
	uint32_t nb = 0;
	int64_t len;
	int r;

	if (!ch || (!data && cap))
		return -EINVAL;
	if (ch->rx.sleep_epoch & 1)
		ivc_lane_rx_sleep(&ch->rx, 0);
	for (;;) {
		r = ivc_channel_broken(ch);
		if (r)
			return r;
		len = recv_stage(ch, &nb);
		if (len != -EAGAIN)
			break;
		/* Nothing, or a chain whose end has not come yet: once the
		 * peer has gone and the ring holds nothing more, it never
		 * will (the partial chain is dropped, never delivered). */
		if (ivc_lane_rx_ring_ready(&ch->rx) <= 0 && ivc_channel_peer_end(ch)) {
			len = recv_stage(ch, &nb);
			if (len != -EAGAIN)
				break;
			return ivc_channel_break(ch, ivc_channel_peer_end(ch));
		}
		r = msg_wait(ch, ch->rx.st_n ? IVC_EVI_RXMORE : IVC_EVI_RX,
			     timeout_ms, deadline);
		if (r < 0)
			return r;
	}
	if (len < 0 || (uint64_t)len > cap) {
		/* What was staged is consumed: tcp tells the peer now (the
		 * release in recv_copy() does it otherwise). */
		ivc_channel_consumed(ch);
		return len < 0 ? len : -EMSGSIZE;
	}
	return recv_copy(ch, data, nb);
}
