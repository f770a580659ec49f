/* SPDX-License-Identifier: MIT */
/*
 * net_ivc: a DPDK poll-mode driver whose ports are ivc channels (issue 19,
 * docs/nfv.md).  Private to the driver.
 *
 * Shape.  A port is an ivc address and a role.  Queue pair i (Rx queue i
 * and Tx queue i) is one ivc channel.  A control thread per started port
 * owns every channel's life: the server side listens and accepts, the
 * client side connects (again and again, after the peer restarts), each
 * channel opens with a hello naming its queue, and link status follows
 * whether every queue pair has a live channel.  The burst functions never
 * block, never make a system call unless the peer sleeps, and never free a
 * channel: they only find it dead and say so.
 *
 * Handing channels between the control thread and the lcores.  A queue
 * pair's channel sits behind an atomic pointer (struct nivc_conn).  A
 * burst marks its side busy, then reads the pointer; the control thread
 * takes the pointer away, then waits until neither side is busy before it
 * closes the channel.  Both orders are sequentially consistent (Dekker), so
 * one of the two always sees the other: a burst that read the old pointer
 * holds the control thread off until it returns.
 *
 * Noticing a peer that went while nobody polls.  ivc finds a dead peer
 * in the calls of the side that owns the channel, so the control thread
 * takes both sides for a moment each period (when no burst is running)
 * and asks, as their owner, whether the channel is still ready; a burst
 * that comes meanwhile finds its side taken and returns nothing.
 */
#ifndef IVC_DPDK_NIVC_PVT_H
#define IVC_DPDK_NIVC_PVT_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <ethdev_driver.h>

#include <ivc/ivc.h>

extern int nivc_logtype;
#define NIVC_LOG(level, fmt, ...)                                             \
	rte_log(RTE_LOG_##level, nivc_logtype, "net_ivc: " fmt "\n", ##__VA_ARGS__)

#define NIVC_MAX_QP 16u           /* queue pairs per port */
#define NIVC_MAX_MTU 9000u        /* jumbo frames */
/* Ethernet header, two VLAN tags, CRC: what may ride on top of the MTU. */
#define NIVC_FRAME_OVERHEAD (RTE_ETHER_HDR_LEN + 2 * 4 + RTE_ETHER_CRC_LEN)
#define NIVC_MAX_FRAME (NIVC_MAX_MTU + NIVC_FRAME_OVERHEAD)
#define NIVC_RX_BUFS 64u          /* ivc buffers taken per ivc_rx_burst() */
#define NIVC_TX_BUFS 256u         /* ivc buffers filled per ivc_tx_send() */
#define NIVC_CTL_PERIOD_MS 100    /* control thread: reconnect / check period */
#define NIVC_MAX_ALLOW 64u         /* allow= entries (IVC_XEN_MAX_PEERS) */
#define NIVC_HELLO_MS 1000        /* a peer gets this long for its hello */

/* Devargs (nivc_args.c). */
struct nivc_args {
	char addr[256];
	int server;               /* role=server: listen; else connect */
	int zc;                   /* zc=1: zero-copy receive (external mbufs) */
	int mac_set;
	struct rte_ether_addr mac;
	uint32_t slots;           /* each channel's Tx lane geometry */
	uint32_t buf_size;
	uint32_t buf_count;
	uint32_t allow[NIVC_MAX_ALLOW]; /* allow=: Xen domains a server admits */
	uint32_t n_allow;
};

/*
 * Zero-copy receive: an mbuf attached to an ivc buffer; freeing the mbuf
 * (on any lcore) puts the buffer's id on @ret, and the Rx lcore releases
 * it at its next burst.  The channel stays open while @out mbufs live.
 */
struct nivc_zc;
struct nivc_zc_slot {
	struct rte_mbuf_ext_shared_info shinfo;
	struct nivc_zc *zc;
	uint32_t id;
};
struct nivc_zc {
	struct rte_ring *ret;     /* ids freed by mbufs: MP enqueue, SC dequeue */
	uint32_t nbufs;           /* the peer's lane: buffer ids < nbufs */
	struct ivc_buf *held;     /* by id: what ivc handed out */
	struct nivc_zc_slot *slot;
	uint32_t out;             /* mbufs alive (atomic) */
};

/* One channel of one queue pair, for its whole life. */
struct nivc_conn {
	struct ivc_channel *ch;
	uint16_t qid;
	uint32_t rx_cap;          /* the peer's buffer size */
	uint32_t tx_cap;          /* ours */
	uint32_t chain_max;       /* buffers a largest frame takes, either way */
	/* Rx lcore's: a message whose last buffer has not come yet. */
	struct ivc_buf *part;     /* chain_max entries */
	uint32_t npart;
	int discarding;           /* dropping the rest of a too-long chain */
	struct ivc_buf *rel;      /* copy mode: release batch */
	struct nivc_zc *zc;       /* zero-copy mode only */
	struct nivc_conn *next;   /* zombie list (waiting for zc mbufs) */
};

/* What one side of a queue pair counted (written by its lcore only). */
struct nivc_qstats {
	uint64_t pkts, bytes, errors, dropped;
};

struct nivc_port;
struct nivc_rxq {
	struct nivc_qp *qp;
	struct rte_mempool *mp;
	uint32_t seg_room;        /* data bytes one of mp's mbufs holds */
	struct nivc_qstats st;
};
struct nivc_txq {
	struct nivc_qp *qp;
	struct nivc_qstats st;
};

struct nivc_qp {
	struct nivc_port *port;
	uint16_t qid;
	struct nivc_conn *conn;   /* atomic: NULL while down */
	uint32_t rx_busy;         /* atomic: an Rx burst (or the control thread) */
	uint32_t tx_busy;         /* atomic: a Tx burst (or the control thread) */
	uint32_t dead;            /* atomic: a burst found the channel broken */
	struct nivc_rxq rxq;
	struct nivc_txq txq;
	int intr_fd;              /* epoll set the application sleeps on */
	int kick_fd;              /* eventfd in it: wake-ups of our own */
	int intr_on;              /* Rx lcore's: the queue's interrupt is enabled */
	/* Control thread's, under port->lock. */
	struct ivc_stats ivc_base;   /* counters of channels already closed */
	uint64_t connects;
	struct nivc_qstats rx_base, tx_base; /* at the last stats_reset */
	struct ivc_stats ivc_reset;          /* at the last xstats_reset */
	uint64_t connects_reset;
};

struct nivc_port {
	struct rte_eth_dev *dev;
	struct nivc_args args;
	struct rte_ether_addr mac;
	uint16_t nb_qp;
	struct nivc_qp qp[NIVC_MAX_QP];
	pthread_mutex_t lock;     /* channel life vs stats readers */
	pthread_t ctl;
	int ctl_running;
	uint32_t ctl_stop;        /* atomic */
	int wake_fd;              /* eventfd: wakes the control thread */
	struct ivc_listener *listener;
	int connect_rc;           /* the last connect's error, said once */
	struct nivc_conn *zombies;
	struct rte_intr_handle *intr;
	uint32_t ctl_hold_us;     /* test knob: IVC_PMD_TEST_CTL_HOLD_US */
};

/* nivc_args.c */
int nivc_args_parse(const char *name, const char *params, struct nivc_args *a);
void nivc_default_mac(const struct nivc_args *a, struct rte_ether_addr *mac);

/* nivc_conn.c */
struct nivc_conn *nivc_conn_new(struct nivc_port *p, uint16_t qid,
				struct ivc_channel *ch);
void nivc_conn_install(struct nivc_port *p, struct nivc_conn *c);
void nivc_conn_retire(struct nivc_port *p, uint16_t qid);
void nivc_zombies_reap(struct nivc_port *p, int last);
void nivc_zc_reclaim(struct nivc_conn *c);

/* nivc_ctl.c */
int nivc_ctl_start(struct nivc_port *p);
void nivc_ctl_stop(struct nivc_port *p);
void nivc_ctl_wake(struct nivc_port *p);

/* nivc_rx.c, nivc_tx.c */
uint16_t nivc_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t nivc_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
void nivc_mark_dead(struct nivc_qp *qp, int err);

/* nivc_intr.c */
int nivc_intr_queue_init(struct nivc_qp *qp);
void nivc_intr_queue_fini(struct nivc_qp *qp);
int nivc_intr_install(struct nivc_port *p);
void nivc_intr_uninstall(struct nivc_port *p);
void nivc_intr_watch(struct nivc_qp *qp, struct nivc_conn *c, int on);
void nivc_intr_kick(struct nivc_qp *qp);
void nivc_intr_rearm(struct nivc_qp *qp, struct nivc_conn *c);
int nivc_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid);
int nivc_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid);

