/* SPDX-License-Identifier: MIT */
#include "core/options_pvt.h"

#include <errno.h>
#include <string.h>

#include "core/lane_layout_pvt.h"
#include "util/compiler_pvt.h"

/* Reserved words must be zero, so that a setting added in their room later
 * reads as its default from programs built before it existed, and a
 * program built after gets -EINVAL from a library too old to know it. */
static int all_zero(const uint64_t *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i])
			return 0;
	return 1;
}

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
		if (!all_zero(o->reserved, IVC_ARRAY_LEN(o->reserved)))
			return -EINVAL;
		*geo = o->tx;
		if (o->flags & IVC_OPT_INLINE)
			*desc_size = IVC_DESC_SIZE_INLINE;
	}
	ivc_geometry_defaults(geo);
	return 0;
}

int ivc_opts_shm(const struct ivc_options *o, const struct ivc_shm_options **out)
{
	const struct ivc_shm_options *s = o ? o->shm : NULL;

	*out = NULL;
	if (o && (o->xen || o->tcp))
		return -EINVAL;
	if (!s)
		return 0;
	if (!all_zero(s->reserved, IVC_ARRAY_LEN(s->reserved)) ||
	    (s->n_allowed_uids && !s->allowed_uids) ||
	    s->n_allowed_uids > IVC_SHM_MAX_UIDS) /* and its copy's size never wraps */
		return -EINVAL;
	*out = s;
	return 0;
}

int ivc_opts_xen(const struct ivc_options *o, const struct ivc_xen_options **out)
{
	const struct ivc_xen_options *x = o ? o->xen : NULL;

	*out = NULL;
	if (o && (o->shm || o->tcp))
		return -EINVAL;
	if (!x)
		return 0;
	if (!all_zero(x->reserved, IVC_ARRAY_LEN(x->reserved)) ||
	    (x->n_allowed_domids && !x->allowed_domids))
		return -EINVAL;
	*out = x;
	return 0;
}

int ivc_opts_tcp(const struct ivc_options *o, const struct ivc_tcp_options **out)
{
	const struct ivc_tcp_options *t = o ? o->tcp : NULL;

	*out = NULL;
	if (o && (o->shm || o->xen))
		return -EINVAL;
	if (!t)
		return 0;
	if (!all_zero(t->reserved, IVC_ARRAY_LEN(t->reserved)) ||
	    (t->flags & ~(uint64_t)(IVC_TCP_LAZY_RETURNS | IVC_TCP_QUEUED_SENDS)) ||
	    (t->n_allow && !t->allow) || t->n_allow > IVC_TCP_MAX_ALLOW)
		return -EINVAL;
	*out = t;
	return 0;
}

IVC_PUBLIC void ivc_options_init(struct ivc_options *o)
{
	if (o)
		memset(o, 0, sizeof(*o));
}
