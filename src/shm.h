/* SPDX-License-Identifier: MIT */
/*
 * The shm transport, between the files that make it up:
 *
 *   shm.c          the transport table, the options an endpoint takes
 *   shm_lane.c     our own lane: a memfd allocated in full, and doorbells
 *   shm_own.c      which memfds are our own lanes (a peer may not hand one back)
 *   shm_peer.c     the peer's lane and doorbells: checked, then mapped
 *   shm_xport.c    the transport object: ring, liveness, destroy
 *   shm_path.c     a listener's socket file: made, replaced, removed safely
 *   shm_accept.c   listening: handshakes as a non-blocking state machine
 *   shm_connect.c  connecting
 *
 * Each side's lane is a memfd it allocates in full (its own memory, charged
 * to it) and seals against shrinking.  The handshake (docs/layout.md) is
 * HELLO (client's lane) -> WELCOME (server's lane) -> READY (the client has
 * mapped it).  Whoever maps a lane seals it against holes and new writers
 * (F_SEAL_FUTURE_WRITE) right after mapping it, and each side seals its own
 * lane once the peer has said it mapped it: from then on no page of either
 * lane can vanish (no SIGBUS) and none is ever faulted in on the owner's
 * behalf.
 *
 * Doorbells are eventfds whose owner keeps the counter at 1 or more and
 * never reads it; ringing is a write of 0, which wakes an edge-triggered
 * sleeper and can never block, whatever the peer does to the descriptor we
 * share (its O_NONBLOCK flag, its counter).
 */
#ifndef IVC_SHM_INTERNAL_H
#define IVC_SHM_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include <ivc/channel.h>

#include "lane_layout.h"
#include "transport.h"

struct ivc_addr;
struct ivc_ctrl_msg;

/* A handshake step must come within this long of the one before it: the
 * HELLO after the connection, the READY after the WELCOME, the WELCOME
 * after the HELLO. */
#define IVC_SHM_STEP_MS 2000
/* Handshakes a listener runs at once (more clients wait in its backlog). */
#define IVC_SHM_MAX_PENDING 32u
/* A client that has said nothing for this long may be dropped to make
 * room for a new one when all IVC_SHM_MAX_PENDING are taken. */
#define IVC_SHM_GRACE_MS 100

struct shm_xport {
	struct ivc_xport x;
	int sock;
	int peer_bell[2];
	size_t tx_len, rx_len;
	dev_t tx_dev;   /* our lane's memfd: a peer may not hand it back */
	ino_t tx_ino;
};

/* Our own lane before and during the handshake. */
struct shm_local {
	int memfd;      /* kept until the lane is frozen (ivc_shm_local_done) */
	int bell[2];
	void *region;
	struct ivc_lane_geom g;
	dev_t dev;      /* the memfd's identity (shm_own.c) */
	ino_t ino;
};

/* What an shm endpoint takes from struct ivc_options. */
struct shm_opts {
	struct ivc_lane_geom txg;
	int mode;
	uint32_t spin_max_ns;
	uint64_t peer_lane_max;
	unsigned flags;
	uid_t *uids;    /* our own copy, or NULL */
	size_t n_uids;
};

/* ---- shm.c ---- */

/* Check @o (NULL: defaults) and copy what a shm endpoint needs. */
int ivc_shm_opts(const struct ivc_options *o, struct shm_opts *out);
void ivc_shm_opts_free(struct shm_opts *o);
/* Whether a peer of @uid passes @o's access control: a listener checks
 * its clients, a connector the listener (default: our euid, or root). */
int ivc_shm_uid_allowed(const struct shm_opts *o, uid_t uid, int listener);
/* The uid of the process at the other end of @sock (SO_PEERCRED). */
int ivc_shm_peer_uid(int sock, uid_t *uid, pid_t *pid);

/* ---- shm_lane.c ---- */

