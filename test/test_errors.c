/* SPDX-License-Identifier: MIT */
/*
 * test_errors - bad arguments, bad addresses and peers that are not ivc
 * (or are broken, or speak another version) give the documented error,
 * and no call leaks a descriptor: /proc/self/fd is counted around each
 * case.  Options with a reserved word set, or another transport's settings,
 * are refused before anything exists.
 *
 * The fake peers speak the handshake of src/shm/shm_handshake_pvt.h (a 48-byte message plus
 * SCM_RIGHTS descriptors) built with the library's own lane code, so a
 * fake server that makes no deliberate mistake is accepted (the control
 * case), and each other case differs from it in one thing.
 */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ivc/ivc.h>

#include "fake_peer.h"

#define FAKE_MS 3000

/* CHECK that the descriptor count is back to @before. */
#define CHECK_NO_LEAK(before, what)                                          \
	do {                                                                 \
		int now_ = t_count_fds();                                    \
		if (now_ == (before))                                        \
			t_pass();                                            \
		else                                                         \
			t_fail(__FILE__, __LINE__,                           \
			       "%s: %d descriptors before, %d after", what,  \
			       (before), now_);                              \
	} while (0)

/* ---- arguments --------------------------------------------------------------- */

static int nop_cb(struct ivc_channel *ch, void *arg)
{
	(void)ch;
	(void)arg;
	return 0;
}

struct conn_arg {
	const char *addr;
	struct ivc_channel *ch;
	int rc;
};

static void *conn_thread(void *p)
{
	struct conn_arg *c = p;
	c->rc = ivc_connect(c->addr, NULL, FAKE_MS, &c->ch);
	return NULL;
}

/* Connect to @l at @addr from a thread, accept here, exchange a message.
 * Return: 0 when all of it worked. */
static int pair_on(struct ivc_listener *l, const char *addr)
{
	struct conn_arg c = {addr, NULL, 1};
	pthread_t th;
	struct ivc_channel *a = NULL;
	char buf[8];
	if (pthread_create(&th, NULL, conn_thread, &c))
		return -EAGAIN;
	int r = ivc_accept(l, FAKE_MS, &a);
	pthread_join(th, NULL);
	if (!r)
		r = c.rc;
	if (!r)
		r = ivc_send(c.ch, "ping", 4, FAKE_MS);
	if (!r)
		r = ivc_recv(a, buf, sizeof(buf), FAKE_MS) == 4 ? 0 : -EPROTO;
	ivc_close(a);
	ivc_close(c.ch);
	return r;
}

