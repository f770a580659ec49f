/* SPDX-License-Identifier: MIT */
/*
 * The shm transport: each side puts its TX lane in a sealed memfd, makes
 * two eventfd doorbells, and hands all three to the peer over a
 * SOCK_SEQPACKET Unix socket (ctrl.h).  SO_PEERCRED names the peer for
 * access control; the socket stays open as the liveness signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ivc/channel.h>

#include "addr.h"
#include "channel.h"
#include "clock.h"
#include "compiler.h"
#include "ctrl.h"
#include "endpoint.h"
#include "lane_layout.h"
#include "options.h"

struct shm_xport {
	struct ivc_xport x;
	int sock;
	int peer_bell[2];
	size_t tx_len, rx_len;
	dev_t tx_dev; /* our memfd's identity: a peer may not hand it back */
	ino_t tx_ino;
};

/* Everything a side makes before the handshake: its lane and doorbells. */
struct shm_local {
	int memfd;
	int bell[2];
	void *region;
	struct ivc_lane_geom g;
};

struct shm_listener {
	struct ivc_listener base;       /* first: the public handle */
	int fd;
	int abstract;
	struct sockaddr_un sun;
	int mode;
	uint32_t spin_max_ns;
	struct ivc_lane_geom txg;
	unsigned flags;
	uid_t *uids;
	size_t n_uids;
};

/* ---- the transport table ---- */

static int shm_ring(struct ivc_xport *x, enum ivc_bell bell)
{
	struct shm_xport *s = (struct shm_xport *)x;
	uint64_t one = 1;

	/* EAGAIN: the counter is saturated, so the peer will wake anyway. */
	if (write(s->peer_bell[bell], &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static void shm_ack(struct ivc_xport *x, enum ivc_bell bell)
{
	uint64_t v;

	if (read(x->bell_fd[bell], &v, sizeof(v)) < 0)
		(void)v; /* EAGAIN: nothing pending */
}

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
	if (n == 0)
		return -ECONNRESET;
	/* Nothing is ever sent after the handshake. */
	return n > 0 ? -EPROTO : 0;
}

static void shm_destroy(struct ivc_xport *x)
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
	.destroy = shm_destroy,
};

/* ---- our side: a sealed memfd lane and two doorbells ---- */

static void local_free(struct shm_local *l)
{
	if (l->region)
		munmap(l->region, l->g.region_size);
	if (l->memfd >= 0)
		close(l->memfd);
	ivc_close_fds(l->bell, 2);
	l->region = NULL;
	l->memfd = -1;
}

static int local_make(struct shm_local *l, const struct ivc_lane_geom *g)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	int i, r;

	l->memfd = -1;
	l->bell[0] = l->bell[1] = -1;
	l->region = NULL;
	l->g = *g;
	l->memfd = memfd_create("ivc-lane", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (l->memfd < 0)
		return -errno;
	/* Sealed so that the peer can never shrink it and SIGBUS us. */
	if (ftruncate(l->memfd, (off_t)g->region_size) < 0 ||
	    fcntl(l->memfd, F_ADD_SEALS, seals) < 0)
		goto fail_errno;
	for (i = 0; i < 2; i++) {
		l->bell[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (l->bell[i] < 0)
			goto fail_errno;
	}
	l->region = mmap(NULL, g->region_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, l->memfd, 0);
	if (l->region == MAP_FAILED) {
		l->region = NULL;
		goto fail_errno;
	}
	ivc_lane_format(l->region, g, IVC_IDX_START);
	return 0;
fail_errno:
	r = -errno;
	local_free(l);
	return r;
}

/* ---- the peer's side: check what it handed us, then map it ---- */

static int is_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

/* The peer's memfd must be a sealed (unshrinkable: it could not make a
 * page vanish under us, SIGBUS) file of exactly the size its geometry
 * implies, writable by us (we write our indices into it), and not our own
 * lane handed back (we would be talking to ourselves). */
static int check_memfd(const struct shm_xport *s, int fd, uint64_t size)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != size ||
	    (st.st_dev == s->tx_dev && st.st_ino == s->tx_ino))
		return -EPROTO;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) ||
	    (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EPROTO;
	return 0;
}

