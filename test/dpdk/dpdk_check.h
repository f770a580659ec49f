/* SPDX-License-Identifier: MIT */
/*
 * ivc-dpdk-check: a DPDK application that checks and measures one
 * poll-mode driver port (port 0, the single --vdev given) against a peer
 * that returns frames unchanged (dpdk-testpmd --forward-mode=io) or
 * another ivc-dpdk-check.  It uses only DPDK's public API, so it checks
 * net_ivc (src/dpdk/) exactly as it checks DPDK's own net_memif.
 *
 * Files: dpdk_check.c (options, main), dpdk_frame.c (the frame format),
 * dpdk_port.c (port set-up, link, restart, the files tests wait on),
 * dpdk_stream.c (verify, resume), dpdk_modes.c (latency, intr, send),
 * dpdk_selftest.c (selftest).
 */
#ifndef IVC_DPDK_CHECK_H
#define IVC_DPDK_CHECK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

/* Exit status: 0 passed, 1 failed, 2 usage, 77 skipped (ctest). */
enum { CHK_OK = 0, CHK_FAIL = 1, CHK_USAGE = 2, CHK_SKIP = 77 };

#define CHK_MAX_SIZES 16
/* The largest frame we build: a uint16_t data_len must hold one segment. */
#define CHK_MAX_FRAME 65535u
#define CHK_BURST 32u

/* Faults the sender injects on purpose (--inject), so that the tests can
 * show the receiver catches each kind (selftest.sh, over net_ring). */
enum chk_inject {
	CHK_INJECT_NONE,
	CHK_INJECT_DROP,	/* frame seq is never sent */
	CHK_INJECT_DUP,		/* frame seq is sent twice */
	CHK_INJECT_SWAP,	/* frames seq and seq + 1 change places */
	CHK_INJECT_CORRUPT,	/* one byte of frame seq flipped */
	CHK_INJECT_ROUND,	/* frame seq carries another round */
};

enum chk_reconnect {
	CHK_RECONNECT_AUTO,	/* the PMD reconnects by itself */
	CHK_RECONNECT_RESTART,	/* we stop and start the port while it is down */
};

struct chk_opts {
	const char *mode;
	uint64_t count;			/* frames per size */
	uint32_t sizes[CHK_MAX_SIZES];	/* frame lengths (pkt_len, no CRC) */
	unsigned nsizes;
	uint32_t segs;			/* TX segment length, 0: one segment */
	uint32_t window;		/* frames in flight at most */
	uint32_t timeout_ms;		/* link wait and no-progress limit */
	uint32_t idle_ms;		/* intr: the idle period measured */
	uint32_t gap_ms;		/* send: pause after each burst */
	double max_idle_cpu;		/* intr: fail above this (<0: never) */
	uint32_t reconnect_ms;		/* resume: port restart interval */
	enum chk_reconnect reconnect;
	bool tx_only, rx_only;
	bool lax_mtu;			/* a PMD limit below our frames: note it */
	bool quiesce;			/* resume: no bursts after the kill file */
	bool wait_close;		/* at the end, wait for the peer to leave */
	uint64_t kill_after;		/* resume: frames back before kill-file */
	const char *ready_file;		/* intr: armed and idle period over */
	const char *wait_file;		/* send: wait for it, then send */
	const char *kill_file;		/* resume: time to kill the peer */
	const char *started_file;	/* any mode: port 0 started */
	uint16_t rxd, txd;
	enum chk_inject inject;
	uint64_t inject_seq;
	uint32_t inject_off;		/* CORRUPT: the byte (default: last) */
};

/* Set by SIGINT/SIGTERM: every wait ends, saying what it was doing. */
extern volatile sig_atomic_t chk_interrupted;

/* --- frame format (dpdk_frame.c) ------------------------------------- */

/*
 * A frame: Ethernet header (ethertype 0x88b5, local experimental), then
 * our header, big-endian: magic "ivcD", round, sequence number, length;
 * then a payload whose every byte is a function of (round, seq, offset).
 * So a receiver can check each byte of each frame, and tell a frame of
 * another round, a lost or repeated frame, and a corrupted byte apart.
 */
