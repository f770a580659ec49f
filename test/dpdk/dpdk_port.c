/* SPDX-License-Identifier: MIT */
/*
 * Port 0 of ivc-dpdk-check: its mbuf pools, configuration (MTU, scatter,
 * multi-segment TX, interrupts), start, link and restart; and the files
 * the tests synchronise on.
 */
#include "dpdk_check.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_interrupts.h>
#include <rte_lcore.h>

#define RX_POOL_MBUFS 8191u
#define POOL_CACHE 128u
#define TX_POOL_BYTES (96ull << 20)

uint64_t chk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void nap_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int chk_touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || close(fd) != 0) {
		fprintf(stderr, "ivc-dpdk-check: cannot create %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Polls for the file every millisecond: a bounded wait for an event the
 * other side signals, not a guess at how long it takes. */
int chk_wait_file(const char *path, uint32_t timeout_ms)
{
	uint64_t deadline = chk_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	while (access(path, F_OK) != 0) {
		if (chk_interrupted || chk_now_ns() >= deadline) {
			fprintf(stderr,
				"ivc-dpdk-check: %s did not appear within %" PRIu32
				" ms\n", path, timeout_ms);
			return -1;
		}
		nap_ms(1);
	}
	return 0;
}

static struct rte_mempool *pool(const char *name, unsigned n,
				uint32_t room, int socket)
{
	struct rte_mempool *mp;

	mp = rte_pktmbuf_pool_create(name, n, POOL_CACHE, 0,
				     (uint16_t)(room + RTE_PKTMBUF_HEADROOM),
				     socket);
	if (mp == NULL)
		fprintf(stderr,
			"ivc-dpdk-check: cannot create the mbuf pool %s (%u mbufs of %"
			PRIu32 " B): %s (more -m?)\n",
			name, n, room, rte_strerror(rte_errno));
	return mp;
}

/* RX into standard 2 KiB mbufs, so that large frames exercise the PMD's
 * scatter; TX mbufs big enough for a whole frame (or one --segs
 * segment), as many as the TX ring, the window and a few bursts hold,
 * within TX_POOL_BYTES: a window that cannot fit is refused. */
static int make_pools(struct chk_port *p, const struct chk_opts *o,
		      int socket)
{
	uint32_t seg = o->segs ? RTE_MIN(o->segs, p->max_len) : p->max_len;
	uint32_t per_frame = (p->max_len + seg - 1) / seg;
	uint32_t room = o->segs ? RTE_MAX(seg, 64u)
				: RTE_MAX(seg, (uint32_t)RTE_MBUF_DEFAULT_DATAROOM);
	uint64_t each = room + RTE_PKTMBUF_HEADROOM + sizeof(struct rte_mbuf);
	uint64_t most = TX_POOL_BYTES / each;
	uint64_t least = ((uint64_t)o->window + 2 * CHK_BURST) * per_frame;
	uint64_t n = ((uint64_t)o->txd + o->window + 4 * CHK_BURST) * per_frame + 255;

	if (per_frame > RTE_MBUF_MAX_NB_SEGS || least > most) {
		fprintf(stderr,
			"ivc-dpdk-check: frames of %" PRIu32 " B in %" PRIu32
			" B segments (%" PRIu32 " each), a window of %" PRIu32
			": more mbufs than fit (lower --window or raise --segs)\n",
			p->max_len, seg, per_frame, o->window);
		return -1;
	}
	p->rx_pool = pool("chk_rx", RX_POOL_MBUFS, RTE_MBUF_DEFAULT_DATAROOM,
			  socket);
	p->tx_pool = pool("chk_tx", (unsigned)RTE_MIN(n, most), room, socket);
	return p->rx_pool && p->tx_pool ? 0 : -1;
}

static void note(const struct chk_port *p, const char *what)
{
	fprintf(stderr, "ivc-dpdk-check: note: port %u (%s): %s\n", p->id,
		p->driver, what);
}

/* The MTU our largest frame needs (its length less the Ethernet header:
 * no CRC on a software port), within the port's limits. */
static int conf_mtu(struct chk_port *p, const struct rte_eth_dev_info *di,
		    const struct chk_opts *o, struct rte_eth_conf *conf)
{
	uint32_t mtu = p->max_len - RTE_ETHER_HDR_LEN, overhead;
	char msg[200];

	if (mtu <= RTE_ETHER_MTU)
		return 0;
	/* ethdev's own rule (eth_dev_get_overhead_len) */
	overhead = di->max_mtu != UINT16_MAX && di->max_rx_pktlen > di->max_mtu
			   ? di->max_rx_pktlen - di->max_mtu
			   : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	if (mtu <= di->max_mtu && mtu + overhead <= di->max_rx_pktlen) {
		conf->rxmode.mtu = mtu;
		return 0;
	}
	snprintf(msg, sizeof(msg),
		 "frames of %" PRIu32 " B need an MTU of %" PRIu32
		 "; the port allows %u (max_rx_pktlen %" PRIu32 ")%s",
		 p->max_len, mtu, di->max_mtu, di->max_rx_pktlen,
		 o->lax_mtu ? ": MTU left as it is (--lax-mtu)"
			    : " (--lax-mtu sends them anyway)");
	note(p, msg);
	return o->lax_mtu ? 0 : -1;
}

/* Scatter when a frame does not fit one RX mbuf; multi-segment TX when
 * we send chains.  A port without them fails, unless --lax-mtu. */
static int conf_segments(struct chk_port *p, const struct rte_eth_dev_info *di,
			 const struct chk_opts *o, struct rte_eth_conf *conf)
{
	uint32_t room = rte_pktmbuf_data_room_size(p->rx_pool) -
			RTE_PKTMBUF_HEADROOM;
	char msg[200];
	int rc = 0;

	if (p->max_len > room) {
		if (di->rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) {
			conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		} else {
			snprintf(msg, sizeof(msg),
				 "no RTE_ETH_RX_OFFLOAD_SCATTER for frames of %"
				 PRIu32 " B in %" PRIu32 " B mbufs%s",
				 p->max_len, room,
				 o->lax_mtu ? " (--lax-mtu: trying anyway)" : "");
			note(p, msg);
			rc = o->lax_mtu ? 0 : -1;
		}
	}
	if (o->segs && o->segs < p->max_len) {
		if (di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
			conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
		} else {
			note(p, o->lax_mtu ? "no RTE_ETH_TX_OFFLOAD_MULTI_SEGS (--lax-mtu: trying anyway)"
					   : "no RTE_ETH_TX_OFFLOAD_MULTI_SEGS for --segs");
			rc = o->lax_mtu ? rc : -1;
		}
	}
	return rc;
}

static int on_lsc(uint16_t port, enum rte_eth_event_type ev, void *arg,
		  void *ret)
{
	struct chk_port *p = arg;
	struct rte_eth_link link;

	(void)ev, (void)ret;
	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(port, &link) == 0 &&
	    link.link_status == RTE_ETH_LINK_DOWN)
		__atomic_fetch_add(&p->link_downs, 1, __ATOMIC_RELEASE);
	return 0;
}

uint64_t chk_link_downs(const struct chk_port *p)
{
	return __atomic_load_n(&p->link_downs, __ATOMIC_ACQUIRE);
}

static int fail_rc(const struct chk_port *p, const char *call, int rc)
{
	fprintf(stderr, "ivc-dpdk-check: port %u (%s): %s: %s\n", p->id,
		p->driver, call, rte_strerror(-rc));
	return -1;
}

static int configure(struct chk_port *p, const struct rte_eth_dev_info *di,
		     const struct chk_opts *o)
{
	struct rte_eth_conf conf;
	uint16_t rxd = o->rxd, txd = o->txd;
	int socket = rte_eth_dev_socket_id(p->id);
	int rc;

	memset(&conf, 0, sizeof(conf));
	if (conf_mtu(p, di, o, &conf) != 0 ||
	    conf_segments(p, di, o, &conf) != 0)
		return -1;
	conf.intr_conf.rxq = p->rxq_intr;
	/* LSC only where the port has it: ethdev refuses it otherwise.  It
	 * counts the link's downs, which a poll of the link can miss when a
	 * PMD reconnects by itself within milliseconds (net_ivc). */
	p->lsc_intr = di->dev_flags && (*di->dev_flags & RTE_ETH_DEV_INTR_LSC);
	conf.intr_conf.lsc = p->lsc_intr;
	rc = rte_eth_dev_configure(p->id, 1, 1, &conf);
	if (rc != 0)
		return fail_rc(p, "rte_eth_dev_configure", rc);
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &rxd, &txd);
	if (rc != 0)
		return fail_rc(p, "rte_eth_dev_adjust_nb_rx_tx_desc", rc);
	socket = socket < 0 ? (int)rte_socket_id() : socket;
	rc = rte_eth_rx_queue_setup(p->id, 0, rxd, (unsigned)socket, NULL,
				    p->rx_pool);
	if (rc != 0)
		return fail_rc(p, "rte_eth_rx_queue_setup", rc);
	rc = rte_eth_tx_queue_setup(p->id, 0, txd, (unsigned)socket, NULL);
	if (rc != 0)
		return fail_rc(p, "rte_eth_tx_queue_setup", rc);
	return 0;
}

