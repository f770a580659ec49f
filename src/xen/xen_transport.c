/* SPDX-License-Identifier: MIT */
/* The xen transport's entry in the transport table: the top of the xen
 * files, which call down to addresses, options and lanes, never up. */
#include "endpoint/transport_pvt.h"
#include "xen/xen_pvt.h"

const struct ivc_transport ivc_xen_transport = {
	.scheme = "xen",
	.listen = ivc_xen_listen,
	.connect = ivc_xen_connect,
};
