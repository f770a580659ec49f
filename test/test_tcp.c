/* SPDX-License-Identifier: MIT */
/*
 * test_tcp - what is particular to the tcp transport (the conformance
 * suite runs everything else over it):
 *
 *  - addresses: the forms docs/tcp.md gives are taken, every malformed one
 *    is -EINVAL (or -EADDRNOTAVAIL for a name that does not resolve), and
 *    another transport's settings are refused;
 *  - IPv6 loopback carries a channel (skipped where ::1 cannot be bound);
 *  - the wire as docs/tcp.md documents it: a raw client of our own writes
 *    HELLO and frames by hand and the listener's channel receives exactly
 *    the message they describe (so the documented format is the real one);
 *  - the pre-shared key: the same key on both sides works; another key, or
 *    a key on one side only, is -EACCES; a key too short is -EINVAL;
 *  - a peer that breaks the protocol (bad HELLO, a frame of an unknown
 *    kind, a range its side may not write, a header with its reserved
 *    field set) gets -EPROTO on the channel: nothing is applied, nothing
 *    crashes;
 *  - IVC_TCP_LAZY_RETURNS: unknown flag bits are -EINVAL; a release is
 *    kept back (the sender still counts its message 300 ms on), a receiver
 *    with nothing left to do tells a peer of the version before at once
 *    and one of this version only when it asks (an ASK frame: the count
 *    of messages in flight asks), and a stream of 64 times the sender's
 *    buffers arrives whole and in order;
 *  - small payloads travel copied beside their headers, large ones from
 *    the lane: bursts of 256 messages that mix both (around the 2 KiB
 *    line, and more small ones than the batch's 64 KiB stage holds)
 *    arrive byte for byte;
 *  - a chain in consecutive buffers leaves as one payload frame, then its
 *    descriptors;
 *  - a burst of 200 small messages in one call leaves in one sendmsg():
 *    one data segment at a raw client over loopback (TCP_INFO);
 *  - a stream cut anywhere: through a relay that passes every byte in a
 *    segment of its own, both ways, the handshake completes and 300
 *    messages arrive whole and in order (headers, payloads, descriptors
 *    and returns split between reads at every offset);
 *  - a channel's socket is in none of its epoll sets until one is used
 *    (counted in /proc/self/fdinfo): ivc_fd()'s when asked for, a sleep
 *    set when its side first sleeps; then ivc_fd() polls readable for a
 *    message and for the peer's close, and a wait wakes for a message;
 *  - a blocking receive "for ever" sleeps in the socket's own read
 *    (recvfrom, seen in /proc), and another thread sending on the same
 *    end meanwhile gets the returns that come (that read applies them and
 *    wakes it: 64 times the pool sent) and its output that waited for
 *    room goes out (the read comes back every 100 ms to send it, where
 *    nothing else would wake it: a lazy peer that keeps its returns back
 *    gets 32 MiB sent without a wait); the peer's close ends that read;
 *  - a sender that waits "for ever" for room sleeps in recvfrom too, and
 *    the peer's receives give it the room.
 */
#include "check.h"
#include "tcp_segs.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <endian.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ivc/ivc.h>

/* The wire (docs/tcp.md), written here from the document. */
struct hs {
	char magic[4];
	uint16_t version, type;
	uint32_t desc_size, slots, buf_size, buf_count, idx_start;
	int32_t err;
	uint32_t pid;
	uint32_t flags;
	uint8_t nonce[16];
	uint32_t reserved[2];
};
struct frame {
	uint32_t len;
	uint16_t kind, zero;
	uint64_t off;
};
struct desc {
	uint32_t seq, buf, len, flags;
};

#define HELLO 1
#define WELCOME 2
#define REJECT 3
#define MINE 1
#define YOURS 2
#define ASK 3
#define HS_ASKS 2u
#define HS_LAZY 4u
#define START 0xfffffc00u
/* The client lane this test declares: 8 slots of 16 bytes, 8 buffers of 64
 * bytes (docs/layout.md: descriptors at 320, returns at 448, buffers at
 * 4096). */
#define SLOTS 8u
#define BUF 64u
#define DESC_OFF 320u
#define RET_OFF 448u
#define BUF_OFF 4096u

static void addr_cases(void)
{
	static const char *const bad[] = {
		"tcp:", "tcp:127.0.0.1", "tcp:127.0.0.1:", "tcp:127.0.0.1:0",
		"tcp:127.0.0.1:65536", "tcp:127.0.0.1:12x", "tcp::80", "tcp:::1:80",
		"tcp:[::1:80", "tcp:[::1]80", "tcp:[]:80", "tcp:127.0.0.1:-5",
	};
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct ivc_shm_options so = { 0 };
	struct ivc_options o = { 0 };
	char a[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(ivc_listen(bad[i], NULL, &l), -EINVAL);
		CHECK_ERR(ivc_connect(bad[i], NULL, 0, &ch), -EINVAL);
	}
	CHECK_ERR(ivc_connect("tcp:no-such-host.invalid:80", NULL, 0, &ch), -EADDRNOTAVAIL);
	/* A uid list means nothing to tcp: refused, not ignored. */
	o.shm = &so;
	snprintf(a, sizeof(a), "tcp:127.0.0.1:%d", t_tcp_port());
	CHECK_ERR(ivc_listen(a, &o, &l), -EINVAL);
	CHECK_ERR(ivc_connect(a, &o, 0, &ch), -EINVAL);
	/* Nobody listens: refused at once with 0, after the timeout with one. */
	CHECK_ERR(ivc_connect(a, NULL, 0, &ch), -ECONNREFUSED);
	CHECK_ERR(ivc_connect(a, NULL, 50, &ch), -ETIMEDOUT);
	/* Taken: a second listener on the same port. */
	REQUIRE_OK(ivc_listen(a, NULL, &l));
	{
		struct ivc_listener *l2 = NULL;

		CHECK_ERR(ivc_listen(a, NULL, &l2), -EADDRINUSE);
	}
	ivc_listener_close(l);
}

struct conn {
	char addr[80];
	const struct ivc_options *o;
	struct ivc_channel *ch;
	int rc;
};

static void *connect_thread(void *p)
{
	struct conn *c = p;

	c->rc = ivc_connect(c->addr, c->o, 5000, &c->ch);
	return NULL;
}

