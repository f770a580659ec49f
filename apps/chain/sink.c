/* SPDX-License-Identifier: MIT */
/*
 * ivc-chain sink: the end of the chain.  Accepts the firewall's channel,
 * receives bursts in place, verifies every packet (verify.h) and releases
 * it; when the firewall closes in order (-EPIPE after draining), checks
 * that delivery was exact and says so in one line.
 *
 * With --restart, a firewall that dies (-ECONNRESET after draining what it
 * had published) is replaced: the sink accepts the next firewall's channel.
 * --notify-fd/--notify-after tell the orchestrator when to kill it.
 *
 * The rate is measured here, from the first burst received to the last:
 * start-up and shut-down are outside it.
 */
#define _GNU_SOURCE
#include "chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bufs.h"
#include "stage.h"
#include "verify.h"

struct sink {
	struct stage st;
	const char *addr;
	struct verify v;
	uint64_t max_loss;      /* --max-loss: the bound on packets lost */
	int notify_fd, ack_fd;
	uint64_t notify_after;
	bool notified;
	struct ivc_listener *l;
	struct ivc_buf *rx;
	unsigned rx_cap;
	uint64_t t_first, t_last, first_pkts;
	unsigned epochs;        /* firewall channels accepted */
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " sink --listen ADDR --gens G [options]\n"
"  --listen ADDR       where the firewall connects (shm:/path)\n"
"  --gens G            generators upstream of the firewall\n"
"  --count N           packets each generator sends (default 1000000)\n"
"  --size S            bytes per packet (default %u)\n"
"  --block LIST        flows the firewall drops (default none)\n"
"  --verify on|off     off: count packets only (for --fw-copy off)\n"
"  --restart           a firewall that dies is replaced: accept the next\n"
"  --max-loss M        with --restart: at most M packets may be lost\n"
"  --notify-fd FD --notify-after K [--ack-fd FD2]\n"
"                      write a byte to FD once K packets have arrived (then\n"
"                      wait for a byte or EOF on FD2 before going on)\n"
"%s", PKT_MIN_LEN, stage_usage);
}

static int parse(struct sink *s, int argc, char **argv)
{
	static const struct option lopts[] = {
		STAGE_LONG_OPTS,
		{ "listen", required_argument, NULL, 'l' },
		{ "gens", required_argument, NULL, 'g' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "block", required_argument, NULL, 'b' },
		{ "verify", required_argument, NULL, 'V' },
		{ "restart", no_argument, NULL, 'R' },
		{ "max-loss", required_argument, NULL, 'M' },
		{ "notify-fd", required_argument, NULL, 'N' },
		{ "notify-after", required_argument, NULL, 'K' },
		{ "ack-fd", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, c;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		if ((c = stage_opt(&s->st, opt, optarg)) != 0) {
			if (c < 0)
				return -1;
			continue;
		}
		switch (opt) {
		case 'l': s->addr = optarg; break;
		case 'g':
			if (parse_u32(optarg, &s->v.gens) || !s->v.gens ||
			    s->v.gens > 65536)
				goto bad;
			break;
		case 'n':
			if (parse_u64(optarg, &s->v.count))
				goto bad;
			break;
		case 's':
			if (parse_u32(optarg, &s->v.size) || s->v.size < PKT_MIN_LEN ||
			    s->v.size > PKT_MAX_LEN)
				goto bad;
			break;
		case 'b':
			if (pkt_parse_flows(optarg, &s->v.block))
				goto bad;
			break;
		case 'V':
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				goto bad;
			s->v.payload = !strcmp(optarg, "on");
			break;
		case 'R': s->v.restart = true; break;
		case 'M':
			if (parse_u64(optarg, &s->max_loss))
				goto bad;
			break;
		case 'N':
			if (parse_int(optarg, &s->notify_fd) || s->notify_fd < 0)
				goto bad;
			break;
		case 'A':
			if (parse_int(optarg, &s->ack_fd) || s->ack_fd < 0)
				goto bad;
			break;
		case 'K':
			if (parse_u64(optarg, &s->notify_after) || !s->notify_after)
				goto bad;
			break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); return -1;
		}
	}
	if (!s->addr || !s->v.gens || optind != argc) {
		usage(stderr);
		return -1;
	}
	if (s->v.restart && !s->v.payload) {
		stage_err(&s->st, "--restart needs --verify on (losses are found per packet)");
		return -1;
	}
	return 0;
bad:
	stage_err(&s->st, "bad value '%s' (see --help)", optarg);
	return -1;
}

/* Accept the next firewall; clients that fail their handshake are
 * dropped and the next one is waited for. */
static int accept_fw(struct sink *s, struct ivc_channel **ch)
{
	for (;;) {
		int r = ivc_accept(s->l, ms_of_s(s->st.timeout_s), ch);

		if (r != -EPROTO && r != -EACCES && r != -EPROTONOSUPPORT &&
		    r != -E2BIG)
			return r;
		stage_ivc_err(&s->st, "accept (that client dropped)", r);
	}
}

/* Tell the orchestrator that K packets are in; with --ack-fd, wait until
 * it has acted (killed the firewall): the crash then always comes while
 * packets are in flight, and the firewall cannot finish first, for it
 * cannot send more than our lane holds while we wait. */
static void notify(struct sink *s)
{
	char c = 'K';

	if (s->notified || s->notify_fd < 0 || s->v.packets < s->notify_after)
		return;
	s->notified = true;
	if (write(s->notify_fd, &c, 1) != 1) {
		stage_err(&s->st, "notify: %s", strerror(errno));
		return;
	}
	stage_doing("waiting for the orchestrator's ack");
	if (s->ack_fd >= 0 && read(s->ack_fd, &c, 1) < 0)
		stage_err(&s->st, "ack: %s", strerror(errno));
	stage_doing("receiving");
}

