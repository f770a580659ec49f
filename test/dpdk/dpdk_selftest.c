/* SPDX-License-Identifier: MIT */
/*
 * ivc-dpdk-check selftest: the frame format against itself, without a
 * port.  Every frame the checker passes must be exactly the one built,
 * however it is cut into segments; every fault (a flipped byte anywhere,
 * another sequence number, round or length, a repeated or swapped
 * segment, an inconsistent chain) must be caught, at the right offset.
 * The stream's own faults (loss, duplicates, reordering) are shown by
 * verify --inject over a loopback port (test/dpdk/pmd_selftest.sh).
 */
#include "dpdk_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>

static unsigned checks, fails;

#define EXPECT(cond, ...)                                                   \
	do {                                                                \
		checks++;                                                   \
		if (!(cond)) {                                              \
			fails++;                                            \
			fprintf(stderr, "selftest: FAIL line %d: ", __LINE__); \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
		}                                                           \
	} while (0)

struct pools {
	struct rte_mempool *big;	/* whole 9000 B frames */
	struct rte_mempool *small;	/* segments of up to 256 B */
};

static struct rte_mbuf *build(const struct pools *pp, uint32_t round,
			      uint64_t seq, uint32_t len, uint32_t seg)
{
	return chk_frame_build(seg && seg <= 256 ? pp->small : pp->big, round,
			       seq, len, seg);
}

/* Byte off of a chain, wherever its segment is. */
static uint8_t *byte_at(struct rte_mbuf *m, uint32_t off)
{
	for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
		if (off < s->data_len)
			return rte_pktmbuf_mtod_offset(s, uint8_t *, off);
		off -= s->data_len;
	}
	return NULL;
}

/* Built, parsed, checked, and every payload byte as chk_pattern says. */
static void t_roundtrip(const struct pools *pp, uint32_t len, uint32_t seg)
{
	struct rte_mbuf *m = build(pp, 7, 1000 + len, len, seg);
	uint32_t want_segs = seg ? (len + seg - 1) / seg : 1;
	struct chk_hdr h;
	struct chk_bad bad;
	uint32_t wrong = 0;

	EXPECT(m != NULL, "build %" PRIu32 " B in %" PRIu32 " B segments", len, seg);
	if (m == NULL)
		return;
	EXPECT(m->pkt_len == len && m->nb_segs == want_segs,
	       "%" PRIu32 "/%" PRIu32 ": pkt_len %" PRIu32 ", %u segments", len,
	       seg, m->pkt_len, m->nb_segs);
	EXPECT(chk_frame_parse(m, &h, &bad) == 0 && h.round == 7 &&
		       h.seq == 1000 + len && h.len == len,
	       "%" PRIu32 "/%" PRIu32 ": parse", len, seg);
	EXPECT(chk_frame_check(m, 7, 1000 + len, len, &bad) == 0,
	       "%" PRIu32 "/%" PRIu32 ": check: %s", len, seg, bad.what);
	for (uint32_t off = CHK_HDR_LEN; off < len; off++)
		wrong += *byte_at(m, off) != chk_pattern(7, 1000 + len, off);
	EXPECT(wrong == 0, "%" PRIu32 " bytes differ from chk_pattern", wrong);
	rte_pktmbuf_free(m);
}

/* A flipped byte at off is found, at off; put back, the frame passes. */
static void t_flip(const struct pools *pp, uint32_t len, uint32_t seg,
		   uint32_t off)
{
	struct rte_mbuf *m = build(pp, 1, 42, len, seg);
	struct chk_bad bad;
	uint8_t *b;

	if (m == NULL || off >= len) {
		EXPECT(m != NULL, "build");
		rte_pktmbuf_free(m);
		return;
	}
	b = byte_at(m, off);
	*b ^= 0x01;
	EXPECT(chk_frame_check(m, 1, 42, len, &bad) != 0 && bad.off == off,
	       "%" PRIu32 "/%" PRIu32 ": a flip at %" PRIu32 " reported at %" PRIu32
	       " (%s)", len, seg, off, bad.off, bad.what);
	*b ^= 0x01;
	EXPECT(chk_frame_check(m, 1, 42, len, &bad) == 0, "restored: %s", bad.what);
	rte_pktmbuf_free(m);
}

