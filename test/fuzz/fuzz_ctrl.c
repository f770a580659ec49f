/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ctrl - the shm handshake's message, as the peer's socket delivers
 * it: ivc_ctrl_parse() on the raw bytes (HELLO, WELCOME, REJECT, READY),
 * then what the receiving side does with a parsed message: the errno of a
 * REJECT (ivc_ctrl_reject_error) and the lane geometry of a HELLO or
 * WELCOME (ivc_ctrl_geom).
 *
 * The whole input is one datagram, so its length is the peer's to choose
 * too (only exactly 48 bytes parse).  It sits in an allocation of its own
 * size, so a parser that reads past it is ASan's to catch.
 *
 * Oracles: each function's documented result, computed here from
 * docs/layout.md's rules; an accepted geometry passes fz_check_geom() and
 * says exactly what the message said; and when its region is small, a
 * region formatted from it passes the mapper's header check.
 */
#include <errno.h>

#include "fuzz.h"
#include "shm/shm_handshake_pvt.h"

static void check_reject(const struct ivc_ctrl_msg *m)
{
	int r = ivc_ctrl_reject_error(m);

	/* Only the errnos ivc itself sends; never 0 (a REJECT that would
	 * read as success), never positive. */
	switch (m->status) {
	case EACCES:
	case EPROTONOSUPPORT:
	case EPROTO:
	case EINVAL:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case E2BIG:
		FZ_ASSERT(r == -m->status);
		break;
	default:
		FZ_ASSERT(r == -EPROTO);
		break;
	}
}

/* The lane a HELLO/WELCOME describes: accepted exactly when its geometry
 * is valid, with no transport area and the region size it implies. */
static void check_geom(const struct ivc_ctrl_msg *m)
{
	struct ivc_geometry geo = { m->slots, m->buf_size, m->buf_count };
	struct ivc_lane_geom g, want;
	uint32_t desc_size = m->desc_size ? m->desc_size : IVC_DESC_SIZE, start = 0;
	unsigned char *region;
	int ok, r;

	ok = m->xport_size == 0 &&
	     ivc_lane_geom_compute_ex(&geo, 0, desc_size, &want) == 0 &&
	     want.region_size == m->region_size;
	memset(&g, 0x5a, sizeof(g));
	r = ivc_ctrl_geom(m, &g);
	FZ_ASSERT(r == 0 || r == -EPROTO);
	FZ_ASSERT((r == 0) == ok);
	if (r)
		return;
	fz_check_geom(&g);
	FZ_ASSERT(memcmp(&g, &want, sizeof(g)) == 0);
	FZ_ASSERT(g.slots == m->slots && g.buf_size == m->buf_size &&
		  g.buf_count == m->buf_count && g.desc_size == desc_size &&
		  g.xport_size == 0 && g.region_size == m->region_size);
	/* Round trip: the owner formats such a region, the mapper accepts
	 * it (kept to small regions, to stay fast). */
	if (g.region_size > 64 * 1024)
		return;
	region = calloc(1, g.region_size);
	FZ_ASSERT(region);
	ivc_lane_format(region, &g, IVC_IDX_START);
	FZ_ASSERT(ivc_lane_check(region, g.region_size, &g, &start) == 0);
	FZ_ASSERT(start == IVC_IDX_START);
	free(region);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ivc_ctrl_msg m, raw;
	int r, want;

	memset(&m, 0, sizeof(m));
	r = ivc_ctrl_parse(data, size, &m);
	if (size != sizeof(m)) {
		FZ_ASSERT(r == -EPROTO);
		return 0;
	}
	memcpy(&raw, data, sizeof(raw));
	if (raw.magic != IVC_CTRL_MAGIC || raw.type < IVC_CTRL_HELLO ||
	    raw.type > IVC_CTRL_READY)
		want = -EPROTO;
	else if (raw.version != IVC_PROTO_VERSION)
		want = -EPROTONOSUPPORT;
	else
		want = 0;
	FZ_ASSERT(r == want);
	if (r == -EPROTO)
		return 0;
	/* Filled even for another version, so its REJECT can be read. */
	FZ_ASSERT(memcmp(&m, &raw, sizeof(m)) == 0);
	/* The receiver only asks a REJECT for its errno, but the answer
	 * must be sane whatever the message. */
	check_reject(&m);
	/* (A READY carries nothing but its type.) */
	if (!r && (m.type == IVC_CTRL_HELLO || m.type == IVC_CTRL_WELCOME))
		check_geom(&m);
	return 0;
}
