/* SPDX-License-Identifier: MIT */
/*
 * The firewall's data path: one upstream burst to the downstream.
 *
 * Every hop copies today: a received buffer lies in the upstream sender's
 * lane, and the public API at this version can only send buffers of our
 * own lane, so the payload is copied from one to the other.
 *
 * Order matters for what a crash can lose: the upstream buffers are
 * released only after their packets were published downstream, so a
 * packet a generator was told "sent" is, until the sink's lane has it,
 * still holding one of that generator's buffers.  Losses at a crash are
 * therefore bounded by the generators' pools.
 *
 * Back-pressure: the firewall receives only what its downstream can take
 * now (<ivc/depth.h>: free slots and free buffers downstream, one buffer a
 * packet for packets that fit a downstream buffer), waiting for room (as
 * the mode says) when there is none.  So it never holds upstream packets
 * it cannot forward, and the upstream fills up and its sender waits in
 * turn.  Should a packet need more downstream buffers than it came in,
 * buffers are still taken from the pool before any is filled, waiting
 * while it is empty.  Nothing is ever dropped for lack of room.
 */
#include "fw.h"

#include <errno.h>
#include <string.h>

#include "bufs.h"

/* Classify the packets of rx[0..n): count the blocked and malformed ones,
 * plan the rest.  Return the number planned; *total: buffers they need. */
static unsigned plan_burst(struct fw *fw, unsigned n, unsigned *total)
{
	unsigned i = 0, np = 0;

	*total = 0;
	while (i < n) {
		unsigned e = pkt_end(fw->rx, i, n), k;
		uint32_t len = 0;
		struct pkt_hdr h;

		for (k = i; k < e; k++)
			len += fw->rx[k].len;
		/* The header is all a firewall reads (its "5-tuple"); it
		 * is read once, into a copy. */
		if (pkt_read_hdr(fw->rx[i].data, fw->rx[i].len, &h) < 0 ||
		    h.magic != PKT_MAGIC || h.len != len) {
			fw->bad++;
		} else if ((fw->block >> (h.flow % PKT_FLOWS)) & 1u) {
			fw->dropped++;
		} else {
			struct fw_plan *p = &fw->plan[np++];

			p->first = i;
			p->end = e;
			p->len = len;
			p->need = bufs_per_pkt(len, fw->down_cap);
			*total += p->need;
		}
		i = e;
	}
	return np;
}

/* Copy a packet's pieces into @need downstream buffers (or, with
 * --fw-copy off, only set their lengths: the measurement of what the
 * copy costs). */
static void fill(struct fw *fw, const struct fw_plan *p, struct ivc_buf *tx)
{
	const struct ivc_buf *rx = fw->rx + p->first;
	uint32_t left = p->len, roff = 0;
	unsigned k, r = 0;

	for (k = 0; k < p->need; k++) {
		tx[k].len = left < fw->down_cap ? left : fw->down_cap;
		tx[k].flags = k + 1 < p->need ? IVC_BUF_MORE : 0;
		left -= tx[k].len;
	}
	if (!fw->copy)
		return;
	if (p->need == 1 && p->end == p->first + 1) {
		memcpy(tx[0].data, rx[0].data, rx[0].len);
		return;
	}
	for (k = 0; k < p->need; k++) {
		uint32_t woff = 0;

		while (woff < tx[k].len) {
			uint32_t n = rx[r].len - roff;

			if (n > tx[k].len - woff)
				n = tx[k].len - woff;
			memcpy((char *)tx[k].data + woff,
			       (const char *)rx[r].data + roff, n);
			woff += n;
			roff += n;
			if (roff == rx[r].len) {
				r++;
				roff = 0;
			}
		}
	}
}

static int down_failed(struct fw *fw, int err)
{
	fw->down_err = err;
	return FW_DOWN_FAILED;
}

/* Make sure buffers for plan[i] are had: allocate, and when the pool is
 * empty, send what is filled first.  Return 0 or FW_DOWN_FAILED. */
static int room_for(struct fw *fw, const struct fw_plan *p, unsigned *have,
		    unsigned filled, unsigned *sent, unsigned *left)
{
	while (*have - filled < p->need) {
		/* With filled buffers in hand, never wait for more: send
		 * those first (they make room for themselves once the sink
		 * releases them). */
		int r = ivc_tx_alloc(fw->down, fw->tx + *have, *left,
				     filled > *sent ? 0 : -1);

		if (r == -EAGAIN) {
			r = tx_send_all(fw->down, fw->tx + *sent, filled - *sent, NULL);
			if (r < 0)
				return down_failed(fw, r);
			*sent = filled;
			continue;
		}
		if (r < 0)
			return down_failed(fw, r);
		*have += (unsigned)r;
		*left -= (unsigned)r;
	}
	return 0;
}

/* Allocate, fill and send the planned packets.  Return 0 or FW_DOWN_FAILED.
 * Usually every buffer of a burst is had at once, then filled in one run
 * (timed with --time-copy: two clock reads a run). */
static int forward(struct fw *fw, unsigned np, unsigned total)
{
	unsigned have = 0, filled = 0, sent = 0, left = total, i = 0;
	int r;

	while (i < np) {
		uint64_t t0 = 0;

		r = room_for(fw, &fw->plan[i], &have, filled, &sent, &left);
		if (r < 0)
			return r;
		if (fw->time_copy)
			t0 = now_ns();
		for (; i < np && have - filled >= fw->plan[i].need; i++) {
			fill(fw, &fw->plan[i], fw->tx + filled);
			filled += fw->plan[i].need;
			fw->forwarded++;
		}
		if (fw->time_copy)
			fw->copy_ns += now_ns() - t0;
	}
	if (filled > sent) {
		r = tx_send_all(fw->down, fw->tx + sent, filled - sent, NULL);
		if (r < 0)
			return down_failed(fw, r);
	}
	return 0;
}

/* How many buffers the downstream takes now, waiting while it takes none.
 * Return: 1..burst, or FW_DOWN_FAILED. */
static int down_room(struct fw *fw)
{
	for (;;) {
		int slots = ivc_tx_slots_free(fw->down);
		int bufs = ivc_tx_bufs_free(fw->down);
		int r;

		if (slots < 0 || bufs < 0)
			return down_failed(fw, slots < 0 ? slots : bufs);
		if (bufs < slots)
			slots = bufs;
		if (slots > 0)
			return slots < (int)fw->st.burst ? slots : (int)fw->st.burst;
		r = ivc_wait(fw->down, IVC_EV_TX, -1);
		if (r < 0)
			return down_failed(fw, r);
	}
}

int fw_serve(struct fw *fw, struct ivc_channel *up)
{
	uint64_t before = fw->forwarded + fw->dropped + fw->bad;
	unsigned total, np;
	int n = down_room(fw);
	int r;

	if (n < 0)
		return n;
	n = rx_whole(up, fw->rx, (unsigned)n, fw->rx_cap, 0);

	if (n < 0)
		return n;
	np = plan_burst(fw, (unsigned)n, &total);
	r = forward(fw, np, total);
	/* Released only now: see the file comment. */
	ivc_rx_release(up, fw->rx, (unsigned)n);
	if (r < 0)
		return r;
	return (int)(fw->forwarded + fw->dropped + fw->bad - before);
}
