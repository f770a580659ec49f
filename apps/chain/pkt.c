/* SPDX-License-Identifier: MIT */
/*
 * The packet format (pkt.h): flows, the pattern, the checksum.
 *
 * The checksum is Fletcher-style over 64-bit words (a += w; b += a, modulo
 * 2^64): position-dependent, so swapped words are caught, and about one
 * cycle a word, so that a sink checking every byte of 1518-byte packets
 * costs tens of nanoseconds, not the chain's rate.
 */
#include "pkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_STEP 0x9e3779b97f4a7c15ull

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t pattern_base(unsigned gen, uint64_t seq)
{
	return mix64(((uint64_t)gen << 48) ^ seq ^ 0x5a17c0de00000000ull);
}

unsigned pkt_flow(unsigned gen, uint64_t seq)
{
	return (unsigned)(mix64(((uint64_t)gen << 40) ^ seq) >> 60);
}

uint64_t pkt_next_open(pkt_flowset blocked, unsigned gen, uint64_t seq,
		       uint64_t count)
{
	while (seq < count && pkt_blocked(blocked, gen, seq))
		seq++;
	return seq;
}

uint64_t pkt_open_count(pkt_flowset blocked, unsigned gen, uint64_t count)
{
	uint64_t s, n = 0;

	if (!blocked)
		return count;
	for (s = 0; s < count; s++)
		n += !pkt_blocked(blocked, gen, s);
	return n;
}

int pkt_parse_flows(const char *s, pkt_flowset *out)
{
	pkt_flowset set = 0;

	if (!strcmp(s, "") || !strcmp(s, "none")) {
		*out = 0;
		return 0;
	}
	for (;;) {
		char *end;
		unsigned long f = strtoul(s, &end, 10);

		if (end == s || f >= PKT_FLOWS)
			return -1;
		set |= (pkt_flowset)(1u << f);
		if (!*end)
			break;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
	*out = set;
	return 0;
}

const char *pkt_flows_str(pkt_flowset set, char *buf, size_t size)
{
	size_t used = 0;
	unsigned f;

	if (!set) {
		snprintf(buf, size, "none");
		return buf;
	}
	buf[0] = '\0';
	for (f = 0; f < PKT_FLOWS; f++) {
		int n;

		if (!((set >> f) & 1u))
			continue;
		n = snprintf(buf + used, size - used, "%s%u", used ? "," : "", f);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* ---- the checksum ---- */

struct csum {
	uint64_t a, b;
};

static inline void csum_word(struct csum *c, uint64_t w)
{
	c->a += w;
	c->b += c->a;
}

static uint64_t csum_final(const struct csum *c, uint32_t len)
{
	return mix64(c->a ^ mix64(c->b + len));
}

/* The last len % 8 bytes of a packet, as a zero-padded word. */
static uint64_t tail_word(const void *p, uint32_t n)
{
	uint64_t w = 0;

	memcpy(&w, p, n);
	return w;
}

/* ---- building ---- */

static void hdr_words(const struct pkt_hdr *h, uint64_t w[4])
{
	memcpy(w, h, sizeof(*h));
}

void pkt_build(const struct pkt_seg *segs, unsigned nseg, unsigned gen,
	       uint64_t seq, uint32_t len)
{
	struct pkt_hdr h = {
		.magic = PKT_MAGIC, .gen = (uint16_t)gen,
		.flow = (uint16_t)pkt_flow(gen, seq), .seq = seq, .len = len,
	};
	uint64_t hw[4], base = pattern_base(gen, seq), i = 4;
	struct csum c = { 0, 0 };
	unsigned k;

	hdr_words(&h, hw);
	for (k = 0; k < 4; k++)
		csum_word(&c, hw[k]);
	for (k = 0; k < nseg; k++) {
		unsigned char *p = segs[k].data;
		uint32_t off = k ? 0 : PKT_HDR_LEN, words = segs[k].len / 8;

		for (; off / 8 < words; off += 8, i++) {
			uint64_t w = base + i * WORD_STEP;

			memcpy(p + off, &w, 8);
			csum_word(&c, w);
		}
		if (off < segs[k].len) { /* the tail: last piece only */
			uint64_t w = base + i * WORD_STEP;

			memcpy(p + off, &w, segs[k].len - off);
			csum_word(&c, tail_word(&w, segs[k].len - off));
		}
	}
	h.csum = csum_final(&c, len);
	memcpy(segs[0].data, &h, sizeof(h));
}

/* ---- checking ---- */

int pkt_read_hdr(const void *data, uint32_t len, struct pkt_hdr *out)
{
	if (len < PKT_HDR_LEN)
		return -1;
	memcpy(out, data, sizeof(*out));
	return 0;
}

const char *pkt_check(const void *data, uint32_t len)
{
	const unsigned char *p = data;
	struct pkt_hdr h;
	struct csum c = { 0, 0 };
	uint64_t hw[4], want;
	uint32_t off;
	unsigned k;

	if (pkt_read_hdr(data, len, &h) < 0)
		return "shorter than a header";
	if (h.magic != PKT_MAGIC)
		return "bad magic";
	if (h.len != len)
		return "length field does not match the message";
	if (h.flow != pkt_flow(h.gen, h.seq))
		return "flow field does not match (gen, seq)";
	want = h.csum;
	h.csum = 0;
	hdr_words(&h, hw);
	for (k = 0; k < 4; k++)
		csum_word(&c, hw[k]);
	for (off = PKT_HDR_LEN; off + 8 <= len; off += 8) {
		uint64_t w;

		memcpy(&w, p + off, 8);
		csum_word(&c, w);
	}
	if (off < len)
		csum_word(&c, tail_word(p + off, len - off));
	return csum_final(&c, len) == want ? NULL : "bad checksum";
}
