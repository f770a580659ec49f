/* SPDX-License-Identifier: MIT */
/*
 * bench_report - ratio tables from the rows of one run (see bench_report.h).
 *
 * The ivc figure a baseline is divided by is ivc's zero-copy API in the
 * baseline's own mode (a blocking socket against blocking ivc, a polled one
 * against polling ivc); a physical limit is divided into ivc's best mode.
 */
#define _GNU_SOURCE
#include "bench_report.h"

#include <stdbool.h>
#include <string.h>

#include "bench_xport.h"

#define MAX_COLS 8
#define MAX_SERIES 48
#define IVC_REF "ivc"   /* the transport ratios are taken for */

struct series {
	char transport[16];
	char mode[10];
	char kind[10];
};

struct view {                   /* one table: bench, touch, placement */
	const struct bench_row *rows;
	size_t n;
	const char *bench;
	int touch;
	unsigned burst;
	const char *placement;
};

static bool in_view(const struct view *v, const struct bench_row *r)
{
	if (strcmp(r->bench, v->bench) || strcmp(r->placement, v->placement))
		return false;
	return !strcmp(v->bench, "pingpong") ||
	       (r->burst == v->burst && (r->touch == v->touch || !strcmp(r->kind, "limit")));
}

static void within_memcpy(FILE *f, const struct view *v);
static void cpu_table(FILE *f, const struct view *v, const struct series *s, int ns,
		      const uint64_t *cols, int nc);

static bool pingpong(const struct view *v)
{
	return !strcmp(v->bench, "pingpong");
}

/* The figure of a row: p50 RTT, or GB/s. */
static double fig(const struct view *v, const struct bench_row *r)
{
	return pingpong(v) ? r->p50 : r->gbytes_per_s;
}

/* Whether transport @t (by name) gives one row for all sizes. */
static bool size_free(const char *t)
{
	const struct bench_xport *x = bench_xport_find(t);

	return x && x->size_free;
}

/* Series @s's row at @size (size-free series: their only row), or NULL. */
static const struct bench_row *find(const struct view *v, const char *t, const char *mode,
				    uint64_t size)
{
	const struct bench_row *any = NULL;
	int count = 0;

	for (size_t i = 0; i < v->n; i++) {
		const struct bench_row *r = &v->rows[i];

		if (!in_view(v, r) || strcmp(r->transport, t) || strcmp(r->mode, mode))
			continue;
		if (r->size == size)
			return r;
		any = r;
		count++;
	}
	/* A transport whose figure does not depend on size has one row. */
	return count == 1 && size_free(t) ? any : NULL;
}

static int collect_series(const struct view *v, struct series *s)
{
	int n = 0;

	for (size_t i = 0; i < v->n; i++) {
		const struct bench_row *r = &v->rows[i];
		bool seen = false;

		if (!in_view(v, r))
			continue;
		for (int j = 0; j < n && !seen; j++)
			seen = !strcmp(s[j].transport, r->transport) && !strcmp(s[j].mode, r->mode);
		if (seen || n == MAX_SERIES)
			continue;
		snprintf(s[n].transport, sizeof(s[n].transport), "%s", r->transport);
		snprintf(s[n].mode, sizeof(s[n].mode), "%s", r->mode);
		snprintf(s[n].kind, sizeof(s[n].kind), "%s", r->kind);
		n++;
	}
	return n;
}

static bool has_size(const uint64_t *v, int n, uint64_t s)
{
	for (int i = 0; i < n; i++)
		if (v[i] == s)
			return true;
	return false;
}

