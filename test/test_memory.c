/* SPDX-License-Identifier: MIT */
/*
 * test_memory - the peer's memory (issue 12, findings 2 and 3).  A lane a
 * peer offers is mapped only if no page of it can vanish under us (SIGBUS)
 * and none of it is ours to fault in or pay for:
 *
 *  1. hugetlb: a lane on hugetlbfs (whose page a peer can punch out and
 *     take, SIGBUS at our next touch; or which we cannot map at all, which
 *     made a listener fail with -ENOMEM) is -EPROTO, at ivc_accept and at
 *     ivc_connect, with and without free huge pages (reserved here as
 *     root), and the listener goes on serving;
 *  2. holes: after a handshake, neither side can punch a hole in either
 *     lane (fallocate(PUNCH_HOLE) on the memfds it holds: EPERM), so no
 *     page can vanish; fake peers hold the memfds, on both ends;
 *  3. sparse: a lane its owner did not allocate (192 MiB of holes) is
 *     -EPROTO at once, and not one page of it was allocated by the victim
 *     (the memfd's block count is what it was), within the accept timeout;
 *  4. the cap: a lane over peer_lane_max is -E2BIG for both ends, whichever
 *     side's cap it is;
 *  5. a listener in a memory cgroup of 128 MiB refuses three 192 MiB sparse
 *     lanes and lives (cgroup v2 or v1, as root; else SKIPPED loudly).
 */
#include "check.h"
#include "fake_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define WAIT_MS 3000

static void skipped(const char *what)
{
	printf("!!! SKIPPED, NOT TESTED: %s\n", what);
}

/* ---- a real listener, a fake client ---- */

/* Connect to @addr, offer @f in a HELLO; ivc_accept(@l) must return @want
 * and the client be told so; a REJECT carries @want. */
static void offer(struct ivc_listener *l, const char *addr, const struct fake_lane *f,
		  int want, const char *what)
{
	struct ivc_channel *ch = NULL;
	struct ivc_ctrl_msg m;
	int s = fake_connect(addr), nfds = -1;
	uint64_t t0;

	REQUIRE(s >= 0);
	REQUIRE_OK(fake_send_lane(s, IVC_CTRL_HELLO, f));
	t0 = t_now_ns();
	int r = ivc_accept(l, 1000, &ch);
	uint64_t ms = (t_now_ns() - t0) / 1000000u;
	printf("   %-40s -> ivc_accept %s after %llu ms\n", what, t_errname(r),
	       (unsigned long long)ms);
	CHECK_ERR(r, want);
	/* (The whole handshake within the timeout it was given.) */
	CHECK(ms < 1500);
	if (fake_recv(s, &m, sizeof(m), &nfds, NULL, WAIT_MS) == (ssize_t)sizeof(m)) {
		CHECK_EQ(m.type, IVC_CTRL_REJECT);
		CHECK_EQ(-m.status, want);
	} else {
		t_fail(__FILE__, __LINE__, "%s: the client was told nothing", what);
	}
	if (!r)
		ivc_close(ch);
	close(s);
}

/* The listener still serves a real client. */
static void still_serves(struct ivc_listener *l, const char *addr)
{
	struct ivc_channel *a = NULL;
	char buf[8];
	pid_t pid = t_fork();

	if (pid == 0) {
		struct ivc_channel *c = NULL;

		ivc_listener_close(l);
		CHECK_ERR(ivc_connect(addr, NULL, WAIT_MS, &c), 0);
		if (c) {
			CHECK_ERR(ivc_send(c, "ping", 4, WAIT_MS), 0);
			CHECK_ERR(ivc_recv(c, buf, sizeof(buf), WAIT_MS), 4);
			ivc_close(c);
		}
		t_child_exit();
	}
	CHECK_ERR(ivc_accept(l, WAIT_MS, &a), 0);
	if (a) {
		CHECK_ERR(ivc_recv(a, buf, sizeof(buf), WAIT_MS), 4);
		CHECK_ERR(ivc_send(a, "pong", 4, WAIT_MS), 0);
	}
	CHECK_CHILD_OK(t_wait_child(pid, 10000));
	ivc_close(a);
}

/* ---- a fake server, a real client ---- */

struct fake_srv {
	int lsock;
	const struct fake_lane *f;
	int sock;          /* the connection, kept until the end */
	int client_memfd;  /* what the HELLO brought */
	int got_ready;
};

