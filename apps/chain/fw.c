/* SPDX-License-Identifier: MIT */
/*
 * ivc-chain fw: the firewall.  Takes G upstream (generator) channels,
 * forwards every packet whose flow is not blocked to one downstream
 * channel, drops the rest; when every upstream has ended in order, it
 * closes the downstream (which drains, in order) and exits.
 */
#define _GNU_SOURCE
#include "chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bufs.h"
#include "fw.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " fw --listen UPADDR --connect DOWNADDR --gens G [options]\n"
"  --listen UPADDR     where the generators connect (shm:/path)\n"
"  --connect DOWNADDR  the sink\n"
"  --gens G            upstream channels to take, 1..%u\n"
"  --block LIST        flows to drop, e.g. 3,11 (0..15; default none)\n"
"  --fw loop|poller    a plain loop over the upstreams (default), or an\n"
"                      ivc_poller with a callback per upstream\n"
"  --fw-copy on|off    off: forward without copying the payload (for\n"
"                      measuring the copy; the sink cannot verify it)\n"
"  --time-copy         time the filling of downstream buffers (the copy)\n"
"                      and report it per packet\n"
"  --end-fd FD         EOF on FD: no more upstreams will come (a restarted\n"
"                      firewall may see fewer than G)\n"
"%s", FW_MAX_UPSTREAMS, stage_usage);
}

static int parse(struct fw *fw, int argc, char **argv)
{
	static const struct option lopts[] = {
		STAGE_LONG_OPTS,
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "gens", required_argument, NULL, 'g' },
		{ "block", required_argument, NULL, 'b' },
		{ "fw", required_argument, NULL, 'f' },
		{ "fw-copy", required_argument, NULL, 'C' },
		{ "end-fd", required_argument, NULL, 'e' },
		{ "time-copy", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, c;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		if ((c = stage_opt(&fw->st, opt, optarg)) != 0) {
			if (c < 0)
				return -1;
			continue;
		}
		switch (opt) {
		case 'l': fw->up_addr = optarg; break;
		case 'c': fw->down_addr = optarg; break;
		case 'g':
			if (parse_u32(optarg, &fw->gens) || !fw->gens ||
			    fw->gens > FW_MAX_UPSTREAMS)
				goto bad;
			break;
		case 'b':
			if (pkt_parse_flows(optarg, &fw->block))
				goto bad;
			break;
		case 'f':
			if (!strcmp(optarg, "loop"))
				fw->kind = FW_LOOP;
			else if (!strcmp(optarg, "poller"))
				fw->kind = FW_POLLER;
			else
				goto bad;
			break;
		case 'C':
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				goto bad;
			fw->copy = !strcmp(optarg, "on");
			break;
		case 'T': fw->time_copy = true; break;
		case 'e':
			if (parse_int(optarg, &fw->end_fd) || fw->end_fd < 0)
				goto bad;
			break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); return -1;
		}
	}
	if (!fw->up_addr || !fw->down_addr || !fw->gens || optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
bad:
	stage_err(&fw->st, "bad value '%s' (see --help)", optarg);
	return -1;
}

/* Listen upstream first (generators may connect at once), then connect
 * downstream; size the burst arrays from the downstream's buffers. */
static int open_channels(struct fw *fw)
{
	struct ivc_options up, down;
	struct ivc_info info;
	unsigned chain_max;
	int r;

	/* The lanes back to the generators carry nothing: make them tiny. */
	stage_ivc_options(&fw->st, &stage_unused_lane, &up);
	stage_ivc_options(&fw->st, &fw->st.tx, &down);
	stage_doing("listening");
	r = ivc_listen(fw->up_addr, &up, &fw->l);
	if (r < 0) {
		stage_ivc_err(&fw->st, fw->up_addr, r);
		return r;
	}
	stage_doing("connecting to the sink");
	r = ivc_connect(fw->down_addr, &down, ms_of_s(fw->st.timeout_s), &fw->down);
	if (r == 0)
		r = ivc_channel_info(fw->down, &info);
	if (r < 0) {
		stage_ivc_err(&fw->st, fw->down_addr, r);
		return r;
	}
	if (info.max_tx_msg < PKT_MAX_LEN)
		stage_info(&fw->st, "the downstream's largest message is %zu B:"
			   " larger packets would be refused", info.max_tx_msg);
	fw->down_cap = info.tx.buf_size;
	/* Upstream buffers are at least 64 bytes. */
	fw->rx_cap = fw->st.burst + bufs_per_pkt(PKT_MAX_LEN, 64);
	chain_max = bufs_per_pkt(PKT_MAX_LEN, fw->down_cap);
	fw->tx_cap = fw->st.burst * chain_max;
	fw->rx = calloc(fw->rx_cap, sizeof(*fw->rx));
	fw->tx = calloc(fw->tx_cap, sizeof(*fw->tx));
	fw->plan = calloc(fw->st.burst, sizeof(*fw->plan));
	if (!fw->rx || !fw->tx || !fw->plan)
		return -ENOMEM;
	return 0;
}

static void finish(struct fw *fw, int r)
{
	unsigned i;

	/* In order: everything sent stays receivable, then the sink
	 * sees -EPIPE. */
	ivc_close(fw->down);
	for (i = 0; i < fw->n_up; i++)
		ivc_close(fw->up[i].ch);
	ivc_listener_close(fw->l);
	stage_report(&fw->st, "forwarded=%llu dropped=%llu bad=%llu upstreams=%u"
		     " failed=%u copy_ns=%llu status=%s",
		     (unsigned long long)fw->forwarded,
		     (unsigned long long)fw->dropped, (unsigned long long)fw->bad,
		     fw->n_up, fw->failed, (unsigned long long)fw->copy_ns,
		     r < 0 ? errname(r) : "ok");
	stage_info(&fw->st, "forwarded %llu, dropped %llu (blocked), %llu malformed;"
		   " %u upstreams, %u failed", (unsigned long long)fw->forwarded,
		   (unsigned long long)fw->dropped, (unsigned long long)fw->bad,
		   fw->n_up, fw->failed);
	free(fw->rx);
	free(fw->tx);
	free(fw->plan);
}

int chain_fw(int argc, char **argv)
{
	struct fw fw;
	int r;

	memset(&fw, 0, sizeof(fw));
	stage_init(&fw.st, "fw");
	fw.copy = true;
	fw.end_fd = -1;
	if (parse(&fw, argc, argv) < 0)
		return EXIT_USAGE;
	if (stage_start(&fw.st) < 0)
		return EXIT_FAIL;
	r = open_channels(&fw);
	if (r == 0) {
		stage_doing("forwarding");
		r = fw.kind == FW_POLLER ? fw_run_poller(&fw) : fw_run_loop(&fw);
		if (r < 0)
			stage_ivc_err(&fw.st, r == fw.down_err ? "downstream" : "forwarding", r);
	}
	finish(&fw, r);
	return r < 0 || fw.failed || fw.bad ? EXIT_FAIL : EXIT_OK;
}
