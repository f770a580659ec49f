/* SPDX-License-Identifier: MIT */
/* Lanes over grants: the sender shares its lane's pages with gntalloc and
 * lists their references in the lane's first page; the receiver maps that
 * page alone, reads the list once, then maps the whole lane and checks it
 * like any other (ivc_lane_check). */
#include "xen/xen_pvt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/compiler_pvt.h"

/* The list must fit the first page, which the mapper maps alone. */
#define REFS_ROOM (IVC_PAGE - IVC_OFF_XPORT - sizeof(struct ivc_xen_refs))
_Static_assert(REFS_ROOM / 4 == IVC_XEN_MAX_PAGES, "IVC_XEN_MAX_PAGES");

/* A mapping that fails on a reference the peer gave us is its fault
 * (-EPROTO); running out of something is ours to report. */
static int map_err(void)
{
	if (errno == ENOMEM || errno == ENOSPC || errno == EMFILE || errno == EACCES ||
	    errno == EPERM)
		return -errno;
	return -EPROTO;
}

static uint32_t refs_size(uint32_t pages)
{
	return (uint32_t)sizeof(struct ivc_xen_refs) + 4u * pages;
}

int ivc_xen_lane_geom(const struct ivc_geometry *geo, uint32_t desc_size,
		      struct ivc_lane_geom *g)
{
	uint32_t pages = 1;
	int r, i;

	/* The list's size moves the layout, which moves the page count:
	 * iterate to the fixed point (two or three rounds). */
	for (i = 0; i < 8; i++) {
		r = ivc_lane_geom_compute_ex(geo, refs_size(pages), desc_size, g);
		if (r)
			return r;
		if (g->region_size / IVC_PAGE > IVC_XEN_MAX_PAGES)
			return -E2BIG;
		if (g->region_size / IVC_PAGE == pages)
			return 0;
		pages = (uint32_t)(g->region_size / IVC_PAGE);
	}
	return -E2BIG;
}

static struct ivc_xen_refs *lane_refs(void *base)
{
	return (struct ivc_xen_refs *)((unsigned char *)base + IVC_OFF_XPORT);
}

int ivc_xen_lane_share(xengntshr_handle *gs, uint32_t domid,
		       const struct ivc_lane_geom *g, struct ivc_xen_lane *out)
{
	uint32_t pages = (uint32_t)(g->region_size / IVC_PAGE);
	uint32_t *refs = calloc(pages, sizeof(*refs));
	struct ivc_xen_refs *list;
	void *p;

	if (!refs)
		return -ENOMEM;
	p = xengntshr_share_pages(gs, domid, (int)pages, refs, 1);
	if (!p) {
		int e = errno ? -errno : -ENOMEM;

		free(refs);
		return e;
	}
	/* Every page touched now: no fault on the data path later. */
	memset(p, 0, g->region_size);
	list = lane_refs(p);
	list->pages = pages;
	memcpy(list->ref, refs, pages * sizeof(*refs));
	ivc_lane_format(p, g, IVC_IDX_START);
	out->base = p;
	out->pages = pages;
	out->ref0 = refs[0];
	free(refs);
	return 0;
}

int ivc_xen_refs_check(const void *page0, uint32_t ref0, uint32_t pages,
		       struct ivc_lane_geom *g, uint32_t *refs)
{
	const struct ivc_lane_hdr *h = page0;
	const struct ivc_xen_refs *list = (const struct ivc_xen_refs *)
		((const unsigned char *)page0 + IVC_OFF_XPORT);
	struct ivc_geometry geo;
	uint32_t desc_size, i;

	/* The list is read from this one page only: never past its end,
	 * whatever the caller was told (ivc_xen_lane_map checks it first). */
	if (pages < 1 || pages > IVC_XEN_MAX_PAGES)
		return -EPROTO;
	geo.slots = IVC_LOAD(&h->slots);
	geo.buf_size = IVC_LOAD(&h->buf_size);
	geo.buf_count = IVC_LOAD(&h->buf_count);
	desc_size = IVC_LOAD(&h->desc_size);
	if (ivc_xen_lane_geom(&geo, desc_size, g) ||
	    g->region_size != (uint64_t)pages * IVC_PAGE ||
	    IVC_LOAD(&list->pages) != pages)
		return -EPROTO;
	for (i = 0; i < pages; i++)
		refs[i] = IVC_LOAD(&list->ref[i]);
	return refs[0] == ref0 ? 0 : -EPROTO;
}

/* Read the first page's list once into @refs (malloc'd), checked against
 * what the handshake said and what the header's geometry implies. */
static int read_list(xengnttab_handle *gt, uint32_t domid, uint32_t ref0,
		     uint32_t pages, struct ivc_lane_geom *g, uint32_t **refs)
{
	/* The page stays mapped only while it is read: the check fills a
	 * local copy, which is then moved to the heap. */
	uint32_t list[IVC_XEN_MAX_PAGES];
	void *p = xengnttab_map_grant_ref(gt, domid, ref0, PROT_READ);
	int r;

	if (!p)
		return map_err();
	r = ivc_xen_refs_check(p, ref0, pages, g, list);
	if (!r) {
		*refs = malloc(pages * sizeof(**refs));
		if (*refs)
			memcpy(*refs, list, pages * sizeof(**refs));
		else
			r = -ENOMEM;
	}
	xengnttab_unmap(gt, p, 1);
	return r;
}

int ivc_xen_lane_map(xengnttab_handle *gt, uint32_t domid, uint32_t ref0,
		     uint32_t pages, struct ivc_lane_geom *g, uint32_t *start,
		     struct ivc_xen_lane *out)
{
	uint32_t *refs = NULL, i;
	unsigned char *p;
	int r;

	if (pages < 1 || pages > IVC_XEN_MAX_PAGES)
		return -EPROTO;
	r = read_list(gt, domid, ref0, pages, g, &refs);
	if (r)
		return r;
	p = xengnttab_map_domain_grant_refs(gt, pages, domid, refs,
					    PROT_READ | PROT_WRITE);
	free(refs);
	if (!p)
		return map_err();
	/* Fault every page in now rather than on the data path. */
	for (i = 0; i < pages; i++)
		(void)IVC_LOAD(p + (size_t)i * IVC_PAGE);
	r = ivc_lane_check(p, (uint64_t)pages * IVC_PAGE, g, start);
	if (r) {
		xengnttab_unmap(gt, p, pages);
		return r;
	}
	out->base = p;
	out->pages = pages;
	out->ref0 = ref0;
	return 0;
}