static void test_null_args(void)
{
	printf("-- NULL and bad arguments\n");
	struct ivc_channel *a, *b;
	REQUIRE_OK(t_pair("args", NULL, NULL, &a, &b));
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct ivc_buf buf[2];
	struct ivc_info info;
	struct ivc_stats st;
	char data[16];
	char addr[108];
	t_addr(addr, sizeof(addr), "args2");
	int fds = t_count_fds();

	CHECK_ERR(ivc_listen(NULL, NULL, &l), -EINVAL);
	CHECK_ERR(ivc_listen(addr, NULL, NULL), -EINVAL);
	CHECK_ERR(ivc_connect(NULL, NULL, 0, &ch), -EINVAL);
	CHECK_ERR(ivc_connect(addr, NULL, 0, NULL), -EINVAL);
	CHECK_ERR(ivc_accept(NULL, 0, &ch), -EINVAL);
	CHECK_ERR(ivc_listener_fd(NULL), -EINVAL);
	ivc_listener_close(NULL);
	CHECK_ERR(ivc_close(NULL), -EINVAL);
	CHECK_ERR(ivc_channel_info(NULL, &info), -EINVAL);
	CHECK_ERR(ivc_channel_info(a, NULL), -EINVAL);
	CHECK_ERR(ivc_channel_error(NULL), -EINVAL);
	CHECK_ERR(ivc_stats_get(NULL, &st), -EINVAL);
	CHECK_ERR(ivc_stats_get(a, NULL), -EINVAL);

	CHECK_ERR(ivc_tx_alloc(NULL, buf, 1, 0), -EINVAL);
	CHECK_ERR(ivc_tx_alloc(a, NULL, 1, 0), -EINVAL);
	CHECK_ERR(ivc_tx_alloc(a, buf, 0, 0), -EINVAL);
	CHECK_ERR(ivc_tx_send(NULL, buf, 1, 0), -EINVAL);
	CHECK_ERR(ivc_tx_send(a, NULL, 1, 0), -EINVAL);
	CHECK_ERR(ivc_tx_send(a, buf, 0, 0), -EINVAL);
	CHECK_ERR(ivc_tx_free(NULL, buf, 1), -EINVAL);
	CHECK_ERR(ivc_tx_free(a, NULL, 1), -EINVAL);
	CHECK_ERR(ivc_rx_burst(NULL, buf, 1, 0), -EINVAL);
	CHECK_ERR(ivc_rx_burst(a, NULL, 1, 0), -EINVAL);
	CHECK_ERR(ivc_rx_burst(a, buf, 0, 0), -EINVAL);
	CHECK_ERR(ivc_rx_release(NULL, buf, 1), -EINVAL);
	CHECK_ERR(ivc_rx_release(a, NULL, 1), -EINVAL);

	/* Buffers that are not the caller's. */
	memset(buf, 0, sizeof(buf));
	buf[0].id = 0;
	CHECK_ERR(ivc_tx_send(a, buf, 1, 0), -EINVAL);
	CHECK_ERR(ivc_tx_free(a, buf, 1), -EINVAL);
	CHECK_ERR(ivc_rx_release(a, buf, 1), -EINVAL);
	buf[0].id = 1u << 30;
	CHECK_ERR(ivc_tx_send(a, buf, 1, 0), -EINVAL);
	CHECK_ERR(ivc_tx_free(a, buf, 1), -EINVAL);
	CHECK_ERR(ivc_rx_release(a, buf, 1), -EINVAL);
	/* len > cap, unknown flags: refused, the buffer stays the caller's. */
	REQUIRE_EQ(ivc_tx_alloc(a, buf, 1, 0), 1);
	buf[0].len = buf[0].cap + 1;
	CHECK_ERR(ivc_tx_send(a, buf, 1, 0), -EINVAL);
	buf[0].len = 1;
	buf[0].flags = 0x10;
	CHECK_ERR(ivc_tx_send(a, buf, 1, 0), -EINVAL);
	CHECK_ERR(ivc_tx_free(a, buf, 1), 0);

	CHECK_ERR(ivc_send(NULL, data, 1, 0), -EINVAL);
	CHECK_ERR(ivc_send(a, NULL, 1, 0), -EINVAL);
	CHECK_ERR(ivc_recv(NULL, data, sizeof(data), 0), -EINVAL);
	CHECK_ERR(ivc_recv(b, NULL, 1, 0), -EINVAL);
	/* An empty message with NULL data is fine. */
	CHECK_ERR(ivc_send(a, NULL, 0, 0), 0);
	CHECK_ERR(ivc_recv(b, data, sizeof(data), 1000), 0);

	CHECK_ERR(ivc_wait(NULL, IVC_EV_RX, 0), -EINVAL);
	CHECK_ERR(ivc_wait(a, 0, 0), -EINVAL);
	CHECK_ERR(ivc_wait(a, 0x4, 0), -EINVAL);
	CHECK_ERR(ivc_ready(NULL, IVC_EV_RX), -EINVAL);
	CHECK_ERR(ivc_ready(a, 0), -EINVAL);
	CHECK_ERR(ivc_arm(NULL, IVC_EV_RX), -EINVAL);
	CHECK_ERR(ivc_arm(a, 0), -EINVAL);
	CHECK_ERR(ivc_arm(a, 0x8), -EINVAL);
	CHECK_ERR(ivc_fd(NULL), -EINVAL);
	CHECK(ivc_fd(a) >= 0);

	/* Options. */
	struct ivc_options o;
	ivc_options_init(&o);
	o.mode = (enum ivc_mode)7;
	CHECK_ERR(ivc_listen(addr, &o, &l), -EINVAL);
	CHECK_ERR(ivc_connect(addr, &o, 0, &ch), -EINVAL);
	ivc_options_init(&o);
	o.flags = 0x80;
	CHECK_ERR(ivc_listen(addr, &o, &l), -EINVAL);
	ivc_options_init(&o);
	struct ivc_shm_options so = {0};
	so.n_allowed_uids = 2; /* and no array */
	o.shm = &so;
	CHECK_ERR(ivc_listen(addr, &o, &l), -EINVAL);

	/* Poller. */
	struct ivc_poller *p = NULL;
	struct ivc_poller_options po = {.cpu = -1, .mode = 0, .spin_max_ns = 0};
	CHECK_ERR(ivc_poller_create(&po, NULL), -EINVAL);
	po.mode = 9;
	CHECK_ERR(ivc_poller_create(&po, &p), -EINVAL);
	po.mode = 0;
	po.cpu = -2;
	CHECK_ERR(ivc_poller_create(&po, &p), -EINVAL);
	po.cpu = -1;
	REQUIRE_OK(ivc_poller_create(&po, &p));
	CHECK_ERR(ivc_poller_add(NULL, a, nop_cb, NULL), -EINVAL);
	CHECK_ERR(ivc_poller_add(p, NULL, nop_cb, NULL), -EINVAL);
	CHECK_ERR(ivc_poller_add(p, a, NULL, NULL), -EINVAL);
	CHECK_ERR(ivc_poller_add(p, a, nop_cb, NULL), 0);
	CHECK_ERR(ivc_poller_add(p, a, nop_cb, NULL), -EEXIST);
	CHECK_ERR(ivc_poller_remove(p, b), -ENOENT);
	CHECK_ERR(ivc_poller_remove(NULL, a), -EINVAL);
	CHECK_ERR(ivc_poller_remove(p, NULL), -EINVAL);
	CHECK_ERR(ivc_poller_remove(p, a), 0);
	CHECK_ERR(ivc_poller_remove(p, a), -ENOENT);
	CHECK_ERR(ivc_poller_run(NULL, 0), -EINVAL);
	CHECK_ERR(ivc_poller_stop(NULL), -EINVAL);
	ivc_poller_destroy(p);
	ivc_poller_destroy(NULL);

	/* Placement. */
	int n = ivc_cpu_count();
	CHECK(n >= 1);
	int cpus[64];
	CHECK_EQ(ivc_cpu_list(cpus, 64), n);
	CHECK_EQ(ivc_cpu_list(NULL, 0), n);
	CHECK_ERR(ivc_cpu_list(NULL, 4), -EINVAL);
	CHECK_ERR(ivc_pin_thread(-1), -EINVAL);
	CHECK_ERR(ivc_pin_thread(1 << 20), -EINVAL);
	CHECK(ivc_current_cpu() >= 0);
	CHECK(ivc_have_hwloc() == 0 || ivc_have_hwloc() == 1);

	CHECK_NO_LEAK(fds, "bad arguments");
	ivc_close(a);
	ivc_close(b);
}

/* ---- addresses ----------------------------------------------------------------- */

static void check_addr(const char *addr, int want)
{
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	int fds = t_count_fds();
	int r = ivc_listen(addr, NULL, &l);
	if (r == want)
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "ivc_listen(\"%.40s\"...): %d (%s), want %d (%s)",
		       addr, r, t_errname(r), want, t_errname(want));
	if (r == 0)
		ivc_listener_close(l);
	r = ivc_connect(addr, NULL, 100, &ch);
	if (r == want)
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "ivc_connect(\"%.40s\"...): %d (%s), want %d (%s)",
		       addr, r, t_errname(r), want, t_errname(want));
	if (r == 0)
		ivc_close(ch);
	CHECK_NO_LEAK(fds, addr);
}

