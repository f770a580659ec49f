/* SPDX-License-Identifier: MIT */
/*
 * test_poller_close - a callback may close its own channel.
 *
 * One poller serves two channels (both ends in this process, the peers
 * driven from the main thread before the poller runs).  Channel A's
 * callback receives its message and closes A from inside the callback;
 * the poller must drop A without touching it again (ASan would report a
 * use after free) and keep serving B, whose callback stops the poller
 * after its message.  Closing a channel that is still registered outside
 * a callback must also unhook it.
 */
#include "check.h"

#include <string.h>

#include <ivc/ivc.h>

static int g_a_msgs, g_b_msgs;

static int cb_close_self(struct ivc_channel *ch, void *arg)
{
	char buf[16];
	ssize_t n = ivc_recv(ch, buf, sizeof(buf), 0);

	(void)arg;
	if (n == 1)
		g_a_msgs++;
	CHECK_ERR(ivc_close(ch), 0);
	return 0; /* not negative: the poller must notice the close itself */
}

static int cb_b(struct ivc_channel *ch, void *arg)
{
	char buf[16];
	ssize_t n = ivc_recv(ch, buf, sizeof(buf), 0);

	if (n == 1 && ++g_b_msgs == 2)
		CHECK_ERR(ivc_poller_stop(arg), 0);
	return n == -EAGAIN ? 0 : 1;
}

static void pair(const char *name, struct ivc_channel **a,
		 struct ivc_channel **b)
{
	REQUIRE_OK(t_pair(name, NULL, NULL, a, b));
}

int main(void)
{
	struct ivc_channel *a, *a_peer, *b, *b_peer, *c, *c_peer;
	struct ivc_poller *p;
	int fds0;

	t_init("test_poller_close", 60);
	fds0 = t_count_fds();
	pair("pclose-a", &a, &a_peer);
	pair("pclose-b", &b, &b_peer);
	pair("pclose-c", &c, &c_peer);
	REQUIRE_OK(ivc_poller_create(NULL, &p));
	REQUIRE_OK(ivc_poller_add(p, a, cb_close_self, NULL));
	REQUIRE_OK(ivc_poller_add(p, b, cb_b, p));
	REQUIRE_OK(ivc_poller_add(p, c, cb_b, p));
	/* Closed while registered, outside any callback. */
	CHECK_ERR(ivc_close(c), 0);
	CHECK_ERR(ivc_send(a_peer, "a", 1, 1000), 0);
	CHECK_ERR(ivc_send(b_peer, "b", 1, 1000), 0);
	CHECK_ERR(ivc_send(b_peer, "b", 1, 1000), 0);
	CHECK_ERR(ivc_poller_run(p, 10000), 0);
	CHECK_EQ(g_a_msgs, 1);
	CHECK_EQ(g_b_msgs, 2);
	/* A is gone from the poller: removing it again finds nothing, and
	 * its peer sees the orderly close. */
	char buf[4];
	CHECK_ERR(ivc_recv(a_peer, buf, sizeof(buf), 1000), -EPIPE);
	ivc_poller_destroy(p);
	ivc_close(a_peer);
	ivc_close(b);
	ivc_close(b_peer);
	ivc_close(c_peer);
	CHECK_EQ(t_count_fds(), fds0);
	return t_finish();
}
