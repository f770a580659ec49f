/* SPDX-License-Identifier: MIT */
/*
 * ivc-bench - ivc's benchmark suite: round-trip latency, throughput and
 * core-placement sweeps, with the kernel IPC baselines, the peer libraries
 * and the physical limits measured side by side in the same run.
 *
 *   ivc-bench pingpong   RTT percentiles per size (--connect: against a
 *                        serve elsewhere, e.g. in another Xen domain)
 *   ivc-bench serve      the echoing peer of pingpong --connect
 *   ivc-bench stream     messages/s and GB/s per size and burst
 *   ivc-bench sweep      every placement x mode x transport x size -> CSV
 *   ivc-bench report F   the ratio tables of a sweep's CSV
 *   ivc-bench places     the placements this machine offers
 *   ivc-bench list       the transports built in
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_csv.h"
#include "bench_place.h"
#include "bench_plan.h"
#include "bench_report.h"
#include "bench_run.h"
#include "bench_util.h"
#include "bench_xport.h"

const char bench_prog[] = "ivc-bench";

#define BX_STR_(x) #x
#define BX_STR(x) BX_STR_(x)

enum cmd { CMD_PINGPONG, CMD_STREAM, CMD_SWEEP };

static void usage(FILE *f)
{
	fputs(
"usage: ivc-bench pingpong|stream|sweep [options]\n"
"       ivc-bench serve --listen ADDR [serve options]\n"
"       ivc-bench pingpong --connect ADDR [options]\n"
"       ivc-bench report FILE.csv [-s SIZES]\n"
"       ivc-bench places [--synthetic DESC]\n"
"       ivc-bench list\n"
"\n"
"  pingpong   round-trip time percentiles (p50 p90 p99 p99.9 max) per size\n"
"  serve      the echoing peer of pingpong --connect, as its own program: the\n"
"             two ends may be in different Xen domains (split mode, below)\n"
"  stream     one-way throughput (messages/s, GB/s) per size and burst\n"
"  sweep      both, at every placement, every mode, every transport, every\n"
"             size: CSV to -o (default ivc-sweep.csv), tables on stdout,\n"
"             progress and time left on stderr\n"
"  report     the tables (ivc / every baseline and limit) of a sweep's CSV\n"
"  places     the endpoint placements hwloc finds (--synthetic: what a box\n"
"             of that shape would offer, e.g. \"pack:2 l3:1 core:4 pu:2\")\n"
"  list       the transports this build has\n"
"\n"
"options (pingpong, stream, sweep):\n"
"  -x, --transports LIST  names from `list`; `all` (default: pingpong/stream:\n"
"                         ivc,unix,cacheline,memcpy; sweep: all)\n"
"  -m, --modes LIST       poll,adaptive,block (default all); baselines run in\n"
"                         those they support, limits in their own\n"
"  -s, --sizes LIST       message sizes, >= 8 (k = 1024, M = 1024k), or A..B\n"
"                         for the powers of two between (default: 64;\n"
"                         sweep: 8..1M)\n"
"  -p, --placements LIST  names from `places`, or `all` (default: pingpong/\n"
"                         stream: the nearest pair of separate PUs; sweep: all)\n"
"  -c, --cpus A,B         an explicit CPU pair instead of -p\n"
"  -n, --count N          most round trips / messages per point (default\n"
"                         100k / 10M)\n"
"  -t, --time SECS        time bound per point (default 1; sweep 0.1)\n"
"  -r, --runs N           runs per point, side by side; rows are medians\n"
"                         (default 1; sweep 3; at most 16)\n"
"  -b, --bursts LIST      stream: messages per send call (default 32)\n"
"      --touch yes|no|both stream: receiver reads every byte (default both)\n"
"  -o, --output FILE      sweep: where the CSV goes\n"
"      --quick            sweep: a smoke run of about a minute\n"
"      --csv              pingpong/stream: CSV on stdout, not tables\n"
"      --no-progress      no progress line\n"
"      --via SCHEME       the ivc transports' channels: shm (default); xen (a\n"
"                         service of the local Xen domain: run it in a\n"
"                         domain that has /dev/xen, see docs/xen.md); or tcp\n"
"                         (127.0.0.1: compare with the raw `tcp` baseline);\n"
"                         or tcp-lazy (tcp with IVC_TCP_LAZY_RETURNS),\n"
"                         tcp-queued (IVC_TCP_QUEUED_SENDS: a send is done\n"
"                         once queued, as a write() is), tcp-lazy-queued\n"
"  ivc channel geometry: --slots N --buf-size N --buf-count N\n"
"      --spin-max-ns N    adaptive mode's spin bound\n"
"      --inline           IVC_OPT_INLINE on every ivc channel\n"
"\n"
"split mode (ivc, ivc-copy, ivc-inline; ping-pong only): the peer is not\n"
"forked but is `ivc-bench serve`, run first, e.g. in another Xen domain:\n"
"  in domain 5:  ivc-bench serve --listen xen:bench --allow 7\n"
"  in domain 7:  ivc-bench pingpong --connect xen:5/bench -s 64,4k,64k\n"
"serve listens at ADDR-TRANSPORT-MODE (xen:bench-ivc-poll, ...) for every\n"
"transport of its -x (default ivc) in every mode of its -m (default all: a\n"
"listener's mode holds for every channel it accepts), then echoes one point\n"
"per channel, one client at a time, printing a line per point, until killed\n"
"(SIGINT/SIGTERM: after the point in progress) or --points.  A client silent\n"
"for 10 s after connecting is dropped.  pingpong --connect connects to\n"
"ADDR-TRANSPORT-MODE for each point of its -x (default ivc) and -m; a point\n"
"the server does not listen for fails.  Each side's --slots, --buf-size and\n"
"--buf-count make the lane it sends on (split default: --slots " BX_STR(BX_SPLIT_SLOTS) ", 2\n"
"buffers a slot, messages up to 128 KiB); a size over either lane's largest\n"
"message fails its point.  Under emulation (Xen under QEMU) the figures only\n"
"show that it works, not how fast it is.\n"
"  serve:\n"
"      --listen ADDR      where to listen: shm:@NAME, shm:/PATH, xen:SERVICE\n"
"      --allow D[,D..]    xen: the domains let in (default: the local domain\n"
"                         only, which a list leaves out unless it names it)\n"
"      --points N         exit after N points (default: serve until killed)\n"
"  -c, --cpu N            pin to CPU N (default: not pinned)\n"
"  -x, -m, the channel geometry, --spin-max-ns, --inline: as above\n"
"  pingpong:\n"
"      --connect ADDR     the server: shm:@NAME, shm:/PATH, xen:DOMID/SERVICE\n"
"  -c, --cpus A           the initiator's CPU (default: the first of the\n"
"                         nearest pair); no -p, no --via\n", f);
}

/* ------------------------------------------------------------- parsing -- */

