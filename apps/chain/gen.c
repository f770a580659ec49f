/* SPDX-License-Identifier: MIT */
/*
 * ivc-chain gen: the traffic generator.  Sends packets 0..N-1 of its id,
 * written in place in its own lane's buffers, in bursts, then closes (which
 * drains: everything sent stays receivable).
 *
 * With --reconnect (the orchestrator's --restart-fw-after), a send that
 * finds the firewall gone (-ECONNRESET, -EPIPE) reconnects and goes on from
 * the first packet not reported sent; what the dead firewall held is lost,
 * and the sink counts it.  Before letting go of the dead channel it asks
 * the library what was lost (<ivc/depth.h>): the packets still in its ring
 * (ivc_tx_in_flight) the firewall never received, so they are lost for
 * sure; the ones before them whose buffers it had not released yet
 * (the firewall releases only after forwarding) may be lost.  Counting the
 * packets of open flows in those two ranges gives the sink's loss exactly
 * a window [lost_min, lost_max], which the orchestrator checks.
 */
#define _GNU_SOURCE
#include "chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bufs.h"
#include "pkt.h"
#include "stage.h"

/* Handshakes in a row that a dying firewall may cut (--reconnect). */
#define GEN_MAX_HANDSHAKE_TRIES 64u

struct gen {
	struct stage st;
	const char *addr;
	unsigned id;
	uint64_t count;
	uint32_t size;
	bool reconnect;
	struct ivc_options opts;
	struct ivc_channel *ch;
	uint32_t cap;            /* buffer size of our lane */
	unsigned per_pkt;        /* buffers per packet */
	struct ivc_buf *bufs;    /* allocated, not sent: bufs[0..have) */
	unsigned have, max_bufs;
	uint64_t seq;            /* the first packet not reported sent */
	unsigned reconnects;
	pkt_flowset block;       /* --block: to count what a crash loses */
	uint64_t lost_min, lost_max;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " gen --connect ADDR [--id I] [--count N] [--size S] [options]\n"
"  --connect ADDR   the firewall's upstream address (shm:/path)\n"
"  --id I           generator id, 0..65535 (default 0)\n"
"  --count N        packets to send (default 1000000)\n"
"  --size S         bytes per packet, %u..%u (default %u)\n"
"  --reconnect      on -ECONNRESET/-EPIPE, reconnect and go on from the next\n"
"                   packet not reported sent\n"
"  --block LIST     the firewall's blocked flows (to count what a crash\n"
"                   of the firewall loses; default none)\n"
"%s", PKT_MIN_LEN, PKT_MAX_LEN, PKT_MIN_LEN, stage_usage);
}

static int open_channel(struct gen *g)
{
	struct ivc_info info;
	int r;

	stage_doing("connecting");
	g->ch = NULL;
	/* ivc_connect() waits for a listener that is not there yet (or not
	 * there again, after a restart): no start-up ordering needed. */
	r = ivc_connect(g->addr, &g->opts, ms_of_s(g->st.timeout_s), &g->ch);
	if (r < 0)
		return r;
	r = ivc_channel_info(g->ch, &info);
	if (r < 0)
		return r;
	if (info.max_tx_msg < g->size) {
		stage_err(&g->st, "a %u-byte packet does not fit this lane "
			  "(largest message %zu B): raise --buf-size or --slots",
			  g->size, info.max_tx_msg);
		return -EMSGSIZE;
	}
	g->cap = info.tx.buf_size;
	g->per_pkt = bufs_per_pkt(g->size, g->cap);
	g->max_bufs = g->st.burst * g->per_pkt;
	free(g->bufs);
	g->bufs = calloc(g->max_bufs, sizeof(*g->bufs));
	g->have = 0;
	stage_doing("sending");
	return g->bufs ? 0 : -ENOMEM;
}

/* Allocate until at least one packet's worth is had (waiting, as the mode
 * says, while the pool is empty: the firewall has not released yet), and
 * take what else is free, up to @want buffers, without waiting. */
