/* SPDX-License-Identifier: MIT */
/*
 * test_xen - what only the xen transport has, against the real hypervisor
 * (run inside dom0 by test/xen; elsewhere it skips, exit 77, saying so):
 *  - addresses, options and limits refused with the documented errors;
 *  - a channel over grants and event channels: info (transport, domid),
 *    messages both ways, several clients in turn on one listener;
 *  - the rendezvous: no listener (refused at once / times out), a domain
 *    the listener does not allow (refused at once, no waiting), the offer
 *    withdrawn on close, a service taken by a live listener, a listener
 *    killed with SIGKILL replaced by a new one, a connector that waits for
 *    a listener which comes later;
 *  - 50 connect/close cycles leave no descriptor behind;
 *  - grants come back: the side that closes first keeps its lane shared
 *    until the peer lets go (closing it, or dying), then frees it, so 60
 *    cycles of lanes near the largest (over 90,000 grants, three times
 *    what dom0's grant table holds) never run out; unshared while mapped,
 *    each lane would wait on the kernel's deferred list at 10 grants a
 *    second.
 * The delivery, close and fault tests run over xen too (IVC_TEST_TRANSPORT).
 */
#include "check.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#include "xen/xen_pvt.h" /* ivc_xen_linger_count() */

#define WAIT_MS 20000

static uint32_t g_local; /* this domain's id (from a channel's info) */

static uint64_t ms_since(uint64_t t0)
{
	return (t_now_ns() - t0) / 1000000u;
}

/* One message each way, checked. */
static void ping(struct ivc_channel *a, struct ivc_channel *b, int tag)
{
	char out[64], in[64];
	int n = snprintf(out, sizeof(out), "hello %d", tag);

	CHECK_ERR(ivc_send(a, out, (size_t)n, WAIT_MS), 0);
	CHECK_ERR(ivc_recv(b, in, sizeof(in), WAIT_MS), n);
	CHECK(memcmp(in, out, (size_t)n) == 0);
	CHECK_ERR(ivc_send(b, in, (size_t)n, WAIT_MS), 0);
	CHECK_ERR(ivc_recv(a, out, sizeof(out), WAIT_MS), n);
	CHECK(memcmp(in, out, (size_t)n) == 0);
}

static void test_addresses(void)
{
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct ivc_options o;
	char name[128];

	printf("-- addresses and options\n");
	const char *bad[] = { "xen:", "xen:/svc", "xen:a/svc", "xen:1/", "xen:bad name",
			      "xen:99999/svc", "xen:1x/svc", "xen:svc/more", "xen:sv%c",
			      "xen:a.b" /* xenstore's names have no dots */ };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(ivc_listen(bad[i], NULL, &l), -EINVAL);
		CHECK_ERR(ivc_connect(bad[i], NULL, 0, &ch), -EINVAL);
	}
	memset(name, 'a', sizeof(name));
	memcpy(name, "xen:", 4);
	name[4 + 65] = '\0';
	CHECK_ERR(ivc_listen(name, NULL, &l), -ENAMETOOLONG);
	/* Listening is for the local domain only. */
	CHECK_ERR(ivc_listen("xen:4242/svc", NULL, &l), -EADDRNOTAVAIL);

	ivc_options_init(&o);
	uid_t uid = 0;
	struct ivc_shm_options so = {0};
	so.allowed_uids = &uid;
	so.n_allowed_uids = 1;
	o.shm = &so;
	CHECK_ERR(ivc_listen("xen:uids", &o, &l), -EINVAL);
	CHECK_ERR(ivc_connect("xen:uids", &o, 0, &ch), -EINVAL);
	/* Even empty: shm settings mean nothing to xen. */
	memset(&so, 0, sizeof(so));
	CHECK_ERR(ivc_listen("xen:emptyshm", &o, &l), -EINVAL);
	ivc_options_init(&o);
	o.flags = IVC_OPT_ANY_UID;
	CHECK_ERR(ivc_listen("xen:anyuid", &o, &l), -EINVAL);
	ivc_options_init(&o);
	struct ivc_xen_options xo = {0};
	uint32_t twice[2] = { 3, 3 }, reserved = 0x7ff0;
	xo.allowed_domids = twice;
	xo.n_allowed_domids = 2;
	o.xen = &xo;
	CHECK_ERR(ivc_listen("xen:twice", &o, &l), -EINVAL);
	xo.allowed_domids = &reserved;
	xo.n_allowed_domids = 1;
	CHECK_ERR(ivc_listen("xen:reserved", &o, &l), -EINVAL);
	/* A domid list means nothing to shm. */
	CHECK_ERR(ivc_listen("shm:@ivc-test-xen-domids", &o, &l), -EINVAL);
	/* Reserved words must be zero, in both structures. */
	xo.allowed_domids = NULL;
	xo.n_allowed_domids = 0;
	xo.reserved[7] = 1;
	CHECK_ERR(ivc_listen("xen:xenreserved", &o, &l), -EINVAL);
	CHECK_ERR(ivc_connect("xen:xenreserved", &o, 0, &ch), -EINVAL);
	ivc_options_init(&o);
	o.reserved[0] = 1;
	CHECK_ERR(ivc_listen("xen:optreserved", &o, &l), -EINVAL);
	CHECK_ERR(ivc_connect("xen:optreserved", &o, 0, &ch), -EINVAL);

	/* A lane over IVC_XEN_MAX_PAGES pages: told, not attempted. */
	ivc_options_init(&o);
	o.tx.buf_size = 1u << 20;
	o.tx.buf_count = 8;
	CHECK_ERR(ivc_listen("xen:big", &o, &l), -E2BIG);
	CHECK_ERR(ivc_connect("xen:big", &o, 0, &ch), -E2BIG);
	CHECK(ch == NULL);
}

