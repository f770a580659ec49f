/* SPDX-License-Identifier: MIT */
/*
 * test_doorbell - the doorbells of a shm channel are eventfds both ends
 * hold (one open file description each, passed with SCM_RIGHTS), so the
 * peer can change what they are: clear O_NONBLOCK on them, fill the
 * counters we write to up to 0xfffffffffffffffe, empty the ones we could
 * read.  None of that may make any call of ours wait beyond its timeout
 * (issue 12, finding 1).  A hostile peer (a child, connected through the
 * real handshake with the real library) does all of it and says it sleeps,
 * so that we ring it; then every call that touches a doorbell runs once and
 * must return within its bound:
 *
 *   ivc_recv (consumes: rings "room was made"), ivc_rx_burst and
 *   ivc_rx_release, ivc_send (rings "data"), ivc_arm(RX|TX), ivc_wait(RX|TX)
 *   (sleeps on both), ivc_poller_run, and ivc_close (documented never to
 *   block: rings both).
 *
 * Both roles (the victim listens, or connects to a hostile server), with
 * the hostile alive or gone after its attack (its exit does not release
 * an eventfd the victim still holds), in adaptive and block mode.
 *
 * A receiver asleep on a doorbell whose counter the peer filled is still
 * woken by the next ring, at once.
 *
 * Last, the doorbell check needs no /proc (finding 8): a pair connects in a
 * mount namespace where /proc is empty.  (Root or a user namespace is
 * needed for that; without either it says SKIPPED loudly.)
 */
#include "check.h"
#include "hostile.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#include "core/channel_pvt.h"
#include "util/compiler_pvt.h"

#define CALL_MS 300        /* the timeout given to each call */
#define BOUND_MS 1500      /* what any call may take at most */
#define PRESENT 4          /* messages the hostile sends before its attack */

/* ---- the hostile ---- */

/* The doorbells spoiled (hostile.c), and we say we sleep, both ways, so
 * that the victim rings us at its next post and its next release. */
static int spoil_bells(struct ivc_channel *ch)
{
	if (hostile_spoil_bells(ch))
		return -1;
	IVC_STORE(&ch->rx.rx_cold->rx_sleep, 1001u);
	IVC_STORE(&ch->tx.tx_cold->tx_sleep, 1001u);
	return 0;
}

static _Noreturn void hostile(struct ivc_channel *ch, struct t_sem *ready,
			      struct t_sem *done, int stay)
{
	for (int i = 0; i < PRESENT; i++)
		if (ivc_send(ch, "present", 7, 5000))
			_exit(3);
	if (spoil_bells(ch))
		_exit(4);
	t_sem_post(ready);
	if (stay)
		t_sem_wait(done, 60000);
	_exit(0);
}

/* ---- the victim ---- */

struct timing {
	const char *role;
	uint64_t worst_ns;
	const char *worst;
};

static struct timing tm;
static uint64_t call_t0;
static const char *call_name;

static void call_begin(const char *name)
{
	call_name = name;
	/* A call stuck in a doorbell fails here, naming itself above. */
	printf("      %s\n", name);
	t_watchdog(20);
	call_t0 = t_now_ns();
}

static void call_end(void)
{
	uint64_t dt = t_now_ns() - call_t0;

	if (dt > (uint64_t)BOUND_MS * 1000000u)
		t_fail(__FILE__, __LINE__, "%s: %s took %llu ms", tm.role, call_name,
		       (unsigned long long)(dt / 1000000u));
	else
		t_pass();
	if (dt > tm.worst_ns) {
		tm.worst_ns = dt;
		tm.worst = call_name;
	}
}

/* A documented outcome for a call on a channel whose peer misbehaves or
 * has gone: a result, a timeout, or the peer's end. */
static void check_ret(const char *what, long r)
{
	if (r >= 0 || r == -ETIMEDOUT || r == -EAGAIN || r == -ECONNRESET ||
	    r == -EPIPE || r == -EPROTO)
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "%s: %s: %ld (%s)", tm.role, what, r,
		       t_errname(r));
}

