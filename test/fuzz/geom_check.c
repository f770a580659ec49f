/* SPDX-License-Identifier: MIT */
/*
 * The layout invariants every accepted geometry must satisfy, whoever
 * proposed it: a peer's header (fuzz_lane_hdr), a HELLO (fuzz_ctrl), a Xen
 * page list (fuzz_xen_refs).  The data path indexes the region with these
 * offsets and never checks them again, so an accepted geometry with a ring
 * past region_size, or two parts overlapping, would be a memory-safety bug
 * even if the header matched it.
 *
 * Offsets are recomputed here from docs/layout.md's formulas in 64 bits and
 * compared exactly: a 32-bit field that silently wrapped cannot match.
 */
#include "fuzz.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

void fz_check_geom(const struct ivc_lane_geom *g)
{
	uint64_t desc_align, desc_end, ret_end, buf_end;

	FZ_ASSERT(g->desc_size == IVC_DESC_SIZE ||
		  g->desc_size == IVC_DESC_SIZE_INLINE);
	FZ_ASSERT(g->slots >= 2 && g->slots <= IVC_MAX_SLOTS &&
		  !(g->slots & (g->slots - 1)));
	FZ_ASSERT(g->buf_size >= IVC_MIN_BUF_SIZE &&
		  g->buf_size <= IVC_MAX_BUF_SIZE && g->buf_size % 64 == 0);
	FZ_ASSERT(g->buf_count >= 1 && g->buf_count <= IVC_MAX_BUF_COUNT);
	/* The least power of two holding every buffer: an honest receiver
	 * can return them all at once, and the index mask works. */
	FZ_ASSERT(g->ret_slots && !(g->ret_slots & (g->ret_slots - 1)));
	FZ_ASSERT(g->ret_slots >= g->buf_count &&
		  (g->ret_slots == 1 || g->ret_slots / 2 < g->buf_count));
	FZ_ASSERT(g->xport_size % 64 == 0);

	/* In order, each part after the previous one, as documented. */
	desc_align = g->desc_size > 64 ? g->desc_size : 64;
	FZ_ASSERT(g->desc_off == align_up(IVC_OFF_XPORT + (uint64_t)g->xport_size,
					  desc_align));
	desc_end = g->desc_off + (uint64_t)g->slots * g->desc_size;
	FZ_ASSERT(g->ret_off == align_up(desc_end, 64));
	ret_end = g->ret_off + 4ull * g->ret_slots;
	FZ_ASSERT(g->buf_off == align_up(ret_end, IVC_PAGE));
	buf_end = g->buf_off + (uint64_t)g->buf_count * g->buf_size;
	FZ_ASSERT(g->region_size == align_up(buf_end, IVC_PAGE));

	/* And so everything lies inside the region, apart. */
	FZ_ASSERT(g->region_size <= IVC_MAX_LANE_BYTES);
	FZ_ASSERT(IVC_OFF_XPORT + (uint64_t)g->xport_size <= g->desc_off);
	FZ_ASSERT(desc_end <= g->ret_off && ret_end <= g->buf_off);
	FZ_ASSERT(buf_end <= g->region_size);
	FZ_ASSERT(g->buf_off % IVC_PAGE == 0 && g->region_size % IVC_PAGE == 0);

	/* A whole message fits the ring and the pool at once. */
	FZ_ASSERT(ivc_lane_max_chain(g) >= 1 && ivc_lane_max_chain(g) <= g->slots &&
		  ivc_lane_max_chain(g) <= g->buf_count);
}

void *fz_lane_make(struct fz_in *in, uint32_t max_bufs, struct ivc_lane_geom *g,
		   uint32_t *start)
{
	struct ivc_geometry geo;
	uint8_t b0 = fz_u8(in);
	uint32_t got = 0;
	void *region;

	geo.slots = 2u << (b0 & 3);
	geo.buf_count = 1 + fz_u8(in) % max_bufs;
	geo.buf_size = 64 * (1 + fz_u8(in) % 4);
	*start = IVC_IDX_START ^ fz_u32(in);
	FZ_ASSERT(ivc_lane_geom_compute_ex(&geo, 0, (b0 & 4) ? IVC_DESC_SIZE_INLINE :
							       IVC_DESC_SIZE,
					   g) == 0);
	region = aligned_alloc(IVC_PAGE, g->region_size);
	FZ_ASSERT(region);
	memset(region, 0, g->region_size);
	ivc_lane_format(region, g, *start);
	FZ_ASSERT(ivc_lane_check(region, g->region_size, g, &got) == 0);
	FZ_ASSERT(got == *start);
	return region;
}
