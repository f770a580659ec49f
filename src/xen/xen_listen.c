/* SPDX-License-Identifier: MIT */
/*
 * The xen listener.  For each allowed domain it keeps one offer: a
 * handshake page shared with that domain (with unmap-notify on the
 * listener's alive word) and three unbound event channels, published in
 * xenstore under /local/domain/<us>/data/ivc/<service>/<domid>/ (ring-ref,
 * event-channel, state), readable by that domain alone.  A connector takes
 * the offer in the page; accept() answers with our lane, hands the offer's
 * page and ports to the new channel, and publishes a fresh offer.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <xenstore.h>

#include "core/channel_pvt.h"
#include "endpoint/transport_pvt.h"
#include "util/clock_pvt.h"
#include "util/compiler_pvt.h"
#include "xen/xen_addr_pvt.h"
#include "xen/xen_pvt.h"

/* How long a connector may hold a taken offer before it is withdrawn. */
#define CLAIM_NS (10ull * 1000000000ull)

struct xen_offer {
	struct ivc_xen_conn c;
	uint32_t domid;
	uint32_t ref;          /* the handshake page's grant reference */
	int live;              /* 0: to be made again (a failure left it out) */
	int c_seen_alive;      /* the connector had set its alive word */
	uint64_t claim_seen_ns;
};

struct xen_listener {
	struct ivc_listener base; /* first: the public handle */
	pid_t owner;
	uint32_t local;
	char path[128];
	int epfd;
	int mode;
	uint32_t spin_max_ns;
	struct ivc_lane_geom txg;
	size_t n;
	struct xen_offer *offers;
};

/* ---- offers ---- */

static void offer_drop(struct xen_listener *l, struct xen_offer *o)
{
	if (!o->live)
		return;
	/* A fork child shares the epoll set with the listening parent:
	 * taking a port out of it would deafen the parent. */
	if (o->c.ev[IVC_XEN_HUP].h && l->owner == getpid())
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, ivc_xen_ev_fd(&o->c.ev[IVC_XEN_HUP]), NULL);
	ivc_xen_conn_free(&o->c);
	o->live = 0;
}

/* Make the page and the ports of a fresh offer (not yet published). */
static int offer_make(struct xen_listener *l, struct xen_offer *o)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = o };
	struct ivc_xen_hs *hs;
	int i, r;

	r = ivc_xen_conn_open(&o->c, l->local, o->domid);
	for (i = 0; i < IVC_XEN_NPORTS && !r; i++)
		r = ivc_xen_ev_unbound(&o->c.ev[i], o->domid);
	if (r)
		goto fail;
	hs = xengntshr_share_page_notify(o->c.gs, o->domid, &o->ref, 1, IVC_XEN_L_ALIVE_OFF,
					 o->c.ev[IVC_XEN_HUP].port);
	if (!hs) {
		r = errno ? -errno : -ENOMEM;
		goto fail;
	}
	o->c.hs = hs;
	o->c.hs_shared = 1;
	memset(hs, 0, sizeof(*hs));
	for (i = 0; i < IVC_XEN_NPORTS; i++)
		hs->l_port[i] = o->c.ev[i].port;
	hs->l_pid = (uint32_t)getpid();
	hs->l_alive = 1;
	hs->version = IVC_XEN_HS_VERSION;
	IVC_STORE_REL(&hs->magic, IVC_XEN_HS_MAGIC);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, ivc_xen_ev_fd(&o->c.ev[IVC_XEN_HUP]), &ev) < 0) {
		r = -errno;
		goto fail;
	}
	o->live = 1;
	o->c_seen_alive = 0;
	o->claim_seen_ns = 0;
	return 0;
fail:
	ivc_xen_conn_free(&o->c);
	return r;
}

/* ---- xenstore ---- */

