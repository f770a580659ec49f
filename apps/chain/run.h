/* SPDX-License-Identifier: MIT */
/* run.h - the orchestrator's settings and one run of the chain. */
#ifndef IVC_CHAIN_RUN_H
#define IVC_CHAIN_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include <ivc/ivc.h>

#include "pkt.h"

/* Default geometry for the chain's lanes (docs/nfv.md, "Geometry"). */
#define RUN_DEFAULT_SLOTS 1024u
#define RUN_MAX_DEFAULT_BUF 2048u
#define RUN_MAX_REPEAT 99u

struct run_cfg {
	unsigned gens;
	uint64_t count;
	uint32_t size;
	unsigned burst;
	pkt_flowset block;
	enum ivc_mode mode;
	const char *fw_kind;
	bool pinned;
	int cpus[3];            /* gen, fw, sink */
	struct ivc_geometry tx; /* every sending lane */
	uint64_t restart_after;
	unsigned repeat;
	bool copy, verify;
	bool time_copy;
	unsigned timeout_s;
	bool verbose;
};

struct run_result {
	bool ok;                /* every stage ok, the sink's verdict ok */
	double mpps;            /* at the sink, first to last */
	double copy_ns;         /* --time-copy: the firewall's, per packet */
};

/* Run the chain once and print its result.  Return 0 or -errno (could not
 * set it up). */
int run_once(const struct run_cfg *c, struct run_result *res);

#endif