/* nivc_stats.c */
int nivc_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st);
int nivc_stats_reset(struct rte_eth_dev *dev);
int nivc_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs,
		    unsigned int n);
int nivc_xstats_get_names(struct rte_eth_dev *dev,
			  struct rte_eth_xstat_name *names, unsigned int n);
int nivc_xstats_reset(struct rte_eth_dev *dev);
void nivc_ivc_stats_add(struct ivc_stats *sum, const struct ivc_stats *s);

/* nivc_ops.c */
extern const struct eth_dev_ops nivc_ops;

/*
 * Burst side entry and exit (see the header comment).  The busy word is
 * 0 (idle), 1 (a burst) or 2 (the control thread is looking at the
 * channel, nivc_ctl.c): a burst that finds it taken does nothing this
 * time, like a poll that finds nothing.
 */
#define NIVC_BUSY_BURST 1u
#define NIVC_BUSY_CTL 2u

/* @busy is ours: the queue's live channel, or NULL (and @busy let go). */
static inline struct nivc_conn *nivc_entered(struct nivc_qp *qp, uint32_t *busy)
{
	struct nivc_conn *c = __atomic_load_n(&qp->conn, __ATOMIC_SEQ_CST);

	if (c == NULL || __atomic_load_n(&qp->dead, __ATOMIC_RELAXED))
		__atomic_store_n(busy, 0, __ATOMIC_RELEASE), c = NULL;
	return c;
}

static inline struct nivc_conn *nivc_enter(struct nivc_qp *qp, uint32_t *busy)
{
	uint32_t idle = 0;

	if (!__atomic_compare_exchange_n(busy, &idle, NIVC_BUSY_BURST, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return NULL;
	return nivc_entered(qp, busy);
}

/*
 * The send side's entry: a transmit that returned 0 because the control
 * thread was looking would have the application drop its burst (testpmd
 * does), so it waits for that look to end instead.  The look is two
 * quick calls, but its thread may be taken off the CPU in between, and
 * then this lcore may be what keeps it off: after a few spins it yields.
 */
static inline struct nivc_conn *nivc_enter_tx(struct nivc_qp *qp)
{
	unsigned spins = 0;
	uint32_t seen = 0;

	while (!__atomic_compare_exchange_n(&qp->tx_busy, &seen, NIVC_BUSY_BURST,
					    0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
		if (seen != NIVC_BUSY_CTL)
			return NULL; /* another burst on this queue */
		seen = 0;
		if (++spins < 64)
			rte_pause();
		else
			sched_yield();
	}
	return nivc_entered(qp, &qp->tx_busy);
}

static inline void nivc_leave(uint32_t *busy)
{
	__atomic_store_n(busy, 0, __ATOMIC_RELEASE);
}

#endif
