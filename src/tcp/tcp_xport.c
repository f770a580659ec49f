/* SPDX-License-Identifier: MIT */
/*
 * The tcp transport object (tcp_pvt.h): two lanes in our own memory, our
 * doorbells, the socket; and the ops the data path calls.
 */
#include "tcp/tcp_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/channel_pvt.h"
#include "util/compiler_pvt.h"
#include "util/fds_pvt.h"

/* Nothing to ring: whatever we push wakes the peer (its socket polls
 * readable).  Our own doorbells are rung by a pull for the other side. */
static int tcp_ring(struct ivc_xport *x, enum ivc_bell bell)
{
	(void)x;
	(void)bell;
	return 0;
}

/* Our doorbells are eventfds kept above 0 and never read (as shm's). */
static void tcp_ack(struct ivc_xport *x, enum ivc_bell bell)
{
	(void)x;
	(void)bell;
}

/* What the last pull found: the stream's end (after everything before it
 * was applied, so a closed flag sent before it is already seen), junk. */
static int tcp_check_peer(struct ivc_xport *x)
{
	return __atomic_load_n(&((struct tcp_xport *)x)->end, __ATOMIC_RELAXED);
}

static void unmap(void *p, uint64_t len)
{
	if (p)
		munmap(p, len);
}

static void tcp_destroy(struct ivc_xport *x)
{
	struct tcp_xport *t = (struct tcp_xport *)x;

	ivc_tcp_wire_fini(t);
	unmap(x->tx_region, t->txg.region_size);
	unmap(x->rx_region, t->rxg.region_size);
	ivc_close_fds(x->bell_fd, 2);
	if (t->sock >= 0)
		close(t->sock);
	free(t);
}

static const struct ivc_xport_ops tcp_ops = {
	.name = "tcp",
	.ring = tcp_ring,
	.ack = tcp_ack,
	.check_peer = tcp_check_peer,
	.destroy = tcp_destroy,
	.push = ivc_tcp_push,
	.pull = ivc_tcp_pull,
	.pull_wait = ivc_tcp_pull_wait,
	.drain = ivc_tcp_drain,
	.watch = ivc_tcp_watch,
};

/* A lane in our own memory, formatted as its owner would: pages come as
 * the data does (mmap, so that a closed channel gives back every page). */
static void *lane_make(const struct ivc_lane_geom *g, uint32_t start)
{
	void *p = mmap(NULL, g->region_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	ivc_lane_format(p, g, start);
	return p;
}

int ivc_tcp_xport_new(const struct tcp_opts *o, struct tcp_xport **out)
{
	struct tcp_xport *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->x.ops = &tcp_ops;
	t->x.bell_fd[0] = t->x.bell_fd[1] = -1;
	t->x.hup_fd = -1;
	t->x.peer_domid = IVC_DOMID_NONE;
	t->x.peer_uid = (uid_t)-1; /* nothing over a network vouches for one */
	t->x.watch_ep[0] = t->x.watch_ep[1] = t->x.watch_ep[2] = -1;
	t->sock = -1;
	t->txg = o->txg;
	t->lazy = o->lazy;
	t->x.queued_sends = o->queued_sends;
	r = ivc_bells_make(t->x.bell_fd);
	if (!r) {
		t->x.tx_region = lane_make(&o->txg, IVC_IDX_START);
		if (!t->x.tx_region)
			r = -ENOMEM;
	}
	if (r) {
		tcp_destroy(&t->x);
		return r;
	}
	*out = t;
	return 0;
}

int ivc_tcp_channel(struct tcp_xport *t, int sock, const struct tcp_opts *o,
		    const struct tcp_peer_hs *p, struct ivc_channel **out)
{
	const struct ivc_lane_geom *rxg = &p->g;
	uint32_t rx_start = p->start;
	struct timeval tv = { 0, IVC_TCP_READ_WAIT_MS * 1000 };
	int fl = fcntl(sock, F_GETFL), r = 0;

	/* From here every call on the socket says MSG_DONTWAIT but a wait's
	 * read (ivc_tcp_pull_wait()), which blocks in the socket itself:
	 * one system call where epoll_wait() and a read would be two. */
	if (fl < 0 || fcntl(sock, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		r = -errno;
	t->sock = sock;
	t->x.hup_fd = sock;
	/* Claimed, not proven: over a network nothing vouches for it. */
	t->x.peer_pid = p->pid;
	t->peer_asks = !!(p->flags & TCP_HS_ASKS);
	t->peer_lazy = t->peer_asks && (p->flags & TCP_HS_LAZY);
	t->rxg = *rxg;
	t->x.rx_region = r ? NULL : lane_make(rxg, rx_start);
	if (!r && !t->x.rx_region)
		r = -ENOMEM;
	if (!r)
		r = ivc_tcp_wire_init(t);
	if (!r)
		r = ivc_channel_create(&t->x, &o->txg, IVC_IDX_START, rxg, rx_start,
				       o->mode, o->spin_max_ns, out);
	if (r)
		tcp_destroy(&t->x);
	return r;
}

void ivc_tcp_xport_free(struct tcp_xport *t)
{
	tcp_destroy(&t->x);
}