static int put(struct xs_handle *xs, xs_transaction_t t, const char *path,
	       uint32_t local, uint32_t reader, unsigned v)
{
	struct xs_permissions perms[2] = {
		{ .id = local, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", v);
	if (!xs_write(xs, t, path, buf, (unsigned)strlen(buf)) ||
	    !xs_set_permissions(xs, t, path, perms, reader == local ? 1 : 2))
		return ivc_xs_err();
	return 0;
}

static int put_offer(struct xen_listener *l, struct xs_handle *xs, xs_transaction_t t,
		     const struct xen_offer *o)
{
	char p[160];
	int r;

	snprintf(p, sizeof(p), "%s/%u", l->path, o->domid);
	r = put(xs, t, p, l->local, o->domid, 0);
	snprintf(p, sizeof(p), "%s/%u/ring-ref", l->path, o->domid);
	if (!r)
		r = put(xs, t, p, l->local, o->domid, o->ref);
	snprintf(p, sizeof(p), "%s/%u/event-channel", l->path, o->domid);
	if (!r)
		r = put(xs, t, p, l->local, o->domid, o->c.ev[IVC_XEN_HUP].port);
	snprintf(p, sizeof(p), "%s/%u/state", l->path, o->domid);
	if (!r)
		r = put(xs, t, p, l->local, o->domid, IVC_XS_INITIALISED);
	return r;
}

/* A service node whose listener process still runs is taken. */
static int service_taken(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned int len;
	char *v = xs_read(xs, t, path, &len);
	long pid;

	if (!v)
		return 0;
	pid = strtol(v, NULL, 10);
	free(v);
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* data/ivc, the folder of our services, is readable by every domain: a
 * guest may read nothing of a tree whose parents it may not read (xenstored
 * answers EACCES, never ENOENT), so without this a connector in a guest
 * could not tell "no such service yet" (wait) from "not allowed" (refused).
 * Every domain may so list our service names; what each offers is still
 * readable by its allowed domains only. */
static int public_dir(struct xs_handle *xs, xs_transaction_t t,
		      const struct xen_listener *l)
{
	struct xs_permissions all = { .id = l->local, .perms = XS_PERM_READ };
	char dir[128];

	snprintf(dir, sizeof(dir), "%s", l->path);
	*strrchr(dir, '/') = '\0';
	if (!xs_mkdir(xs, t, dir) || !xs_set_permissions(xs, t, dir, &all, 1))
		return ivc_xs_err();
	return 0;
}

/* The service node (readable by every allowed domain; its value is the
 * listener's pid and the allowed domids) and the offers @o (all when NULL), in
 * one transaction: a connector sees all of it or nothing. */
static int publish(struct xen_listener *l, struct xen_offer *only)
{
	struct xs_permissions perms[1 + IVC_XEN_MAX_PEERS];
	struct xs_handle *xs;
	unsigned np = 1;
	int r, tries;
	size_t i;

	r = ivc_xs_open(&xs);
	if (r)
		return r;
	perms[0] = (struct xs_permissions){ .id = l->local, .perms = XS_PERM_NONE };
	for (i = 0; i < l->n; i++)
		if (l->offers[i].domid != l->local)
			perms[np++] = (struct xs_permissions){ .id = l->offers[i].domid,
							       .perms = XS_PERM_READ };
	for (tries = 0; tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);
		char val[16 + 11 * IVC_XEN_MAX_PEERS];
		size_t n;

		if (t == XBT_NULL) {
			r = ivc_xs_err();
			break;
		}
		r = 0;
		if (!only) {
			if (service_taken(xs, t, l->path))
				r = -EADDRINUSE;
			/* "<pid> <domid>...": the allowed list tells a connector
			 * that is not in it "refused" at once, and one that is
			 * "wait", whatever order xenstored makes nodes visible. */
			n = (size_t)snprintf(val, sizeof(val), "%d", (int)getpid());
			for (i = 0; i < l->n; i++)
				n += (size_t)snprintf(val + n, sizeof(val) - n, " %u",
						      l->offers[i].domid);
			if (!r)
				r = public_dir(xs, t, l);
			if (!r && (!xs_rm(xs, t, l->path) && errno != ENOENT))
				r = ivc_xs_err();
			if (!r && (!xs_write(xs, t, l->path, val, (unsigned)n) ||
				   !xs_set_permissions(xs, t, l->path, perms, np)))
				r = ivc_xs_err();
		}
		for (i = 0; i < l->n && !r; i++)
			if ((!only || only == &l->offers[i]) && l->offers[i].live)
				r = put_offer(l, xs, t, &l->offers[i]);
		if (xs_transaction_end(xs, t, r != 0) || r)
			break;
		if (errno != EAGAIN) {
			r = ivc_xs_err();
			break;
		}
	}
	xs_close(xs);
	return r;
}

/* Withdraw everything (only the process that listens: a fork child's copy
 * must not take the parent's service away). */
static void unpublish(struct xen_listener *l)
{
	struct xs_handle *xs;
	char p[160];
	size_t i;

	if (l->owner != getpid() || ivc_xs_open(&xs))
		return;
	for (i = 0; i < l->n; i++) {
		snprintf(p, sizeof(p), "%s/%u/state", l->path, l->offers[i].domid);
		xs_write(xs, XBT_NULL, p, "5", 1); /* Closing, for the watchers */
	}
	xs_rm(xs, XBT_NULL, l->path);
	xs_close(xs);
}

/* Replace offer @o by a fresh one; a failure leaves it out until the next
 * accept() tries again. */
static void reoffer(struct xen_listener *l, struct xen_offer *o)
{
	offer_drop(l, o);
	if (offer_make(l, o) == 0 && publish(l, o) != 0)
		offer_drop(l, o);
}

/* ---- listen / close ---- */

static int xen_listener_fd(const struct ivc_listener *base)
{
	return ((const struct xen_listener *)base)->epfd;
}

static void xen_listener_close(struct ivc_listener *base)
{
	struct xen_listener *l = (struct xen_listener *)base;
	size_t i;

	if (l->path[0] && l->n)
		unpublish(l);
	for (i = 0; i < l->n; i++)
		offer_drop(l, &l->offers[i]);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->offers);
	free(l);
}

static int xen_accept(struct ivc_listener *base, int timeout_ms, struct ivc_channel **out);

static const struct ivc_listener_ops xen_listener_ops = {
	.accept = xen_accept,
	.fd = xen_listener_fd,
	.close = xen_listener_close,
};

/* The allowed domains: the options' list (no duplicates), or ourselves. */
static int take_domids(struct xen_listener *l, const struct ivc_options *o)
{
	const struct ivc_xen_options *x = o ? o->xen : NULL;
	size_t n = x && x->n_allowed_domids ? x->n_allowed_domids : 1, i, j;

	if (n > IVC_XEN_MAX_PEERS)
		return -EINVAL;
	l->offers = calloc(n, sizeof(*l->offers));
	if (!l->offers)
		return -ENOMEM;
	l->n = n;
	for (i = 0; i < n; i++) {
		l->offers[i].domid = x && x->n_allowed_domids ? x->allowed_domids[i] : l->local;
		if (l->offers[i].domid >= 0x7ff0u)
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (l->offers[j].domid == l->offers[i].domid)
				return -EINVAL;
	}
	return 0;
}

static int listen_setup(struct xen_listener *l, const char *addr, const struct ivc_options *opts)
{
	struct ivc_xen_addr a;
	struct xs_handle *xs;
	size_t i;
	int r;

	r = ivc_xen_addr_parse(addr, &a);
	if (!r)
		r = ivc_xen_opts(opts, &l->txg);
	if (!r)
		r = ivc_xs_open(&xs);
	if (r)
		return r;
	r = ivc_xs_local_domid(xs, &l->local);
	xs_close(xs);
	if (r)
		return r;
	if (a.has_domid && a.domid != l->local)
		return -EADDRNOTAVAIL;
	r = take_domids(l, opts);
	if (r)
		return r;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	for (i = 0; i < l->n && !r; i++)
		r = offer_make(l, &l->offers[i]);
	if (r)
		return r;
	ivc_xen_service_path(l->path, sizeof(l->path), l->local, a.service);
	r = publish(l, NULL);
	if (r)
		l->path[0] = '\0'; /* not ours to withdraw */
	return r;
}

int ivc_xen_listen(const char *addr, const struct ivc_options *opts,
		   struct ivc_listener **out)
{
	struct xen_listener *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->base.ops = &xen_listener_ops;
	l->owner = getpid();
	l->epfd = -1;
	if (opts) {
		l->mode = opts->mode;
		l->spin_max_ns = opts->spin_max_ns;
	}
	r = listen_setup(l, addr, opts);
	if (r) {
		xen_listener_close(&l->base);
		return r;
	}
	*out = &l->base;
	return 0;
}

/* ---- accept ---- */

/* Tell the connector in the page that we refuse it with @err. */
static void tell_closed(struct ivc_xen_hs *hs, struct ivc_xen_ev *hup, int err)
{
	IVC_STORE(&hs->l_err, ivc_xen_told(err));
	IVC_STORE_REL(&hs->l_state, (uint32_t)IVC_XS_CLOSED);
	ivc_xen_ev_notify(hup);
}

/* Answer a connector that wrote its lane into offer @o's page. */
static int serve(struct xen_listener *l, struct xen_offer *o, struct ivc_channel **out)
{
	struct ivc_xen_hs *hs = o->c.hs;
	struct ivc_lane_geom rxg;
	struct ivc_xen_conn c;
	struct ivc_xen_ev hup;
	struct ivc_xport *xp;
	uint32_t rx_start;
	pid_t cpid = (pid_t)IVC_LOAD(&hs->c_pid);
	int r;

	r = ivc_xen_lane_map(o->c.gt, o->domid, IVC_LOAD(&hs->c_lane_ref0),
			     IVC_LOAD(&hs->c_lane_pages), &rxg, &rx_start, &o->c.rx);
	if (!r)
		r = ivc_xen_lane_share(o->c.gs, o->domid, &l->txg, &o->c.tx);
	if (r) {
		tell_closed(hs, &o->c.ev[IVC_XEN_HUP], r);
		reoffer(l, o);
		return r;
	}
	IVC_STORE(&hs->l_lane_ref0, o->c.tx.ref0);
	IVC_STORE(&hs->l_lane_pages, o->c.tx.pages);
	/* The page and ports now belong to the channel, which is made
	 * before the connector is told Connected: nothing on our side may
	 * fail after that (a failure before is Closed with its errno). */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, ivc_xen_ev_fd(&o->c.ev[IVC_XEN_HUP]), NULL);
	c = o->c;
	hup = c.ev[IVC_XEN_HUP]; /* (the handle lives as long as the channel) */
	memset(&o->c, 0, sizeof(o->c));
	o->live = 0;
	/* Our link node (xen_link.c), before the connector is told. */
	ivc_xen_link_names(&c, o->ref, 1);
	r = ivc_xen_link_publish(&c);
	if (r) {
		tell_closed(hs, &hup, r);
		ivc_xen_conn_free(&c);
		reoffer(l, o);
		return r;
	}
	r = ivc_xen_xport_new(&c, cpid, &xp); /* (on failure the connector
					       * sees our alive word go) */
	if (!r) {
		r = ivc_channel_create(xp, &l->txg, IVC_IDX_START, &rxg, rx_start, l->mode,
				       l->spin_max_ns, out);
		if (r) {
			tell_closed(hs, &hup, r);
			xp->ops->destroy(xp);
		} else {
			IVC_STORE_REL(&hs->l_state, (uint32_t)IVC_XS_CONNECTED);
			ivc_xen_ev_notify(&hup);
		}
	}
	reoffer(l, o);
	return r;
}