/* Call @cb on each comma-separated token of @s. */
static void each_token(const char *opt, const char *s, void (*cb)(const char *opt, const char *tok, void *arg),
		       void *arg)
{
	char *dup = strdup(s), *save = NULL;

	if (!dup)
		bench_die("out of memory");
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
		cb(opt, t, arg);
	free(dup);
}

static void add_xport(struct bench_plan *p, const struct bench_xport *x)
{
	for (int i = 0; i < p->n_xports; i++)
		if (p->xports[i] == x)
			return;
	if (p->n_xports < BENCH_MAX_XPORTS)
		p->xports[p->n_xports++] = x;
}

static void xport_cb(const char *opt, const char *tok, void *arg)
{
	struct bench_plan *p = arg;
	const struct bench_xport *x;

	if (!strcmp(tok, "all")) {
		for (const struct bench_xport *const *xp = bench_xports; *xp; xp++)
			add_xport(p, *xp);
		return;
	}
	if (!(x = bench_xport_find(tok)))
		bench_die("%s: no transport \"%s\" in this build (see `ivc-bench list`)", opt, tok);
	add_xport(p, x);
}

static void mode_cb(const char *opt, const char *tok, void *arg)
{
	struct bench_plan *p = arg;
	enum ivc_mode m;

	if (!bench_parse_mode(tok, &m))
		bench_die("%s: unknown mode \"%s\" (poll, adaptive, block)", opt, tok);
	p->modes |= BX_MODE(m);
}

