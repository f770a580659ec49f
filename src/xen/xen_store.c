/* SPDX-License-Identifier: MIT */
/* Small xenstore helpers shared by the listener and the connector. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <xenstore.h>

#include "xen/xen_pvt.h"

int ivc_xs_err(void)
{
	/* xenstored reports an exceeded quota as ENOSPC (node count) or
	 * E2BIG (size); ivc keeps ENOSPC for gntalloc's limit. */
	if (errno == ENOSPC || errno == E2BIG)
		return -EDQUOT;
	return errno ? -errno : -EIO;
}

int ivc_xs_open(struct xs_handle **xs)
{
	errno = 0;
	*xs = xs_open(0);
	return *xs ? 0 : (errno ? -errno : -ENOENT);
}

int ivc_xs_node_gone(struct xs_handle *xs, const char *path)
{
	unsigned int len;
	void *v = xs_read(xs, XBT_NULL, path, &len);

	free(v);
	/* Removed, or (a guest's view of a node that was removed) no longer
	 * ours to read.  Anything else (xenstored busy) says nothing. */
	return !v && (errno == ENOENT || errno == EACCES);
}

int ivc_xs_read_u32(struct xs_handle *xs, const char *path, uint32_t *v)
{
	unsigned int len;
	char *s = xs_read(xs, XBT_NULL, path, &len), *end;
	unsigned long x;
	int r;

	if (!s)
		return ivc_xs_err();
	x = strtoul(s, &end, 10);
	r = end == s || *end || x > UINT32_MAX ? -EPROTO : 0;
	free(s);
	if (!r)
		*v = (uint32_t)x;
	return r;
}

int ivc_xs_local_domid(struct xs_handle *xs, uint32_t *domid)
{
	/* A relative path: the caller's own domain's "domid". */
	int r = ivc_xs_read_u32(xs, "domid", domid);

	return !r && *domid >= 0x7ff0u ? -EPROTO : r;
}