static void test_channel(void)
{
	struct ivc_channel *a = NULL, *b = NULL;
	struct ivc_info ia, ib;

	printf("-- a channel over grants\n");
	REQUIRE_OK(t_pair("xen-pair", NULL, NULL, &a, &b));
	CHECK_ERR(ivc_channel_info(a, &ia), 0);
	CHECK_ERR(ivc_channel_info(b, &ib), 0);
	CHECK(strcmp(ia.transport, "xen") == 0);
	CHECK(strcmp(ib.transport, "xen") == 0);
	/* Both ends in this domain. */
	CHECK(ia.peer_domid != IVC_DOMID_NONE);
	CHECK_EQ(ia.peer_domid, ib.peer_domid);
	CHECK_EQ(ia.peer_pid, getpid());
	CHECK_EQ(ia.max_tx_msg, ib.max_rx_msg);
	g_local = ia.peer_domid;
	for (int i = 0; i < 10; i++)
		ping(a, b, i);
	CHECK_ERR(ivc_close(b), 0);
	char tmp[8];
	CHECK_ERR(ivc_recv(a, tmp, sizeof(tmp), WAIT_MS), -EPIPE);
	CHECK_ERR(ivc_close(a), 0);
}

/* Three clients in turn: each accept renews the offer. */
static void test_clients(void)
{
	char addr[108];
	struct ivc_listener *l = NULL;

	printf("-- clients in turn\n");
	t_addr(addr, sizeof(addr), "xen-turns");
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	for (int i = 0; i < 3; i++) {
		pid_t pid = t_fork();
		if (pid == 0) {
			struct ivc_channel *ch = NULL;
			char buf[64];
			ivc_listener_close(l); /* the child's copy */
			REQUIRE_OK(ivc_connect(addr, NULL, WAIT_MS, &ch));
			int n = ivc_recv(ch, buf, sizeof(buf), WAIT_MS);
			CHECK_OK(n);
			if (n > 0)
				CHECK_ERR(ivc_send(ch, buf, (size_t)n, WAIT_MS), 0);
			CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), WAIT_MS), -EPIPE);
			ivc_close(ch);
			t_child_exit();
		}
		struct ivc_channel *ch = NULL;
		char out[32], in[32];
		REQUIRE_OK(ivc_accept(l, WAIT_MS, &ch));
		int n = snprintf(out, sizeof(out), "client %d", i);
		CHECK_ERR(ivc_send(ch, out, (size_t)n, WAIT_MS), 0);
		CHECK_ERR(ivc_recv(ch, in, sizeof(in), WAIT_MS), n);
		CHECK(memcmp(in, out, (size_t)n) == 0);
		CHECK_ERR(ivc_close(ch), 0);
		CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS));
	}
	ivc_listener_close(l);
	/* The offers went with the listener. */
	struct ivc_channel *ch = NULL;
	CHECK_ERR(ivc_connect(addr, NULL, 0, &ch), -ECONNREFUSED);
}

