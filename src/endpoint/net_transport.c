/* SPDX-License-Identifier: MIT */
/* net: addresses' entry in the transport table (net_pvt.h): they choose
 * shm or tcp per connection. */
#include "endpoint/net_pvt.h"

const struct ivc_transport ivc_net_transport = {
	.scheme = "net",
	.listen = ivc_net_listen,
	.connect = ivc_net_connect,
};