static void ipv6_case(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL;
	struct conn c = { .rc = -1 };
	pthread_t th;
	char buf[16];
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("# ipv6: ::1 cannot be bound here, skipped\n");
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	snprintf(c.addr, sizeof(c.addr), "tcp:[::1]:%d", t_tcp_port());
	REQUIRE_OK(ivc_listen(c.addr, NULL, &l));
	REQUIRE_EQ(pthread_create(&th, NULL, connect_thread, &c), 0);
	CHECK_OK(ivc_accept(l, 5000, &s));
	pthread_join(th, NULL);
	REQUIRE_OK(c.rc);
	REQUIRE(s != NULL);
	CHECK_OK(ivc_send(c.ch, "over v6", 8, 1000));
	CHECK_EQ(ivc_recv(s, buf, sizeof(buf), 1000), 8);
	CHECK(!memcmp(buf, "over v6", 8));
	CHECK_OK(ivc_close(c.ch));
	CHECK_ERR(ivc_recv(s, buf, sizeof(buf), 1000), -EPIPE);
	ivc_close(s);
	ivc_listener_close(l);
}

/* ---- a raw client ---- */

static int raw_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	REQUIRE(fd >= 0);
	REQUIRE_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void put(int fd, const void *p, size_t n)
{
	REQUIRE_EQ(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void hello_flags(int fd, const char *magic, uint32_t flags)
{
	struct hs m;

	memset(&m, 0, sizeof(m));
	m.flags = htole32(flags);
	memcpy(m.magic, magic, 4);
	m.version = htole16(1);
	m.type = htole16(HELLO);
	m.desc_size = htole32(16);
	m.slots = htole32(SLOTS);
	m.buf_size = htole32(BUF);
	m.buf_count = htole32(SLOTS);
	m.idx_start = htole32(START);
	put(fd, &m, sizeof(m));
}

/* A HELLO of the version before asks (no flags). */
static void hello(int fd, const char *magic)
{
	hello_flags(fd, magic, 0);
}

/* Read the listener's answer: its type. */
static int answer(int fd, struct hs *m)
{
	size_t got = 0;

	while (got < sizeof(*m)) {
		ssize_t n = recv(fd, (char *)m + got, sizeof(*m) - got, 0);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return le16toh(m->type);
}

static void frame(int fd, uint16_t kind, uint64_t off, const void *body, uint32_t len,
		  uint16_t zero)
{
	struct frame f = { htole32(len), htole16(kind), zero, htole64(off) };

	put(fd, &f, sizeof(f));
	if (len)
		put(fd, body, len);
}

/* A raw client that said HELLO and got WELCOME (in *@m); *@s: the
 * accepted channel. */
static int raw_pair_hs(struct ivc_listener *l, int port, struct ivc_channel **s,
		       struct hs *m)
{
	int fd = raw_connect(port);

	hello(fd, "IVCT");
	REQUIRE_OK(ivc_accept(l, 5000, s));
	REQUIRE_EQ(answer(fd, m), WELCOME);
	return fd;
}

static int raw_pair(struct ivc_listener *l, int port, struct ivc_channel **s)
{
	struct hs m;

	return raw_pair_hs(l, port, s, &m);
}

/* A message of 5 bytes in buffer 3, as slot 0's descriptor. */
static void good_message(int fd)
{
	struct desc d = { htole32(START), htole32(3), htole32(5), 0 };

	frame(fd, MINE, BUF_OFF + 3 * BUF, "hello", 5, 0);
	frame(fd, MINE, DESC_OFF, &d, sizeof(d), 0);
}

/* good_message()'s release comes back as YOURS frames: the return ring's
 * entry, then the indices (a first pair may come after the receive). */
static void expect_report(int fd)
{
	uint32_t ret = START, cons = START, entry = UINT32_MAX;

	for (int k = 0; k < 4 && ret != START + 1; k++) {
		struct frame f;
		uint32_t body[16];

		REQUIRE_EQ(recv(fd, &f, sizeof(f), MSG_WAITALL), (ssize_t)sizeof(f));
		CHECK_EQ(le16toh(f.kind), YOURS);
		REQUIRE(le32toh(f.len) <= sizeof(body));
		REQUIRE_EQ(recv(fd, body, le32toh(f.len), MSG_WAITALL),
			   (ssize_t)le32toh(f.len));
		if (le64toh(f.off) == 128) {
			CHECK_EQ(le32toh(f.len), 8);
			cons = le32toh(body[0]);
			ret = le32toh(body[1]);
		} else {
			CHECK_EQ(le64toh(f.off), RET_OFF + (START % 16) * 4);
			entry = le32toh(body[0]);
		}
	}
	CHECK_EQ(cons, START + 1);
	CHECK_EQ(ret, START + 1);
	CHECK_EQ(entry, 3);
}

/* Read frames from @fd up to the next MINE one, skipping YOURS frames:
 * its header in *@f, its body (at most @cap bytes) in @body. */
static void next_mine(int fd, struct frame *f, unsigned char *body, size_t cap)
{
	for (;;) {
		REQUIRE_EQ(recv(fd, f, sizeof(*f), MSG_WAITALL), (ssize_t)sizeof(*f));
		REQUIRE(le32toh(f->len) <= cap);
		REQUIRE_EQ(recv(fd, body, le32toh(f->len), MSG_WAITALL), (ssize_t)le32toh(f->len));
		if (le16toh(f->kind) == MINE)
			return;
		CHECK_EQ(le16toh(f->kind), YOURS);
	}
}

/* A chain in consecutive buffers leaves as one payload frame (and one
 * iovec), then the run of its descriptors. */
static void chain_frame_case(struct ivc_listener *l, int port)
{
	static unsigned char body[4 * 4096];
	struct ivc_channel *s = NULL;
	struct ivc_buf b[3];
	struct frame f;
	struct hs m;
	int fd = raw_pair_hs(l, port, &s, &m);

	REQUIRE_EQ(le32toh(m.buf_size), 4096);
	REQUIRE_EQ(ivc_tx_alloc(s, b, 3, 1000), 3);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(b[i].id, i); /* a fresh lane's first buffers */
		memset(b[i].data, 'a' + (int)i, 4096);
		b[i].len = 4096;
		b[i].flags = i < 2 ? IVC_BUF_MORE : 0;
	}
	REQUIRE_EQ(ivc_tx_send(s, b, 3, 0), 3);
	next_mine(fd, &f, body, sizeof(body));
	CHECK_EQ(le32toh(f.len), 3 * 4096);
	for (unsigned i = 0; i < 3; i++)
		CHECK(body[i * 4096] == 'a' + i && body[i * 4096 + 4095] == 'a' + i);
	next_mine(fd, &f, body, sizeof(body));
	CHECK_EQ(le32toh(f.len), 3 * le32toh(m.desc_size)); /* the descriptors */
	close(fd);
	ivc_close(s);
}

/* A burst in one call leaves in one sendmsg(): its 200 small messages
 * and their descriptors, 19,216 bytes, are one data segment to a raw
 * client over loopback.  A batch of at most 128 frames made it two. */
static void batch_case(struct ivc_listener *l, int port)
{
	enum { N = 200, LEN = 64, BYTES = N * (16 + LEN) + 16 + N * 16 };
	static struct ivc_buf b[N];
	static unsigned char got[BYTES];
	struct ivc_channel *s = NULL;
	unsigned segs0, segs1, mss;
	int fd = raw_pair(l, port, &s), have = 0, r;

	REQUIRE_EQ(t_tcp_segs(fd, &segs0, &mss), 0);
	while (have < N && (r = ivc_tx_alloc(s, b + have, (unsigned)(N - have), 1000)) > 0)
		have += r;
	REQUIRE_EQ(have, N);
	for (int i = 0; i < N; i++) {
		memset(b[i].data, i, LEN);
		b[i].len = LEN;
	}
	REQUIRE_EQ(ivc_tx_send(s, b, N, 0), N);
	REQUIRE_EQ(recv(fd, got, sizeof(got), MSG_WAITALL), (ssize_t)sizeof(got));
	REQUIRE_EQ(t_tcp_segs(fd, &segs1, &mss), 0);
	if (mss >= BYTES) /* loopback's: one segment holds it all */
		CHECK_EQ(segs1 - segs0, 1u);
	else
		printf("   (the loopback MSS, %u, is below %d: segments not counted)\n", mss, BYTES);
	close(fd);
	ivc_close(s);
}

static void wire_cases(void)
{
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL;
	struct ivc_buf b;
	struct hs m;
	char a[64];
	int port = t_tcp_port(), fd;

	snprintf(a, sizeof(a), "tcp:127.0.0.1:%d", port);
	REQUIRE_OK(ivc_listen(a, NULL, &l));

	/* The control case: the documented frames make the message. */
	fd = raw_pair(l, port, &s);
	good_message(fd);
	REQUIRE_EQ(ivc_rx_burst(s, &b, 1, 2000), 1);
	CHECK_EQ(b.len, 5);
	CHECK(!memcmp(b.data, "hello", 5));
	CHECK_OK(ivc_rx_release(s, &b, 1));
	expect_report(fd);
	close(fd);
	CHECK_ERR(ivc_rx_burst(s, &b, 1, 2000), -ECONNRESET);
	ivc_close(s);

	/* A bad magic: -EPROTO from ivc_accept, a REJECT to the client. */
	fd = raw_connect(port);
	hello(fd, "XXXX");
	CHECK_ERR(ivc_accept(l, 5000, &s), -EPROTO);
	CHECK_EQ(answer(fd, &m), REJECT);
	CHECK_EQ((int32_t)le32toh((uint32_t)m.err), -EPROTO);
	close(fd);

	/* Frames the client's side may not write, each on a fresh channel:
	 * the channel breaks with -EPROTO and delivers nothing. */
	static const struct {
		const char *what;
		uint16_t kind, zero;
		uint64_t off;
		uint32_t len;
	} bad[] = {
		{ "unknown kind", 4, 0, BUF_OFF, 4 },
		{ "an ASK with an offset", ASK, 0, BUF_OFF, 4 },
		{ "an ASK of 8 bytes", ASK, 0, 0, 8 },
		{ "reserved field set", MINE, 1, BUF_OFF, 4 },
		{ "the header", MINE, 0, 0, 8 },
		{ "MINE into the return ring", MINE, 0, RET_OFF, 4 },
		{ "MINE into the indices", MINE, 0, 128, 8 },
		{ "past the lane's end", MINE, 0, 8192 - 4, 8 },
		{ "a huge offset", MINE, 0, UINT64_MAX - 2, 8 },
		{ "half a descriptor", MINE, 0, DESC_OFF, 8 },
		{ "a descriptor off its slot", MINE, 0, DESC_OFF + 4, 16 },
		{ "YOURS into our buffers", YOURS, 0, BUF_OFF, 8 },
		{ "an empty frame", MINE, 0, BUF_OFF, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char body[16] = { 0 };

		fd = raw_pair(l, port, &s);
		frame(fd, bad[i].kind, bad[i].off, body, bad[i].len, bad[i].zero);
		good_message(fd); /* never delivered: the stream is broken */
		int r = ivc_rx_burst(s, &b, 1, 2000);

		if (r == -EPROTO)
			t_pass();
		else
			t_fail(__FILE__, __LINE__, "%s: ivc_rx_burst gave %d, want -EPROTO",
			       bad[i].what, r);
		CHECK_ERR(ivc_channel_error(s), -EPROTO);
		close(fd);
		ivc_close(s);
	}
	chain_frame_case(l, port);
	batch_case(l, port);
	ivc_listener_close(l);
}

/* ---- the pre-shared key ---- */

/* A listener with key @lk, a client with key @ck (NULL: none): the
 * client's result, and the listener's in *@acc (accept within 1 s). */
static int psk_round(const char *lk, const char *ck, int *acc)
{
	struct ivc_tcp_options lt = { .psk = lk, .psk_len = lk ? strlen(lk) : 0 };
	struct ivc_tcp_options ct = { .psk = ck, .psk_len = ck ? strlen(ck) : 0 };
	struct ivc_options lo = { .tcp = &lt }, co = { .tcp = &ct };
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL;
	struct conn c = { .o = &co, .rc = -1 };
	pthread_t th;

	snprintf(c.addr, sizeof(c.addr), "tcp:127.0.0.1:%d", t_tcp_port());
	REQUIRE_OK(ivc_listen(c.addr, &lo, &l));
	REQUIRE_EQ(pthread_create(&th, NULL, connect_thread, &c), 0);
	*acc = ivc_accept(l, 1000, &s);
	pthread_join(th, NULL);
	if (!*acc && !c.rc) {
		char buf[8];

		CHECK_OK(ivc_send(c.ch, "key", 4, 1000));
		CHECK_EQ(ivc_recv(s, buf, sizeof(buf), 1000), 4);
	}
	if (!*acc)
		ivc_close(s);
	if (!c.rc)
		ivc_close(c.ch);
	ivc_listener_close(l);
	return c.rc;
}

static void psk_cases(void)
{
	const char *k1 = "correct horse battery staple", *k2 = "correct horse battery stapler";
	struct ivc_tcp_options t = { .psk = "short", .psk_len = 5 };
	struct ivc_options o = { .tcp = &t };
	struct ivc_listener *l = NULL;
	char a[64];
	int acc;

	printf("-- pre-shared key\n");
	CHECK_ERR(psk_round(k1, k1, &acc), 0);
	CHECK_ERR(acc, 0);
	/* Another key: the listener's proof fails at the client, which
	 * leaves; the listener hears nothing it must report. */
	CHECK_ERR(psk_round(k1, k2, &acc), -EACCES);
	CHECK_ERR(acc, -ETIMEDOUT);
	/* A key on one side only: refused both ways, and said so. */
	CHECK_ERR(psk_round(k1, NULL, &acc), -EACCES);
	CHECK_ERR(acc, -EACCES);
	CHECK_ERR(psk_round(NULL, k1, &acc), -EACCES);
	CHECK_ERR(acc, -EACCES);
	/* Bad keys: refused before anything exists. */
	snprintf(a, sizeof(a), "tcp:127.0.0.1:%d", t_tcp_port());
	CHECK_ERR(ivc_listen(a, &o, &l), -EINVAL);
	t.psk = NULL;
	t.psk_len = 32;
	CHECK_ERR(ivc_listen(a, &o, &l), -EINVAL);
}

/* ---- IVC_TCP_LAZY_RETURNS ---- */

/* The ABI: flags took the first reserved word, nothing moved (LP64). */
_Static_assert(sizeof(void *) != 8 || (sizeof(struct ivc_tcp_options) == 96 &&
				       offsetof(struct ivc_tcp_options, flags) == 32 &&
				       offsetof(struct ivc_tcp_options, reserved) == 40),
	       "struct ivc_tcp_options layout");

/* A connected pair, both ends with @o. */
static void lazy_pair(const struct ivc_options *o, struct ivc_listener **l,
		      struct ivc_channel **s, struct ivc_channel **c)
{
	struct conn cc = { .o = o, .rc = -1 };
	pthread_t th;

	snprintf(cc.addr, sizeof(cc.addr), "tcp:127.0.0.1:%d", t_tcp_port());
	REQUIRE_OK(ivc_listen(cc.addr, o, l));
	REQUIRE_EQ(pthread_create(&th, NULL, connect_thread, &cc), 0);
	REQUIRE_OK(ivc_accept(*l, 5000, s));
	pthread_join(th, NULL);
	REQUIRE_OK(cc.rc);
	*c = cc.ch;
}

struct lazy_stream {
	struct ivc_channel *ch;
	unsigned n;
	int bad;
};

static void *lazy_sender(void *p)
{
	struct lazy_stream *ls = p;

	for (unsigned i = 0; i < ls->n && !ls->bad; i++)
		if (ivc_send(ls->ch, &i, sizeof(i), 5000))
			ls->bad = 1;
	return NULL;
}

static void lazy_cases(void)
{
	struct ivc_tcp_options bad = { .flags = 4 }, lazy = { .flags = IVC_TCP_LAZY_RETURNS };
	struct ivc_options ob = { .tcp = &bad }, o;
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL, *c = NULL;
	struct ivc_buf b;
	uint64_t t0;
	unsigned got = 0, v;
	int flight = -1;

	printf("-- lazy returns (IVC_TCP_LAZY_RETURNS)\n");
	CHECK_ERR(ivc_listen("tcp:127.0.0.1:1", &ob, &l), -EINVAL);
	CHECK_ERR(ivc_connect("tcp:127.0.0.1:1", &ob, 0, &c), -EINVAL);
	ivc_options_init(&o);
	o.tcp = &lazy;
	o.tx = (struct ivc_geometry){ 16, 256, 16 };
	lazy_pair(&o, &l, &s, &c);
	/* A release is kept back: the sender still counts its message (a
	 * push at once would reach it well within the 300 ms looked for). */
	REQUIRE_OK(ivc_send(c, "one", 4, 1000));
	REQUIRE_EQ(ivc_rx_burst(s, &b, 1, 2000), 1);
	REQUIRE_OK(ivc_rx_release(s, &b, 1));
	for (t0 = t_now_ns(); t_now_ns() - t0 < 300000000ull;)
		if ((flight = ivc_tx_in_flight(c)) == 0)
			break;
	CHECK_EQ(flight, 1);
	/* Nothing left to do at the receiver: it still keeps it back, from
	 * a sender that asks when it needs to know (ask_cases() shows the
	 * wire).  The count above asked; the receiver's next look answers. */
	CHECK_ERR(ivc_wait(s, IVC_EV_RX, 0), -EAGAIN);
	CHECK_ERR(ivc_wait(s, IVC_EV_RX, 200), -ETIMEDOUT);
	for (t0 = t_now_ns(); t_now_ns() - t0 < 5000000000ull;)
		if ((flight = ivc_tx_in_flight(c)) == 0)
			break;
	CHECK_EQ(flight, 0);
	/* A stream of 64 times the sender's buffers: returns keep coming
	 * while the receiver is always busy (a quarter of the ring or
	 * buffers at a time), every message in order. */
	struct lazy_stream ls = { .ch = c, .n = 64 * 16 };
	pthread_t th;

	REQUIRE_EQ(pthread_create(&th, NULL, lazy_sender, &ls), 0);
	while (got < ls.n && ivc_recv(s, &v, sizeof(v), 5000) == (ssize_t)sizeof(v) && v == got)
		got++;
	pthread_join(th, NULL);
	CHECK_EQ(got, ls.n);
	CHECK_EQ(ls.bad, 0);
	ivc_close(c);
	ivc_close(s);
	ivc_listener_close(l);
}

/* A lazy listener and a raw client.  One of this version (HELLO flag
 * ASKS): the listener, with nothing to do, keeps its report back until the
 * client sends an ASK, which its next look answers.  One of the version
 * before (no flags), which never asks: the listener tells it at once. */
static void ask_cases(void)
{
	struct ivc_tcp_options lazy = { .flags = IVC_TCP_LAZY_RETURNS };
	static const uint32_t zero;
	struct ivc_options o;
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL;
	struct ivc_buf b;
	struct hs m;
	char a[64];
	int port = t_tcp_port();

	printf("-- a lazy end keeps its returns back until asked (ASK)\n");
	ivc_options_init(&o);
	o.tcp = &lazy;
	snprintf(a, sizeof(a), "tcp:127.0.0.1:%d", port);
	REQUIRE_OK(ivc_listen(a, &o, &l));
	for (int asks = 0; asks < 2; asks++) {
		int fd = raw_connect(port);
		struct pollfd p = { fd, POLLIN, 0 };

		hello_flags(fd, "IVCT", asks ? HS_ASKS : 0);
		REQUIRE_OK(ivc_accept(l, 5000, &s));
		REQUIRE_EQ(answer(fd, &m), WELCOME);
		CHECK_EQ(le32toh(m.flags), HS_ASKS | HS_LAZY);
		good_message(fd);
		REQUIRE_EQ(ivc_rx_burst(s, &b, 1, 2000), 1);
		CHECK_OK(ivc_rx_release(s, &b, 1));
		CHECK_ERR(ivc_wait(s, IVC_EV_RX, 0), -EAGAIN); /* nothing to do */
		if (asks) {
			CHECK_EQ(poll(&p, 1, 300), 0); /* kept back */
			frame(fd, ASK, 0, &zero, sizeof(zero), 0);
			CHECK_ERR(ivc_wait(s, IVC_EV_RX, 200), -ETIMEDOUT);
		}
		expect_report(fd);
		close(fd);
		CHECK_ERR(ivc_rx_burst(s, &b, 1, 2000), -ECONNRESET);
		ivc_close(s);
	}
	ivc_listener_close(l);
}

/* The size of message @i of a packed burst: around the copy limit
 * (2048), tiny, and large. */
static uint32_t pack_size(unsigned i)
{
	static const uint32_t sz[] = { 1, 64, 2047, 2048, 2049, 4096, 700, 1500 };

	return sz[i % 8] + (i % 3 == 2 && sz[i % 8] < 2047 ? (uint32_t)i : 0);
}

static unsigned char pack_byte(unsigned burst, unsigned i, uint32_t at)
{
	return (unsigned char)(burst * 131u + i * 7u + at * 13u);
}

/* Receive message @i of @burst on @s into @m: 1 if it is @size bytes of
 * pack_byte(), 0 if anything else came, -1 if nothing did. */
static int recv_packed(struct ivc_channel *s, unsigned char *m, size_t cap,
		       unsigned burst, unsigned i, uint32_t size)
{
	ssize_t n = ivc_recv(s, m, cap, 10000);
	uint32_t j;

	if (n < 0)
		return -1;
	if (n != (ssize_t)size)
		return 0;
	for (j = 0; j < size && m[j] == pack_byte(burst, i, j); j++)
		;
	return j == size;
}

struct pack_stream {
	struct ivc_channel *ch;
	unsigned bursts;
	int err;
};

/* Bursts of 256: all allocated, filled, then sent in one call. */
static void *pack_sender(void *p)
{
	struct pack_stream *ps = p;
	static struct ivc_buf b[256];

	for (unsigned k = 0; k < ps->bursts && !ps->err; k++) {
		unsigned have = 0, sent = 0;
		int r;

		while (have < 256 && (r = ivc_tx_alloc(ps->ch, b + have, 256 - have, 5000)) > 0)
			have += (unsigned)r;
		if (have < 256) {
			ps->err = -EIO;
			break;
		}
		for (unsigned i = 0; i < 256; i++) {
			b[i].len = pack_size(i);
			for (uint32_t j = 0; j < b[i].len; j++)
				((unsigned char *)b[i].data)[j] = pack_byte(k, i, j);
		}
		while (sent < 256 && (r = ivc_tx_send(ps->ch, b + sent, 256 - sent, 5000)) > 0)
			sent += (unsigned)r;
		if (sent < 256)
			ps->err = r < 0 ? r : -EIO;
	}
	return NULL;
}

static void packing_cases(void)
{
	struct ivc_options o;
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL, *c = NULL;
	struct pack_stream ps = { .bursts = 8 };
	static unsigned char m[8192];
	unsigned bad = 0, got = 0;
	pthread_t th;

	printf("-- small payloads copied beside their headers, large ones not\n");
	ivc_options_init(&o);
	o.tx = (struct ivc_geometry){ 256, 4096, 256 };
	lazy_pair(&o, &l, &s, &c);
	ps.ch = c;
	REQUIRE_EQ(pthread_create(&th, NULL, pack_sender, &ps), 0);
	for (unsigned k = 0; k < ps.bursts; k++)
		for (unsigned i = 0; i < 256; i++) {
			int ok = recv_packed(s, m, sizeof(m), k, i, pack_size(i));

			bad += ok != 1;
			got += ok >= 0;
		}
	pthread_join(th, NULL);
	CHECK_EQ(ps.err, 0);
	CHECK_EQ(got, ps.bursts * 256);
	CHECK_EQ(bad, 0u);
	ivc_close(c);
	ivc_close(s);
	ivc_listener_close(l);
}

/* ---- a stream cut anywhere ---- */

struct relay {
	int lfd;     /* where the client connects */
	int to_port; /* the listener it is relayed to */
	long bytes;  /* bytes passed, both ways */
};

/* Pass @n bytes from @buf to @fd, one segment each (TCP_NODELAY). */
static int pass_bytes(int fd, const unsigned char *buf, ssize_t n)
{
	for (ssize_t i = 0; i < n;) {
		ssize_t w = send(fd, buf + i, 1, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w != 1)
			return -1;
		i++;
	}
	return 0;
}

/* One client, relayed byte by byte each way until both ends closed. */
static void *relay_thread(void *p)
{
	struct relay *r = p;
	int fd[2], one = 1, open_in[2] = { 1, 1 };
	unsigned char buf[512];

	fd[0] = accept(r->lfd, NULL, NULL);
	if (fd[0] < 0)
		return NULL;
	(void)setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fd[1] = raw_connect(r->to_port);
	while (open_in[0] || open_in[1]) {
		struct pollfd pf[2] = { { open_in[0] ? fd[0] : -1, POLLIN, 0 },
					{ open_in[1] ? fd[1] : -1, POLLIN, 0 } };

		if (poll(pf, 2, 10000) <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!pf[i].revents)
				continue;
			n = read(fd[i], buf, sizeof(buf));
			if (n <= 0 || pass_bytes(fd[1 - i], buf, n)) {
				open_in[i] = 0;
				shutdown(fd[1 - i], SHUT_WR);
				continue;
			}
			r->bytes += n;
		}
	}
	close(fd[0]);
	close(fd[1]);
	return NULL;
}

static uint32_t cut_size(unsigned i)
{
	return (i * 37u) % 300u + 1u;
}

static void *cut_sender(void *p)
{
	struct pack_stream *ps = p;
	unsigned char m[320];

	for (unsigned i = 0; i < 300 && !ps->err; i++) {
		for (uint32_t j = 0; j < cut_size(i); j++)
			m[j] = pack_byte(1, i, j);
		ps->err = ivc_send(ps->ch, m, cut_size(i), 10000);
	}
	return NULL;
}

static void cut_cases(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct ivc_options o;
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL;
	struct conn cc = { .o = &o, .rc = -1 };
	struct relay r = { .to_port = t_tcp_port() };
	struct pack_stream ps = { 0 };
	unsigned char m[512];
	unsigned bad = 0, got = 0;
	pthread_t rt, ct, st;
	char addr[64];

	printf("-- a stream cut anywhere: every byte its own segment\n");
	ivc_options_init(&o);
	o.tx = (struct ivc_geometry){ 8, 512, 8 }; /* returns flow all along */
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", r.to_port);
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	r.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(r.lfd >= 0);
	REQUIRE_EQ(bind(r.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	REQUIRE_EQ(listen(r.lfd, 1), 0);
	REQUIRE_EQ(getsockname(r.lfd, (struct sockaddr *)&a, &al), 0);
	REQUIRE_EQ(pthread_create(&rt, NULL, relay_thread, &r), 0);
	snprintf(cc.addr, sizeof(cc.addr), "tcp:127.0.0.1:%d", ntohs(a.sin_port));
	REQUIRE_EQ(pthread_create(&ct, NULL, connect_thread, &cc), 0);
	CHECK_OK(ivc_accept(l, 10000, &s));
	pthread_join(ct, NULL);
	CHECK_OK(cc.rc);
	if (s && cc.ch) {
		ps.ch = cc.ch;
		REQUIRE_EQ(pthread_create(&st, NULL, cut_sender, &ps), 0);
		for (unsigned i = 0; i < 300; i++) {
			int ok = recv_packed(s, m, sizeof(m), 1, i, cut_size(i));

			bad += ok != 1;
			got += ok >= 0;
		}
		pthread_join(st, NULL);
		CHECK_EQ(ps.err, 0);
		CHECK_EQ(got, 300u);
		CHECK_EQ(bad, 0u);
	}
	if (cc.ch)
		ivc_close(cc.ch);
	if (s)
		ivc_close(s);
	pthread_join(rt, NULL);
	CHECK(r.bytes > 300 * 16); /* the relay really carried it */
	close(r.lfd);
	ivc_listener_close(l);
}

/* @n messages of 64 B on @c, each with a timeout, to a peer that reads
 * nothing yet: they fit its kernel's window, so each leaves the host
 * within its sendmsg(); then @s reads them all.  The sends that waited
 * for their bytes to leave (ivc_stats.tx_drains). */
static uint64_t sends_drained(struct ivc_channel *c, struct ivc_channel *s,
			      unsigned n)
{
	struct ivc_stats st;
	unsigned char m[64], r[65];
	unsigned good = 0;

	for (unsigned i = 0; i < n; i++) {
		memset(m, (int)(i & 0xff), sizeof(m));
		CHECK_OK(ivc_send(c, m, sizeof(m), 5000));
	}
	for (unsigned i = 0; i < n; i++)
		good += ivc_recv(s, r, sizeof(r), 5000) == (ssize_t)sizeof(m) &&
			r[0] == (i & 0xff) && r[63] == (i & 0xff);
	CHECK_EQ(good, n);
	REQUIRE_OK(ivc_stats_get(c, &st));
	for (size_t i = 0; i < sizeof(st.reserved) / sizeof(st.reserved[0]); i++)
		CHECK_EQ(st.reserved[i], 0u);
	return st.tx_drains;
}

/* IVC_TCP_QUEUED_SENDS: a send is done once the kernel has its bytes, as
 * a write() is.  By default every send with a timeout then waits until
 * its bytes have left the host (a poll() each, counted); with the flag
 * none does while the socket takes all of a send.  Every message arrives
 * either way. */
static void queued_cases(void)
{
	static const struct ivc_tcp_options flags[] = {
		{ .flags = 0 },
		{ .flags = IVC_TCP_QUEUED_SENDS },
		{ .flags = IVC_TCP_QUEUED_SENDS | IVC_TCP_LAZY_RETURNS },
	};
	const unsigned n = 200; /* 200 * (64 B + frames): well within a window */

	printf("-- a send done once queued (IVC_TCP_QUEUED_SENDS)\n");
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct ivc_options o;
		struct ivc_listener *l = NULL;
		struct ivc_channel *s = NULL, *c = NULL;
		int queued = (flags[i].flags & IVC_TCP_QUEUED_SENDS) != 0;

		ivc_options_init(&o);
		o.tx = (struct ivc_geometry){ 256, 4096, 256 }; /* all n at once */
		o.tcp = &flags[i];
		lazy_pair(&o, &l, &s, &c);
		CHECK_EQ(sends_drained(c, s, n), queued ? 0u : (uint64_t)n);
		ivc_close(c);
		ivc_close(s);
		ivc_listener_close(l);
	}
}

/* One round trip of 64 B from @c to @s and back; *@p: where @c's
 * message was. */
static void round_trip(struct ivc_channel *c, struct ivc_channel *s, void **p)
{
	struct ivc_buf b, r;

	REQUIRE_EQ(ivc_tx_alloc(c, &b, 1, 5000), 1);
	memset(b.data, 'q', 64);
	b.len = 64;
	*p = b.data;
	REQUIRE_EQ(ivc_tx_send(c, &b, 1, 5000), 1);
	REQUIRE_EQ(ivc_rx_burst(s, &r, 1, 5000), 1);
	CHECK(r.len == 64 && ((unsigned char *)r.data)[63] == 'q');
	CHECK_OK(ivc_rx_release(s, &r, 1));
	REQUIRE_EQ(ivc_tx_alloc(s, &b, 1, 5000), 1);
	memset(b.data, 'a', 64);
	b.len = 64;
	REQUIRE_EQ(ivc_tx_send(s, &b, 1, 5000), 1);
	REQUIRE_EQ(ivc_rx_burst(c, &r, 1, 5000), 1);
	CHECK_OK(ivc_rx_release(c, &r, 1));
}

/* A tcp lane takes its returned buffers back at the allocation that finds
 * every buffer it lent returned, so a ping-pong of small messages reuses
 * one buffer at each end, still in the cache, instead of working down
 * through a pool of 256 (each message's frames took 240-380 ns to apply
 * that way, 66-104 ns reusing).  The peer's returns come before its
 * reply, reported at once or, lazily, with its next send. */
static void reuse_cases(void)
{
	static const struct ivc_tcp_options flags[] = {
		{ .flags = 0 },
		{ .flags = IVC_TCP_LAZY_RETURNS | IVC_TCP_QUEUED_SENDS },
	};

	printf("-- small messages reuse their buffers\n");
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct ivc_options o;
		struct ivc_listener *l = NULL;
		struct ivc_channel *s = NULL, *c = NULL;
		void *first, *p;
		int same = 0;

		ivc_options_init(&o);
		o.tx = (struct ivc_geometry){ 256, 4096, 256 };
		o.tcp = &flags[i];
		lazy_pair(&o, &l, &s, &c);
		round_trip(c, s, &first);
		for (int k = 0; k < 5; k++) {
			round_trip(c, s, &p);
			same += p == first;
		}
		CHECK_EQ(same, 5);
		ivc_close(c);
		ivc_close(s);
		ivc_listener_close(l);
	}
}

/* Entries of this process's epoll sets that watch a socket, read from
 * /proc/self/fdinfo of every epoll descriptor. */
static int socket_watches(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	REQUIRE(d != NULL);
	while ((e = readdir(d)) != NULL) {
		char path[300], link[64], line[256];
		ssize_t k;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		k = readlink(path, link, sizeof(link) - 1);
		if (k < 0 || (link[k] = 0, strcmp(link, "anon_inode:[eventpoll]")))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f)) {
			int tfd;

			if (sscanf(line, "tfd: %d", &tfd) != 1)
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", tfd);
			k = readlink(path, link, sizeof(link) - 1);
			n += k > 7 && !strncmp(link, "socket:", 7);
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* A channel's socket joins its epoll sets only when one is used: the set
 * of ivc_fd() when the application asks for it (or arms, or adds the
 * channel to a poller), a sleep set before its side first sleeps.  In
 * each set it cost every segment that arrived a wake-up call in the
 * kernel, 6% of a polling 64 B round trip that used no set.  Once there,
 * the sets work as before: ivc_fd() polls readable for a message and for
 * the peer's close, and a wait with a timeout wakes for a message. */
static void watch_cases(void)
{
	struct ivc_options o;
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL, *c = NULL;
	struct pollfd q;
	char m[8];
	int base = socket_watches(), fd;

	printf("-- a channel's sets watch its socket once used\n");
	ivc_options_init(&o);
	lazy_pair(&o, &l, &s, &c);
	ivc_listener_close(l);
	CHECK_EQ(socket_watches(), base);
	fd = ivc_fd(c);
	CHECK(fd >= 0);
	CHECK_EQ(ivc_fd(c), fd);
	CHECK_EQ(socket_watches(), base + 1);
	CHECK_EQ(ivc_wait(s, IVC_EV_RX, 20), -ETIMEDOUT); /* slept on its RX set */
	CHECK_EQ(socket_watches(), base + 2);

	CHECK_EQ(ivc_arm(c, IVC_EV_RX), 0);
	CHECK_OK(ivc_send(s, "one", 4, 5000));
	q = (struct pollfd){ fd, POLLIN, 0 };
	CHECK_EQ(poll(&q, 1, 5000), 1);
	CHECK_EQ(ivc_recv(c, m, sizeof(m), 0), 4);
	CHECK_OK(ivc_send(c, "two", 4, 5000));
	CHECK_EQ(ivc_wait(s, IVC_EV_RX, 5000), IVC_EV_RX);
	CHECK_EQ(ivc_recv(s, m, sizeof(m), 0), 4);
	CHECK_EQ(socket_watches(), base + 2);

	CHECK_EQ(ivc_arm(c, IVC_EV_RX), 0);
	ivc_close(s);
	q = (struct pollfd){ fd, POLLIN, 0 };
	CHECK_EQ(poll(&q, 1, 5000), 1); /* the peer's close */
	ivc_close(c);
	CHECK_EQ(socket_watches(), base);
}

/* A thread that receives on one end, for ever: "done", then the end. */
struct reader {
	struct ivc_channel *ch;
	pid_t tid;
	ssize_t got, end;
	char buf[16];
};

static void *reader_thread(void *p)
{
	struct reader *r = p;
	char more[16];

	__atomic_store_n(&r->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	r->got = ivc_recv(r->ch, r->buf, sizeof(r->buf), -1);
	r->end = ivc_recv(r->ch, more, sizeof(more), -1);
	return NULL;
}

/* Whether thread @tid comes to be blocked in system call @nr within 5 s
 * (/proc/self/task/TID/syscall: its number, or "running"). */
static int blocked_in(const struct reader *r, long nr)
{
	char path[64], line[64];
	uint64_t end = t_now_ns() + 5000000000ull;
	pid_t tid;

	while (!(tid = __atomic_load_n(&r->tid, __ATOMIC_ACQUIRE)))
		sched_yield();
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	while (t_now_ns() < end) {
		FILE *f = fopen(path, "r");
		int ok = f && fgets(line, sizeof(line), f) && atol(line) == nr &&
			 line[0] != 'r';

		if (f)
			fclose(f);
		if (ok)
			return 1;
		sched_yield();
	}
	return 0;
}

struct counter {
	struct ivc_channel *ch;
	unsigned n, got, size;
};

/* Receive @n messages of @size, the first word of each its number. */
static void *counter_thread(void *p)
{
	struct counter *c = p;
	unsigned char *m = malloc(c->size);
	uint32_t v;

	while (m && c->got < c->n &&
	       ivc_recv(c->ch, m, c->size, 5000) == (ssize_t)c->size &&
	       (memcpy(&v, m, sizeof(v)), v == c->got))
		c->got++;
	free(m);
	return NULL;
}

/* "done" to the reader, then our end closed: its read ends with it. */
static void reader_done(struct ivc_channel *s, struct reader *r, pthread_t th)
{
	CHECK_OK(ivc_send(s, "done", 5, 5000));
	ivc_close(s);
	pthread_join(th, NULL);
	CHECK_EQ(r->got, 5);
	CHECK(!memcmp(r->buf, "done", 5));
	CHECK_EQ(r->end, -EPIPE);
}

/* The sending thread needs returns the reading thread reads. */
static void read_wait_returns(void)
{
	struct ivc_options o;
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL, *c = NULL;
	struct reader r = { 0 };
	struct counter k = { .n = 64 * 16, .size = sizeof(uint32_t) };
	struct ivc_stats st;
	pthread_t rt, kt;
	unsigned sent = 0;

	ivc_options_init(&o);
	o.mode = IVC_MODE_BLOCK;
	o.tx = (struct ivc_geometry){ 16, 256, 16 };
	lazy_pair(&o, &l, &s, &c);
	r.ch = c;
	k.ch = s;
	REQUIRE_EQ(pthread_create(&rt, NULL, reader_thread, &r), 0);
	CHECK(blocked_in(&r, SYS_recvfrom));
	REQUIRE_EQ(pthread_create(&kt, NULL, counter_thread, &k), 0);
	while (sent < k.n && ivc_send(c, &sent, sizeof(sent), 5000) == 0)
		sent++;
	pthread_join(kt, NULL);
	CHECK_EQ(sent, k.n);
	CHECK_EQ(k.got, k.n);
	REQUIRE_OK(ivc_stats_get(c, &st));
	CHECK(st.pool_empty_stalls + st.ring_full_stalls > 0);
	CHECK(blocked_in(&r, SYS_recvfrom));
	reader_done(s, &r, rt);
	ivc_close(c);
	ivc_listener_close(l);
}

/* The sending thread leaves output waiting for room, then makes no more
 * calls; the peer is lazy and keeps its returns back (a quarter of 256
 * messages is more than the socket holds), so nothing comes to end the
 * read: only its own return every 100 ms sends the rest. */
static void read_wait_output(void)
{
	struct ivc_tcp_options lazy = { .flags = IVC_TCP_LAZY_RETURNS };
	struct ivc_options os, oc;
	struct conn cc = { .o = &oc, .rc = -1 };
	struct ivc_listener *l = NULL;
	struct reader r = { 0 };
	struct counter k = { .n = 128, .size = 256u << 10 };
	unsigned char *m = calloc(1, k.size);
	pthread_t rt, th;
	unsigned sent = 0;

	REQUIRE(m);
	ivc_options_init(&os);
	os.tcp = &lazy;
	ivc_options_init(&oc);
	oc.mode = IVC_MODE_BLOCK;
	oc.tx = (struct ivc_geometry){ 256, 256u << 10, 256 };
	snprintf(cc.addr, sizeof(cc.addr), "tcp:127.0.0.1:%d", t_tcp_port());
	REQUIRE_OK(ivc_listen(cc.addr, &os, &l));
	REQUIRE_EQ(pthread_create(&th, NULL, connect_thread, &cc), 0);
	REQUIRE_OK(ivc_accept(l, 5000, &k.ch));
	pthread_join(th, NULL);
	REQUIRE_OK(cc.rc);
	r.ch = cc.ch;
	REQUIRE_EQ(pthread_create(&rt, NULL, reader_thread, &r), 0);
	CHECK(blocked_in(&r, SYS_recvfrom));
	for (; sent < k.n; sent++) {
		memcpy(m, &sent, sizeof(sent));
		if (ivc_send(cc.ch, m, k.size, 0))
			break;
	}
	CHECK_EQ(sent, k.n);
	counter_thread(&k);
	CHECK_EQ(k.got, k.n);
	reader_done(k.ch, &r, rt);
	ivc_close(cc.ch);
	ivc_listener_close(l);
	free(m);
}

/* Send 9 messages "for ever" into a lane of 8 slots: the ninth waits for
 * room; r->got: how many went, r->end: the last call's result. */
static void *filler_thread(void *p)
{
	struct reader *r = p;
	uint32_t i;

	__atomic_store_n(&r->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (i = 0; i < 9 && (r->end = ivc_send(r->ch, &i, sizeof(i), -1)) == 0; i++)
		;
	r->got = i;
	return NULL;
}

/* A sender that waits for ever for room sleeps in the socket's read too
 * (its room comes back in what the peer sends), not on its sleep set; the
 * peer's receives then give it the room. */
static void write_wait_case(void)
{
	struct ivc_options o;
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL, *c = NULL;
	struct reader r = { 0 };
	uint32_t v = UINT32_MAX, bad = 0;
	pthread_t th;

	ivc_options_init(&o);
	o.mode = IVC_MODE_BLOCK;
	o.tx = (struct ivc_geometry){ 8, 256, 8 };
	lazy_pair(&o, &l, &s, &c);
	r.ch = c;
	REQUIRE_EQ(pthread_create(&th, NULL, filler_thread, &r), 0);
	CHECK(blocked_in(&r, SYS_recvfrom));
	for (uint32_t i = 0; i < 9; i++)
		bad += ivc_recv(s, &v, sizeof(v), 5000) != sizeof(v) || v != i;
	pthread_join(th, NULL);
	CHECK_EQ(bad, 0u);
	CHECK_EQ(r.got, 9);
	CHECK_OK((int)r.end);
	ivc_close(c);
	ivc_close(s);
	ivc_listener_close(l);
}

static void read_wait_cases(void)
{
	printf("-- a blocking receive waits in the socket's read\n");
	read_wait_returns();
	read_wait_output();
	printf("-- and a sender waiting for room\n");
	write_wait_case();
}

int main(void)
{
	int fds;

	t_init("test_tcp", 60);
	fds = t_count_fds();
	addr_cases();
	ipv6_case();
	wire_cases();
	psk_cases();
	lazy_cases();
	queued_cases();
	reuse_cases();
	watch_cases();
	ask_cases();
	packing_cases();
	cut_cases();
	read_wait_cases();
	CHECK_EQ(t_count_fds(), fds);
	return t_finish();
}
