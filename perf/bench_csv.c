/* SPDX-License-Identifier: MIT */
/* bench_csv - writing and reading the sweep's CSV (see bench_csv.h). */
#define _GNU_SOURCE
#include "bench_csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NCOLS 22
#define NCOLS_V1 20

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

/* A CPU figure, or nothing where it was not measured. */
static void put_cpu(FILE *f, double ns)
{
	if (ns > 0)
		fprintf(f, "%.1f", ns);
	fputc(',', f);
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
	put_cpu(f, r->cpu_ns_init);
	put_cpu(f, r->cpu_ns_peer);
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

/* One row of a file with @ncols columns (NCOLS, or NCOLS_V1: no CPU
 * figures). */
static bool parse_row(char *line, int ncols, struct bench_row *r)
{
	char *f[NCOLS];
	uint64_t a = 0, b = 0, burst = 0, touch = 0, runs = 0;
	int what = ncols - 1;
	bool ok;

	memset(r, 0, sizeof(*r));
	memset(f, 0, sizeof(f));
	if (split(line, f, ncols) != ncols)
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
	     (ncols == NCOLS_V1 ||
	      (num_d(f[19], &r->cpu_ns_init) && num_d(f[20], &r->cpu_ns_peer) &&
	       r->cpu_ns_init >= 0 && r->cpu_ns_peer >= 0)) &&
	     copy_str(r->what, sizeof(r->what), f[what]);
	r->cpu_a = (int)a;
	r->cpu_b = (int)b;
	r->burst = (unsigned)burst;
	r->touch = (int)touch;
	r->runs = (unsigned)runs;
	return ok;
}

/* BENCH_CSV_MAX_* as text, for the messages. */
#define STR_(x) #x
#define STR(x) STR_(x)

enum line_status { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_NUL, LINE_READ_ERROR };

/*
 * Read one line, without its newline, into @buf (BENCH_CSV_MAX_LINE + 1
 * bytes).  It stops at the first byte that makes the line bad, so an endless
 * line (/dev/zero) costs one buffer and is never read to its end, and a NUL
 * byte is an error rather than a silent end of the line's text.
 */
static enum line_status read_line(FILE *f, char *buf)
{
	size_t len = 0;
	int c;

	errno = 0;      /* so that a read error's errno is its own */
	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == '\0')
			return LINE_NUL;
		if (len == BENCH_CSV_MAX_LINE)
			return LINE_TOO_LONG;
		buf[len++] = (char)c;
	}
	buf[len] = '\0';
	if (ferror(f))
		return LINE_READ_ERROR;
	/* A last line without its newline is still a line. */
	return c == EOF && len == 0 ? LINE_EOF : LINE_OK;
}

#define NOT_A_LINE "not an ivc-bench CSV line"

/* The user's message for row line @st, which is not LINE_OK. */
static const char *row_fault(enum line_status st)
{
	if (st == LINE_TOO_LONG)
		return NOT_A_LINE " (longer than " STR(BENCH_CSV_MAX_LINE) " bytes)";
	return NOT_A_LINE " (it has a NUL byte)";
}

/* For a read error: its message in *@why, and -errno. */
static int read_error(const char **why)
{
	int err = errno ? errno : EIO;

	*why = strerror(err);
	return -err;
}

/* The columns of a file whose first line, as read_line() left it, is
 * @buf: NCOLS for bench_csv_header()'s, NCOLS_V1 for the older header, 0
 * for anything else. */
static int header_cols(enum line_status st, const char *buf)
{
	if (st != LINE_OK)
		return 0;
	if (!strcmp(buf, BENCH_CSV_HEADER))
		return NCOLS;
	return strcmp(buf, BENCH_CSV_HEADER_V1) ? 0 : NCOLS_V1;
}

/* Room in *@v for row @have, the array grown by doubling, never past the cap. */
static bool make_room(struct bench_row **v, size_t *room, size_t have)
{
	struct bench_row *nv;
	size_t want;

	if (have < *room)
		return true;
	want = *room ? 2 * *room : 256;
	if (want > BENCH_CSV_MAX_ROWS)
		want = BENCH_CSV_MAX_ROWS;
	if (!(nv = realloc(*v, want * sizeof(**v))))
		return false;
	*v = nv;
	*room = want;
	return true;
}

/* The rows after the header, into *@v (*@have of them); 0 or -errno. */
static int read_rows(FILE *f, char *buf, int ncols, struct bench_row **v,
		     size_t *have, size_t *line, const char **why)
{
	size_t room = 0;
	enum line_status st;

	while ((st = read_line(f, buf)) != LINE_EOF) {
		++*line;
		if (st == LINE_READ_ERROR)
			return read_error(why);
		if (st != LINE_OK) {
			*why = row_fault(st);
			return -EBADMSG;
		}
		/* More rows than any sweep writes: not a sweep's CSV. */
		if (*have == BENCH_CSV_MAX_ROWS) {
			*why = "too many rows (more than " STR(BENCH_CSV_MAX_ROWS)
			       "; no sweep writes that many)";
			return -EBADMSG;
		}
		if (!make_room(v, &room, *have)) {
			*why = "out of memory";
			return -ENOMEM;
		}
		if (!parse_row(buf, ncols, &(*v)[*have])) {
			*why = NOT_A_LINE;
			return -EBADMSG;
		}
		++*have;
	}
	return 0;
}

int bench_csv_read(FILE *f, struct bench_row **rows, size_t *n, size_t *line,
		   const char **why)
{
	char buf[BENCH_CSV_MAX_LINE + 1];
	struct bench_row *v = NULL;
	size_t have = 0;
	enum line_status st;
	int ret, ncols;

	*line = 1;
	st = read_line(f, buf);
	if (st == LINE_READ_ERROR)
		return read_error(why);
	/* Anything else first (text, NUL bytes, an endless line) means the file
	 * is not a sweep's CSV: say that, not how line 1 is bad. */
	ncols = header_cols(st, buf);
	if (!ncols) {
		*why = st == LINE_EOF ? "not an ivc-bench sweep CSV (it is empty)"
				      : "not an ivc-bench sweep CSV (the first line is not its header)";
		return -EBADMSG;
	}
	ret = read_rows(f, buf, ncols, &v, &have, line, why);
	if (ret) {
		free(v);
		return ret;
	}
	*rows = v;
	*n = have;
	return 0;
}
