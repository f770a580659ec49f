/* SPDX-License-Identifier: MIT */
/*
 * The byte layout of a lane's region (docs/layout.md describes it byte by
 * byte; the _Static_asserts below pin it).  A region is mapped at different
 * addresses in its two users, so nothing in it is a pointer: only offsets
 * from the region's start and indices, each checked against the geometry.
 *
 * Each cache line after the header has exactly one writer, so the common
 * case moves no line that the reading side also writes.
 *
 *   0    header          owner, once     geometry, offsets, start index
 *   64   tx_hot          sender          desc_cons is NOT here (see rx_hot)
 *   128  rx_hot          receiver        desc_cons, ret_prod
 *   192  rx_cold         receiver        rx_sleep (epoch, odd = asleep)
 *   256  tx_cold         sender          tx_sleep, closed, cpu
 *   320  transport area  transport       (xen: grant refs), may be empty
 *   desc_off             sender          slots x 16- or 128-byte descriptors
 *   ret_off              receiver        ret_slots x 4-byte buffer indices
 *   buf_off (page)       sender/receiver buf_count x buf_size payload bytes
 */
#ifndef IVC_LANE_LAYOUT_PVT_H
#define IVC_LANE_LAYOUT_PVT_H

#include <stddef.h>
#include <stdint.h>

#include <ivc/channel.h>

#define IVC_LANE_MAGIC 0x4c435649u /* "IVCL" in memory order */
#define IVC_LANE_VERSION 2u

#define IVC_MAX_SLOTS 65536u
#define IVC_MAX_BUF_SIZE (16u << 20)
#define IVC_MAX_BUF_COUNT (1u << 20)
#define IVC_MIN_BUF_SIZE 64u

/* Descriptor flags (the public IVC_BUF_MORE is the same bit). */
#define IVC_DESC_MORE 0x1u
/* The payload is in the descriptor itself, not in buffer @buf. */
#define IVC_DESC_INLINE 0x2u
#define IVC_DESC_KNOWN_FLAGS (IVC_DESC_MORE | IVC_DESC_INLINE)

/* Descriptor sizes: 16 bytes (four to a line), or, on a lane whose sender
 * chose IVC_OPT_INLINE, 128 bytes (an adjacent pair of lines, which the
 * hardware fetches together) carrying payloads up to IVC_INLINE_MAX. */
#define IVC_DESC_SIZE 16u
#define IVC_DESC_SIZE_INLINE 128u
#define IVC_INLINE_MAX (IVC_DESC_SIZE_INLINE - IVC_DESC_SIZE)

/* Indices start this far below 2^32 in every lane, the way Linux starts
 * jiffies just before a wrap: every channel crosses the 32-bit wrap within
 * its first thousand messages, so wrap bugs cannot hide for days. */
#define IVC_IDX_START (0u - 1024u)

struct ivc_lane_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_size;
	uint32_t slots;
	uint32_t buf_size;
	uint32_t buf_count;
	uint32_t ret_slots;
	uint32_t desc_off;
	uint32_t ret_off;
	uint64_t buf_off;
	uint64_t region_size;
	uint32_t xport_off;
	uint32_t xport_size;
	uint32_t idx_start;
	uint32_t desc_size;
};

/* Written by the sender only (reserved for a transport's use, and
 * to keep the receiver's hot line apart from the header). */
struct ivc_lane_tx_hot {
	uint32_t reserved[16];
};

/* Written by the receiver: how far it consumed descriptors, and how many
 * buffer indices it has put on the return ring. */
struct ivc_lane_rx_hot {
	uint32_t desc_cons;
	uint32_t ret_prod;
	uint32_t reserved[14];
};

/* Written by the receiver: its sleep epoch; odd while it sleeps waiting for
 * descriptors, so the sender knows a doorbell is needed. */
struct ivc_lane_rx_cold {
	uint32_t rx_sleep;
	uint32_t reserved[15];
};

/* Written by the sender: its sleep epoch (odd while it waits for ring space
 * or buffers), a flag set once it closed in order after its last
 * descriptor, and the CPU it last ran on + 1 (0: unknown). */
struct ivc_lane_tx_cold {
	uint32_t tx_sleep;
	uint32_t closed;
	uint32_t cpu;
	uint32_t reserved[13];
};

/* One descriptor.  @seq is the free-running index the descriptor was
 * written for: the receiver polls the slot it expects next and needs no
 * separate producer index (one cache miss fewer per message).  @seq is
 * stored last with release order.  On an inline lane a payload of at most
 * IVC_INLINE_MAX bytes travels in @data (flag INLINE), so a small message
 * moves one pair of lines instead of a descriptor line and a buffer line. */