static int take_bufs(struct gen *g, unsigned want)
{
	while (g->have < want) {
		int r = ivc_tx_alloc(g->ch, g->bufs + g->have, want - g->have,
				     g->have >= g->per_pkt ? 0 : -1);

		if (r == -EAGAIN)
			break;
		if (r < 0)
			return r;
		g->have += (unsigned)r;
	}
	return 0;
}

/* Build packets seq.. into the buffers had; return how many. */
static unsigned build(struct gen *g, unsigned pkts)
{
	struct pkt_seg segs[PKT_MAX_LEN / 64];
	unsigned p, k;

	if (pkts > g->have / g->per_pkt)
		pkts = g->have / g->per_pkt;
	for (p = 0; p < pkts; p++) {
		struct ivc_buf *b = g->bufs + p * g->per_pkt;
		uint32_t left = g->size;

		for (k = 0; k < g->per_pkt; k++) {
			b[k].len = left < g->cap ? left : g->cap;
			b[k].flags = k + 1 < g->per_pkt ? IVC_BUF_MORE : 0;
			segs[k].data = b[k].data;
			segs[k].len = b[k].len;
			left -= b[k].len;
		}
		pkt_build(segs, g->per_pkt, g->id, g->seq + p, g->size);
	}
	return pkts;
}

/* Send one burst.  Return 0, or the channel's error (g->seq then counts
 * only the packets whose every buffer was sent). */
static int burst(struct gen *g)
{
	uint64_t left = g->count - g->seq;
	unsigned pkts = left < g->st.burst ? (unsigned)left : g->st.burst;
	unsigned nb, sent;
	int r = take_bufs(g, pkts * g->per_pkt);

	if (r < 0)
		return r;
	pkts = build(g, pkts);
	nb = pkts * g->per_pkt;
	r = tx_send_all(g->ch, g->bufs, nb, &sent);
	g->seq += sent / g->per_pkt;
	/* What was sent is no longer ours, also when the send then failed
	 * (account_loss() counts the buffers we still hold). */
	g->have -= sent;
	memmove(g->bufs, g->bufs + sent, g->have * sizeof(*g->bufs));
	return r < 0 ? r : 0;
}

static bool peer_gone(int r)
{
	return r == -ECONNRESET || r == -EPIPE;
}

/* The firewall went away during our handshake: killed with our connection
 * still pending in its backlog (-ECONNREFUSED, docs/design.md: it never
 * took us), or after it had answered (-ECONNRESET, -EPROTO).  A generator
 * that starts late, or reconnects, may meet the one being killed. */
static bool died_in_handshake(int r)
{
	return r == -ECONNREFUSED || r == -ECONNRESET || r == -EPROTO;
}

/* Connect; with --reconnect, again if the firewall died mid-handshake.
 * ivc_connect() itself waits while nothing listens, so each try is one
 * firewall that died under us: a bound on the tries only stops a loop on
 * an address that refuses for good (not an ivc listener at all). */
static int connect_gen(struct gen *g)
{
	unsigned tries = 0;

	for (;;) {
		int r = open_channel(g);

		if (r == 0 || !g->reconnect || !died_in_handshake(r) ||
		    ++tries >= GEN_MAX_HANDSHAKE_TRIES)
			return r;
		ivc_close(g->ch);
		g->ch = NULL;
		stage_info(&g->st, "firewall died mid-handshake (%s): again",
			   errname(r));
	}
}

/* Packets of open flows among seq [from, to). */
static uint64_t open_in(const struct gen *g, uint64_t from, uint64_t to)
{
	uint64_t n = 0;

	for (; from < to; from++)
		n += !pkt_blocked(g->block, g->id, from);
	return n;
}

/* The firewall died: what did it take with it?  In buffers, our ring still
 * holds @in_flight (never received: lost), and @lent more are out (received
 * by it, maybe forwarded, not released).  The packets sent are 0..seq-1,
 * the last ones sent are the ones in the ring, the ones before them
 * those lent. */
