/* SPDX-License-Identifier: MIT */
/*
 * test_identity - who is at the other end (issue 12, findings 5, 7, 8):
 *
 *  1. a squatter: another user takes the address first.  A client (root,
 *     by default) refuses it with -EACCES before it sends a single byte,
 *     through the library and through ivc-cat; told to trust that uid
 *     (allowed_uids, ivc-cat -u) it connects.  A client that is not root
 *     trusts a root listener by default.  (Needs root to be two users:
 *     else SKIPPED loudly.)
 *  2. our own lane handed back by another process: a HELLO offering the
 *     lane a listener sent in a handshake still in progress, or in one
 *     that is done, is -EPROTO; so is a WELCOME offering a client the lane
 *     it sent in another connect.  (A pair inside one process is fine.)
 *  3. ivc-cat -l keeps listening after clients that fail (a lane it may not
 *     map, a lane over its limit, a client that leaves): the next real
 *     client's data comes through and it exits 0.
 */
#include "check.h"
#include "fake_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define NOBODY 65534
#define WAIT_MS 5000

struct shared {
	_Atomic int heard;   /* bytes the squatter received */
	_Atomic int result;  /* a child's result code */
};

static struct shared *sh;

static void skipped(const char *what)
{
	printf("!!! SKIPPED, NOT TESTED: %s\n", what);
}

static int become_nobody(void)
{
	return setgid(NOBODY) == 0 && setuid(NOBODY) == 0 ? 0 : -1;
}

/* A raw listener at @addr (abstract) run by nobody: counts what it hears
 * from one client until it hangs up or @done is posted. */
static _Noreturn void squatter(const char *addr, struct t_sem *ready, struct t_sem *done)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(addr + 5);
	int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (become_nobody())
		_exit(77);
	memcpy(sun.sun_path + 1, addr + 5, n);
	if (bind(l, (struct sockaddr *)&sun,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) || listen(l, 4))
		_exit(3);
	t_sem_post(ready);
	for (;;) {
		struct pollfd p = { l, POLLIN, 0 };
		if (poll(&p, 1, 100) > 0) {
			int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
			char buf[256];
			ssize_t k;

			while (c >= 0 && (k = recv(c, buf, sizeof(buf), 0)) > 0)
				atomic_fetch_add(&sh->heard, (int)k);
			if (c >= 0)
				close(c);
			t_sem_post(ready); /* that client is done */
		}
		if (t_sem_wait(done, 0) == 0)
			_exit(0);
	}
}

