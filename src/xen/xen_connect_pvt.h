/* SPDX-License-Identifier: MIT */
/* Connecting over xen to a service that should be there (xen_connect.c):
 * the net: layer's way in, for a service a domain's table names. */
#ifndef IVC_XEN_CONNECT_PVT_H
#define IVC_XEN_CONNECT_PVT_H

#include <ivc/channel.h>

/* As ivc_connect() to a "xen:" address, except that a service that is not
 * there is -ECONNREFUSED at once instead of waited for; one that is there
 * (its offer being made again included) gets @timeout_ms for the
 * handshake, at least a second. */
int ivc_xen_connect_present(const char *addr, const struct ivc_options *opts,
			    int timeout_ms, struct ivc_channel **out);

#endif