/* The columns: the asked sizes, or a selection of those present. */
static int pick_sizes(const struct view *v, const uint64_t *want, int n_want, uint64_t *cols)
{
	static const uint64_t pref[] = { 8, 64, 512, 4096, 65536, 1048576, 256, 16384 };
	uint64_t present[256];
	int np = 0, n = 0;

	for (size_t i = 0; i < v->n; i++)
		if (in_view(v, &v->rows[i]) && strcmp(v->rows[i].kind, "limit") &&
		    !has_size(present, np, v->rows[i].size) && np < 256)
			present[np++] = v->rows[i].size;
	if (want) {
		for (int i = 0; i < n_want && n < MAX_COLS; i++)
			if (has_size(present, np, want[i]))
				cols[n++] = want[i];
		return n;
	}
	if (np <= MAX_COLS) {
		memcpy(cols, present, (size_t)np * sizeof(*cols));
		n = np;
	} else {
		for (size_t i = 0; i < sizeof(pref) / sizeof(pref[0]) && n < MAX_COLS; i++)
			if (has_size(present, np, pref[i]))
				cols[n++] = pref[i];
	}
	/* ascending */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && cols[j - 1] > cols[j]; j--) {
			uint64_t t = cols[j];

			cols[j] = cols[j - 1];
			cols[j - 1] = t;
		}
	return n;
}

static void size_str(char *b, size_t len, uint64_t s)
{
	if (s >= 1048576 && s % 1048576 == 0)
		snprintf(b, len, "%lluM", (unsigned long long)(s >> 20));
	else if (s >= 1024 && s % 1024 == 0)
		snprintf(b, len, "%lluK", (unsigned long long)(s >> 10));
	else
		snprintf(b, len, "%llu", (unsigned long long)s);
}

/* The best ivc mode at @size (lowest RTT / highest throughput), or NULL. */
static const struct bench_row *best_ivc(const struct view *v, uint64_t size)
{
	static const char *const modes[] = { "poll", "adaptive", "block" };
	const struct bench_row *best = NULL;

	for (int m = 0; m < 3; m++) {
		const struct bench_row *r = find(v, IVC_REF, modes[m], size);

		if (r && (!best || (pingpong(v) ? fig(v, r) < fig(v, best)
						: fig(v, r) > fig(v, best))))
			best = r;
	}
	return best;
}

/* A figure in 9 columns, no exponent: 0.0123, 1.23, 123, 12345. */
static void put_fig(FILE *f, double v, const char *suffix)
{
	char b[32];

	if (v >= 100)
		snprintf(b, sizeof(b), "%.0f%s", v, suffix);
	else if (v >= 0.01)
		snprintf(b, sizeof(b), "%.3g%s", v, suffix);
	else
		snprintf(b, sizeof(b), "%.2g%s", v, suffix);
	fprintf(f, " %9s", b);
}

static void header(FILE *f, const char *title, const uint64_t *cols, int nc)
{
	char b[24];

	fprintf(f, "  %-26s", title);
	for (int c = 0; c < nc; c++) {
		size_str(b, sizeof(b), cols[c]);
		fprintf(f, " %9s", b);
	}
	fputc('\n', f);
}