/* Map the peer's lane described by @m, taking ownership of @fds. */
static int peer_map(struct shm_xport *s, const struct ivc_ctrl_msg *m, int *fds,
		    struct ivc_lane_geom *g, uint32_t *start)
{
	void *p;
	int i, r;

	r = ivc_ctrl_geom(m, g);
	if (!r)
		r = check_memfd(s, fds[0], g->region_size);
	for (i = 1; i < 3 && !r; i++)
		if (!is_eventfd(fds[i]) ||
		    fcntl(fds[i], F_SETFL, O_NONBLOCK) < 0)
			r = -EPROTO;
	if (r)
		goto out;
	p = mmap(NULL, g->region_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, fds[0], 0);
	if (p == MAP_FAILED) {
		/* Short of memory is ours; anything else the peer's doing. */
		r = errno == ENOMEM ? -ENOMEM : -EPROTO;
		goto out;
	}
	r = ivc_lane_check(p, g->region_size, g, start);
	if (r) {
		munmap(p, g->region_size);
		goto out;
	}
	s->x.rx_region = p;
	s->rx_len = g->region_size;
	s->peer_bell[0] = fds[1];
	s->peer_bell[1] = fds[2];
	fds[1] = fds[2] = -1;
out:
	ivc_close_fds(fds, 3);
	return r;
}

static struct shm_xport *xport_new(int sock, struct shm_local *l)
{
	struct shm_xport *s = calloc(1, sizeof(*s));
	struct stat st;

	if (!s)
		return NULL;
	if (fstat(l->memfd, &st) == 0) {
		s->tx_dev = st.st_dev;
		s->tx_ino = st.st_ino;
	}
	s->x.ops = &shm_ops;
	s->x.bell_fd[0] = l->bell[0];
	s->x.bell_fd[1] = l->bell[1];
	s->x.hup_fd = sock;
	s->x.cpu_comparable = 1;
	s->x.peer_domid = IVC_DOMID_NONE;
	s->x.tx_region = l->region;
	s->tx_len = l->g.region_size;
	s->peer_bell[0] = s->peer_bell[1] = -1;
	s->sock = sock;
	/* The transport owns the mapping and the doorbells now; the memfd
	 * stays with @l until it has been sent. */
	l->bell[0] = l->bell[1] = -1;
	l->region = NULL;
	return s;
}

static void fill_msg(struct ivc_ctrl_msg *m, int type, int mode,
		     const struct ivc_lane_geom *g)
{
	memset(m, 0, sizeof(*m));
	m->magic = IVC_CTRL_MAGIC;
	m->version = IVC_PROTO_VERSION;
	m->type = (uint16_t)type;
	m->mode = (uint32_t)mode;
	m->slots = g->slots;
	m->buf_size = g->buf_size;
	m->buf_count = g->buf_count;
	m->region_size = g->region_size;
	m->desc_size = g->desc_size;
}

/* Send our lane: its memfd (still with @l) and the doorbells, now @s's. */
static int send_lane(int sock, int type, int mode, const struct shm_local *l,
		     const struct shm_xport *s, uint64_t deadline)
{
	struct ivc_ctrl_msg m;
	int fds[3] = { l->memfd, s->x.bell_fd[0], s->x.bell_fd[1] };

	fill_msg(&m, type, mode, &l->g);
	return ivc_ctrl_send(sock, &m, fds, 3, deadline);
}

static void peer_creds(struct shm_xport *s, int sock)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
		s->x.peer_pid = uc.pid;
		s->x.peer_uid = uc.uid;
	}
}

/* Both sides, after the exchange: wrap it all into a channel. */
static int finish(struct shm_xport *s, int sock, const struct ivc_lane_geom *txg,
		  const struct ivc_lane_geom *rxg, uint32_t rx_start, int mode,
		  uint32_t spin_max_ns, struct ivc_channel **out)
{
	int r;

	peer_creds(s, sock);
	r = ivc_channel_create(&s->x, txg, IVC_IDX_START, rxg, rx_start, mode,
			       spin_max_ns, out);
	if (r)
		shm_destroy(&s->x);
	return r;
}

/* ---- options ---- */

