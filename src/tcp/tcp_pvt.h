/* SPDX-License-Identifier: MIT */
/*
 * The tcp transport, between the files that make it up:
 *
 *   tcp_addr.c       addresses: "tcp:<host>:<port>", "tcp:[<v6>]:<port>"
 *   tcp_opts.c       the options a tcp endpoint takes, whom it lets in
 *   tcp_transport.c  the entry in the transport table (listen, connect)
 *   tcp_listen.c     listening and accepting
 *   tcp_connect.c    connecting
 *   tcp_handshake.c  HELLO -> WELCOME | REJECT: the two lanes' geometries
 *   tcp_auth.c       the pre-shared key's challenge-response (AUTH)
 *   tcp_wire.c       the frames: building them from our lanes (push) and
 *                    applying the peer's (pull)
 *   tcp_xport.c      the transport object: its ops, its channel
 *
 * There is no shared memory between hosts, so each side keeps two lanes in
 * its own memory, laid out exactly as a shm lane (docs/layout.md): its own
 * (the sender's side of that direction) and a mirror of the peer's.  The
 * lane code runs on them unchanged.  What a side writes into a lane that
 * the other side reads travels as frames on the socket:
 *
 *   MINE   a range of the sender's own lane: payload bytes, descriptors
 *          (stamps applied last, one descriptor at a time), its closed flag;
 *          applied to the receiver's mirror of that lane;
 *   YOURS  a range the receiver writes in the peer's lane: the return ring,
 *          then desc_cons/ret_prod; applied to the sender's own lane.
 *
 * A frame names only the parts its side may write (tcp_wire.c checks the
 * range), so a peer can do no more to our lanes than a shm peer can to a
 * mapping, and the lane code's checks are the same.  No thread of ours
 * moves the bytes: the caller's own calls push after they publish and pull
 * when they look for work (run to completion).  Both ends must be
 * little-endian (the handshake says so).
 */
#ifndef IVC_TCP_PVT_H
#define IVC_TCP_PVT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <ivc/channel.h>

#include "core/lane_layout_pvt.h"
#include "core/xport_pvt.h"

/* A handshake message must come within this long. */
#define IVC_TCP_STEP_MS 2000
/* ivc_close() waits at most this long for what it queued to leave. */
#define IVC_TCP_CLOSE_MS 2000
/* A wait blocked in the socket's read (ivc_tcp_pull_wait()) comes back at
 * least this often, to send what another thread's send left waiting for
 * room in the socket: nothing else would wake it for that. */
#define IVC_TCP_READ_WAIT_MS 100
/* A wait's read that came back short is followed by another read, but for
 * this many after one whose follower found nothing (tcp_wire.c). */
#define IVC_TCP_FOLLOW_SKIP 15u
/* One pull reads at most this much: a peer that never stops sending
 * cannot keep a call of ours from returning. */
#define IVC_TCP_PULL_MAX (1u << 20)
/* The input buffer: room for a 256 KiB message and its frames but for the
 * last few, so that a 64 KiB message is one recv(), not two (with 64 KiB,
 * streams of 4-256 KiB messages were a fifth or more slower, and 256 KiB
 * round trips up to twice as long; 1 MiB gains nothing more).
 * Payloads at least DIRECT_MIN long are read in place when a read starts
 * in one. */
#define IVC_TCP_IN_CAP (256u << 10)
#define IVC_TCP_DIRECT_MIN 4096u
/* The pre-shared key's nonces and proofs (tcp_auth.c), bytes. */
#define IVC_TCP_NONCE 16u
#define IVC_TCP_MAC 32u
/* iovecs of one batch (frames are a header and a body: half as many):
 * the kernel's limit (UIO_MAXIOV).  Each small message is a frame, and
 * with 256 a burst of 128 left in two sendmsg() (the batch held 126):
 * 64 B streams in bursts of 128 ran at 0.40x raw TCP's rate, 0.54x with
 * one (docs/performance.md, "A burst in one send"). */
#define IVC_TCP_IOV 1024u
/* Payload bytes after which a batch is closed (it goes out in one call):
 * 1 MiB made 1 MiB round trips 1.5x slower once chains were one frame
 * (the receiver waited for all of it); 512 KiB did as well as 256. */
