/* SPDX-License-Identifier: MIT */
/*
 * The modes verify and resume of ivc-dpdk-check: a stream of numbered
 * frames to a peer that returns them (testpmd --forward-mode=io), at most
 * a window of them in flight, each one expected back exactly once, in
 * order and intact.  resume runs a first round until the peer is killed
 * (the link goes down), waits for the link to come back, and then runs a
 * fresh round that must check out in full.
 */
#include "dpdk_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>

/* How long a finished round keeps listening for frames it should not
 * get (duplicates after the last one).  It can only find faults, never
 * cause one, so it need not be long. */
#define DRAIN_NS (20ull * 1000000ull)
#define LINK_CHECK_NS 1000000ull

enum step { STEP_OK, STEP_FAIL, STEP_LINK_DOWN };

struct stream {
	struct chk_port *p;
	const struct chk_opts *o;
	const char *name;	/* for messages: "verify", "resume round 2" */
	uint32_t round;
	uint64_t total;		/* frames in the round; UINT64_MAX: open */
	uint64_t downs0;	/* chk_link_downs() when the round began */
	bool tx, rx;
	uint64_t next_tx;	/* the next frame to build */
	uint64_t sent;		/* taken by rte_eth_tx_burst */
	uint64_t next_rx;	/* the next frame expected */
	struct rte_mbuf *pend[CHK_BURST];
	unsigned npend;		/* built, not yet taken */
	struct rte_mbuf *held;	/* --inject swap: the first of the two */
	uint64_t nomem;		/* times the TX pool was empty */
	uint64_t last_progress, last_link_check;
	/* resume: what may still arrive from the round before this one */
	struct stream *prev;
	uint64_t late;
	/* resume, round 1: the kill file, and when it was made */
	uint64_t kill_after;
	uint64_t killed_at;
	struct rte_eth_stats base;
	bool have_base;
};

static uint32_t size_of(const struct stream *s, uint64_t seq)
{
	const struct chk_opts *o = s->o;

	return o->sizes[(seq / o->count) % o->nsizes];
}

static void stream_init(struct stream *s, struct chk_port *p,
			const struct chk_opts *o, const char *name,
			uint32_t round, uint64_t total)
{
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->o = o;
	s->name = name;
	s->round = round;
	s->total = total;
	s->tx = !o->rx_only;
	s->rx = !o->tx_only;
	s->last_progress = s->last_link_check = chk_now_ns();
	s->downs0 = chk_link_downs(p);
	/* A PMD without stats is not a failure: the check is skipped. */
	s->have_base = rte_eth_stats_get(p->id, &s->base) == 0;
}

static void stream_drop_pending(struct stream *s)
{
	rte_pktmbuf_free_bulk(s->pend, s->npend);
	s->npend = 0;
	rte_pktmbuf_free(s->held);
	s->held = NULL;
}

static bool may_build(const struct stream *s)
{
	if (s->next_tx >= s->total)
		return false;
	/* In flight: built (sent or pending) and not yet back. */
	return !s->rx || s->next_tx - s->next_rx < s->o->window;
}

/* --inject corrupt: flip one byte, wherever its segment is. */
static void flip_byte(struct rte_mbuf *m, uint32_t off)
{
	if (off >= m->pkt_len)
		off = m->pkt_len - 1;
	for (struct rte_mbuf *seg = m; seg != NULL; seg = seg->next) {
		if (off < seg->data_len) {
			rte_pktmbuf_mtod(seg, uint8_t *)[off] ^= 0x5a;
			return;
		}
		off -= seg->data_len;
	}
}

/* Queue frame seq (m) for sending, with the fault of --inject if it is
 * the frame named there. */