static void *fake_srv_main(void *p)
{
	struct fake_srv *fs = p;
	unsigned char in[128];
	int nfds;

	fs->sock = accept4(fs->lsock, NULL, NULL, SOCK_CLOEXEC);
	if (fs->sock < 0)
		return NULL;
	fs->client_memfd = -1;
	if (fake_recv(fs->sock, in, sizeof(in), &nfds, &fs->client_memfd, WAIT_MS) <= 0)
		return NULL;
	fake_send_lane(fs->sock, IVC_CTRL_WELCOME, fs->f);
	if (fake_recv(fs->sock, in, sizeof(in), &nfds, NULL, WAIT_MS) ==
	    (ssize_t)sizeof(struct ivc_ctrl_msg))
		fs->got_ready = ((struct ivc_ctrl_msg *)in)->type == IVC_CTRL_READY;
	return NULL;
}

/* A listening socket at a fresh abstract address, as a fake server. */
static int fake_listen(char *addr, size_t size)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n;

	t_addr(addr, size, "memsrv");
	n = strlen(addr + 5);
	memcpy(sun.sun_path + 1, addr + 5, n);
	REQUIRE(s >= 0);
	REQUIRE(bind(s, (struct sockaddr *)&sun,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0);
	REQUIRE(listen(s, 4) == 0);
	return s;
}

/* A real client connects to a fake server that answers with @f.  Return
 * what ivc_connect returned; *fs keeps the connection for the caller. */
static int connect_to_fake(const struct fake_lane *f, const struct ivc_options *o,
			   struct fake_srv *fs, struct ivc_channel **ch)
{
	char addr[108];
	pthread_t th;
	int r;

	memset(fs, 0, sizeof(*fs));
	fs->f = f;
	fs->sock = fs->client_memfd = -1;
	fs->lsock = fake_listen(addr, sizeof(addr));
	REQUIRE(pthread_create(&th, NULL, fake_srv_main, fs) == 0);
	r = ivc_connect(addr, o, WAIT_MS, ch);
	pthread_join(th, NULL);
	close(fs->lsock);
	return r;
}

static void fake_srv_end(struct fake_srv *fs)
{
	if (fs->sock >= 0)
		close(fs->sock);
	if (fs->client_memfd >= 0)
		close(fs->client_memfd);
}

/* ---- 1. hugetlb ---- */

static long hugepages_get(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static int hugepages_set(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%ld\n", n) > 0;
	ok = fclose(f) == 0 && ok;
	return ok && hugepages_get() == n ? 0 : -1;
}

/* A lane of exactly one 2 MiB huge page. */
static const struct ivc_geometry huge_geo = { 2, 4096, 511 };

/* HugePages_Free of /proc/meminfo, or -1. */
static long hugepages_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

static void hugetlb_round(void)
{
	char how[48];
	struct fake_lane_opts lo = { .geo = huge_geo, .seal = SEAL_SIZE, .hugetlb = 1 };
	struct fake_lane f;
	struct fake_srv fs;
	struct ivc_channel *ch = NULL;
	struct ivc_listener *l = NULL;
	char addr[108], what[96];

	if (fake_lane_make(&f, &lo) != 0) {
		skipped("hugetlb lanes: this kernel makes no MFD_HUGETLB memfd");
		return;
	}
	REQUIRE_EQ(f.g.region_size, 2u << 20);
	snprintf(how, sizeof(how), "%ld huge pages free", hugepages_free());
	t_addr(addr, sizeof(addr), "huge");
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	snprintf(what, sizeof(what), "hugetlb lane, %s", how);
	offer(l, addr, &f, -EPROTO, what);
	still_serves(l, addr);
	ivc_listener_close(l);
	int r = connect_to_fake(&f, NULL, &fs, &ch);
	printf("   %-40s -> ivc_connect %s\n", what, t_errname(r));
	CHECK_ERR(r, -EPROTO);
	fake_srv_end(&fs);
	if (!r)
		ivc_close(ch);
	fake_lane_free(&f);
}

static void test_hugetlb(void)
{
	long before = hugepages_get();

	printf("-- 1. hugetlb lanes\n");
	hugetlb_round();
	if (before < 0 || hugepages_set(before + 2) != 0) {
		skipped("hugetlb lanes with free huge pages (needs root to reserve them)");
		return;
	}
	hugetlb_round();
	CHECK_OK(hugepages_set(before));
}

/* ---- 2. no holes after the handshake ---- */

static void check_no_hole(int memfd, const char *whose)
{
	int r = fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
	int e = errno;

	if (r == 0)
		t_fail(__FILE__, __LINE__, "a hole was punched in %s", whose);
	else
		CHECK_EQ(e, EPERM);
	printf("   punch a hole in %-28s -> %s\n", whose, r ? t_errname(-e) : "done");
}

static void test_holes(void)
{
	struct fake_lane_opts lo = { .seal = SEAL_SIZE };
	struct fake_lane f;
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct ivc_ctrl_msg m;
	struct fake_srv fs;
	char addr[108];
	int nfds, srv_memfd = -1;

	printf("-- 2. holes after the handshake\n");
	REQUIRE(fake_lane_make(&f, &lo) == 0);
	/* A fake client at a real listener. */
	t_addr(addr, sizeof(addr), "holes");
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	int s = fake_connect(addr);
	REQUIRE(s >= 0);
	REQUIRE_OK(fake_send_lane(s, IVC_CTRL_HELLO, &f));
	CHECK_ERR(ivc_accept(l, 0, &ch), -EAGAIN);
	REQUIRE(fake_recv(s, &m, sizeof(m), &nfds, &srv_memfd, WAIT_MS) == (ssize_t)sizeof(m));
	REQUIRE(m.type == IVC_CTRL_WELCOME && srv_memfd >= 0);
	REQUIRE_OK(fake_send_ready(s));
	CHECK_ERR(ivc_accept(l, WAIT_MS, &ch), 0);
	check_no_hole(f.memfd, "the client's lane (its own)");
	check_no_hole(srv_memfd, "the server's lane");
	ivc_close(ch);
	close(s);
	close(srv_memfd);
	ivc_listener_close(l);
	fake_lane_free(&f);
	/* A real client at a fake server (a fresh lane: the last one is
	 * sealed now). */
	REQUIRE(fake_lane_make(&f, &lo) == 0);
	CHECK_ERR(connect_to_fake(&f, NULL, &fs, &ch), 0);
	CHECK(fs.got_ready);
	if (fs.client_memfd >= 0)
		check_no_hole(fs.client_memfd, "the client's lane");
	check_no_hole(f.memfd, "the server's lane (its own)");
	fake_srv_end(&fs);
	ivc_close(ch);
	fake_lane_free(&f);
}

/* ---- 3. sparse lanes; 4. the cap ---- */

/* 192 MiB of payload: under the default cap. */
static const struct ivc_geometry big_geo = { 256, 1u << 20, 192 };

static long blocks_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (long)st.st_blocks : -1;
}

