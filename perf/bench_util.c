/* SPDX-License-Identifier: MIT */
/* bench_util - helpers shared by the perf/ programs; see bench_util.h. */
#define _GNU_SOURCE
#include "bench_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bench_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", bench_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* A number with an optional k/K or M suffix worth @k and @k * @k. */
static uint64_t parse_scaled(const char *opt, const char *s, uint64_t min, uint64_t max,
			     unsigned long long k)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || s[0] == '-')
		bench_die("bad %s '%s'", opt, s);
	if (*end == 'k' || *end == 'K')
		v *= k, end++;
	else if (*end == 'M')
		v *= k * k, end++;
	if (*end || v < min || v > max)
		bench_die("bad %s '%s' (%llu..%llu)", opt, s, (unsigned long long)min,
			  (unsigned long long)max);
	return v;
}

uint64_t bench_parse_num(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	return parse_scaled(opt, s, min, max, 1000);
}

uint64_t bench_parse_bytes(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	return parse_scaled(opt, s, min, max, 1024);
}

double bench_parse_secs(const char *opt, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0))
		bench_die("bad %s '%s'", opt, s);
	return v;
}

void bench_parse_cpus(const char *opt, const char *s, int *a, int *b)
{
	if (sscanf(s, "%d,%d", a, b) != 2 || *a < 0 || *b < 0)
		bench_die("bad %s '%s' (want A,B)", opt, s);
}

bool bench_parse_mode(const char *s, enum ivc_mode *mode)
{
	if (!strcmp(s, "poll"))
		*mode = IVC_MODE_POLL;
	else if (!strcmp(s, "adaptive"))
		*mode = IVC_MODE_ADAPTIVE;
	else if (!strcmp(s, "block"))
		*mode = IVC_MODE_BLOCK;
	else
		return false;
	return true;
}

const char *bench_mode_str(enum ivc_mode m)
{
	switch (m) {
	case IVC_MODE_POLL: return "poll";
	case IVC_MODE_ADAPTIVE: return "adaptive";
	case IVC_MODE_BLOCK: return "block";
	}
	return "?";
}

unsigned bench_ivc_flags;

void bench_common_opt(int opt, const char *arg, bool *csv, struct ivc_geometry *geo,
		      uint32_t *spin_max_ns, void (*usage)(FILE *f))
{
	switch (opt) {
	case 'C':
		*csv = true;
		break;
	case BENCH_OPT_SLOTS:
		geo->slots = (uint32_t)bench_parse_num("--slots", arg, 0, 65536);
		break;
	case BENCH_OPT_BUF_SIZE:
		geo->buf_size = (uint32_t)bench_parse_bytes("--buf-size", arg, 0, 16u << 20);
		break;
	case BENCH_OPT_BUF_COUNT:
		geo->buf_count = (uint32_t)bench_parse_num("--buf-count", arg, 0, 1u << 20);
		break;
	case BENCH_OPT_INLINE:
		bench_ivc_flags |= IVC_OPT_INLINE;
		break;
	case BENCH_OPT_SPIN_MAX_NS:
		*spin_max_ns = (uint32_t)bench_parse_num("--spin-max-ns", arg, 0, UINT32_MAX);
		break;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		exit(2);
	}
}

void bench_end_opts(int argc, void (*usage)(FILE *f))
{
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

