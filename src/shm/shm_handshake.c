/* SPDX-License-Identifier: MIT */
#include "shm/shm_handshake_pvt.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/lane_layout_pvt.h"
#include "util/clock_pvt.h"
#include "util/fds_pvt.h"

int ivc_ctrl_parse(const void *buf, size_t len, struct ivc_ctrl_msg *out)
{
	if (len != sizeof(*out))
		return -EPROTO;
	memcpy(out, buf, sizeof(*out));
	if (out->magic != IVC_CTRL_MAGIC)
		return -EPROTO;
	if (out->type < IVC_CTRL_HELLO || out->type > IVC_CTRL_READY)
		return -EPROTO;
	if (out->version != IVC_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	return 0;
}

int ivc_ctrl_reject_error(const struct ivc_ctrl_msg *m)
{
	switch (m->status) {
	case EACCES:
	case EPROTONOSUPPORT:
	case EPROTO:
	case EINVAL:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case E2BIG:
		return -m->status;
	default:
		return -EPROTO;
	}
}

int ivc_ctrl_geom(const struct ivc_ctrl_msg *m, struct ivc_lane_geom *g)
{
	struct ivc_geometry geo = { m->slots, m->buf_size, m->buf_count };
	uint32_t desc_size = m->desc_size ? m->desc_size : IVC_DESC_SIZE;

	if (m->xport_size != 0 ||
	    ivc_lane_geom_compute_ex(&geo, 0, desc_size, g) < 0 ||
	    g->region_size != m->region_size)
		return -EPROTO;
	return 0;
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { fd, events, 0 };
	int r;

	do
		r = poll(&p, 1, ivc_ms_left(deadline));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

int ivc_ctrl_send(int sock, const struct ivc_ctrl_msg *m, const int *fds,
		  int nfds, uint64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * IVC_CTRL_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	int r;

	if (nfds < 0 || nfds > IVC_CTRL_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	for (;;) {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == (ssize_t)sizeof(*m))
			return 0;
		if (n >= 0)
			return -EPROTO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno == EPIPE ? -ECONNRESET : -errno;
		r = wait_fd(sock, POLLOUT, deadline);
		if (r)
			return r;
	}
}

void ivc_ctrl_init(struct ivc_ctrl_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = IVC_CTRL_MAGIC;
	m->version = IVC_PROTO_VERSION;
	m->type = (uint16_t)type;
}

void ivc_ctrl_reject(int sock, int err)
{
	struct ivc_ctrl_msg m;

	ivc_ctrl_init(&m, IVC_CTRL_REJECT);
	m.status = err < 0 ? -err : err;
	(void)ivc_ctrl_send(sock, &m, NULL, 0, ivc_deadline(100));
}

/* Take every descriptor out of every SCM_RIGHTS message, keeping at most
 * @max: the rest are closed at once (CVE-2022-0669: never leave a peer's
 * extra descriptors open).  Return: how many were received in all. */
static int collect_fds(struct msghdr *mh, int *fds, int max, int *kept)
{
	struct cmsghdr *c;
	int total = 0;

	*kept = 0;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (*kept < max)
				fds[(*kept)++] = fd;
			else
				close(fd);
			total++;
		}
	}
	return total;
}

/* The kernel cuts passed descriptors short (MSG_CTRUNC) both when the peer
 * sent more than we have room for and when we have run out of descriptors
 * ourselves: only the first is the peer's fault. */
static int ctrunc_err(int kept)
{
	int probe;

	if (kept >= IVC_CTRL_MAX_FDS)
		return -EPROTO;
	probe = eventfd(0, EFD_CLOEXEC);
	if (probe < 0)
		return errno == EMFILE || errno == ENFILE ? -errno : -EPROTO;
	close(probe);
	return -EPROTO;
}

/* recvmsg() returned 0 bytes and no descriptors: the end of the stream,
 * or a record of 0 bytes (a SOCK_SEQPACKET peer may send one).  Only a
 * hang-up that poll() reports makes it the end. */
static int empty_record(int sock)
{
	struct pollfd p = { sock, POLLRDHUP, 0 };

	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)))
		return -ECONNRESET;
	return -EPROTO;
}

int ivc_ctrl_try_recv(int sock, struct ivc_ctrl_msg *m, int *fds, int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * IVC_CTRL_MAX_FDS)];
		struct cmsghdr align;
	} u;
	unsigned char data[sizeof(*m) + 16];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr mh;
	ssize_t n;
	int r, total, reset = 0;

	*nfds = 0;
	for (;;) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		/* A peer that closed with our message unread leaves a pending
		 * ECONNRESET that the kernel reports before the messages it
		 * had sent us (a REJECT, say): read once more for those. */
		if (errno == ECONNRESET && !reset++)
			continue;
		return -errno;
	}
	total = collect_fds(&mh, fds, IVC_CTRL_MAX_FDS, nfds);
	if (n == 0 && total == 0)
		return empty_record(sock);
	if (mh.msg_flags & MSG_CTRUNC)
		r = ctrunc_err(*nfds);
	else if ((mh.msg_flags & MSG_TRUNC) || total != *nfds)
		r = -EPROTO;
	else
		r = ivc_ctrl_parse(data, (size_t)n, m);
	if (r == -EPROTONOSUPPORT && m->type == IVC_CTRL_REJECT)
		r = 0; /* a REJECT is readable whatever its version */
	if (r)
		ivc_close_fds(fds, *nfds), *nfds = 0;
	return r;
}

int ivc_ctrl_recv(int sock, struct ivc_ctrl_msg *m, int *fds, int *nfds,
		  uint64_t deadline)
{
	for (;;) {
		int r = ivc_ctrl_try_recv(sock, m, fds, nfds);

		if (r != -EAGAIN)
			return r;
		r = wait_fd(sock, POLLIN, deadline);
		if (r)
			return r;
	}
}
