/* SPDX-License-Identifier: MIT */
/*
 * test_delivery MODE API - two processes, millions of messages.
 *
 *   MODE: poll | block | adaptive   (both endpoints use it)
 *   API:  zc   (ivc_tx_alloc/ivc_tx_send + ivc_rx_burst/ivc_rx_release)
 *         copy (ivc_send + ivc_recv)
 *
 * The parent listens and receives; a forked child connects and sends
 * IVC_TEST_MESSAGES messages (default: IVC_TEST_DEFAULT_MESSAGES, set by
 * the build) of pseudo-random sizes from 1 byte to 32 KiB (buffers are
 * 1 KiB, so about 5% of the messages are chains of 2..32 buffers).  Message
 * i's length and bytes are a function of (seed, i); it carries i in its
 * first bytes and an FNV-1a checksum in its last four.  The receiver checks
 * every message byte for byte: no loss, duplicate, reordering or
 * corruption.  After the last message the sender closes in order and the
 * receiver must get -EPIPE.  Both sides check the byte and message counters.
 *
 * IVC_TEST_SEED changes the seed.  With 2+ CPUs the two processes are
 * pinned to different CPUs.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#ifndef IVC_TEST_DEFAULT_MESSAGES
#define IVC_TEST_DEFAULT_MESSAGES 10000000ull
#endif

#define SLOTS 256u
#define BUF_SIZE 1024u
#define BUF_COUNT 512u
#define MAX_MSG (32u * 1024u)
#define BURST 64u
#define CALL_TIMEOUT_MS 20000

static uint64_t g_n;
static uint64_t g_seed;

/*
 * Liveness: the longest time one loop iteration (one call that may wait,
 * plus generating or checking one message) took.  While the peer is busy
 * streaming, no call should wait for seconds: a call that does and then
 * succeeds was woken late (a lost wake-up rescued by its own timeout).
 * The bound is deliberately loose; it is not a performance claim.
 */
#define MAX_GAP_NS (5ull * 1000000000ull)

static void gap(uint64_t *last, uint64_t *max)
{
	uint64_t now = t_now_ns();
	if (now - *last > *max)
		*max = now - *last;
	*last = now;
}

static void check_gap(const char *who, uint64_t max)
{
	if (max < MAX_GAP_NS)
		t_pass();
	else
		t_fail(__FILE__, __LINE__,
		       "%s: one call waited %.1f s although the peer was "
		       "streaming (a late or lost wake-up)", who, (double)max / 1e9);
}
static int g_zc;
static int g_inline; /* both ends send small messages inline */
static enum ivc_mode g_mode;

static void make_opts(struct ivc_options *o)
{
	ivc_options_init(o);
	o->tx.slots = SLOTS;
	o->tx.buf_size = BUF_SIZE;
	o->tx.buf_count = BUF_COUNT;
	o->mode = g_mode;
	if (g_inline)
		o->flags |= IVC_OPT_INLINE;
}

/* A received buffer's cap: the lane's buffer size; with IVC_OPT_INLINE
 * every piece of at most 112 bytes must have come inline (cap 112). */
static int cap_ok(const struct ivc_buf *b)
{
	if (g_inline && b->len <= 112)
		return b->cap == 112;
	return b->cap == BUF_SIZE;
}

/* ---- sender (child) --------------------------------------------------------- */

static int flush(struct ivc_channel *ch, struct ivc_buf *p, unsigned *np)
{
	unsigned sent = 0;
	while (sent < *np) {
		int r = ivc_tx_send(ch, p + sent, *np - sent, CALL_TIMEOUT_MS);
		if (r <= 0) {
			t_fail(__FILE__, __LINE__, "ivc_tx_send: %d (%s)", r,
			       t_errname(r));
			return -1;
		}
		sent += (unsigned)r;
	}
	*np = 0;
	return 0;
}

