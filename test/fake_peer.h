/* SPDX-License-Identifier: MIT */
/*
 * fake_peer.h - the shm handshake spoken by hand (test helper), for fake
 * clients and servers that lie in one thing each.  The messages are
 * src/shm/shm_handshake_pvt.h's; a fake lane is made the way an honest peer makes its own
 * (src/shm/shm_lane.c) unless told to differ: a memfd allocated in full,
 * sealed against shrinking and growing, formatted, and two eventfds whose
 * counters start at 1.
 */
#ifndef IVC_TEST_FAKE_PEER_H
#define IVC_TEST_FAKE_PEER_H

#include <stdint.h>
#include <sys/types.h>

#include "core/lane_layout_pvt.h"
#include "shm/shm_handshake_pvt.h"

/* How a fake lane's memfd is sealed. */
enum fake_seal {
	SEAL_NONE,        /* not at all */
	SEAL_SIZE,        /* shrink and grow: what an honest peer does */
	SEAL_SIZE_WRITE,  /* shrink, grow and write */
	SEAL_SIZE_SEALED, /* shrink, grow and the seals themselves */
};

struct fake_lane_opts {
	struct ivc_geometry geo; /* {0}: {4, 64, 4} */
	enum fake_seal seal;
	int unformatted;         /* header all zeroes */
	int64_t size_delta;      /* the memfd this much bigger than the lane */
	int sparse;              /* only the first page allocated */
	int hugetlb;             /* MFD_HUGETLB (skip if it cannot be made) */
};

struct fake_lane {
	int memfd;
	int bell[2];
	struct ivc_lane_geom g;
};

/* Make a lane (REQUIREs it).  Return: 0, or -1 for a hugetlb lane this
 * machine cannot make. */
int fake_lane_make(struct fake_lane *f, const struct fake_lane_opts *o);
void fake_lane_free(struct fake_lane *f);

/* A message of @type describing @g (NULL: no geometry). */
void fake_msg(struct ivc_ctrl_msg *m, int type, const struct ivc_lane_geom *g);

/* Connect a SOCK_SEQPACKET socket to @addr ("shm:@name" or "shm:/path"),
 * as a client would, without the library.  Return: the socket, -errno. */
int fake_connect(const char *addr);

/* Send @f as a HELLO (or @type) with its three descriptors. */
int fake_send_lane(int sock, int type, const struct fake_lane *f);
/* Send a READY. */
int fake_send_ready(int sock);

/* Receive one message, waiting up to @timeout_ms; close any descriptors
 * but the first, which goes to *keep when @keep is not NULL and *keep < 0.
 * Return: the byte count, -ETIMEDOUT, -errno.  *nfds: descriptors got. */
ssize_t fake_recv(int sock, void *data, size_t cap, int *nfds, int *keep,
		  int timeout_ms);

#endif