static void test_addresses(void)
{
	printf("-- addresses\n");
	check_addr("bogus:x", -EAFNOSUPPORT);
	check_addr("vchan:1", -EAFNOSUPPORT); /* (xen: is test_xen's) */
	check_addr("udp:127.0.0.1:1", -EAFNOSUPPORT);
	/* tcp (test_tcp has the rest): no port, port 0, a name that is not. */
	check_addr("tcp:127.0.0.1", -EINVAL);
	check_addr("tcp:127.0.0.1:0", -EINVAL);
	check_addr("tcp:no-such-host.invalid:7000", -EADDRNOTAVAIL);
	check_addr("shmx:/tmp/x", -EAFNOSUPPORT);
	check_addr("shm:", -EINVAL);
	check_addr("shm:@", -EINVAL);
	check_addr("shm", -EINVAL);
	check_addr("", -EINVAL);
	check_addr(":x", -EINVAL);
	check_addr("/tmp/no-transport", -EINVAL);

	/* sun_path holds 108 bytes: 107 characters and a NUL for a path;
	 * 107 after the leading NUL for an abstract name. */
	char addr[300];
	strcpy(addr, "shm:/tmp/");
	size_t n = strlen(addr);
	memset(addr + n, 'p', 200);
	addr[n + 200] = 0;
	check_addr(addr, -ENAMETOOLONG);
	addr[4 + 108] = 0; /* path of 108 characters */
	check_addr(addr, -ENAMETOOLONG);
	strcpy(addr, "shm:@");
	memset(addr + 5, 'a', 108);
	addr[5 + 108] = 0; /* name of 108 characters */
	check_addr(addr, -ENAMETOOLONG);

	/* The longest abstract name works, and is really used. */
	snprintf(addr, sizeof(addr), "shm:@ivc-test-long-%d-", (int)getpid());
	n = strlen(addr);
	memset(addr + n, 'z', 5 + 107 - n);
	addr[5 + 107] = 0;
	struct ivc_listener *l = NULL, *l2 = NULL;
	CHECK_ERR(ivc_listen(addr, NULL, &l), 0);
	CHECK_ERR(ivc_listen(addr, NULL, &l2), -EADDRINUSE);
	ivc_listener_close(l);
	CHECK_ERR(ivc_listen(addr, NULL, &l2), 0); /* free again */
	ivc_listener_close(l2);

	/* Filesystem sockets: a live listener is not replaced, a stale
	 * socket file is; ivc_listener_close() unlinks it. */
	char path[128];
	snprintf(path, sizeof(path), "shm:/tmp/ivc-test-errors-%d.sock", (int)getpid());
	unlink(path + 4);
	int fds = t_count_fds();
	CHECK_ERR(ivc_listen(path, NULL, &l), 0);
	struct stat sb;
	CHECK(stat(path + 4, &sb) == 0 && S_ISSOCK(sb.st_mode));
	CHECK_ERR(ivc_listen(path, NULL, &l2), -EADDRINUSE);
	ivc_listener_close(l);
	CHECK(stat(path + 4, &sb) != 0);
	/* Leave a stale socket file behind. */
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	strcpy(sun.sun_path, path + 4);
	REQUIRE(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(s);
	CHECK(stat(path + 4, &sb) == 0);
	CHECK_ERR(ivc_listen(path, NULL, &l), 0);
	struct ivc_channel *ca = NULL;
	/* And it is a working listener. */
	CHECK_ERR(pair_on(l, path), 0);
	ivc_listener_close(l);
	/* A regular file in the way is not a listener. */
	int f = open(path + 4, O_CREAT | O_WRONLY, 0600);
	CHECK(f >= 0);
	if (f >= 0)
		close(f);
	CHECK_ERR(ivc_connect(path, NULL, 0, &ca), -ECONNREFUSED);
	unlink(path + 4);
	CHECK_NO_LEAK(fds, "filesystem listeners");
}

/* ---- fake servers -------------------------------------------------------------------- */

/* A fake lane as an honest peer makes it, but for @seal, a format of all
 * zeroes and a size off by @delta. */
static void lane_make(struct fake_lane *f, enum fake_seal seal, int format,
		      int64_t delta, int sparse)
{
	struct fake_lane_opts o = { .seal = seal, .unformatted = !format,
				    .size_delta = delta, .sparse = sparse };

	REQUIRE(fake_lane_make(f, &o) == 0);
}

static ssize_t recv_raw(int sock, void *data, size_t cap, int *nfds, int *keep)
{
	return fake_recv(sock, data, cap, nfds, keep, FAKE_MS);
}

/* How a fake server answers a HELLO. */
enum fake_reply {
	FR_VALID,		/* an honest WELCOME: the control case */
	FR_GARBAGE48,		/* 48 random bytes */
	FR_GARBAGE3,		/* 3 bytes */
	FR_VERSION,		/* WELCOME of version + 1 */
	FR_REJECT_VERSION,	/* REJECT(EPROTONOSUPPORT) of version + 1 */
	FR_REJECT_ACCES,	/* REJECT(EACCES) */
	FR_NO_FDS,		/* WELCOME without descriptors */
	FR_EXTRA_FDS,		/* WELCOME with 5 descriptors */
	FR_UNSEALED,		/* memfd not sealed */
	FR_WRONG_SIZE,		/* memfd one page too big */
	FR_UNFORMATTED,		/* lane header all zeroes */
	FR_BAD_GEOMETRY,	/* geometry in the message is invalid */
	FR_PIPE_BELLS,		/* doorbells are pipes, not eventfds */
	FR_HELLO,		/* answers HELLO with a HELLO */
	FR_HANGUP,		/* accepts, reads the HELLO, closes */
	FR_SILENT,		/* accepts, reads the HELLO, never answers */
	FR_STREAM,		/* a SOCK_STREAM listener */
	FR_TRUNCATED,		/* a WELCOME cut to 47 bytes */
	FR_OVERSIZED,		/* a WELCOME padded to 49 bytes */
	FR_HUGE,		/* a WELCOME padded to 4096 bytes */
	FR_DUP_WELCOME,		/* a valid WELCOME, sent twice */
	FR_SMALL,		/* memfd one page too small */
	FR_WRITE_SEALED,	/* memfd sealed against our writes */
	FR_REFLECT,		/* the client's own memfd handed back */
	FR_SPARSE,		/* memfd not allocated: pages we would fault in */
	FR_SEALS_SEALED,	/* memfd's seals sealed: we could not freeze it */
	FR_EMPTY,		/* a record of 0 bytes instead of a WELCOME */
};

struct fake_server {
	int lsock;
	enum fake_reply reply;
	struct t_sem done; /* the client is finished: hang up */
	int hello_ok;      /* the HELLO looked like ivc's */
};

static void *fake_server_thread(void *p)
{
	struct fake_server *fs = p;
	struct pollfd pl = {.fd = fs->lsock, .events = POLLIN};
	if (poll(&pl, 1, FAKE_MS) != 1)
		return NULL;
	int s = accept4(fs->lsock, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return NULL;
	if (fs->reply == FR_STREAM)
		goto wait; /* (not reached: the connect fails first) */

	unsigned char in[128];
	int nfds = 0;
	int client_memfd = -1;
	ssize_t n = recv_raw(s, in, sizeof(in), &nfds,
			     fs->reply == FR_REFLECT ? &client_memfd : NULL);
	struct ivc_ctrl_msg hello;
	fs->hello_ok = n == (ssize_t)sizeof(hello) && nfds == IVC_CTRL_NFDS &&
		       ivc_ctrl_parse(in, (size_t)n, &hello) == 0 &&
		       hello.type == IVC_CTRL_HELLO;

	struct fake_lane fl;
	struct ivc_ctrl_msg m;
	lane_make(&fl, fs->reply == FR_UNSEALED ? SEAL_NONE :
		       fs->reply == FR_WRITE_SEALED ? SEAL_SIZE_WRITE :
		       fs->reply == FR_SEALS_SEALED ? SEAL_SIZE_SEALED : SEAL_SIZE,
		  fs->reply != FR_UNFORMATTED,
		  fs->reply == FR_WRONG_SIZE ? 4096 :
		  fs->reply == FR_SMALL ? -4096 : 0, fs->reply == FR_SPARSE);
	fake_msg(&m, IVC_CTRL_WELCOME, &fl.g);
	int fds[5] = {fl.memfd, fl.bell[0], fl.bell[1], fl.bell[0], fl.bell[1]};
	int pfd[2] = {-1, -1}, pfd2[2] = {-1, -1};
	int nsend = 3;
	unsigned char junk[48];
	uint64_t rng = 99;

	switch (fs->reply) {
	case FR_VALID:
	case FR_UNSEALED:
	case FR_WRONG_SIZE:
	case FR_UNFORMATTED:
	case FR_SMALL:
	case FR_WRITE_SEALED:
	case FR_SPARSE:
	case FR_SEALS_SEALED:
		break;
	case FR_EMPTY:
		t_send_fds(s, "", 0, NULL, 0, 0);
		goto out;
	case FR_TRUNCATED:
	case FR_OVERSIZED:
	case FR_HUGE: {
		static unsigned char big[4096];
		size_t len = fs->reply == FR_TRUNCATED ? sizeof(m) - 1 :
			     fs->reply == FR_OVERSIZED ? sizeof(m) + 1 : sizeof(big);
		memcpy(big, &m, sizeof(m));
		t_send_fds(s, big, len, fds, 3, 0);
		goto out;
	}
	case FR_DUP_WELCOME:
		t_send_fds(s, &m, sizeof(m), fds, 3, 0);
		break;
	case FR_REFLECT:
		/* The client's own lane and geometry, as if they were ours. */
		if (client_memfd < 0 || !fs->hello_ok)
			goto out;
		memcpy(&m, in, sizeof(m));
		m.type = IVC_CTRL_WELCOME;
		fds[0] = client_memfd;
		break;
	case FR_GARBAGE48:
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (unsigned char)t_splitmix64(&rng);
		t_send_fds(s, junk, sizeof(junk), NULL, 0, 0);
		goto out;
	case FR_GARBAGE3:
		t_send_fds(s, "abc", 3, NULL, 0, 0);
		goto out;
	case FR_VERSION:
		m.version = IVC_PROTO_VERSION + 1;
		break;
	case FR_REJECT_VERSION:
		fake_msg(&m, IVC_CTRL_REJECT, NULL);
		m.version = IVC_PROTO_VERSION + 1;
		m.status = EPROTONOSUPPORT;
		nsend = 0;
		break;
	case FR_REJECT_ACCES:
		fake_msg(&m, IVC_CTRL_REJECT, NULL);
		m.status = EACCES;
		nsend = 0;
		break;
	case FR_NO_FDS:
		nsend = 0;
		break;
	case FR_EXTRA_FDS:
		nsend = 5;
		break;
	case FR_BAD_GEOMETRY:
		m.slots = 3;
		break;
	case FR_PIPE_BELLS:
		if (pipe2(pfd, O_CLOEXEC) || pipe2(pfd2, O_CLOEXEC))
			goto out;
		fds[1] = pfd[0];
		fds[2] = pfd2[0];
		break;
	case FR_HELLO:
		m.type = IVC_CTRL_HELLO;
		break;
	case FR_HANGUP:
		goto out_now;
	case FR_SILENT:
	case FR_STREAM:
		goto out;
	}
	t_send_fds(s, &m, sizeof(m), fds, nsend, 0);
out:
	fake_lane_free(&fl);
	if (client_memfd >= 0)
		close(client_memfd);
	for (int i = 0; i < 2; i++) {
		if (pfd[i] >= 0)
			close(pfd[i]);
		if (pfd2[i] >= 0)
			close(pfd2[i]);
	}
wait:
	/* Stay connected until the client is done (no hang-up to blame). */
	t_sem_wait(&fs->done, 2 * FAKE_MS);
	close(s);
	return NULL;
out_now:
	fake_lane_free(&fl);
	if (client_memfd >= 0)
		close(client_memfd);
	close(s);
	return NULL;
}

static void fake_server_case(enum fake_reply reply, const char *what,
			     const int *want, int nwant, int timeout_ms)
{
	char addr[108];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	socklen_t len;
	if (reply == FR_STREAM) {
		/* A filesystem socket: an abstract name is looked up per
		 * socket type, so a stream socket there would look like
		 * nothing at all to a SOCK_SEQPACKET connect. */
		snprintf(addr, sizeof(addr), "shm:/tmp/ivc-test-stream-%d.sock",
			 (int)getpid());
		unlink(addr + 4);
		strcpy(sun.sun_path, addr + 4);
		len = sizeof(sun);
	} else {
		t_addr(addr, sizeof(addr), "fake");
		size_t n = strlen(addr + 5);
		memcpy(sun.sun_path + 1, addr + 5, n);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	}
	int fds = t_count_fds();
	struct fake_server fs = {.reply = reply, .hello_ok = 0};
	REQUIRE_OK(t_sem_init(&fs.done));
	fs.lsock = socket(AF_UNIX, (reply == FR_STREAM ? SOCK_STREAM : SOCK_SEQPACKET) |
				   SOCK_CLOEXEC, 0);
	REQUIRE(fs.lsock >= 0);
	REQUIRE(bind(fs.lsock, (struct sockaddr *)&sun, len) == 0);
	REQUIRE(listen(fs.lsock, 4) == 0);
	pthread_t th;
	int started = reply != FR_SILENT && reply != FR_STREAM;
	if (started)
		REQUIRE(pthread_create(&th, NULL, fake_server_thread, &fs) == 0);

	struct ivc_channel *ch = NULL;
	uint64_t t0 = t_now_ns();
	int r = ivc_connect(addr, NULL, timeout_ms, &ch);
	uint64_t ms = (t_now_ns() - t0) / 1000000u;
	int ok = 0;
	for (int i = 0; i < nwant; i++)
		ok |= r == want[i];
	if (ok) {
		t_pass();
	} else {
		char list[128] = "";
		for (int i = 0; i < nwant; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s%s", i ? " or " : "", t_errname(want[i]));
		t_fail(__FILE__, __LINE__, "fake server (%s): ivc_connect: %d (%s), want %s",
		       what, r, t_errname(r), list);
	}
	printf("   %-36s -> %d (%s) after %llu ms\n", what, r, t_errname(r),
	       (unsigned long long)ms);
	if (r == 0) {
		struct ivc_info info;
		CHECK_ERR(ivc_channel_info(ch, &info), 0);
		CHECK_EQ(info.rx.slots, 4);
		/* Nothing may follow the WELCOME: a second one breaks the
		 * channel at its first wait (else nothing comes at all). */
		char buf[64];
		CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), 100),
			  reply == FR_DUP_WELCOME ? -EPROTO : -ETIMEDOUT);
		ivc_close(ch);
	} else {
		CHECK(ch == NULL);
	}
	t_sem_post(&fs.done);
	if (started) {
		pthread_join(th, NULL);
		CHECK(fs.hello_ok);
	}
	close(fs.lsock);
	if (reply == FR_STREAM)
		unlink(addr + 4);
	t_sem_destroy(&fs.done);
	CHECK_NO_LEAK(fds, what);
}