static void table(FILE *f, const struct view *v, const uint64_t *want, int n_want)
{
	struct series s[MAX_SERIES];
	uint64_t cols[MAX_COLS];
	int ns = collect_series(v, s), nc = pick_sizes(v, want, n_want, cols);
	const struct bench_row *any = NULL;
	char name[48], cpus[48];

	for (size_t i = 0; i < v->n && !any; i++)
		if (in_view(v, &v->rows[i]))
			any = &v->rows[i];
	if (!any || !nc)
		return;
	if (any->cpu_b >= 0)
		snprintf(cpus, sizeof(cpus), "CPUs %d,%d", any->cpu_a, any->cpu_b);
	else    /* split mode: the peer runs elsewhere, on a CPU of its own */
		snprintf(cpus, sizeof(cpus), "CPU %d, the peer elsewhere", any->cpu_a);
	fprintf(f, "\n== %s, %s (%s): %s\n",
		pingpong(v) ? "ping-pong" : v->touch ? "stream, receiver reads every byte" :
		"stream, receiver does not read the payload",
		v->placement, cpus,
		pingpong(v) ? "p50 round trip, us (lower is better)" :
		"GB/s (higher is better)");
	if (!pingpong(v))
		fprintf(f, "  (bursts of %u messages)\n", v->burst);
	header(f, "size (bytes)", cols, nc);
	for (int i = 0; i < ns; i++) {
		snprintf(name, sizeof(name), "%.15s:%.9s%s", s[i].transport, s[i].mode,
			 !strcmp(s[i].kind, "limit") ? " (limit)" : "");
		fprintf(f, "  %-26s", name);
		for (int c = 0; c < nc; c++) {
			const struct bench_row *r = find(v, s[i].transport, s[i].mode, cols[c]);

			if (r)
				put_fig(f, fig(v, r), "");
			else
				fprintf(f, " %9s", "-");
		}
		fputc('\n', f);
	}
	fprintf(f, "  %-26s", "best ivc mode");
	for (int c = 0; c < nc; c++) {
		const struct bench_row *b = best_ivc(v, cols[c]);

		fprintf(f, " %9s", b ? b->mode : "-");
	}
	fputc('\n', f);

	fprintf(f, "  ratio ivc / X (%s; same mode as X, limits: best ivc mode)\n",
		pingpong(v) ? "below 1: ivc is faster" : "above 1: ivc is faster");
	for (int i = 0; i < ns; i++) {
		bool limit = !strcmp(s[i].kind, "limit");

		if (!strcmp(s[i].kind, "ivc"))
			continue;
		snprintf(name, sizeof(name), "/ %.15s:%.9s", s[i].transport, s[i].mode);
		fprintf(f, "  %-26s", name);
		for (int c = 0; c < nc; c++) {
			const struct bench_row *x = find(v, s[i].transport, s[i].mode, cols[c]);
			const struct bench_row *iv = limit ? best_ivc(v, cols[c])
							   : find(v, IVC_REF, s[i].mode, cols[c]);

			if (x && iv && fig(v, x) > 0)
				put_fig(f, fig(v, iv) / fig(v, x), "x");
			else
				fprintf(f, " %9s", "-");
		}
		fputc('\n', f);
	}
	within_memcpy(f, v);
	cpu_table(f, v, s, ns, cols, nc);
}

/* The CPU a message costs, both ends together (bench_print_detail() has
 * each end): a transport that sleeps may be slower and still cheaper. */
static void cpu_table(FILE *f, const struct view *v, const struct series *s, int ns,
		      const uint64_t *cols, int nc)
{
	char name[48];
	bool any = false;

	for (size_t i = 0; i < v->n && !any; i++)
		any = in_view(v, &v->rows[i]) && v->rows[i].cpu_ns_init > 0;
	if (!any)
		return;
	fprintf(f, "  CPU ns per %s, both ends (lower is cheaper)\n",
		pingpong(v) ? "round trip" : "message");
	for (int i = 0; i < ns; i++) {
		snprintf(name, sizeof(name), "%.15s:%.9s", s[i].transport, s[i].mode);
		fprintf(f, "  %-26s", name);
		for (int c = 0; c < nc; c++) {
			const struct bench_row *r = find(v, s[i].transport, s[i].mode, cols[c]);

			if (r && r->cpu_ns_init > 0)
				put_fig(f, r->cpu_ns_init + r->cpu_ns_peer, "");
			else
				fprintf(f, " %9s", "-");
		}
		fputc('\n', f);
	}
}

/* Streams with a reader that touches: the largest size at which ivc's best
 * mode moves at least half the bytes single-thread memcpy does. */
