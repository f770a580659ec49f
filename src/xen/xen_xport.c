/* SPDX-License-Identifier: MIT */
/* The transport table over one side of a xen connection (xen_conn.c):
 * doorbells are event channels, liveness is the peer's alive word in the
 * handshake page, which its kernel clears (and rings HUP) when it goes
 * away. */
#include "xen/xen_pvt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <xenstore.h>

#include "util/compiler_pvt.h"

struct xen_xport {
	struct ivc_xport x;
	struct ivc_xen_conn c;
	/* A peer in another domain: a domain destroyed under its processes
	 * runs no unmap-notify, so the peer's link node is watched as well
	 * (xen_link.c), and hup_fd is an epoll set over HUP and the watch. */
	struct xs_handle *xs;
	int hup_ep;
};

/* ---- the transport table ---- */

static int xen_ring(struct ivc_xport *x, enum ivc_bell bell)
{
	struct xen_xport *s = (struct xen_xport *)x;

	/* A port whose peer went away drops the event silently; the peer's
	 * death reaches us through HUP instead. */
	return ivc_xen_ev_notify(&s->c.ev[bell == IVC_BELL_RX ? IVC_XEN_RX : IVC_XEN_TX]);
}

static void xen_ack(struct ivc_xport *x, enum ivc_bell bell)
{
	struct xen_xport *s = (struct xen_xport *)x;

	ivc_xen_ev_drain(&s->c.ev[bell == IVC_BELL_RX ? IVC_XEN_RX : IVC_XEN_TX]);
}

/* After the watch on the peer's link node fired: is the node gone? */
static int domain_gone(struct xen_xport *s)
{
	char **w;
	int fired = 0;

	while ((w = xs_check_watch(s->xs)) != NULL) {
		free(w);
		fired = 1;
	}
	return fired && ivc_xen_link_gone(&s->c, s->xs);
}

static int xen_check_peer(struct ivc_xport *x)
{
	struct xen_xport *s = (struct xen_xport *)x;

	/* Consume HUP first, so that a peer ringing it for nothing cannot
	 * keep our level-triggered wait awake. */
	ivc_xen_ev_drain(&s->c.ev[IVC_XEN_HUP]);
	if (!IVC_LOAD_ACQ(ivc_xen_conn_peer_alive(&s->c)))
		return -ECONNRESET;
	return s->xs && domain_gone(s) ? -ECONNRESET : 0;
}

/* For a peer in another domain: watch its link node (best effort: a
 * xenstored that refuses the watch leaves unmap-notify alone).  The watch
 * fires once at once; the node is there by then (the handshake). */
static void watch_domain(struct xen_xport *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[2], i;

	s->hup_ep = -1;
	if (!s->c.link_peer[0] || ivc_xs_open(&s->xs))
		return;
	s->hup_ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->hup_ep < 0 || !xs_watch(s->xs, s->c.link_peer, "ivc"))
		goto fail;
	fds[0] = ivc_xen_ev_fd(&s->c.ev[IVC_XEN_HUP]);
	fds[1] = xs_fileno(s->xs);
	for (i = 0; i < 2; i++)
		if (fds[i] < 0 || epoll_ctl(s->hup_ep, EPOLL_CTL_ADD, fds[i], &ev) < 0)
			goto fail;
	s->x.hup_fd = s->hup_ep;
	return;
fail:
	if (s->hup_ep >= 0)
		close(s->hup_ep);
	s->hup_ep = -1;
	xs_close(s->xs);
	s->xs = NULL;
}

static void xen_destroy(struct ivc_xport *x)
{
	struct xen_xport *s = (struct xen_xport *)x;

	int owner = s->c.owner == getpid();

	/* Our alive word is cleared (in conn_free) before our link node
	 * goes, so the peer reads the node's removal as a close. */
	ivc_xen_conn_free(&s->c);
	ivc_xen_link_remove(&s->c, owner ? s->xs : NULL);
	if (s->xs && owner)
		xs_close(s->xs); /* (after fork only the parent may) */
	if (s->hup_ep >= 0)
		close(s->hup_ep);
	free(s);
}

static const struct ivc_xport_ops xen_ops = {
	.name = "xen",
	.ring = xen_ring,
	.ack = xen_ack,
	.check_peer = xen_check_peer,
	.destroy = xen_destroy,
};

int ivc_xen_xport_new(struct ivc_xen_conn *c, pid_t peer_pid,
		      struct ivc_xport **out)
{
	struct xen_xport *s = calloc(1, sizeof(*s));

	if (!s) {
		ivc_xen_conn_free(c);
		ivc_xen_link_remove(c, NULL);
		return -ENOMEM;
	}
	s->c = *c;
	s->x.ops = &xen_ops;
	s->x.bell_fd[IVC_BELL_RX] = ivc_xen_ev_fd(&s->c.ev[IVC_XEN_RX]);
	s->x.bell_fd[IVC_BELL_TX] = ivc_xen_ev_fd(&s->c.ev[IVC_XEN_TX]);
	s->x.hup_fd = ivc_xen_ev_fd(&s->c.ev[IVC_XEN_HUP]);
	/* vCPU numbers of two domains name different things. */
	s->x.cpu_comparable = c->peer_domid == c->local_domid;
	s->x.ack_on_wake = 1;
	s->x.tx_region = s->c.tx.base;
	s->x.rx_region = s->c.rx.base;
	s->x.peer_pid = peer_pid;
	s->x.peer_uid = (uid_t)-1;
	s->x.peer_domid = c->peer_domid;
	watch_domain(s);
	*out = &s->x;
	return 0;
}