static void test_sparse(void)
{
	struct fake_lane_opts lo = { .geo = big_geo, .seal = SEAL_SIZE, .sparse = 1 };
	struct fake_lane f;
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct fake_srv fs;
	char addr[108];

	printf("-- 3. a lane its owner did not allocate\n");
	REQUIRE(fake_lane_make(&f, &lo) == 0);
	long b0 = blocks_of(f.memfd);
	printf("   %llu MiB lane, %ld KiB of it allocated\n",
	       (unsigned long long)(f.g.region_size >> 20), b0 / 2);
	t_addr(addr, sizeof(addr), "sparse");
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	offer(l, addr, &f, -EPROTO, "sparse lane");
	CHECK_EQ(blocks_of(f.memfd), b0); /* not a page faulted in by the victim */
	still_serves(l, addr);
	ivc_listener_close(l);
	CHECK_ERR(connect_to_fake(&f, NULL, &fs, &ch), -EPROTO);
	CHECK_EQ(blocks_of(f.memfd), b0);
	fake_srv_end(&fs);
	fake_lane_free(&f);
}

static void test_cap(void)
{
	struct fake_lane_opts lo = { .geo = { 256, 4096, 512 }, .seal = SEAL_SIZE };
	struct ivc_options small, big, tiny;
	struct ivc_shm_options small_shm = {0};
	struct ivc_channel *a = NULL, *b = NULL;
	struct ivc_listener *l = NULL;
	struct fake_lane f;
	char addr[108];

	printf("-- 4. the peer's lane over our limit\n");
	ivc_options_init(&small);
	small_shm.peer_lane_max = 1u << 20; /* below the default lane's 2 MiB */
	small.shm = &small_shm;
	ivc_options_init(&big);
	ivc_options_init(&tiny);
	tiny.tx = (struct ivc_geometry){ 16, 4096, 32 };
	REQUIRE(fake_lane_make(&f, &lo) == 0);
	t_addr(addr, sizeof(addr), "cap");
	REQUIRE_OK(ivc_listen(addr, &small, &l));
	offer(l, addr, &f, -E2BIG, "lane over the listener's limit");
	ivc_listener_close(l);
	fake_lane_free(&f);
	/* Real ends: whoever's limit it is, both hear why. */
	CHECK_ERR(t_pair("cap1", &small, &big, &a, &b), -E2BIG);
	CHECK_ERR(t_pair("cap2", &big, &small, &a, &b), -E2BIG);
	/* The limit is on the peer's lane, not on our own. */
	CHECK_ERR(t_pair("cap3", &small, &tiny, &a, &b), 0);
	ivc_close(a);
	ivc_close(b);
	small.tx = tiny.tx;
	CHECK_ERR(t_pair("cap4", &small, &small, &a, &b), 0);
	ivc_close(a);
	ivc_close(b);
}

