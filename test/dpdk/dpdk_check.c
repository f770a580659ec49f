/* SPDX-License-Identifier: MIT */
/*
 * ivc-dpdk-check <EAL args> -- <mode> [options]: checks and measures one
 * DPDK port (the single --vdev given) against a peer; see usage() and
 * dpdk_check.h.  Exit status: 0 passed, 1 failed, 2 usage, 77 skipped.
 */
#include "dpdk_check.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

volatile sig_atomic_t chk_interrupted;

static void usage(FILE *f)
{
	fputs(
"usage: ivc-dpdk-check <EAL args> -- <mode> [options]\n"
"  One port: the single --vdev in the EAL args.  The peer returns frames\n"
"  unchanged (dpdk-testpmd --forward-mode=io) unless said otherwise.\n"
"modes:\n"
"  verify   send --count frames of each of --sizes, at most --window in\n"
"           flight; expect each back once, in order, byte for byte\n"
"           (--tx-only: send only; --rx-only: expect them from a\n"
"           --tx-only peer)\n"
"  resume   as verify, until --kill-after frames are back; then create\n"
"           --kill-file (the test kills the peer), wait for the link to\n"
"           go down and come back, and verify a fresh round in full\n"
"  latency  ping-pong one frame of --size at a time, --count times:\n"
"           latency size=.. count=.. median_ns=.. p99_ns=.. min_ns=..\n"
"  intr     RX interrupts: measure idle CPU over --idle-ms, create\n"
"           --ready-file, then sleep until --count frames of --size come\n"
"           (exit 77 where the port has no RX interrupts)\n"
"  send     wait for --wait-file, send --count frames of --size (the\n"
"           peer of intr)\n"
"  selftest the frame format against itself (no port needed)\n"
"options:\n"
"  --count N          frames per size [10000]\n"
"  --sizes B,B,..     frame lengths in bytes, no CRC [64]; --size B: one\n"
"  --segs B           send each frame as a chain of B-byte segments\n"
"  --window W         frames in flight at most [128]\n"
"  --timeout-ms T     link wait and no-progress limit [5000]\n"
"  --tx-only, --rx-only\n"
"  --lax-mtu          go on where the port's MTU, scatter or multi-segment\n"
"                     TX falls short of the frames (a note says so)\n"
"  --started-file P   create P once the port is started\n"
"  --kill-file P, --kill-after N   (resume) [N: count / 2]\n"
"  --quiesce          (resume) no burst calls once the kill file is made:\n"
"                     for PMDs that cannot take their peer's death mid-burst\n"
"  --wait-close       at the end, wait for the peer to leave (polling\n"
"                     only the link), and fail if it has not within the\n"
"                     timeout: the test stops the peer on our verdict\n"
"  --reconnect auto|restart        (resume) while the link is down, wait\n"
"                     for the PMD to reconnect, or stop and start the port\n"
"                     every --reconnect-ms [auto, 100]\n"
"  --idle-ms T, --ready-file P, --max-idle-cpu PCT   (intr) [1000, -, none]\n"
"  --wait-file P      (send, verify --tx-only)\n"
"  --gap-ms G         (send) pause G ms after each burst, so that a\n"
"                     receiver in intr sleeps and wakes many times\n"
"  --rxd N, --txd N   ring sizes [1024]\n"
"  --inject drop|dup|swap|corrupt|round@SEQ[:OFF]   a fault, on purpose\n",
	      f);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || x < min || x > max) {
		fprintf(stderr,
			"ivc-dpdk-check: '%s' is not a number in [%" PRIu64 ", %"
			PRIu64 "]\n", s, min, max);
		return -1;
	}
	*v = x;
	return 0;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *v)
{
	uint64_t x;

	if (parse_u64(s, min, max, &x) != 0)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int parse_sizes(const char *s, struct chk_opts *o)
{
	char buf[256], *save = NULL;

	if (strlen(s) >= sizeof(buf)) {
		fprintf(stderr, "ivc-dpdk-check: --sizes too long\n");
		return -1;
	}
	strcpy(buf, s);
	o->nsizes = 0;
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (o->nsizes == CHK_MAX_SIZES) {
			fprintf(stderr, "ivc-dpdk-check: at most %d sizes\n",
				CHK_MAX_SIZES);
			return -1;
		}
		if (parse_u32(t, CHK_HDR_LEN, CHK_MAX_FRAME,
			      &o->sizes[o->nsizes++]) != 0)
			return -1;
	}
	return o->nsizes ? 0 : -1;
}