/* Run ivc-cat with @args, @in on its stdin; its exit status. */
static int run_cat(char *const args[], const char *in, char *out, size_t outsz)
{
	int pin[2], pout[2], st;

	REQUIRE(pipe2(pin, O_CLOEXEC) == 0 && pipe2(pout, O_CLOEXEC) == 0);
	pid_t pid = t_fork();
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		execv(args[0], args);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	if (in)
		(void)!write(pin[1], in, strlen(in));
	close(pin[1]);
	ssize_t k, got = 0;
	while (out && (k = read(pout[0], out + got, outsz - 1 - (size_t)got)) > 0)
		got += k;
	if (out)
		out[got] = 0;
	close(pout[0]);
	st = t_wait_child(pid, 30000);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- 1. the squatter ---- */

static void test_squatter(const char *cat)
{
	struct t_sem ready, done;
	struct ivc_channel *ch = NULL;
	char addr[108];

	printf("-- 1. someone else took the address first\n");
	if (geteuid() != 0) {
		skipped("the squatter (needs root to run a listener as another user)");
		return;
	}
	t_addr(addr, sizeof(addr), "squat");
	REQUIRE_OK(t_sem_init(&ready));
	REQUIRE_OK(t_sem_init(&done));
	atomic_store(&sh->heard, 0);
	pid_t pid = t_fork();
	if (pid == 0)
		squatter(addr, &ready, &done);
	REQUIRE(t_sem_wait(&ready, WAIT_MS) == 0);
	int r = ivc_connect(addr, NULL, WAIT_MS, &ch);
	printf("   %-48s -> %s\n", "root connects to a listener run by nobody", t_retname(r));
	CHECK_ERR(r, -EACCES);
	CHECK(t_sem_wait(&ready, WAIT_MS) == 0); /* the squatter read to the end */
	if (cat) {
		char *args[] = { (char *)cat, "-s", "-w", "5", addr, NULL };
		int rc = run_cat(args, "the secret", NULL, 0);

		printf("   %-48s -> exit %d\n", "ivc-cat -s, the same", rc);
		CHECK_EQ(rc, 1);
		CHECK(t_sem_wait(&ready, WAIT_MS) == 0);
	}
	/* Nothing of ours reached it: not a HELLO, not a descriptor. */
	CHECK_EQ(atomic_load(&sh->heard), 0);
	printf("   bytes the squatter heard: %d\n", atomic_load(&sh->heard));
	t_sem_post(&done);
	CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS));
	t_sem_destroy(&ready);
	t_sem_destroy(&done);

	/* Trusting that uid on purpose: a real listener run by nobody. */
	REQUIRE_OK(t_sem_init(&ready));
	t_addr(addr, sizeof(addr), "trusted");
	pid = t_fork();
	if (pid == 0) {
		struct ivc_options o;
		struct ivc_listener *l = NULL;
		char buf[64];

		if (become_nobody())
			_exit(77);
		ivc_options_init(&o);
		o.flags = IVC_OPT_ANY_UID;
		CHECK_ERR(ivc_listen(addr, &o, &l), 0);
		t_sem_post(&ready);
		for (int i = 0; i < (cat ? 2 : 1); i++) {
			struct ivc_channel *c = NULL;

			CHECK_ERR(ivc_accept(l, WAIT_MS, &c), 0);
			if (c) {
				CHECK(ivc_recv(c, buf, sizeof(buf), WAIT_MS) > 0);
				ivc_close(c);
			}
		}
		ivc_listener_close(l);
		t_child_exit();
	}
	REQUIRE(t_sem_wait(&ready, WAIT_MS) == 0);
	struct ivc_options o;
	struct ivc_shm_options so = {0};
	uid_t nobody = NOBODY;
	ivc_options_init(&o);
	so.allowed_uids = &nobody;
	so.n_allowed_uids = 1;
	o.shm = &so;
	r = ivc_connect(addr, &o, WAIT_MS, &ch);
	printf("   %-48s -> %s\n", "root trusts nobody on purpose (allowed_uids)", t_retname(r));
	CHECK_ERR(r, 0);
	if (ch) {
		CHECK_ERR(ivc_send(ch, "hello", 5, WAIT_MS), 0);
		ivc_close(ch);
	}
	if (cat) {
		char *args[] = { (char *)cat, "-s", "-u", "65534", "-w", "5", addr, NULL };
		int rc = run_cat(args, "hello", NULL, 0);

		printf("   %-48s -> exit %d\n", "ivc-cat -s -u 65534, the same", rc);
		CHECK_EQ(rc, 0);
	}
	CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS * 2));
	t_sem_destroy(&ready);

	/* A client that is not root trusts a root listener by default. */
	struct ivc_listener *l = NULL;
	t_addr(addr, sizeof(addr), "rootsrv");
	ivc_options_init(&o);
	o.shm = &so; /* (its list: nobody) */
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *c = NULL;

		if (become_nobody())
			_exit(77);
		CHECK_ERR(ivc_connect(addr, NULL, WAIT_MS, &c), 0);
		if (c)
			ivc_close(c);
		t_child_exit();
	}
	r = ivc_accept(l, WAIT_MS, &ch);
	printf("   %-48s -> %s\n", "nobody connects to root's listener", t_retname(r));
	CHECK_ERR(r, 0);
	if (ch)
		ivc_close(ch);
	CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS));
	ivc_listener_close(l);
}

/* ---- 2. our own lane handed back ---- */

/* A fake client (child process): HELLO with an honest lane on one
 * connection; the WELCOME brings the server's lane, which it offers back
 * on a second connection, before and after finishing the first. */