static void push(struct stream *s, struct rte_mbuf *m, uint64_t seq)
{
	const struct chk_opts *o = s->o;
	struct rte_mbuf *copy;

	if (o->inject == CHK_INJECT_SWAP && seq == o->inject_seq + 1 &&
	    s->held) {
		s->pend[s->npend++] = m;
		m = s->held;
		s->held = NULL;
	} else if (seq == o->inject_seq) {
		switch (o->inject) {
		case CHK_INJECT_DROP:
			rte_pktmbuf_free(m);
			return;
		case CHK_INJECT_DUP:
			copy = rte_pktmbuf_copy(m, s->p->tx_pool, 0, UINT32_MAX);
			if (copy != NULL)
				s->pend[s->npend++] = copy;
			break;
		case CHK_INJECT_SWAP:
			s->held = m;
			return;
		case CHK_INJECT_CORRUPT:
			flip_byte(m, o->inject_off);
			break;
		default:
			break;
		}
	}
	s->pend[s->npend++] = m;
}

static void tx_step(struct stream *s)
{
	uint16_t n;

	/* Two free slots: an injected duplicate or swap queues two. */
	while (s->npend + 2 <= CHK_BURST && may_build(s)) {
		uint64_t seq = s->next_tx;
		uint32_t round = s->round;
		struct rte_mbuf *m;

		if (s->o->inject == CHK_INJECT_ROUND && seq == s->o->inject_seq)
			round++;
		m = chk_frame_build(s->p->tx_pool, round, seq, size_of(s, seq),
				    s->o->segs);
		if (m == NULL) {
			s->nomem++;	/* the PMD still holds them: later */
			break;
		}
		push(s, m, seq);
		s->next_tx++;
	}
	if (s->npend == 0)
		return;
	n = rte_eth_tx_burst(s->p->id, 0, s->pend, (uint16_t)s->npend);
	if (n == 0)
		return;
	memmove(s->pend, s->pend + n, (s->npend - n) * sizeof(s->pend[0]));
	s->npend -= n;
	s->sent += n;
	s->last_progress = chk_now_ns();
}

static void say_bad(const struct stream *s, const char *what)
{
	char want[80];

	if (s->next_rx < s->total)
		snprintf(want, sizeof(want), "expected seq %" PRIu64 ", %" PRIu32 " B",
			 s->next_rx, size_of(s, s->next_rx));
	else
		snprintf(want, sizeof(want), "all %" PRIu64 " in", s->total);
	fprintf(stderr,
		"ivc-dpdk-check: %s: FAIL at frame %" PRIu64 " of round %" PRIu32
		" (%s; %" PRIu64 " sent, %" PRIu64 " received; RX pool %u of %u free): %s\n",
		s->name, s->next_rx, s->round, want, s->sent, s->next_rx,
		rte_mempool_avail_count(s->p->rx_pool), s->p->rx_pool->size, what);
}

/* A frame of the right round with the wrong sequence number: say which
 * frames went missing or came twice, and whether the frame is intact
 * (then it is an ordering fault, not a corruption). */
static void say_out_of_order(const struct stream *s, const struct rte_mbuf *m,
			     const struct chk_hdr *h)
{
	struct chk_bad own;
	char what[400];
	int intact = chk_frame_check(m, h->round, h->seq, h->len, &own) == 0;

	if (h->seq > s->next_rx)
		snprintf(what, sizeof(what),
			 "got seq %" PRIu64 ": %" PRIu64
			 " frame(s) lost or reordered before it (%s)",
			 h->seq, h->seq - s->next_rx,
			 intact ? "the frame itself is intact" : own.what);
	else
		snprintf(what, sizeof(what),
			 "got seq %" PRIu64
			 " again: a duplicate or a reordering (%s)",
			 h->seq, intact ? "the frame itself is intact" : own.what);
	say_bad(s, what);
}

/* resume: a frame of the round before, which the peer returned before it
 * died and we had not read yet.  It must continue that round in order. */
static int take_late(struct stream *s, const struct rte_mbuf *m,
		     const struct chk_hdr *h)
{
	struct stream *prev = s->prev;
	struct chk_bad bad;
	char what[300];

	if (h->seq != prev->next_rx ||
	    chk_frame_check(m, h->round, h->seq, size_of(prev, h->seq),
			    &bad) != 0) {
		snprintf(what, sizeof(what),
			 "a frame of round %" PRIu32 " (seq %" PRIu64
			 ") that does not continue it (next would be %" PRIu64
			 ") or is damaged",
			 h->round, h->seq, prev->next_rx);
		say_bad(s, what);
		return -1;
	}
	prev->next_rx++;
	s->late++;
	return 0;
}