static int parse_inject(const char *s, struct chk_opts *o)
{
	static const char *const kinds[] = { "none", "drop", "dup", "swap",
					     "corrupt", "round" };
	const char *at = strchr(s, '@');
	char seq[32];
	const char *colon;

	for (unsigned i = 1; at && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((size_t)(at - s) == strlen(kinds[i]) &&
		    strncmp(s, kinds[i], (size_t)(at - s)) == 0)
			o->inject = (enum chk_inject)i;
	if (o->inject == CHK_INJECT_NONE) {
		fprintf(stderr, "ivc-dpdk-check: --inject KIND@SEQ[:OFF], KIND drop|dup|swap|corrupt|round\n");
		return -1;
	}
	colon = strchr(at, ':');
	if (colon) {
		if (parse_u32(colon + 1, 0, CHK_MAX_FRAME - 1, &o->inject_off) != 0)
			return -1;
	} else {
		o->inject_off = UINT32_MAX;	/* the last byte */
	}
	snprintf(seq, sizeof(seq), "%.*s",
		 (int)(colon ? colon - at - 1 : (ptrdiff_t)strlen(at + 1)),
		 at + 1);
	return parse_u64(seq, 0, UINT64_MAX - 1, &o->inject_seq);
}

enum {
	OPT_COUNT = 256, OPT_SIZES, OPT_SEGS, OPT_WINDOW, OPT_TIMEOUT,
	OPT_TX_ONLY, OPT_RX_ONLY, OPT_LAX, OPT_STARTED, OPT_KILL_FILE,
	OPT_KILL_AFTER, OPT_RECONNECT, OPT_RECONNECT_MS, OPT_IDLE,
	OPT_READY, OPT_MAX_IDLE, OPT_WAIT, OPT_RXD, OPT_TXD, OPT_INJECT,
	OPT_GAP, OPT_QUIESCE, OPT_WAIT_CLOSE, OPT_HELP,
};

static const struct option long_opts[] = {
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "sizes", required_argument, NULL, OPT_SIZES },
	{ "size", required_argument, NULL, OPT_SIZES },
	{ "segs", required_argument, NULL, OPT_SEGS },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "tx-only", no_argument, NULL, OPT_TX_ONLY },
	{ "rx-only", no_argument, NULL, OPT_RX_ONLY },
	{ "lax-mtu", no_argument, NULL, OPT_LAX },
	{ "started-file", required_argument, NULL, OPT_STARTED },
	{ "kill-file", required_argument, NULL, OPT_KILL_FILE },
	{ "kill-after", required_argument, NULL, OPT_KILL_AFTER },
	{ "reconnect", required_argument, NULL, OPT_RECONNECT },
	{ "reconnect-ms", required_argument, NULL, OPT_RECONNECT_MS },
	{ "idle-ms", required_argument, NULL, OPT_IDLE },
	{ "ready-file", required_argument, NULL, OPT_READY },
	{ "max-idle-cpu", required_argument, NULL, OPT_MAX_IDLE },
	{ "wait-file", required_argument, NULL, OPT_WAIT },
	{ "rxd", required_argument, NULL, OPT_RXD },
	{ "txd", required_argument, NULL, OPT_TXD },
	{ "inject", required_argument, NULL, OPT_INJECT },
	{ "gap-ms", required_argument, NULL, OPT_GAP },
	{ "quiesce", no_argument, NULL, OPT_QUIESCE },
	{ "wait-close", no_argument, NULL, OPT_WAIT_CLOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void defaults(struct chk_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->count = 10000;
	o->sizes[0] = 64;
	o->nsizes = 1;
	o->window = 128;
	o->timeout_ms = 5000;
	o->idle_ms = 1000;
	o->max_idle_cpu = -1;
	o->reconnect = CHK_RECONNECT_AUTO;
	o->reconnect_ms = 100;
	o->rxd = o->txd = 1024;
}

static int parse_reconnect(const char *s, struct chk_opts *o)
{
	if (strcmp(s, "auto") == 0)
		o->reconnect = CHK_RECONNECT_AUTO;
	else if (strcmp(s, "restart") == 0)
		o->reconnect = CHK_RECONNECT_RESTART;
	else {
		fprintf(stderr, "ivc-dpdk-check: --reconnect auto|restart\n");
		return -1;
	}
	return 0;
}

static int parse_double(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end) {
		fprintf(stderr, "ivc-dpdk-check: '%s' is not a number\n", s);
		return -1;
	}
	return 0;
}

