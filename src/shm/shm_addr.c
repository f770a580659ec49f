/* SPDX-License-Identifier: MIT */
#include "shm/shm_addr_pvt.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

int ivc_addr_parse(const char *s, struct ivc_addr *a)
{
	const char *colon, *rest;
	size_t n;

	if (!s || !a)
		return -EINVAL;
	colon = strchr(s, ':');
	if (!colon || colon == s)
		return -EINVAL;
	if ((size_t)(colon - s) != 3 || strncmp(s, "shm", 3) != 0)
		return -EAFNOSUPPORT; /* not an shm address (endpoint.c picks by scheme) */
	rest = colon + 1;
	memset(a, 0, sizeof(*a));
	a->sun.sun_family = AF_UNIX;
	if (rest[0] == '@') {
		n = strlen(rest + 1);
		if (n == 0)
			return -EINVAL;
		if (n > sizeof(a->sun.sun_path) - 1)
			return -ENAMETOOLONG;
		/* Abstract: a leading NUL, then the name, no terminator. */
		memcpy(a->sun.sun_path + 1, rest + 1, n);
		a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
		a->abstract = 1;
		return 0;
	}
	n = strlen(rest);
	if (n == 0)
		return -EINVAL;
	if (n > sizeof(a->sun.sun_path) - 1)
		return -ENAMETOOLONG;
	memcpy(a->sun.sun_path, rest, n);
	a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}