static void add_size(struct bench_plan *p, uint64_t s)
{
	for (int i = 0; i < p->n_sizes; i++)
		if (p->sizes[i] == s)
			return;
	if (p->n_sizes == BENCH_MAX_SIZES)
		bench_die("too many sizes (at most %d)", BENCH_MAX_SIZES);
	p->sizes[p->n_sizes++] = s;
}

static void size_cb(const char *opt, const char *tok, void *arg)
{
	struct bench_plan *p = arg;
	const char *dots = strstr(tok, "..");

	if (dots) {
		char lo[32];
		uint64_t a, b;

		if ((size_t)(dots - tok) >= sizeof(lo))
			bench_die("%s: bad range \"%s\"", opt, tok);
		memcpy(lo, tok, (size_t)(dots - tok));
		lo[dots - tok] = 0;
		a = bench_parse_bytes(opt, lo, 8, 1u << 30);
		b = bench_parse_bytes(opt, dots + 2, a, 1u << 30);
		for (uint64_t s = a; s <= b; s *= 2)
			add_size(p, s);
		return;
	}
	add_size(p, bench_parse_bytes(opt, tok, 8, 1u << 30));
}

static void burst_cb(const char *opt, const char *tok, void *arg)
{
	struct bench_plan *p = arg;

	if (p->n_bursts == BENCH_MAX_BURSTS)
		bench_die("%s: at most %d bursts", opt, BENCH_MAX_BURSTS);
	p->bursts[p->n_bursts++] = (unsigned)bench_parse_num(opt, tok, 1, 4096);
}

struct place_arg {
	struct bench_plan *p;
	const struct bench_place *all;
	int n_all;
};

static void place_cb(const char *opt, const char *tok, void *arg)
{
	struct place_arg *a = arg;

	for (int i = 0; i < a->n_all; i++) {
		if (strcmp(tok, "all") && strcmp(tok, a->all[i].name))
			continue;
		if (a->p->n_places < BENCH_MAX_PLACES)
			a->p->places[a->p->n_places++] = a->all[i];
		if (strcmp(tok, "all"))
			return;
	}
	if (strcmp(tok, "all"))
		bench_die("%s: no placement \"%s\" here (see `ivc-bench places`)", opt, tok);
}

/* ------------------------------------------------------------ commands -- */

static int cmd_list(void)
{
	static const char *const kinds[] = { "ivc", "baseline", "limit" };

	printf("%-12s %-9s %-16s %s\n", "transport", "kind", "benchmarks", "what it measures");
	for (const struct bench_xport *const *xp = bench_xports; *xp; xp++) {
		const struct bench_xport *x = *xp;
		char b[32];

		snprintf(b, sizeof(b), "%s%s%s", x->benches & BX_PINGPONG ? "pingpong" : "",
			 x->benches == (BX_PINGPONG | BX_STREAM) ? "," : "",
			 x->benches & BX_STREAM ? "stream" : "");
		printf("%-12s %-9s %-16s %s\n", x->name, kinds[x->kind], b, x->what);
	}
#ifndef IVC_BENCH_HAVE_ZMQ
	puts("(zmq: not built: libzmq3-dev was not found)");
#endif
#ifndef IVC_BENCH_HAVE_DPDK
	puts("(rte_ring: not built: libdpdk-dev was not found)");
#endif
	return 0;
}

