/* SPDX-License-Identifier: MIT */
/*
 * The xen transport's internals (docs/xen.md has the protocol in prose).
 *
 * Each side shares its TX lane with gntalloc, granted to the peer's domain;
 * the lane's first page lists every page's grant reference (struct
 * ivc_xen_refs in the lane's transport area), so one reference names a lane.
 * Doorbells are three interdomain event channels: the RX and TX bells (used
 * exactly as shm's eventfds) and HUP, rung by unmap-notify when a side goes
 * away and by the handshake.  The rendezvous is a handshake page per offer:
 * the listener shares it with unmap-notify on its "alive" word, the
 * connector maps it with unmap-notify on its own, so each side learns of the
 * other's death from the kernel, and both write their lanes' references in
 * it.  Xenstore carries only the offer (ring-ref, event-channel, state).
 *
 * The files, split as the shm transport's are (shm/shm_pvt.h):
 *
 *   xen_addr.c       addresses: "xen:<domid>/<service>", "xen:<service>"
 *                    (xen_addr_pvt.h)
 *   xen_opts.c       the options an endpoint takes (no uids: domids)
 *   xen_transport.c  the entry in the transport table (listen, connect)
 *   xen_listen.c     listening: an offer per allowed domain, accepting
 *   xen_connect.c    connecting
 *   xen_store.c      the handshake's offer nodes in xenstore
 *   xen_lane.c       our lane granted, the peer's mapped
 *   xen_conn.c       a connection's life, and shares kept until the peer
 *                    lets go
 *   xen_link.c       link nodes: a peer's whole domain destroyed
 *   xen_evtchn.c     the event channels (doorbells, hang-up)
 *   xen_xport.c      the transport object: ring, liveness, destroy
 */
#ifndef IVC_XEN_PVT_H
#define IVC_XEN_PVT_H

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include <ivc/xen.h>

#include "core/lane_layout_pvt.h"
#include "core/xport_pvt.h"

/* xenbus-style states (the numbers of Xen's XenbusState). */
enum ivc_xen_state {
	IVC_XS_INITIALISING = 1,
	IVC_XS_INITIALISED = 3,
	IVC_XS_CONNECTED = 4,
	IVC_XS_CLOSING = 5,
	IVC_XS_CLOSED = 6,
};

/* The three event channels of a connection. */
enum ivc_xen_port { IVC_XEN_RX = 0, IVC_XEN_TX = 1, IVC_XEN_HUP = 2, IVC_XEN_NPORTS = 3 };

#define IVC_XEN_HS_MAGIC 0x58435649u /* "IVCX" in memory order */
#define IVC_XEN_HS_VERSION 1u

/*
 * The handshake page.  Each cache line has one writer: line 0 the listener
 * (once, before the offer is published), the alive words their notifying
 * side's kernel, line 3 the connector, line 4 the listener.
 */
struct ivc_xen_hs {
	uint32_t magic;
	uint32_t version;
	uint32_t l_port[IVC_XEN_NPORTS]; /* the listener's unbound ports */
	uint32_t l_pid;
	uint32_t pad0[10];
	uint32_t l_alive; /* 1; cleared by the listener's unmap-notify */
	uint32_t pad1[15];
	uint32_t c_alive; /* 1; cleared by the connector's unmap-notify */
	uint32_t pad2[15];
	uint32_t claim;   /* 0 free; the connector's pid once taken */
	uint32_t c_state; /* IVC_XS_INITIALISED once its lane is written */
	uint32_t c_pid;
	uint32_t c_lane_ref0;
	uint32_t c_lane_pages;
	uint32_t pad3[11];
	uint32_t l_state; /* IVC_XS_CONNECTED, or IVC_XS_CLOSED with l_err */
	int32_t l_err;    /* a negative errno the connector should return */
	uint32_t l_lane_ref0;
	uint32_t l_lane_pages;
	uint32_t pad4[12];
};

#define IVC_XEN_L_ALIVE_OFF 64u
#define IVC_XEN_C_ALIVE_OFF 128u
_Static_assert(__builtin_offsetof(struct ivc_xen_hs, l_alive) == IVC_XEN_L_ALIVE_OFF, "layout");
_Static_assert(__builtin_offsetof(struct ivc_xen_hs, c_alive) == IVC_XEN_C_ALIVE_OFF, "layout");
_Static_assert(__builtin_offsetof(struct ivc_xen_hs, claim) == 192, "layout");
_Static_assert(__builtin_offsetof(struct ivc_xen_hs, l_state) == 256, "layout");
_Static_assert(sizeof(struct ivc_xen_hs) == 320, "five lines");

