/* SPDX-License-Identifier: MIT */
/* tcp addresses (tcp_pvt.h): "tcp:<host>:<port>", "tcp:[<IPv6>]:<port>". */
#include "tcp/tcp_pvt.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#define HOST_MAX 255u

/* Split "<host>:<port>" (or "[<v6>]:<port>") into @host and @port. */
static int split(const char *s, char *host, const char **port)
{
	const char *end;
	size_t n;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - s - 1);
		s++;
		*port = end + 2;
	} else {
		end = strrchr(s, ':');
		if (!end)
			return -EINVAL;
		n = (size_t)(end - s);
		*port = end + 1;
		if (memchr(s, ':', n))
			return -EINVAL; /* an IPv6 literal needs its brackets */
	}
	if (n == 0)
		return -EINVAL;
	if (n > HOST_MAX)
		return -ENAMETOOLONG;
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

/* A port of 1..65535 in decimal, nothing else. */
static int port_ok(const char *p)
{
	char *end;
	unsigned long v;

	if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5)
		return 0;
	v = strtoul(p, &end, 10);
	return v >= 1 && v <= 65535;
}

int ivc_tcp_addr(const char *addr, struct tcp_addr *out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	char host[HOST_MAX + 1];
	const char *port;
	int r;

	if (strncmp(addr, "tcp:", 4))
		return -EAFNOSUPPORT;
	r = split(addr + 4, host, &port);
	if (r)
		return r;
	if (!port_ok(port))
		return -EINVAL;
	r = getaddrinfo(host, port, &hints, &res);
	if (r == EAI_ADDRFAMILY || r == EAI_NONAME || r == EAI_NODATA || r == EAI_FAIL ||
	    r == EAI_AGAIN) {
		/* AI_ADDRCONFIG hides loopback on a host with no other
		 * address: try once more without it. */
		hints.ai_flags = AI_NUMERICSERV;
		r = getaddrinfo(host, port, &hints, &res);
	}
	if (r == EAI_MEMORY)
		return -ENOMEM;
	if (r)
		return -EADDRNOTAVAIL;
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int ivc_tcp_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}
