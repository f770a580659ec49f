/* SPDX-License-Identifier: MIT */
/*
 * ivc-chain run: the one-command demo.  Makes a directory for the
 * addresses, starts the sink, the firewall and G generators as separate
 * processes (pinned when --cpus is given), waits for all of them, and
 * prints the chain's rate as the sink measured it, the counts and the
 * verdict.  Exit status 0 only if every stage succeeded and delivery was
 * exact (or, with --restart-fw-after, lossless but for the crash).
 *
 * Start-up needs no ordering: ivc_connect() waits for a listener that is
 * not there yet.  With --restart-fw-after K the sink writes to a pipe once
 * K packets have arrived; the orchestrator then SIGKILLs the firewall and
 * starts another, and closes the firewall's end pipe once every generator
 * has exited (see fw_ctl.c).
 */
#define _GNU_SOURCE
#include "chain.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bufs.h"
#include "pkt.h"
#include "run.h"
#include "spawn.h"
#include "stage.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " run [options]\n"
"  --gens G            generators (default 1)\n"
"  --count N           packets per generator (default 1000000)\n"
"  --size S            bytes per packet, %u..%u (default %u)\n"
"  --burst B           burst of every stage (default 32)\n"
"  --block LIST        flows the firewall drops (default 13; none: none)\n"
"  --mode poll|adaptive|block   every endpoint's wait mode (default adaptive)\n"
"  --fw loop|poller    how the firewall serves its upstreams (default loop)\n"
"  --cpus GEN,FW,SINK  pin the stages (every generator on GEN)\n"
"  --slots K --buf-size Z --buf-count C\n"
"                      geometry of every sending lane (default: %u slots,\n"
"                      buffers of the packet size rounded up to 64 B, at most\n"
"                      %u B, chained beyond; 2 x slots buffers)\n"
"  --restart-fw-after K  kill the firewall once the sink has ~K packets,\n"
"                      start another; the generators reconnect\n"
"  --repeat R          run R times, print the median rate\n"
"  --fw-copy on|off    off: the firewall forwards without copying the\n"
"                      payload (measurement only; implies --verify off)\n"
"  --verify on|off     off: the sink counts packets only\n"
"  --time-copy         the firewall times its filling of buffers (the copy)\n"
"  --timeout S         watchdog of each run (default 120)\n"
"  --verbose           the stages' own messages too\n",
		PKT_MIN_LEN, PKT_MAX_LEN, PKT_MIN_LEN, RUN_DEFAULT_SLOTS,
		RUN_MAX_DEFAULT_BUF);
}

static int parse_cpus(const char *s, int cpus[3])
{
	return sscanf(s, "%d,%d,%d", &cpus[0], &cpus[1], &cpus[2]) == 3 &&
	       cpus[0] >= 0 && cpus[1] >= 0 && cpus[2] >= 0 ? 0 : -1;
}

static int on_off(const char *s, bool *out)
{
	if (strcmp(s, "on") && strcmp(s, "off"))
		return -1;
	*out = !strcmp(s, "on");
	return 0;
}

