/* SPDX-License-Identifier: MIT */
/* Parsing of shm addresses ("shm:/path", "shm:@name"). */
#ifndef IVC_SHM_ADDR_PVT_H
#define IVC_SHM_ADDR_PVT_H

#include <sys/socket.h>
#include <sys/un.h>

struct ivc_addr {
	struct sockaddr_un sun;
	socklen_t len;
	int abstract; /* Linux abstract namespace: no file to unlink */
};

/* Return: 0; -EINVAL (malformed); -EAFNOSUPPORT (unknown or unbuilt
 * transport); -ENAMETOOLONG. */
int ivc_addr_parse(const char *s, struct ivc_addr *a);

#endif