/* ---- 5. a listener in a memory cgroup ---- */

/* Make a cgroup limited to @bytes and put @pid in it.  Return: its
 * directory in @dir, or -1 (SKIPPED). */
static int cgroup_enter(pid_t pid, long bytes, char *dir, size_t size)
{
	static const char *const v2 = "/sys/fs/cgroup";
	char path[640], base[256] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", v2);
	if (access(path, F_OK) == 0) {
		snprintf(dir, size, "%s/ivc-test-memory-%d", v2, (int)getpid());
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", v2);
		if ((f = fopen(path, "w"))) { /* (may be on already) */
			fputs("+memory", f);
			fclose(f);
		}
		snprintf(path, sizeof(path), "%s/memory.max", dir);
	} else {
		/* v1: under our own memory cgroup. */
		if ((f = fopen("/proc/self/cgroup", "r"))) {
			char line[512];

			while (fgets(line, sizeof(line), f))
				if (sscanf(line, "%*d:memory:%255s", base) == 1)
					break;
			fclose(f);
		}
		snprintf(dir, size, "/sys/fs/cgroup/memory%s/ivc-test-memory-%d",
			 strcmp(base, "/") ? base : "", (int)getpid());
		snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", dir);
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	if (!(f = fopen(path, "w")) || fprintf(f, "%ld\n", bytes) < 0 || fclose(f) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (!(f = fopen(path, "w")) || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f) != 0)
		return -1;
	return 0;
}

static void test_cgroup(void)
{
	struct fake_lane_opts lo = { .geo = big_geo, .seal = SEAL_SIZE, .sparse = 1 };
	struct t_sem go, in;
	char addr[108], dir[512];
	struct fake_lane f;

	printf("-- 5. a listener in a 128 MiB memory cgroup, three 192 MiB sparse lanes\n");
	t_addr(addr, sizeof(addr), "cg");
	REQUIRE_OK(t_sem_init(&go));
	REQUIRE_OK(t_sem_init(&in));
	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_listener *l = NULL;
		struct ivc_channel *ch = NULL;

		if (t_sem_wait(&in, WAIT_MS))
			_exit(3);
		CHECK_ERR(ivc_listen(addr, NULL, &l), 0);
		t_sem_post(&go);
		for (int i = 0; i < 3; i++)
			CHECK_ERR(ivc_accept(l, 5000, &ch), -EPROTO);
		ivc_listener_close(l);
		t_child_exit();
	}
	if (cgroup_enter(pid, 128l << 20, dir, sizeof(dir)) != 0) {
		skipped("the memory cgroup case (needs root and a memory controller)");
		t_kill_child(pid);
		rmdir(dir);
		return;
	}
	t_sem_post(&in);
	REQUIRE(t_sem_wait(&go, WAIT_MS) == 0);
	REQUIRE(fake_lane_make(&f, &lo) == 0);
	for (int i = 0; i < 3; i++) {
		int s = fake_connect(addr);
		struct ivc_ctrl_msg m;
		int nfds;

		REQUIRE(s >= 0);
		REQUIRE_OK(fake_send_lane(s, IVC_CTRL_HELLO, &f));
		CHECK(fake_recv(s, &m, sizeof(m), &nfds, NULL, 10000) > 0);
		close(s);
	}
	int st = t_wait_child(pid, 20000);
	printf("   the listener (cgroup %s): %s\n", dir, t_status_str(st));
	if (st != -1 && WIFSIGNALED(st))
		t_fail(__FILE__, __LINE__, "the listener was killed (signal %d: OOM?)",
		       WTERMSIG(st));
	else
		CHECK_CHILD_OK(st);
	fake_lane_free(&f);
	CHECK(rmdir(dir) == 0);
	t_sem_destroy(&go);
	t_sem_destroy(&in);
}

int main(void)
{
	t_init("test_memory", 200);
	if (t_xen()) {
		printf("test_memory: shm only\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	int fds = t_count_fds();
	test_hugetlb();
	test_holes();
	test_sparse();
	test_cap();
	CHECK_EQ(t_count_fds(), fds);
	test_cgroup();
	return t_finish();
}