static int parse(struct run_cfg *c, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "gens", required_argument, NULL, 'g' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "burst", required_argument, NULL, 'B' },
		{ "block", required_argument, NULL, 'b' },
		{ "mode", required_argument, NULL, 'm' },
		{ "fw", required_argument, NULL, 'f' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "slots", required_argument, NULL, 'S' },
		{ "buf-size", required_argument, NULL, 'Z' },
		{ "buf-count", required_argument, NULL, 'C' },
		{ "restart-fw-after", required_argument, NULL, 'K' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "fw-copy", required_argument, NULL, 'y' },
		{ "verify", required_argument, NULL, 'V' },
		{ "time-copy", no_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "hv", lopts, NULL)) != -1) {
		switch (opt) {
		case 'g':
			if (parse_u32(optarg, &c->gens) || !c->gens || c->gens > 64)
				goto bad;
			break;
		case 'n':
			if (parse_u64(optarg, &c->count))
				goto bad;
			break;
		case 's':
			if (parse_u32(optarg, &c->size) || c->size < PKT_MIN_LEN ||
			    c->size > PKT_MAX_LEN)
				goto bad;
			break;
		case 'B':
			if (parse_u32(optarg, &c->burst) || !c->burst ||
			    c->burst > STAGE_MAX_BURST)
				goto bad;
			break;
		case 'b':
			if (pkt_parse_flows(optarg, &c->block))
				goto bad;
			break;
		case 'm':
			if (parse_mode(optarg, &c->mode))
				goto bad;
			break;
		case 'f':
			if (strcmp(optarg, "loop") && strcmp(optarg, "poller"))
				goto bad;
			c->fw_kind = optarg;
			break;
		case 'c':
			if (parse_cpus(optarg, c->cpus))
				goto bad;
			c->pinned = true;
			break;
		case 'S':
			if (parse_u32(optarg, &c->tx.slots))
				goto bad;
			break;
		case 'Z':
			if (parse_u32(optarg, &c->tx.buf_size))
				goto bad;
			break;
		case 'C':
			if (parse_u32(optarg, &c->tx.buf_count))
				goto bad;
			break;
		case 'K':
			if (parse_u64(optarg, &c->restart_after) || !c->restart_after)
				goto bad;
			break;
		case 'r':
			if (parse_u32(optarg, &c->repeat) || !c->repeat ||
			    c->repeat > RUN_MAX_REPEAT)
				goto bad;
			break;
		case 'y':
			if (on_off(optarg, &c->copy))
				goto bad;
			break;
		case 'V':
			if (on_off(optarg, &c->verify))
				goto bad;
			break;
		case 't':
			if (parse_u32(optarg, &c->timeout_s) || !c->timeout_s ||
			    c->timeout_s > 86400)
				goto bad;
			break;
		case 'T': c->time_copy = true; break;
		case 'v': c->verbose = true; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (!c->copy)
		c->verify = false;
	if (c->restart_after && !c->verify) {
		fprintf(stderr, PROG " run: --restart-fw-after needs the sink to"
			" verify (--verify on, --fw-copy on)\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, PROG " run: bad value '%s' (see --help)\n", optarg);
	return -1;
}

/* Round-up of @v to a multiple of 64. */
static uint32_t up64(uint32_t v)
{
	return (v + 63u) & ~63u;
}

/* Fill in what the user left at 0 (docs/nfv.md, "Geometry"). */
static void choose_geometry(struct run_cfg *c)
{
	if (!c->tx.slots)
		c->tx.slots = RUN_DEFAULT_SLOTS;
	if (!c->tx.buf_size)
		c->tx.buf_size = up64(c->size < RUN_MAX_DEFAULT_BUF ? c->size :
				      RUN_MAX_DEFAULT_BUF);
	if (!c->tx.buf_count)
		c->tx.buf_count = 2 * c->tx.slots;
}

static void print_setup(const struct run_cfg *c)
{
	char flows[64];
	unsigned per = bufs_per_pkt(c->size, c->tx.buf_size);
	unsigned long long lane = (unsigned long long)c->tx.buf_size * c->tx.buf_count;

	printf("chain: %u gen%s -> fw (%s, copy %s) -> sink; %llu packets of %u B"
	       " per gen, bursts of %u, flows blocked: %s\n",
	       c->gens, c->gens > 1 ? "s" : "", c->fw_kind, c->copy ? "on" : "off",
	       (unsigned long long)c->count, c->size, c->burst,
	       pkt_flows_str(c->block, flows, sizeof(flows)));
	printf("mode %s; every sending lane: %u slots, %u buffers of %u B"
	       " (%llu KiB of buffers)%s", mode_name(c->mode), c->tx.slots,
	       c->tx.buf_count, c->tx.buf_size, lane / 1024,
	       per > 1 ? "; " : "\n");
	if (per > 1)
		printf("a packet is a chain of %u buffers\n", per);
	if (c->pinned)
		printf("cpus: gen %d, fw %d, sink %d\n", c->cpus[0], c->cpus[1],
		       c->cpus[2]);
	else
		printf("cpus: not pinned\n");
	printf("sink verification: %s\n", c->verify ? "every packet" :
	       "off (packets counted only)");
	if (c->restart_after)
		printf("the firewall is killed and restarted after ~%llu packets"
		       " at the sink\n", (unsigned long long)c->restart_after);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The lane must carry a whole packet: buf_size * min(slots, buf_count). */
static int check_fits(const struct run_cfg *c)
{
	uint32_t bufs = c->tx.slots < c->tx.buf_count ? c->tx.slots : c->tx.buf_count;

	if ((uint64_t)c->tx.buf_size * bufs >= c->size)
		return 0;
	fprintf(stderr, PROG " run: a %u-byte packet does not fit a lane of %u"
		" slots and %u buffers of %u B (largest message %llu B)\n",
		c->size, c->tx.slots, c->tx.buf_count, c->tx.buf_size,
		(unsigned long long)c->tx.buf_size * bufs);
	return -1;
}

int chain_run(int argc, char **argv)
{
	struct run_cfg c = {
		.gens = 1, .count = 1000000, .size = PKT_MIN_LEN,
		.burst = STAGE_DEFAULT_BURST, .mode = IVC_MODE_ADAPTIVE,
		.fw_kind = "loop", .repeat = 1, .copy = true, .verify = true,
		.timeout_s = STAGE_DEFAULT_TIMEOUT_S,
		.block = 1u << 13,
	};
	double rates[RUN_MAX_REPEAT];
	unsigned i, ok = 0;

	if (parse(&c, argc, argv) < 0)
		return EXIT_USAGE;
	choose_geometry(&c);
	if (check_fits(&c) < 0)
		return EXIT_USAGE;
	print_setup(&c);
	for (i = 0; i < c.repeat; i++) {
		struct run_result res;
		int r = run_once(&c, &res);

		rates[i] = res.mpps;
		if (r == 0 && res.ok)
			ok++;
		if (c.repeat > 1)
			printf("run %u/%u: %.3f M packets/s, %s\n", i + 1,
			       c.repeat, res.mpps, r == 0 && res.ok ? "ok" : "FAILED");
		fflush(stdout);
	}
	if (c.repeat > 1) {
		qsort(rates, c.repeat, sizeof(rates[0]), cmp_double);
		printf("median of %u: %.3f M packets/s (min %.3f, max %.3f); %u of"
		       " %u runs ok\n", c.repeat, rates[c.repeat / 2], rates[0],
		       rates[c.repeat - 1], ok, c.repeat);
	}
	return ok == c.repeat ? EXIT_OK : EXIT_FAIL;
}
