/* SPDX-License-Identifier: MIT */
/*
 * fuzz_xen_refs - the first page of a peer's lane over Xen, before anything
 * else of it is mapped (ivc_xen_refs_check in src/xen/xen_lane.c).
 *
 * The receiver maps that one page alone, derives the lane's size from the
 * header's geometry, and reads the grant reference of every page from the
 * list after the header; the list decides what gets mapped next, so it must
 * never be read past the page, and never trusted beyond what the handshake
 * (ref0, pages) and the geometry agree on.
 *
 * Input:
 *   u32 ref0, u32 pages    what the handshake said
 *   up to 4096 bytes       the page (zeros after the input ends)
 *
 * Oracles: accepted exactly when the header's geometry, laid out with room
 * for its own list, takes @pages pages, the list says @pages, and starts
 * with ref0; then the layout passes fz_check_geom(), the list fits the
 * transport area and the page, and the references handed back are the
 * page's.  The page and the reference array are allocations of their
 * exact size, so any reach past them is ASan's.
 */
#include <errno.h>

#include "fuzz.h"
#include "xen/xen_pvt.h"

/* The page count an honest sender uses: the smallest n for which a lane
 * with room for an n-entry list takes n pages.  Growing the list only ever
 * grows the lane, so counting up from one finds it; no round limit here,
 * unlike ivc_xen_lane_geom's, so the two are compared.  Return: n with
 * *g its layout, or 0 (invalid, or over IVC_XEN_MAX_PAGES). */
static uint32_t least_pages(const struct ivc_geometry *geo, uint32_t desc_size,
			    struct ivc_lane_geom *g)
{
	uint32_t n = 1, got;

	for (;;) {
		if (ivc_lane_geom_compute_ex(geo, (uint32_t)sizeof(struct ivc_xen_refs) +
							  4 * n,
					     desc_size, g))
			return 0;
		got = (uint32_t)(g->region_size / IVC_PAGE);
		if (got > IVC_XEN_MAX_PAGES)
			return 0;
		if (got == n)
			return n;
		FZ_ASSERT(got > n);
		n = got;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct ivc_lane_hdr h;
	struct ivc_xen_refs list;
	struct ivc_geometry geo;
	struct ivc_lane_geom g, want;
	uint32_t ref0, pages, list_bytes, i;
	unsigned char *page;
	uint32_t *refs;
	int r, ok;

	ref0 = fz_u32(&in);
	pages = fz_u32(&in);
	page = aligned_alloc(IVC_PAGE, IVC_PAGE);
	FZ_ASSERT(page);
	fz_bytes(&in, page, IVC_PAGE);
	refs = malloc(sizeof(*refs) *
		      (pages >= 1 && pages <= IVC_XEN_MAX_PAGES ? pages : 1));
	FZ_ASSERT(refs);

	memset(&g, 0x5a, sizeof(g));
	r = ivc_xen_refs_check(page, ref0, pages, &g, refs);
	FZ_ASSERT(r == 0 || r == -EPROTO);

	/* The expected verdict, from the page as plain bytes. */
	memcpy(&h, page, sizeof(h));
	memcpy(&list, page + IVC_OFF_XPORT, sizeof(list));
	geo.slots = h.slots;
	geo.buf_size = h.buf_size;
	geo.buf_count = h.buf_count;
	list_bytes = (uint32_t)sizeof(list) + 4 * pages;
	ok = pages >= 1 && pages <= IVC_XEN_MAX_PAGES && list.pages == pages &&
	     least_pages(&geo, h.desc_size, &want) == pages;
	if (ok) {
		uint32_t first;

		memcpy(&first, page + IVC_OFF_XPORT + sizeof(list), sizeof(first));
		ok = first == ref0;
	}
	FZ_ASSERT((r == 0) == ok);
	if (!r) {
		fz_check_geom(&g);
		FZ_ASSERT(memcmp(&g, &want, sizeof(g)) == 0);
		FZ_ASSERT(g.xport_size >= list_bytes);
		FZ_ASSERT(IVC_OFF_XPORT + list_bytes <= IVC_PAGE);
		for (i = 0; i < pages; i++) {
			uint32_t ref;

			memcpy(&ref, page + IVC_OFF_XPORT + sizeof(list) + 4 * i,
			       sizeof(ref));
			FZ_ASSERT(refs[i] == ref);
		}
		FZ_ASSERT(refs[0] == ref0);
	}
	free(refs);
	free(page);
	return 0;
}
