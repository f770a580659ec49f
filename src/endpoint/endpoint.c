/* SPDX-License-Identifier: MIT */
/* Endpoints: the public listen/accept/connect calls, dispatched on the
 * address's scheme (see transport_pvt.h). */
#include "endpoint/transport_pvt.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "util/compiler_pvt.h"

static const struct ivc_transport *const transports[] = {
	&ivc_shm_transport,
#ifdef IVC_HAVE_XEN
	&ivc_xen_transport,
#endif
	&ivc_tcp_transport,
	&ivc_net_transport,
};

/* The transport of @addr into *@t: -EINVAL without an address, a scheme or
 * a place for the result (@out), -EAFNOSUPPORT for a scheme this build does
 * not have. */
static int pick(const char *addr, const void *out, const struct ivc_transport **t)
{
	const char *colon = addr ? strchr(addr, ':') : NULL;
	size_t n;

	if (!out || !colon || colon == addr)
		return -EINVAL;
	n = (size_t)(colon - addr);
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		if (strlen(transports[i]->scheme) == n && !strncmp(addr, transports[i]->scheme, n)) {
			*t = transports[i];
			return 0;
		}
	}
	return -EAFNOSUPPORT;
}

IVC_PUBLIC int ivc_listen(const char *addr, const struct ivc_options *opts,
			  struct ivc_listener **out)
{
	const struct ivc_transport *t;
	int r = pick(addr, out, &t);

	return r < 0 ? r : t->listen(addr, opts, out);
}

IVC_PUBLIC int ivc_connect(const char *addr, const struct ivc_options *opts,
			   int timeout_ms, struct ivc_channel **out)
{
	const struct ivc_transport *t;
	int r = pick(addr, out, &t);

	return r < 0 ? r : t->connect(addr, opts, timeout_ms, out);
}

IVC_PUBLIC int ivc_accept(struct ivc_listener *l, int timeout_ms,
			  struct ivc_channel **out)
{
	if (!l || !out)
		return -EINVAL;
	return l->ops->accept(l, timeout_ms, out);
}

IVC_PUBLIC int ivc_listener_fd(const struct ivc_listener *l)
{
	return l ? l->ops->fd(l) : -EINVAL;
}

IVC_PUBLIC void ivc_listener_close(struct ivc_listener *l)
{
	if (l)
		l->ops->close(l);
}
