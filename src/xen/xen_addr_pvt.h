/* SPDX-License-Identifier: MIT */
/* Xen addresses: "xen:<domid>/<service>" and "xen:<service>" (local). */
#ifndef IVC_XEN_ADDR_PVT_H
#define IVC_XEN_ADDR_PVT_H

#include <stdint.h>

#include <ivc/channel.h>

#define IVC_XEN_SERVICE_MAX 64

struct ivc_xen_addr {
	int has_domid;
	uint32_t domid;
	char service[IVC_XEN_SERVICE_MAX + 1];
};

/* Return: 0; -EINVAL (malformed); -ENAMETOOLONG; -EAFNOSUPPORT. */
int ivc_xen_addr_parse(const char *addr, struct ivc_xen_addr *a);

/* "/local/domain/<dom>/data/ivc/<service>" into @buf (at least 128 bytes). */
void ivc_xen_service_path(char *buf, size_t size, uint32_t dom, const char *service);

#endif
