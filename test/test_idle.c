/* SPDX-License-Identifier: MIT */
/*
 * test_idle - an endpoint that waits with nothing to do uses almost no CPU.
 *
 * A child connects in BLOCK and in ADAPTIVE mode and, with no traffic,
 * waits about 1 s in each of ivc_rx_burst, ivc_recv, ivc_wait(RX),
 * ivc_wait(TX) on a full ring, and a poller's run loop.  The child's CPU
 * time (the whole process: any helper thread counts) over each wait must
 * be under 5% of its wall time.  This is a resource check: the waits time
 * out normally; only the CPU they burned is judged.
 */
#include "check.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define WAIT_MS 1000
#define MAX_CPU_FRACTION 0.05

static int idle_cb(struct ivc_channel *ch, void *arg)
{
	(void)ch;
	(void)arg;
	return 0;
}

static void measure(const char *what, struct ivc_channel *ch, int which)
{
	struct ivc_buf b;
	char buf[64];
	uint64_t c0 = t_cpu_process_ns(), w0 = t_now_ns();
	long long r;
	switch (which) {
	case 0:
		r = ivc_rx_burst(ch, &b, 1, WAIT_MS);
		break;
	case 1:
		r = ivc_recv(ch, buf, sizeof(buf), WAIT_MS);
		break;
	case 2:
		r = ivc_wait(ch, IVC_EV_RX, WAIT_MS);
		break;
	default:
		r = ivc_wait(ch, IVC_EV_TX, WAIT_MS);
		break;
	}
	uint64_t cpu = t_cpu_process_ns() - c0, wall = t_now_ns() - w0;
	CHECK_ERR(r, -ETIMEDOUT);
	double frac = (double)cpu / (double)wall;
	printf("   %-22s cpu %7.3f ms over %7.1f ms wall (%.2f%%)\n", what,
	       (double)cpu / 1e6, (double)wall / 1e6, 100.0 * frac);
	if (frac < MAX_CPU_FRACTION)
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "%s: idle wait used %.1f%% CPU", what,
		       100.0 * frac);
}

static void child(const char *addr, enum ivc_mode m)
{
	struct ivc_options o;
	ivc_options_init(&o);
	o.mode = m;
	o.tx.slots = 4;
	o.tx.buf_size = 64;
	struct ivc_channel *ch = NULL;
	REQUIRE_OK(ivc_connect(addr, &o, 10000, &ch));

	measure("ivc_rx_burst", ch, 0);
	measure("ivc_recv", ch, 1);
	measure("ivc_wait(RX)", ch, 2);
	/* Fill the ring (the parent never receives): then TX waits. */
	for (int i = 0; i < 4; i++)
		CHECK_ERR(ivc_send(ch, "x", 1, 0), 0);
	measure("ivc_wait(TX), ring full", ch, 3);

	struct ivc_poller *p = NULL;
	struct ivc_poller_options po = {.cpu = -1, .mode = (int)m, .spin_max_ns = 0};
	REQUIRE_OK(ivc_poller_create(&po, &p));
	CHECK_ERR(ivc_poller_add(p, ch, idle_cb, NULL), 0);
	uint64_t c0 = t_cpu_process_ns(), w0 = t_now_ns();
	CHECK_ERR(ivc_poller_run(p, WAIT_MS), -ETIMEDOUT);
	uint64_t cpu = t_cpu_process_ns() - c0, wall = t_now_ns() - w0;
	double frac = (double)cpu / (double)wall;
	printf("   %-22s cpu %7.3f ms over %7.1f ms wall (%.2f%%)\n",
	       "ivc_poller_run", (double)cpu / 1e6, (double)wall / 1e6,
	       100.0 * frac);
	if (frac < MAX_CPU_FRACTION)
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "idle poller used %.1f%% CPU",
		       100.0 * frac);
	ivc_poller_destroy(p);
	CHECK_ERR(ivc_close(ch), 0);
	t_child_exit();
}

static void test_mode(enum ivc_mode m, const char *name)
{
	printf("-- %s\n", name);
	char addr[108];
	t_addr(addr, sizeof(addr), "idle");
	struct ivc_listener *l = NULL;
	struct ivc_options o;
	ivc_options_init(&o);
	o.mode = m;
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	fflush(stdout);
	pid_t pid = t_fork();
	if (pid == 0) {
		ivc_listener_close(l);
		child(addr, m);
	}
	struct ivc_channel *ch = NULL;
	REQUIRE_OK(ivc_accept(l, 10000, &ch));
	ivc_listener_close(l);
	/* Keep the channel open, idle, until the child is done. */
	CHECK_CHILD_OK(t_wait_child(pid, 30000));
	CHECK_ERR(ivc_close(ch), 0);
}

int main(void)
{
	t_init("test_idle", 60);
	test_mode(IVC_MODE_BLOCK, "block");
	test_mode(IVC_MODE_ADAPTIVE, "adaptive");
	return t_finish();
}
