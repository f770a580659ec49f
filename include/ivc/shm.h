/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/shm.h
 * @brief Settings only the shm transport ("shm:" addresses) takes.
 *
 * An shm endpoint trusts peers by uid (SO_PEERCRED on the Unix socket) and
 * maps the peer's lane in its own address space; struct ivc_shm_options
 * says whom it trusts and how large a lane it maps.  Give it through
 * struct ivc_options.shm; NULL means the defaults.  An endpoint of another
 * transport given shm options fails with -EINVAL.
 */
#ifndef IVC_SHM_H
#define IVC_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A bit of struct ivc_options.flags, shm only (an endpoint of another
 * transport given it fails with -EINVAL): trust a peer of any uid.  On a
 * listener: accept clients of any uid (default: only the listener's own
 * euid).  On a connector: talk to a listener of any uid (default: only one
 * running as our own euid or as root), which lets whoever took the address
 * first have our lane.  It overrides ivc_shm_options.allowed_uids.
 */
#define IVC_OPT_ANY_UID 0x1u

/** Most uids one shm endpoint may trust (ivc_shm_options.n_allowed_uids);
 *  a longer list is -EINVAL. */
#define IVC_SHM_MAX_UIDS 65536u

/** Largest lane of a peer's that a shm endpoint maps unless told otherwise
 *  (ivc_shm_options.peer_lane_max): 256 MiB. */
#define IVC_DEFAULT_PEER_LANE_MAX (256ull << 20)

/**
 * struct ivc_shm_options - shm settings; zero-initialised = defaults.
 * @allowed_uids:   the uids of the peers this endpoint trusts.  On a
 *                  listener, the clients allowed to connect (NULL: the
 *                  listener's own effective uid only).  On a connector, the
 *                  uids the listener may run as (NULL: our own effective
 *                  uid, or root); it is checked (SO_PEERCRED) before
 *                  anything is sent, and another is -EACCES.  Copied by
 *                  ivc_listen() and ivc_connect().
 * @n_allowed_uids: entries in @allowed_uids, at most IVC_SHM_MAX_UIDS
 *                  (not 0 with a NULL list: -EINVAL).
 * @peer_lane_max:  the largest lane (region) of the peer's that this
 *                  endpoint maps, in bytes (0: IVC_DEFAULT_PEER_LANE_MAX);
 *                  a larger one is refused with -E2BIG.  The peer allocates
 *                  its lane itself; what mapping it costs us is page tables
 *                  and address space.
 * @reserved:       must be zero (-EINVAL otherwise): room for settings to
 *                  come, whose zero will mean what the library does now.
 */
struct ivc_shm_options {
	const uid_t *allowed_uids;
	size_t n_allowed_uids;
	uint64_t peer_lane_max;
	uint64_t reserved[8];
};

#ifdef __cplusplus
}
#endif
#endif
