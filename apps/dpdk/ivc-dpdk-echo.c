/* SPDX-License-Identifier: MIT */
/*
 * ivc-dpdk-echo: the smallest useful DPDK application on a net_ivc port
 * (docs/nfv.md): every frame received on port 0 is sent back out of it,
 * unchanged.  One lcore, run to completion.  When the port has been idle
 * for a while the lcore turns the queue's receive interrupt on and sleeps
 * in rte_epoll_wait() until a frame comes (the l3fwd-power pattern), so an
 * idle echo costs no CPU.
 *
 *   ivc-dpdk-echo --no-huge -m 256 --no-pci -l 0 \
 *       -d build/src/dpdk/librte_net_ivc.so \
 *       --vdev net_ivc0,addr=shm:@echo,role=server -- [--no-sleep]
 *
 * It works on any port (net_memif, net_tap, a NIC); --no-sleep is for
 * ports without receive interrupts.  SIGINT or SIGTERM ends it, with the
 * port's counters printed.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction() */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_mbuf.h>

#define BURST 32
#define IDLE_POLLS 100000u /* empty polls before sleeping (about 10 ms) */
#define EPOLL_MS 100       /* wake up this often anyway */

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* SIGINT and SIGTERM end the loop, however many come.  Not signal(): in a
 * strict C11 program glibc's signal() is the System V one, whose handler
 * lasts one delivery, so a second SIGINT (timeout(1) forwards one to the
 * child and one to its group) killed the echo before it printed its
 * counters. */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "ivc-dpdk-echo: %s: %s\n", what, rte_strerror(rc < 0 ? -rc : rc));
	rte_eal_cleanup();
	return 1;
}

/* One Rx and one Tx queue, receive interrupts when @sleep. */
static int port_init(uint16_t port, struct rte_mempool *mp, int sleep)
{
	struct rte_eth_conf conf;
	int rc;

	memset(&conf, 0, sizeof(conf));
	conf.intr_conf.rxq = sleep ? 1 : 0;
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port),
					    NULL, mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port),
					    NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc == 0 && sleep)
		rc = rte_eth_dev_rx_intr_ctl_q(port, 0, RTE_EPOLL_PER_THREAD,
					       RTE_INTR_EVENT_ADD, NULL);
	return rc;
}

/* Send all of @n back, dropping what the port will not take. */
static void echo(uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = rte_eth_tx_burst(port, 0, pkts, n);

	if (sent < n)
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
}

/* Idle: sleep until the queue's interrupt fires (or EPOLL_MS pass). */
static void sleep_for_rx(uint16_t port)
{
	struct rte_epoll_event ev;

	if (rte_eth_dev_rx_intr_enable(port, 0) != 0)
		return;
	/* A frame that came between the last poll and enabling: net_ivc
	 * finds it when it arms and wakes this wait at once.  A signal ends
	 * the wait too (rte_epoll_wait() would start it over). */
	(void)rte_epoll_wait_interruptible(RTE_EPOLL_PER_THREAD, &ev, 1, EPOLL_MS);
	(void)rte_eth_dev_rx_intr_disable(port, 0);
}

int main(int argc, char **argv)
{
	struct rte_mbuf *pkts[BURST];
	struct rte_eth_stats st;
	struct rte_mempool *mp;
	uint16_t port = 0, n;
	unsigned idle = 0;
	int rc, sleep = 1;

	rc = rte_eal_init(argc, argv);
	if (rc < 0)
		return die("rte_eal_init", rte_errno);
	if (argc - rc > 1 && strcmp(argv[rc + 1], "--no-sleep") == 0)
		sleep = 0;
	if (!rte_eth_dev_is_valid_port(port))
		return die("no port 0 (give one with --vdev)", ENODEV);
	mp = rte_pktmbuf_pool_create("echo", 4095, 256, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (mp == NULL)
		return die("rte_pktmbuf_pool_create", rte_errno);
	rc = port_init(port, mp, sleep);
	if (rc != 0)
		return die("port set-up", rc);
	catch_stop_signals();
	printf("ivc-dpdk-echo: echoing on port 0%s\n", sleep ? ", sleeping when idle" : "");
	fflush(stdout);
	while (!quit) {
		n = rte_eth_rx_burst(port, 0, pkts, BURST);
		if (n > 0) {
			echo(port, pkts, n);
			idle = 0;
		} else if (sleep && ++idle >= IDLE_POLLS) {
			sleep_for_rx(port);
			idle = 0;
		}
	}
	if (rte_eth_stats_get(port, &st) == 0)
		printf("ivc-dpdk-echo: in %" PRIu64 " frames (%" PRIu64 " B), out %" PRIu64
		       " frames (%" PRIu64 " B), missed %" PRIu64 ", errors out %" PRIu64 "\n",
		       st.ipackets, st.ibytes, st.opackets, st.obytes, st.imissed,
		       st.oerrors);
	fflush(stdout); /* now, not at exit: a script may be waiting for it */
	(void)rte_eth_dev_stop(port);
	(void)rte_eth_dev_close(port);
	rte_eal_cleanup();
	return 0;
}
