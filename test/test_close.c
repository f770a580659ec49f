/* SPDX-License-Identifier: MIT */
/*
 * test_close - the end of a channel, across two processes.
 *
 * Orderly close drains:
 *  - the child sends N messages, closes and exits before the parent
 *    receives anything: the parent gets all N in order, then -EPIPE (not
 *    -ECONNRESET: the close was orderly), and sending to it gives -EPIPE;
 *  - the same with a long stream the parent receives while it is sent.
 * A peer killed with SIGKILL:
 *  - after its sends returned: the survivor receives all K, then
 *    -ECONNRESET (zero-copy and copying receive);
 *  - while the survivor is blocked in a receive (each mode): the receive
 *    returns -ECONNRESET, long before its timeout;
 *  - while the survivor is blocked sending on a full ring / empty pool:
 *    -ECONNRESET or -EPIPE, long before the timeout.
 * Every wait has a finite timeout; children are killed and reaped on any
 * failure.
 */
#include "check.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define SEED 0xc105eull
#define SMALL_MAX 8192u /* t_msg_len() cap for messages that must fit */
#define LONG_WAIT_MS 10000

#ifdef IVC_TEST_SANITIZE
#define STREAM_MSGS 50000u
#else
#define STREAM_MSGS 500000u
#endif

static uint64_t ms_since(uint64_t t0)
{
	return (t_now_ns() - t0) / 1000000u;
}

/* Listen at a fresh address with @o; the caller forks, the child connects. */
static struct ivc_listener *listen_at(char *addr, size_t size, const char *name,
				      const struct ivc_options *o)
{
	struct ivc_listener *l = NULL;
	t_addr(addr, size, name);
	REQUIRE_OK(ivc_listen(addr, o, &l));
	return l;
}

static struct ivc_channel *child_connect(struct ivc_listener *l,
					 const char *addr,
					 const struct ivc_options *o)
{
	struct ivc_channel *ch = NULL;
	ivc_listener_close(l); /* the child's copy (abstract: nothing unlinked) */
	REQUIRE_OK(ivc_connect(addr, o, LONG_WAIT_MS, &ch));
	return ch;
}

/* Send messages [from, to) of stream SEED (lengths <= max). */
static int send_range(struct ivc_channel *ch, uint64_t from, uint64_t to,
		      size_t max)
{
	static unsigned char msg[SMALL_MAX];
	for (uint64_t i = from; i < to; i++) {
		size_t len = t_msg_len(SEED, i, max);
		t_msg_fill(SEED, i, msg, len);
		int r = ivc_send(ch, msg, len, LONG_WAIT_MS);
		if (r != 0) {
			t_fail(__FILE__, __LINE__, "ivc_send #%llu: %d (%s)",
			       (unsigned long long)i, r, t_errname(r));
			return r;
		}
	}
	return 0;
}

/*
 * Receive messages [0, n) of stream SEED with ivc_recv (zc = 0) or
 * ivc_rx_burst (zc = 1), then return what the next receive returns.
 */
static int recv_all(struct ivc_channel *ch, uint64_t n, size_t max, int zc,
		    int timeout_ms)
{
	static unsigned char buf[SMALL_MAX], scratch[SMALL_MAX];
	uint64_t seq = 0;
	size_t alen = 0;
	for (;;) {
		const char *why = NULL;
		if (!zc) {
			ssize_t r = ivc_recv(ch, buf, sizeof(buf), timeout_ms);
			if (r < 0) {
				CHECK_EQ(seq, n);
				return (int)r;
			}
			if (seq >= n) {
				t_fail(__FILE__, __LINE__, "message beyond #%llu",
				       (unsigned long long)n);
				return 0;
			}
			why = t_msg_verify(SEED, seq, max, buf, (size_t)r, scratch);
			seq++;
		} else {
			struct ivc_buf b[16];
			int r = ivc_rx_burst(ch, b, 16, timeout_ms);
			if (r < 0) {
				CHECK_EQ(seq, n);
				CHECK_EQ(alen, 0);
				return r;
			}
			for (int k = 0; k < r && !why; k++) {
				if (alen + b[k].len > sizeof(buf) || seq >= n) {
					why = "too long, or beyond the last message";
					break;
				}
				memcpy(buf + alen, b[k].data, b[k].len);
				alen += b[k].len;
				if (b[k].flags & IVC_BUF_MORE)
					continue;
				why = t_msg_verify(SEED, seq, max, buf, alen, scratch);
				alen = 0;
				seq++;
			}
			CHECK_ERR(ivc_rx_release(ch, b, (unsigned)r), 0);
		}
		if (why) {
			t_fail(__FILE__, __LINE__, "message #%llu: %s",
			       (unsigned long long)seq - 1, why);
			return 0;
		}
	}
}