/* A client PMD may refuse to start while its server is not there yet
 * (net_memif's client connects in dev_start): retry within the timeout,
 * so the order in which a test starts the two sides does not matter. */
static int start(struct chk_port *p, const struct chk_opts *o)
{
	uint64_t deadline = chk_now_ns() + (uint64_t)o->timeout_ms * 1000000ull;
	int rc;

	while ((rc = rte_eth_dev_start(p->id)) != 0) {
		if (chk_interrupted || chk_now_ns() >= deadline) {
			fprintf(stderr,
				"ivc-dpdk-check: port %u (%s): rte_eth_dev_start: %s (for %"
				PRIu32 " ms; is the peer there?)\n",
				p->id, p->driver, rte_strerror(-rc), o->timeout_ms);
			return -1;
		}
		nap_ms(o->reconnect_ms);
	}
	p->started = true;
	return 0;
}

static uint32_t max_size(const struct chk_opts *o)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < o->nsizes; i++)
		m = RTE_MAX(m, o->sizes[i]);
	return m;
}

int chk_port_open(struct chk_port *p, const struct chk_opts *o,
		  bool rxq_intr)
{
	struct rte_eth_dev_info di;
	uint16_t n = rte_eth_dev_count_avail();
	int rc;

	memset(p, 0, sizeof(*p));
	if (n != 1) {
		fprintf(stderr,
			"ivc-dpdk-check: expected exactly one port (one --vdev), found %u\n",
			n);
		return -1;
	}
	p->id = rte_eth_find_next(0);
	rc = rte_eth_dev_info_get(p->id, &di);
	if (rc != 0)
		return fail_rc(p, "rte_eth_dev_info_get", rc);
	snprintf(p->driver, sizeof(p->driver), "%s",
		 di.driver_name ? di.driver_name : "?");
	p->max_len = max_size(o);
	p->rxq_intr = rxq_intr;
	if (make_pools(p, o, rte_eth_dev_socket_id(p->id)) != 0 ||
	    configure(p, &di, o) != 0)
		return -1;
	if (p->lsc_intr) {
		rc = rte_eth_dev_callback_register(p->id, RTE_ETH_EVENT_INTR_LSC,
						   on_lsc, p);
		if (rc != 0)
			return fail_rc(p, "rte_eth_dev_callback_register", rc);
	}
	if (start(p, o) != 0)
		return -1;
	if (o->started_file && chk_touch(o->started_file) != 0)
		return -1;
	return 0;
}

