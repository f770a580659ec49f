/* SPDX-License-Identifier: MIT */
/*
 * A net: listener (net_pvt.h): a tcp listener, and an shm listener at the
 * rendezvous its bound address names, accepted from as either is ready.
 */
#include "endpoint/net_pvt.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/channel_pvt.h"
#include "util/clock_pvt.h"

struct net_listener {
	struct ivc_listener l; /* first: the public handle */
	struct ivc_listener *tcp, *shm;
	int ep;                /* both listeners' descriptors */
	struct net_key key;    /* the bound address, in the registry */
	int registered;
};

/* One accept from @sub if it has something: 0 with *@out, -EAGAIN. */
static int take(struct ivc_listener *sub, uint32_t route, struct ivc_channel **out)
{
	int r = sub->ops->accept(sub, 0, out);

	if (!r)
		(*out)->xp->route = route;
	return r;
}

static int net_accept(struct ivc_listener *l, int timeout_ms, struct ivc_channel **out)
{
	struct net_listener *nl = (struct net_listener *)l;
	uint64_t deadline = ivc_deadline(timeout_ms);

	for (;;) {
		struct pollfd p[2] = { { nl->shm->ops->fd(nl->shm), POLLIN, 0 },
				       { nl->tcp->ops->fd(nl->tcp), POLLIN, 0 } };
		int n, r = take(nl->shm, IVC_ROUTE_LOCAL, out);

		if (r != -EAGAIN)
			return r;
		/* A tcp client chose tcp: it is elsewhere, or was told to. */
		r = take(nl->tcp, IVC_ROUTE_REMOTE, out);
		if (r != -EAGAIN)
			return r;
		if (timeout_ms == 0)
			return -EAGAIN;
		n = poll(p, 2, ivc_ms_left(deadline));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 0)
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
	if (nl->registered)
		ivc_net_reg_forget(&nl->key);
	if (nl->shm)
		nl->shm->ops->close(nl->shm);
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

int ivc_net_listen(const char *addr, const struct ivc_options *opts,
		   struct ivc_listener **out)
{
	struct ivc_options os, ot;
	char tcp[NET_ADDR_MAX];
	struct net_listener *nl;
	int r = ivc_net_tcp_addr(addr, tcp, sizeof(tcp));

	if (r)
		return r;
	if (opts && opts->xen)
		return -EINVAL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->l.ops = &net_listener_ops;
	nl->ep = epoll_create1(EPOLL_CLOEXEC);
	if (nl->ep < 0) {
		r = -errno;
		goto fail;
	}
	ivc_net_opts_for(opts, 0, &ot);
	ivc_net_opts_for(opts, 1, &os);
	r = ivc_tcp_transport.listen(tcp, &ot, &nl->tcp);
	if (!r)
		r = listen_local(nl, &os);
	if (!r)
		r = watch(nl->ep, nl->tcp);
	if (!r)
		r = watch(nl->ep, nl->shm);
	if (r)
		goto fail;
	/* Here: this process's connects to this address need not look. */
	ivc_net_reg_put(&nl->key, NET_SEEN_LOCAL, 0);
	nl->registered = 1;
	*out = &nl->l;
	return 0;
fail:
	net_listener_close(&nl->l);
	return r;
}
