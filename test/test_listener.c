/* SPDX-License-Identifier: MIT */
/*
 * test_listener - what clients and other local users can do to a shm
 * listener (issue 12, findings 4, 6 and 8):
 *
 *  1. silent clients: one that connected first and says nothing does not
 *     delay a real client behind it; ivc_accept(l, 0) never waits; 300
 *     silent connections (a backlog full of them) do not keep a real client
 *     out; silent clients are held at most IVC_SHM_MAX_PENDING at a time;
 *  2. the path: a regular file, a FIFO, a symbolic link (to a file, and
 *     dangling) or a directory at the path is -EADDRINUSE and left exactly
 *     as it was; a live listener's socket too; a stale socket is replaced;
 *  3. closing an old listener whose socket file was replaced by a newer
 *     listener leaves the newer one's socket in place, reachable;
 *  4. two listeners racing for one stale socket: one wins, the other gets
 *     -EADDRINUSE, and the winner is the one that answers;
 *  5. a filesystem permission error is -EPERM (the system's permissions),
 *     not -EACCES ("access control refused the peer"), at listen and at
 *     connect (as nobody, when run as root; else in a directory of ours
 *     without write permission);
 *  6. a child that closes the listener it inherited (fork) leaves the
 *     parent's socket file, handshakes in progress and epoll set alone.
 */
#include "check.h"
#include "fake_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define NOBODY 65534

/* ---- 1. silent clients ---- */

struct client {
	const char *addr;
	struct ivc_channel *ch;
	int rc;
	pthread_t th;
};

static void *client_main(void *p)
{
	struct client *c = p;

	c->rc = ivc_connect(c->addr, NULL, 20000, &c->ch);
	return NULL;
}

/* A real client connects (from a thread); ivc_accept must hand out its
 * channel within @bound_ms, whatever else waits.  Return the time taken. */
static uint64_t real_client_through(struct ivc_listener *l, const char *addr,
				    int timeout_ms, const char *what)
{
	struct client c = { .addr = addr };
	struct ivc_channel *ch = NULL;
	uint64_t t0 = t_now_ns();
	int r;

	REQUIRE(pthread_create(&c.th, NULL, client_main, &c) == 0);
	r = ivc_accept(l, timeout_ms, &ch);
	uint64_t ms = (t_now_ns() - t0) / 1000000u;
	pthread_join(c.th, NULL);
	printf("   %-44s -> ivc_accept %s after %llu ms\n", what, t_retname(r),
	       (unsigned long long)ms);
	CHECK_ERR(r, 0);
	CHECK_ERR(c.rc, 0);
	if (!r && !c.rc) {
		char buf[8];

		CHECK_ERR(ivc_send(c.ch, "hi", 2, 5000), 0);
		CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), 5000), 2);
	}
	if (ch)
		ivc_close(ch);
	if (c.ch)
		ivc_close(c.ch);
	return ms;
}

/* Open connections that never speak, as many as the backlog takes (up to
 * @n).  Return how many. */
static int silent_open(const char *addr, int *socks, int n)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(addr + 5);
	int k;

	memcpy(sun.sun_path + 1, addr + 5, len);
	for (k = 0; k < n; k++) {
		socks[k] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (socks[k] < 0 ||
		    connect(socks[k], (struct sockaddr *)&sun,
			    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) != 0)
			break;
	}
	if (k < n && socks[k] >= 0)
		close(socks[k]);
	return k;
}

static void silent_close(int *socks, int n)
{
	for (int i = 0; i < n; i++)
		close(socks[i]);
}

static void test_silent(void)
{
	static int socks[300];
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	char addr[108];
	int n;

	printf("-- 1. silent clients\n");
	t_addr(addr, sizeof(addr), "silent");
	REQUIRE_OK(ivc_listen(addr, NULL, &l));

	/* One silent client first, a real one behind it. */
	n = silent_open(addr, socks, 1);
	REQUIRE_EQ(n, 1);
	real_client_through(l, addr, 5000, "a silent client ahead of a real one");

	/* Timeout 0 never waits, silent clients or not. */
	uint64_t t0 = t_now_ns();
	CHECK_ERR(ivc_accept(l, 0, &ch), -EAGAIN);
	uint64_t ms = (t_now_ns() - t0) / 1000000u;
	printf("   %-44s -> EAGAIN after %llu ms\n", "ivc_accept(l, 0), a silent client held",
	       (unsigned long long)ms);
	CHECK(ms < 250);
	silent_close(socks, n);

	/* A backlog full of silent connections. */
	n = silent_open(addr, socks, 300);
	printf("   %d silent connections queued\n", n);
	CHECK(n > 100);
	real_client_through(l, addr, 15000, "behind a full backlog of silent ones");
	/* The silent ones are held at most IVC_SHM_MAX_PENDING at a time:
	 * the rest were dropped or wait in the backlog. */
	int dropped = 0;
	for (int i = 0; i < n; i++) {
		char c;

		dropped += recv(socks[i], &c, 1, MSG_DONTWAIT) == 0;
	}
	printf("   silent ones dropped to make room: %d of %d\n", dropped, n);
	silent_close(socks, n);
	ivc_listener_close(l);
}

