/* SPDX-License-Identifier: MIT */
/*
 * The frame format of ivc-dpdk-check (dpdk_check.h): building a frame,
 * as one mbuf or a chain, and checking one, byte for byte, across
 * whatever segments the receiving PMD put it in.
 */
#include "dpdk_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

/* splitmix64's finaliser: neighbouring sequence numbers get unrelated
 * payloads, so a frame delivered in another's place cannot pass. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t pattern_key(uint32_t round, uint64_t seq)
{
	return mix64(seq + mix64(round));
}

/* The key's bytes in turn, mixed with a term of the offset that has no
 * short period (Knuth's multiplicative hash): a block of a frame copied
 * to another offset (a segment repeated, say) cannot pass either. */
static uint8_t pattern_byte(uint64_t key, uint32_t off)
{
	return (uint8_t)(key >> (8 * (off & 7))) ^
	       (uint8_t)((off * 2654435761u) >> 24);
}

uint8_t chk_pattern(uint32_t round, uint64_t seq, uint32_t off)
{
	return pattern_byte(pattern_key(round, seq), off);
}

static void put_be32(uint8_t *b, uint32_t v)
{
	v = rte_cpu_to_be_32(v);
	memcpy(b, &v, sizeof(v));
}

static void put_be64(uint8_t *b, uint64_t v)
{
	v = rte_cpu_to_be_64(v);
	memcpy(b, &v, sizeof(v));
}

static uint32_t get_be32(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return rte_be_to_cpu_32(v);
}

static uint64_t get_be64(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return rte_be_to_cpu_64(v);
}

/* The first CHK_HDR_LEN bytes of frame (round, seq, len).  The MAC
 * addresses are locally administered unicast ("ivc" in them). */
static void header_bytes(uint8_t *b, uint32_t round, uint64_t seq,
			 uint32_t len)
{
	static const uint8_t dst[RTE_ETHER_ADDR_LEN] = { 0x02, 0x69, 0x76,
							 0x63, 0x00, 0x01 };
	static const uint8_t src[RTE_ETHER_ADDR_LEN] = { 0x02, 0x69, 0x76,
							 0x63, 0x00, 0x00 };

	memcpy(b, dst, sizeof(dst));
	memcpy(b + 6, src, sizeof(src));
	b[12] = (uint8_t)(CHK_ETHERTYPE >> 8);
	b[13] = (uint8_t)CHK_ETHERTYPE;
	put_be32(b + 14, CHK_MAGIC);
	put_be32(b + 18, round);
	put_be64(b + 22, seq);
	put_be32(b + 30, len);
}

/* Bytes [off, off + n) of the frame whose header is hdr. */
static void fill(uint8_t *dst, uint32_t off, uint32_t n, const uint8_t *hdr,
		 uint64_t key)
{
	for (uint32_t i = 0; i < n; i++, off++)
		dst[i] = off < CHK_HDR_LEN ? hdr[off] : pattern_byte(key, off);
}

struct rte_mbuf *chk_frame_build(struct rte_mempool *mp, uint32_t round,
				 uint64_t seq, uint32_t len, uint32_t seg)
{
	uint8_t hdr[CHK_HDR_LEN];
	uint64_t key = pattern_key(round, seq);
	uint32_t step = seg ? seg : len;
	struct rte_mbuf *head = NULL;

	header_bytes(hdr, round, seq, len);
	for (uint32_t off = 0, n; off < len; off += n) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
		char *d;

		n = RTE_MIN(step, len - off);
		if (m == NULL)
			goto fail;
		/* The caller sized the pool's data room for step bytes and
		 * limited the segments to RTE_MBUF_MAX_NB_SEGS, so neither
		 * the append nor the chain can fail; if one did, the frame
		 * is dropped and the caller times out with a message. */
		d = rte_pktmbuf_append(m, (uint16_t)n);
		if (d == NULL) {
			rte_pktmbuf_free(m);
			goto fail;
		}
		fill((uint8_t *)d, off, n, hdr, key);
		if (head == NULL) {
			head = m;
		} else if (rte_pktmbuf_chain(head, m) != 0) {
			rte_pktmbuf_free(m);
			goto fail;
		}
	}
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}

/* The chain must agree with itself: nb_segs segments, whose data_len add
 * up to pkt_len.  The walk is bounded by nb_segs, so a looping chain
 * from a broken PMD is reported, not followed forever. */
