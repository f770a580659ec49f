/* SPDX-License-Identifier: MIT */
/*
 * test_poll_reads - an empty zero-timeout poll over tcp makes one read.
 *
 * A run-to-completion loop (the libfabric provider's progress, a DPDK-style
 * loop, the poller) calls ivc_rx_burst(), ivc_recv(), ivc_wait() and
 * ivc_ready() with a zero timeout millions of times a second.  Over tcp
 * each such look has to ask the socket, and that system call is most of
 * what an empty look costs: one is needed, a second only doubles it.  This
 * program interposes recv() and counts the reads that POLLS empty polls of
 * each kind make (before the fix: two per ivc_rx_burst()).  What must
 * still work with one read: a message the peer sends is found by
 * zero-timeout polls alone, and so is the peer's close after it.
 *
 * Not built in sanitizer builds: their runtimes intercept recv() themselves.
 */
#include "check.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define POLLS 20000
#define SPARE 16 /* reads allowed beyond one a poll */

static unsigned long reads;

/* libivc's calls resolve to this definition (the executable's symbols come
 * first); the real one is the next. */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, void *, size_t, int);

	if (!real)
		real = (ssize_t(*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
	__atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
	if (!real)
		return syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
	return real(fd, buf, len, flags);
}

/* One zero-timeout poll of kind @which: what it returned. */
static long poll_once(struct ivc_channel *ch, int which, struct ivc_buf *b, char *buf,
		      size_t cap)
{
	switch (which) {
	case 0:
		return ivc_rx_burst(ch, b, 1, 0);
	case 1:
		return ivc_recv(ch, buf, cap, 0);
	case 2:
		return ivc_wait(ch, IVC_EV_RX, 0);
	default:
		return ivc_ready(ch, IVC_EV_RX) ? 1 : -EAGAIN;
	}
}

static const char *const kinds[] = { "ivc_rx_burst", "ivc_recv", "ivc_wait", "ivc_ready" };

/* POLLS polls of kind @which on @ch, each finding nothing, make at most
 * one read each. */
static void count(struct ivc_channel *ch, int which)
{
	struct ivc_buf b;
	char buf[64];
	unsigned long before = reads;
	long r = 0;

	for (int i = 0; i < POLLS; i++)
		if ((r = poll_once(ch, which, &b, buf, sizeof(buf))) != -EAGAIN)
			break;
	CHECK_EQ(r, -EAGAIN);
	printf("%-12s %d empty polls over tcp: %lu reads\n", kinds[which], POLLS, reads - before);
	CHECK(reads - before <= POLLS + SPARE);
}

/* A message from @tx is found by zero-timeout polls of kind @which on @rx,
 * within ten seconds. */
static void found(struct ivc_channel *tx, struct ivc_channel *rx, int which)
{
	struct ivc_buf b;
	char buf[64];
	long r = -EAGAIN;

	REQUIRE_OK(ivc_send(tx, "ping", 4, 5000));
	for (uint64_t t0 = t_now_ns(); r == -EAGAIN && t_now_ns() - t0 < 10000000000ull;)
		r = poll_once(rx, which, &b, buf, sizeof(buf));
	switch (which) {
	case 0:
		CHECK_EQ(r, 1);
		CHECK_EQ(b.len, 4u);
		CHECK(!memcmp(b.data, "ping", 4));
		CHECK_OK(ivc_rx_release(rx, &b, 1));
		break;
	case 1:
		CHECK_EQ(r, 4);
		CHECK(!memcmp(buf, "ping", 4));
		break;
	default: /* ready: take it */
		CHECK(r > 0);
		CHECK_EQ(ivc_recv(rx, buf, sizeof(buf), 0), 4);
		break;
	}
}

/* The peer's close is found by zero-timeout ivc_rx_burst() alone. */
static void closed(struct ivc_channel *tx, struct ivc_channel *rx)
{
	struct ivc_buf b;
	int r = -EAGAIN;

	ivc_close(tx);
	for (uint64_t t0 = t_now_ns(); t_now_ns() - t0 < 10000000000ull;) {
		r = ivc_rx_burst(rx, &b, 1, 0);
		if (r == 1)
			CHECK_OK(ivc_rx_release(rx, &b, 1));
		else if (r != -EAGAIN)
			break;
	}
	CHECK(r == -EPIPE || r == -ECONNRESET);
}

static void pair(struct ivc_channel **s, struct ivc_channel **c)
{
	struct ivc_options o;
	int rc;

	ivc_options_init(&o);
	o.mode = IVC_MODE_POLL;
	rc = setenv("IVC_TEST_TRANSPORT", "tcp", 1);
	REQUIRE_OK(rc);
	REQUIRE_OK(t_pair("poll-reads", &o, &o, s, c));
}

int main(void)
{
	struct ivc_channel *s, *c;

	t_init("test_poll_reads", 60);
	pair(&s, &c);
	for (int k = 0; k < 4; k++)
		count(s, k);
	for (int k = 0; k < 4; k++)
		found(c, s, k);
	closed(c, s);
	ivc_close(s);
	return t_finish();
}