static void test_fake_servers(void)
{
	printf("-- connecting to fake servers\n");
	const int ok[] = {0}, proto[] = {-EPROTO}, vers[] = {-EPROTONOSUPPORT},
		  acces[] = {-EACCES}, refused[] = {-ECONNREFUSED},
		  timedout[] = {-ETIMEDOUT},
		  /* ivc_connect's documented failures for "not an ivc
		   * listener" / "broke the protocol" */
		  notivc[] = {-ECONNREFUSED, -EPROTO};
	fake_server_case(FR_VALID, "honest WELCOME (control)", ok, 1, FAKE_MS);
	fake_server_case(FR_GARBAGE48, "48 bytes of garbage", notivc, 2, FAKE_MS);
	fake_server_case(FR_GARBAGE3, "3 bytes of garbage", notivc, 2, FAKE_MS);
	fake_server_case(FR_VERSION, "WELCOME of version + 1", vers, 1, FAKE_MS);
	fake_server_case(FR_REJECT_VERSION, "REJECT(version) of version + 1", vers, 1,
			 FAKE_MS);
	fake_server_case(FR_REJECT_ACCES, "REJECT(EACCES)", acces, 1, FAKE_MS);
	fake_server_case(FR_NO_FDS, "WELCOME without descriptors", proto, 1, FAKE_MS);
	fake_server_case(FR_EXTRA_FDS, "WELCOME with 5 descriptors", proto, 1, FAKE_MS);
	fake_server_case(FR_UNSEALED, "unsealed memfd", proto, 1, FAKE_MS);
	fake_server_case(FR_WRONG_SIZE, "memfd of the wrong size", proto, 1, FAKE_MS);
	fake_server_case(FR_UNFORMATTED, "unformatted lane", proto, 1, FAKE_MS);
	fake_server_case(FR_BAD_GEOMETRY, "invalid geometry", proto, 1, FAKE_MS);
	fake_server_case(FR_PIPE_BELLS, "pipes for doorbells", proto, 1, FAKE_MS);
	fake_server_case(FR_HELLO, "HELLO for an answer", proto, 1, FAKE_MS);
	/* Regression test (found at 6781eee, fixed in 7fcda9a): this gave
	 * -ECONNRESET, then listed for ivc_connect only after a WELCOME.
	 * Issue 13: a listener that hangs up before it answers refused us;
	 * it broke no protocol (it was -EPROTO; test_listener_gone). */
	fake_server_case(FR_HANGUP, "accepts and hangs up", refused, 1, FAKE_MS);
	fake_server_case(FR_SILENT, "never answers", timedout, 1, 200);
	fake_server_case(FR_STREAM, "SOCK_STREAM listener (a path)", refused, 1,
			 FAKE_MS);
	fake_server_case(FR_TRUNCATED, "WELCOME cut to 47 bytes", proto, 1, FAKE_MS);
	fake_server_case(FR_OVERSIZED, "WELCOME of 49 bytes", proto, 1, FAKE_MS);
	fake_server_case(FR_HUGE, "WELCOME of 4096 bytes", proto, 1, FAKE_MS);
	fake_server_case(FR_DUP_WELCOME, "WELCOME twice", ok, 1, FAKE_MS);
	fake_server_case(FR_SMALL, "memfd one page too small", proto, 1, FAKE_MS);
	/* Regression tests (issue 5): these gave -EPERM from mmap, and a
	 * channel to ourselves. */
	fake_server_case(FR_WRITE_SEALED, "memfd sealed against writes", proto, 1,
			 FAKE_MS);
	fake_server_case(FR_REFLECT, "our own memfd handed back", proto, 1, FAKE_MS);
	/* Regression tests (issue 12): a lane whose pages the client would
	 * fault in itself, one it could not seal against holes, and an
	 * empty record are the server's violations. */
	fake_server_case(FR_SPARSE, "memfd not allocated", proto, 1, FAKE_MS);
	fake_server_case(FR_SEALS_SEALED, "memfd with its seals sealed", proto, 1,
			 FAKE_MS);
	fake_server_case(FR_EMPTY, "a record of 0 bytes", proto, 1, FAKE_MS);
}