static int take(struct stream *s, const struct rte_mbuf *m)
{
	struct chk_hdr h;
	struct chk_bad bad;
	char what[300];

	if (chk_frame_parse(m, &h, &bad) != 0) {
		say_bad(s, bad.what);
		return -1;
	}
	if (h.round != s->round) {
		if (s->prev && h.round == s->prev->round)
			return take_late(s, m, &h);
		snprintf(what, sizeof(what),
			 "a frame of round %" PRIu32 " (seq %" PRIu64 ")",
			 h.round, h.seq);
		say_bad(s, what);
		return -1;
	}
	if (s->next_rx >= s->total) {
		snprintf(what, sizeof(what),
			 "an extra frame (seq %" PRIu64 ") after the last",
			 h.seq);
		say_bad(s, what);
		return -1;
	}
	if (h.seq != s->next_rx) {
		say_out_of_order(s, m, &h);
		return -1;
	}
	if (chk_frame_check(m, s->round, h.seq, size_of(s, h.seq), &bad) != 0) {
		say_bad(s, bad.what);
		return -1;
	}
	s->next_rx++;
	return 0;
}

static int rx_step(struct stream *s)
{
	struct rte_mbuf *m[CHK_BURST];
	uint16_t n = rte_eth_rx_burst(s->p->id, 0, m, CHK_BURST);
	int rc = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = take(s, m[i]);
		rte_pktmbuf_free(m[i]);
	}
	if (n > 0)
		s->last_progress = chk_now_ns();
	return rc;
}

static bool stream_done(const struct stream *s)
{
	return s->rx ? s->next_rx >= s->total : s->sent >= s->total;
}

static void say_stalled(const struct stream *s, const char *why)
{
	fprintf(stderr,
		"ivc-dpdk-check: %s: FAIL: %s: round %" PRIu32 ", %" PRIu64
		" built, %" PRIu64 " sent, %" PRIu64 " received (expecting seq %"
		PRIu64 ", %" PRIu32 " B), %u waiting for the TX queue, TX pool empty %"
		PRIu64 " times, link %s\n",
		s->name, why, s->round, s->next_tx, s->sent, s->next_rx,
		s->next_rx, size_of(s, s->next_rx), s->npend, s->nomem,
		chk_link_up(s->p) ? "up" : "down");
}

/* resume --quiesce: from the kill file on, the data path is left alone
 * and only the link watched, so the peer dies while this side is in no
 * burst call.  For PMDs whose disconnect (in the EAL's interrupt thread)
 * is not synchronised with their data path: net_memif unmaps its rings
 * there, and a burst call under way then faults (22.11). */
static bool quiet(const struct stream *s)
{
	return s->o->quiesce && s->killed_at;
}

/* Link and progress, checked once a millisecond. */
static enum step watch(struct stream *s)
{
	uint64_t now = chk_now_ns();
	char why[160];

	if (now - s->last_link_check < LINK_CHECK_NS)
		return STEP_OK;
	s->last_link_check = now;
	if (chk_interrupted) {
		say_stalled(s, "interrupted by a signal");
		return STEP_FAIL;
	}
	if (s->kill_after && !s->killed_at && s->next_rx >= s->kill_after) {
		if (chk_touch(s->o->kill_file) != 0)
			return STEP_FAIL;
		s->killed_at = now;
	}
	/* After the kill file a down counts even if the link is already
	 * back up (a PMD that reconnects by itself: the flap is the sign). */
	if (!chk_link_up(s->p) ||
	    (s->killed_at && chk_link_downs(s->p) != s->downs0)) {
		if (s->killed_at)
			return STEP_LINK_DOWN;
		say_stalled(s, "the link went down");
		return STEP_FAIL;
	}
	if (quiet(s))
		s->last_progress = s->killed_at;
	if (now - s->last_progress > (uint64_t)s->o->timeout_ms * 1000000ull) {
		snprintf(why, sizeof(why),
			 "no progress for %" PRIu32 " ms%s", s->o->timeout_ms,
			 s->killed_at ? " after the kill file, yet the link stayed up"
				      : "");
		say_stalled(s, why);
		return STEP_FAIL;
	}
	return STEP_OK;
}