static void t_flips(const struct pools *pp)
{
	static const uint32_t offs[] = { 0, 5, 12, 13, 14, 17, 18, 22, 29, 30,
					 33, 34, 35, 63, 255, 256, 257, 1517,
					 2047, 2048, 8999 };
	static const uint32_t shapes[][2] = { { 64, 7 }, { 64, 0 }, { 1518, 256 },
					      { 1518, 0 }, { 9000, 0 },
					      { 9000, 2048 }, { 9000, 33 } };

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
			if (offs[i] < shapes[s][0])
				t_flip(pp, shapes[s][0], shapes[s][1], offs[i]);
}

/* The frame (round 3, seq 100, 1518 B) is not any other frame. */
static void t_identity(const struct pools *pp)
{
	struct rte_mbuf *m = build(pp, 3, 100, 1518, 256);
	struct chk_hdr h;
	struct chk_bad bad;

	if (m == NULL) {
		EXPECT(0, "build");
		return;
	}
	EXPECT(chk_frame_check(m, 3, 99, 1518, &bad) != 0, "seq 99 passed");
	EXPECT(chk_frame_check(m, 3, 101, 1518, &bad) != 0, "seq 101 passed");
	EXPECT(chk_frame_check(m, 2, 100, 1518, &bad) != 0, "round 2 passed");
	EXPECT(chk_frame_check(m, 3, 100, 1517, &bad) != 0, "1517 B passed");
	EXPECT(chk_frame_check(m, 3, 100, 1519, &bad) != 0, "1519 B passed");
	/* a header byte of ours gone: no longer one of ours */
	*byte_at(m, 12) ^= 0x80;
	EXPECT(chk_frame_parse(m, &h, &bad) != 0, "ethertype damage parsed");
	*byte_at(m, 12) ^= 0x80;
	*byte_at(m, 16) ^= 0x80;
	EXPECT(chk_frame_parse(m, &h, &bad) != 0, "magic damage parsed");
	*byte_at(m, 16) ^= 0x80;
	EXPECT(chk_frame_parse(m, &h, &bad) == 0, "restored: %s", bad.what);
	rte_pktmbuf_free(m);
}

/* Neighbouring frames share about 1/256 of their payload bytes, as
 * unrelated ones would: none can stand in for another. */
static void t_neighbours(void)
{
	uint64_t same = 0, total = 0;

	for (uint64_t seq = 0; seq < 2000; seq++)
		for (uint32_t off = CHK_HDR_LEN; off < 1518; off++, total++) {
			same += chk_pattern(1, seq, off) == chk_pattern(1, seq + 1, off);
			same += chk_pattern(1, seq, off) == chk_pattern(2, seq, off);
		}
	EXPECT(same * 100 < total * 2, "neighbours share %" PRIu64 " of %" PRIu64
	       " bytes", same, 2 * total);
}

/* A segment repeated in place of the next, or two swapped: caught at the
 * first byte of the damage. */
static void t_segments(const struct pools *pp)
{
	struct rte_mbuf *m = build(pp, 1, 5, 1024, 256);
	uint8_t save[256];
	struct chk_bad bad;
	uint8_t *s1, *s2;

	if (m == NULL || m->nb_segs != 4) {
		EXPECT(0, "build");
		rte_pktmbuf_free(m);
		return;
	}
	s1 = rte_pktmbuf_mtod(m->next, uint8_t *);
	s2 = rte_pktmbuf_mtod(m->next->next, uint8_t *);
	memcpy(save, s2, sizeof(save));
	memcpy(s2, s1, sizeof(save));
	EXPECT(chk_frame_check(m, 1, 5, 1024, &bad) != 0 && bad.off == 512,
	       "a repeated segment: %s", bad.what);
	memcpy(s2, save, sizeof(save));
	{
		struct rte_mbuf *a = m->next, *b = a->next;

		a->next = b->next;	/* swap segments 1 and 2 */
		b->next = a;
		m->next = b;
	}
	EXPECT(chk_frame_check(m, 1, 5, 1024, &bad) != 0 && bad.off == 256,
	       "swapped segments: %s", bad.what);
	rte_pktmbuf_free(m);
}

/* What a receiving PMD may do: the same bytes cut anywhere, even inside
 * the header.  The checker follows the chain. */