static _Noreturn void relay_client(const char *addr)
{
	struct fake_lane_opts lo = { .seal = SEAL_SIZE };
	struct fake_lane mine, relay;
	struct ivc_ctrl_msg m, got;
	int nfds, srv_memfd = -1;

	REQUIRE(fake_lane_make(&mine, &lo) == 0);
	int c1 = fake_connect(addr);
	REQUIRE(c1 >= 0);
	REQUIRE_OK(fake_send_lane(c1, IVC_CTRL_HELLO, &mine));
	REQUIRE(fake_recv(c1, &got, sizeof(got), &nfds, &srv_memfd, WAIT_MS) ==
		(ssize_t)sizeof(got));
	REQUIRE(got.type == IVC_CTRL_WELCOME && srv_memfd >= 0);
	/* Offer the server's own lane back, its handshake still open. */
	for (int round = 0; round < 2; round++) {
		int c2 = fake_connect(addr);

		REQUIRE(c2 >= 0);
		REQUIRE(fake_lane_make(&relay, &lo) == 0);
		fake_msg(&m, IVC_CTRL_HELLO, NULL);
		memcpy(&m.slots, &got.slots, sizeof(got) - offsetof(struct ivc_ctrl_msg, slots));
		int fds[3] = { srv_memfd, relay.bell[0], relay.bell[1] };
		REQUIRE_OK(t_send_fds(c2, &m, sizeof(m), fds, 3, 0));
		CHECK(fake_recv(c2, &got, sizeof(got), &nfds, NULL, WAIT_MS) > 0);
		CHECK_EQ(got.type, IVC_CTRL_REJECT);
		close(c2);
		fake_lane_free(&relay);
		if (round == 0)
			REQUIRE_OK(fake_send_ready(c1)); /* now finish the first */
	}
	close(srv_memfd);
	close(c1);
	fake_lane_free(&mine);
	t_child_exit();
}

/* A fake server (child process): takes two HELLOs and answers the second
 * to come with the first one's lane (whichever of the client's two
 * connects that is). */
static _Noreturn void relay_server(const char *addr, struct t_sem *ready)
{
	struct fake_lane_opts lo = { .seal = SEAL_SIZE };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ivc_ctrl_msg h1, h2, m;
	struct fake_lane relay, honest;
	size_t n = strlen(addr + 5);
	int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), nfds, c1_memfd = -1;

	memcpy(sun.sun_path + 1, addr + 5, n);
	REQUIRE(bind(l, (struct sockaddr *)&sun,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0);
	REQUIRE(listen(l, 4) == 0);
	t_sem_post(ready);
	int c1 = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	REQUIRE(fake_recv(c1, &h1, sizeof(h1), &nfds, &c1_memfd, WAIT_MS) == (ssize_t)sizeof(h1));
	int c2 = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	REQUIRE(fake_recv(c2, &h2, sizeof(h2), &nfds, NULL, WAIT_MS) == (ssize_t)sizeof(h2));
	/* The second client gets the first one's lane for ours. */
	REQUIRE(fake_lane_make(&relay, &lo) == 0);
	m = h1;
	m.type = IVC_CTRL_WELCOME;
	int fds[3] = { c1_memfd, relay.bell[0], relay.bell[1] };
	REQUIRE_OK(t_send_fds(c2, &m, sizeof(m), fds, 3, 0));
	/* The first gets an honest answer. */
	REQUIRE(fake_lane_make(&honest, &lo) == 0);
	REQUIRE_OK(fake_send_lane(c1, IVC_CTRL_WELCOME, &honest));
	(void)fake_recv(c1, &m, sizeof(m), &nfds, NULL, WAIT_MS); /* its READY */
	(void)fake_recv(c2, &m, sizeof(m), &nfds, NULL, WAIT_MS); /* its REJECT */
	t_child_exit();
}

struct conn {
	const char *addr;
	int rc;
	struct ivc_channel *ch;
	pthread_t th;
};

static void *conn_main(void *p)
{
	struct conn *c = p;

	c->rc = ivc_connect(c->addr, NULL, WAIT_MS, &c->ch);
	return NULL;
}

