/* SPDX-License-Identifier: MIT */
/*
 * bench_util - helpers of the perf/ programs: error exit, clock,
 * command-line parsing, CPU pinning and channel options.  Not part of the
 * library.
 */
#ifndef IVC_BENCH_UTIL_H
#define IVC_BENCH_UTIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <ivc/ivc.h>

/* getopt_long() values of the lane geometry options (bench_common_opt()). */
#define BENCH_OPT_SLOTS 'S'
#define BENCH_OPT_BUF_SIZE 'B'
#define BENCH_OPT_BUF_COUNT 'N'
#define BENCH_OPT_SPIN_MAX_NS 'P'
#define BENCH_OPT_INLINE 'I'

/* ivc_options.flags for every channel the program makes (--inline sets
 * IVC_OPT_INLINE). */
extern unsigned bench_ivc_flags;

/* struct option entries: --csv, the geometry options, --help, and the terminator. */
#define BENCH_LONG_OPTS_TAIL \
	{ "csv", no_argument, NULL, 'C' }, \
	{ "slots", required_argument, NULL, BENCH_OPT_SLOTS }, \
	{ "buf-size", required_argument, NULL, BENCH_OPT_BUF_SIZE }, \
	{ "buf-count", required_argument, NULL, BENCH_OPT_BUF_COUNT }, \
	{ "spin-max-ns", required_argument, NULL, BENCH_OPT_SPIN_MAX_NS }, \
	{ "inline", no_argument, NULL, BENCH_OPT_INLINE }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ NULL, 0, NULL, 0 }

/* The program's name, prefixed to messages; each program defines it. */
extern const char bench_prog[];

/* Print "PROG: <message>" on stderr and exit(1). */
__attribute__((format(printf, 1, 2), noreturn))
void bench_die(const char *fmt, ...);

/* Parse option @opt's number @s (k/K/M suffixes) in [@min, @max]; dies if bad. */
uint64_t bench_parse_num(const char *opt, const char *s, uint64_t min, uint64_t max);

/* The same for a byte count: k/K = 1024, M = 1024 * 1024. */
uint64_t bench_parse_bytes(const char *opt, const char *s, uint64_t min, uint64_t max);

/* Parse option @opt's positive number of seconds @s; dies if bad. */
double bench_parse_secs(const char *opt, const char *s);

/* Parse option @opt's "A,B" CPU pair @s into @a and @b; dies if bad. */
void bench_parse_cpus(const char *opt, const char *s, int *a, int *b);

/* Parse a wait mode name (poll, adaptive, block); false if unknown. */
bool bench_parse_mode(const char *s, enum ivc_mode *mode);

/* The name of wait mode @m, as the CSV writes it (bench_parse_mode()'s
 * inverse). */
const char *bench_mode_str(enum ivc_mode m);

/* Handle a shared option: --csv, geometry (BENCH_OPT_*), -h (usage on stdout, exit 0); any other: usage on stderr, exit 2. */
void bench_common_opt(int opt, const char *arg, bool *csv, struct ivc_geometry *geo,
		      uint32_t *spin_max_ns, void (*usage)(FILE *f));

/* After getopt_long(): if operands are left, usage on stderr and exit 2. */
void bench_end_opts(int argc, void (*usage)(FILE *f));

#endif /* IVC_BENCH_UTIL_H */
