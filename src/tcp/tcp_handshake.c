/* SPDX-License-Identifier: MIT */
/*
 * The tcp handshake (tcp_pvt.h): the client's HELLO, the listener's
 * WELCOME or REJECT, 64 bytes each, little-endian.  Each says its sender's
 * lane geometry and start index: the other side builds its mirror of that
 * lane from them.  Frames may follow a WELCOME at once.
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
	uint32_t reserved[7];
};
_Static_assert(sizeof(struct tcp_hs) == 64, "one message");

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

int ivc_tcp_hs_send(int sock, uint16_t type, const struct ivc_lane_geom *g,
		    int32_t err, uint64_t deadline)
{
	struct tcp_hs m;
	size_t done = 0;

	memset(&m, 0, sizeof(m));
	memcpy(m.magic, HS_MAGIC, 4);
	m.version = htole16(HS_VERSION);
	m.type = htole16(type);
	m.err = (int32_t)htole32((uint32_t)err);
	m.pid = htole32((uint32_t)getpid());
	if (g) {
		m.desc_size = htole32(g->desc_size);
		m.slots = htole32(g->slots);
		m.buf_size = htole32(g->buf_size);
		m.buf_count = htole32(g->buf_count);
		m.idx_start = htole32(IVC_IDX_START);
	}
	while (done < sizeof(m)) {
		ssize_t n = send(sock, (char *)&m + done, sizeof(m) - done,
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

/* Read the 64 bytes.  0, -ETIMEDOUT, -ECONNRESET (closed or reset). */
static int read_msg(int sock, struct tcp_hs *m, uint64_t deadline)
{
	size_t done = 0;

	while (done < sizeof(*m)) {
		ssize_t n = recv(sock, (char *)m + done, sizeof(*m) - done, MSG_DONTWAIT);
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

/* A REJECT's reason, from the errors a listener sends; anything else is
 * the peer's junk. */
static int reject_reason(int32_t e)
{
	return e == -EACCES || e == -E2BIG || e == -EPROTO || e == -EPROTONOSUPPORT ?
		       e : -EPROTO;
}

static int check_reserved(const struct tcp_hs *m)
{
	size_t i;

	for (i = 0; i < sizeof(m->reserved) / sizeof(m->reserved[0]); i++)
		if (m->reserved[i])
			return -EPROTO;
	return 0;
}

int ivc_tcp_hs_recv(int sock, uint16_t type, uint64_t max,
		    struct ivc_lane_geom *g, uint32_t *start, pid_t *pid,
		    uint64_t deadline)
{
	struct tcp_hs m;
	struct ivc_geometry geo;
	uint32_t ds;
	int r = read_msg(sock, &m, deadline);

	if (r)
		return r;
	if (memcmp(m.magic, HS_MAGIC, 4) || check_reserved(&m))
		return -EPROTO;
	if (le16toh(m.version) != HS_VERSION)
		return -EPROTONOSUPPORT;
	if (type == TCP_WELCOME && le16toh(m.type) == TCP_REJECT)
		return reject_reason((int32_t)le32toh((uint32_t)m.err));
	if (le16toh(m.type) != type || m.err)
		return -EPROTO;
	ds = le32toh(m.desc_size);
	if (ds != IVC_DESC_SIZE && ds != IVC_DESC_SIZE_INLINE)
		return -EPROTO;
	geo.slots = le32toh(m.slots);
	geo.buf_size = le32toh(m.buf_size);
	geo.buf_count = le32toh(m.buf_count);
	if (ivc_lane_geom_compute_ex(&geo, 0, ds, g))
		return -EPROTO;
	if (g->region_size > max)
		return -E2BIG;
	*start = le32toh(m.idx_start);
	*pid = (pid_t)le32toh(m.pid);
	return 0;
}
