/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <ivc/error.h>

#include "util/compiler_pvt.h"

struct err_text {
	int err;
	const char *text;
};

/* ivc's own words for what an errno means when an ivc call returns it. */
static const struct err_text texts[] = {
	{ 0, "success" },
	{ EINVAL, "invalid argument" },
	{ EAGAIN, "would block (timeout 0)" },
	{ ETIMEDOUT, "timed out" },
	{ EPIPE, "peer closed the channel" },
	{ ECONNRESET, "peer died without closing the channel" },
	{ EPROTO, "peer violated the ivc protocol; channel broken" },
	{ EPROTONOSUPPORT, "peer speaks another ivc protocol version" },
	{ EACCES, "access control refused the peer (uid or domid not allowed)" },
	{ EPERM, "permission denied by the system (file or device permissions)" },
	{ ECONNREFUSED, "no ivc listener at that address" },
	{ ECONNABORTED, "the client went away during the handshake" },
	{ EAFNOSUPPORT, "unknown transport in address (or not built in)" },
	{ EMSGSIZE, "message too large for the channel or buffer" },
	{ ENAMETOOLONG, "address too long" },
	{ EADDRINUSE, "address already in use" },
	{ ENOMEM, "out of memory" },
	{ EMFILE, "out of file descriptors" },
	{ EEXIST, "already registered" },
	{ ENOENT, "not found" },
	{ E2BIG, "lane too large (for the transport, or for the peer's limit)" },
	{ ENOSPC, "out of grant pages (xen gntalloc limit: see docs/xen.md)" },
	{ EDQUOT, "xenstore quota exceeded" },
	{ EADDRNOTAVAIL, "xen: can only listen in the local domain" },
};

IVC_PUBLIC const char *ivc_strerror(int err)
{
	size_t i;

	if (err == INT_MIN)
		return "unknown error"; /* -INT_MIN does not exist */
	if (err < 0)
		err = -err;
	for (i = 0; i < IVC_ARRAY_LEN(texts); i++)
		if (texts[i].err == err)
			return texts[i].text;
	return "unknown error";
}