/* send --gap-ms: a pause after each burst the TX queue took whole. */
static void gap(const struct stream *s, uint64_t sent_before)
{
	struct timespec ts = { .tv_sec = s->o->gap_ms / 1000,
			       .tv_nsec = (long)(s->o->gap_ms % 1000) * 1000000L };

	if (s->o->gap_ms && !s->rx && s->sent > sent_before && s->npend == 0)
		(void)nanosleep(&ts, NULL);	/* EINTR: a shorter pause */
}

static enum step stream_run(struct stream *s)
{
	while (!stream_done(s)) {
		uint64_t sent = s->sent;
		enum step w;

		/* RX first: a PMD may post its RX buffers only when polled
		 * (a net_memif client's S2C ring is empty until then), and a
		 * peer answering our first burst must find room. */
		if (s->rx && !quiet(s) && rx_step(s) != 0)
			return STEP_FAIL;
		if (s->tx && !quiet(s)) {
			tx_step(s);
			gap(s, sent);
		}
		/* A sender done with its last burst is done, even if its
		 * receiver, having had it all, has left during the gap. */
		if (stream_done(s))
			break;
		w = watch(s);
		if (w != STEP_OK)
			return w;
	}
	return STEP_OK;
}

/* After the last frame: anything more is a duplicate (or, in resume, a
 * late frame of the round before, still checked). */
static int stream_drain(struct stream *s)
{
	uint64_t end = chk_now_ns() + DRAIN_NS;

	while (chk_now_ns() < end)
		if (rx_step(s) != 0)
			return -1;
	return 0;
}

static int stats_check(const struct stream *s)
{
	struct rte_eth_stats st;
	uint64_t rx = s->next_rx + s->late, ipk, opk;

	if (!s->have_base || rte_eth_stats_get(s->p->id, &st) != 0) {
		fprintf(stderr, "ivc-dpdk-check: note: no port stats: not checked\n");
		return 0;
	}
	ipk = st.ipackets - s->base.ipackets;
	opk = st.opackets - s->base.opackets;
	if (st.ipackets < s->base.ipackets || st.opackets < s->base.opackets ||
	    opk < s->sent || (s->rx && ipk < rx)) {
		fprintf(stderr,
			"ivc-dpdk-check: %s: FAIL: port stats disagree: opackets %"
			PRIu64 " -> %" PRIu64 " for %" PRIu64 " sent, ipackets %"
			PRIu64 " -> %" PRIu64 " for %" PRIu64 " received\n",
			s->name, s->base.opackets, st.opackets, s->sent,
			s->base.ipackets, st.ipackets, s->rx ? rx : 0);
		return -1;
	}
	return 0;
}

static void say_sizes(char *buf, size_t len, const struct chk_opts *o)
{
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < o->nsizes && at < len; i++) {
		int n = snprintf(buf + at, len - at, "%s%" PRIu64 " x %" PRIu32 " B",
				 i ? ", " : "", o->count, o->sizes[i]);
		if (n < 0)
			break;
		at += (size_t)n;
	}
}