static int parse_one(int c, const char *a, struct chk_opts *o)
{
	uint32_t u;

	switch (c) {
	case OPT_COUNT: return parse_u64(a, 1, 1000000000000ull, &o->count);
	case OPT_SIZES: return parse_sizes(a, o);
	case OPT_SEGS: return parse_u32(a, 1, CHK_MAX_FRAME, &o->segs);
	case OPT_WINDOW: return parse_u32(a, 1, 65536, &o->window);
	case OPT_TIMEOUT: return parse_u32(a, 1, 3600000, &o->timeout_ms);
	case OPT_TX_ONLY: o->tx_only = true; return 0;
	case OPT_RX_ONLY: o->rx_only = true; return 0;
	case OPT_LAX: o->lax_mtu = true; return 0;
	case OPT_STARTED: o->started_file = a; return 0;
	case OPT_KILL_FILE: o->kill_file = a; return 0;
	case OPT_KILL_AFTER: return parse_u64(a, 1, UINT64_MAX - 1, &o->kill_after);
	case OPT_RECONNECT: return parse_reconnect(a, o);
	case OPT_RECONNECT_MS: return parse_u32(a, 1, 60000, &o->reconnect_ms);
	case OPT_IDLE: return parse_u32(a, 1, 3600000, &o->idle_ms);
	case OPT_READY: o->ready_file = a; return 0;
	case OPT_MAX_IDLE: return parse_double(a, &o->max_idle_cpu);
	case OPT_WAIT: o->wait_file = a; return 0;
	case OPT_RXD:
	case OPT_TXD:
		if (parse_u32(a, 1, 32768, &u) != 0)
			return -1;
		*(c == OPT_RXD ? &o->rxd : &o->txd) = (uint16_t)u;
		return 0;
	case OPT_INJECT: return parse_inject(a, o);
	case OPT_GAP: return parse_u32(a, 0, 10000, &o->gap_ms);
	case OPT_QUIESCE: o->quiesce = true; return 0;
	case OPT_WAIT_CLOSE: o->wait_close = true; return 0;
	default: return -1;
	}
}

static const char *const modes[] = { "verify", "resume", "latency", "intr",
				     "send", "selftest" };

static int parse(int argc, char **argv, struct chk_opts *o)
{
	int c;
	bool known = false;

	defaults(o);
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return -1;
	}
	o->mode = argv[1];
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		known |= strcmp(o->mode, modes[i]) == 0;
	if (!known) {
		fprintf(stderr, "ivc-dpdk-check: no mode '%s'\n", o->mode);
		usage(stderr);
		return -1;
	}
	optind = 2;	/* past the mode (rte_eal_init used getopt too) */
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			usage(stdout);
			return -1;
		}
		if (c == '?' || parse_one(c, optarg, o) != 0)
			return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "ivc-dpdk-check: unexpected '%s'\n", argv[optind]);
		return -1;
	}
	if (o->tx_only && o->rx_only) {
		fprintf(stderr, "ivc-dpdk-check: --tx-only or --rx-only, not both\n");
		return -1;
	}
	if (o->count > UINT64_MAX / 2 / o->nsizes) {
		fprintf(stderr, "ivc-dpdk-check: --count too large\n");
		return -1;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	chk_interrupted = 1;
}

/* After rte_eal_init, which installs no handlers of its own for these:
 * a test's timeout(1) then gets a report of where we were, and the port
 * is closed.  SIGPIPE is ignored: a PMD writing to the control socket of
 * a peer that has just gone (net_virtio_user does) must get EPIPE, not
 * end the process. */
static int catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

static int run_mode(const struct chk_opts *o)
{
	struct chk_port p;
	bool intr = strcmp(o->mode, "intr") == 0;
	int rc;

	if (strcmp(o->mode, "selftest") == 0)
		return chk_selftest(o);
	if (chk_port_open(&p, o, intr) != 0)
		rc = CHK_FAIL;
	else if (strcmp(o->mode, "verify") == 0)
		rc = chk_verify(&p, o);
	else if (strcmp(o->mode, "resume") == 0)
		rc = chk_resume(&p, o);
	else if (strcmp(o->mode, "latency") == 0)
		rc = chk_latency(&p, o);
	else if (intr)
		rc = chk_intr(&p, o);
	else
		rc = chk_send(&p, o);
	if (p.id < RTE_MAX_ETHPORTS && rte_eth_dev_is_valid_port(p.id))
		chk_port_close(&p);
	return rc;
}

int main(int argc, char **argv)
{
	struct chk_opts o;
	int n, rc;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "ivc-dpdk-check: rte_eal_init: %s\n",
			rte_strerror(rte_errno));
		return CHK_FAIL;
	}
	argv[n] = argv[0];
	if (catch_signals() != 0) {
		perror("ivc-dpdk-check: sigaction");
		rc = CHK_FAIL;
	} else if (parse(argc - n, argv + n, &o) != 0)
		rc = CHK_USAGE;
	else
		rc = run_mode(&o);
	if (rte_eal_cleanup() != 0)
		fprintf(stderr, "ivc-dpdk-check: rte_eal_cleanup failed\n");
	return rc;
}