static void test_rendezvous(void)
{
	char addr[108];
	struct ivc_listener *l = NULL, *l2 = NULL;
	struct ivc_channel *ch = NULL;
	struct ivc_options o;

	printf("-- rendezvous\n");
	/* Nobody there: refused at once, or a timeout. */
	t_addr(addr, sizeof(addr), "xen-nobody");
	CHECK_ERR(ivc_connect(addr, NULL, 0, &ch), -ECONNREFUSED);
	uint64_t t0 = t_now_ns();
	CHECK_ERR(ivc_connect(addr, NULL, 200, &ch), -ETIMEDOUT);
	CHECK(ms_since(t0) >= 200);
	CHECK(ch == NULL);

	/* A listener for domain 7 only: this domain is refused at once,
	 * well before the timeout. */
	uint32_t seven = 7;
	struct ivc_xen_options xo = {0};
	ivc_options_init(&o);
	xo.allowed_domids = &seven;
	xo.n_allowed_domids = 1;
	o.xen = &xo;
	t_addr(addr, sizeof(addr), "xen-deny");
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	t0 = t_now_ns();
	CHECK_ERR(ivc_connect(addr, NULL, WAIT_MS, &ch), -EACCES);
	CHECK(ms_since(t0) < WAIT_MS / 2);
	CHECK_ERR(ivc_accept(l, 0, &ch), -EAGAIN);
	ivc_listener_close(l);

	/* Allowed: domain 7 and this one (two offers). */
	uint32_t both[2] = { 7, g_local };
	xo.allowed_domids = both;
	xo.n_allowed_domids = 2;
	t_addr(addr, sizeof(addr), "xen-allow");
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	pid_t pid = t_fork();
	if (pid == 0) {
		ivc_listener_close(l);
		REQUIRE_OK(ivc_connect(addr, NULL, WAIT_MS, &ch));
		char buf[8];
		CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), WAIT_MS), -EPIPE);
		ivc_close(ch);
		t_child_exit();
	}
	REQUIRE_OK(ivc_accept(l, WAIT_MS, &ch));
	CHECK_ERR(ivc_close(ch), 0);
	CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS));

	/* The service is taken while its listener lives. */
	CHECK_ERR(ivc_listen(addr, NULL, &l2), -EADDRINUSE);
	ivc_listener_close(l);
	/* ... and free again once it closed. */
	REQUIRE_OK(ivc_listen(addr, NULL, &l2));
	ivc_listener_close(l2);
}

/* A listener killed with SIGKILL leaves its offer behind; a new listener
 * takes the service over, and a connector that was already waiting gets
 * the new one. */
static void test_restart(void)
{
	char addr[108];
	struct t_sem up;
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;

	printf("-- restarts\n");
	t_addr(addr, sizeof(addr), "xen-restart");
	REQUIRE_OK(t_sem_init(&up));
	pid_t victim = t_fork();
	if (victim == 0) {
		REQUIRE_OK(ivc_listen(addr, NULL, &l));
		t_sem_post(&up);
		pause();
		t_child_exit();
	}
	REQUIRE_OK(t_sem_wait(&up, WAIT_MS));
	t_kill_child(victim);

	/* A connector that waits from before the new listener exists. */
	pid_t client = t_fork();
	if (client == 0) {
		REQUIRE_OK(ivc_connect(addr, NULL, WAIT_MS, &ch));
		char buf[16];
		CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), WAIT_MS), 5);
		CHECK(memcmp(buf, "again", 5) == 0);
		ivc_close(ch);
		t_child_exit();
	}
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	REQUIRE_OK(ivc_accept(l, WAIT_MS, &ch));
	CHECK_ERR(ivc_send(ch, "again", 5, WAIT_MS), 0);
	CHECK_CHILD_OK(t_wait_child(client, WAIT_MS));
	CHECK_ERR(ivc_close(ch), 0);
	ivc_listener_close(l);
	t_sem_destroy(&up);
}

/* Connect/close cycles: nothing is left behind. */
static void test_cycles(void)
{
	printf("-- 50 connect/close cycles\n");
	struct ivc_channel *a = NULL, *b = NULL;
	REQUIRE_OK(t_pair("xen-warm", NULL, NULL, &a, &b));
	ivc_close(a);
	ivc_close(b);
	int fds = t_count_fds();
	for (int i = 0; i < 50; i++) {
		REQUIRE_OK(t_pair("xen-cycle", NULL, NULL, &a, &b));
		ping(a, b, i);
		ivc_close(a);
		ivc_close(b);
	}
	CHECK_EQ(t_count_fds(), fds);
}