#define IVC_TCP_BATCH_BYTES (256u << 10)
/* Payload bytes after which a run's descriptors go out: the receiver can
 * take the start of a large message while the rest is on the way. */
#define IVC_TCP_RUN_BYTES (64u << 10)
/* Frames of one batch: each has a header, copied into the batch's stage. */
#define IVC_TCP_FRAMES (IVC_TCP_IOV / 2)
/* Payloads up to this long are copied into the stage beside their header,
 * so that a burst of small messages is one iovec: the kernel's cost per
 * iovec, not per byte, is what bounds a stream of small messages. */
#define IVC_TCP_COPY_MAX 2048u
/* The stage: every header of a batch, and small payloads while they fit. */
#define IVC_TCP_STAGE (64u << 10)

/* A frame's header (little-endian on the wire). */
struct tcp_frame {
	uint32_t len;
	uint16_t kind;
	uint16_t zero;
	uint64_t off;
};
_Static_assert(sizeof(struct tcp_frame) == 16, "wire header");

enum { TCP_MINE = 1, TCP_YOURS = 2, TCP_ASK = 3 };

/* Where the peer can be, by address family: filled by tcp_addr.c. */
struct tcp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* One network of a listener's allow list. */
struct tcp_net {
	int family;
	unsigned prefix;
	uint8_t addr[16];
};

struct tcp_opts {
	struct ivc_lane_geom txg;
	int mode;
	uint32_t spin_max_ns;
	uint64_t peer_lane_max;
	struct tcp_net *allow; /* our own copy, or NULL: loopback only */
	size_t n_allow;
	unsigned char *psk;    /* our own copy, or NULL */
	size_t psk_len;
	int lazy;              /* IVC_TCP_LAZY_RETURNS */
	int queued_sends;      /* IVC_TCP_QUEUED_SENDS */
};

/* Push's state: what of our lanes has gone out, and the batch going now.
 * Under mu (the sending and the receiving thread both push). */
struct tcp_out {
	pthread_mutex_t mu;
	uint32_t prod;    /* our next descriptor to send */
	uint32_t cons;    /* the mirror's desc_cons as last sent (atomic) */
	uint32_t ret;     /* the mirror's ret_prod as last sent (atomic) */
	uint32_t closed;  /* our closed flag was sent */
	struct iovec iov[IVC_TCP_IOV];
	unsigned char *stage; /* IVC_TCP_STAGE bytes: headers, small bodies */
	uint32_t staged;  /* bytes of the stage in the batch */
	uint32_t hot[2];  /* the desc_cons/ret_prod pair being sent */
	uint32_t one;     /* the closed flag being sent */
	unsigned n, i;    /* iovecs in the batch, first not fully sent */
	unsigned frames;  /* frames in the batch */
	/* The batch's last frame when it is a payload sent from the lane
	 * (its iovec the batch's last): its header in the stage, so that a
	 * payload that follows it in the lane joins it (tcp_wire.c). */
	unsigned char *run_hdr;
	int want_out;     /* EPOLLOUT is on in the channel's sets */
	int unsent;       /* a batch is left unsent (atomic: read without mu) */
};

/* Pull's state: a frame being read.  Under mu. */
struct tcp_in {
	pthread_mutex_t mu;
	unsigned char *buf; /* IVC_TCP_IN_CAP bytes */
	uint32_t pos, len;
	int in_body;        /* reading @f's body, @done bytes of it so far */
	int cls;            /* what @f's body is (tcp_wire.c) */
	struct tcp_frame f;
	uint32_t done;
	alignas(8) unsigned char stage[IVC_DESC_SIZE_INLINE]; /* one unit */
	uint32_t staged;
	unsigned follow_skip; /* wait's reads left without a second read */
};

