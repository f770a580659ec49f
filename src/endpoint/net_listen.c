/* SPDX-License-Identifier: MIT */
/*
 * A net: listener (net_pvt.h): a tcp listener, an shm listener at the
 * rendezvous its bound address names and, when it is given Xen domains to
 * allow, a xen listener at the service its bound address names
 * (net_xen_pvt.h); accepted from as any is ready.
 */
#include "endpoint/net_pvt.h"
#include "endpoint/net_xen_pvt.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <ivc/xen.h>

#include "core/channel_pvt.h"
#include "util/clock_pvt.h"

struct net_listener {
	struct ivc_listener l; /* first: the public handle */
	struct ivc_listener *tcp, *shm, *xen; /* xen: NULL when not asked for */
	int ep;                /* the sub-listeners' descriptors */
	struct net_key key;    /* the bound address, in the registry */
	int registered;
	int marker;            /* the marker we hold for other processes, or -1 */
};

/* One accept from @sub if it has something: 0 with *@out, -EAGAIN. */
static int take(struct ivc_listener *sub, uint32_t route, struct ivc_channel **out)
{
	int r = sub->ops->accept(sub, 0, out);

	if (!r)
		(*out)->xp->route = route;
	return r;
}

/* The sub-listeners in the order accept looks at them, with the route a
 * channel from each took (a tcp client chose tcp: it is elsewhere, or was
 * told to). */
static int subs(struct net_listener *nl, struct ivc_listener **sub, uint32_t *route)
{
	int n = 0;

	sub[n] = nl->shm, route[n++] = IVC_ROUTE_LOCAL;
	if (nl->xen)
		sub[n] = nl->xen, route[n++] = IVC_ROUTE_XEN;
	sub[n] = nl->tcp, route[n++] = IVC_ROUTE_REMOTE;
	return n;
}

static int net_accept(struct ivc_listener *l, int timeout_ms, struct ivc_channel **out)
{
	struct net_listener *nl = (struct net_listener *)l;
	uint64_t deadline = ivc_deadline(timeout_ms);
	struct ivc_listener *sub[3];
	struct pollfd p[3];
	uint32_t route[3];
	int n = subs(nl, sub, route);

	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){ sub[i]->ops->fd(sub[i]), POLLIN, 0 };
	for (;;) {
		int k, r;

		for (int i = 0; i < n; i++) {
			r = take(sub[i], route[i], out);
			if (r != -EAGAIN)
				return r;
		}
		if (timeout_ms == 0)
			return -EAGAIN;
		k = poll(p, (nfds_t)n, ivc_ms_left(deadline));
		if (k < 0 && errno != EINTR)
			return -errno;
		if (k == 0)
			return -ETIMEDOUT;
	}
}

static int net_listener_fd(const struct ivc_listener *l)
{
	return ((const struct net_listener *)l)->ep;
}

static void net_listener_close(struct ivc_listener *l)
{
	struct net_listener *nl = (struct net_listener *)l;

	/* Gone: this process's next connect there looks afresh. */
	if (nl->registered) {
		ivc_net_reg_forget(&nl->key);
		ivc_net_local_unmark(&nl->key, nl->marker);
	}
	if (nl->shm)
		nl->shm->ops->close(nl->shm);
	if (nl->xen)
		nl->xen->ops->close(nl->xen);
	if (nl->tcp)
		nl->tcp->ops->close(nl->tcp);
	if (nl->ep >= 0)
		close(nl->ep);
	free(nl);
}

static const struct ivc_listener_ops net_listener_ops = {
	.accept = net_accept,
	.fd = net_listener_fd,
	.close = net_listener_close,
};

static int watch(int ep, const struct ivc_listener *sub)
{
	struct epoll_event ev = { .events = EPOLLIN };

	return epoll_ctl(ep, EPOLL_CTL_ADD, sub->ops->fd(sub), &ev) < 0 ? -errno : 0;
}

