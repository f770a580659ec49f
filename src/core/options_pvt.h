/* SPDX-License-Identifier: MIT */
/* Endpoint options: the checks every transport applies to struct
 * ivc_options before it makes a lane. */
#ifndef IVC_OPTIONS_PVT_H
#define IVC_OPTIONS_PVT_H

#include <stdint.h>

#include <ivc/channel.h>
#include <ivc/shm.h>
#include <ivc/tcp.h>
#include <ivc/xen.h>

/* Check @o (NULL: defaults) for a transport that accepts the IVC_OPT_*
 * flags in @flags_ok, and give the lane geometry it asks for, defaults
 * filled in, and its descriptor size.  The transport computes the layout
 * itself (it knows its transport area).  Return: 0 or -EINVAL. */
int ivc_opts_lane(const struct ivc_options *o, unsigned flags_ok,
		  struct ivc_geometry *geo, uint32_t *desc_size);

/* The shm (xen, tcp) settings of @o (NULL: defaults), checked: *out is NULL for
 * the defaults.  -EINVAL for the other transport's settings (each has its
 * own access control: a list meant for one must not be dropped silently by
 * the other), a reserved word not zero, or a count without its list. */
int ivc_opts_shm(const struct ivc_options *o, const struct ivc_shm_options **out);
int ivc_opts_xen(const struct ivc_options *o, const struct ivc_xen_options **out);
int ivc_opts_tcp(const struct ivc_options *o, const struct ivc_tcp_options **out);

#endif
