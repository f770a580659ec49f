/* SPDX-License-Identifier: MIT */
/* Zero-copy helpers shared by the stages (bufs.h). */
#include "bufs.h"

#include <errno.h>

#include "pkt.h"

/* Buffers still to come of the chain that ends bufs[0..n): from its
 * header's length, assuming full buffers, so never more than the chain
 * has (a short one only makes us ask again).  Receiving more could end
 * inside the next chain, and so on. */
static unsigned chain_rest(const struct ivc_buf *bufs, unsigned n)
{
	unsigned first = n - 1;
	uint32_t got = 0, cap = bufs[n - 1].cap;
	struct pkt_hdr h;

	while (first > 0 && (bufs[first - 1].flags & IVC_BUF_MORE))
		first--;
	for (unsigned i = first; i < n; i++)
		got += bufs[i].len;
	if (pkt_read_hdr(bufs[first].data, bufs[first].len, &h) < 0 ||
	    h.len <= got || !cap)
		return 1;
	return bufs_per_pkt(h.len - got, cap);
}

int rx_whole(struct ivc_channel *ch, struct ivc_buf *bufs, unsigned burst,
	     unsigned cap, int timeout_ms)
{
	int n = ivc_rx_burst(ch, bufs, burst, timeout_ms);

	if (n <= 0)
		return n;
	/* The rest of a chain the sender has begun is on its way: its
	 * sender allocated the whole chain before sending any of it, and
	 * ring slots free up as we consume.  Wait as long as it takes;
	 * the peer's end or the watchdog bounds it. */
	while (bufs[n - 1].flags & IVC_BUF_MORE) {
		unsigned want = chain_rest(bufs, (unsigned)n);
		int m;

		if ((unsigned)n + want > cap) {
			ivc_rx_release(ch, bufs, (unsigned)n);
			return -EMSGSIZE;
		}
		m = ivc_rx_burst(ch, bufs + n, want, -1);
		if (m < 0) {
			/* The peer ended inside a chain: drop the cut packet,
			 * hand out the whole ones before it; the error is
			 * sticky, so the next call returns it. */
			unsigned whole = (unsigned)n;

			while (whole > 0 && (bufs[whole - 1].flags & IVC_BUF_MORE))
				whole--;
			ivc_rx_release(ch, bufs + whole, (unsigned)n - whole);
			return whole ? (int)whole : m;
		}
		n += m;
	}
	return n;
}

int tx_send_all(struct ivc_channel *ch, const struct ivc_buf *bufs, unsigned n,
		unsigned *sent)
{
	unsigned done = 0;

	while (done < n) {
		int r = ivc_tx_send(ch, bufs + done, n - done, -1);

		if (r < 0) {
			if (sent)
				*sent = done;
			return r;
		}
		done += (unsigned)r;
	}
	if (sent)
		*sent = done;
	return (int)n;
}