/* ---- 2.-4. the path ---- */

static char dir[96];

static void path_in_dir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "shm:%s/%s", dir, name);
}

static int file_is(const char *path, const char *content)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n >= 0 && !strcmp(buf, content);
}

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
	close(fd);
}

/* ivc_listen at @addr must be -EADDRINUSE and leave the path alone. */
static void refused_listen(const char *addr, const char *what)
{
	struct ivc_listener *l = NULL;
	struct stat before, after;
	int r;

	REQUIRE(lstat(addr + 4, &before) == 0);
	r = ivc_listen(addr, NULL, &l);
	printf("   %-44s -> ivc_listen %s\n", what, t_retname(r));
	CHECK_ERR(r, -EADDRINUSE);
	if (!r)
		ivc_listener_close(l);
	CHECK(lstat(addr + 4, &after) == 0 && after.st_ino == before.st_ino &&
	      after.st_mode == before.st_mode);
}

/* Something listens at @addr. */
static int connects(const char *addr)
{
	int s = fake_connect(addr);

	if (s >= 0)
		close(s);
	return s >= 0;
}

static void test_paths(void)
{
	char a[160], target[160];
	struct ivc_listener *l = NULL, *l2 = NULL;

	printf("-- 2. what is at the path\n");
	path_in_dir(a, sizeof(a), "file");
	write_file(a + 4, "precious");
	refused_listen(a, "a regular file");
	CHECK(file_is(a + 4, "precious"));

	path_in_dir(a, sizeof(a), "fifo");
	REQUIRE(mkfifo(a + 4, 0600) == 0);
	refused_listen(a, "a FIFO");

	snprintf(target, sizeof(target), "%s/target", dir);
	write_file(target, "target");
	path_in_dir(a, sizeof(a), "link");
	REQUIRE(symlink(target, a + 4) == 0);
	refused_listen(a, "a symbolic link to a file");
	CHECK(file_is(target, "target"));

	path_in_dir(a, sizeof(a), "dangling");
	REQUIRE(symlink("/nonexistent/ivc", a + 4) == 0);
	refused_listen(a, "a dangling symbolic link");

	path_in_dir(a, sizeof(a), "dir");
	REQUIRE(mkdir(a + 4, 0700) == 0);
	refused_listen(a, "a directory");

	path_in_dir(a, sizeof(a), "live");
	REQUIRE_OK(ivc_listen(a, NULL, &l));
	refused_listen(a, "a live listener's socket");
	ivc_listener_close(l);
	CHECK(access(a + 4, F_OK) != 0); /* its own, removed */

	/* A stale socket (its listener gone without unlinking). */
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	strcpy(sun.sun_path, a + 4);
	REQUIRE(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(s);
	CHECK_ERR(ivc_listen(a, NULL, &l), 0);
	CHECK(connects(a));

	printf("-- 3. an old listener closed after a newer one took its path\n");
	/* Someone removed l's file, and a new listener is there now. */
	REQUIRE(unlink(a + 4) == 0);
	REQUIRE_OK(ivc_listen(a, NULL, &l2));
	ivc_listener_close(l);
	CHECK(access(a + 4, F_OK) == 0);
	CHECK(connects(a));
	printf("   the newer listener's socket: %s\n",
	       access(a + 4, F_OK) == 0 ? "still there, answering" : "GONE");
	ivc_listener_close(l2);
	CHECK(access(a + 4, F_OK) != 0);
}

struct racer {
	const char *addr;
	struct t_sem *go;
	struct ivc_listener *l;
	int rc;
	pthread_t th;
};

static void *racer_main(void *p)
{
	struct racer *r = p;

	(void)t_sem_wait(r->go, 5000);
	r->rc = ivc_listen(r->addr, NULL, &r->l);
	return NULL;
}

static void test_race(void)
{
	char a[160];
	int both = 0, rounds = 200;

	printf("-- 4. two listeners racing for a stale socket (%d rounds)\n", rounds);
	path_in_dir(a, sizeof(a), "race");
	for (int i = 0; i < rounds; i++) {
		struct t_sem go;
		struct racer r[2] = { { .addr = a, .go = &go }, { .addr = a, .go = &go } };
		int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		strcpy(sun.sun_path, a + 4);
		REQUIRE(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0);
		close(s); /* stale now */
		REQUIRE_OK(t_sem_init(&go));
		for (int k = 0; k < 2; k++)
			REQUIRE(pthread_create(&r[k].th, NULL, racer_main, &r[k]) == 0);
		t_sem_post(&go);
		t_sem_post(&go);
		for (int k = 0; k < 2; k++)
			pthread_join(r[k].th, NULL);
		int wins = (r[0].rc == 0) + (r[1].rc == 0);
		both += wins == 2;
		CHECK_EQ(wins, 1);
		for (int k = 0; k < 2; k++)
			if (r[k].rc)
				CHECK_ERR(r[k].rc, -EADDRINUSE);
		CHECK(connects(a)); /* the winner's socket is at the path */
		for (int k = 0; k < 2; k++)
			if (r[k].rc == 0)
				ivc_listener_close(r[k].l);
		unlink(a + 4);
		t_sem_destroy(&go);
	}
	printf("   rounds in which both believed they won: %d\n", both);
}

/* ---- 5. permissions ---- */

static void test_perm(void)
{
	char a[160], ro[128];

	printf("-- 5. filesystem permissions\n");
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	REQUIRE(mkdir(ro, 0755) == 0);
	snprintf(a, sizeof(a), "shm:%s/sock", ro);
	if (geteuid() != 0) {
		/* Our own directory without write permission. */
		REQUIRE(chmod(ro, 0555) == 0);
	}
	/* Root's own listener, for the connect case (mode 0755: nobody may
	 * not write to it). */
	struct ivc_listener *l = NULL;
	if (geteuid() == 0)
		REQUIRE_OK(ivc_listen(a, NULL, &l));
	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_listener *x = NULL;
		struct ivc_channel *ch = NULL;
		char b[160];

		if (geteuid() == 0 && (setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
			_exit(77);
		snprintf(b, sizeof(b), "shm:%s/other", ro);
		int r = ivc_listen(b, NULL, &x);
		printf("   %-44s -> ivc_listen %s: \"%s\"\n", "in a directory we may not write",
		       t_retname(r), ivc_strerror(r));
		CHECK_ERR(r, -EPERM);
		if (l) {
			struct ivc_options o;

			ivc_options_init(&o);
			o.flags = IVC_OPT_ANY_UID;
			r = ivc_connect(a, &o, 0, &ch);
			printf("   %-44s -> ivc_connect %s: \"%s\"\n",
			       "to a socket we may not write", t_retname(r), ivc_strerror(r));
			CHECK_ERR(r, -EPERM);
		}
		t_child_exit();
	}
	int st = t_wait_child(pid, 10000);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 77)
		printf("!!! SKIPPED, NOT TESTED: could not become nobody\n");
	else
		CHECK_CHILD_OK(st);
	if (l)
		ivc_listener_close(l);
	chmod(ro, 0755);
	rmdir(ro);
}

/* ---- 6. a forked copy of the listener ---- */

static void test_fork(void)
{
	struct fake_lane_opts lo = { .seal = SEAL_SIZE };
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct ivc_ctrl_msg m;
	struct fake_lane f;
	char a[160];
	int nfds;

	printf("-- 6. a child closes the listener it inherited mid-handshake\n");
	path_in_dir(a, sizeof(a), "forked");
	REQUIRE_OK(ivc_listen(a, NULL, &l));
	REQUIRE(fake_lane_make(&f, &lo) == 0);
	int s = fake_connect(a);
	REQUIRE(s >= 0);
	REQUIRE_OK(fake_send_lane(s, IVC_CTRL_HELLO, &f));
	CHECK_ERR(ivc_accept(l, 0, &ch), -EAGAIN); /* WELCOME sent, READY to come */
	REQUIRE(fake_recv(s, &m, sizeof(m), &nfds, NULL, 5000) == (ssize_t)sizeof(m));
	pid_t pid = t_fork();
	if (pid == 0) {
		ivc_listener_close(l);
		t_child_exit();
	}
	CHECK_CHILD_OK(t_wait_child(pid, 5000));
	/* The parent's socket file, handshake and epoll set are untouched. */
	CHECK(access(a + 4, F_OK) == 0);
	REQUIRE_OK(fake_send_ready(s));
	int r = ivc_accept(l, 5000, &ch);
	printf("   the parent's handshake then: %s; its socket file: %s\n", t_retname(r),
	       access(a + 4, F_OK) == 0 ? "there" : "GONE");
	CHECK_ERR(r, 0);
	if (ch)
		ivc_close(ch);
	close(s);
	fake_lane_free(&f);
	ivc_listener_close(l);
	CHECK(access(a + 4, F_OK) != 0);
}

static void cleanup_dir(void)
{
	static const char *const names[] = { "file", "fifo", "link", "dangling",
					     "target", "live", "race" };
	char p[160];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/dir", dir);
	rmdir(p);
	CHECK(rmdir(dir) == 0);
}

int main(void)
{
	t_init("test_listener", 200);
	if (t_xen()) {
		printf("test_listener: shm only\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/ivc-test-listener-%d", (int)getpid());
	REQUIRE(mkdir(dir, 0755) == 0);
	int fds = t_count_fds();
	test_silent();
	test_paths();
	test_race();
	test_perm();
	test_fork();
	CHECK_EQ(t_count_fds(), fds);
	cleanup_dir();
	return t_finish();
}
