/* SPDX-License-Identifier: MIT */
/* bench_util - helpers shared by the perf/ programs; see bench_util.h. */
#define _GNU_SOURCE
#include "bench_util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static const char *const mode_names[3] = { "adaptive", "poll", "block" };

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

uint64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_parse_num(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || s[0] == '-')
		bench_die("bad %s '%s'", opt, s);
	if (*end == 'k' || *end == 'K')
		v *= 1000, end++;
	else if (*end == 'M')
		v *= 1000000, end++;
	if (*end || v < min || v > max)
		bench_die("bad %s '%s' (%llu..%llu)", opt, s, (unsigned long long)min,
			  (unsigned long long)max);
	return v;
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

const char *bench_mode_name(enum ivc_mode mode)
{
	return (unsigned)mode < 3 ? mode_names[mode] : "?";
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
		geo->buf_size = (uint32_t)bench_parse_num("--buf-size", arg, 0, 16u << 20);
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

void bench_default_cpus(int *a, int *b)
{
	int cpus[2], ret;

	if (*a >= 0)
		return;
	ret = ivc_cpu_list(cpus, 2);
	if (ret < 1)
		bench_die("cannot list CPUs: %s", ivc_strerror(ret < 0 ? ret : -EINVAL));
	*a = cpus[0];
	*b = ret >= 2 ? cpus[1] : cpus[0];
}

void bench_check_cpus(int a, int b)
{
	int ret;

	if ((ret = ivc_pin_thread(b)) < 0)
		bench_die("cannot run on CPU %d: %s", b, ivc_strerror(ret));
	if ((ret = ivc_pin_thread(a)) < 0)
		bench_die("cannot run on CPU %d: %s", a, ivc_strerror(ret));
}

void bench_child_setup(int cpu, const char *role)
{
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((ret = ivc_pin_thread(cpu)) < 0) {
		fprintf(stderr, "%s: %s: pin to CPU %d: %s\n", bench_prog, role, cpu,
			ivc_strerror(ret));
		_exit(1);
	}
}

struct ivc_channel *bench_child_connect(const char *addr, const struct ivc_options *o,
					const char *role)
{
	struct ivc_channel *ch;
	int ret;

	/* The library waits for the listener (the parent may not
	 * have bound the address yet). */
	ret = ivc_connect(addr, o, BENCH_CONNECT_WAIT_MS, &ch);
	if (ret < 0) {
		fprintf(stderr, "%s: %s: connect %s: %s\n", bench_prog, role, addr,
			ivc_strerror(ret));
		_exit(1);
	}
	return ch;
}

void bench_ivc_options(struct ivc_options *o, const struct ivc_geometry *geo,
		       enum ivc_mode mode, uint32_t spin_max_ns)
{
	ivc_options_init(o);
	o->tx = *geo;
	o->mode = mode;
	o->spin_max_ns = spin_max_ns;
	o->flags |= bench_ivc_flags;
}
