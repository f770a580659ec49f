/* SPDX-License-Identifier: MIT */
/* Endpoints: the public listen/accept/connect calls, dispatched on the
 * address's scheme (see endpoint.h). */
#include "endpoint.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "compiler.h"

static const struct ivc_transport *const transports[] = {
	&ivc_shm_transport,
};

/* The transport of @addr: -EINVAL without a scheme, -EAFNOSUPPORT for one
 * this build does not have. */
static int pick(const char *addr, const struct ivc_transport **out)
{
	const char *colon = strchr(addr, ':');
	size_t n;

	if (!colon || colon == addr)
		return -EINVAL;
	n = (size_t)(colon - addr);
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		if (strlen(transports[i]->scheme) == n && !strncmp(addr, transports[i]->scheme, n)) {
			*out = transports[i];
			return 0;
		}
	}
	return -EAFNOSUPPORT;
}

IVC_PUBLIC int ivc_listen(const char *addr, const struct ivc_options *opts,
			  struct ivc_listener **out)
{
	const struct ivc_transport *t;
	int r;

	if (!addr || !out)
		return -EINVAL;
	if ((r = pick(addr, &t)) < 0)
		return r;
	return t->listen(addr, opts, out);
}

IVC_PUBLIC int ivc_connect(const char *addr, const struct ivc_options *opts,
			   int timeout_ms, struct ivc_channel **out)
{
	const struct ivc_transport *t;
	int r;

	if (!addr || !out)
		return -EINVAL;
	if ((r = pick(addr, &t)) < 0)
		return r;
	return t->connect(addr, opts, timeout_ms, out);
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