/* ---- orderly close ----------------------------------------------------------- */

static void test_close_then_drain(int zc)
{
	printf("-- orderly close, then drain (%s)\n", zc ? "zero-copy" : "copy");
	char addr[108];
	struct ivc_options o;
	ivc_options_init(&o); /* 256 slots, 4 KiB x 512 */
	struct ivc_listener *l = listen_at(addr, sizeof(addr), "close", &o);
	const uint64_t n = 100; /* <= 8 KiB each: at most 200 descriptors */

	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *ch = child_connect(l, addr, &o);
		send_range(ch, 0, n, SMALL_MAX);
		CHECK_ERR(ivc_close(ch), 0);
		t_child_exit();
	}
	struct ivc_channel *ch = NULL;
	REQUIRE_OK(ivc_accept(l, LONG_WAIT_MS, &ch));
	ivc_listener_close(l);
	/* The child has closed and exited before we receive anything. */
	CHECK_CHILD_OK(t_wait_child(pid, LONG_WAIT_MS));
	CHECK_ERR(ivc_ready(ch, IVC_EV_RX), IVC_EV_RX);

	CHECK_ERR(recv_all(ch, n, SMALL_MAX, zc, LONG_WAIT_MS), -EPIPE);
	CHECK_ERR(ivc_channel_error(ch), -EPIPE);
	/* Sticky, and the other calls agree. */
	char c;
	CHECK_ERR(ivc_recv(ch, &c, 1, 0), -EPIPE);
	struct ivc_buf b;
	CHECK_ERR(ivc_rx_burst(ch, &b, 1, 0), -EPIPE);
	CHECK_ERR(ivc_send(ch, "x", 1, 1000), -EPIPE);
	CHECK_ERR(ivc_tx_alloc(ch, &b, 1, 1000), -EPIPE);
	CHECK_ERR(ivc_wait(ch, IVC_EV_TX, 1000), -EPIPE);
	CHECK_ERR(ivc_close(ch), 0);
}

static void test_close_while_streaming(void)
{
	/* IVC_TEST_MESSAGES shortens it where the CPU is slow (the Xen
	 * harness runs under TCG). */
	uint32_t n = (uint32_t)t_env_u64("IVC_TEST_MESSAGES", STREAM_MSGS);

	if (n == 0 || n > STREAM_MSGS)
		n = STREAM_MSGS;
	printf("-- orderly close at the end of a %u-message stream\n", n);
	char addr[108];
	struct ivc_options o;
	ivc_options_init(&o);
	o.tx.slots = 16;
	o.tx.buf_size = 256;
	o.tx.buf_count = 32; /* largest message: 4 KiB */
	struct ivc_listener *l = listen_at(addr, sizeof(addr), "closestream", &o);

	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *ch = child_connect(l, addr, &o);
		send_range(ch, 0, n, 4096);
		CHECK_ERR(ivc_close(ch), 0);
		t_child_exit(); /* exits at once: the parent is still reading */
	}
	struct ivc_channel *ch = NULL;
	REQUIRE_OK(ivc_accept(l, LONG_WAIT_MS, &ch));
	ivc_listener_close(l);
	CHECK_ERR(recv_all(ch, n, 4096, 1, LONG_WAIT_MS), -EPIPE);
	CHECK_CHILD_OK(t_wait_child(pid, LONG_WAIT_MS));
	CHECK_ERR(ivc_close(ch), 0);
}

