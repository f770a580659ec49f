/* SPDX-License-Identifier: MIT */
/* The shm handshake spoken by hand (fake_peer.h). */
#include "fake_peer.h"

#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int seals_of(enum fake_seal s)
{
	switch (s) {
	case SEAL_NONE:
		return 0;
	case SEAL_SIZE:
		return F_SEAL_SHRINK | F_SEAL_GROW;
	case SEAL_SIZE_WRITE:
		return F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	case SEAL_SIZE_SEALED:
		return F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	}
	return 0;
}

static void format(struct fake_lane *f, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);

	if (p == MAP_FAILED)
		return; /* (a hugetlb lane with no free huge page: unformatted) */
	ivc_lane_format(p, &f->g, IVC_IDX_START);
	munmap(p, len);
}

int fake_lane_make(struct fake_lane *f, const struct fake_lane_opts *o)
{
	struct ivc_geometry geo = o->geo;
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	off_t size;

	if (!geo.slots)
		geo = (struct ivc_geometry){ 4, 64, 4 };
	REQUIRE_OK(ivc_lane_geom_compute(&geo, 0, &f->g));
	size = (off_t)((int64_t)f->g.region_size + o->size_delta);
	if (o->hugetlb)
		flags |= MFD_HUGETLB;
	f->memfd = memfd_create("fake-lane", flags);
	if (f->memfd < 0 && o->hugetlb)
		return -1;
	REQUIRE(f->memfd >= 0);
	if (ftruncate(f->memfd, size) != 0 && o->hugetlb) {
		close(f->memfd);
		return -1;
	}
	if (!o->sparse && !o->hugetlb)
		REQUIRE(fallocate(f->memfd, 0, 0, size) == 0);
	if (!o->unformatted)
		format(f, (size_t)f->g.region_size);
	if (o->seal != SEAL_NONE)
		REQUIRE(fcntl(f->memfd, F_ADD_SEALS, seals_of(o->seal)) == 0);
	f->bell[0] = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	f->bell[1] = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	REQUIRE(f->bell[0] >= 0 && f->bell[1] >= 0);
	return 0;
}

void fake_lane_free(struct fake_lane *f)
{
	close(f->memfd);
	close(f->bell[0]);
	close(f->bell[1]);
}

void fake_msg(struct ivc_ctrl_msg *m, int type, const struct ivc_lane_geom *g)
{
	memset(m, 0, sizeof(*m));
	m->magic = IVC_CTRL_MAGIC;
	m->version = IVC_PROTO_VERSION;
	m->type = (uint16_t)type;
	if (g) {
		m->slots = g->slots;
		m->buf_size = g->buf_size;
		m->buf_count = g->buf_count;
		m->region_size = g->region_size;
	}
}

int fake_connect(const char *addr)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *name = addr + 4; /* after "shm:" */
	socklen_t len;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	if (name[0] == '@') {
		size_t n = strlen(name + 1);

		memcpy(sun.sun_path + 1, name + 1, n);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	} else {
		strncpy(sun.sun_path, name, sizeof(sun.sun_path) - 1);
		len = sizeof(sun);
	}
	if (connect(s, (struct sockaddr *)&sun, len) != 0) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}

int fake_send_lane(int sock, int type, const struct fake_lane *f)
{
	struct ivc_ctrl_msg m;
	int fds[3] = { f->memfd, f->bell[0], f->bell[1] };

	fake_msg(&m, type, &f->g);
	return t_send_fds(sock, &m, sizeof(m), fds, 3, 0);
}

int fake_send_ready(int sock)
{
	struct ivc_ctrl_msg m;

	fake_msg(&m, IVC_CTRL_READY, NULL);
	return t_send_fds(sock, &m, sizeof(m), NULL, 0, 0);
}

ssize_t fake_recv(int sock, void *data, size_t cap, int *nfds, int *keep,
		  int timeout_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { data, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int k = 0;

	if (poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int cnt = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < cnt; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof(fd));
			if (keep && *keep < 0)
				*keep = fd;
			else
				close(fd);
			k++;
		}
	}
	if (nfds)
		*nfds = k;
	return n < 0 ? -errno : n;
}