/*
 * A barrier with EAL's interrupt thread, where PMDs handle their control
 * events: an eventfd of ours, registered there; once its callback has
 * run, the callback the thread was running when we asked has returned,
 * with its deferred unregisters, and so has a rebuild of its wait list
 * that was due (twice, in case ours came in the same epoll batch, ahead
 * of the rebuild).
 *
 * net_memif (22.11) needs it twice over:
 *  - It handles its peer's leaving in that thread (memif_intr_handler ->
 *    memif_disconnect), and sets the link down first, then tears down its
 *    control channel, queue interrupts and regions.  A dev_stop in the
 *    meantime runs memif_disconnect a second time, at once, and both
 *    rte_free the same regions (memif_free_regions): SIGSEGV.
 *  - A server's dev_close frees its listener's handle without
 *    unregistering it (memif_socket_remove_device); the thread's copy
 *    stays in DPDK memory, which rte_eal_cleanup unmaps while the thread
 *    runs on, and each rebuild of its wait list reads it: SIGSEGV where
 *    a rebuild (one the unregisters of our dev_stop and dev_close asked
 *    for) is under way then.
 * Our source stays registered, its handle private (malloc): unregistering
 * it would itself wake the thread for one more rebuild.  (rte_eal_alarm
 * is no barrier here: rte_eal_cleanup unregisters the alarm callback, a
 * wake-up just before the unmap.)  Bounded: a thread that does not answer
 * within BARRIER_MS is noted, and we go on.
 */
