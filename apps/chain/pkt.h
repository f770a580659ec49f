/* SPDX-License-Identifier: MIT */
/*
 * pkt.h - the example chain's packet format: a 32-byte header, then a
 * pattern that is a function of (generator, sequence number), covered by a
 * checksum.  Every byte of a packet is therefore predictable by the sink,
 * so corruption, duplication, reordering and misrouting are all detected.
 *
 *   offset  size  field
 *        0     4  magic  PKT_MAGIC
 *        4     2  gen    generator id
 *        6     2  flow   pkt_flow(gen, seq): what the firewall filters on
 *        8     8  seq    sequence number within the generator, from 0
 *       16     4  len    bytes in the whole packet, header included
 *       20     4  zero   reserved, 0
 *       24     8  csum   pkt_csum over the packet with this field as 0
 *       32   ...  pattern: 64-bit words pkt_word(gen, seq, i), i >= 4
 *
 * Fields are in host byte order: the chain's stages share a host.
 */
#ifndef IVC_CHAIN_PKT_H
#define IVC_CHAIN_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAGIC 0x50435649u /* "IVCP" */
#define PKT_HDR_LEN 32u
#define PKT_MIN_LEN 64u
#define PKT_MAX_LEN 9216u     /* jumbo frames */
#define PKT_FLOWS 16u

struct pkt_hdr {
	uint32_t magic;
	uint16_t gen;
	uint16_t flow;
	uint64_t seq;
	uint32_t len;
	uint32_t zero;
	uint64_t csum;
};

_Static_assert(sizeof(struct pkt_hdr) == PKT_HDR_LEN, "header layout");

/* A set of flows (bit f: flow f), e.g. the firewall's block list. */
typedef uint16_t pkt_flowset;

/* The flow of packet (gen, seq): a hash, so every flow appears in every
 * generator's stream, spread out. */
unsigned pkt_flow(unsigned gen, uint64_t seq);

/* Whether packet (gen, seq) is in a flow of @blocked. */
static inline bool pkt_blocked(pkt_flowset blocked, unsigned gen, uint64_t seq)
{
	return (blocked >> pkt_flow(gen, seq)) & 1u;
}

/* The first seq >= @seq (and < @count) whose flow is not blocked, or
 * @count if there is none. */
uint64_t pkt_next_open(pkt_flowset blocked, unsigned gen, uint64_t seq,
		       uint64_t count);

/* Packets of [0, @count) of generator @gen that are not blocked. */
uint64_t pkt_open_count(pkt_flowset blocked, unsigned gen, uint64_t count);

/* "3,11" (flow ids 0..15), "" or "none": 0 and the set, or -1. */
int pkt_parse_flows(const char *s, pkt_flowset *out);
/* The set as text ("3,11", or "none"), into @buf. */
const char *pkt_flows_str(pkt_flowset set, char *buf, size_t size);

/* A piece of a packet: one buffer of a chain.  Every piece but the last
 * holds a multiple of 8 bytes, and the first holds the whole header. */
struct pkt_seg {
	void *data;
	uint32_t len;
};

/*
 * pkt_build() - write packet (gen, seq) of @len bytes into @segs (their
 * lengths must add up to @len, each but the last a multiple of 8).  The
 * pattern and the checksum are computed in one pass over the words
 * written, never read back.
 */
void pkt_build(const struct pkt_seg *segs, unsigned nseg, unsigned gen,
	       uint64_t seq, uint32_t len);

/* Read the header of a packet whose first piece is @data (@len bytes).
 * Return: 0, or -1 when the piece cannot hold one. */
int pkt_read_hdr(const void *data, uint32_t len, struct pkt_hdr *out);

/*
 * pkt_check() - verify a whole packet held contiguously: header fields
 * consistent (magic, length, flow of (gen, seq)), checksum right.
 * Return: NULL if it is intact, else what is wrong (static text).
 */
const char *pkt_check(const void *data, uint32_t len);

#endif