static int cmd_places(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "synthetic", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_place pl[BENCH_MAX_PLACES];
	const char *synth = NULL;
	int opt, n;

	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (opt == 'S')
			synth = optarg;
		else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if ((n = bench_places(pl, synth)) < 0)
		bench_die("cannot read the topology%s: %s", synth ? " (bad --synthetic?)" : "",
			  ivc_strerror(n));
	printf("%-18s %-9s %s\n", "placement", "CPUs", "what");
	for (int i = 0; i < n; i++) {
		char cpus[24];

		snprintf(cpus, sizeof(cpus), "%d,%d", pl[i].cpu_a, pl[i].cpu_b);
		printf("%-18s %-9s %s\n", pl[i].name, cpus, pl[i].desc);
	}
	return 0;
}

static int cmd_report(int argc, char **argv)
{
	struct bench_plan p;
	struct bench_row *rows;
	size_t n, line;
	const char *why;
	FILE *f;
	int opt, ret;

	memset(&p, 0, sizeof(p));
	while ((opt = getopt(argc, argv, "s:h")) != -1) {
		if (opt == 's')
			each_token("-s", optarg, size_cb, &p);
		else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (!(f = fopen(argv[optind], "r")))
		bench_die("%s: %s", argv[optind], strerror(errno));
	ret = bench_csv_read(f, &rows, &n, &line, &why);
	fclose(f);
	if (ret < 0)
		bench_die("%s:%zu: %s", argv[optind], line, why);
	bench_report(stdout, rows, n, p.n_sizes ? p.sizes : NULL, p.n_sizes);
	free(rows);
	return 0;
}

enum {
	OPT_TOUCH = 0x100, OPT_QUICK, OPT_NO_PROGRESS, OPT_VIA, OPT_CONNECT,
	OPT_LISTEN, OPT_ALLOW, OPT_POINTS,
};

struct run_opts {
	bool csv, quick, no_progress;
	const char *output;
	const char *places;
	int cpu_a, cpu_b;
	const char *cpu_one;    /* -c without a comma: --connect's one CPU */
	const char *connect;    /* --connect: split mode */
	bool n_set, t_set, r_set;
};

static void defaults(enum cmd cmd, struct bench_plan *p, struct run_opts *o)
{
	if (!p->n_xports)
		each_token("-x", cmd == CMD_SWEEP ? "all" : "ivc,unix,cacheline,memcpy",
			   xport_cb, p);
	if (!p->modes)
		p->modes = BX_MODE(IVC_MODE_POLL) | BX_MODE(IVC_MODE_ADAPTIVE) |
			   BX_MODE(IVC_MODE_BLOCK);
	if (!p->n_sizes)
		each_token("-s", cmd != CMD_SWEEP ? "64" : o->quick ? "64,4096,65536" : "8..1M",
			   size_cb, p);
	if (!p->n_bursts)
		p->bursts[p->n_bursts++] = 32;
	if (!p->touch)
		p->touch = BENCH_TOUCH_YES | BENCH_TOUCH_NO;
	if (!o->n_set) {
		p->pp_count = 100000;
		p->st_count = 10000000;
	}
	if (!o->t_set)
		p->secs = cmd != CMD_SWEEP ? 1.0 : o->quick ? 0.03 : 0.1;
	if (!o->r_set)
		p->runs = cmd == CMD_SWEEP && !o->quick ? 3 : 1;
}

static void choose_places(enum cmd cmd, struct bench_plan *p, const struct run_opts *o)
{
	struct bench_place all[BENCH_MAX_PLACES];
	struct place_arg a = { p, all, 0 };
	int ret;

	if (o->cpu_a >= 0) {
		if ((ret = bench_place_for(o->cpu_a, o->cpu_b, &p->places[0])) < 0)
			bench_die("-c %d,%d: no such CPUs", o->cpu_a, o->cpu_b);
		p->n_places = 1;
		return;
	}
	if ((a.n_all = bench_places(all, NULL)) < 0)
		bench_die("cannot read the topology: %s", ivc_strerror(a.n_all));
	if (o->places) {
		each_token("-p", o->places, place_cb, &a);
	} else if (cmd == CMD_SWEEP) {
		each_token("-p", "all", place_cb, &a);
	} else {
		/* The nearest pair of separate PUs (or one PU if that is all). */
		p->places[0] = all[a.n_all > 1 ? 1 : 0];
		p->n_places = 1;
	}
}

/* Split mode: every transport of @p must have a serving side. */
static void split_xports(const char *opt, const struct bench_plan *p)
{
	for (int i = 0; i < p->n_xports; i++)
		if (!p->xports[i]->echo)
			bench_die("%s: transport %s cannot be split; only ivc, ivc-copy and"
				  " ivc-inline run with their ends apart", opt, p->xports[i]->name);
}

/* Split mode's lanes, unless the geometry options chose (BX_SPLIT_SLOTS). */
static void split_geometry(struct ivc_geometry *geo)
{
	if (!geo->slots)
		geo->slots = BX_SPLIT_SLOTS;
}

/* pingpong --connect: what split mode allows, and its defaults. */
static void split_opts(enum cmd cmd, struct bench_plan *p, struct run_opts *o)
{
	if (cmd != CMD_PINGPONG)
		bench_die("--connect is for pingpong");
	if (o->places || o->cpu_a >= 0)
		bench_die("--connect: -p and -c A,B place both ends here; -c A pins the"
			  " initiator");
	if (p->base.ivc_via)
		bench_die("--connect: the address names the transport (no --via)");
	if (o->cpu_one)
		o->cpu_a = (int)bench_parse_num("-c", o->cpu_one, 0, 1u << 20);
	if (!p->n_xports)
		each_token("-x", "ivc", xport_cb, p);
	split_xports("--connect", p);
	split_geometry(&p->base.geo);
	p->base.ivc_remote = o->connect;
}

/* pingpong --connect: one "placement", the initiator's CPU (by default the
 * one a local run would give it); the peer's is not ours to know. */
static void remote_place(struct bench_plan *p, const struct run_opts *o)
{
	struct bench_place all[BENCH_MAX_PLACES], *pl = &p->places[0];
	int cpu = o->cpu_a, n;

	if (cpu < 0) {
		if ((n = bench_places(all, NULL)) < 0)
			bench_die("cannot read the topology: %s", ivc_strerror(n));
		cpu = all[n > 1 ? 1 : 0].cpu_a;
	}
	if (bench_place_for(cpu, cpu, pl) < 0)
		bench_die("-c %d: no such CPU", cpu);
	snprintf(pl->name, sizeof(pl->name), "remote");
	snprintf(pl->desc, sizeof(pl->desc), "initiator on CPU %d, peer at %.50s", cpu,
		 o->connect);
	pl->cpu_b = -1;
	p->n_places = 1;
}

static int cmd_run(enum cmd cmd, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "transports", required_argument, NULL, 'x' },
		{ "modes", required_argument, NULL, 'm' },
		{ "sizes", required_argument, NULL, 's' },
		{ "placements", required_argument, NULL, 'p' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "time", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ "bursts", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "touch", required_argument, NULL, OPT_TOUCH },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "via", required_argument, NULL, OPT_VIA },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		BENCH_LONG_OPTS_TAIL
	};
	struct bench_plan p;
	struct run_opts o = { .cpu_a = -1, .cpu_b = -1 };
	struct bench_row *rows = NULL;
	size_t n_rows = 0;
	FILE *csv = NULL;
	int opt, failed;

	memset(&p, 0, sizeof(p));
	while ((opt = getopt_long(argc, argv, "x:m:s:p:c:n:t:r:b:o:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'x': each_token("-x", optarg, xport_cb, &p); break;
		case 'm': each_token("-m", optarg, mode_cb, &p); break;
		case 's': each_token("-s", optarg, size_cb, &p); break;
		case 'p': o.places = optarg; break;
		case 'c':
			/* One CPU is for --connect, which may come later. */
			if (strchr(optarg, ','))
				bench_parse_cpus("-c", optarg, &o.cpu_a, &o.cpu_b);
			else
				o.cpu_one = optarg;
			break;
		case 'n':
			p.pp_count = p.st_count = bench_parse_num("-n", optarg, 1, 1ull << 32);
			o.n_set = true;
			break;
		case 't': p.secs = bench_parse_secs("-t", optarg); o.t_set = true; break;
		case 'r': p.runs = (unsigned)bench_parse_num("-r", optarg, 1, 16); o.r_set = true; break;
		case 'b': each_token("-b", optarg, burst_cb, &p); break;
		case 'o': o.output = optarg; break;
		case OPT_TOUCH:
			if (!strcmp(optarg, "yes"))
				p.touch = BENCH_TOUCH_YES;
			else if (!strcmp(optarg, "no"))
				p.touch = BENCH_TOUCH_NO;
			else if (!strcmp(optarg, "both"))
				p.touch = BENCH_TOUCH_YES | BENCH_TOUCH_NO;
			else
				bench_die("--touch: yes, no or both");
			break;
		case OPT_QUICK: o.quick = true; break;
		case OPT_NO_PROGRESS: o.no_progress = true; break;
		case OPT_VIA:
			if (strcmp(optarg, "shm") && strcmp(optarg, "xen") && strcmp(optarg, "tcp") &&
			    strcmp(optarg, "tcp-lazy") && strcmp(optarg, "tcp-queued") &&
			    strcmp(optarg, "tcp-lazy-queued"))
				bench_die("--via: shm, xen, tcp, tcp-lazy, tcp-queued or tcp-lazy-queued");
			p.base.ivc_via = optarg;
			break;
		case OPT_CONNECT: o.connect = optarg; break;
		default:
			bench_common_opt(opt, optarg, &o.csv, &p.base.geo, &p.base.spin_max_ns, usage);
		}
	}
	bench_end_opts(argc, usage);
	if (cmd != CMD_SWEEP && (o.output || o.quick))
		bench_die("-o and --quick are for sweep");
	if (o.connect)
		split_opts(cmd, &p, &o);
	else if (o.cpu_one)
		bench_parse_cpus("-c", o.cpu_one, &o.cpu_a, &o.cpu_b); /* (dies) */
	p.base.ivc_flags = bench_ivc_flags;
	p.benches = cmd == CMD_PINGPONG ? BX_PINGPONG : cmd == CMD_STREAM ? BX_STREAM
									 : BX_PINGPONG | BX_STREAM;
	defaults(cmd, &p, &o);
	if (o.connect)
		remote_place(&p, &o);
	else
		choose_places(cmd, &p, &o);
	p.progress = !o.no_progress && (cmd == CMD_SWEEP || isatty(STDERR_FILENO));
	if (cmd == CMD_SWEEP) {
		if (!o.output)
			o.output = "ivc-sweep.csv";
		if (!(csv = fopen(o.output, "w")))
			bench_die("%s: %s", o.output, strerror(errno));
		fprintf(stderr, "ivc-bench sweep: %d placement(s), %d size(s), %u run(s) per point,"
			" %.2f s per point; CSV to %s\n", p.n_places, p.n_sizes, p.runs, p.secs,
			o.output);
	} else if (o.csv) {
		csv = stdout;
	}
	if (csv)
		bench_csv_header(csv);
	p.csv = csv;
	bench_run_calibrate();
	failed = bench_plan_run(&p, &rows, &n_rows);
	if (failed < 0)
		bench_die("%s", ivc_strerror(failed));
	if (csv && csv != stdout && fclose(csv) != 0)
		bench_die("%s: %s", o.output, strerror(errno));
	if (!o.csv)
		bench_report(stdout, rows, n_rows, cmd == CMD_SWEEP ? NULL : p.sizes,
			     cmd == CMD_SWEEP ? 0 : p.n_sizes);
	if (cmd != CMD_SWEEP && !o.csv)
		bench_print_detail(stdout, rows, n_rows);
	free(rows);
	if (failed)
		fprintf(stderr, "ivc-bench: %d point(s) failed (see above)\n", failed);
	return failed ? 1 : 0;
}

