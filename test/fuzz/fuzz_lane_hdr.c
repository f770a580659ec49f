/* SPDX-License-Identifier: MIT */
/*
 * fuzz_lane_hdr - the geometry a peer proposes and the header it wrote.
 *
 * A mapper recomputes the layout from the peer's slots, buf_size, buf_count
 * and descriptor size (ivc_lane_geom_compute_ex), then reads the peer's
 * header once and demands that it say exactly the same (ivc_lane_check).
 * Everything the data path later does with offsets rests on these two.
 *
 * Input:
 *   u32 slots, u32 buf_size, u32 buf_count, u32 xport_size, u32 desc_size
 *       the proposal, raw (libFuzzer's comparison tracing finds the valid
 *       ranges; the seeds start inside them)
 *   u32 idx_start          what an honest owner would write
 *   64 bytes               XORed over the honest header: all zeros is the
 *                          honest peer, anything else a lying one, and
 *                          every 64-byte header is reachable
 *   u64                    XORed over region_size: the length mapped
 *
 * Oracles: compute succeeds exactly when docs/layout.md says the geometry
 * is valid, and then its layout passes fz_check_geom(); ivc_lane_format
 * writes what the document says (small regions only, to stay fast); the
 * check accepts exactly the honest header, whatever idx_start says, and
 * only when enough is mapped.
 */
#include <errno.h>

#include "fuzz.h"

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* docs/layout.md's rules, written again from the document rather than
 * from lane_layout.c, so the two are compared. */
static int doc_valid(const struct ivc_geometry *geo, uint32_t xport_size,
		     uint32_t desc_size)
{
	uint64_t ret_slots = 1, off;

	if (desc_size != IVC_DESC_SIZE && desc_size != IVC_DESC_SIZE_INLINE)
		return 0;
	if (!is_pow2(geo->slots) || geo->slots < 2 || geo->slots > IVC_MAX_SLOTS)
		return 0;
	if (geo->buf_size < IVC_MIN_BUF_SIZE || geo->buf_size > IVC_MAX_BUF_SIZE ||
	    geo->buf_size % 64)
		return 0;
	if (geo->buf_count < 1 || geo->buf_count > IVC_MAX_BUF_COUNT)
		return 0;
	if (xport_size > (64u << 20))
		return 0;
	while (ret_slots < geo->buf_count)
		ret_slots <<= 1;
	off = align_up(IVC_OFF_XPORT + align_up(xport_size, 64),
		       desc_size > 64 ? desc_size : 64);
	off = align_up(off + (uint64_t)geo->slots * desc_size, 64);
	off = align_up(off + 4 * ret_slots, IVC_PAGE);
	off = align_up(off + (uint64_t)geo->buf_count * geo->buf_size, IVC_PAGE);
	return off <= IVC_MAX_LANE_BYTES;
}

/* The header an honest owner of @g writes (the table in docs/layout.md). */
static void honest_hdr(const struct ivc_lane_geom *g, uint32_t idx_start,
		       struct ivc_lane_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = IVC_LANE_MAGIC;
	h->version = IVC_LANE_VERSION;
	h->hdr_size = sizeof(*h);
	h->slots = g->slots;
	h->buf_size = g->buf_size;
	h->buf_count = g->buf_count;
	h->ret_slots = g->ret_slots;
	h->desc_off = g->desc_off;
	h->ret_off = g->ret_off;
	h->buf_off = g->buf_off;
	h->region_size = g->region_size;
	h->xport_off = IVC_OFF_XPORT;
	h->xport_size = g->xport_size;
	h->idx_start = idx_start;
	h->desc_size = g->desc_size;
}

/* Format a real region and compare with the document: the header, both
 * receiver indices, and every slot stamped "written one lap ago". */
static void check_format(const struct ivc_lane_geom *g, uint32_t idx_start)
{
	struct ivc_lane_hdr want;
	const struct ivc_lane_rx_hot *rx;
	unsigned char *region = calloc(1, g->region_size);
	uint32_t i, got = ~idx_start;

	FZ_ASSERT(region);
	ivc_lane_format(region, g, idx_start);
	honest_hdr(g, idx_start, &want);
	FZ_ASSERT(memcmp(region, &want, sizeof(want)) == 0);
	rx = (const struct ivc_lane_rx_hot *)(region + IVC_OFF_RX_HOT);
	FZ_ASSERT(rx->desc_cons == idx_start && rx->ret_prod == idx_start);
	for (i = 0; i < g->slots; i++) {
		uint32_t seq = ivc_desc_at(region + g->desc_off, g->desc_size, i)->seq;

		/* The stamp of the previous lap of the slot's first use. */
		FZ_ASSERT(((seq + g->slots) & (g->slots - 1)) == i);
		FZ_ASSERT(seq + g->slots - idx_start < g->slots);
	}
	FZ_ASSERT(ivc_lane_check(region, g->region_size, g, &got) == 0);
	FZ_ASSERT(got == idx_start);
	free(region);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct ivc_geometry geo;
	struct ivc_lane_geom g;
	struct ivc_lane_hdr honest, *peer;
	uint32_t xport_size, desc_size, idx_start, got;
	unsigned char mask[sizeof(honest)];
	uint64_t mapped;
	int r, same;
	size_t i;

	geo.slots = fz_u32(&in);
	geo.buf_size = fz_u32(&in);
	geo.buf_count = fz_u32(&in);
	xport_size = fz_u32(&in);
	desc_size = fz_u32(&in);
	idx_start = fz_u32(&in);
	fz_bytes(&in, mask, sizeof(mask));

	memset(&g, 0xa5, sizeof(g));
	r = ivc_lane_geom_compute_ex(&geo, xport_size, desc_size, &g);
	FZ_ASSERT(r == 0 || r == -EINVAL);
	FZ_ASSERT((r == 0) == doc_valid(&geo, xport_size, desc_size));
	if (r)
		return 0;
	fz_check_geom(&g);
	FZ_ASSERT(g.slots == geo.slots && g.buf_size == geo.buf_size &&
		  g.buf_count == geo.buf_count && g.desc_size == desc_size);
	FZ_ASSERT(g.xport_size >= xport_size && g.xport_size - xport_size < 64);
	if (g.region_size <= 64 * 1024)
		check_format(&g, idx_start);

	/* The peer's header, alone in an allocation of its exact size: the
	 * check must not read past it (the rest of a region is not its to
	 * look at). */
	honest_hdr(&g, idx_start, &honest);
	peer = malloc(sizeof(*peer));
	FZ_ASSERT(peer);
	memcpy(peer, &honest, sizeof(*peer));
	for (i = 0; i < sizeof(mask); i++)
		((unsigned char *)peer)[i] ^= mask[i];
	mapped = g.region_size ^ fz_u64(&in);

	got = 0;
	r = ivc_lane_check(peer, mapped, &g, &got);
	FZ_ASSERT(r == 0 || r == -EPROTO);
	/* Every byte but idx_start's must be the honest one. */
	same = 1;
	for (i = 0; i < sizeof(mask); i++)
		if (mask[i] && (i < offsetof(struct ivc_lane_hdr, idx_start) ||
				i >= offsetof(struct ivc_lane_hdr, idx_start) + 4))
			same = 0;
	FZ_ASSERT((r == 0) == (same && mapped >= g.region_size));
	if (!r)
		FZ_ASSERT(got == peer->idx_start);
	free(peer);
	return 0;
}