/* ---- SIGKILL ------------------------------------------------------------------ */

static void test_killed_after_sends(int zc)
{
	printf("-- peer killed after its sends returned (%s)\n",
	       zc ? "zero-copy" : "copy");
	char addr[108];
	struct ivc_options o;
	ivc_options_init(&o);
	struct ivc_listener *l = listen_at(addr, sizeof(addr), "killed", &o);
	struct t_sem sent, never;
	REQUIRE_OK(t_sem_init(&sent));
	REQUIRE_OK(t_sem_init(&never));
	const uint64_t k = 100;

	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *ch = child_connect(l, addr, &o);
		if (send_range(ch, 0, k, SMALL_MAX) == 0)
			t_sem_post(&sent);
		t_sem_wait(&never, LONG_WAIT_MS); /* until killed */
		t_child_exit();
	}
	struct ivc_channel *ch = NULL;
	REQUIRE_OK(ivc_accept(l, LONG_WAIT_MS, &ch));
	ivc_listener_close(l);
	REQUIRE_OK(t_sem_wait(&sent, LONG_WAIT_MS));
	t_kill_child(pid);

	uint64_t t0 = t_now_ns();
	CHECK_ERR(recv_all(ch, k, SMALL_MAX, zc, LONG_WAIT_MS), -ECONNRESET);
	CHECK(ms_since(t0) < LONG_WAIT_MS);
	CHECK_ERR(ivc_channel_error(ch), -ECONNRESET);
	char c;
	CHECK_ERR(ivc_recv(ch, &c, 1, 0), -ECONNRESET);
	CHECK_ERR(ivc_wait(ch, IVC_EV_TX, 1000), -ECONNRESET);
	CHECK_ERR(ivc_send(ch, "x", 1, 1000), -ECONNRESET);
	CHECK_ERR(ivc_close(ch), 0);
	t_sem_destroy(&sent);
	t_sem_destroy(&never);
}

static void test_killed_while_receiving(enum ivc_mode m)
{
	printf("-- peer dies while we are blocked receiving (%s)\n", t_mode_name(m));
	char addr[108];
	struct ivc_options o;
	ivc_options_init(&o);
	o.mode = m;
	struct ivc_listener *l = listen_at(addr, sizeof(addr), "killrx", &o);
	struct t_sem go;
	REQUIRE_OK(t_sem_init(&go));

	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *ch = child_connect(l, addr, &o);
		CHECK_ERR(ivc_send(ch, "last words", 10, LONG_WAIT_MS), 0);
		if (t_sem_wait(&go, LONG_WAIT_MS) == 0)
			raise(SIGKILL);
		t_child_exit();
	}
	struct ivc_channel *ch = NULL;
	REQUIRE_OK(ivc_accept(l, LONG_WAIT_MS, &ch));
	ivc_listener_close(l);
	char buf[64];
	CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), LONG_WAIT_MS), 10);
	t_sem_post(&go); /* the child kills itself while we wait below */
	uint64_t t0 = t_now_ns();
	struct ivc_buf b;
	CHECK_ERR(ivc_rx_burst(ch, &b, 1, LONG_WAIT_MS), -ECONNRESET);
	CHECK(ms_since(t0) < LONG_WAIT_MS);
	int st = t_wait_child(pid, LONG_WAIT_MS);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK_ERR(ivc_wait(ch, IVC_EV_RX, 0), -ECONNRESET);
	CHECK_ERR(ivc_close(ch), 0);
	t_sem_destroy(&go);
}

