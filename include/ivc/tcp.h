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
/** ivc_tcp_options.flags: this end tells the peer what it consumed
 *  (ring slots it read, buffers it released) lazily: with its next send,
 *  once a quarter of the ring or of the peer's buffers waits to be told,
 *  or when the peer asks (its sender waits for room or buffers, or counts
 *  what is in flight: ivc_tx_in_flight() and the other ivc_tx_ counts),
 *  which this end answers at its next call (its waits and ivc_arm() wake
 *  for it); not at once.  A peer of a version that never asks is told
 *  when this end has nothing to do instead (before it waits, ivc_arm()).
 *  One system call per round trip instead of two or three; the price is
 *  that the peer sees room and buffers come back later than over shm
 *  (while this end is busy elsewhere), and that ivc_tx_in_flight() on its
 *  side counts them a while longer (docs/tcp.md). */
#define IVC_TCP_LAZY_RETURNS 1u
/** ivc_tcp_options.flags: a send is done once the kernel has its bytes,
 *  as a write() to a socket is.  By default ivc_send() and ivc_tx_send()
 *  with a timeout other than 0 also wait until those bytes have left the
 *  host (transmitted), so that a message reported sent survives this
 *  process's death even when its kernel answers that death with a reset
 *  (it does when unread input is left: what it still held unsent is then
 *  discarded).  That wait is one more system call per send.  With this
 *  flag a send returns as soon as the kernel has all of its bytes,
 *  whatever its timeout; only a send whose bytes the socket could not all
 *  take still waits for them to leave, within its timeout.  What was
 *  queued but not yet transmitted when this process dies with unread
 *  input is lost, as over a plain socket.  ivc_close() still waits for
 *  everything to leave.  A flag of this end only: the peer is not told. */
#define IVC_TCP_QUEUED_SENDS 2u

/** Shortest and longest pre-shared key (ivc_tcp_options.psk_len), bytes. */
#define IVC_TCP_PSK_MIN 16u
#define IVC_TCP_PSK_MAX 256u

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
 * @psk:      a pre-shared key, or NULL.  With a key, each side proves to
 *            the other that it holds the same key before the channel
 *            exists (an HMAC-SHA256 challenge-response on fresh random
 *            nonces, docs/tcp.md); a listener with a key refuses a client
 *            without it, and a connector with a key refuses a listener
 *            without it: -EACCES.  It authenticates the two ends at
 *            connect time only: nothing is encrypted, and the bytes that
 *            follow are not authenticated.  Copied during the call.  A
 *            build without nettle (nettle-dev) gives -EAFNOSUPPORT.
 * @psk_len:  its length, IVC_TCP_PSK_MIN to IVC_TCP_PSK_MAX bytes (-EINVAL
 *            otherwise, or without @psk).
 * @flags:    IVC_TCP_LAZY_RETURNS, IVC_TCP_QUEUED_SENDS, both, or 0 (other
 *            bits: -EINVAL).  It took the room of a reserved word: a
 *            program built before leaves it 0.
 * @reserved: must be zero.
 */
struct ivc_tcp_options {
	const char *const *allow;
	size_t n_allow;
	const void *psk;
	size_t psk_len;
	uint64_t flags;
	uint64_t reserved[7];
};

#ifdef __cplusplus
}
#endif
#endif