#define BARRIER_MS 5000u

static struct {
	int efd;
	uint64_t served;	/* callbacks run (atomic) */
} barrier = { .efd = -1 };

static void barrier_cb(void *arg)
{
	uint64_t v;

	(void)arg;
	(void)!read(barrier.efd, &v, sizeof(v));
	__atomic_fetch_add(&barrier.served, 1, __ATOMIC_RELEASE);
}

static int barrier_setup(const struct chk_port *p)
{
	struct rte_intr_handle *h;
	int efd, rc;

	if (barrier.efd >= 0)
		return 0;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	if (efd < 0 || h == NULL || rte_intr_fd_set(h, efd) != 0 ||
	    rte_intr_type_set(h, RTE_INTR_HANDLE_EXT) != 0) {
		note(p, "no interrupt-thread barrier (eventfd or handle)");
		goto fail;
	}
	barrier.efd = efd;
	rc = rte_intr_callback_register(h, barrier_cb, NULL);
	if (rc != 0) {
		(void)fail_rc(p, "rte_intr_callback_register (interrupt-thread barrier)", rc);
		barrier.efd = -1;
		goto fail;
	}
	rte_intr_instance_free(h);	/* EAL keeps a copy of its own */
	return 0;
fail:
	rte_intr_instance_free(h);
	if (efd >= 0)
		close(efd);
	return -1;
}

