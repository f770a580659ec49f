/* SPDX-License-Identifier: MIT */
/* The xen transport's addresses: "xen:<domid>/<service>", "xen:<service>",
 * and the xenstore path of a service. */
#include "xen/xen_addr_pvt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Xenstore path components are restricted; so are ivc's service names,
 * which also keeps them clear of the '/' that separates the domid. */
static int service_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > IVC_XEN_SERVICE_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int ivc_xen_addr_parse(const char *addr, struct ivc_xen_addr *a)
{
	const char *rest, *slash;
	size_t n;

	if (strncmp(addr, "xen:", 4) != 0)
		return -EAFNOSUPPORT;
	rest = addr + 4;
	memset(a, 0, sizeof(*a));
	slash = strchr(rest, '/');
	if (slash) {
		char *end;
		unsigned long d;

		if (rest[0] < '0' || rest[0] > '9')
			return -EINVAL;
		d = strtoul(rest, &end, 10);
		/* DOMID_FIRST_RESERVED: no guest has an id at or above it. */
		if (end != slash || d >= 0x7ff0u)
			return -EINVAL;
		a->has_domid = 1;
		a->domid = (uint32_t)d;
		rest = slash + 1;
	}
	n = strlen(rest);
	if (n > IVC_XEN_SERVICE_MAX)
		return -ENAMETOOLONG;
	if (!service_ok(rest, n))
		return -EINVAL;
	memcpy(a->service, rest, n + 1);
	return 0;
}

void ivc_xen_service_path(char *buf, size_t size, uint32_t dom, const char *service)
{
	snprintf(buf, size, "/local/domain/%u/data/ivc/%s", dom, service);
}