struct ivc_desc {
	uint32_t seq;
	uint32_t buf;
	uint32_t len;
	uint32_t flags;
	unsigned char data[];
};

/* Slot @slot of a ring of @desc_size-byte descriptors. */
static inline struct ivc_desc *ivc_desc_at(void *ring, uint32_t desc_size,
					   uint32_t slot)
{
	return (struct ivc_desc *)((unsigned char *)ring + (size_t)slot * desc_size);
}

#define IVC_OFF_HDR 0u
#define IVC_OFF_TX_HOT 64u
#define IVC_OFF_RX_HOT 128u
#define IVC_OFF_RX_COLD 192u
#define IVC_OFF_TX_COLD 256u
#define IVC_OFF_XPORT 320u

_Static_assert(sizeof(struct ivc_lane_hdr) == 64, "header is one cache line");
_Static_assert(offsetof(struct ivc_lane_hdr, slots) == 8, "layout");
_Static_assert(offsetof(struct ivc_lane_hdr, ret_slots) == 20, "layout");
_Static_assert(offsetof(struct ivc_lane_hdr, buf_off) == 32, "layout");
_Static_assert(offsetof(struct ivc_lane_hdr, region_size) == 40, "layout");
_Static_assert(offsetof(struct ivc_lane_hdr, xport_off) == 48, "layout");
_Static_assert(offsetof(struct ivc_lane_hdr, idx_start) == 56, "layout");
_Static_assert(sizeof(struct ivc_lane_tx_hot) == 64, "one line");
_Static_assert(sizeof(struct ivc_lane_rx_hot) == 64, "one line");
_Static_assert(sizeof(struct ivc_lane_rx_cold) == 64, "one line");
_Static_assert(sizeof(struct ivc_lane_tx_cold) == 64, "one line");
_Static_assert(offsetof(struct ivc_lane_tx_cold, cpu) == 8, "layout");
_Static_assert(sizeof(struct ivc_desc) == IVC_DESC_SIZE, "4 per line");
_Static_assert(offsetof(struct ivc_lane_hdr, desc_size) == 60, "layout");
_Static_assert(offsetof(struct ivc_desc, data) == 16, "layout");

/* Where everything lies in a lane of a given geometry.  Computed, never
 * read from the region: the mapper recomputes it and compares. */
struct ivc_lane_geom {
	uint32_t desc_size; /* IVC_DESC_SIZE or IVC_DESC_SIZE_INLINE */
	uint32_t slots;
	uint32_t buf_size;
	uint32_t buf_count;
	uint32_t ret_slots;
	uint32_t xport_size;
	uint32_t desc_off;
	uint32_t ret_off;
	uint64_t buf_off;
	uint64_t region_size;
};

/* Fill defaults into zero fields of @g (slots 256, buf 4096, 2 x slots). */
void ivc_geometry_defaults(struct ivc_geometry *g);

/* Validate a complete geometry and compute the layout with @xport_size
 * bytes of transport area.  Return: 0, or -EINVAL (out of range, not a
 * power of two, region over IVC_MAX_LANE_BYTES). */
int ivc_lane_geom_compute(const struct ivc_geometry *g, uint32_t xport_size,
			  struct ivc_lane_geom *out);
/* The same for a lane with @desc_size-byte descriptors (16 or 128). */
int ivc_lane_geom_compute_ex(const struct ivc_geometry *g, uint32_t xport_size,
			     uint32_t desc_size, struct ivc_lane_geom *out);

/* Largest message a lane of geometry @g carries, in buffers. */
uint32_t ivc_lane_max_chain(const struct ivc_lane_geom *g);

/* Owner: write the header and initial indices into a zeroed region. */
void ivc_lane_format(void *region, const struct ivc_lane_geom *g,
		     uint32_t idx_start);

/* Mapper: read the header once and check it matches @g exactly.
 * Return: 0 with *idx_start set, or -EPROTO. */
int ivc_lane_check(const void *region, uint64_t mapped_len,
		   const struct ivc_lane_geom *g, uint32_t *idx_start);

/* After connect: the header still says what it said (a peer that rewrites
 * it is hostile; nothing reads it for use after ivc_lane_check, so this
 * only detects).  Return: 0, or -EPROTO. */
int ivc_lane_intact(const void *region, const struct ivc_lane_geom *g,
		    uint32_t idx_start);

#endif