/* ---- fake clients ------------------------------------------------------------- */

enum fake_hello {
	FH_VALID,	/* the control case */
	FH_VERSION,	/* HELLO of version + 1 */
	FH_GARBAGE,	/* 48 random bytes */
	FH_NO_FDS,	/* HELLO without descriptors */
	FH_UNFORMATTED,	/* lane header all zeroes */
	FH_WELCOME,	/* a WELCOME instead of a HELLO */
	FH_HANGUP,	/* connects and hangs up */
	FH_SILENT,	/* connects and says nothing */
	FH_TRUNCATED,	/* HELLO cut to 47 bytes */
	FH_OVERSIZED,	/* HELLO padded to 4096 bytes */
	FH_DUP_HELLO,	/* a valid HELLO, sent twice (the second for the READY) */
	FH_AFTER_READY,	/* HELLO, READY, then another HELLO */
	FH_NO_READY,	/* a valid HELLO, and no READY after the WELCOME */
	FH_EXTRA_FDS,	/* HELLO with 5 descriptors */
	FH_UNSEALED,	/* memfd not sealed */
	FH_SMALL,	/* memfd one page too small */
	FH_WRITE_SEALED,/* memfd sealed against writes */
	FH_SPARSE,	/* memfd not allocated */
	FH_SEALS_SEALED,/* memfd's seals sealed */
	FH_EMPTY,	/* a record of 0 bytes instead of a HELLO */
};

