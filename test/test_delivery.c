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
 *
 * The traffic and its checks are delivery_traffic.c's, which test/xen/xdom.c
 * (`deliver`) runs between two domains; this file makes the two ends.
 */
#include "check.h"
#include "delivery_traffic.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#ifndef IVC_TEST_DEFAULT_MESSAGES
#define IVC_TEST_DEFAULT_MESSAGES 10000000ull
#endif

/* The stream (delivery_traffic.h), as the command line and environment
 * set it; the child inherits it. */
static struct delivery_cfg g_cfg;

/* ---- sender (child) --------------------------------------------------------- */

static void sender(const char *addr, int cpu)
{
	struct ivc_options o;
	struct ivc_channel *ch = NULL;
	delivery_options(&g_cfg, &o);
	if (cpu >= 0)
		CHECK_ERR(ivc_pin_thread(cpu), 0);
	REQUIRE_OK(ivc_connect(addr, &o, 10000, &ch));

	struct ivc_info info;
	REQUIRE_OK(ivc_channel_info(ch, &info));
	CHECK_EQ(info.tx.buf_size, g_cfg.buf_size);
	CHECK_EQ(info.max_tx_msg, (size_t)g_cfg.buf_size * g_cfg.slots);

	uint64_t bytes = 0;
	delivery_send(&g_cfg, ch, &bytes);
	delivery_send_after(&g_cfg, ch, bytes);
	CHECK_ERR(ivc_close(ch), 0);
	t_child_exit();
}

/* ---- receiver (parent) ------------------------------------------------------- */

/* The command line into g_cfg.  Return: 0, or 2 for a usage error. */
static int parse(int argc, char **argv)
{
	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "inline"))) {
		fprintf(stderr, "usage: %s poll|block|adaptive zc|copy [inline]\n",
			argv[0]);
		return 2;
	}
	g_cfg.inl = argc == 4;
	if (!strcmp(argv[1], "poll"))
		g_cfg.mode = IVC_MODE_POLL;
	else if (!strcmp(argv[1], "block"))
		g_cfg.mode = IVC_MODE_BLOCK;
	else if (!strcmp(argv[1], "adaptive"))
		g_cfg.mode = IVC_MODE_ADAPTIVE;
	else
		return 2;
	if (!strcmp(argv[2], "zc"))
		g_cfg.zc = 1;
	else if (strcmp(argv[2], "copy"))
		return 2;
	return 0;
}

int main(int argc, char **argv)
{
	delivery_cfg_init(&g_cfg);
	if (parse(argc, argv))
		return 2;

	static char name[64];
	snprintf(name, sizeof(name), "test_delivery_%s_%s%s", argv[1], argv[2],
		 g_cfg.inl ? "_inline" : "");
	t_init(name, 280);
	g_cfg.n = t_env_u64("IVC_TEST_MESSAGES", IVC_TEST_DEFAULT_MESSAGES);
	g_cfg.seed = t_env_u64("IVC_TEST_SEED", DELIVERY_SEED);
	printf("%s: %llu messages, seed %#llx\n", name,
	       (unsigned long long)g_cfg.n, (unsigned long long)g_cfg.seed);

	int cpus[2] = {-1, -1};
	if (ivc_cpu_list(cpus, 2) < 2)
		cpus[0] = cpus[1] = -1;

	char addr[108];
	t_addr(addr, sizeof(addr), "delivery");
	struct ivc_options o;
	delivery_options(&g_cfg, &o);
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

	uint64_t bytes = 0;
	uint64_t t0 = t_now_ns();
	uint64_t got = delivery_recv(&g_cfg, ch, &bytes);
	double secs = (double)(t_now_ns() - t0) / 1e9;
	printf("%s: received %llu messages (%llu bytes) in %.2f s: %.2f M msg/s\n",
	       name, (unsigned long long)got, (unsigned long long)bytes, secs,
	       (double)got / secs / 1e6);
	delivery_recv_after(&g_cfg, ch, got, bytes);

	CHECK_CHILD_OK(t_wait_child(pid, 30000));
	CHECK_ERR(ivc_close(ch), 0);
	return t_finish();
}