static int chain_sane(const struct rte_mbuf *m, struct chk_bad *bad)
{
	uint32_t n = 0;
	uint64_t sum = 0;

	for (const struct rte_mbuf *s = m; s != NULL; s = s->next) {
		if (++n > m->nb_segs) {
			snprintf(bad->what, sizeof(bad->what),
				 "the mbuf chain is longer than its nb_segs %u",
				 m->nb_segs);
			return -1;
		}
		sum += s->data_len;
	}
	if (n != m->nb_segs || sum != m->pkt_len) {
		snprintf(bad->what, sizeof(bad->what),
			 "inconsistent mbuf chain: %" PRIu32 " segments holding %"
			 PRIu64 " B, but nb_segs %u and pkt_len %" PRIu32,
			 n, sum, m->nb_segs, m->pkt_len);
		return -1;
	}
	return 0;
}

int chk_frame_parse(const struct rte_mbuf *m, struct chk_hdr *h,
		    struct chk_bad *bad)
{
	uint8_t buf[CHK_HDR_LEN];
	const uint8_t *b;
	uint32_t type, magic;

	bad->off = 0;
	if (chain_sane(m, bad) != 0)
		return -1;
	if (m->pkt_len < CHK_HDR_LEN) {
		snprintf(bad->what, sizeof(bad->what),
			 "a frame of %" PRIu32 " B, shorter than our header",
			 m->pkt_len);
		return -1;
	}
	/* The header may itself be split across segments. */
	b = rte_pktmbuf_read(m, 0, CHK_HDR_LEN, buf);
	if (b == NULL) {
		snprintf(bad->what, sizeof(bad->what), "unreadable header");
		return -1;
	}
	type = (uint32_t)b[12] << 8 | b[13];
	magic = get_be32(b + 14);
	if (type != CHK_ETHERTYPE || magic != CHK_MAGIC) {
		snprintf(bad->what, sizeof(bad->what),
			 "not one of our frames: ethertype 0x%04" PRIx32
			 ", magic 0x%08" PRIx32 ", %" PRIu32 " B",
			 type, magic, m->pkt_len);
		return -1;
	}
	h->round = get_be32(b + 18);
	h->seq = get_be64(b + 22);
	h->len = get_be32(b + 30);
	return 0;
}

/* The first byte of seg, holding frame offsets [off, off + data_len),
 * that differs from the frame's; -1 when none does. */
static int64_t seg_mismatch(const struct rte_mbuf *seg, uint32_t off,
			    const uint8_t *hdr, uint64_t key)
{
	const uint8_t *d = rte_pktmbuf_mtod(seg, const uint8_t *);
	uint8_t want[256];

	for (uint32_t i = 0; i < seg->data_len; i += sizeof(want)) {
		uint32_t n = RTE_MIN((uint32_t)sizeof(want), seg->data_len - i);

		fill(want, off + i, n, hdr, key);
		if (memcmp(want, d + i, n) == 0)
			continue;
		for (uint32_t j = 0; j < n; j++)
			if (want[j] != d[i + j])
				return (int64_t)(i + j);
	}
	return -1;
}

int chk_frame_check(const struct rte_mbuf *m, uint32_t round, uint64_t seq,
		    uint32_t len, struct chk_bad *bad)
{
	uint8_t hdr[CHK_HDR_LEN];
	uint64_t key = pattern_key(round, seq);
	uint32_t off = 0, nseg = 0;

	bad->off = 0;
	if (chain_sane(m, bad) != 0)
		return -1;
	if (m->pkt_len != len) {
		snprintf(bad->what, sizeof(bad->what),
			 "%" PRIu32 " B long, expected %" PRIu32 " B",
			 m->pkt_len, len);
		return -1;
	}
	header_bytes(hdr, round, seq, len);
	for (const struct rte_mbuf *s = m; s != NULL; s = s->next, nseg++) {
		int64_t at = seg_mismatch(s, off, hdr, key);

		if (at >= 0) {
			const uint8_t *d = rte_pktmbuf_mtod(s, const uint8_t *);
			uint32_t o = off + (uint32_t)at;
			uint8_t want = o < CHK_HDR_LEN ? hdr[o]
						       : pattern_byte(key, o);

			bad->off = o;
			snprintf(bad->what, sizeof(bad->what),
				 "byte %" PRIu32 " (segment %" PRIu32
				 " of %u, its byte %" PRId64
				 ") is 0x%02x, expected 0x%02x",
				 o, nseg, m->nb_segs, at, d[at], want);
			return -1;
		}
		off += s->data_len;
	}
	return 0;
}