/* Send what @h says a fake client sends first. */
static void fake_hello_send(int s, enum fake_hello h, const struct fake_lane *fl)
{
	struct ivc_ctrl_msg m;
	int lfds[3] = {fl->memfd, fl->bell[0], fl->bell[1]};
	static unsigned char big[4096];

	fake_msg(&m, h == FH_WELCOME ? IVC_CTRL_WELCOME : IVC_CTRL_HELLO, &fl->g);
	if (h == FH_VERSION)
		m.version = IVC_PROTO_VERSION + 1;
	switch (h) {
	case FH_GARBAGE: {
		uint64_t rng = 7;
		unsigned char junk[48];
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (unsigned char)t_splitmix64(&rng);
		t_send_fds(s, junk, sizeof(junk), lfds, 3, 0);
		break;
	}
	case FH_TRUNCATED:
	case FH_OVERSIZED:
		memcpy(big, &m, sizeof(m));
		t_send_fds(s, big, h == FH_TRUNCATED ? sizeof(m) - 1 : sizeof(big),
			   lfds, 3, 0);
		break;
	case FH_EXTRA_FDS: {
		int five[5] = {fl->memfd, fl->bell[0], fl->bell[1], fl->bell[0], fl->bell[1]};
		t_send_fds(s, &m, sizeof(m), five, 5, 0);
		break;
	}
	case FH_DUP_HELLO:
		t_send_fds(s, &m, sizeof(m), lfds, 3, 0);
		t_send_fds(s, &m, sizeof(m), lfds, 3, 0);
		break;
	case FH_EMPTY:
		t_send_fds(s, "", 0, NULL, 0, 0);
		break;
	case FH_HANGUP:
	case FH_SILENT:
		break;
	default:
		t_send_fds(s, &m, sizeof(m), lfds, h == FH_NO_FDS ? 0 : 3, 0);
		break;
	}
}

/* What the client was told (a WELCOME if @want_status is 0, else a REJECT
 * of it); after a WELCOME, the READY as @h says. */
static void fake_hello_told(int s, enum fake_hello h, const char *what,
			    int want_status, const struct fake_lane *fl)
{
	unsigned char in[128];
	int nfds = -1;
	ssize_t k = recv_raw(s, in, sizeof(in), &nfds, NULL);
	struct ivc_ctrl_msg reply;

	if (k != (ssize_t)sizeof(reply)) {
		t_fail(__FILE__, __LINE__, "fake client (%s): no reply (%zd)", what, k);
		return;
	}
	memcpy(&reply, in, sizeof(reply));
	printf(", told type %u status %d", reply.type, reply.status);
	if (want_status != 0) {
		CHECK_EQ(reply.type, IVC_CTRL_REJECT);
		CHECK_EQ(reply.status, want_status);
		CHECK_EQ(nfds, 0);
		return;
	}
	CHECK_EQ(reply.type, IVC_CTRL_WELCOME);
	CHECK_EQ(nfds, 3);
	if (h != FH_NO_READY && h != FH_DUP_HELLO)
		CHECK_OK(fake_send_ready(s));
	if (h == FH_AFTER_READY)
		CHECK_OK(fake_send_lane(s, IVC_CTRL_HELLO, fl));
}

/* A fake client at @l: its first message, then ivc_accept(l, 0) answers it
 * (the HELLO is there already); after a WELCOME, the READY (or not), and
 * ivc_accept waits for the rest. */