static void say_ok(const struct stream *s, uint64_t t0, const char *extra)
{
	double secs = (double)(chk_now_ns() - t0) / 1e9;
	uint64_t frames = s->rx ? s->next_rx : s->sent;
	char sizes[200], segs[80] = "";

	say_sizes(sizes, sizeof(sizes), s->o);
	if (s->o->segs)
		snprintf(segs, sizeof(segs), ", sent in %" PRIu32 " B segments",
			 s->o->segs);
	if (s->tx && s->rx)
		snprintf(segs + strlen(segs), sizeof(segs) - strlen(segs),
			 ", window %" PRIu32, s->o->window);
	printf("%s: ok: %" PRIu64 " frames (%s%s) %s in %.3f s (%.3f Mpps), port %u (%s)%s\n",
	       s->name, frames, sizes, segs,
	       !s->rx ? "sent" : !s->tx ? "received in order, every byte checked"
				      : "sent and returned in order, every byte checked",
	       secs, secs > 0 ? (double)frames / secs / 1e6 : 0.0,
	       s->p->id, s->p->driver, extra ? extra : "");
	fflush(stdout);
}

int chk_verify(struct chk_port *p, const struct chk_opts *o)
{
	const char *name = strcmp(o->mode, "send") == 0 ? "send"
			   : o->tx_only ? "verify --tx-only"
			   : o->rx_only ? "verify --rx-only" : "verify";
	struct stream s;
	uint64_t t0;

	if (chk_link_wait(p, o, false) != 0)
		return CHK_FAIL;
	if (o->wait_file && chk_wait_file(o->wait_file, o->timeout_ms) != 0)
		return CHK_FAIL;
	stream_init(&s, p, o, name, 1, o->count * o->nsizes);
	t0 = chk_now_ns();
	if (stream_run(&s) != STEP_OK)
		return CHK_FAIL;
	if (s.rx && stream_drain(&s) != 0)
		return CHK_FAIL;
	if (stats_check(&s) != 0)
		return CHK_FAIL;
	say_ok(&s, t0, NULL);
	return chk_wait_close(p, o, !s.rx) ? CHK_FAIL : CHK_OK;
}

/* resume, round 1: open-ended, until the link goes down after the kill
 * file.  Every frame back before that must be in order and intact. */
static int resume_round1(struct stream *s, struct chk_port *p,
			 const struct chk_opts *o)
{
	enum step r;

	stream_init(s, p, o, "resume round 1", 1, UINT64_MAX);
	s->kill_after = o->kill_after ? o->kill_after : RTE_MAX(o->count / 2, 1ull);
	r = stream_run(s);
	if (r != STEP_LINK_DOWN) {
		if (r == STEP_OK)
			fprintf(stderr, "ivc-dpdk-check: resume: round 1 ended without the link going down\n");
		return -1;
	}
	stream_drop_pending(s);
	printf("resume: round 1: %" PRIu64 " frames back in order and intact; the link went down %.1f ms after the kill file, with %" PRIu64 " frames in flight (lost)\n",
	       s->next_rx, (double)(chk_now_ns() - s->killed_at) / 1e6,
	       s->next_tx - s->next_rx);
	fflush(stdout);
	return 0;
}

int chk_resume(struct chk_port *p, const struct chk_opts *o)
{
	bool restart = o->reconnect == CHK_RECONNECT_RESTART;
	struct stream r1, r2;
	uint64_t down, t0;
	char extra[200];

	if (!o->kill_file) {
		fprintf(stderr, "ivc-dpdk-check: resume needs --kill-file\n");
		return CHK_USAGE;
	}
	if (chk_link_wait(p, o, false) != 0 || resume_round1(&r1, p, o) != 0)
		return CHK_FAIL;
	down = chk_now_ns();
	if (chk_link_wait(p, o, restart) != 0)
		return CHK_FAIL;
	down = chk_now_ns() - down;
	stream_init(&r2, p, o, "resume round 2", 2, o->count * o->nsizes);
	r2.prev = &r1;
	t0 = chk_now_ns();
	if (stream_run(&r2) != STEP_OK || stream_drain(&r2) != 0 ||
	    stats_check(&r2) != 0)
		return CHK_FAIL;
	snprintf(extra, sizeof(extra),
		 "; after the link was down %.1f ms (port restarts %" PRIu64
		 ", late round-1 frames %" PRIu64 ")",
		 (double)down / 1e6, p->restarts, r2.late);
	say_ok(&r2, t0, extra);
	return chk_wait_close(p, o, false) ? CHK_FAIL : CHK_OK;
}