/* The shm side, at the rendezvous of the address tcp bound. */
static int listen_local(struct net_listener *nl, const struct ivc_options *o)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char rv[NET_ADDR_MAX];

	if (getsockname(nl->tcp->ops->fd(nl->tcp), (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	ivc_net_rendezvous(&ss, rv, sizeof(rv));
	ivc_net_key(&ss, &nl->key);
	return ivc_shm_transport.listen(rv, o, &nl->shm);
}

/* The domains a xen side serves: the caller's xen options, else
 * IVC_NET_XEN_DOMAINS (a comma-separated list of domids, the operator's
 * way to reach an unchanged program), else none (no xen side).  Return
 * 1 (@xo filled), 0 (none), -EINVAL (a malformed variable). */
static int xen_domains(const struct ivc_options *opts, struct ivc_xen_options *xo,
		       uint32_t *ids)
{
	const char *v = getenv("IVC_NET_XEN_DOMAINS"), *p;
	size_t n = 0;

	if (opts && opts->xen) {
		*xo = *opts->xen;
		return 1;
	}
	if (!v || !*v)
		return 0;
	for (p = v; *p;) {
		char *end;
		unsigned long d = strtoul(p, &end, 10);

		if (end == p || d >= 0x7ff0u || n == IVC_XEN_MAX_PEERS || (*end && *end != ','))
			return -EINVAL;
		ids[n++] = (uint32_t)d;
		p = *end ? end + 1 : end;
	}
	memset(xo, 0, sizeof(*xo));
	xo->allowed_domids = ids;
	xo->n_allowed_domids = n;
	return 1;
}

/* The xen side, at the service the address tcp bound names.  Without Xen
 * here, a list from the environment is no error (the same program runs
 * everywhere); one the caller gave is. */
static int listen_xen(struct net_listener *nl, const struct ivc_options *opts,
		      const struct ivc_options *o)
{
	const struct ivc_transport *xen = ivc_net_xen_transport();
	struct ivc_xen_options xo;
	uint32_t ids[IVC_XEN_MAX_PEERS];
	struct ivc_options ox = *o;
	struct net_xen_addr a;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char key[NET_XEN_KEY_MAX], svc[NET_ADDR_MAX];
	int r = xen_domains(opts, &xo, ids), given = opts && opts->xen;

	if (r <= 0)
		return r;
	if (!xen)
		return given ? -EAFNOSUPPORT : 0;
	if (getsockname(nl->tcp->ops->fd(nl->tcp), (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	ivc_net_xen_addr_of(&ss, &a);
	ivc_net_xen_key_of(&a, key);
	snprintf(svc, sizeof(svc), "xen:" NET_XEN_SERVICE_PREFIX "%s", key);
	ox.xen = &xo;
	r = xen->listen(svc, &ox, &nl->xen);
	if (r && !given && (r == -ENOENT || r == -EACCES))
		return 0; /* not a Xen domain, or no access to its devices */
	return r;
}

int ivc_net_listen(const char *addr, const struct ivc_options *opts,
		   struct ivc_listener **out)
{
	struct ivc_options os, ot, ox;
	char tcp[NET_ADDR_MAX];
	struct net_listener *nl;
	int r = ivc_net_tcp_addr(addr, tcp, sizeof(tcp));

	if (r)
		return r;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->l.ops = &net_listener_ops;
	nl->marker = -1;
	nl->ep = epoll_create1(EPOLL_CLOEXEC);
	if (nl->ep < 0) {
		r = -errno;
		goto fail;
	}
	ivc_net_opts_for(opts, NET_SIDE_TCP, &ot);
	ivc_net_opts_for(opts, NET_SIDE_SHM, &os);
	ivc_net_opts_for(opts, NET_SIDE_XEN, &ox);
	r = ivc_tcp_transport.listen(tcp, &ot, &nl->tcp);
	if (!r)
		r = listen_local(nl, &os);
	if (!r)
		r = listen_xen(nl, opts, &ox);
	if (!r)
		r = watch(nl->ep, nl->tcp);
	if (!r)
		r = watch(nl->ep, nl->shm);
	if (!r && nl->xen)
		r = watch(nl->ep, nl->xen);
	if (r)
		goto fail;
	/* Here: this process's connects to this address need not look. */
	ivc_net_reg_put(&nl->key, NET_SEEN_LOCAL, 0);
	nl->marker = ivc_net_local_mark(&nl->key); /* and other processes' */
	nl->registered = 1;
	*out = &nl->l;
	return 0;
fail:
	net_listener_close(&nl->l);
	return r;
}
