/* SPDX-License-Identifier: MIT */
/*
 * bench_csv - the sweep's output: one row per (benchmark, placement,
 * transport, mode, size, burst, touch), each figure the median of the
 * point's runs.  Read back by `ivc-bench report` and perf/ivc-plot.
 *
 * Columns (fields that do not apply are empty):
 *   bench,placement,cpu_a,cpu_b,transport,mode,kind,size,burst,touch,runs,
 *   samples,rtt_p50_us,rtt_p90_us,rtt_p99_us,rtt_p999_us,rtt_max_us,
 *   msgs_per_s,gbytes_per_s,what
 */
#ifndef IVC_BENCH_CSV_H
#define IVC_BENCH_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bench_row {
	char bench[12];         /* pingpong | stream */
	char placement[24];
	int cpu_a, cpu_b;
	char transport[16];
	char mode[10];          /* poll | adaptive | block | - */
	char kind[10];          /* ivc | baseline | limit */
	uint64_t size;
	unsigned burst;         /* stream; 1 for ping-pong */
	int touch;              /* receiver read every byte: 1/0 */
	unsigned runs;          /* medians over this many */
	uint64_t samples;       /* round trips / messages (median run) */
	double p50, p90, p99, p999, max;        /* ping-pong, microseconds */
	double msgs_per_s, gbytes_per_s;        /* stream */
	char what[128];
};

#define BENCH_CSV_HEADER \
	"bench,placement,cpu_a,cpu_b,transport,mode,kind,size,burst,touch,runs," \
	"samples,rtt_p50_us,rtt_p90_us,rtt_p99_us,rtt_p999_us,rtt_max_us," \
	"msgs_per_s,gbytes_per_s,what"

/* Write the header line / one row. */
void bench_csv_header(FILE *f);
void bench_csv_write(FILE *f, const struct bench_row *r);

/*
 * bench_csv_read() - read a file written by bench_csv_write().
 * @f:    the open file.
 * @rows: receives a malloc()ed array (free it).
 * @n:    receives its length.
 *
 * Return: 0; -EBADMSG (a malformed line; @line says which); -ENOMEM.
 */
int bench_csv_read(FILE *f, struct bench_row **rows, size_t *n, size_t *line);

#endif /* IVC_BENCH_CSV_H */
