/* SPDX-License-Identifier: MIT */
/*
 * test_poll_clock - a poll that finds nothing reads no fine clock.
 *
 * A run-to-completion loop (the libfabric provider's progress, a DPDK-style
 * loop over many channels) calls ivc_rx_burst(), ivc_recv(), ivc_send() and
 * ivc_wait() with a zero timeout millions of times a second; in a VM a
 * CLOCK_MONOTONIC read costs more than the empty look itself (a third of
 * the CPU time of an MPI bidirectional-bandwidth run was clock_gettime()).
 * This program interposes clock_gettime() and counts the fine reads that
 * 100000 empty polls of each kind make: a handful at most (before the fix:
 * one or two per poll).  The liveness check that the clock rate-limits
 * still works: a peer that dies without closing is seen by zero-timeout
 * polls alone.
 *
 * Not built in sanitizer builds: their runtimes intercept clock_gettime()
 * themselves.
 */
#include "check.h"

#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define POLLS 100000
#define FINE_MAX 16

static unsigned long fine_reads;

/* libivc's calls resolve to this definition (the executable's symbols come
 * first); the real one is the next. */
int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);

	if (!real)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	if (id == CLOCK_MONOTONIC)
		__atomic_add_fetch(&fine_reads, 1, __ATOMIC_RELAXED);
	if (!real)
		return (int)syscall(SYS_clock_gettime, id, ts);
	return real(id, ts);
}

static void count(const char *what, struct ivc_channel *ch, int which)
{
	struct ivc_buf b;
	char buf[64];
	unsigned long before = fine_reads;
	long r = 0;

	for (int i = 0; i < POLLS; i++) {
		switch (which) {
		case 0:
			r = ivc_rx_burst(ch, &b, 1, 0);
			break;
		case 1:
			r = ivc_recv(ch, buf, sizeof(buf), 0);
			break;
		default:
			r = ivc_wait(ch, IVC_EV_RX, 0);
			break;
		}
		if (r != -EAGAIN)
			break;
	}
	CHECK_EQ(r, -EAGAIN);
	printf("%-12s %d empty polls: %lu fine clock reads\n", what, POLLS, fine_reads - before);
	CHECK(fine_reads - before <= FINE_MAX);
}

/* A peer that dies without a word: zero-timeout polls alone find it. */
static void dead_peer(void)
{
	char addr[64];
	struct ivc_listener *l;
	struct ivc_channel *s;
	struct ivc_buf b;
	pid_t pid;
	int r = -EAGAIN, st;

	snprintf(addr, sizeof(addr), "shm:@ivc-test-poll-clock-%d", (int)getpid());
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	pid = fork();
	if (pid == 0) {
		struct ivc_channel *c;

		if (ivc_connect(addr, NULL, 5000, &c))
			_exit(1);
		raise(SIGKILL);
	}
	REQUIRE(pid > 0);
	REQUIRE_OK(ivc_accept(l, 5000, &s));
	REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	for (uint64_t t0 = t_now_ns(); r == -EAGAIN && t_now_ns() - t0 < 10000000000ull;)
		r = ivc_rx_burst(s, &b, 1, 0);
	CHECK_EQ(r, -ECONNRESET);
	ivc_close(s);
	ivc_listener_close(l);
}

int main(void)
{
	struct ivc_channel *s, *c;

	t_init("test_poll_clock", 60);
	REQUIRE_OK(t_pair("poll-clock", NULL, NULL, &s, &c));
	count("ivc_rx_burst", s, 0);
	count("ivc_recv", s, 1);
	count("ivc_wait", s, 2);
	ivc_close(c);
	ivc_close(s);
	dead_peer();
	return t_finish();
}
