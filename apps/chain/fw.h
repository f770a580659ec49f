/* SPDX-License-Identifier: MIT */
/*
 * fw.h - the firewall stage: G upstream channels in (fan-in), one
 * downstream channel out.  fw.c sets it up, fw_fwd.c forwards a burst,
 * fw_ctl.c accepts upstreams, fw_loop.c and fw_poller.c are the two ways
 * of driving it (--fw loop | poller).
 */
#ifndef IVC_CHAIN_FW_H
#define IVC_CHAIN_FW_H

#include <stdbool.h>
#include <stdint.h>

#include <ivc/ivc.h>

#include "pkt.h"
#include "stage.h"

#define FW_MAX_UPSTREAMS 64u

/* fw_serve()'s code for "the downstream failed" (fw->down_err says how):
 * an error no receive call returns. */
#define FW_DOWN_FAILED (-ECANCELED)

enum fw_kind { FW_LOOP, FW_POLLER };

struct fw;

struct fw_up {
	struct fw *fw;
	struct ivc_channel *ch;
	bool live;
};

/* A packet of the burst being forwarded: rx[first..end), @len bytes,
 * @need downstream buffers. */
struct fw_plan {
	unsigned first, end;
	uint32_t len;
	unsigned need;
};

struct fw {
	struct stage st;
	const char *up_addr, *down_addr;
	unsigned gens;            /* upstreams to accept (and see end) */
	pkt_flowset block;
	bool copy;                /* --fw-copy on: copy the payload */
	bool time_copy;           /* --time-copy: time the filling */
	enum fw_kind kind;
	int end_fd;               /* EOF: no more upstreams will come */

	struct ivc_listener *l;   /* NULL once no more upstreams are taken */
	struct ivc_poller *poller; /* --fw poller: serves l as well */
	bool end_seen;
	struct fw_up up[FW_MAX_UPSTREAMS];
	unsigned n_up, n_live, ended, failed;

	struct ivc_channel *down;
	uint32_t down_cap;        /* downstream buffer size */
	int down_err;

	struct ivc_buf *rx, *tx;
	unsigned rx_cap, tx_cap;
	struct fw_plan *plan;

	uint64_t forwarded, dropped, bad;
	uint64_t copy_ns;         /* --time-copy: spent filling buffers */
};

/*
 * fw_serve() - forward one burst of @up: receive (without waiting), drop
 * blocked flows, copy the rest into downstream buffers, send them, and
 * only then release the upstream buffers.
 * Return: packets handled (> 0); -EAGAIN (nothing there); the upstream's
 * end or error (-EPIPE, -ECONNRESET, -EPROTO, ...); FW_DOWN_FAILED.
 */
int fw_serve(struct fw *fw, struct ivc_channel *up);

/* An upstream ended with @err (-EPIPE: in order): it is dropped. */
void fw_up_ended(struct fw *fw, struct fw_up *u, int err);

/* Whether more upstreams may still come. */
static inline bool fw_accepting(const struct fw *fw)
{
	return fw->l != NULL;
}

/*
 * fw_ctl_poll() - take what the listener has ready, without waiting, and
 * look at the end descriptor.  New upstreams are in fw->up[@from..n_up).
 * The listener is closed once fw->gens were accepted, or once the end
 * descriptor said no more will come (after taking what was ready).
 * Return: 0, or a fatal error (said).
 */
int fw_ctl_poll(struct fw *fw);
/* Wait (at most @timeout_ms) until the listener or the end descriptor has
 * something: for when no upstream is live. */
void fw_ctl_wait(struct fw *fw, int timeout_ms);
/* The listener's descriptor, or -1. */
int fw_ctl_fd(const struct fw *fw);

int fw_run_loop(struct fw *fw);
int fw_run_poller(struct fw *fw);

#endif