static int poll_cb(struct ivc_channel *ch, void *arg)
{
	struct ivc_buf b[4];
	int n = ivc_rx_burst(ch, b, 4, 0);

	(void)arg;
	if (n > 0)
		(void)ivc_rx_release(ch, b, (unsigned)n);
	return n == -EAGAIN ? 0 : n;
}

static void calls(struct ivc_channel *ch)
{
	unsigned char buf[64];
	struct ivc_buf b[4];
	struct ivc_poller *p = NULL;
	long r;

	call_begin("ivc_recv (consumes: rings the sender)");
	check_ret("ivc_recv", r = ivc_recv(ch, buf, sizeof(buf), CALL_MS));
	call_end();
	call_begin("ivc_rx_burst + ivc_rx_release");
	r = ivc_rx_burst(ch, b, 4, CALL_MS);
	check_ret("ivc_rx_burst", r);
	if (r > 0)
		check_ret("ivc_rx_release", ivc_rx_release(ch, b, (unsigned)r));
	call_end();
	for (int i = 0; i < 3; i++) {
		call_begin("ivc_send (rings the receiver)");
		check_ret("ivc_send", ivc_send(ch, "x", 1, CALL_MS));
		call_end();
	}
	call_begin("ivc_arm(RX | TX)");
	check_ret("ivc_arm", ivc_arm(ch, IVC_EV_RX | IVC_EV_TX));
	call_end();
	call_begin("ivc_wait(RX | TX)");
	check_ret("ivc_wait", ivc_wait(ch, IVC_EV_RX | IVC_EV_TX, CALL_MS));
	call_end();
	call_begin("ivc_poller_run");
	REQUIRE_OK(ivc_poller_create(NULL, &p));
	REQUIRE_OK(ivc_poller_add(p, ch, poll_cb, NULL));
	check_ret("ivc_poller_run", ivc_poller_run(p, CALL_MS));
	ivc_poller_destroy(p);
	call_end();
	call_begin("ivc_close");
	CHECK_ERR(ivc_close(ch), 0);
	call_end();
}

/* One run: the victim in @mode, listening (@victim_listens) or not; the
 * hostile stays alive (@stay) or goes after its attack. */
static void run(enum ivc_mode mode, int victim_listens, int stay)
{
	char addr[108], role[96];
	struct ivc_options o;
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct t_sem ready, done;
	int fds0 = t_count_fds();

	snprintf(role, sizeof(role), "victim %s, %s, hostile %s",
		 victim_listens ? "listens" : "connects", t_mode_name(mode),
		 stay ? "stays" : "exits");
	printf("-- %s\n", role);
	tm.role = role;
	ivc_options_init(&o);
	o.mode = mode;
	o.tx = (struct ivc_geometry){ 4, 64, 4 }; /* fills at once */
	t_addr(addr, sizeof(addr), "bell");
	REQUIRE_OK(t_sem_init(&ready));
	REQUIRE_OK(t_sem_init(&done));
	if (victim_listens)
		REQUIRE_OK(ivc_listen(addr, &o, &l));
	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_listener *hl = NULL;

		if (l)
			ivc_listener_close(l);
		if (victim_listens) {
			if (ivc_connect(addr, &o, 5000, &ch))
				_exit(2);
		} else if (ivc_listen(addr, &o, &hl) || ivc_accept(hl, 5000, &ch)) {
			_exit(2);
		}
		hostile(ch, &ready, &done, stay);
	}
	if (victim_listens) {
		REQUIRE_OK(ivc_accept(l, 5000, &ch));
		ivc_listener_close(l);
	} else {
		REQUIRE_OK(ivc_connect(addr, &o, 5000, &ch));
	}
	REQUIRE(t_sem_wait(&ready, 10000) == 0);
	if (!stay)
		CHECK_CHILD_OK(t_wait_child(pid, 5000));
	calls(ch);
	t_sem_post(&done);
	if (stay)
		CHECK_CHILD_OK(t_wait_child(pid, 5000));
	t_sem_destroy(&ready);
	t_sem_destroy(&done);
	CHECK_EQ(t_count_fds(), fds0);
}

/* ---- a full counter still wakes ---- */

