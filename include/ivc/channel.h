/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/channel.h
 * @brief Channels: listen, accept, connect, close; geometry and options.
 *
 * A channel is two lanes, one each way.  Each lane lives in a region of pages
 * owned by its sender and mapped by its receiver.  One thread may send and one
 * thread may receive on an endpoint at the same time (it may be the same
 * thread); the calls are not safe for two senders or two receivers at once.
 * ivc_channel_info(), ivc_channel_error(), ivc_fd() and ivc_stats_get() may
 * be called from any thread.
 *
 * Addresses name a transport and an end point:
 *  - "shm:/path/to/socket": a Unix socket in the filesystem;
 *  - "shm:@name": a Unix socket in Linux's abstract namespace;
 *  - "xen:<domid>/<service>": service <service> of Xen domain <domid>
 *    (connect); "xen:<service>" is the same service in the local domain
 *    (listen, or connect to the local domain).  A service name is 1 to 64
 *    of [A-Za-z0-9_-] (xenstore's node names: no dots).  Built when libxen-dev was found (docs/xen.md).
 *
 * Timeouts (every call that may wait takes one): timeout_ms < 0 waits for
 * ever, 0 never waits (-EAGAIN instead), > 0 waits at most that many
 * milliseconds (-ETIMEDOUT after).
 */
#ifndef IVC_CHANNEL_H
#define IVC_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ivc_channel;
struct ivc_listener;
struct ivc_shm_options;  /* <ivc/shm.h> */
struct ivc_xen_options;  /* <ivc/xen.h> */

/** How an endpoint waits when there is nothing to do. */
enum ivc_mode {
	/** Spin for an adaptive budget, yield, then sleep on the doorbell (default). */
	IVC_MODE_ADAPTIVE = 0,
	/** Spin for ever; never sleeps, so the peer never rings a doorbell. */
	IVC_MODE_POLL = 1,
	/** Sleep on the doorbell at once. */
	IVC_MODE_BLOCK = 2,
};

/** Default descriptor ring entries. */
#define IVC_DEFAULT_SLOTS 256u
/** Default bytes per buffer (one page: fast-IVC found 4 KiB chunks best). */
#define IVC_DEFAULT_BUF_SIZE 4096u
/** Largest region (lane) ivc creates or accepts from a peer: 1 GiB. */
#define IVC_MAX_LANE_BYTES (1ull << 30)

/**
 * struct ivc_geometry - shape of one lane, chosen by its sender.
 * @slots:     descriptor ring entries: a power of two, 2..65536 (0: 256).
 * @buf_size:  bytes per buffer: a multiple of 64, 64..16 MiB (0: 4096).
 * @buf_count: buffers in the sender's pool, 1..2^20 (0: 2 * slots, so the
 *             receiver can hold a ring's worth while the ring refills).
 *
 * The largest message a lane carries is buf_size * min(slots, buf_count)
 * bytes (1 MiB with the defaults); a message larger than one buffer is
 * chained over several.
 */
struct ivc_geometry {
	uint32_t slots;
	uint32_t buf_size;
	uint32_t buf_count;
};

/* struct ivc_options.flags: bit 0x1 is IVC_OPT_ANY_UID, shm only, in
 * <ivc/shm.h>. */
/**
 * Send messages of at most 112 bytes inside the descriptor instead of in a
 * buffer (one adjacent pair of cache lines moves instead of two separate
 * lines: lower latency for small messages).  The sending buffer goes back to
 * the pool at once, so small messages never exhaust it; the receiver gets a
 * private copy (immune to the peer's later writes) with a cap of
 * min(buf_size, 112), of which it may hold at most `slots` at a time: while
 * it holds that many, further messages wait in the ring.  Applies to what
 * this endpoint sends; any endpoint receives inline messages.
 */
#define IVC_OPT_INLINE 0x2u

/**
 * struct ivc_options - per-endpoint settings; zero-initialised = defaults
 * (`struct ivc_options o = {0};`, or NULL where a call takes options).
 * @tx:          geometry of the lane this endpoint sends on.
 * @mode:        how this endpoint waits (enum ivc_mode).
 * @spin_max_ns: upper bound of the adaptive spin budget (0: 50 us).
 * @flags:       IVC_OPT_* flags: IVC_OPT_INLINE, and IVC_OPT_ANY_UID
 *               (<ivc/shm.h>, shm only); any other bit is -EINVAL.
 * @shm:         settings of the shm transport (struct ivc_shm_options in
 *               <ivc/shm.h>: whom to trust, how large a peer's lane to
 *               map), or NULL for its defaults.
 * @xen:         settings of the xen transport (struct ivc_xen_options in
 *               <ivc/xen.h>: the domains a listener serves), or NULL for
 *               its defaults.
 * @tcp:         settings of the tcp transport (struct ivc_tcp_options in
 *               <ivc/tcp.h>: the networks a listener lets in), or NULL
 *               for its defaults (loopback only).  It took the room of a
 *               reserved word: a program built before it leaves it zero.
 * @reserved:    must be zero (-EINVAL otherwise): room for settings to come
 *               (another transport's pointer among them), whose zero will
 *               mean what the library does now.
 *
 * Each transport has its own access control: a shm endpoint given @xen or
 * @tcp, a xen endpoint given @shm, @tcp or IVC_OPT_ANY_UID, or a tcp endpoint
 * given @shm, @xen or IVC_OPT_ANY_UID fails with -EINVAL, and nothing is
 * created.  A "net:" endpoint takes @shm (for a local peer) and @tcp (for
 * the others); a "net:" listener also takes @xen (the Xen domains it
 * serves: it then listens over xen too), a "net:" connector does not.
 * The library reads the structure, and what @shm and @xen point to, only
 * during the call it is given to (lists are copied).
 */
struct ivc_options {
	struct ivc_geometry tx;
	enum ivc_mode mode;
	uint32_t spin_max_ns;
	unsigned flags;
	const struct ivc_shm_options *shm;
	const struct ivc_xen_options *xen;
	/* (the union keeps the size and offsets where a pointer is 32-bit) */
	union { const struct ivc_tcp_options *tcp; uint64_t reserved_tcp_; };
	uint64_t reserved[7];
};

/** ivc_info.peer_domid of a channel that is not over Xen. */
#define IVC_DOMID_NONE UINT32_MAX

/**
 * ivc_options_init() - fill @o with the defaults: the same as zeroing it,
 * which is all a caller needs to do (calling this is optional).
 * @o: options to initialise; NULL is ignored.
 */
void ivc_options_init(struct ivc_options *o);

/**
 * ivc_listen() - listen for channels at @addr.
 * @addr: "shm:/path" or "shm:@name".  A socket file that nobody listens on
 *        is replaced; anything else at the path (a live listener, a regular
 *        file, a directory, a FIFO, a symbolic link) is left alone and is
 *        -EADDRINUSE.  Of two listeners racing for a stale socket file, one
 *        wins and the other gets -EADDRINUSE.
 *        "xen:<service>" (or "xen:<local domid>/<service>") publishes an
 *        offer per allowed domain under /local/domain/<id>/data/ivc/ in
 *        xenstore; a service whose listener process is alive is not taken.
 *        "tcp:<host>:<port>" ("tcp:[<IPv6>]:<port>") listens on a TCP
 *        port; it lets in the networks of ivc_tcp_options.allow, by
 *        default loopback only (docs/tcp.md).  A malformed tcp address is
 *        -EINVAL, a name that does not resolve -EADDRNOTAVAIL.
 *        "net:<host>:<port>" listens on that tcp port and registers a
 *        local rendezvous, so that a "net:" connector in this network
 *        namespace gets shm and one elsewhere tcp (docs/design.md,
 *        "Choosing the transport").  Given Xen domains to serve
 *        (@opts->xen, or IVC_NET_XEN_DOMAINS=<domid>,... in the
 *        environment) it also listens at the xen service "net-<key>",
 *        and a connector in one of those domains gets xen through the
 *        table ivc-netd publishes (docs/xen.md).  Without Xen a list
 *        from the environment is ignored; one in @opts->xen is the xen
 *        transport's error.
 * @opts: options applied to every accepted channel; NULL for defaults.
 * @out:  receives the listener.
 *
 * Return: 0; -EINVAL (bad arguments or geometry); -EAFNOSUPPORT (unknown
 * transport); -ENAMETOOLONG (path too long for a Unix socket); -EADDRINUSE
 * (someone listens there already, or something that is not a socket is
 * there); -EPERM (the filesystem does not let us make the socket file);
 * -ENOENT (no such directory); another -errno from socket(2)/bind(2).
 * Xen also: -E2BIG (the lane needs more than IVC_XEN_MAX_PAGES pages);
 * -ENOSPC (gntalloc's grant limit reached: docs/xen.md says how to raise
 * it); -EDQUOT (xenstore quota); -EADDRNOTAVAIL (a domid that is not the
 * local domain's); -ENOENT/-EACCES (no /dev/xen device or xenstore, or no
 * permission on them).
 */
int ivc_listen(const char *addr, const struct ivc_options *opts,
	       struct ivc_listener **out);

/**
 * ivc_listener_fd() - a descriptor that polls readable when ivc_accept() has
 * something to do: a client waits, or (shm) a handshake in progress moved
 * on or is due.  Then call ivc_accept(l, 0, ...).
 * @l: the listener.
 *
 * Return: the descriptor (owned by the listener), or -EINVAL.
 */
int ivc_listener_fd(const struct ivc_listener *l);

/**
 * ivc_accept() - accept one channel.
 * @l:          the listener.
 * @timeout_ms: see the file comment (0 never waits).
 * @out:        receives the channel.
 *
 * shm: handshakes run side by side, without waiting on any one client: a
 * silent or slow client never delays a ready one.  A handshake that has
 * not finished when ivc_accept() returns goes on at the next call (at most
 * 32 at once, each step within 2 s; when all are taken, a client that has
 * said nothing for 100 ms makes room for the next).
 *
 * A client that fails its handshake (bad HELLO, refused uid, wrong version,
 * a lane over ivc_shm_options.peer_lane_max, a lane ivc may not map) is told why and
 * dropped; ivc_accept() then returns that error (-EPROTO, -EACCES,
 * -EPROTONOSUPPORT, -E2BIG) and the listener stays usable: call it again.
 * A client that leaves, or stays silent, before its HELLO is dropped
 * without a word; one that leaves after it (an ordinary exit, not a
 * violation) makes ivc_accept() return -ECONNABORTED (shm).  Nothing a
 * client does makes ivc_accept() fail otherwise.
 *
 * Not for two threads at once on one listener.
 *
 * Return: 0; -EAGAIN; -ETIMEDOUT; -EPROTO; -ECONNABORTED; -EACCES;
 * -EPROTONOSUPPORT; -E2BIG; -ENOMEM (our own memory or address space); -EMFILE or -ENFILE
 * (out of descriptors); -EINVAL.
 */
int ivc_accept(struct ivc_listener *l, int timeout_ms, struct ivc_channel **out);

/**
 * ivc_listener_close() - stop listening; unlinks its socket file (only if
 * the file at the path is still the one this listener made), and drops the
 * handshakes still in progress.
 * @l: the listener, or NULL.  Channels already accepted are not affected.
 */
void ivc_listener_close(struct ivc_listener *l);

/**
 * ivc_connect() - connect to a listener and run the handshake.
 * @addr:       as for ivc_listen().
 * @opts:       this endpoint's options; NULL for defaults.
 * @timeout_ms: bounds the whole connect, including waiting for a listener
 *              that is not there yet (retried every 1..50 ms; with 0 there
 *              is no waiting and no listener is -ECONNREFUSED).
 * @out:        receives the channel.
 *
 * shm: the listener's uid is checked before anything is sent to it (see
 * ivc_shm_options.allowed_uids: by default it must run as our euid or as
 * root).
 *
 * A listener that goes away during the call (it exits, is killed, or
 * closes its listener) is no protocol error: before it has answered, that
 * is -ECONNREFUSED (it never took us); after it said yes, -ECONNRESET.
 *
 * Return: 0; -EINVAL; -EAFNOSUPPORT; -ENAMETOOLONG; -ECONNREFUSED (nothing
 * listens and timeout_ms is 0, the socket is not an ivc listener, or the
 * listener went away or hung up before it answered); -ECONNRESET (the
 * listener went away after it accepted us, before the channel was
 * complete); -ETIMEDOUT; -EACCES (refused by the listener, or a listener
 * whose uid we do not trust); -EPERM (the filesystem does not let us reach
 * the socket); -EPROTONOSUPPORT; -EPROTO (a bad answer: the listener broke
 * the protocol); -E2BIG (the listener's lane is over peer_lane_max, or
 * ours over its limit); -ENOMEM; -EMFILE or -ENFILE (out of descriptors).
 * Xen: a listener that is not there yet is waited for under a xenstore
 * watch (no offer and timeout_ms 0: -ECONNREFUSED); a service that exists
 * but has no offer for this domain is -EACCES at once; -E2BIG, -ENOSPC as
 * for ivc_listen().
 * tcp: -EADDRNOTAVAIL (a name that does not resolve); -EACCES also for a
 * listener that does not prove our pre-shared key (ivc_tcp_options.psk);
 * the peer's pid in ivc_channel_info() is what it claims, its uid
 * (uid_t)-1.
 * No descriptor is leaked on any failure.
 */
int ivc_connect(const char *addr, const struct ivc_options *opts,
		int timeout_ms, struct ivc_channel **out);

/**
 * ivc_close() - close a channel in order and free it.
 * @ch: the channel, or NULL.
 *
 * Everything ivc_tx_send()/ivc_send() reported as sent stays receivable by the
 * peer, which sees -EPIPE once it has drained it.  Buffers this side still
 * holds are released with the channel.  Never blocks, whatever the peer
 * does.
 *
 * Return: 0, or -EINVAL for NULL.
 */
int ivc_close(struct ivc_channel *ch);

/**
 * enum ivc_route - why a channel runs over the transport it does
 * (ivc_info.route).
 * @IVC_ROUTE_NAMED:  the address named its transport ("shm:", "xen:", "tcp:").
 * @IVC_ROUTE_LOCAL:  "net:": the peer listens in this kernel and network
 *                    namespace, so the channel is shm.
 * @IVC_ROUTE_REMOTE: "net:": the peer does not, so the channel is tcp.
 * @IVC_ROUTE_FORCED: "net:" with switching turned off (IVC_NET=tcp in the
 *                    environment): tcp although the peer may be local.
 * @IVC_ROUTE_XEN:    "net:": the peer listens in a co-resident Xen domain
 *                    that allows this one (the table ivc-netd publishes to
 *                    each domain, docs/xen.md), so the channel is xen.
 */
enum ivc_route {
	IVC_ROUTE_NAMED = 0,
	IVC_ROUTE_LOCAL = 1,
	IVC_ROUTE_REMOTE = 2,
	IVC_ROUTE_FORCED = 3,
	IVC_ROUTE_XEN = 4,
};

/**
 * struct ivc_info - what is known about a connected channel; filled in
 * whole by ivc_channel_info().
 * @transport: "shm", "xen" or "tcp" (static string).
 * @peer_pid:  the peer's pid (SO_PEERCRED at connect time; over xen and
 *             tcp, what the peer wrote in the handshake, informational only).
 * @peer_uid:  the peer's effective uid ((uid_t)-1 over xen and tcp:
 *             unknowable).
 * @peer_domid: the peer's Xen domain, or IVC_DOMID_NONE (shm).
 * @tx:        geometry of the lane this endpoint sends on.
 * @rx:        geometry of the lane this endpoint receives on.
 * @max_tx_msg: largest message this endpoint can send, in bytes.
 * @max_rx_msg: largest message the peer can send, in bytes.
 * @route:     why this transport (enum ivc_route), in what was reserved
 *             room.
 * @reserved32: zero.
 * @reserved:  zeroed by the library: room for fields to come, which a
 *             program built against this header never reads.
 */
struct ivc_info {
	const char *transport;
	pid_t peer_pid;
	uid_t peer_uid;
	uint32_t peer_domid;
	struct ivc_geometry tx;
	struct ivc_geometry rx;
	size_t max_tx_msg;
	size_t max_rx_msg;
	uint32_t route;
	uint32_t reserved32;
	uint64_t reserved[7];
};

/**
 * ivc_channel_info() - describe a channel.
 * @ch:  the channel.
 * @out: filled in.
 *
 * Return: 0, or -EINVAL.
 */
int ivc_channel_info(const struct ivc_channel *ch, struct ivc_info *out);

/**
 * ivc_channel_error() - the channel's sticky error, if it is broken.
 * @ch: the channel.
 *
 * Return: 0 while the channel works; else the error every data-path call now
 * returns (-EPROTO, -EPIPE, -ECONNRESET); -EINVAL for NULL.
 */
int ivc_channel_error(const struct ivc_channel *ch);

#ifdef __cplusplus
}
#endif
#endif