static void intr_thread_barrier(const struct chk_port *p)
{
	uint64_t one = 1, before;
	uint64_t deadline = chk_now_ns() + BARRIER_MS * 1000000ull;

	if (barrier_setup(p) != 0)
		return;
	for (int round = 0; round < 2; round++) {
		before = __atomic_load_n(&barrier.served, __ATOMIC_ACQUIRE);
		if (write(barrier.efd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
			note(p, "interrupt-thread barrier: eventfd write failed");
			return;
		}
		while (__atomic_load_n(&barrier.served, __ATOMIC_ACQUIRE) == before) {
			if (chk_now_ns() >= deadline) {
				note(p, "EAL's interrupt thread did not answer: going on");
				return;
			}
			nap_ms(1);
		}
	}
}

void chk_port_close(struct chk_port *p)
{
	int rc;

	/* The PMD may be handling its peer's leaving right now (we saw the
	 * link go down, which net_memif says first): let it finish. */
	intr_thread_barrier(p);
	if (p->started) {
		rc = rte_eth_dev_stop(p->id);
		if (rc != 0)
			(void)fail_rc(p, "rte_eth_dev_stop", rc);
		p->started = false;
	}
	rc = rte_eth_dev_close(p->id);
	if (rc != 0)
		(void)fail_rc(p, "rte_eth_dev_close", rc);
	/* and the rebuilds its unregisters asked for, before
	 * rte_eal_cleanup unmaps the memory they read */
	intr_thread_barrier(p);
	/* The pools go with the EAL (rte_eal_cleanup); freeing them here
	 * could pull mbufs from under a PMD that still holds some. */
}


bool chk_link_up(const struct chk_port *p)
{
	struct rte_eth_link link;

	memset(&link, 0, sizeof(link));
	return rte_eth_link_get_nowait(p->id, &link) == 0 &&
	       link.link_status == RTE_ETH_LINK_UP;
}

int chk_port_restart(struct chk_port *p)
{
	int rc;

	if (p->started) {
		/* as in chk_port_close: a disconnect in progress first */
		intr_thread_barrier(p);
		rc = rte_eth_dev_stop(p->id);
		if (rc != 0)
			return fail_rc(p, "rte_eth_dev_stop", rc);
		p->started = false;
	}
	p->restarts++;
	/* A start that fails (its server is not back yet) is retried by
	 * the caller's next restart. */
	if (rte_eth_dev_start(p->id) != 0)
		return -1;
	p->started = true;
	return 0;
}

/* restart_port: the link was up and went down, so the connection is
 * dead, and a client PMD such as net_memif's reconnects only in
 * dev_start.  While the link is down, a port whose last start failed
 * (its server is not back) is started again every reconnect_ms; one that
 * started is left to finish its handshake, which may wait for the peer
 * to start its own port, and restarted only after HANDSHAKE_INTERVALS.
 * Stopping a port in the middle of its handshake is not only useless: a
 * net_memif server can panic on it (its interrupt thread, 22.11). */
#define HANDSHAKE_INTERVALS 20

int chk_link_wait(struct chk_port *p, const struct chk_opts *o,
		  bool restart_port)
{
	uint64_t now = chk_now_ns();
	uint64_t deadline = now + (uint64_t)o->timeout_ms * 1000000ull;
	uint64_t interval = (uint64_t)o->reconnect_ms * 1000000ull;
	uint64_t next_restart;

	/* The first restart one interval after the link went down: the PMD
	 * may still be handling the disconnect in the interrupt thread, and
	 * net_memif's dev_stop, run at the same time, unregisters the same
	 * callbacks twice. */
	next_restart = now + (restart_port ? 1 : HANDSHAKE_INTERVALS) * interval;
	while (!(p->started && chk_link_up(p))) {
		now = chk_now_ns();
		if (chk_interrupted || now >= deadline) {
			fprintf(stderr,
				"ivc-dpdk-check: port %u (%s): link still down after %"
				PRIu32 " ms%s\n",
				p->id, p->driver, o->timeout_ms,
				restart_port ? " of restarting the port" : "");
			return -1;
		}
		if ((restart_port || !p->started) && now >= next_restart) {
			(void)chk_port_restart(p);
			next_restart = now + (p->started ? HANDSHAKE_INTERVALS : 1) * interval;
		}
		nap_ms(1);
	}
	return 0;
}

/* The peer leaves first, and only the link is polled meanwhile, never a
 * burst call: its leaving is then handled while our data path is idle.
 * --wait-close: the test stops the peer once our verdict is out, and it
 * must have left within the timeout.  A sender (--tx-only, send) also
 * waits, since its last frames may still be in a ring the peer has not
 * read and closing the port could take them away; but the receiver's
 * verdict is what counts, so a peer that stays is only noted. */
int chk_wait_close(const struct chk_port *p, const struct chk_opts *o,
		   bool sender)
{
	uint64_t end = chk_now_ns() + (uint64_t)o->timeout_ms * 1000000ull;

	if (!o->wait_close && !sender)
		return 0;
	while (chk_link_up(p) && chk_now_ns() < end && !chk_interrupted)
		nap_ms(1);
	if (!chk_link_up(p))
		return 0;
	fprintf(stderr, "ivc-dpdk-check: %s: the peer is still there after %" PRIu32
		" ms%s\n", o->wait_close ? "FAIL" : "note", o->timeout_ms,
		o->wait_close ? "" : ": closing");
	return o->wait_close ? -1 : 0;
}

unsigned chk_rx_flush(const struct chk_port *p)
{
	struct rte_mbuf *m[CHK_BURST];
	unsigned total = 0;
	uint16_t n;

	if (!p->started)
		return 0;
	while ((n = rte_eth_rx_burst(p->id, 0, m, CHK_BURST)) > 0) {
		rte_pktmbuf_free_bulk(m, n);
		total += n;
	}
	return total;
}
