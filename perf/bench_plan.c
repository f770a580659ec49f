/* SPDX-License-Identifier: MIT */
/* bench_plan - running a plan of measurement points (see bench_plan.h). */
#define _GNU_SOURCE
#include "bench_plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_run.h"
#include "bench_util.h"

/* Fixed cost of a point beyond its time bound: forks, pinning, connecting,
 * warm-up.  Only for the estimate of the time left. */
#define POINT_OVERHEAD_S 0.04

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Points measured at one placement and size, each run side by side. */
struct slot {
	struct bench_point pt;
	struct bench_result res[16];    /* per run (runs <= 16) */
	int ok;                         /* results that worked */
};

struct progress {
	bool on, tty;
	double t0, last_print;
	double est_total, est_done;
	unsigned done, total;
};

static void fmt_dur(char *b, size_t len, double s)
{
	if (s < 0)
		s = 0;
	if (s >= 3600)
		snprintf(b, len, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
	else
		snprintf(b, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

static void progress_show(struct progress *pg, const struct bench_point *pt)
{
	double now = now_s(), el = now - pg->t0, left;
	char e[16], l[16];

	if (!pg->on || (!pg->tty && now - pg->last_print < 10.0 && pg->done < pg->total))
		return;
	pg->last_print = now;
	/* Scale the plan's estimate by how fast the run has gone so far. */
	left = pg->est_done > 0 ? el * (pg->est_total - pg->est_done) / pg->est_done
				: pg->est_total;
	fmt_dur(e, sizeof(e), el);
	fmt_dur(l, sizeof(l), left);
	fprintf(stderr, "%s%3.0f%% [%u/%u] %s %s %llu B %s %s%s | %s elapsed, ~%s left%s",
		pg->tty ? "\r\033[K" : "", 100.0 * pg->est_done / pg->est_total,
		pg->done, pg->total,
		pt->bench == BENCH_PINGPONG ? "pingpong" : "stream", pt->place->name,
		(unsigned long long)pt->cfg.size, pt->x->name,
		pt->x->local ? "-" : bench_mode_str(pt->cfg.mode),
		pt->bench == BENCH_STREAM ? (pt->cfg.touch ? " touch" : " no-touch") : "",
		e, l, pg->tty ? "" : "\n");
	fflush(stderr);
}

static double point_cost(const struct bench_plan *p)
{
	return p->secs * 1.2 + POINT_OVERHEAD_S;
}

/* The modes transport @x runs in under plan @p (limits: their own). */
static unsigned modes_of(const struct bench_plan *p, const struct bench_xport *x)
{
	return x->kind == BX_KIND_LIMIT ? x->modes : x->modes & p->modes;
}

/* Append to @s[*n] every point of @bench at @place and size index @si. */
static int add_points(const struct bench_plan *p, unsigned bench, const struct bench_place *place,
		      int si, struct slot *s, int *n, int max)
{
	for (int xi = 0; xi < p->n_xports; xi++) {
		const struct bench_xport *x = p->xports[xi];
		unsigned modes = modes_of(p, x);

		if (!(x->benches & bench) || (x->max_size && p->sizes[si] > x->max_size) ||
		    (x->size_free && si > 0))
			continue;
		for (int m = 0; m < 3; m++) {
			if (!(modes & BX_MODE(m)))
				continue;
			for (int bi = 0; bi < (bench == BX_STREAM ? p->n_bursts : 1); bi++) {
				for (unsigned t = 1; t <= 2; t++) {
					struct slot *sl;

					if (bench == BX_STREAM && !(p->touch & t))
						continue;
					if ((bench == BX_PINGPONG || x->local) && t == 1)
						continue;       /* always touch */
					if (*n >= max)
						return -ENOMEM;
					sl = &s[(*n)++];
					memset(sl, 0, sizeof(*sl));
					sl->pt.bench = bench == BX_STREAM ? BENCH_STREAM : BENCH_PINGPONG;
					sl->pt.x = x;
					sl->pt.place = place;
					sl->pt.cfg = p->base;
					sl->pt.cfg.size = p->sizes[si];
					sl->pt.cfg.mode = (enum ivc_mode)m;
					sl->pt.cfg.burst = bench == BX_STREAM ? p->bursts[bi] : 1;
					sl->pt.cfg.touch = t == 2;
					sl->pt.max_msgs = bench == BX_STREAM ? p->st_count : p->pp_count;
					sl->pt.secs = p->secs;
				}
			}
		}
	}
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of @v[@n] (sorts it). */
static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median over @s's working runs of the double at byte offset @off of a
 * bench_result. */
static double median(const struct slot *s, unsigned runs, size_t off)
{
	double v[16];
	int n = 0;

	for (unsigned i = 0; i < runs; i++)
		if (!s->res[i].err)
			memcpy(&v[n++], (const char *)&s->res[i] + off, sizeof(double));
	return median_of(v, n);
}

static uint64_t median_samples(const struct slot *s, unsigned runs)
{
	double v[16];
	int n = 0;

	for (unsigned i = 0; i < runs; i++)
		if (!s->res[i].err)
			v[n++] = (double)s->res[i].samples;
	return (uint64_t)median_of(v, n);
}

#define MEDIAN(s, runs, field) median(s, runs, offsetof(struct bench_result, field))

static void make_row(const struct slot *s, unsigned runs, struct bench_row *r)
{
	const struct bench_point *pt = &s->pt;
	static const char *const kinds[] = { "ivc", "baseline", "limit" };

	memset(r, 0, sizeof(*r));
	snprintf(r->bench, sizeof(r->bench), "%s", pt->bench == BENCH_PINGPONG ? "pingpong" : "stream");
	snprintf(r->placement, sizeof(r->placement), "%s", pt->place->name);
	r->cpu_a = pt->place->cpu_a;
	r->cpu_b = pt->place->cpu_b;
	snprintf(r->transport, sizeof(r->transport), "%s", pt->x->name);
	snprintf(r->mode, sizeof(r->mode), "%s", pt->x->local ? "-" : bench_mode_str(pt->cfg.mode));
	snprintf(r->kind, sizeof(r->kind), "%s", kinds[pt->x->kind]);
	snprintf(r->what, sizeof(r->what), "%s", pt->x->what);
	r->size = pt->cfg.size;
	r->burst = pt->cfg.burst;
	r->touch = pt->cfg.touch;
	r->runs = (unsigned)s->ok;
	r->samples = median_samples(s, runs);
	r->p50 = MEDIAN(s, runs, p50);
	r->p90 = MEDIAN(s, runs, p90);
	r->p99 = MEDIAN(s, runs, p99);
	r->p999 = MEDIAN(s, runs, p999);
	r->max = MEDIAN(s, runs, max);
	r->msgs_per_s = MEDIAN(s, runs, msgs_per_s);
	r->gbytes_per_s = MEDIAN(s, runs, gbytes_per_s);
	r->cpu_ns_init = MEDIAN(s, runs, cpu_ns_init);
	r->cpu_ns_peer = MEDIAN(s, runs, cpu_ns_peer);
}

/* Count the points of the whole plan, for the progress line. */
static unsigned count_points(const struct bench_plan *p, struct slot *scratch, int max)
{
	unsigned total = 0;

	for (int si = 0; si < p->n_sizes; si++) {
		int n = 0;

		for (unsigned b = BX_PINGPONG; b <= BX_STREAM; b <<= 1)
			if (p->benches & b)
				add_points(p, b, &p->places[0], si, scratch, &n, max);
		total += (unsigned)n;
	}
	return total * (unsigned)p->n_places * p->runs;
}

int bench_plan_run(const struct bench_plan *p, struct bench_row **rows, size_t *n_rows)
{
	const int max = 512;
	struct slot *s = calloc((size_t)max, sizeof(*s));
	struct bench_row *out = NULL;
	size_t have = 0, room = 0;
	struct progress pg = { 0 };
	int failed = 0;

	if (!s)
		return -ENOMEM;
	pg.on = p->progress;
	pg.tty = isatty(STDERR_FILENO);
	pg.t0 = now_s();
	pg.total = count_points(p, s, max);
	pg.est_total = pg.total * point_cost(p);
	for (int pi = 0; pi < p->n_places; pi++) {
		for (int si = 0; si < p->n_sizes; si++) {
			int n = 0;

			for (unsigned b = BX_PINGPONG; b <= BX_STREAM; b <<= 1)
				if ((p->benches & b) && add_points(p, b, &p->places[pi], si, s, &n, max) < 0) {
					free(s);
					free(out);
					return -ENOMEM;
				}
			for (unsigned run = 0; run < p->runs; run++) {
				for (int i = 0; i < n; i++) {
					struct bench_result *r = &s[i].res[run];

					progress_show(&pg, &s[i].pt);
					bench_run(&s[i].pt, r);
					if (r->err)
						fprintf(stderr, "%s%s %s %llu B %s %s: %s\n",
							pg.on && pg.tty ? "\r\033[K" : "",
							s[i].pt.bench == BENCH_PINGPONG ? "pingpong" : "stream",
							s[i].pt.place->name,
							(unsigned long long)s[i].pt.cfg.size, s[i].pt.x->name,
							bench_mode_str(s[i].pt.cfg.mode), r->msg);
					else
						s[i].ok++;
					pg.done++;
					pg.est_done += point_cost(p);
				}
			}
			for (int i = 0; i < n; i++) {
				if (!s[i].ok) {
					failed++;
					continue;
				}
				if (have == room) {
					struct bench_row *nv;

					room = room ? 2 * room : 128;
					if (!(nv = realloc(out, room * sizeof(*out)))) {
						free(s);
						free(out);
						return -ENOMEM;
					}
					out = nv;
				}
				make_row(&s[i], p->runs, &out[have]);
				if (p->csv) {
					bench_csv_write(p->csv, &out[have]);
					fflush(p->csv);
				}
				have++;
			}
		}
	}
	if (pg.on && pg.tty)
		fputs("\r\033[K", stderr);
	free(s);
	*rows = out;
	*n_rows = have;
	return failed;
}