/* serve --allow: the domains a xen listener lets in. */
struct allow {
	uint32_t domids[IVC_XEN_MAX_PEERS];
	struct ivc_xen_options xo;
};

static void allow_cb(const char *opt, const char *tok, void *arg)
{
	struct allow *a = arg;

	if (a->xo.n_allowed_domids == IVC_XEN_MAX_PEERS)
		bench_die("%s: at most %u domains", opt, IVC_XEN_MAX_PEERS);
	a->domids[a->xo.n_allowed_domids++] =
		(uint32_t)bench_parse_num(opt, tok, 0, UINT32_MAX - 1);
	a->xo.allowed_domids = a->domids;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "transports", required_argument, NULL, 'x' },
		{ "modes", required_argument, NULL, 'm' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "allow", required_argument, NULL, OPT_ALLOW },
		{ "points", required_argument, NULL, OPT_POINTS },
		BENCH_LONG_OPTS_TAIL
	};
	static struct allow allow;
	struct bench_plan p;
	struct bench_serve sv = { .cpu = -1 };
	bool csv = false;
	int opt, ret;

	memset(&p, 0, sizeof(p));
	while ((opt = getopt_long(argc, argv, "x:m:c:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'x': each_token("-x", optarg, xport_cb, &p); break;
		case 'm': each_token("-m", optarg, mode_cb, &p); break;
		case 'c': sv.cpu = (int)bench_parse_num("-c", optarg, 0, 1u << 20); break;
		case OPT_LISTEN: sv.addr = optarg; break;
		case OPT_ALLOW: each_token("--allow", optarg, allow_cb, &allow); break;
		case OPT_POINTS: sv.points = bench_parse_num("--points", optarg, 1, UINT64_MAX); break;
		default:
			bench_common_opt(opt, optarg, &csv, &p.base.geo, &p.base.spin_max_ns, usage);
		}
	}
	bench_end_opts(argc, usage);
	if (!sv.addr)
		bench_die("serve: where? --listen ADDR (shm:@NAME, xen:SERVICE)");
	if (csv)
		bench_die("--csv is for pingpong and stream");
	/* Domain ids mean nothing to shm (it has uids); the library would
	 * only say EINVAL. */
	if (allow.xo.n_allowed_domids && strncmp(sv.addr, "xen:", 4))
		bench_die("--allow is for xen: addresses (not %s)", sv.addr);
	if (!p.n_xports)
		each_token("-x", "ivc", xport_cb, &p);
	split_xports("serve", &p);
	split_geometry(&p.base.geo);
	p.base.ivc_flags = bench_ivc_flags;
	sv.xports = p.xports;
	sv.n_xports = p.n_xports;
	sv.modes = p.modes ? p.modes : BX_MODE(IVC_MODE_POLL) | BX_MODE(IVC_MODE_ADAPTIVE) |
				       BX_MODE(IVC_MODE_BLOCK);
	sv.base = p.base;
	sv.xen = allow.xo.n_allowed_domids ? &allow.xo : NULL;
	ret = bench_serve(&sv);
	return ret < 0 ? 1 : ret;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	/* getopt sees the sub-command's arguments only. */
	argc--;
	argv++;
	if (!strcmp(cmd, "pingpong"))
		return cmd_run(CMD_PINGPONG, argc, argv);
	if (!strcmp(cmd, "stream"))
		return cmd_run(CMD_STREAM, argc, argv);
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc, argv);
	if (!strcmp(cmd, "sweep"))
		return cmd_run(CMD_SWEEP, argc, argv);
	if (!strcmp(cmd, "report"))
		return cmd_report(argc, argv);
	if (!strcmp(cmd, "places"))
		return cmd_places(argc, argv);
	if (!strcmp(cmd, "list"))
		return cmd_list();
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
