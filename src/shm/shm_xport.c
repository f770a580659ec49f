/* SPDX-License-Identifier: MIT */
/*
 * The shm transport object: what the data path calls (ring the peer, look
 * whether it is still there) and what a handshake builds it from.
 */
#include "shm/shm_pvt.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/channel_pvt.h"
#include "shm/shm_handshake_pvt.h"
#include "util/fds_pvt.h"

/* A write of 0: an eventfd's counter cannot overflow by it, so it never
 * blocks, even with O_NONBLOCK cleared by the peer on the description we
 * share; it wakes the peer because the peer keeps its counter above 0. */
static int shm_ring(struct ivc_xport *x, enum ivc_bell bell)
{
	struct shm_xport *s = (struct shm_xport *)x;
	uint64_t zero = 0;

	return write(s->peer_bell[bell], &zero, sizeof(zero)) < 0 ? -errno : 0;
}

/* Nothing to consume: our counters stay above 0 (the sleep sets are
 * edge-triggered), and reading one could block if the peer cleared
 * O_NONBLOCK. */
static void shm_ack(struct ivc_xport *x, enum ivc_bell bell)
{
	(void)x;
	(void)bell;
}

/* Hang-up, or a record that should not be there.  A record of 0 bytes
 * reads like the end of the stream: only a hang-up reported by poll()
 * (before or after the read) makes it one. */
static int shm_check_peer(struct ivc_xport *x)
{
	struct shm_xport *s = (struct shm_xport *)x;
	struct pollfd p = { s->sock, POLLIN | POLLRDHUP, 0 };
	char c;
	ssize_t n;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
		return -ECONNRESET;
	n = recv(s->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -ECONNRESET;
	if (n == 0 && poll(&p, 1, 0) > 0 &&
	    (p.revents & (POLLHUP | POLLERR | POLLRDHUP)))
		return -ECONNRESET;
	/* Nothing is ever sent after the handshake. */
	return -EPROTO;
}

void ivc_shm_xport_destroy(struct ivc_xport *x)
{
	struct shm_xport *s = (struct shm_xport *)x;

	if (x->tx_region)
		munmap(x->tx_region, s->tx_len);
	if (x->rx_region)
		munmap(x->rx_region, s->rx_len);
	ivc_close_fds(x->bell_fd, 2);
	ivc_close_fds(s->peer_bell, 2);
	if (s->sock >= 0)
		close(s->sock);
	free(s);
}

static const struct ivc_xport_ops shm_ops = {
	.name = "shm",
	.ring = shm_ring,
	.ack = shm_ack,
	.check_peer = shm_check_peer,
	.destroy = ivc_shm_xport_destroy,
};

/* The transport takes @l's mapping and doorbells; the memfd stays with @l
 * until it has been sent and frozen. */
static struct shm_xport *xport_new(struct shm_local *l)
{
	struct shm_xport *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->x.ops = &shm_ops;
	s->x.bell_fd[0] = l->bell[0];
	s->x.bell_fd[1] = l->bell[1];
	s->x.hup_fd = -1;
	s->x.cpu_comparable = 1;
	s->x.peer_domid = IVC_DOMID_NONE;
	s->x.tx_region = l->region;
	s->tx_len = l->g.region_size;
	s->peer_bell[0] = s->peer_bell[1] = -1;
	s->sock = -1;
	s->tx_dev = l->dev;
	s->tx_ino = l->ino;
	l->bell[0] = l->bell[1] = -1;
	l->region = NULL;
	return s;
}

int ivc_shm_xport_make(const struct ivc_lane_geom *g, struct shm_local *loc,
		       struct shm_xport **out)
{
	int r = ivc_shm_local_make(loc, g);

	if (r)
		return r;
	*out = xport_new(loc);
	if (!*out) {
		ivc_shm_local_free(loc);
		return -ENOMEM;
	}
	return 0;
}

int ivc_shm_send_lane(int sock, int type, int mode, const struct shm_local *loc,
		      const struct shm_xport *s, uint64_t deadline)
{
	const struct ivc_lane_geom *g = &loc->g;
	struct ivc_ctrl_msg m;
	int fds[3] = { loc->memfd, s->x.bell_fd[0], s->x.bell_fd[1] };

	ivc_ctrl_init(&m, type);
	m.mode = (uint32_t)mode;
	m.slots = g->slots;
	m.buf_size = g->buf_size;
	m.buf_count = g->buf_count;
	m.region_size = g->region_size;
	m.desc_size = g->desc_size;
	return ivc_ctrl_send(sock, &m, fds, 3, deadline);
}

int ivc_shm_channel(struct shm_xport *s, int sock, const struct shm_opts *o,
		    const struct ivc_lane_geom *rxg, uint32_t rx_start,
		    struct ivc_channel **out)
{
	uid_t uid = (uid_t)-1;
	pid_t pid = 0;
	int r;

	if (ivc_shm_peer_uid(sock, &uid, &pid) == 0) {
		s->x.peer_uid = uid;
		s->x.peer_pid = pid;
	}
	s->x.hup_fd = sock;
	r = ivc_channel_create(&s->x, &o->txg, IVC_IDX_START, rxg, rx_start,
			       o->mode, o->spin_max_ns, out);
	if (r)
		ivc_shm_xport_destroy(&s->x); /* (s->sock is -1: @sock stays) */
	return r;
}