static void account_loss(struct gen *g)
{
	int in_flight = ivc_tx_in_flight(g->ch);
	int free_bufs = ivc_tx_bufs_free(g->ch);
	struct ivc_info info;

	if (in_flight < 0 || free_bufs < 0 || ivc_channel_info(g->ch, &info) < 0) {
		stage_err(&g->st, "cannot count what the crash lost");
		g->lost_max = UINT64_MAX;
		return;
	}
	/* Buffers out = the pool less the free and those we hold unsent. */
	uint64_t out = info.tx.buf_count - (uint64_t)free_bufs - g->have;
	/* Up to per_pkt - 1 buffers in the ring may be a packet cut short
	 * (never delivered, not counted sent): the min leaves them out. */
	uint64_t part = g->per_pkt - 1; /* of a chain not wholly sent */
	uint64_t ring_min = (uint64_t)in_flight > part ?
			    ((uint64_t)in_flight - part) / g->per_pkt : 0;
	uint64_t all_max = (out + g->per_pkt - 1) / g->per_pkt;

	if (ring_min > g->seq)
		ring_min = g->seq;
	if (all_max > g->seq)
		all_max = g->seq;
	g->lost_min += open_in(g, g->seq - ring_min, g->seq);
	g->lost_max += open_in(g, g->seq - all_max, g->seq);
	stage_info(&g->st, "the firewall took %d buffers in our ring and %llu"
		   " unreleased with it", in_flight,
		   (unsigned long long)(out - (uint64_t)in_flight));
}

static int run(struct gen *g)
{
	int r = connect_gen(g);

	while (r == 0 && g->seq < g->count) {
		r = burst(g);
		if (r < 0 && g->reconnect && peer_gone(r)) {
			stage_info(&g->st, "firewall gone at packet %llu (%s): reconnecting",
				   (unsigned long long)g->seq, errname(r));
			account_loss(g);
			/* Closing drops what we had allocated and the cut
			 * chain, if any: the packets are built anew. */
			ivc_close(g->ch);
			g->ch = NULL;
			g->reconnects++;
			r = connect_gen(g);
		}
	}
	return r;
}

static int parse(struct gen *g, int argc, char **argv)
{
	static const struct option lopts[] = {
		STAGE_LONG_OPTS,
		{ "connect", required_argument, NULL, 'c' },
		{ "id", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "reconnect", no_argument, NULL, 'R' },
		{ "block", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t v;
	int opt, c;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		if ((c = stage_opt(&g->st, opt, optarg)) != 0) {
			if (c < 0)
				return -1;
			continue;
		}
		switch (opt) {
		case 'c': g->addr = optarg; break;
		case 'i':
			if (parse_u32(optarg, &v) || v > 65535)
				goto bad;
			g->id = v;
			break;
		case 'n':
			if (parse_u64(optarg, &g->count))
				goto bad;
			break;
		case 's':
			if (parse_u32(optarg, &g->size) || g->size < PKT_MIN_LEN ||
			    g->size > PKT_MAX_LEN)
				goto bad;
			break;
		case 'R': g->reconnect = true; break;
		case 'b':
			if (pkt_parse_flows(optarg, &g->block)) {
				usage(stderr);
				return -1;
			}
			break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); return -1;
		}
	}
	if (!g->addr || optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
bad:
	stage_err(&g->st, "bad value '%s' (see --help)", optarg);
	return -1;
}

int chain_gen(int argc, char **argv)
{
	struct gen g;
	int r;

	memset(&g, 0, sizeof(g));
	stage_init(&g.st, "gen");
	g.count = 1000000;
	g.size = PKT_MIN_LEN;
	if (parse(&g, argc, argv) < 0)
		return EXIT_USAGE;
	if (stage_start(&g.st) < 0)
		return EXIT_FAIL;
	stage_ivc_options(&g.st, &g.st.tx, &g.opts);
	r = run(&g);
	if (r < 0)
		stage_ivc_err(&g.st, g.ch ? "send" : "connect", r);
	stage_report(&g.st, "sent=%llu reconnects=%u lost_min=%llu lost_max=%llu status=%s",
		     (unsigned long long)g.seq, g.reconnects,
		     (unsigned long long)g.lost_min, (unsigned long long)g.lost_max,
		     r < 0 ? errname(r) : "ok");
	stage_info(&g.st, "id %u: sent %llu packets of %u B, %u reconnects",
		   g.id, (unsigned long long)g.seq, g.size, g.reconnects);
	ivc_close(g.ch);   /* drains: the firewall receives it all */
	free(g.bufs);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
