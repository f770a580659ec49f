/* SPDX-License-Identifier: MIT */
/*
 * test_timeout - every waiting call honours timeout_ms: 0 gives -EAGAIN at
 * once, 50 gives -ETIMEDOUT after at least 50 ms (no upper bound is
 * asserted beyond a generous sanity limit), on an idle channel in each
 * mode; and a message that is there is returned even with timeout 0.
 */
#include "check.h"

#include <string.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define T_MS 50
/* Only a sanity bound: the call returned at all, not a timing claim. */
#define SANE_MS 20000

static uint64_t ms_since(uint64_t t0)
{
	return (t_now_ns() - t0) / 1000000u;
}

#define CHECK_TIMES_OUT(call)                                                \
	do {                                                                 \
		uint64_t t0_ = t_now_ns();                                   \
		CHECK_ERR((call), -ETIMEDOUT);                               \
		uint64_t e_ = ms_since(t0_);                                 \
		if (e_ >= T_MS && e_ < SANE_MS)                              \
			t_pass();                                            \
		else                                                         \
			t_fail(__FILE__, __LINE__,                           \
			       "%s returned after %llu ms, want >= %d",      \
			       #call, (unsigned long long)e_, T_MS);         \
	} while (0)

/* Poller callback: counts calls; receives whatever is there. */
static int count_cb(struct ivc_channel *ch, void *arg)
{
	char tmp[256];
	++*(int *)arg;
	ssize_t r = ivc_recv(ch, tmp, sizeof(tmp), 0);
	return r >= 0 ? 1 : r == -EAGAIN ? 0 : -1;
}

static void test_mode(enum ivc_mode m)
{
	printf("-- %s\n", t_mode_name(m));
	struct ivc_options o;
	ivc_options_init(&o);
	o.mode = m;
	o.tx.slots = 2;
	o.tx.buf_size = 64;
	o.tx.buf_count = 2;
	struct ivc_channel *a, *b;
	REQUIRE_OK(t_pair("timeout", &o, &o, &a, &b));

	struct ivc_buf buf[2];
	char data[256];

	/* Nothing to receive. */
	CHECK_ERR(ivc_rx_burst(a, buf, 2, 0), -EAGAIN);
	CHECK_TIMES_OUT(ivc_rx_burst(a, buf, 2, T_MS));
	CHECK_ERR(ivc_recv(a, data, sizeof(data), 0), -EAGAIN);
	CHECK_TIMES_OUT(ivc_recv(a, data, sizeof(data), T_MS));
	CHECK_ERR(ivc_wait(a, IVC_EV_RX, 0), -EAGAIN);
	CHECK_TIMES_OUT(ivc_wait(a, IVC_EV_RX, T_MS));
	CHECK_ERR(ivc_ready(a, IVC_EV_RX), 0);

	/* Room to send: TX is ready at once. */
	CHECK_ERR(ivc_ready(a, IVC_EV_TX), IVC_EV_TX);
	CHECK_ERR(ivc_wait(a, IVC_EV_TX, 0), IVC_EV_TX);
	CHECK_ERR(ivc_wait(a, IVC_EV_RX | IVC_EV_TX, T_MS), IVC_EV_TX);

	/* A message that is there comes with timeout 0, in every call. */
	CHECK_ERR(ivc_send(b, "hello", 5, 0), 0);
	CHECK_ERR(ivc_ready(a, IVC_EV_RX), IVC_EV_RX);
	CHECK_ERR(ivc_wait(a, IVC_EV_RX, 0), IVC_EV_RX);
	CHECK_ERR(ivc_recv(a, data, sizeof(data), 0), 5);
	CHECK(memcmp(data, "hello", 5) == 0);
	CHECK_ERR(ivc_send(b, "again", 5, 0), 0);
	CHECK_EQ(ivc_rx_burst(a, buf, 2, 0), 1);
	CHECK_EQ(buf[0].len, 5);
	CHECK(memcmp(buf[0].data, "again", 5) == 0);
	CHECK_ERR(ivc_rx_release(a, buf, 1), 0);
	CHECK_ERR(ivc_recv(a, data, sizeof(data), 0), -EAGAIN);

	/* A long message partly there is not torn by a timeout: b's pool is
	 * 2 x 64 bytes; a zero-copy chain whose end is not published yet
	 * makes ivc_recv wait for the end, then time out, and the whole
	 * message is received once its end comes. */
	struct ivc_buf t[2];
	REQUIRE_OK(t_chain2(b, t, 64, 'x', 10, 'y'));
	CHECK_EQ(ivc_tx_send(b, &t[0], 1, 0), 1);
	CHECK_ERR(ivc_recv(a, data, sizeof(data), 0), -EAGAIN);
	CHECK_TIMES_OUT(ivc_recv(a, data, sizeof(data), T_MS));
	CHECK_EQ(ivc_tx_send(b, &t[1], 1, 0), 1);
	CHECK_ERR(ivc_recv(a, data, sizeof(data), 1000), 74);
	CHECK(data[0] == 'x' && data[63] == 'x' && data[64] == 'y' && data[73] == 'y');

	/* Nothing to send with: the pool (2 buffers) is lent out. */
	CHECK_ERR(ivc_send(b, "1", 1, 0), 0);
	CHECK_ERR(ivc_send(b, "2", 1, 0), 0);
	CHECK_ERR(ivc_ready(b, IVC_EV_TX), 0);
	CHECK_ERR(ivc_wait(b, IVC_EV_TX, 0), -EAGAIN);
	CHECK_TIMES_OUT(ivc_wait(b, IVC_EV_TX, T_MS));
	CHECK_ERR(ivc_send(b, "3", 1, 0), -EAGAIN);
	CHECK_TIMES_OUT(ivc_send(b, "3", 1, T_MS));
	CHECK_ERR(ivc_tx_alloc(b, t, 1, 0), -EAGAIN);
	CHECK_TIMES_OUT(ivc_tx_alloc(b, t, 1, T_MS));
	/* ... and nothing was torn or lost by those. */
	CHECK_ERR(ivc_recv(a, data, sizeof(data), 1000), 1);
	CHECK_EQ(data[0], '1');
	CHECK_ERR(ivc_recv(a, data, sizeof(data), 1000), 1);
	CHECK_EQ(data[0], '2');
	CHECK_ERR(ivc_recv(a, data, sizeof(data), 0), -EAGAIN);
	CHECK_ERR(ivc_wait(b, IVC_EV_TX, 1000), IVC_EV_TX);

	/* The poller's run loop, serving an idle channel. */
	struct ivc_poller *p = NULL;
	struct ivc_poller_options po = {.cpu = -1, .mode = (int)m, .spin_max_ns = 0};
	int calls = 0;
	REQUIRE_OK(ivc_poller_create(&po, &p));
	CHECK_ERR(ivc_poller_add(p, a, count_cb, &calls), 0);
	CHECK_TIMES_OUT(ivc_poller_run(p, T_MS));
	CHECK_EQ(calls, 0);
	CHECK_ERR(ivc_poller_remove(p, a), 0);
	ivc_poller_destroy(p);

	CHECK_ERR(ivc_close(a), 0);
	CHECK_ERR(ivc_close(b), 0);
}

static void test_control(void)
{
	printf("-- accept/connect\n");
	char addr[108];
	t_addr(addr, sizeof(addr), "timeout-accept");
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	CHECK_ERR(ivc_accept(l, 0, &ch), -EAGAIN);
	CHECK_TIMES_OUT(ivc_accept(l, T_MS, &ch));
	CHECK(ch == NULL);
	ivc_listener_close(l);

	/* A filesystem socket that does not exist (yet): connect waits for
	 * a listener up to the timeout; with 0 it is refused at once. */
	char path[128];
	snprintf(path, sizeof(path), "shm:/tmp/ivc-test-timeout-%d.sock",
		 (int)getpid());
	unlink(path + 4);
	CHECK_ERR(ivc_connect(path, NULL, 0, &ch), -ECONNREFUSED);
	CHECK_TIMES_OUT(ivc_connect(path, NULL, T_MS, &ch));
	CHECK(ch == NULL);
	/* An abstract name nobody listens on. */
	t_addr(addr, sizeof(addr), "timeout-nobody");
	CHECK_ERR(ivc_connect(addr, NULL, 0, &ch), -ECONNREFUSED);
}

int main(void)
{
	t_init("test_timeout", 60);
	test_control();
	test_mode(IVC_MODE_ADAPTIVE);
	test_mode(IVC_MODE_POLL);
	test_mode(IVC_MODE_BLOCK);
	return t_finish();
}