struct tcp_xport {
	struct ivc_xport x;
	int sock;
	struct ivc_lane_geom txg, rxg;
	struct tcp_out out;
	struct tcp_in in;
	int end;            /* 0, -ECONNRESET, -EPROTO (atomic) */
	uint64_t pushes;    /* pushes done (atomic; see tcp_wire.c) */
	int eps[3];         /* the channel's epoll sets watching @sock */
	int lazy;           /* report consumption lazily (IVC_TCP_LAZY_RETURNS) */
	int peer_asks;      /* the peer asks for our returns when it needs them */
	int peer_lazy;      /* the peer keeps its returns back until asked */
	uint32_t asked;     /* the peer asked, no report since (atomic) */
	uint32_t asking;    /* we asked, no report since (atomic) */
};

/* ---- tcp_addr.c ---- */

/* Parse "tcp:<host>:<port>" (IPv6 literals in brackets) and resolve it
 * with getaddrinfo(): -EINVAL (malformed), -EADDRNOTAVAIL (unknown name),
 * -ENAMETOOLONG. */
int ivc_tcp_addr(const char *addr, struct tcp_addr *out);
/* Whether @ss is a loopback address (127/8, ::1, ::ffff:127/104). */
int ivc_tcp_is_loopback(const struct sockaddr_storage *ss);

/* ---- tcp_opts.c ---- */

/* Check @o (NULL: defaults) and copy what a tcp endpoint needs:
 * -EINVAL (another transport's settings, a malformed network), -ENOMEM. */
int ivc_tcp_opts(const struct ivc_options *o, struct tcp_opts *out);
void ivc_tcp_opts_free(struct tcp_opts *o);
/* Whether a listener of @o lets in a peer at @ss. */
int ivc_tcp_allowed(const struct tcp_opts *o, const struct sockaddr_storage *ss);
/* Socket options every channel socket gets: no delay, close on exec,
 * non-blocking (until the handshake is done: ivc_tcp_channel()), unsent
 * data bounded (TCP_NOTSENT_LOWAT). */
int ivc_tcp_sock_setup(int sock);

/* ---- tcp_handshake.c ---- */

enum { TCP_HELLO = 1, TCP_WELCOME = 2, TCP_REJECT = 3, TCP_AUTH = 4 };
/* HELLO flag: the client holds a pre-shared key and wants proof. */
#define TCP_HS_PSK 0x1u
/* HELLO and WELCOME flags: this end sends an ASK frame when it waits for
 * room or buffers and its peer is lazy, and answers one with its returns;
 * and this end is lazy (IVC_TCP_LAZY_RETURNS): ask it.  An end of an
 * earlier version sets neither, and is never asked nor kept waiting. */
#define TCP_HS_ASKS 0x2u
#define TCP_HS_LAZY 0x4u
/* Our flags for a HELLO or WELCOME of @o (TCP_HS_PSK aside). */
uint32_t ivc_tcp_hs_flags(const struct tcp_opts *o);

/* What the peer's HELLO or WELCOME said. */
struct tcp_peer_hs {
	struct ivc_lane_geom g; /* its lane, checked */
	uint32_t start;         /* its lane's first index */
	pid_t pid;              /* as it says */
	uint32_t flags;         /* TCP_HS_* */
	uint8_t nonce[IVC_TCP_NONCE];
};

/* Our HELLO (client) or WELCOME (server), @g our lane's geometry; or a
 * REJECT with @err (@g NULL). */
int ivc_tcp_hs_send(int sock, uint16_t type, const struct ivc_lane_geom *g,
		    int32_t err, uint32_t flags, const uint8_t *nonce, uint64_t deadline);
/* The peer's message of @type: its lane's geometry, checked and at most
 * @max bytes (-E2BIG), and the rest into *@p.  A REJECT is its error;
 * another message -EPROTO. */
int ivc_tcp_hs_recv(int sock, uint16_t type, uint64_t max, struct tcp_peer_hs *p,
		    uint64_t deadline);
/* AUTH messages: a nonce (may be NULL: zeros) and a proof.  auth_recv: 0,
 * the REJECT's error, -EACCES for a WELCOME (a listener without the key),
 * -EPROTO. */
int ivc_tcp_auth_send(int sock, const uint8_t *nonce, const uint8_t *mac, uint64_t deadline);
int ivc_tcp_auth_recv(int sock, uint8_t *nonce, uint8_t *mac, uint64_t deadline);