/* A lane's transport area over xen: the grant reference of every page. */
struct ivc_xen_refs {
	uint32_t pages;
	uint32_t reserved;
	uint32_t ref[];
};

/* The errors a listener tells a connector through the page (l_err): what
 * ran out on its side.  Anything else is -EPROTO, on both sides. */
static inline int ivc_xen_told(int err)
{
	return err == -ENOSPC || err == -E2BIG || err == -ENOMEM || err == -EMFILE ? err : -EPROTO;
}

/* ---- lanes over grants (xen_lane.c) ---- */

struct ivc_xen_lane {
	void *base;     /* NULL: none */
	uint32_t pages;
	uint32_t ref0;  /* the first page's reference: what the peer is told */
};

/* The layout of a lane of @geo with room for its page list.
 * Return: 0; -EINVAL; -E2BIG (over IVC_XEN_MAX_PAGES pages). */
int ivc_xen_lane_geom(const struct ivc_geometry *geo, uint32_t desc_size,
		      struct ivc_lane_geom *g);
/* Share a formatted lane of @g with @domid.  Return: 0; -ENOSPC (gntalloc
 * limit); -ENOMEM; another -errno. */
int ivc_xen_lane_share(xengntshr_handle *gs, uint32_t domid,
		       const struct ivc_lane_geom *g, struct ivc_xen_lane *out);
/* The pure half of mapping a peer's lane: check its first page @page0
 * (IVC_PAGE bytes, the peer's to change at any time) against what the
 * handshake said (@ref0, @pages), reading each value once.  The header's
 * slots, buf_size, buf_count and desc_size must give a lane of exactly
 * @pages pages; its list must say @pages and start with @ref0.  Return: 0
 * with *g set and @refs (room for @pages) filled; -EPROTO. */
int ivc_xen_refs_check(const void *page0, uint32_t ref0, uint32_t pages,
		       struct ivc_lane_geom *g, uint32_t *refs);
/* Map the peer's lane named by (@ref0, @pages), check it and give its
 * layout and start index.  Return: 0; -EPROTO (anything inconsistent);
 * -errno from the mapping. */
int ivc_xen_lane_map(xengnttab_handle *gt, uint32_t domid, uint32_t ref0,
		     uint32_t pages, struct ivc_lane_geom *g, uint32_t *start,
		     struct ivc_xen_lane *out);

/* ---- event channels (xen_evtchn.c) ---- */

struct ivc_xen_ev {
	xenevtchn_handle *h; /* its own handle, so its own pollable fd */
	uint32_t port;       /* our local port */
};

void ivc_xen_ev_init(struct ivc_xen_ev *e);
/* A fresh port for @domid to bind to (listener). */
int ivc_xen_ev_unbound(struct ivc_xen_ev *e, uint32_t domid);
/* Bind to @domid's unbound @remote (connector); the pending event a fresh
 * binding brings is consumed. */
int ivc_xen_ev_bind(struct ivc_xen_ev *e, uint32_t domid, uint32_t remote);
/* Consume whatever is pending and unmask (never blocks). */
void ivc_xen_ev_drain(struct ivc_xen_ev *e);
int ivc_xen_ev_notify(struct ivc_xen_ev *e);
int ivc_xen_ev_fd(const struct ivc_xen_ev *e);
/* @owner: this process made it (else only the inherited handle closes). */
void ivc_xen_ev_close(struct ivc_xen_ev *e, int owner);

/* ---- one side of one connection (xen_xport.c) ---- */

struct ivc_xen_conn {
	pid_t owner;               /* the process that made it */
	xengntshr_handle *gs;      /* our lane (and the handshake page, listener) */
	xengnttab_handle *gt;      /* the peer's lane (and the page, connector) */
	struct ivc_xen_ev ev[IVC_XEN_NPORTS];
	struct ivc_xen_hs *hs;
	int hs_shared;             /* 1: we shared the page; 0: we mapped it */
	struct ivc_xen_lane tx, rx;
	uint32_t peer_domid;
	uint32_t local_domid;
	/* Link nodes (xen_link.c): ours and the peer's; "" in one domain. */
	char link_own[64];
	char link_peer[64];
};