static void t_resplit(const struct pools *pp)
{
	static const uint16_t cuts[] = { 1, 13, 20, 100, 255, 1 };
	struct rte_mbuf *src = build(pp, 9, 77, 9000, 0), *head = NULL;
	struct chk_hdr h;
	struct chk_bad bad;
	uint32_t off = 0;

	for (size_t i = 0; src && off < 9000; i++) {
		uint16_t n = i < sizeof(cuts) / sizeof(cuts[0]) ? cuts[i] : 256;
		struct rte_mbuf *seg = rte_pktmbuf_alloc(pp->small);
		char *d;

		n = (uint16_t)RTE_MIN((uint32_t)n, 9000 - off);
		d = seg ? rte_pktmbuf_append(seg, n) : NULL;
		if (d == NULL) {
			rte_pktmbuf_free(seg);
			break;
		}
		/* src is one segment: its bytes are contiguous */
		memcpy(d, rte_pktmbuf_mtod_offset(src, char *, off), n);
		if (head == NULL)
			head = seg;
		else if (rte_pktmbuf_chain(head, seg) != 0) {
			rte_pktmbuf_free(seg);
			break;
		}
		off += n;
	}
	EXPECT(off == 9000 && head != NULL, "re-split built %" PRIu32 " B", off);
	if (head != NULL) {
		EXPECT(chk_frame_parse(head, &h, &bad) == 0 && h.seq == 77,
		       "re-split parse: %s", bad.what);
		EXPECT(chk_frame_check(head, 9, 77, 9000, &bad) == 0,
		       "re-split check: %s", bad.what);
	}
	rte_pktmbuf_free(head);
	rte_pktmbuf_free(src);
}

/* Chains that disagree with themselves, and frames too short. */
static void t_chains(const struct pools *pp)
{
	struct rte_mbuf *m = build(pp, 1, 1, 600, 256);
	struct chk_hdr h;
	struct chk_bad bad;

	if (m == NULL) {
		EXPECT(0, "build");
		return;
	}
	m->nb_segs++;
	EXPECT(chk_frame_check(m, 1, 1, 600, &bad) != 0, "nb_segs + 1 passed");
	EXPECT(chk_frame_parse(m, &h, &bad) != 0, "nb_segs + 1 parsed");
	m->nb_segs -= 2;
	EXPECT(chk_frame_check(m, 1, 1, 600, &bad) != 0, "nb_segs - 1 passed");
	m->nb_segs++;
	m->pkt_len--;
	EXPECT(chk_frame_check(m, 1, 1, 600, &bad) != 0, "pkt_len - 1 passed");
	m->pkt_len++;
	EXPECT(rte_pktmbuf_trim(m, 1) == 0 &&
		       chk_frame_check(m, 1, 1, 600, &bad) != 0,
	       "a frame one byte short passed");
	rte_pktmbuf_free(m);
	m = rte_pktmbuf_alloc(pp->small);
	if (m != NULL && rte_pktmbuf_append(m, 20) != NULL) {
		memset(rte_pktmbuf_mtod(m, void *), 0, 20);
		EXPECT(chk_frame_parse(m, &h, &bad) != 0, "20 B parsed");
	}
	rte_pktmbuf_free(m);
}

int chk_selftest(const struct chk_opts *o)
{
	static const uint32_t lens[] = { 34, 60, 64, 65, 255, 256, 257, 1514,
					 1518, 2048, 2049, 9000 };
	static const uint32_t segs[] = { 0, 7, 33, 34, 35, 64, 256, 1000, 2048 };
	struct pools pp;

	(void)o;
	pp.big = rte_pktmbuf_pool_create("st_big", 63, 0, 0,
					 9000 + RTE_PKTMBUF_HEADROOM,
					 SOCKET_ID_ANY);
	pp.small = rte_pktmbuf_pool_create("st_small", 4095, 0, 0,
					   256 + RTE_PKTMBUF_HEADROOM,
					   SOCKET_ID_ANY);
	if (pp.big == NULL || pp.small == NULL) {
		fprintf(stderr, "selftest: mbuf pools: %s\n", rte_strerror(rte_errno));
		return CHK_FAIL;
	}
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		if (lens[l] <= 256)
			t_roundtrip(&pp, lens[l], 1);	/* a byte a segment */
		for (size_t s = 0; s < sizeof(segs) / sizeof(segs[0]); s++)
			t_roundtrip(&pp, lens[l], segs[s]);
	}
	t_flips(&pp);
	t_identity(&pp);
	t_neighbours();
	t_segments(&pp);
	t_resplit(&pp);
	t_chains(&pp);
	if (fails) {
		printf("selftest: FAIL: %u of %u checks failed\n", fails, checks);
		return CHK_FAIL;
	}
	printf("selftest: ok: %u checks\n", checks);
	return CHK_OK;
}