static void within_memcpy(FILE *f, const struct view *v)
{
	uint64_t best = 0, smallest_fail = 0;

	if (pingpong(v) || !v->touch)
		return;
	for (size_t i = 0; i < v->n; i++) {
		const struct bench_row *r = &v->rows[i], *m, *iv;

		if (!in_view(v, r) || strcmp(r->transport, "memcpy"))
			continue;
		m = r;
		if (!(iv = best_ivc(v, m->size)) || m->gbytes_per_s <= 0)
			continue;
		if (2 * iv->gbytes_per_s >= m->gbytes_per_s) {
			if (m->size > best)
				best = m->size;
		} else if (!smallest_fail || m->size < smallest_fail) {
			smallest_fail = m->size;
		}
	}
	if (best)
		fprintf(f, "  largest size where ivc (best mode) >= memcpy / 2: %llu B%s\n",
			(unsigned long long)best,
			smallest_fail ? " (not at every size below it: see / memcpy)" : "");
	else
		fprintf(f, "  ivc (best mode) is below memcpy / 2 at every size measured\n");
}

void bench_report(FILE *f, const struct bench_row *rows, size_t n,
		  const uint64_t *sizes, int n_sizes)
{
	const char *places[32];
	unsigned bursts[16];
	int np = 0, nb = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (int j = 0; j < np && !seen; j++)
			seen = !strcmp(places[j], rows[i].placement);
		if (!seen && np < 32)
			places[np++] = rows[i].placement;
		seen = strcmp(rows[i].bench, "stream") != 0;
		for (int j = 0; j < nb && !seen; j++)
			seen = bursts[j] == rows[i].burst;
		if (!seen && nb < 16)
			bursts[nb++] = rows[i].burst;
	}
	for (int p = 0; p < np; p++) {
		struct view v = { .rows = rows, .n = n, .placement = places[p],
				  .bench = "pingpong" };

		table(f, &v, sizes, n_sizes);
	}
	for (int t = 1; t >= 0; t--)
		for (int b = 0; b < nb; b++)
			for (int p = 0; p < np; p++) {
				struct view v = { .rows = rows, .n = n, .placement = places[p],
						  .bench = "stream", .touch = t, .burst = bursts[b] };

				table(f, &v, sizes, n_sizes);
			}
}

/* A detail row's two CPU figures ("-": not measured) and its newline. */
static void put_cpu_cols(FILE *f, const struct bench_row *r)
{
	const double v[2] = { r->cpu_ns_init, r->cpu_ns_peer };

	for (int i = 0; i < 2; i++)
		if (v[i] > 0)
			fprintf(f, " %9.1f", v[i]);
		else
			fprintf(f, " %9s", "-");
	fputc('\n', f);
}

void bench_print_detail(FILE *f, const struct bench_row *rows, size_t n)
{
	bool pp_head = false, st_head = false;
	char name[48], sz[24];

	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];

		snprintf(name, sizeof(name), "%s:%s", r->transport, r->mode);
		size_str(sz, sizeof(sz), r->size);
		if (!strcmp(r->bench, "pingpong")) {
			if (!pp_head)
				fprintf(f, "\n== round trips in detail (us; CPU: ns per round"
					" trip at each end)\n  %-16s %-20s %6s"
					" %9s %9s %9s %9s %9s %9s %9s %9s\n", "placement", "series",
					"size", "p50", "p90", "p99", "p99.9", "max", "samples",
					"cpu init", "cpu peer");
			pp_head = true;
			fprintf(f, "  %-16s %-20s %6s %9.3f %9.3f %9.3f %9.3f %9.1f %9llu",
				r->placement, name, sz, r->p50, r->p90, r->p99, r->p999, r->max,
				(unsigned long long)r->samples);
			put_cpu_cols(f, r);
		} else {
			if (!st_head)
				fprintf(f, "\n== streams in detail (CPU: ns per message at each"
					" end)\n  %-16s %-20s %6s %5s %5s %12s %9s %9s %9s\n",
					"placement", "series", "size", "burst", "touch", "msgs/s",
					"GB/s", "cpu init", "cpu peer");
			st_head = true;
			fprintf(f, "  %-16s %-20s %6s %5u %5s %12.0f %9.3f", r->placement,
				name, sz, r->burst, r->touch ? "yes" : "no", r->msgs_per_s,
				r->gbytes_per_s);
			put_cpu_cols(f, r);
		}
	}
}
