/* SPDX-License-Identifier: MIT */
/*
 * What every stage shares (stage.h).
 *
 * The watchdog is alarm(): a stage that has not finished after --timeout
 * seconds says what it was doing and exits with EXIT_WATCHDOG, so that no
 * test or measurement can hang, whatever a peer does.
 */
#define _GNU_SOURCE
#include "stage.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const struct ivc_geometry stage_unused_lane = { 2, 64, 2 };

const char stage_usage[] =
"common options:\n"
"  --mode poll|adaptive|block  how every endpoint waits (default adaptive)\n"
"  --burst B        buffers per receive/send burst (default 32)\n"
"  --slots K --buf-size Z --buf-count C\n"
"                   geometry of the lane this stage sends on (0: ivc's default)\n"
"  --cpu N          pin to CPU N (ivc_pin_thread)\n"
"  --timeout S      watchdog: give up after S seconds (default 120)\n"
"  --report-fd FD   write a key=value result line to FD at the end\n"
"  --quiet          print errors only\n";

/* For the watchdog's message (signal handler: plain pointers only). */
static const char *volatile g_stage = "stage";
static const char *volatile g_doing = "starting";

void stage_init(struct stage *st, const char *name)
{
	memset(st, 0, sizeof(*st));
	st->name = name;
	st->cpu = -1;
	st->timeout_s = STAGE_DEFAULT_TIMEOUT_S;
	st->report_fd = -1;
	st->burst = STAGE_DEFAULT_BURST;
	st->mode = IVC_MODE_ADAPTIVE;
	g_stage = name;
}

static int bad(const struct stage *st, const char *opt, const char *arg)
{
	stage_err(st, "bad %s '%s'", opt, arg);
	return -1;
}

int stage_opt(struct stage *st, int opt, const char *arg)
{
	uint32_t v;

	switch (opt) {
	case OPT_CPU:
		if (parse_int(arg, &st->cpu) || st->cpu < 0)
			return bad(st, "--cpu", arg);
		return 1;
	case OPT_TIMEOUT:
		if (parse_u32(arg, &v) || v == 0 || v > 86400)
			return bad(st, "--timeout", arg);
		st->timeout_s = v;
		return 1;
	case OPT_REPORT_FD:
		if (parse_int(arg, &st->report_fd) || st->report_fd < 0)
			return bad(st, "--report-fd", arg);
		return 1;
	case OPT_QUIET:
		st->quiet = true;
		return 1;
	case OPT_BURST:
		if (parse_u32(arg, &v) || v == 0 || v > STAGE_MAX_BURST)
			return bad(st, "--burst (1..1024)", arg);
		st->burst = v;
		return 1;
	case OPT_MODE:
		return parse_mode(arg, &st->mode) ? bad(st, "--mode", arg) : 1;
	case OPT_SLOTS:
		return parse_u32(arg, &st->tx.slots) ? bad(st, "--slots", arg) : 1;
	case OPT_BUF_SIZE:
		return parse_u32(arg, &st->tx.buf_size) ? bad(st, "--buf-size", arg) : 1;
	case OPT_BUF_COUNT:
		return parse_u32(arg, &st->tx.buf_count) ? bad(st, "--buf-count", arg) : 1;
	default:
		return 0;
	}
}

static void put(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));

	(void)r;
}

static void on_alarm(int sig)
{
	(void)sig;
	put(PROG " ");
	put(g_stage);
	put(": watchdog: not finished in time (was ");
	put(g_doing);
	put(")\n");
	_exit(EXIT_WATCHDOG);
}

void stage_doing(const char *what)
{
	g_doing = what;
}

int stage_start(const struct stage *st)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(st->timeout_s);
	/* A peer's hang-up is an ivc error we report, never a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (st->cpu >= 0) {
		int r = ivc_pin_thread(st->cpu);

		if (r < 0) {
			stage_ivc_err(st, "pin to --cpu", r);
			return -1;
		}
	}
	return 0;
}

void stage_ivc_options(const struct stage *st, const struct ivc_geometry *tx,
		       struct ivc_options *o)
{
	ivc_options_init(o);
	o->mode = st->mode;
	o->tx = *tx;
}

void stage_report(const struct stage *st, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (st->report_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* A pipe write of under PIPE_BUF bytes is atomic: one line. */
	if (write(st->report_fd, line, (size_t)n) < 0)
		stage_err(st, "report: %s", strerror(errno));
}

__attribute__((format(printf, 2, 0)))
static void vsay(const struct stage *st, const char *fmt, va_list ap)
{
	char line[600];
	int n = snprintf(line, sizeof(line), PROG " %s: ", st->name);

	if (n < 0)
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void stage_err(const struct stage *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(st, fmt, ap);
	va_end(ap);
}

void stage_info(const struct stage *st, const char *fmt, ...)
{
	va_list ap;

	if (st->quiet)
		return;
	va_start(ap, fmt);
	vsay(st, fmt, ap);
	va_end(ap);
}

void stage_ivc_err(const struct stage *st, const char *what, int err)
{
	stage_err(st, "%s: %s (%s)", what, ivc_strerror(err), errname(err));
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!*s || s[0] == '-')
		return -1;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, &v) || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int parse_int(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < INT_MIN || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

int parse_mode(const char *s, enum ivc_mode *out)
{
	if (!strcmp(s, "poll"))
		*out = IVC_MODE_POLL;
	else if (!strcmp(s, "adaptive"))
		*out = IVC_MODE_ADAPTIVE;
	else if (!strcmp(s, "block"))
		*out = IVC_MODE_BLOCK;
	else
		return -1;
	return 0;
}

const char *mode_name(enum ivc_mode m)
{
	return m == IVC_MODE_POLL ? "poll" : m == IVC_MODE_BLOCK ? "block" :
	       "adaptive";
}

const char *errname(int err)
{
	/* glibc's own table (2.32+): every errno, not a hand-kept subset. */
	const char *n = err ? strerrorname_np(err < 0 ? -err : err) : "OK";

	return n ? n : "?";
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ms_of_s(unsigned s)
{
	return s > (unsigned)(INT_MAX / 1000) ? INT_MAX : (int)(s * 1000u);
}