static void test_own_lane(void)
{
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	char addr[108];
	struct t_sem ready;

	printf("-- 2. our own lane handed back by another process\n");
	t_addr(addr, sizeof(addr), "relay");
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	pid_t pid = t_fork();
	if (pid == 0) {
		ivc_listener_close(l);
		relay_client(addr);
	}
	int r = ivc_accept(l, WAIT_MS, &ch);
	printf("   %-48s -> ivc_accept %s\n", "our lane of a handshake in progress", t_retname(r));
	CHECK_ERR(r, -EPROTO);
	r = ivc_accept(l, WAIT_MS, &ch);
	CHECK_ERR(r, 0); /* the first, finished */
	if (ch)
		ivc_close(ch);
	r = ivc_accept(l, WAIT_MS, &ch);
	printf("   %-48s -> ivc_accept %s\n", "our lane of a finished handshake", t_retname(r));
	CHECK_ERR(r, -EPROTO);
	CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS * 2));
	ivc_listener_close(l);

	/* The client side: two connects, the second handed the first's lane. */
	REQUIRE_OK(t_sem_init(&ready));
	t_addr(addr, sizeof(addr), "relaysrv");
	pid = t_fork();
	if (pid == 0)
		relay_server(addr, &ready);
	REQUIRE(t_sem_wait(&ready, WAIT_MS) == 0);
	struct conn c1 = { .addr = addr }, c2 = { .addr = addr };
	REQUIRE(pthread_create(&c1.th, NULL, conn_main, &c1) == 0);
	REQUIRE(pthread_create(&c2.th, NULL, conn_main, &c2) == 0);
	pthread_join(c1.th, NULL);
	pthread_join(c2.th, NULL);
	/* One was handed the other's lane: that one only fails. */
	printf("   %-48s -> ivc_connect %s and %s\n", "a WELCOME with our other connect's lane",
	       t_retname(c1.rc), t_retname(c2.rc));
	CHECK((c1.rc == 0 && c2.rc == -EPROTO) || (c1.rc == -EPROTO && c2.rc == 0));
	if (c1.ch)
		ivc_close(c1.ch);
	if (c2.ch)
		ivc_close(c2.ch);
	CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS));
	t_sem_destroy(&ready);
}

/* ---- 3. ivc-cat keeps listening ---- */

static void test_cat_listens(const char *cat)
{
	struct fake_lane_opts sparse = { .geo = { 256, 1u << 20, 64 }, .seal = SEAL_SIZE,
					 .sparse = 1 };
	struct fake_lane_opts big = { .geo = { 256, 1u << 20, 300 }, .seal = SEAL_SIZE,
				      .sparse = 1 };
	struct fake_lane f;
	struct ivc_ctrl_msg m;
	char addr[108], out[64];
	int nfds;

	printf("-- 3. ivc-cat -l after clients that fail\n");
	if (!cat) {
		skipped("ivc-cat (apps/ not built)");
		return;
	}
	t_addr(addr, sizeof(addr), "cat");
	int pout[2];
	REQUIRE(pipe2(pout, O_CLOEXEC) == 0);
	pid_t pid = t_fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pout[1], 1);
		execl(cat, cat, "-r", "-l", "-w", "20", addr, (char *)NULL);
		_exit(127);
	}
	close(pout[1]);
	/* A lane it may not map (not allocated), one over its limit (300
	 * MiB), and one that says nothing and leaves. */
	const struct fake_lane_opts *bad[] = { &sparse, &big };
	for (int i = 0; i < 2; i++) {
		int s;

		while ((s = fake_connect(addr)) < 0)
			usleep(10000);
		REQUIRE(fake_lane_make(&f, bad[i]) == 0);
		REQUIRE_OK(fake_send_lane(s, IVC_CTRL_HELLO, &f));
		CHECK(fake_recv(s, &m, sizeof(m), &nfds, NULL, WAIT_MS) > 0);
		CHECK_EQ(m.type, IVC_CTRL_REJECT);
		printf("   bad client %d: told %s\n", i + 1, t_errname(-m.status));
		close(s);
		fake_lane_free(&f);
	}
	int s = fake_connect(addr);
	CHECK(s >= 0);
	if (s >= 0)
		close(s);
	/* A real client: its data must come out. */
	struct ivc_channel *ch = NULL;
	CHECK_ERR(ivc_connect(addr, NULL, WAIT_MS, &ch), 0);
	if (ch) {
		CHECK_ERR(ivc_send(ch, "payload", 7, WAIT_MS), 0);
		CHECK_ERR(ivc_send(ch, NULL, 0, WAIT_MS), 0); /* ivc-cat's end marker */
		ivc_close(ch);
	}
	ssize_t k, got = 0;
	while ((k = read(pout[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += k;
	out[got] = 0;
	close(pout[0]);
	int st = t_wait_child(pid, 20000);
	printf("   then a real client: ivc-cat wrote \"%s\", %s\n", out, t_status_str(st));
	CHECK(strcmp(out, "payload") == 0);
	CHECK_CHILD_OK(st);
}

int main(void)
{
	/* ivc-cat's path (ctest gives it when apps/ is built). */
	const char *cat = getenv("IVC_CAT");

	t_init("test_identity", 200);
	if (t_xen()) {
		printf("test_identity: shm only\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(sh != MAP_FAILED);
	test_squatter(cat);
	test_own_lane();
	test_cat_listens(cat);
	return t_finish();
}