static void sender(const char *addr, int cpu)
{
	struct ivc_options o;
	struct ivc_channel *ch = NULL;
	make_opts(&o);
	if (cpu >= 0)
		CHECK_ERR(ivc_pin_thread(cpu), 0);
	REQUIRE_OK(ivc_connect(addr, &o, 10000, &ch));

	struct ivc_info info;
	REQUIRE_OK(ivc_channel_info(ch, &info));
	CHECK_EQ(info.tx.buf_size, BUF_SIZE);
	CHECK_EQ(info.max_tx_msg, (size_t)BUF_SIZE * SLOTS);

	unsigned char *msg = malloc(MAX_MSG);
	REQUIRE(msg != NULL);
	struct ivc_buf pend[BURST];
	unsigned np = 0;
	uint64_t bytes = 0;
	uint64_t i, last = t_now_ns(), maxgap = 0;

	for (i = 0; i < g_n; i++) {
		gap(&last, &maxgap);
		size_t len = t_msg_len(g_seed, i, MAX_MSG);
		t_msg_fill(g_seed, i, msg, len);
		bytes += len;
		if (!g_zc) {
			int r = ivc_send(ch, msg, len, CALL_TIMEOUT_MS);
			if (r != 0) {
				t_fail(__FILE__, __LINE__,
				       "ivc_send(#%llu, %zu bytes): %d (%s)",
				       (unsigned long long)i, len, r, t_errname(r));
				break;
			}
			continue;
		}
		unsigned nb = (unsigned)((len + BUF_SIZE - 1) / BUF_SIZE);
		if (np + nb > BURST && flush(ch, pend, &np))
			break;
		unsigned got = 0;
		while (got < nb) {
			int r = ivc_tx_alloc(ch, pend + np + got, nb - got,
					     CALL_TIMEOUT_MS);
			if (r <= 0 || (unsigned)r > nb - got) {
				t_fail(__FILE__, __LINE__, "ivc_tx_alloc: %d (%s)",
				       r, t_errname(r));
				goto out;
			}
			got += (unsigned)r;
		}
		size_t off = 0;
		for (unsigned k = 0; k < nb; k++) {
			struct ivc_buf *b = &pend[np + k];
			size_t chunk = len - off < BUF_SIZE ? len - off : BUF_SIZE;
			if (b->cap != BUF_SIZE || b->data == NULL) {
				t_fail(__FILE__, __LINE__,
				       "allocated buffer: cap %u data %p", b->cap,
				       b->data);
				goto out;
			}
			memcpy(b->data, msg + off, chunk);
			b->len = (uint32_t)chunk;
			b->flags = k + 1 < nb ? IVC_BUF_MORE : 0;
			off += chunk;
		}
		np += nb;
	}
	if (g_zc && i == g_n)
		flush(ch, pend, &np);
out:
	CHECK_EQ(i, g_n);
	check_gap("sender", maxgap);
	if (g_zc) {
		/* ivc_tx_free(): unsent buffers go back to the pool. */
		struct ivc_buf b[3];
		int r = ivc_tx_alloc(ch, b, 3, CALL_TIMEOUT_MS);
		CHECK(r >= 1);
		if (r >= 1) {
			CHECK_ERR(ivc_tx_free(ch, b, (unsigned)r), 0);
			CHECK_ERR(ivc_tx_free(ch, b, 1), -EINVAL); /* twice */
		}
	}
	struct ivc_stats st;
	REQUIRE_OK(ivc_stats_get(ch, &st));
	CHECK_EQ(st.tx_msgs, g_n);
	CHECK_EQ(st.tx_bytes, bytes);
	CHECK(st.tx_bufs >= g_n);
	if (g_mode == IVC_MODE_POLL)
		CHECK_EQ(st.sleeps, 0);
	printf("sender: %llu msgs, %llu bytes, %llu bufs, doorbells %llu, "
	       "sleeps %llu, ring_full %llu, pool_empty %llu\n",
	       (unsigned long long)st.tx_msgs, (unsigned long long)st.tx_bytes,
	       (unsigned long long)st.tx_bufs, (unsigned long long)st.doorbells,
	       (unsigned long long)st.sleeps,
	       (unsigned long long)st.ring_full_stalls,
	       (unsigned long long)st.pool_empty_stalls);
	CHECK_ERR(ivc_close(ch), 0);
	free(msg);
	t_child_exit();
}

/* ---- receiver (parent) ------------------------------------------------------- */

