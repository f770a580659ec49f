/* SPDX-License-Identifier: MIT */
/*
 * The tcp handshake (tcp_pvt.h): 64-byte messages, little-endian.  The
 * client's HELLO and the listener's WELCOME say their sender's lane
 * geometry and start index (the other side builds its mirror of that lane
 * from them); a REJECT says why not.  With a pre-shared key, AUTH messages
 * come between HELLO and WELCOME (tcp_auth.c).  Frames may follow a
 * WELCOME at once.
 */
#include "tcp/tcp_pvt.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "util/clock_pvt.h"

#define HS_MAGIC "IVCT"
#define HS_VERSION 1u

/* HELLO, WELCOME, REJECT. */
struct tcp_hs {
	char magic[4];
	uint16_t version;
	uint16_t type;
	uint32_t desc_size;
	uint32_t slots;
	uint32_t buf_size;
	uint32_t buf_count;
	uint32_t idx_start;
	int32_t err;        /* REJECT: why (a negative errno) */
	uint32_t pid;       /* the sender's pid, as it says (never checked) */
	uint32_t flags;     /* TCP_HS_* */
	uint8_t nonce[IVC_TCP_NONCE]; /* HELLO with TCP_HS_PSK: the client's */
	uint32_t reserved[2];
};
_Static_assert(sizeof(struct tcp_hs) == 64, "one message");

/* AUTH: a nonce (the listener's) and a proof. */
struct tcp_auth_msg {
	char magic[4];
	uint16_t version;
	uint16_t type;
	uint8_t nonce[IVC_TCP_NONCE];
	uint8_t mac[IVC_TCP_MAC];
	uint32_t reserved[2];
};
_Static_assert(sizeof(struct tcp_auth_msg) == 64, "one message");

/* Wait for @ev on @sock until @deadline: 0, or -ETIMEDOUT. */
static int wait_for(int sock, short ev, uint64_t deadline)
{
	struct pollfd p = { sock, ev, 0 };
	int n;

	do
		n = poll(&p, 1, ivc_ms_left(deadline));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int write_msg(int sock, const void *m, uint64_t deadline)
{
	size_t done = 0;

	while (done < 64) {
		ssize_t n = send(sock, (const char *)m + done, 64 - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		int r;

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -ECONNRESET;
		r = wait_for(sock, POLLOUT, deadline);
		if (r)
			return r;
	}
	return 0;
}

/* Read one message: 0, -ETIMEDOUT, -ECONNRESET (closed or reset). */
static int read_msg(int sock, void *m, uint64_t deadline)
{
	size_t done = 0;

	while (done < 64) {
		ssize_t n = recv(sock, (char *)m + done, 64 - done, MSG_DONTWAIT);
		int r;

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return -ECONNRESET;
		r = wait_for(sock, POLLIN, deadline);
		if (r)
			return r;
	}
	return 0;
}

static void head(void *m, uint16_t type)
{
	struct tcp_hs *h = m;

	memset(m, 0, 64);
	memcpy(h->magic, HS_MAGIC, 4);
	h->version = htole16(HS_VERSION);
	h->type = htole16(type);
}

uint32_t ivc_tcp_hs_flags(const struct tcp_opts *o)
{
	return TCP_HS_ASKS | (o->lazy ? TCP_HS_LAZY : 0u);
}

int ivc_tcp_hs_send(int sock, uint16_t type, const struct ivc_lane_geom *g,
		    int32_t err, uint32_t flags, const uint8_t *nonce, uint64_t deadline)
{
	struct tcp_hs m;

	head(&m, type);
	m.err = (int32_t)htole32((uint32_t)err);
	m.pid = htole32((uint32_t)getpid());
	m.flags = htole32(flags);
	if (nonce)
		memcpy(m.nonce, nonce, IVC_TCP_NONCE);
	if (g) {
		m.desc_size = htole32(g->desc_size);
		m.slots = htole32(g->slots);
		m.buf_size = htole32(g->buf_size);
		m.buf_count = htole32(g->buf_count);
		m.idx_start = htole32(IVC_IDX_START);
	}
	return write_msg(sock, &m, deadline);
}

int ivc_tcp_auth_send(int sock, const uint8_t *nonce, const uint8_t *mac, uint64_t deadline)
{
	struct tcp_auth_msg m;

	head(&m, TCP_AUTH);
	if (nonce)
		memcpy(m.nonce, nonce, IVC_TCP_NONCE);
	memcpy(m.mac, mac, IVC_TCP_MAC);
	return write_msg(sock, &m, deadline);
}

/* A REJECT's reason, from the errors a listener sends; anything else is
 * the peer's junk. */
static int reject_reason(int32_t e)
{
	return e == -EACCES || e == -E2BIG || e == -EPROTO || e == -EPROTONOSUPPORT ?
		       e : -EPROTO;
}

/* Read a message and check its head: its type, or -errno (a REJECT is its
 * reason). */
static int read_any(int sock, void *m, uint64_t deadline)
{
	struct tcp_hs *h = m;
	int r = read_msg(sock, m, deadline);

	if (r)
		return r;
	if (memcmp(h->magic, HS_MAGIC, 4))
		return -EPROTO;
	if (le16toh(h->version) != HS_VERSION)
		return -EPROTONOSUPPORT;
	if (le16toh(h->type) == TCP_REJECT)
		return reject_reason((int32_t)le32toh((uint32_t)h->err));
	return le16toh(h->type);
}

int ivc_tcp_auth_recv(int sock, uint8_t *nonce, uint8_t *mac, uint64_t deadline)
{
	struct tcp_auth_msg m;
	int r = read_any(sock, &m, deadline);

	if (r < 0)
		return r;
	/* A WELCOME instead: a listener that does not hold the key. */
	if (r != TCP_AUTH)
		return r == TCP_WELCOME ? -EACCES : -EPROTO;
	if (m.reserved[0] || m.reserved[1])
		return -EPROTO;
	memcpy(nonce, m.nonce, IVC_TCP_NONCE);
	memcpy(mac, m.mac, IVC_TCP_MAC);
	return 0;
}

static int check_reserved(const struct tcp_hs *m)
{
	return m->reserved[0] || m->reserved[1] ? -EPROTO : 0;
}

int ivc_tcp_hs_recv(int sock, uint16_t type, uint64_t max, struct tcp_peer_hs *p,
		    uint64_t deadline)
{
	struct tcp_hs m;
	struct ivc_geometry geo;
	uint32_t ds;
	int r = read_any(sock, &m, deadline);

	if (r < 0)
		return r;
	if (r != type || m.err || check_reserved(&m))
		return -EPROTO;
	ds = le32toh(m.desc_size);
	if (ds != IVC_DESC_SIZE && ds != IVC_DESC_SIZE_INLINE)
		return -EPROTO;
	geo.slots = le32toh(m.slots);
	geo.buf_size = le32toh(m.buf_size);
	geo.buf_count = le32toh(m.buf_count);
	if (ivc_lane_geom_compute_ex(&geo, 0, ds, &p->g))
		return -EPROTO;
	if (p->g.region_size > max)
		return -E2BIG;
	p->start = le32toh(m.idx_start);
	p->pid = (pid_t)le32toh(m.pid);
	p->flags = le32toh(m.flags);
	memcpy(p->nonce, m.nonce, IVC_TCP_NONCE);
	return 0;
}