/* ---- tcp_auth.c ---- */

/* The pre-shared key's challenge-response (docs/tcp.md): each side sends
 * a fresh nonce and proves it holds the key with HMAC-SHA256 over both
 * nonces and its role ('S' the listener, 'C' the client).  Return: 0, or
 * -errno (no randomness, -EAFNOSUPPORT without nettle). */
int ivc_tcp_nonce(uint8_t out[IVC_TCP_NONCE]);
int ivc_tcp_proof(const struct tcp_opts *o, char role, const uint8_t *cn,
		  const uint8_t *sn, uint8_t out[IVC_TCP_MAC]);
/* Whether @mac is @role's proof for nonces @cn, @sn (constant time). */
int ivc_tcp_proof_ok(const struct tcp_opts *o, char role, const uint8_t *cn,
		     const uint8_t *sn, const uint8_t *mac);
/* The whole exchange, listener side after the HELLO (@p), and client side
 * after its HELLO with nonce @cn.  Return: 0, -EACCES (no or another key),
 * or the handshake's errors. */
int ivc_tcp_auth_server(int sock, const struct tcp_opts *o, const struct tcp_peer_hs *p,
			uint64_t deadline);
int ivc_tcp_auth_client(int sock, const struct tcp_opts *o, const uint8_t *cn,
			uint64_t deadline);

/* ---- tcp_xport.c ---- */

/* A transport with our lane made (before we connect: a lane we cannot
 * have fails here, not after the peer said yes), not yet connected. */
int ivc_tcp_xport_new(const struct tcp_opts *o, struct tcp_xport **out);
void ivc_tcp_xport_free(struct tcp_xport *t);
/* The channel over connected @sock whose peer's HELLO or WELCOME was @p
 * (its lane's geometry and start, its flags).  Takes @t and @sock on every
 * path. */
int ivc_tcp_channel(struct tcp_xport *t, int sock, const struct tcp_opts *o,
		    const struct tcp_peer_hs *p, struct ivc_channel **out);

/* ---- tcp_wire.c ---- */

int ivc_tcp_wire_init(struct tcp_xport *t);
void ivc_tcp_wire_fini(struct tcp_xport *t);
/* Send what changed in our lanes.  Return: 0 (all out), 1
 * (some waits for room in the socket), -ECONNRESET. */
int ivc_tcp_push(struct ivc_xport *x, enum ivc_push_how how);
/* Read and apply what came, at most IVC_TCP_PULL_MAX bytes, then go on
 * with output that waited.  @self: the bells (1 << IVC_BELL_*) of the
 * caller's own side, which is not woken.  Return: 0, 1 (another thread
 * holds the input: nothing read), -ECONNRESET (the stream ended),
 * -EPROTO. */
int ivc_tcp_pull(struct ivc_xport *x, unsigned self);
/* The same, blocking in the socket until something comes, unless the
 * input is another thread's or output waits for room (-EAGAIN: sleep on
 * the set instead), or @busy(@arg), asked with the input held, finds
 * something to do already (1).  Return: 1, 0 (something read and
 * applied, or a signal), -EAGAIN, -ECONNRESET, -EPROTO. */
int ivc_tcp_pull_wait(struct ivc_xport *x, unsigned self, int (*busy)(void *),
		      void *arg);
/* Wait until everything pushed has left this host (pulling meanwhile),
 * at most until @deadline.  Return: 0, -ETIMEDOUT, -ECONNRESET. */
int ivc_tcp_drain(struct ivc_xport *x, uint64_t deadline);
/* ops->watch: the socket joins a set with EPOLLOUT if output waits for
 * room (under out.mu, as want_out() changes it). */
int ivc_tcp_watch(struct ivc_xport *x, unsigned set, struct epoll_event *ev);

/* ---- the transport's entry points ---- */

int ivc_tcp_listen(const char *addr, const struct ivc_options *opts,
		   struct ivc_listener **out);
int ivc_tcp_connect(const char *addr, const struct ivc_options *opts,
		    int timeout_ms, struct ivc_channel **out);

#endif
