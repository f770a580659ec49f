/* SPDX-License-Identifier: MIT */
/*
 * stage.h - what every stage of ivc-chain shares: its common options,
 * messages, the watchdog, pinning, and the report line it hands to the
 * orchestrator.
 */
#ifndef IVC_CHAIN_STAGE_H
#define IVC_CHAIN_STAGE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <ivc/ivc.h>

#define PROG "ivc-chain"

/* Default bound on one stage's (and one run's) life, in seconds. */
#define STAGE_DEFAULT_TIMEOUT_S 120u
/* Default burst: 32, where ivc's 64-byte streams level off
 * (docs/performance.md, "Size and burst"). */
#define STAGE_DEFAULT_BURST 32u
#define STAGE_MAX_BURST 1024u

/* Exit statuses of every subcommand. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_WATCHDOG = 3 };

struct stage {
	const char *name;        /* "gen", "fw", "sink": in messages */
	int cpu;                 /* --cpu, or -1: not pinned */
	unsigned timeout_s;      /* --timeout: the watchdog */
	int report_fd;           /* --report-fd, or -1 */
	bool quiet;              /* --quiet: errors only */
	unsigned burst;          /* --burst */
	enum ivc_mode mode;      /* --mode */
	struct ivc_geometry tx;  /* geometry of the lane this stage sends on */
};

/* getopt_long() entries of the common options; their codes start at 0x100. */
enum {
	OPT_CPU = 0x100, OPT_TIMEOUT, OPT_REPORT_FD, OPT_QUIET, OPT_BURST,
	OPT_MODE, OPT_SLOTS, OPT_BUF_SIZE, OPT_BUF_COUNT, OPT_FIRST_OWN,
};
#define STAGE_LONG_OPTS                                                    \
	{ "cpu", required_argument, NULL, OPT_CPU },                       \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },               \
	{ "report-fd", required_argument, NULL, OPT_REPORT_FD },           \
	{ "quiet", no_argument, NULL, OPT_QUIET },                         \
	{ "burst", required_argument, NULL, OPT_BURST },                   \
	{ "mode", required_argument, NULL, OPT_MODE },                     \
	{ "slots", required_argument, NULL, OPT_SLOTS },                   \
	{ "buf-size", required_argument, NULL, OPT_BUF_SIZE },             \
	{ "buf-count", required_argument, NULL, OPT_BUF_COUNT }

void stage_init(struct stage *st, const char *name);
/* Handle a common option.  Return: 1 handled, 0 not a common option,
 * -1 a bad value (already reported). */
int stage_opt(struct stage *st, int opt, const char *arg);
/* The text of the common options, for usage messages. */
extern const char stage_usage[];

/* Pin (--cpu), arm the watchdog, ignore SIGPIPE.  Return 0 or -1 (said). */
int stage_start(const struct stage *st);
/* What the stage is doing now, for the watchdog's message (a literal). */
void stage_doing(const char *what);

/* ivc_options with the stage's mode and @tx as the sending lane. */
void stage_ivc_options(const struct stage *st, const struct ivc_geometry *tx,
		       struct ivc_options *o);
/* The smallest lane: for a direction a stage never sends on. */
extern const struct ivc_geometry stage_unused_lane;

/* Append "key=value ..." to the report fd, if any (one write). */
void stage_report(const struct stage *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "ivc-chain STAGE: ..." on stderr; info() only without --quiet. */
void stage_err(const struct stage *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void stage_info(const struct stage *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "ivc-chain STAGE: WHAT: ivc text (ENAME)". */
void stage_ivc_err(const struct stage *st, const char *what, int err);

/* Parsing helpers: 0, or -1. */
int parse_u32(const char *s, uint32_t *out);
int parse_u64(const char *s, uint64_t *out);
int parse_int(const char *s, int *out);
int parse_mode(const char *s, enum ivc_mode *out);
const char *mode_name(enum ivc_mode m);
/* "ECONNRESET" for -ECONNRESET. */
const char *errname(int err);

uint64_t now_ns(void);
/* Milliseconds from seconds, for timeouts. */
int ms_of_s(unsigned s);

#endif