static void fake_client_case(struct ivc_listener *l, const char *addr,
			     enum fake_hello h, const char *what,
			     const int *want, int nwant, int want_reply_status)
{
	int fds = t_count_fds();
	int s = fake_connect(addr);
	REQUIRE(s >= 0);

	struct fake_lane fl;
	lane_make(&fl, h == FH_UNSEALED ? SEAL_NONE :
		       h == FH_WRITE_SEALED ? SEAL_SIZE_WRITE :
		       h == FH_SEALS_SEALED ? SEAL_SIZE_SEALED : SEAL_SIZE,
		  h != FH_UNFORMATTED, h == FH_SMALL ? -4096 : 0, h == FH_SPARSE);
	fake_hello_send(s, h, &fl);
	if (h == FH_HANGUP) {
		close(s);
		s = -1;
	}

	struct ivc_channel *ch = NULL;
	int r = ivc_accept(l, 0, &ch);
	printf("   %-36s -> ivc_accept %d (%s)", what, r, t_errname(r));
	if (s >= 0 && want_reply_status >= 0)
		fake_hello_told(s, h, what, want_reply_status, &fl);
	if (r == -EAGAIN) { /* waiting for the READY, or nothing came */
		int wait = h == FH_NO_READY ? 3000 : want_reply_status < 0 ? 200 : FAKE_MS;
		r = ivc_accept(l, wait, &ch);
		printf(", then %d (%s)", r, t_errname(r));
	}
	int ok = 0;
	for (int i = 0; i < nwant; i++)
		ok |= r == want[i];
	if (ok)
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "fake client (%s): ivc_accept: %d (%s), want %d (%s)%s",
		       what, r, t_errname(r), want[0], t_errname(want[0]),
		       nwant > 1 ? " or another documented error" : "");
	if (r == 0) {
		/* Nothing may follow the READY: another HELLO breaks the
		 * channel at its first wait. */
		char buf[64];
		CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), 100),
			  h == FH_AFTER_READY ? -EPROTO : -ETIMEDOUT);
		ivc_close(ch);
	}
	printf("\n");
	fake_lane_free(&fl);
	if (s >= 0)
		close(s);
	/* A silent client is the listener's until its hang-up is seen: the
	 * next look drops it, and nothing is left. */
	CHECK_ERR(ivc_accept(l, 0, &ch), -EAGAIN);
	CHECK_NO_LEAK(fds, what);
}

static void test_fake_clients(void)
{
	printf("-- fake clients at a real listener\n");
	char addr[108];
	t_addr(addr, sizeof(addr), "fakecl");
	struct ivc_listener *l = NULL;
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	static const int ok[] = {0}, vers[] = {-EPROTONOSUPPORT},
			 proto[] = {-EPROTO}, timedout[] = {-ETIMEDOUT};
	fake_client_case(l, addr, FH_VALID, "honest HELLO (control)", ok, 1, 0);
	fake_client_case(l, addr, FH_VERSION, "HELLO of version + 1", vers, 1,
			 EPROTONOSUPPORT);
	fake_client_case(l, addr, FH_GARBAGE, "48 bytes of garbage", proto, 1, EPROTO);
	fake_client_case(l, addr, FH_NO_FDS, "HELLO without descriptors", proto, 1,
			 EPROTO);
	fake_client_case(l, addr, FH_UNFORMATTED, "unformatted lane", proto, 1, EPROTO);
	fake_client_case(l, addr, FH_WELCOME, "WELCOME instead of HELLO", proto, 1,
			 EPROTO);
	/* A client that leaves or stays silent before its HELLO is dropped
	 * without a word: ivc_accept goes on waiting for a real one. */
	fake_client_case(l, addr, FH_HANGUP, "connects and hangs up", timedout, 1, -1);
	fake_client_case(l, addr, FH_SILENT, "connects, says nothing", timedout, 1, -1);
	fake_client_case(l, addr, FH_TRUNCATED, "HELLO cut to 47 bytes", proto, 1,
			 EPROTO);
	fake_client_case(l, addr, FH_OVERSIZED, "HELLO of 4096 bytes", proto, 1,
			 EPROTO);
	fake_client_case(l, addr, FH_DUP_HELLO, "HELLO twice", proto, 1, 0);
	fake_client_case(l, addr, FH_AFTER_READY, "HELLO after the READY", ok, 1, 0);
	fake_client_case(l, addr, FH_NO_READY, "no READY after the WELCOME", proto, 1, 0);
	fake_client_case(l, addr, FH_EXTRA_FDS, "HELLO with 5 descriptors", proto, 1,
			 EPROTO);
	fake_client_case(l, addr, FH_UNSEALED, "unsealed memfd", proto, 1, EPROTO);
	fake_client_case(l, addr, FH_SMALL, "memfd one page too small", proto, 1,
			 EPROTO);
	fake_client_case(l, addr, FH_WRITE_SEALED, "memfd sealed against writes",
			 proto, 1, EPROTO);
	/* Regression tests (issue 12). */
	fake_client_case(l, addr, FH_SPARSE, "memfd not allocated", proto, 1, EPROTO);
	fake_client_case(l, addr, FH_SEALS_SEALED, "memfd with its seals sealed",
			 proto, 1, EPROTO);
	fake_client_case(l, addr, FH_EMPTY, "a record of 0 bytes", proto, 1, EPROTO);

	/* The listener is still usable by a real client. */
	int fds = t_count_fds();
	CHECK_ERR(pair_on(l, addr), 0);
	CHECK_NO_LEAK(fds, "real client after fakes");
	ivc_listener_close(l);
}

/*
 * The room reserved in the public structures (docs/abi.md).  Options:
 * every reserved word must be zero, and a transport refuses another's
 * settings; either is -EINVAL before anything exists (no socket file, no
 * descriptor, no channel).  Zero-initialised options are the defaults.
 * Filled structures: the library zeroes their reserved words.
 */
static int file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* @o must make both listen and connect at a fresh socket path -EINVAL,
 * with nothing left behind. */
static void options_refused(const struct ivc_options *o, const char *what)
{
	char path[96], addr[112];
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	int fds = t_count_fds();

	snprintf(path, sizeof(path), "/tmp/ivc-test-opts-%d", (int)getpid());
	snprintf(addr, sizeof(addr), "shm:%s", path);
	unlink(path);
	printf("   %s\n", what);
	CHECK_ERR(ivc_listen(addr, o, &l), -EINVAL);
	CHECK(l == NULL);
	CHECK(!file_exists(path));
	CHECK_ERR(ivc_connect(addr, o, 0, &ch), -EINVAL);
	CHECK(ch == NULL);
	CHECK_NO_LEAK(fds, what);
}