/* What the parent blocks in when the receiving child dies. */
enum blocked_call { IN_SEND, IN_TX_SEND, IN_TX_ALLOC, IN_WAIT_TX };

static void test_killed_while_sending(enum ivc_mode m, enum blocked_call what)
{
	static const char *names[] = {"ivc_send", "ivc_tx_send", "ivc_tx_alloc",
				      "ivc_wait(TX)"};
	printf("-- peer dies while we are blocked in %s (%s)\n", names[what],
	       t_mode_name(m));
	char addr[108];
	struct ivc_options o;
	ivc_options_init(&o);
	o.mode = m;
	o.tx.slots = 4;
	o.tx.buf_size = 64;
	/* IN_TX_ALLOC: the pool runs out first; else the ring does. */
	o.tx.buf_count = what == IN_TX_ALLOC ? 4 : 16;
	struct ivc_listener *l = listen_at(addr, sizeof(addr), "killtx", &o);
	struct t_sem go;
	REQUIRE_OK(t_sem_init(&go));

	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *ch = child_connect(l, addr, &o);
		(void)ch; /* never receive; die with it open */
		if (t_sem_wait(&go, LONG_WAIT_MS) == 0)
			raise(SIGKILL);
		t_child_exit();
	}
	struct ivc_channel *ch = NULL;
	REQUIRE_OK(ivc_accept(l, LONG_WAIT_MS, &ch));
	ivc_listener_close(l);
	for (int i = 0; i < 4; i++)
		CHECK_ERR(ivc_send(ch, "fill", 4, 0), 0);
	struct ivc_buf b;
	if (what == IN_TX_SEND)
		REQUIRE_EQ(ivc_tx_alloc(ch, &b, 1, 0), 1);
	t_sem_post(&go);
	uint64_t t0 = t_now_ns();
	int r;
	switch (what) {
	case IN_SEND:
		r = ivc_send(ch, "more", 4, LONG_WAIT_MS);
		break;
	case IN_TX_SEND:
		b.len = 1;
		b.flags = 0;
		r = ivc_tx_send(ch, &b, 1, LONG_WAIT_MS);
		break;
	case IN_TX_ALLOC:
		r = ivc_tx_alloc(ch, &b, 1, LONG_WAIT_MS);
		break;
	default:
		r = ivc_wait(ch, IVC_EV_TX, LONG_WAIT_MS);
		break;
	}
	if (r == -ECONNRESET || r == -EPIPE)
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "%s: %d (%s), want -ECONNRESET or -EPIPE",
		       names[what], r, t_errname(r));
	CHECK(ms_since(t0) < LONG_WAIT_MS);
	int st = t_wait_child(pid, LONG_WAIT_MS);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	printf("   %s returned %d (%s)\n", names[what], r, t_errname(r));
	/* The peer was killed: a receive (nothing to drain) says so, and
	 * from then on the channel is broken with that error. */
	CHECK_ERR(ivc_rx_burst(ch, &b, 1, 1000), -ECONNRESET);
	CHECK_ERR(ivc_channel_error(ch), -ECONNRESET);
	CHECK_ERR(ivc_send(ch, "x", 1, 0), -ECONNRESET);
	CHECK_ERR(ivc_close(ch), 0);
	t_sem_destroy(&go);
}

int main(void)
{
	t_init("test_close", 100);
	test_close_then_drain(0);
	test_close_then_drain(1);
	test_close_while_streaming();
	test_killed_after_sends(0);
	test_killed_after_sends(1);
	static const enum ivc_mode modes[] = {IVC_MODE_ADAPTIVE, IVC_MODE_POLL,
					      IVC_MODE_BLOCK};
	for (unsigned i = 0; i < 3; i++) {
		test_killed_while_receiving(modes[i]);
		for (int w = IN_SEND; w <= IN_WAIT_TX; w++)
			test_killed_while_sending(modes[i], (enum blocked_call)w);
	}
	return t_finish();
}