struct sleeper {
	struct ivc_channel *ch;
	long r;
	uint64_t ns;
};

static void *sleeper_main(void *p)
{
	struct sleeper *sl = p;
	char buf[16];
	uint64_t t0 = t_now_ns();

	sl->r = ivc_recv(sl->ch, buf, sizeof(buf), 10000);
	sl->ns = t_now_ns() - t0;
	return NULL;
}

/* A receiver asleep on its doorbell whose counter the peer filled to
 * 2^64 - 2 (and made blocking): the sender's ring (a write of 0) must
 * still wake it, at once, not at its timeout. */
static void full_counter_wakes(void)
{
	struct ivc_options o;
	struct ivc_channel *rx, *tx;
	struct sleeper sl;
	pthread_t th;
	uint64_t v, full = 0xfffffffffffffffeull;

	printf("-- a receiver whose doorbell counter is full is still woken\n");
	ivc_options_init(&o);
	o.mode = IVC_MODE_BLOCK;
	REQUIRE_OK(t_pair("full", &o, &o, &rx, &tx));
	int bell = rx->xp->bell_fd[IVC_BELL_RX];
	(void)!read(bell, &v, sizeof(v));
	REQUIRE(write(bell, &full, sizeof(full)) == (ssize_t)sizeof(full));
	REQUIRE(fcntl(bell, F_SETFL, 0) == 0);
	sl.ch = rx;
	REQUIRE(pthread_create(&th, NULL, sleeper_main, &sl) == 0);
	/* Send once the receiver sleeps (its sleep epoch is odd). */
	while (!(IVC_LOAD(&rx->rx.rx_cold->rx_sleep) & 1))
		sched_yield();
	CHECK_ERR(ivc_send(tx, "wake", 4, 5000), 0);
	pthread_join(th, NULL);
	printf("   woken after %.1f ms (its timeout: 10000 ms)\n", (double)sl.ns / 1e6);
	CHECK_ERR(sl.r, 4);
	CHECK(sl.ns < 2000000000ull);
	ivc_close(rx);
	ivc_close(tx);
}

/* ---- no /proc ---- */

/* A private mount namespace with an empty /proc: 0, or -1 (cannot). */
static int hide_proc(void)
{
	if (unshare(CLONE_NEWNS) != 0 &&
	    unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
		return -1;
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return -1;
	return mount("none", "/proc", "tmpfs", 0, "size=4k") == 0 ? 0 : -1;
}

static void no_proc(void)
{
	printf("-- a pair without /proc\n");
	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *a, *b;
		char buf[8];

		if (hide_proc())
			_exit(77);
		if (access("/proc/self/fd", F_OK) == 0)
			_exit(78);
		CHECK_ERR(t_pair("noproc", NULL, NULL, &a, &b), 0);
		if (t_failures() == 0) {
			CHECK_ERR(ivc_send(a, "ping", 4, 5000), 0);
			CHECK_ERR(ivc_recv(b, buf, sizeof(buf), 5000), 4);
			ivc_close(a);
			ivc_close(b);
		}
		t_child_exit();
	}
	int st = t_wait_child(pid, 30000);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("!!! SKIPPED, NOT TESTED: no mount namespace here (needs root or user "
		       "namespaces): the doorbell check without /proc\n");
		return;
	}
	CHECK_CHILD_OK(st);
}

int main(void)
{
	t_init("test_doorbell", 300);
	if (t_xen()) {
		printf("test_doorbell: shm only (its doorbells are eventfds)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	run(IVC_MODE_ADAPTIVE, 1, 1);
	run(IVC_MODE_ADAPTIVE, 0, 1);
	run(IVC_MODE_ADAPTIVE, 1, 0);
	run(IVC_MODE_ADAPTIVE, 0, 0);
	run(IVC_MODE_BLOCK, 1, 1);
	run(IVC_MODE_BLOCK, 0, 1);
	printf("slowest call: %s, %.1f ms (bound %d ms)\n", tm.worst ? tm.worst : "-",
	       (double)tm.worst_ns / 1e6, BOUND_MS);
	t_watchdog(60);
	full_counter_wakes();
	no_proc();
	return t_finish();
}
