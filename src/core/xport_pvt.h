/* SPDX-License-Identifier: MIT */
/*
 * The transport interface: how a region and a doorbell are made and handed
 * to the peer.  The data path (lanes, channel, waits) reaches a transport
 * only to ring the peer's doorbell, to consume its own, and to ask whether
 * the peer is still there; each transport (shm, xen) fills in one
 * struct ivc_xport and one table of these functions.
 */
#ifndef IVC_XPORT_PVT_H
#define IVC_XPORT_PVT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct epoll_event;

/* Each endpoint has two doorbells: "data arrived" and "room was made".
 * They are separate so that a receiving thread and a sending thread that
 * sleep at the same time never consume each other's wake-up. */
enum ivc_bell { IVC_BELL_RX = 0, IVC_BELL_TX = 1 };

struct ivc_xport;

/* Why a copying transport is asked to push (struct ivc_xport_ops.push). */
enum ivc_push_how {
	IVC_PUSH_ALL = 0,     /* a send, a close: everything */
	IVC_PUSH_RETURNS = 1, /* only consumption to report: may wait */
	IVC_PUSH_IDLE = 2,    /* nothing ready, the caller may wait next */
	IVC_PUSH_IDLE_TX = 3, /* the same, and it wants room or buffers */
};

struct ivc_xport_ops {
	const char *name;
	/* Wake the peer's @bell.  Return 0 or -errno (the peer is gone). */
	int (*ring)(struct ivc_xport *x, enum ivc_bell bell);
	/* Consume the wake-ups pending on our own @bell (never blocks). */
	void (*ack)(struct ivc_xport *x, enum ivc_bell bell);
	/* Never blocks.  Return 0 while the peer is there, -ECONNRESET once
	 * it has gone (hang-up, death), -EPROTO if it wrote junk. */
	int (*check_peer)(struct ivc_xport *x);
	/* Unmap both regions, close every descriptor, free @x. */
	void (*destroy)(struct ivc_xport *x);
	/* A transport without shared memory (tcp) copies what each side
	 * writes to the other's memory; NULL for the others.  push: send
	 * what changed (@how: IVC_PUSH_RETURNS after this side consumed,
	 * which a lazy end may keep back; IVC_PUSH_IDLE(_TX) when a look
	 * found nothing, where a lazy end may keep it back from a peer that
	 * asks, and _TX asks a lazy peer for its returns; IVC_PUSH_ALL
	 * otherwise), never
	 * blocking: 0 all sent, 1 some
	 * waits for room, or -errno.  pull: read and apply what came, never
	 * blocking, waking the sleepers of bells not in @self (1 << bell):
	 * 0, 1 (another thread is reading: it applies what comes, then
	 * wakes every side that declared itself asleep), -ECONNRESET (no
	 * more will come), -EPROTO.  drain: wait until
	 * what was pushed has left this host, at most until @deadline
	 * (ivc_now_ns() clock): 0, -ETIMEDOUT, -ECONNRESET. */
	int (*push)(struct ivc_xport *x, enum ivc_push_how how);
	int (*pull)(struct ivc_xport *x, unsigned self);
	/* A copying transport's wait "for ever" in its input itself (NULL:
	 * none): with the input held, unless @busy(@arg) finds something to
	 * do already (1), block until something comes and apply it as pull
	 * does (0, -ECONNRESET, -EPROTO); -EAGAIN if it cannot now (another
	 * thread holds the input, output waits for room): sleep on the set. */
	int (*pull_wait)(struct ivc_xport *x, unsigned self, int (*busy)(void *),
			 void *arg);
	int (*drain)(struct ivc_xport *x, uint64_t deadline);
	/* Add hup_fd to watch_ep[@set] with @ev (NULL: the channel does it):
	 * for a transport that changes hup_fd's events in the sets (tcp's
	 * EPOLLOUT), so that it adds them as they stand.  0 or -errno. */
	int (*watch)(struct ivc_xport *x, unsigned set, struct epoll_event *ev);
};

/* The channel's epoll sets, as indices of struct ivc_xport.watch_ep. */
enum { IVC_SET_PUBLIC = 0, IVC_SET_RX = 1, IVC_SET_TX = 2 };

/* hup_fd's events in set @set: readable (and in a sleep set, hung up),
 * tagged as the sets' readers expect (2 in ivc_fd()'s, 1 in a sleep set). */
void ivc_hup_event(unsigned set, struct epoll_event *ev);
/* hup_fd joins set @set now if it has not yet (struct ivc_xport.hup_in),
 * through ops->watch when the transport has one.  0 or -errno. */
int ivc_xport_watch_hup(struct ivc_xport *xp, unsigned set);
/* The plain add, for ops->watch: 0 (also if already there) or -errno. */
int ivc_xport_add_hup(struct ivc_xport *xp, unsigned set, struct epoll_event *ev);

/* ivc_close() waits at most this long for its last bytes to leave. */
#define IVC_CLOSE_DRAIN_MS 2000

struct ivc_xport {
	const struct ivc_xport_ops *ops;
	int bell_fd[2];     /* our doorbells: poll readable when rung */
	int hup_fd;         /* polls readable/hang-up when the peer goes; or -1 */
	int cpu_comparable; /* both ends see the same CPU numbers */
	/* A doorbell that stops signalling until consumed (an event channel
	 * stays masked): consume it on every wake.  An eventfd needs no
	 * read() under edge-triggered epoll, which saves a system call. */
	int ack_on_wake;
	void *tx_region;    /* our lane (we own it) */
	void *rx_region;    /* the peer's lane (mapped) */
	pid_t peer_pid;
	uid_t peer_uid;
	uint32_t peer_domid; /* IVC_DOMID_NONE unless xen */
	uint32_t route;      /* enum ivc_route: set by the endpoint that chose */
	/* A send is done once the kernel has all of it; only one the socket
	 * could not take whole, and a close, wait for it to leave
	 * (IVC_TCP_QUEUED_SENDS). */
	int queued_sends;
	/* The channel's epoll sets that watch hup_fd (its public set, the RX
	 * and TX sleep sets), for a transport that must add EPOLLOUT to them
	 * while output waits for room: set by ivc_channel_create(). */
	int watch_ep[3];
	/* Which of them hold hup_fd yet (bit i: watch_ep[i]; atomic).  A set
	 * takes it when first used (ivc_fd(), a sleep), not before: over tcp
	 * hup_fd is the data socket, and every set that watches it costs each
	 * segment that arrives a wake-up call in the kernel (three of them,
	 * 6% of a polling 64 B round trip that used no set). */
	unsigned hup_in;
};

#endif