/* Make our lane: a memfd of @g's size, every page allocated now (so that
 * the peer never faults one in for us), sealed against shrinking and
 * growing, formatted and mapped; and our two doorbells, counters at 1. */
int ivc_shm_local_make(struct shm_local *l, const struct ivc_lane_geom *g);
/* Undo ivc_shm_local_make() (what is still there). */
void ivc_shm_local_free(struct shm_local *l);
/* Seal @memfd against holes and new writable mappings, and check that
 * every page of its @size bytes is there.  Return: 0, or -EPROTO (the
 * other side punched a hole, or sealed it so that we cannot). */
int ivc_shm_freeze(int memfd, uint64_t size);
/* Our lane's memfd after the peer mapped it: freeze it and let it go. */
int ivc_shm_local_done(struct shm_local *l);

/* ---- shm_own.c ---- */

/* Remember (0, or -ENOMEM), forget, and look up a memfd this process made
 * for a lane that is not frozen yet. */
int ivc_shm_own_add(dev_t dev, ino_t ino);
void ivc_shm_own_del(dev_t dev, ino_t ino);
int ivc_shm_own_has(dev_t dev, ino_t ino);

/* ---- shm_peer.c ---- */

/* Check and map the peer's lane and doorbells described by @m and @fds
 * (memfd, RX bell, TX bell: taken over, closed on every path), at most
 * @max bytes.  @peer_pid: the peer's process (SO_PEERCRED); a lane this
 * process made is taken only from this process itself (a pair of
 * endpoints in one process), never our own lane of this handshake.
 * Nothing of the peer's memory is touched before it is known to be
 * allocated and sealed.  Return: 0 with *g and *start set; -E2BIG (over
 * @max); -EPROTO; -ENOMEM (our own address space). */
int ivc_shm_peer_map(struct shm_xport *s, const struct ivc_ctrl_msg *m,
		     int *fds, uint64_t max, pid_t peer_pid,
		     struct ivc_lane_geom *g, uint32_t *start);
/* Map the page tables of the peer's lane now (its pages are all there),
 * so the data path takes no page faults.  Best effort. */
void ivc_shm_peer_populate(struct shm_xport *s);

/* ---- shm_xport.c ---- */

/* Make our lane (@loc) and a transport around it. */
int ivc_shm_xport_make(const struct ivc_lane_geom *g, struct shm_local *loc,
		       struct shm_xport **out);
void ivc_shm_xport_destroy(struct ivc_xport *x);
/* Send our lane: @loc's memfd and @s's doorbells. */
int ivc_shm_send_lane(int sock, int type, int mode, const struct shm_local *loc,
		      const struct shm_xport *s, uint64_t deadline);
/* Wrap @s (both lanes mapped) in a channel over @sock.  Takes @s: on
 * failure it is destroyed, but @sock is left to the caller. */
int ivc_shm_channel(struct shm_xport *s, int sock, const struct shm_opts *o,
		    const struct ivc_lane_geom *rxg, uint32_t rx_start,
		    struct ivc_channel **out);

/* ---- shm_path.c ---- */

/* A socket listening at @a.  Only a socket file nobody listens on is
 * replaced; anything else at the path is -EADDRINUSE, left alone.  A
 * filesystem permission error is -EPERM.  *dev, *ino: the file we made.
 * Return: the socket (non-blocking), or -errno. */
int ivc_shm_bind(const struct ivc_addr *a, dev_t *dev, ino_t *ino);
/* Remove the socket file at @a if it is still the one we made. */
void ivc_shm_unbind(const struct ivc_addr *a, dev_t dev, ino_t ino);

/* ---- the transport's entry points (shm_accept.c, shm_connect.c) ---- */

int ivc_shm_listen(const char *addr, const struct ivc_options *opts,
		   struct ivc_listener **out);
int ivc_shm_connect(const char *addr, const struct ivc_options *opts,
		    int timeout_ms, struct ivc_channel **out);

#endif
