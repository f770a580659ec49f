/* SPDX-License-Identifier: MIT */
#include "core/options_pvt.h"

#include <errno.h>
#include <string.h>

#include "core/lane_layout_pvt.h"
#include "util/compiler_pvt.h"

int ivc_opts_lane(const struct ivc_options *o, unsigned flags_ok,
		  struct ivc_geometry *geo, uint32_t *desc_size)
{
	*geo = (struct ivc_geometry){ 0, 0, 0 };
	*desc_size = IVC_DESC_SIZE;
	if (o) {
		if (o->mode < IVC_MODE_ADAPTIVE || o->mode > IVC_MODE_BLOCK)
			return -EINVAL;
		if (o->flags & ~flags_ok)
			return -EINVAL;
		if ((o->n_allowed_uids && !o->allowed_uids) ||
		    (o->n_allowed_domids && !o->allowed_domids))
			return -EINVAL;
		*geo = o->tx;
		if (o->flags & IVC_OPT_INLINE)
			*desc_size = IVC_DESC_SIZE_INLINE;
	}
	ivc_geometry_defaults(geo);
	return 0;
}

IVC_PUBLIC void ivc_options_init(struct ivc_options *o)
{
	if (o)
		memset(o, 0, sizeof(*o));
}