/* Empty, owned by this process; then open the grant handles. */
int ivc_xen_conn_open(struct ivc_xen_conn *c, uint32_t local, uint32_t peer);
/* Release everything in it (a fork child only closes its handles).  Our
 * lane, if the peer may still map it, is kept until it lets go
 * (ivc_xen_linger). */
void ivc_xen_conn_free(struct ivc_xen_conn *c);
/* Unshare and unmap what is left of @c now (@owner 0: a fork child's
 * copy, whose handles are only closed); its event channels are not
 * touched. */
void ivc_xen_conn_drop(struct ivc_xen_conn *c, int owner);
/* The peer's alive word in the handshake page. */
const uint32_t *ivc_xen_conn_peer_alive(const struct ivc_xen_conn *c);
/* Wrap a connected @c into a transport (which takes it, also on failure).
 * @peer_pid is what the peer said in the handshake. */
int ivc_xen_xport_new(struct ivc_xen_conn *c, pid_t peer_pid,
		      struct ivc_xport **out);

/* ---- shares kept until the peer lets go (xen_conn.c) ---- */

/* At most this many connections' shares are kept at once; past it the
 * oldest is freed anyway (its grants then wait on the kernel's list). */
#define IVC_XEN_LINGER_MAX 32u

/* Keep @c's lane share and handshake page, with its two grant handles,
 * until the peer's alive word says it no longer maps them (or its domain
 * is gone).  @c's event channels must be closed by the caller; on success
 * @c holds nothing else.  Return: 0; -ENOMEM (the caller frees now). */
int ivc_xen_linger(struct ivc_xen_conn *c);
/* Free every kept share whose peer has let go; in a fork child, close the
 * inherited copies' handles.  Called on every xen open and close. */
void ivc_xen_linger_reap(void);
/* How many connections' shares are kept now (for tests). */
unsigned ivc_xen_linger_count(void);

/* ---- link nodes: a destroyed peer domain (xen_link.c) ---- */

struct xs_handle;

/* Name @c's two link nodes from its handshake page's grant reference
 * @hs_ref; @listener: we are the listener.  Nothing within one domain. */
void ivc_xen_link_names(struct ivc_xen_conn *c, uint32_t hs_ref, int listener);
/* Write our node, readable by the peer domain (and first remove the nodes
 * of our domain's dead processes).  Return: 0; -errno (-EDQUOT: quota). */
int ivc_xen_link_publish(const struct ivc_xen_conn *c);
/* Remove our node (the process that made it only); @xs may be NULL. */
void ivc_xen_link_remove(const struct ivc_xen_conn *c, struct xs_handle *xs);
/* 1 if the peer's node can no longer be read: its owner closed, or its
 * domain's tree is gone; else 0. */
int ivc_xen_link_gone(const struct ivc_xen_conn *c, struct xs_handle *xs);

/* Check endpoint options for xen and lay out our lane (xen_opts.c). */
int ivc_xen_opts(const struct ivc_options *o, struct ivc_lane_geom *g);

/* The transport's two entry points (struct ivc_transport, endpoint/transport_pvt.h). */
int ivc_xen_listen(const char *addr, const struct ivc_options *opts,
		   struct ivc_listener **out);
int ivc_xen_connect(const char *addr, const struct ivc_options *opts,
		    int timeout_ms, struct ivc_channel **out);

/* ---- xenstore (xen_store.c) ---- */

/* Open a connection; -errno (-ENOENT: no xenstore here). */
int ivc_xs_open(struct xs_handle **xs);
/* 1 when @path is gone (ENOENT, or EACCES as a guest sees a removed
 * node), else 0: present, or xenstored could not say. */
int ivc_xs_node_gone(struct xs_handle *xs, const char *path);
/* A decimal node's value; -EPROTO if it is not one. */
int ivc_xs_read_u32(struct xs_handle *xs, const char *path, uint32_t *v);
/* The local domain's id, from xenstore's relative path "domid". */
int ivc_xs_local_domid(struct xs_handle *xs, uint32_t *domid);
/* A xenstore failure's errno as ivc reports it (quota: -EDQUOT). */
int ivc_xs_err(void);

#endif
