/* SPDX-License-Identifier: MIT */
/* The shm transport's entry in the transport table: the top of the shm
 * files (shm_pvt.h), which call down to the options and lanes, never up. */
#include "endpoint/transport_pvt.h"
#include "shm/shm_pvt.h"

const struct ivc_transport ivc_shm_transport = {
	.scheme = "shm",
	.listen = ivc_shm_listen,
	.connect = ivc_shm_connect,
};
