/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @brief Settings of the tcp transport ("tcp:<host>:<port>", and the tcp
 * side of "net:<host>:<port>"): which peers a listener lets in.
 *
 * A tcp peer has no uid or domid the kernel vouches for: a listener lets
 * in peers by their address only.  By default that is loopback only
 * (127.0.0.0/8, ::1).  Nothing on the wire is encrypted (docs/tcp.md,
 * docs/security.md).
 */
#ifndef IVC_TCP_H
#define IVC_TCP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most networks one tcp listener may allow (ivc_tcp_options.n_allow). */
#define IVC_TCP_MAX_ALLOW 256u

/**
 * struct ivc_tcp_options - settings of a tcp endpoint; zero = defaults.
 * @allow:    networks a listener lets in, each "<address>/<prefix>" or an
 *            address alone (a /32 or /128): "10.0.0.0/8", "fd00::/8",
 *            "192.0.2.7".  The list replaces the default (loopback only):
 *            name "127.0.0.0/8" and "::1" to keep loopback.  A peer that is
 *            not on it is closed before a byte is read.  An IPv4 peer that
 *            reaches an IPv6 socket (::ffff:a.b.c.d) matches as IPv4.
 *            Copied during the call; a malformed entry is -EINVAL.
 * @n_allow:  entries of @allow (at most IVC_TCP_MAX_ALLOW).
 * @reserved: must be zero.
 */
struct ivc_tcp_options {
	const char *const *allow;
	size_t n_allow;
	uint64_t reserved[8];
};

#ifdef __cplusplus
}
#endif
#endif