static int opts_geom(const struct ivc_options *o, struct ivc_lane_geom *g)
{
	struct ivc_geometry geo;
	uint32_t desc_size;
	int r = ivc_opts_lane(o, IVC_OPT_ANY_UID | IVC_OPT_INLINE, &geo, &desc_size);

	/* A domid list means nothing to a Unix socket. */
	if (!r && o && o->n_allowed_domids)
		r = -EINVAL;
	return r ? r : ivc_lane_geom_compute_ex(&geo, 0, desc_size, g);
}

/* ---- listen / accept ---- */

static int bind_listen(int fd, const struct ivc_addr *a)
{
	int probe, r;

	if (bind(fd, (const struct sockaddr *)&a->sun, a->len) == 0)
		return listen(fd, 128) < 0 ? -errno : 0;
	if (errno != EADDRINUSE || a->abstract)
		return -errno;
	/* A socket file: replace it only if nobody listens on it. */
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	r = connect(probe, (const struct sockaddr *)&a->sun, a->len);
	close(probe);
	if (r == 0 || errno != ECONNREFUSED)
		return -EADDRINUSE;
	if (unlink(a->sun.sun_path) < 0 ||
	    bind(fd, (const struct sockaddr *)&a->sun, a->len) < 0 ||
	    listen(fd, 128) < 0)
		return -errno;
	return 0;
}

static void shm_listener_close(struct ivc_listener *base);
static int shm_listener_fd(const struct ivc_listener *base);
static int shm_accept(struct ivc_listener *base, int timeout_ms,
		      struct ivc_channel **out);

static const struct ivc_listener_ops shm_listener_ops = {
	.accept = shm_accept,
	.fd = shm_listener_fd,
	.close = shm_listener_close,
};

static int shm_listen(const char *addr, const struct ivc_options *opts,
		      struct ivc_listener **out)
{
	struct shm_listener *l;
	struct ivc_addr a;
	int r;

	if (!addr || !out)
		return -EINVAL;
	r = ivc_addr_parse(addr, &a);
	if (r)
		return r;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->base.ops = &shm_listener_ops;
	l->fd = -1;
	r = opts_geom(opts, &l->txg);
	if (r)
		goto fail;
	if (opts) {
		l->mode = opts->mode;
		l->spin_max_ns = opts->spin_max_ns;
		l->flags = opts->flags;
		if (opts->n_allowed_uids) {
			l->uids = malloc(sizeof(uid_t) * opts->n_allowed_uids);
			if (!l->uids) {
				r = -ENOMEM;
				goto fail;
			}
			memcpy(l->uids, opts->allowed_uids,
			       sizeof(uid_t) * opts->n_allowed_uids);
			l->n_uids = opts->n_allowed_uids;
		}
	}
	l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0) {
		r = -errno;
		goto fail;
	}
	r = bind_listen(l->fd, &a);
	if (r)
		goto fail;
	l->abstract = a.abstract;
	l->sun = a.sun;
	*out = &l->base;
	return 0;
fail:
	shm_listener_close(&l->base);
	return r;
}

static int shm_listener_fd(const struct ivc_listener *base)
{
	return ((const struct shm_listener *)base)->fd;
}

static void shm_listener_close(struct ivc_listener *base)
{
	struct shm_listener *l = (struct shm_listener *)base;

	if (l->fd >= 0) {
		if (!l->abstract && l->sun.sun_path[0])
			unlink(l->sun.sun_path);
		close(l->fd);
	}
	free(l->uids);
	free(l);
}

static int uid_allowed(const struct shm_listener *l, uid_t uid)
{
	size_t i;

	if (l->flags & IVC_OPT_ANY_UID)
		return 1;
	if (!l->n_uids)
		return uid == geteuid();
	for (i = 0; i < l->n_uids; i++)
		if (l->uids[i] == uid)
			return 1;
	return 0;
}

/* Make our lane and a transport around it; @sock is the caller's. */
static int xport_make(const struct ivc_lane_geom *g, struct shm_local *loc,
		      struct shm_xport **out)
{
	int r = local_make(loc, g);

	if (r)
		return r;
	*out = xport_new(-1, loc);
	if (!*out) {
		local_free(loc);
		return -ENOMEM;
	}
	return 0;
}