/* Look at offer @o: 1 and *@out when a channel was made, 0 when there is
 * nothing to do, -errno when a connector failed (the offer is renewed). */
static int offer_poll(struct xen_listener *l, struct xen_offer *o, uint64_t now,
		      struct ivc_channel **out)
{
	struct ivc_xen_hs *hs = o->c.hs;
	uint32_t st;
	int r;

	ivc_xen_ev_drain(&o->c.ev[IVC_XEN_HUP]);
	if (!IVC_LOAD_ACQ(&hs->claim))
		return 0;
	st = IVC_LOAD_ACQ(&hs->c_state);
	if (st == IVC_XS_INITIALISED) {
		r = serve(l, o, out);
		return r ? r : 1;
	}
	if (!o->claim_seen_ns)
		o->claim_seen_ns = now;
	if (IVC_LOAD(&hs->c_alive))
		o->c_seen_alive = 1;
	/* Gave up or died (it went away: aborted), or sat on the offer too
	 * long (a violation): renew it. */
	if (st == IVC_XS_CLOSED || (o->c_seen_alive && !IVC_LOAD(&hs->c_alive))) {
		reoffer(l, o);
		return -ECONNABORTED;
	}
	if (now - o->claim_seen_ns > CLAIM_NS) {
		reoffer(l, o);
		return -EPROTO;
	}
	return 0;
}

static int xen_accept(struct ivc_listener *base, int timeout_ms, struct ivc_channel **out)
{
	struct xen_listener *l = (struct xen_listener *)base;
	uint64_t deadline = ivc_deadline(timeout_ms);

	for (;;) {
		struct epoll_event ev[8];
		uint64_t now = ivc_now_ns();
		int r, ms, pending = 0;
		size_t i;

		for (i = 0; i < l->n; i++) {
			struct xen_offer *o = &l->offers[i];

			if (!o->live)
				reoffer(l, o);
			if (!o->live)
				continue;
			r = offer_poll(l, o, now, out);
			if (r)
				return r > 0 ? 0 : r;
			pending |= o->claim_seen_ns != 0;
		}
		for (i = 0; i < l->n; i++)
			pending |= !l->offers[i].live; /* to be made again */
		if (timeout_ms == 0)
			return -EAGAIN;
		ms = ivc_ms_left(deadline);
		if (ms == 0)
			return -ETIMEDOUT;
		/* A taken or missing offer is looked at again each second. */
		if (pending && (ms < 0 || ms > 1000))
			ms = 1000;
		if (epoll_wait(l->epfd, ev, 8, ms) < 0 && errno != EINTR)
			return -errno;
	}
}
