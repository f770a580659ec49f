/* SPDX-License-Identifier: MIT */
/* The options a tcp endpoint takes (tcp_pvt.h), and its sockets' setup. */
#include "tcp/tcp_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <string.h>

#include <ivc/shm.h>

#include "core/options_pvt.h"

int ivc_tcp_opts(const struct ivc_options *o, struct tcp_opts *out)
{
	struct ivc_geometry geo;
	uint32_t desc_size;
	int r = ivc_opts_lane(o, IVC_OPT_INLINE, &geo, &desc_size);

	memset(out, 0, sizeof(*out));
	if (r)
		return r;
	/* shm's uid list and xen's domid list mean nothing here: a list of
	 * whom to trust is never dropped silently. */
	if (o && (o->shm || o->xen))
		return -EINVAL;
	r = ivc_lane_geom_compute_ex(&geo, 0, desc_size, &out->txg);
	if (r)
		return r;
	out->peer_lane_max = IVC_DEFAULT_PEER_LANE_MAX;
	if (o) {
		out->mode = o->mode;
		out->spin_max_ns = o->spin_max_ns;
	}
	return 0;
}

int ivc_tcp_sock_setup(int sock)
{
	int one = 1;

	/* A burst is one write; nothing should wait for more. */
	if (setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return -errno;
	/* Writable only once nothing queued is still unsent: ivc_tcp_drain()
	 * waits for that, and the kernel holds little a crash could lose. */
	if (setsockopt(sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &one, sizeof(one)) < 0)
		return -errno;
	if (fcntl(sock, F_SETFL, O_NONBLOCK) < 0 || fcntl(sock, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}
