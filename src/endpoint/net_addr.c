/* SPDX-License-Identifier: MIT */
/* net: addresses (net_pvt.h): the tcp form, rendezvous names, locality. */
#include "endpoint/net_pvt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ivc/shm.h>

#include "endpoint/net_xen_pvt.h"

int ivc_net_tcp_addr(const char *addr, char *tcp, size_t size)
{
	if (strncmp(addr, "net:", 4))
		return -EINVAL;
	if ((size_t)snprintf(tcp, size, "tcp:%s", addr + 4) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* "<numeric host>:<port>", brackets around IPv6. */
static void host_port(int family, const void *a, unsigned port, char *out, size_t size)
{
	char h[INET6_ADDRSTRLEN] = "?";

	(void)inet_ntop(family, a, h, sizeof(h));
	if (family == AF_INET6)
		snprintf(out, size, "shm:@ivc-net/[%s]:%u", h, port);
	else
		snprintf(out, size, "shm:@ivc-net/%s:%u", h, port);
}

void ivc_net_rendezvous(const struct sockaddr_storage *ss, char *out, size_t size)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		host_port(AF_INET6, &a->sin6_addr, ntohs(a->sin6_port), out, size);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		host_port(AF_INET, &a->sin_addr, ntohs(a->sin_port), out, size);
	}
}

void ivc_net_rendezvous_any(const struct sockaddr_storage *ss, char *out, size_t size)
{
	struct sockaddr_storage any = *ss;

	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)&any)->sin6_addr = in6addr_any;
	else
		((struct sockaddr_in *)&any)->sin_addr.s_addr = htonl(INADDR_ANY);
	ivc_net_rendezvous(&any, out, size);
}

/* Whether @ss's address binds (port 0): only an address of one of this
 * namespace's interfaces does... */
static int binds(const struct sockaddr_storage *ss)
{
	struct sockaddr_storage a = *ss;
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						    sizeof(struct sockaddr_in);
	int s = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok;

	if (s < 0)
		return 0;
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a)->sin6_port = 0;
	else
		((struct sockaddr_in *)&a)->sin_port = 0;
	ok = bind(s, (struct sockaddr *)&a, len) == 0;
	close(s);
	return ok;
}

/* ...except in a namespace that has never had an IPv4 address (no local
 * table: a fresh namespace, the harness's Xen guests), where every IPv4
 * address binds.  Seen by one that no host has: 192.0.2.1 (TEST-NET-1). */
static int any_ipv4_binds(void)
{
	struct sockaddr_storage t;
	struct sockaddr_in *a = (struct sockaddr_in *)&t;

	memset(&t, 0, sizeof(t));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(0xc0000201u);
	return binds(&t);
}

/* Whether @ss's IPv4 address is on one of this namespace's interfaces. */
static int on_an_interface(const struct sockaddr_in *v4)
{
	struct ifaddrs *all, *i;
	int found = 0;

	if (getifaddrs(&all) < 0)
		return 0;
	for (i = all; i && !found; i = i->ifa_next)
		found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
			((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
				v4->sin_addr.s_addr;
	freeifaddrs(all);
	return found;
}

int ivc_net_is_ours(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
	uint32_t h = ntohl(v4->sin_addr.s_addr);

	if (!binds(ss))
		return 0; /* every remote peer's case: one bind */
	/* Loopback and the wildcard mean this host wherever they bind. */
	if (ss->ss_family != AF_INET || h >> 24 == 127 || h == INADDR_ANY)
		return 1;
	return !any_ipv4_binds() || on_an_interface(v4);
}

int ivc_net_forced_tcp(void)
{
	const char *v = getenv("IVC_NET");

	return v && !strcmp(v, "tcp");
}

void ivc_net_opts_for(const struct ivc_options *o, int side, struct ivc_options *out)
{
	ivc_options_init(out);
	if (!o)
		return;
	*out = *o;
	/* Each side only its own transport's access control. */
	if (side != NET_SIDE_SHM) {
		out->shm = NULL;
		out->flags &= ~IVC_OPT_ANY_UID;
	}
	if (side != NET_SIDE_TCP)
		out->tcp = NULL;
	if (side != NET_SIDE_XEN)
		out->xen = NULL;
}

void ivc_net_key_to_xen(const struct net_key *k, struct net_xen_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = k->family == AF_INET6 ? 6 : 4;
	memcpy(a->addr, k->addr, sizeof(a->addr));
	a->port = k->port;
}

void ivc_net_key_from_xen(const struct net_xen_addr *a, struct net_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = a->family == 6 ? AF_INET6 : AF_INET;
	memcpy(k->addr, a->addr, a->family == 6 ? 16 : 4);
	k->port = a->port;
}

void ivc_net_reg_forget_xen(const struct net_xen_addr *a)
{
	struct net_key k;

	ivc_net_key_from_xen(a, &k);
	ivc_net_reg_forget(&k);
}

void ivc_net_key(const struct sockaddr_storage *ss, struct net_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = ss->ss_family;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		memcpy(k->addr, &a->sin6_addr, 16);
		k->port = ntohs(a->sin6_port);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		memcpy(k->addr, &a->sin_addr, 4);
		k->port = ntohs(a->sin_port);
	}
}

void ivc_net_xen_addr_of(const struct sockaddr_storage *ss, struct net_xen_addr *a)
{
	struct net_key k;

	ivc_net_key(ss, &k);
	ivc_net_key_to_xen(&k, a);
}