#define CHK_ETHERTYPE 0x88b5u
#define CHK_MAGIC 0x69766344u /* "ivcD" */
#define CHK_HDR_LEN 34u	       /* 14 Ethernet + 4 + 4 + 8 + 4 */
#define CHK_MIN_FRAME 60u      /* Ethernet's minimum without the CRC */

struct chk_hdr {
	uint32_t round;
	uint64_t seq;
	uint32_t len;
};

/* What went wrong with a frame, for the report. */
struct chk_bad {
	char what[160];
	uint32_t off;	/* first bad byte, when there is one */
};

uint8_t chk_pattern(uint32_t round, uint64_t seq, uint32_t off);
/* A frame as one mbuf (seg 0) or a chain of seg-byte segments; NULL when
 * the pool is empty (back-pressure, not an error). */
struct rte_mbuf *chk_frame_build(struct rte_mempool *mp, uint32_t round,
				 uint64_t seq, uint32_t len, uint32_t seg);
/* 0 and *h filled when m is one of ours; -1 and *bad otherwise. */
int chk_frame_parse(const struct rte_mbuf *m, struct chk_hdr *h,
		    struct chk_bad *bad);
/* 0 when m is exactly the frame (round, seq, len), byte for byte, across
 * its segments; -1 and *bad (first bad offset) otherwise. */
int chk_frame_check(const struct rte_mbuf *m, uint32_t round, uint64_t seq,
		    uint32_t len, struct chk_bad *bad);

/* --- the port (dpdk_port.c) ------------------------------------------ */

struct chk_port {
	uint16_t id;
	char driver[64];
	struct rte_mempool *rx_pool, *tx_pool;
	uint32_t max_len;	/* the largest frame we send or expect */
	bool rxq_intr;		/* intr_conf.rxq */
	bool lsc_intr;		/* intr_conf.lsc (when the port has it) */
	bool started;
	uint64_t restarts;	/* resume: port restarts done */
	uint64_t link_downs;	/* LSC events that found the link down (atomic):
				 * a flap too short for a poll to see */
};

int chk_port_open(struct chk_port *p, const struct chk_opts *o,
		  bool rxq_intr);
void chk_port_close(struct chk_port *p);
bool chk_link_up(const struct chk_port *p);
/* How many times an LSC event found the link down (0 without LSC). */
uint64_t chk_link_downs(const struct chk_port *p);
/* Wait until the link is up: 0, or -1 after timeout_ms with a message.
 * restart_port: the link went down after being up, and the PMD needs
 * its port stopped and started to reconnect (--reconnect restart). */
int chk_link_wait(struct chk_port *p, const struct chk_opts *o,
		  bool restart_port);
/* Stop and start the port (a memif client reconnects only so). */
int chk_port_restart(struct chk_port *p);
/* At the end of a run: with --wait-close (or as a sender), wait for the
 * peer to leave, polling only the link; -1 if --wait-close and it did
 * not within the timeout. */
int chk_wait_close(const struct chk_port *p, const struct chk_opts *o,
		   bool sender);
/* Free everything waiting in the RX queue; returns how many. */
unsigned chk_rx_flush(const struct chk_port *p);
int chk_touch(const char *path);
int chk_wait_file(const char *path, uint32_t timeout_ms);

/* --- time ------------------------------------------------------------- */

uint64_t chk_now_ns(void);	/* CLOCK_MONOTONIC */

/* --- modes ------------------------------------------------------------ */

int chk_verify(struct chk_port *p, const struct chk_opts *o);
int chk_resume(struct chk_port *p, const struct chk_opts *o);
int chk_latency(struct chk_port *p, const struct chk_opts *o);
int chk_intr(struct chk_port *p, const struct chk_opts *o);
int chk_send(struct chk_port *p, const struct chk_opts *o);
int chk_selftest(const struct chk_opts *o);

#endif