/* Lanes of about 760 pages each way (64 KiB buffers). */
static void big_lanes(struct ivc_options *o)
{
	ivc_options_init(o);
	o->tx.slots = 64;
	o->tx.buf_size = 65536;
	o->tx.buf_count = 46;
}

/* A child that connects with big lanes, pings, waits for @go, then closes
 * (or, with @die, waits to be killed). */
static pid_t grant_child(const char *addr, struct t_sem *go, int die)
{
	pid_t pid = t_fork();

	if (pid == 0) {
		struct ivc_options o;
		struct ivc_channel *ch = NULL;
		char buf[64];

		big_lanes(&o);
		REQUIRE_OK(ivc_connect(addr, &o, WAIT_MS, &ch));
		CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), WAIT_MS), 4);
		CHECK_ERR(ivc_send(ch, buf, 4, WAIT_MS), 0);
		CHECK_ERR(t_sem_wait(go, WAIT_MS), 0);
		if (die)
			pause();
		ivc_close(ch);
		t_child_exit();
	}
	return pid;
}

/* The side that closes first, with its peer in another process that is
 * alive, keeps its lane; the peer closing (or being killed) lets the next
 * xen call free it, and nothing is left behind. */
static void grants_peer(int kill_it)
{
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct ivc_options o;
	struct t_sem go;
	char addr[108], buf[8];
	int fds = t_count_fds();

	big_lanes(&o);
	t_addr(addr, sizeof(addr), "xen-grants");
	REQUIRE_OK(t_sem_init(&go));
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	pid_t pid = grant_child(addr, &go, kill_it);
	REQUIRE_OK(ivc_accept(l, WAIT_MS, &ch));
	CHECK_ERR(ivc_send(ch, "ping", 4, WAIT_MS), 0);
	CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), WAIT_MS), 4);
	CHECK_ERR(ivc_close(ch), 0);
	CHECK_EQ(ivc_xen_linger_count(), 1u); /* the child still maps our lane */
	if (kill_it) {
		t_kill_child(pid);
	} else {
		t_sem_post(&go);
		CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS));
	}
	ivc_listener_close(l); /* a xen call: frees what was kept */
	CHECK_EQ(ivc_xen_linger_count(), 0u);
	t_sem_destroy(&go);
	CHECK_EQ(t_count_fds(), fds);
}

static void test_grants(void)
{
	struct ivc_options o;
	struct ivc_channel *a = NULL, *b = NULL;
	int i, fds, ok = 0;

	printf("-- grants come back: 60 cycles of ~760-page lanes\n");
	big_lanes(&o);
	fds = t_count_fds();
	for (i = 0; i < 60; i++) {
		int r = t_pair("xen-grant", &o, &o, &a, &b);

		if (r) {
			t_fail(__FILE__, __LINE__, "cycle %d: %s", i, strerror(-r));
			break;
		}
		ping(a, b, i);
		/* Either side first: it keeps its lane while the other maps
		 * it, and the other's close frees both. */
		CHECK_ERR(ivc_close(i % 2 ? a : b), 0);
		CHECK_EQ(ivc_xen_linger_count(), 1u);
		CHECK_ERR(ivc_close(i % 2 ? b : a), 0);
		CHECK_EQ(ivc_xen_linger_count(), 0u);
		ok++;
	}
	CHECK_EQ(ok, 60);
	CHECK_EQ(t_count_fds(), fds);
	printf("-- grants come back: the peer in another process closes later\n");
	grants_peer(0);
	printf("-- grants come back: the peer in another process is killed\n");
	grants_peer(1);
}

/* No xenstore here: skip, loudly, unless the harness says Xen is there. */
static void need_xen(void)
{
	struct ivc_listener *l = NULL;
	int r = ivc_listen("xen:ivc-test-probe", NULL, &l);

	if (r == 0) {
		ivc_listener_close(l);
		return;
	}
	if (getenv("IVC_TEST_XEN_REQUIRED")) {
		printf("test_xen: FAILED: no working Xen: %s\n", ivc_strerror(r));
		exit(1);
	}
	printf("test_xen: SKIPPED: not running on Xen (%s); test/xen runs it in dom0\n",
	       ivc_strerror(r));
	exit(77);
}

int main(void)
{
	t_init("test_xen", 280);
	need_xen();
	setenv("IVC_TEST_TRANSPORT", "xen", 1);
	test_addresses();
	test_channel();
	test_clients();
	test_rendezvous();
	test_restart();
	test_cycles();
	test_grants();
	return t_finish();
}