static int all_zero(const uint64_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i])
			return 0;
	return 1;
}

static void test_reserved_room(void)
{
	struct ivc_options o, zero;
	struct ivc_shm_options so;
	struct ivc_xen_options xo;
	char what[80];

	printf("-- reserved room in the public structures\n");
	/* ivc_options_init() is optional: it is zeroing. */
	memset(&zero, 0, sizeof(zero));
	memset(&o, 0xa5, sizeof(o));
	ivc_options_init(&o);
	CHECK(memcmp(&o, &zero, sizeof(o)) == 0);
	ivc_options_init(NULL);

	for (size_t i = 0; i < sizeof(o.reserved) / sizeof(o.reserved[0]); i++) {
		memset(&o, 0, sizeof(o));
		o.reserved[i] = 1ull << (i * 7);
		snprintf(what, sizeof(what), "ivc_options.reserved[%zu] != 0", i);
		options_refused(&o, what);
	}
	memset(&so, 0, sizeof(so));
	for (size_t i = 0; i < sizeof(so.reserved) / sizeof(so.reserved[0]); i++) {
		memset(&o, 0, sizeof(o));
		memset(&so, 0, sizeof(so));
		so.reserved[i] = 1;
		o.shm = &so;
		snprintf(what, sizeof(what), "ivc_shm_options.reserved[%zu] != 0", i);
		options_refused(&o, what);
	}
	/* A uid count whose size in bytes wraps: refused before any copy (the
	 * list is not read).  Before the bound, malloc(count * 4) got a few
	 * bytes and the copy ran over them. */
	static const uid_t few[1];
	const size_t huge[] = { SIZE_MAX / sizeof(uid_t) + 2, SIZE_MAX / 2,
				IVC_SHM_MAX_UIDS + 1 };
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		memset(&o, 0, sizeof(o));
		memset(&so, 0, sizeof(so));
		so.allowed_uids = few;
		so.n_allowed_uids = huge[i];
		o.shm = &so;
		snprintf(what, sizeof(what), "n_allowed_uids = %zu", huge[i]);
		options_refused(&o, what);
	}
	/* Xen settings at a shm address, even empty ones, or with shm ones. */
	memset(&o, 0, sizeof(o));
	memset(&xo, 0, sizeof(xo));
	o.xen = &xo;
	options_refused(&o, "xen options (zeroed) at a shm address");
	uint32_t dom = 3;
	xo.allowed_domids = &dom;
	xo.n_allowed_domids = 1;
	options_refused(&o, "xen options (a domid list) at a shm address");
	memset(&so, 0, sizeof(so));
	o.shm = &so;
	options_refused(&o, "xen and shm options at a shm address");

	/* Shm settings at a xen address: -EINVAL where the transport is
	 * built (before xenstore or any device is touched), else the
	 * transport is unknown. */
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	int have_xen = ivc_connect("xen:ivc-test-probe", NULL, 0, &ch) != -EAFNOSUPPORT;
	int want = have_xen ? -EINVAL : -EAFNOSUPPORT;
	int fds = t_count_fds();
	memset(&o, 0, sizeof(o));
	memset(&so, 0, sizeof(so));
	o.shm = &so;
	printf("   shm options at a xen address (xen transport %s)\n",
	       have_xen ? "built" : "not built");
	CHECK_ERR(ivc_listen("xen:ivc-test-shmopts", &o, &l), want);
	CHECK_ERR(ivc_connect("xen:ivc-test-shmopts", &o, 0, &ch), want);
	o.shm = NULL;
	o.flags = IVC_OPT_ANY_UID;
	CHECK_ERR(ivc_listen("xen:ivc-test-anyuid", &o, &l), want);
	memset(&o, 0, sizeof(o));
	memset(&xo, 0, sizeof(xo));
	xo.reserved[3] = 1;
	o.xen = &xo;
	CHECK_ERR(ivc_listen("xen:ivc-test-xenres", &o, &l), want);
	CHECK_ERR(ivc_connect("xen:ivc-test-xenres", &o, 0, &ch), want);
	CHECK(l == NULL && ch == NULL);
	CHECK_NO_LEAK(fds, "options refused at a xen address");

	/* Zeroed settings are the defaults: a channel, and both ends report
	 * the default geometry.  The library fills the reserved room of
	 * what it reports with zeros. */
	struct ivc_channel *a = NULL, *b = NULL;
	struct ivc_shm_options so_a = {0};
	struct ivc_options oa = {0}, ob = {0};
	oa.shm = &so_a;
	REQUIRE_OK(t_pair("room", &oa, &ob, &a, &b));
	struct ivc_info info;
	struct ivc_stats st;
	memset(&info, 0xa5, sizeof(info));
	memset(&st, 0xa5, sizeof(st));
	CHECK_ERR(ivc_channel_info(a, &info), 0);
	CHECK_EQ(info.tx.slots, IVC_DEFAULT_SLOTS);
	CHECK_EQ(info.tx.buf_size, IVC_DEFAULT_BUF_SIZE);
	CHECK(all_zero(info.reserved, sizeof(info.reserved) / sizeof(info.reserved[0])));
	CHECK_ERR(ivc_send(b, "x", 1, 1000), 0);
	char c;
	CHECK_ERR(ivc_recv(a, &c, 1, 1000), 1);
	CHECK_ERR(ivc_stats_get(a, &st), 0);
	CHECK_EQ(st.rx_msgs, 1);
	CHECK(all_zero(st.reserved, sizeof(st.reserved) / sizeof(st.reserved[0])));
	ivc_close(a);
	ivc_close(b);
}

int main(void)
{
	t_init("test_errors", 80);
	test_null_args();
	test_reserved_room();
	test_addresses();
	test_fake_servers();
	test_fake_clients();
	return t_finish();
}
