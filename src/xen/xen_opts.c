/* SPDX-License-Identifier: MIT */
/* The xen transport's option checks: the lane geometry it can grant, and
 * no uid list (uids name nothing across domains). */
#include <errno.h>

#include "core/options_pvt.h"
#include "xen/xen_pvt.h"

int ivc_xen_opts(const struct ivc_options *o, struct ivc_lane_geom *g)
{
	const struct ivc_xen_options *xo;
	struct ivc_geometry geo;
	uint32_t desc_size;
	int r = ivc_opts_lane(o, IVC_OPT_INLINE, &geo, &desc_size);

	/* Uids name nothing across domains: xen's access control is the
	 * listener's list of domids, so shm settings are refused. */
	if (!r)
		r = ivc_opts_xen(o, &xo);
	return r ? r : ivc_xen_lane_geom(&geo, desc_size, g);
}
