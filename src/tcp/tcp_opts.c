/* SPDX-License-Identifier: MIT */
/* The options a tcp endpoint takes (tcp_pvt.h), and its sockets' setup. */
#include "tcp/tcp_pvt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <ivc/shm.h>

#include "core/options_pvt.h"

/* "<address>[/<prefix>]" into @n.  Return: 0, or -EINVAL. */
static int net_parse(const char *s, struct tcp_net *n)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long prefix;
	size_t len = s ? strlen(s) : 0;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, n->addr) == 1)
		n->family = AF_INET6;
	else
		return -EINVAL;
	prefix = n->family == AF_INET ? 32 : 128;
	if (slash) {
		if (!slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1))
			return -EINVAL;
		errno = 0;
		unsigned long p = strtoul(slash + 1, &end, 10);
		if (errno || p > prefix)
			return -EINVAL;
		prefix = p;
	}
	n->prefix = (unsigned)prefix;
	return 0;
}

static int allow_copy(const struct ivc_tcp_options *t, struct tcp_opts *out)
{
	size_t i;

	if (!t || !t->n_allow)
		return 0;
	out->allow = calloc(t->n_allow, sizeof(*out->allow));
	if (!out->allow)
		return -ENOMEM;
	out->n_allow = t->n_allow;
	for (i = 0; i < t->n_allow; i++)
		if (net_parse(t->allow[i], &out->allow[i]))
			return -EINVAL;
	return 0;
}

static int psk_copy(const struct ivc_tcp_options *t, struct tcp_opts *out)
{
	if (!t || (!t->psk && !t->psk_len))
		return 0;
	if (!t->psk || t->psk_len < IVC_TCP_PSK_MIN || t->psk_len > IVC_TCP_PSK_MAX)
		return -EINVAL;
#ifndef IVC_HAVE_NETTLE
	return -EAFNOSUPPORT; /* built without nettle: no HMAC */
#endif
	out->psk = malloc(t->psk_len);
	if (!out->psk)
		return -ENOMEM;
	memcpy(out->psk, t->psk, t->psk_len);
	out->psk_len = t->psk_len;
	return 0;
}

int ivc_tcp_opts(const struct ivc_options *o, struct tcp_opts *out)
{
	const struct ivc_tcp_options *t = NULL;
	struct ivc_geometry geo;
	uint32_t desc_size;
	int r = ivc_opts_lane(o, IVC_OPT_INLINE, &geo, &desc_size);

	memset(out, 0, sizeof(*out));
	/* shm's uid list and xen's domid list mean nothing here: a list of
	 * whom to trust is never dropped silently. */
	if (!r)
		r = ivc_opts_tcp(o, &t);
	if (!r)
		r = ivc_lane_geom_compute_ex(&geo, 0, desc_size, &out->txg);
	if (!r)
		r = allow_copy(t, out);
	if (!r)
		r = psk_copy(t, out);
	if (r) {
		ivc_tcp_opts_free(out);
		return r;
	}
	out->peer_lane_max = IVC_DEFAULT_PEER_LANE_MAX;
	out->lazy = t && (t->flags & IVC_TCP_LAZY_RETURNS);
	out->queued_sends = t && (t->flags & IVC_TCP_QUEUED_SENDS);
	if (o) {
		out->mode = o->mode;
		out->spin_max_ns = o->spin_max_ns;
	}
	return 0;
}

void ivc_tcp_opts_free(struct tcp_opts *o)
{
	free(o->allow);
	o->allow = NULL;
	o->n_allow = 0;
	if (o->psk)
		explicit_bzero(o->psk, o->psk_len);
	free(o->psk);
	o->psk = NULL;
	o->psk_len = 0;
}

/* The first @bits bits of @a and @b are equal. */
static int prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole))
		return 0;
	return !rest || !((a[whole] ^ b[whole]) & (uint8_t)(0xff00u >> rest));
}

int ivc_tcp_allowed(const struct tcp_opts *o, const struct sockaddr_storage *ss)
{
	uint8_t a[16];
	int family = ss->ss_family;
	size_t i;

	if (!o->n_allow)
		return ivc_tcp_is_loopback(ss);
	if (family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(v6)) {
			family = AF_INET; /* an IPv4 peer on an IPv6 socket */
			memcpy(a, &v6->s6_addr[12], 4);
		} else {
			memcpy(a, v6, 16);
		}
	} else {
		return 0;
	}
	for (i = 0; i < o->n_allow; i++)
		if (o->allow[i].family == family &&
		    prefix_eq(a, o->allow[i].addr, o->allow[i].prefix))
			return 1;
	return 0;
}

int ivc_tcp_sock_setup(int sock)
{
	int one = 1;

	/* A burst is one write; nothing should wait for more. */
	if (setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return -errno;
	/* Writable only once nothing queued is still unsent: ivc_tcp_drain()
	 * waits for that, and the kernel holds little a crash could lose. */
	if (setsockopt(sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &one, sizeof(one)) < 0)
		return -errno;
	if (fcntl(sock, F_SETFL, O_NONBLOCK) < 0 || fcntl(sock, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}