static uint64_t receive_zc(struct ivc_channel *ch, unsigned char *asmb,
			   unsigned char *scratch, uint64_t *bytes)
{
	struct ivc_buf b[BURST];
	size_t alen = 0;
	uint64_t seq = 0, bursts = 0, last = t_now_ns(), maxgap = 0;
	int bad = 0;

	while (seq < g_n && !bad) {
		gap(&last, &maxgap);
		int r = ivc_rx_burst(ch, b, BURST, CALL_TIMEOUT_MS);
		if (r <= 0 || (unsigned)r > BURST) {
			t_fail(__FILE__, __LINE__,
			       "ivc_rx_burst after %llu messages: %d (%s)",
			       (unsigned long long)seq, r, t_errname(r));
			return seq;
		}
		for (int k = 0; k < r && !bad; k++) {
			if (!cap_ok(&b[k]) || b[k].len > b[k].cap ||
			    (b[k].flags & ~IVC_BUF_MORE) ||
			    alen + b[k].len > MAX_MSG || seq >= g_n) {
				t_fail(__FILE__, __LINE__,
				       "message %llu: bad buffer len %u cap %u "
				       "flags %#x (so far %zu)",
				       (unsigned long long)seq, b[k].len,
				       b[k].cap, b[k].flags, alen);
				bad = 1;
				break;
			}
			memcpy(asmb + alen, b[k].data, b[k].len);
			alen += b[k].len;
			if (b[k].flags & IVC_BUF_MORE)
				continue;
			const char *why = t_msg_verify(g_seed, seq, MAX_MSG, asmb,
						       alen, scratch);
			if (why) {
				t_fail(__FILE__, __LINE__, "message %llu: %s",
				       (unsigned long long)seq, why);
				bad = 1;
			}
			*bytes += alen;
			alen = 0;
			seq++;
		}
		/* Release in order, or one by one in reverse order. */
		bursts++;
		if (bursts % 8 == 0) {
			for (int k = r - 1; k >= 0; k--)
				if (ivc_rx_release(ch, &b[k], 1) != 0)
					bad = 1;
		} else if (ivc_rx_release(ch, b, (unsigned)r) != 0) {
			bad = 1;
		}
		CHECK(!bad);
	}
	CHECK_EQ(alen, 0); /* no chain left open */
	check_gap("receiver", maxgap);
	return seq;
}

static uint64_t receive_copy(struct ivc_channel *ch, unsigned char *buf,
			     unsigned char *scratch, uint64_t *bytes)
{
	uint64_t seq, last = t_now_ns(), maxgap = 0;
	for (seq = 0; seq < g_n; seq++) {
		gap(&last, &maxgap);
		size_t want = t_msg_len(g_seed, seq, MAX_MSG);
		ssize_t r;
		if (seq % 1009 == 0) {
			/* Too small a buffer: -EMSGSIZE, the message stays. */
			r = ivc_recv(ch, buf, want - 1, CALL_TIMEOUT_MS);
			if (r != -EMSGSIZE) {
				t_fail(__FILE__, __LINE__,
				       "ivc_recv(cap %zu < len %zu) of #%llu: %zd (%s)",
				       want - 1, want, (unsigned long long)seq,
				       r, t_errname(r));
				return seq;
			}
		}
		r = ivc_recv(ch, buf, MAX_MSG, CALL_TIMEOUT_MS);
		if (r < 0) {
			t_fail(__FILE__, __LINE__,
			       "ivc_recv after %llu messages: %zd (%s)",
			       (unsigned long long)seq, r, t_errname(r));
			return seq;
		}
		const char *why = t_msg_verify(g_seed, seq, MAX_MSG, buf,
					       (size_t)r, scratch);
		if (why) {
			t_fail(__FILE__, __LINE__, "message %llu: %s",
			       (unsigned long long)seq, why);
			return seq;
		}
		*bytes += (size_t)r;
	}
	check_gap("receiver", maxgap);
	return seq;
}

