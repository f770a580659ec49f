/* SPDX-License-Identifier: MIT */
/* bench_csv - writing and reading the sweep's CSV (see bench_csv.h). */
#define _GNU_SOURCE
#include "bench_csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NCOLS 20

void bench_csv_header(FILE *f)
{
	fputs(BENCH_CSV_HEADER "\n", f);
}

/* A field that may not contain the separator. */
static void put_text(FILE *f, const char *s, char end)
{
	for (; *s; s++)
		fputc(*s == ',' || *s == '\n' ? ';' : *s, f);
	fputc(end, f);
}

void bench_csv_write(FILE *f, const struct bench_row *r)
{
	bool pp = !strcmp(r->bench, "pingpong");

	put_text(f, r->bench, ',');
	put_text(f, r->placement, ',');
	fprintf(f, "%d,%d,", r->cpu_a, r->cpu_b);
	put_text(f, r->transport, ',');
	put_text(f, r->mode, ',');
	put_text(f, r->kind, ',');
	fprintf(f, "%llu,%u,%d,%u,%llu,", (unsigned long long)r->size, r->burst, r->touch,
		r->runs, (unsigned long long)r->samples);
	if (pp)
		fprintf(f, "%.4f,%.4f,%.4f,%.4f,%.4f,,,", r->p50, r->p90, r->p99, r->p999,
			r->max);
	else
		fprintf(f, ",,,,,%.1f,%.5f,", r->msgs_per_s, r->gbytes_per_s);
	put_text(f, r->what, '\n');
}

/* Split @line in place at commas; the field count (@max + 1: too many). */
static int split(char *line, char **fld, int max)
{
	char *p = line;
	int n = 0;

	fld[n++] = p;
	for (; *p && *p != '\n'; p++) {
		if (*p != ',')
			continue;
		*p = '\0';
		if (n == max)
			return max + 1;
		fld[n++] = p + 1;
	}
	*p = '\0';
	return n;
}

static bool copy_str(char *dst, size_t cap, const char *src)
{
	size_t l = strlen(src);

	if (l >= cap)
		return false;
	memcpy(dst, src, l + 1);
	return true;
}

static bool num_u(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return *s && !*end && !errno;
}

static bool num_d(const char *s, double *v)
{
	char *end;

	if (!*s) {
		*v = 0;         /* a field that does not apply */
		return true;
	}
	*v = strtod(s, &end);
	return !*end;
}

static bool parse_row(char *line, struct bench_row *r)
{
	char *f[NCOLS];
	uint64_t a = 0, b = 0, burst = 0, touch = 0, runs = 0;
	bool ok;

	memset(r, 0, sizeof(*r));
	memset(f, 0, sizeof(f));
	if (split(line, f, NCOLS) != NCOLS)
		return false;
	ok = copy_str(r->bench, sizeof(r->bench), f[0]) &&
	     (!strcmp(r->bench, "pingpong") || !strcmp(r->bench, "stream")) &&
	     copy_str(r->placement, sizeof(r->placement), f[1]) &&
	     num_u(f[2], &a) && num_u(f[3], &b) &&
	     copy_str(r->transport, sizeof(r->transport), f[4]) &&
	     copy_str(r->mode, sizeof(r->mode), f[5]) &&
	     copy_str(r->kind, sizeof(r->kind), f[6]) &&
	     num_u(f[7], &r->size) && r->size > 0 &&
	     num_u(f[8], &burst) && num_u(f[9], &touch) && touch <= 1 &&
	     num_u(f[10], &runs) && num_u(f[11], &r->samples) &&
	     num_d(f[12], &r->p50) && num_d(f[13], &r->p90) && num_d(f[14], &r->p99) &&
	     num_d(f[15], &r->p999) && num_d(f[16], &r->max) &&
	     num_d(f[17], &r->msgs_per_s) && num_d(f[18], &r->gbytes_per_s) &&
	     copy_str(r->what, sizeof(r->what), f[19]);
	r->cpu_a = (int)a;
	r->cpu_b = (int)b;
	r->burst = (unsigned)burst;
	r->touch = (int)touch;
	r->runs = (unsigned)runs;
	return ok;
}

int bench_csv_read(FILE *f, struct bench_row **rows, size_t *n, size_t *line)
{
	char *buf = NULL;
	size_t cap = 0, have = 0, room = 0;
	struct bench_row *v = NULL;
	int ret = 0;

	*line = 0;
	while (getline(&buf, &cap, f) > 0) {
		++*line;
		if (*line == 1) {
			if (strncmp(buf, BENCH_CSV_HEADER, strlen(BENCH_CSV_HEADER))) {
				ret = -EBADMSG;
				break;
			}
			continue;
		}
		if (have == room) {
			struct bench_row *nv;

			room = room ? 2 * room : 256;
			if (!(nv = realloc(v, room * sizeof(*v)))) {
				ret = -ENOMEM;
				break;
			}
			v = nv;
		}
		if (!parse_row(buf, &v[have])) {
			ret = -EBADMSG;
			break;
		}
		have++;
	}
	free(buf);
	if (!ret && *line == 0)
		ret = -EBADMSG;         /* not even a header */
	if (ret) {
		free(v);
		return ret;
	}
	*rows = v;
	*n = have;
	return 0;
}