/* The server's half of the handshake on an accepted socket, up to (not
 * including) the WELCOME: on success *xs has both lanes and @loc's memfd
 * is open, for the WELCOME.  Failures the client should hear about are
 * returned for a REJECT; @sock stays ours. */
static int serve_hello(struct shm_listener *l, int sock, uint64_t deadline,
		       struct shm_xport **xs, struct shm_local *loc,
		       struct ivc_lane_geom *rxg, uint32_t *rx_start)
{
	struct ivc_ctrl_msg m;
	struct shm_xport *s;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int fds[IVC_CTRL_MAX_FDS], nfds, r;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	if (!uid_allowed(l, uc.uid))
		return -EACCES;
	r = ivc_ctrl_recv(sock, &m, fds, &nfds, deadline);
	if (r)
		return r;
	if (m.type != IVC_CTRL_HELLO || nfds != IVC_CTRL_NFDS) {
		ivc_close_fds(fds, nfds);
		return -EPROTO;
	}
	r = xport_make(&l->txg, loc, &s);
	if (r) {
		ivc_close_fds(fds, nfds);
		return r;
	}
	r = peer_map(s, &m, fds, rxg, rx_start);
	if (r) {
		close(loc->memfd);
		shm_destroy(&s->x);
		return r;
	}
	*xs = s;
	return 0;
}

/* Errors worth telling a refused client; others just hang up. */
static int tell_client(int err)
{
	return err == -EACCES || err == -EPROTONOSUPPORT || err == -EPROTO ||
	       err == -ENOMEM || err == -EMFILE || err == -ENFILE;
}

/* The channel is made before the WELCOME goes out: once the client is
 * told yes, nothing on our side may fail any more (out of fds or memory
 * is a REJECT the client hears, not a channel dead on arrival).  Takes
 * @sock: the channel's on success, closed on failure. */
static int welcome(struct shm_listener *l, int sock, struct shm_xport *s,
		   struct shm_local *loc, const struct ivc_lane_geom *rxg,
		   uint32_t rx_start, uint64_t deadline, struct ivc_channel **out)
{
	int r;

	s->x.hup_fd = sock;
	r = finish(s, sock, &l->txg, rxg, rx_start, l->mode, l->spin_max_ns, out);
	if (r) { /* (s is gone, but s->sock was -1: sock stays ours) */
		close(loc->memfd);
		if (tell_client(r))
			ivc_ctrl_reject(sock, r);
		close(sock);
		return r;
	}
	r = send_lane(sock, IVC_CTRL_WELCOME, l->mode, loc, s, deadline);
	close(loc->memfd);
	s->sock = sock;
	if (r) {
		ivc_close(*out); /* closes sock too */
		*out = NULL;
		return r == -ECONNRESET ? -EPROTO : r;
	}
	return 0;
}

static int accept_sock(struct shm_listener *l, uint64_t deadline,
		       int timeout_ms)
{
	for (;;) {
		struct pollfd p = { l->fd, POLLIN, 0 };
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		int r;

		if (fd >= 0)
			return fd;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (timeout_ms == 0)
			return -EAGAIN;
		r = poll(&p, 1, ivc_ms_left(deadline));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
	}
}

static int shm_accept(struct ivc_listener *base, int timeout_ms,
		      struct ivc_channel **out)
{
	struct shm_listener *l = (struct shm_listener *)base;
	uint64_t deadline = ivc_deadline(timeout_ms);
	struct ivc_lane_geom rxg;
	struct shm_xport *s = NULL;
	struct shm_local loc;
	uint32_t rx_start;
	int sock, r;

	if (!l || !out)
		return -EINVAL;
	*out = NULL;
	sock = accept_sock(l, deadline, timeout_ms);
	if (sock < 0)
		return sock;
	/* A client that connected gets the handshake's time even when the
	 * caller only polled (timeout 0): at least 1 s. */
	if (timeout_ms == 0)
		deadline = ivc_deadline(1000);
	r = serve_hello(l, sock, deadline, &s, &loc, &rxg, &rx_start);
	if (r == -ECONNRESET)
		r = -EPROTO; /* the client hung up mid-handshake */
	if (!r)
		return welcome(l, sock, s, &loc, &rxg, rx_start, deadline, out);
	if (tell_client(r))
		ivc_ctrl_reject(sock, r);
	close(sock);
	return r;
}