int main(int argc, char **argv)
{
	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "inline"))) {
		fprintf(stderr, "usage: %s poll|block|adaptive zc|copy [inline]\n",
			argv[0]);
		return 2;
	}
	g_inline = argc == 4;
	if (!strcmp(argv[1], "poll"))
		g_mode = IVC_MODE_POLL;
	else if (!strcmp(argv[1], "block"))
		g_mode = IVC_MODE_BLOCK;
	else if (!strcmp(argv[1], "adaptive"))
		g_mode = IVC_MODE_ADAPTIVE;
	else
		return 2;
	if (!strcmp(argv[2], "zc"))
		g_zc = 1;
	else if (strcmp(argv[2], "copy"))
		return 2;

	static char name[64];
	snprintf(name, sizeof(name), "test_delivery_%s_%s%s", argv[1], argv[2],
		 g_inline ? "_inline" : "");
	t_init(name, 280);
	g_n = t_env_u64("IVC_TEST_MESSAGES", IVC_TEST_DEFAULT_MESSAGES);
	g_seed = t_env_u64("IVC_TEST_SEED", 0x1dc0ffee);
	printf("%s: %llu messages, seed %#llx\n", name,
	       (unsigned long long)g_n, (unsigned long long)g_seed);

	int cpus[2] = {-1, -1};
	if (ivc_cpu_list(cpus, 2) < 2)
		cpus[0] = cpus[1] = -1;

	char addr[108];
	t_addr(addr, sizeof(addr), "delivery");
	struct ivc_options o;
	make_opts(&o);
	struct ivc_listener *l = NULL;
	REQUIRE_OK(ivc_listen(addr, &o, &l));

	pid_t pid = t_fork();
	if (pid == 0) {
		ivc_listener_close(l); /* the child's copy */
		sender(addr, cpus[1]);
	}
	if (cpus[0] >= 0)
		CHECK_ERR(ivc_pin_thread(cpus[0]), 0);

	struct ivc_channel *ch = NULL;
	REQUIRE_OK(ivc_accept(l, 10000, &ch));
	ivc_listener_close(l);

	unsigned char *buf = malloc(MAX_MSG), *scratch = malloc(MAX_MSG);
	REQUIRE(buf && scratch);
	uint64_t bytes = 0;
	uint64_t t0 = t_now_ns();
	uint64_t got = g_zc ? receive_zc(ch, buf, scratch, &bytes)
			    : receive_copy(ch, buf, scratch, &bytes);
	double secs = (double)(t_now_ns() - t0) / 1e9;
	CHECK_EQ(got, g_n);
	printf("%s: received %llu messages (%llu bytes) in %.2f s: %.2f M msg/s\n",
	       name, (unsigned long long)got, (unsigned long long)bytes, secs,
	       (double)got / secs / 1e6);

	/* The sender closed in order after its last message: -EPIPE, and
	 * nothing more (an extra message would be a duplicate). */
	if (got == g_n) {
		if (g_zc) {
			struct ivc_buf b[1];
			CHECK_ERR(ivc_rx_burst(ch, b, 1, CALL_TIMEOUT_MS), -EPIPE);
			CHECK_ERR(ivc_rx_burst(ch, b, 1, 0), -EPIPE);
		} else {
			CHECK_ERR(ivc_recv(ch, buf, MAX_MSG, CALL_TIMEOUT_MS), -EPIPE);
			CHECK_ERR(ivc_recv(ch, buf, MAX_MSG, 0), -EPIPE);
		}
		CHECK_ERR(ivc_channel_error(ch), -EPIPE);
	}
	struct ivc_stats st;
	CHECK_ERR(ivc_stats_get(ch, &st), 0);
	CHECK_EQ(st.rx_msgs, got);
	CHECK_EQ(st.rx_bytes, bytes);
	if (g_mode == IVC_MODE_POLL)
		CHECK_EQ(st.sleeps, 0);
	printf("receiver: rx_bufs %llu, doorbells %llu, sleeps %llu, "
	       "spin_hits %llu, yields %llu\n",
	       (unsigned long long)st.rx_bufs, (unsigned long long)st.doorbells,
	       (unsigned long long)st.sleeps, (unsigned long long)st.spin_hits,
	       (unsigned long long)st.yields);

	CHECK_CHILD_OK(t_wait_child(pid, 30000));
	CHECK_ERR(ivc_close(ch), 0);
	free(buf);
	free(scratch);
	return t_finish();
}
