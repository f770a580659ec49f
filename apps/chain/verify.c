/* SPDX-License-Identifier: MIT */
/* The sink's account of what arrived (verify.h). */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int verify_init(struct verify *v)
{
	v->g = calloc(v->gens, sizeof(*v->g));
	v->scratch = malloc(PKT_MAX_LEN);
	if (!v->g || !v->scratch)
		return -1;
	for (unsigned i = 0; i < v->gens; i++)
		v->g[i].next = pkt_next_open(v->block, i, 0, v->count);
	return 0;
}

void verify_free(struct verify *v)
{
	free(v->g);
	free(v->scratch);
}

__attribute__((format(printf, 2, 3)))
static void fail(struct verify *v, const char *fmt, ...)
{
	va_list ap;

	if (v->errors++)
		return;
	va_start(ap, fmt);
	vsnprintf(v->first_err, sizeof(v->first_err), fmt, ap);
	va_end(ap);
}

/* Non-blocked seqs in [from, to) of generator @gen. */
static uint64_t open_between(const struct verify *v, unsigned gen,
			     uint64_t from, uint64_t to)
{
	uint64_t n = 0;

	for (from = pkt_next_open(v->block, gen, from, to); from < to;
	     from = pkt_next_open(v->block, gen, from + 1, to))
		n++;
	return n;
}

/* The packet's bytes in one piece: in place, or gathered. */
static const void *whole(struct verify *v, const struct ivc_buf *b, unsigned n)
{
	uint32_t off = 0;

	if (n == 1)
		return b[0].data;
	for (unsigned i = 0; i < n; i++) {
		memcpy(v->scratch + off, b[i].data, b[i].len);
		off += b[i].len;
	}
	return v->scratch;
}

/* Where (gen, seq) may sit in its generator's stream. */
static void account(struct verify *v, unsigned gen, uint64_t seq)
{
	struct vgen *g = &v->g[gen];

	if (seq < g->next) {
		fail(v, "gen %u: seq %llu after seq %llu was due (duplicate or"
		     " out of order)", gen, (unsigned long long)seq,
		     (unsigned long long)g->next);
		return;
	}
	if (seq > g->next) {
		uint64_t gap = open_between(v, gen, g->next, seq);

		if (v->restart && g->epoch < v->epoch)
			g->lost += gap;         /* lost in the crash */
		else
			fail(v, "gen %u: seq %llu arrived, %llu earlier ones"
			     " (from seq %llu) never did", gen,
			     (unsigned long long)seq, (unsigned long long)gap,
			     (unsigned long long)g->next);
	}
	g->epoch = v->epoch;
	g->next = pkt_next_open(v->block, gen, seq + 1, v->count);
	g->received++;
}

void verify_packet(struct verify *v, const struct ivc_buf *b, unsigned n)
{
	uint32_t len = 0;
	struct pkt_hdr h;
	const char *why;
	const void *p;

	for (unsigned i = 0; i < n; i++)
		len += b[i].len;
	v->packets++;
	v->bytes += len;
	if (len != v->size) {
		fail(v, "a packet of %u bytes (all are %u)", len, v->size);
		return;
	}
	if (!v->payload)
		return;
	p = whole(v, b, n);   /* (len == size: it fits) */
	/* (A received payload lies in the firewall's lane; a hostile
	 * firewall could change it as we read.  Ours does not, and a
	 * change would show as a bad checksum.) */
	why = pkt_check(p, len);
	pkt_read_hdr(p, len, &h);
	if (why) {
		fail(v, "gen %u seq %llu: %s", h.gen, (unsigned long long)h.seq, why);
		return;
	}
	if (h.gen >= v->gens || h.seq >= v->count) {
		fail(v, "gen %u seq %llu: no such packet was sent", h.gen,
		     (unsigned long long)h.seq);
		return;
	}
	if (pkt_blocked(v->block, h.gen, h.seq)) {
		fail(v, "gen %u seq %llu: flow %u is blocked, yet it arrived",
		     h.gen, (unsigned long long)h.seq, h.flow);
		return;
	}
	account(v, h.gen, h.seq);
}

void verify_epoch(struct verify *v)
{
	v->epoch++;
}

/* A generator's missing tail: lost in the crash, or an error. */
static void finish_gen(struct verify *v, unsigned gen)
{
	struct vgen *g = &v->g[gen];
	uint64_t tail;

	if (g->next >= v->count)
		return;
	tail = open_between(v, gen, g->next, v->count);
	if (v->restart && g->epoch < v->epoch)
		g->lost += tail;
	else
		fail(v, "gen %u: %llu packets from seq %llu on never arrived",
		     gen, (unsigned long long)tail, (unsigned long long)g->next);
}

void verify_finish(struct verify *v, struct verify_result *res)
{
	memset(res, 0, sizeof(*res));
	for (unsigned i = 0; i < v->gens; i++) {
		uint64_t open = pkt_open_count(v->block, i, v->count);

		res->expected += open;
		res->blocked += v->count - open;
		if (v->payload) {
			finish_gen(v, i);
			res->lost += v->g[i].lost;
		}
	}
	res->delivered = v->packets;
	/* Without the payload, only the count can be checked. */
	if (!v->payload && v->packets != res->expected)
		fail(v, "%llu packets arrived, %llu were due",
		     (unsigned long long)v->packets,
		     (unsigned long long)res->expected);
	res->errors = v->errors;
	res->first_err = v->errors ? v->first_err : NULL;
}
