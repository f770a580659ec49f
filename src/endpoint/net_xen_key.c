/* SPDX-License-Identifier: MIT */
/* The keys of net: addresses between Xen domains (net_xen_pvt.h). */
#include "endpoint/net_xen_pvt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned addr_len(int family)
{
	return family == 6 ? 16u : 4u;
}

void ivc_net_xen_key_of(const struct net_xen_addr *a, char *out)
{
	char *p = out;

	*p++ = a->family == 6 ? '6' : '4';
	*p++ = '-';
	for (unsigned i = 0; i < addr_len(a->family); i++)
		p += sprintf(p, "%02x", a->addr[i]);
	sprintf(p, "-%u", (unsigned)a->port);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ivc_net_xen_key_parse(const char *key, struct net_xen_addr *a)
{
	const char *p = key;
	unsigned long port;
	char *end;

	memset(a, 0, sizeof(*a));
	if ((p[0] != '4' && p[0] != '6') || p[1] != '-')
		return -EINVAL;
	a->family = p[0] - '0';
	p += 2;
	for (unsigned i = 0; i < addr_len(a->family); i++, p += 2) {
		int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);

		if (lo < 0)
			return -EINVAL;
		a->addr[i] = (uint8_t)(hi << 4 | lo);
	}
	/* Decimal, no sign, no leading zero: one spelling per key. */
	if (*p++ != '-' || *p < '0' || *p > '9' || (p[0] == '0' && p[1]))
		return -EINVAL;
	port = strtoul(p, &end, 10);
	if (*end || port == 0 || port > 65535)
		return -EINVAL;
	a->port = (uint16_t)port;
	return 0;
}

int ivc_net_xen_is_any(const struct net_xen_addr *a)
{
	for (unsigned i = 0; i < addr_len(a->family); i++)
		if (a->addr[i])
			return 0;
	return 1;
}

/* Field by field: the structure has padding. */
static int same_addr(const struct net_xen_addr *a, const struct net_xen_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, addr_len(a->family));
}

int ivc_net_xen_entry_parse(const char *v, const struct net_xen_addr *a, uint32_t *domid,
			    unsigned *wild)
{
	struct net_xen_addr s, any = *a;
	const char *svc;
	unsigned long d;
	char *end;

	/* Decimal, no sign, no leading zero: one spelling per entry. */
	if (*v < '0' || *v > '9' || (v[0] == '0' && v[1] != '/'))
		return -EPROTO;
	d = strtoul(v, &end, 10);
	/* DOMID_FIRST_RESERVED: no domain has an id at or above it. */
	if (*end != '/' || d >= 0x7ff0u)
		return -EPROTO;
	svc = end + 1;
	if (strncmp(svc, NET_XEN_SERVICE_PREFIX, strlen(NET_XEN_SERVICE_PREFIX)) ||
	    ivc_net_xen_key_parse(svc + strlen(NET_XEN_SERVICE_PREFIX), &s))
		return -EPROTO;
	memset(any.addr, 0, sizeof(any.addr));
	if (same_addr(&s, a))
		*wild = 0;
	else if (same_addr(&s, &any))
		*wild = 1;
	else
		return -EPROTO;
	*domid = (uint32_t)d;
	return 0;
}

void ivc_net_xen_target(uint32_t domid, const struct net_xen_addr *a, unsigned wild,
			char *out, size_t size)
{
	struct net_xen_addr t = *a;
	char key[NET_XEN_KEY_MAX];

	if (wild)
		memset(t.addr, 0, sizeof(t.addr));
	ivc_net_xen_key_of(&t, key);
	snprintf(out, size, "xen:%u/" NET_XEN_SERVICE_PREFIX "%s", (unsigned)domid, key);
}