/* One burst of whole packets: time it, verify it, release it. */
static void take(struct sink *s, struct ivc_channel *ch, unsigned n)
{
	uint64_t t = now_ns(), before = s->v.packets;
	unsigned i = 0;

	while (i < n) {
		unsigned e = pkt_end(s->rx, i, n);

		verify_packet(&s->v, s->rx + i, e - i);
		i = e;
	}
	ivc_rx_release(ch, s->rx, n);
	if (!s->t_first) {
		s->t_first = t;
		s->first_pkts = s->v.packets - before;
	}
	s->t_last = t;
	notify(s);
}

/* Receive from one firewall until it ends.  Return its end (-EPIPE in
 * order, -ECONNRESET died) or another error. */
static int drain(struct sink *s, struct ivc_channel *ch)
{
	for (;;) {
		int n = rx_whole(ch, s->rx, s->st.burst, s->rx_cap, -1);

		if (n < 0)
			return n;
		take(s, ch, (unsigned)n);
	}
}

static int run(struct sink *s)
{
	struct ivc_options o;
	int r;

	/* The lane back to the firewall carries nothing: make it tiny. */
	stage_ivc_options(&s->st, &stage_unused_lane, &o);
	r = ivc_listen(s->addr, &o, &s->l);
	if (r < 0) {
		stage_ivc_err(&s->st, s->addr, r);
		return r;
	}
	for (;;) {
		struct ivc_channel *ch;

		stage_doing("accepting the firewall");
		r = accept_fw(s, &ch);
		if (r < 0) {
			stage_ivc_err(&s->st, "accept", r);
			return r;
		}
		if (s->epochs++)
			verify_epoch(&s->v);
		stage_doing("receiving");
		r = drain(s, ch);
		ivc_close(ch);
		if (r == -EPIPE)
			return 0;
		if (r == -ECONNRESET && s->v.restart) {
			stage_info(&s->st, "firewall died after %llu packets:"
				   " waiting for the next",
				   (unsigned long long)s->v.packets);
			continue;
		}
		stage_ivc_err(&s->st, "receive", r);
		return r;
	}
}

static double rate_mpps(const struct sink *s, double *secs)
{
	*secs = (double)(s->t_last - s->t_first) * 1e-9;
	if (*secs <= 0)
		return 0;
	return (double)(s->v.packets - s->first_pkts) / *secs * 1e-6;
}

/* The one-line result (and the report line).  Return the exit status. */
static int conclude(struct sink *s, int r)
{
	struct verify_result res;
	char flows[64];
	double secs, mpps = rate_mpps(s, &secs);
	const char *verdict;

	verify_finish(&s->v, &res);
	if (r == 0 && !res.errors && s->v.restart && res.lost > s->max_loss)
		verdict = "FAILED (lost more than was in flight)";
	else if (r < 0 || res.errors)
		verdict = "FAILED";
	else if (!s->v.payload)
		verdict = "count-exact (payload not verified)";
	else if (res.lost)
		verdict = "ok: lost only at the restart";
	else
		verdict = "exact";
	stage_report(&s->st, "delivered=%llu expected=%llu blocked=%llu lost=%llu"
		     " errors=%llu firewalls=%u secs=%.9f timed=%llu mpps=%.6f ok=%d",
		     (unsigned long long)res.delivered, (unsigned long long)res.expected,
		     (unsigned long long)res.blocked, (unsigned long long)res.lost,
		     (unsigned long long)res.errors, s->epochs, secs,
		     (unsigned long long)(s->v.packets - s->first_pkts), mpps,
		     verdict[0] != 'F');
	if (!s->st.quiet || verdict[0] == 'F')
		fprintf(stderr, PROG " sink: %s: delivered %llu of %llu (%u gens x %llu,"
			" flows blocked: %s), lost %llu; %.3f M packets/s first to last%s%s\n",
			verdict, (unsigned long long)res.delivered,
			(unsigned long long)res.expected, s->v.gens,
			(unsigned long long)s->v.count,
			pkt_flows_str(s->v.block, flows, sizeof(flows)),
			(unsigned long long)res.lost, mpps,
			res.first_err ? "; first error: " : "",
			res.first_err ? res.first_err : "");
	return verdict[0] == 'F' ? EXIT_FAIL : EXIT_OK;
}

int chain_sink(int argc, char **argv)
{
	struct sink s;
	int r, status;

	memset(&s, 0, sizeof(s));
	stage_init(&s.st, "sink");
	s.v.count = 1000000;
	s.v.size = PKT_MIN_LEN;
	s.v.payload = true;
	s.notify_fd = -1;
	s.ack_fd = -1;
	if (parse(&s, argc, argv) < 0)
		return EXIT_USAGE;
	if (stage_start(&s.st) < 0)
		return EXIT_FAIL;
	s.rx_cap = s.st.burst + bufs_per_pkt(PKT_MAX_LEN, 64);
	s.rx = calloc(s.rx_cap, sizeof(*s.rx));
	if (!s.rx || verify_init(&s.v) < 0) {
		stage_err(&s.st, "out of memory");
		return EXIT_FAIL;
	}
	r = run(&s);
	ivc_listener_close(s.l);
	status = conclude(&s, r);
	verify_free(&s.v);
	free(s.rx);
	return status;
}
