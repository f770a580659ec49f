/* SPDX-License-Identifier: MIT */
#include "core/lane_layout_pvt.h"

#include <errno.h>
#include <string.h>

#include "util/compiler_pvt.h"

static uint32_t next_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

void ivc_geometry_defaults(struct ivc_geometry *g)
{
	if (!g->slots)
		g->slots = IVC_DEFAULT_SLOTS;
	if (!g->buf_size)
		g->buf_size = IVC_DEFAULT_BUF_SIZE;
	if (!g->buf_count && g->slots <= IVC_MAX_BUF_COUNT / 2)
		g->buf_count = 2 * g->slots;
}

int ivc_lane_geom_compute(const struct ivc_geometry *g, uint32_t xport_size,
			  struct ivc_lane_geom *out)
{
	return ivc_lane_geom_compute_ex(g, xport_size, IVC_DESC_SIZE, out);
}

int ivc_lane_geom_compute_ex(const struct ivc_geometry *g, uint32_t xport_size,
			     uint32_t desc_size, struct ivc_lane_geom *out)
{
	struct ivc_lane_geom l;

	if (desc_size != IVC_DESC_SIZE && desc_size != IVC_DESC_SIZE_INLINE)
		return -EINVAL;

	if (!ivc_is_pow2(g->slots) || g->slots < 2 || g->slots > IVC_MAX_SLOTS)
		return -EINVAL;
	if (g->buf_size < IVC_MIN_BUF_SIZE || g->buf_size > IVC_MAX_BUF_SIZE ||
	    g->buf_size % IVC_CACHELINE)
		return -EINVAL;
	if (g->buf_count < 1 || g->buf_count > IVC_MAX_BUF_COUNT)
		return -EINVAL;
	if (xport_size > (64u << 20))
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	l.desc_size = desc_size;
	l.slots = g->slots;
	l.buf_size = g->buf_size;
	l.buf_count = g->buf_count;
	/* The return ring can hold every buffer at once, so an honest
	 * receiver can never overrun it. */
	l.ret_slots = next_pow2(g->buf_count);
	l.xport_size = (uint32_t)align_up(xport_size, IVC_CACHELINE);
	/* Aligned to the descriptor (an inline one is an adjacent pair). */
	l.desc_off = (uint32_t)align_up(IVC_OFF_XPORT + (uint64_t)l.xport_size,
					desc_size > IVC_CACHELINE ? desc_size :
								    IVC_CACHELINE);
	l.ret_off = (uint32_t)align_up((uint64_t)l.desc_off +
				       (uint64_t)l.slots * desc_size,
				       IVC_CACHELINE);
	l.buf_off = align_up((uint64_t)l.ret_off + (uint64_t)l.ret_slots * 4u,
			     IVC_PAGE);
	l.region_size = align_up(l.buf_off + (uint64_t)l.buf_count * l.buf_size,
				 IVC_PAGE);
	if (l.region_size > IVC_MAX_LANE_BYTES)
		return -EINVAL;
	*out = l;
	return 0;
}

uint32_t ivc_lane_max_chain(const struct ivc_lane_geom *g)
{
	return g->slots < g->buf_count ? g->slots : g->buf_count;
}

void ivc_lane_format(void *region, const struct ivc_lane_geom *g,
		     uint32_t idx_start)
{
	unsigned char *base = region;
	struct ivc_lane_hdr *h = (struct ivc_lane_hdr *)(base + IVC_OFF_HDR);
	struct ivc_lane_rx_hot *rx = (struct ivc_lane_rx_hot *)(base + IVC_OFF_RX_HOT);
	uint32_t i;

	rx->desc_cons = idx_start;
	rx->ret_prod = idx_start;
	/* Each slot says "written one lap ago", so no slot looks ready. */
	for (i = 0; i < g->slots; i++) {
		uint32_t use = idx_start + ((i - idx_start) & (g->slots - 1));

		ivc_desc_at(base + g->desc_off, g->desc_size, i)->seq = use - g->slots;
	}
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
	/* Magic last: a mapper that sees it sees a complete header. */
	IVC_STORE_REL(&h->magic, IVC_LANE_MAGIC);
}

/* Copy the header out of shared memory, each field loaded once. */
static void hdr_read(const void *region, struct ivc_lane_hdr *h)
{
	const struct ivc_lane_hdr *src = region;

	h->magic = IVC_LOAD_ACQ(&src->magic);
	h->version = IVC_LOAD(&src->version);
	h->hdr_size = IVC_LOAD(&src->hdr_size);
	h->slots = IVC_LOAD(&src->slots);
	h->buf_size = IVC_LOAD(&src->buf_size);
	h->buf_count = IVC_LOAD(&src->buf_count);
	h->ret_slots = IVC_LOAD(&src->ret_slots);
	h->desc_off = IVC_LOAD(&src->desc_off);
	h->ret_off = IVC_LOAD(&src->ret_off);
	h->buf_off = IVC_LOAD(&src->buf_off);
	h->region_size = IVC_LOAD(&src->region_size);
	h->xport_off = IVC_LOAD(&src->xport_off);
	h->xport_size = IVC_LOAD(&src->xport_size);
	h->idx_start = IVC_LOAD(&src->idx_start);
	h->desc_size = IVC_LOAD(&src->desc_size);
}

/* The copy says exactly what @g says (idx_start aside). */
static int hdr_matches(const struct ivc_lane_hdr *h, const struct ivc_lane_geom *g)
{
	return h->magic == IVC_LANE_MAGIC && h->version == IVC_LANE_VERSION &&
	       h->hdr_size == sizeof(*h) && h->slots == g->slots &&
	       h->buf_size == g->buf_size && h->buf_count == g->buf_count &&
	       h->ret_slots == g->ret_slots && h->desc_off == g->desc_off &&
	       h->ret_off == g->ret_off && h->buf_off == g->buf_off &&
	       h->region_size == g->region_size &&
	       h->xport_off == IVC_OFF_XPORT && h->xport_size == g->xport_size &&
	       h->desc_size == g->desc_size;
}

int ivc_lane_check(const void *region, uint64_t mapped_len,
		   const struct ivc_lane_geom *g, uint32_t *idx_start)
{
	struct ivc_lane_hdr h;

	if (mapped_len < g->region_size)
		return -EPROTO;
	/* One copy, then only the copy is looked at. */
	hdr_read(region, &h);
	if (!hdr_matches(&h, g))
		return -EPROTO;
	*idx_start = h.idx_start;
	return 0;
}

int ivc_lane_intact(const void *region, const struct ivc_lane_geom *g,
		    uint32_t idx_start)
{
	struct ivc_lane_hdr h;

	hdr_read(region, &h);
	return hdr_matches(&h, g) && h.idx_start == idx_start ? 0 : -EPROTO;
}
