/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_name.c - an endpoint's name: the ivc address it listens at,
 * "net:<host>:<port>".  A net: address is residency-aware (docs/design.md,
 * "Choosing the transport"): a peer on the same kernel and network
 * namespace connects over shared memory, a peer in a co-resident Xen
 * domain over xen (with ivc-netd), any other over tcp.  So one name serves
 * ranks on this host and on others (FI_LOCAL_COMM and FI_REMOTE_COMM).
 *
 * The host is IVC_FI_HOST if set (an IPv4 or IPv6 literal), else this
 * host's first IPv4 address that is up and not loopback, else 127.0.0.1.
 * The port is drawn at random below Linux's ephemeral range (so outgoing
 * connections never hold it) and drawn again if it is taken.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fi/fi_pvt.h"

#define PORT_LO 10000u
#define PORT_SPAN 22000u /* up to 31999: below 32768 */

static unsigned random_bits(void)
{
	unsigned r = 0;
	FILE *f = fopen("/dev/urandom", "rb");

	if (f) {
		if (fread(&r, sizeof(r), 1, f) != 1)
			r = 0;
		fclose(f);
	}
	return r ? r : (unsigned)rand() ^ (unsigned)getpid();
}

/* This host's first IPv4 address that is up and not loopback. */
static int first_ipv4(char *out, size_t len)
{
	struct ifaddrs *all, *i;
	int found = 0;

	if (getifaddrs(&all))
		return 0;
	for (i = all; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		found = inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
				  out, (socklen_t)len) != NULL;
	}
	freeifaddrs(all);
	return found;
}

/* The host part of the address: "a.b.c.d" or "[v6]". */
static int host_part(char *out, size_t len)
{
	const char *h = getenv("IVC_FI_HOST");
	struct in6_addr a6;
	char ip[INET6_ADDRSTRLEN];

	if (h && *h) {
		if (inet_pton(AF_INET6, h, &a6) == 1)
			return snprintf(out, len, "[%s]", h) < (int)len ? 0 : -EINVAL;
		if (inet_pton(AF_INET, h, &a6) != 1)
			return -EINVAL;
		return snprintf(out, len, "%s", h) < (int)len ? 0 : -EINVAL;
	}
	if (!first_ipv4(ip, sizeof(ip)))
		strcpy(ip, "127.0.0.1");
	return snprintf(out, len, "%s", ip) < (int)len ? 0 : -EINVAL;
}

int ivcfi_name_make(struct ivcfi_name *n)
{
	char host[INET6_ADDRSTRLEN + 2];
	int rc = host_part(host, sizeof(host));

	if (rc)
		return rc;
	memset(n, 0, sizeof(*n));
	n->magic = IVCFI_NAME_MAGIC;
	n->version = IVCFI_NAME_VERSION;
	if (snprintf(n->addr, sizeof(n->addr), "net:%s:%u", host,
		     PORT_LO + random_bits() % PORT_SPAN) >= (int)sizeof(n->addr))
		return -EINVAL;
	return 0;
}
