/* SPDX-License-Identifier: MIT */
/* The tcp transport's entry in the transport table (tcp_pvt.h). */
#include "endpoint/transport_pvt.h"
#include "tcp/tcp_pvt.h"

const struct ivc_transport ivc_tcp_transport = {
	.scheme = "tcp",
	.listen = ivc_tcp_listen,
	.connect = ivc_tcp_connect,
};
