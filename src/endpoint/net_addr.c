/* SPDX-License-Identifier: MIT */
/* net: addresses (net_pvt.h): the tcp form, rendezvous names, locality. */
#include "endpoint/net_pvt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ivc/shm.h>

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

int ivc_net_is_ours(const struct sockaddr_storage *ss)
{
	struct sockaddr_storage a = *ss;
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						    sizeof(struct sockaddr_in);
	int s = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok;

	if (s < 0)
		return 0;
	/* Only an address of one of this namespace's interfaces binds. */
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a)->sin6_port = 0;
	else
		((struct sockaddr_in *)&a)->sin_port = 0;
	ok = bind(s, (struct sockaddr *)&a, len) == 0;
	close(s);
	return ok;
}

int ivc_net_forced_tcp(void)
{
	const char *v = getenv("IVC_NET");

	return v && !strcmp(v, "tcp");
}

void ivc_net_opts_for(const struct ivc_options *o, int shm, struct ivc_options *out)
{
	ivc_options_init(out);
	if (!o)
		return;
	*out = *o;
	if (shm) {
		out->tcp = NULL;
	} else {
		out->shm = NULL;
		out->flags &= ~IVC_OPT_ANY_UID;
	}
}
