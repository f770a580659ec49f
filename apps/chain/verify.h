/* SPDX-License-Identifier: MIT */
/*
 * verify.h - the sink's account of what arrived, packet by packet.
 *
 * Exact delivery: per generator, exactly its non-blocked sequence numbers
 * 0..N-1, each once, in order, intact, and no packet of a blocked flow.
 *
 * Across a firewall restart (--restart), the firewall's channels are
 * numbered (epochs).  Packets may then be missing only where the crash
 * was: a generator's stream may skip ahead only at its first packet in a
 * new epoch, and its tail may be missing only if its last packet came
 * through a firewall that was killed.  Everything else is as strict as
 * exact delivery; the missing packets are counted as lost.
 */
#ifndef IVC_CHAIN_VERIFY_H
#define IVC_CHAIN_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <ivc/ivc.h>

#include "pkt.h"

struct vgen {
	uint64_t next;          /* the next non-blocked seq expected */
	unsigned epoch;         /* epoch of its last packet */
	uint64_t received, lost;
};

struct verify {
	unsigned gens;
	uint64_t count;         /* per generator */
	uint32_t size;
	pkt_flowset block;
	bool restart;
	bool payload;           /* off: count packets and lengths only */
	unsigned epoch;
	struct vgen *g;
	unsigned char *scratch; /* a chained packet, gathered */
	uint64_t packets, bytes, errors;
	char first_err[200];
};

struct verify_result {
	uint64_t expected;      /* non-blocked packets of all generators */
	uint64_t blocked;       /* packets of blocked flows (never to arrive) */
	uint64_t delivered, lost;
	uint64_t errors;
	const char *first_err;  /* NULL without errors */
};

int verify_init(struct verify *v);
void verify_free(struct verify *v);
/* A packet: @n buffers, the last without IVC_BUF_MORE. */
void verify_packet(struct verify *v, const struct ivc_buf *b, unsigned n);
/* The next packets come through a new firewall channel. */
void verify_epoch(struct verify *v);
/* The end: what is missing, and the totals. */
void verify_finish(struct verify *v, struct verify_result *res);

#endif
