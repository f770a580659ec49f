/* SPDX-License-Identifier: MIT */
/*
 * Endpoints: the public ivc_listen()/ivc_accept()/ivc_connect() pick a
 * transport by the address's scheme ("shm:", "xen:", "tcp:") and hand the
 * call to it.  Each transport's listener starts with struct ivc_listener,
 * whose ops do the rest.
 */
#ifndef IVC_TRANSPORT_PVT_H
#define IVC_TRANSPORT_PVT_H

#include <ivc/channel.h>

struct ivc_listener_ops {
	int (*accept)(struct ivc_listener *l, int timeout_ms, struct ivc_channel **out);
	int (*fd)(const struct ivc_listener *l);
	void (*close)(struct ivc_listener *l);
};

/* The public handle: the first member of every transport's listener. */
struct ivc_listener {
	const struct ivc_listener_ops *ops;
};

struct ivc_transport {
	const char *scheme;     /* the address prefix before ':' */
	/* Both get the whole address, already checked non-NULL, as does @out. */
	int (*listen)(const char *addr, const struct ivc_options *opts,
		      struct ivc_listener **out);
	int (*connect)(const char *addr, const struct ivc_options *opts, int timeout_ms,
		       struct ivc_channel **out);
};

extern const struct ivc_transport ivc_shm_transport;
extern const struct ivc_transport ivc_xen_transport;
extern const struct ivc_transport ivc_tcp_transport;
extern const struct ivc_transport ivc_net_transport;

#endif