/* ---- connect ---- */

/* Connect, retrying while nothing listens yet, until @deadline. */
static int connect_sock(const struct ivc_addr *a, int timeout_ms,
			uint64_t deadline)
{
	uint64_t pause = 1000000ull; /* 1 ms, doubling to 50 ms */

	for (;;) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int e;

		if (fd < 0)
			return -errno;
		if (connect(fd, (const struct sockaddr *)&a->sun, a->len) == 0)
			return fd;
		e = errno;
		close(fd);
		if (e == EPROTOTYPE || e == ENOTSOCK)
			return -ECONNREFUSED; /* something, but not an ivc socket */
		if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN && e != EINTR)
			return -e;
		if (timeout_ms == 0)
			return -ECONNREFUSED;
		if (ivc_now_ns() + pause > deadline) {
			if (deadline == IVC_NEVER)
				continue;
			ivc_sleep_ns(deadline > ivc_now_ns() ? deadline - ivc_now_ns() : 0);
			return -ETIMEDOUT;
		}
		ivc_sleep_ns(pause);
		if (pause < 50000000ull)
			pause *= 2;
	}
}

/* The client's half: send our lane, map the server's. */
static int client_hello(int sock, const struct ivc_lane_geom *txg, int mode,
			uint64_t deadline, struct shm_xport **xs,
			struct ivc_lane_geom *rxg, uint32_t *rx_start)
{
	struct ivc_ctrl_msg m;
	struct shm_local loc;
	struct shm_xport *s;
	int fds[IVC_CTRL_MAX_FDS], nfds, r;

	r = xport_make(txg, &loc, &s);
	if (r)
		return r;
	r = send_lane(sock, IVC_CTRL_HELLO, mode, &loc, s, deadline);
	close(loc.memfd);
	/* A server that refused us at once may have hung up before our
	 * HELLO went out: its REJECT is still queued for us to read. */
	if (!r || r == -ECONNRESET)
		r = ivc_ctrl_recv(sock, &m, fds, &nfds, r ? ivc_now_ns() : deadline);
	if (!r && m.type == IVC_CTRL_REJECT) {
		ivc_close_fds(fds, nfds);
		r = ivc_ctrl_reject_error(&m);
	} else if (!r && (m.type != IVC_CTRL_WELCOME || nfds != IVC_CTRL_NFDS)) {
		ivc_close_fds(fds, nfds);
		r = -EPROTO;
	} else if (!r) {
		r = peer_map(s, &m, fds, rxg, rx_start);
	}
	if (r) {
		shm_destroy(&s->x);
		/* Hanging up mid-handshake breaks the protocol. */
		return r == -ECONNRESET ? -EPROTO : r;
	}
	*xs = s;
	return 0;
}

static int shm_connect(const char *addr, const struct ivc_options *opts,
		       int timeout_ms, struct ivc_channel **out)
{
	uint64_t deadline = ivc_deadline(timeout_ms);
	struct ivc_lane_geom txg, rxg;
	struct shm_xport *s = NULL;
	struct ivc_addr a;
	uint32_t rx_start;
	int mode = opts ? (int)opts->mode : IVC_MODE_ADAPTIVE;
	int sock, r;

	if (!addr || !out)
		return -EINVAL;
	r = ivc_addr_parse(addr, &a);
	if (!r)
		r = opts_geom(opts, &txg);
	if (r)
		return r;
	sock = connect_sock(&a, timeout_ms, deadline);
	if (sock < 0)
		return sock;
	if (timeout_ms == 0)
		deadline = ivc_deadline(1000); /* the handshake itself */
	r = client_hello(sock, &txg, mode, deadline, &s, &rxg, &rx_start);
	if (r) {
		close(sock);
		return r;
	}
	s->sock = sock;
	s->x.hup_fd = sock;
	return finish(s, s->sock, &txg, &rxg, rx_start, mode,
		      opts ? opts->spin_max_ns : 0, out);
}

const struct ivc_transport ivc_shm_transport = {
	.scheme = "shm",
	.listen = shm_listen,
	.connect = shm_connect,
};
