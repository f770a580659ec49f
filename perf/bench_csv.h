/* SPDX-License-Identifier: MIT */
/*
 * bench_csv - the sweep's output: one row per (benchmark, placement,
 * transport, mode, size, burst, touch), each figure the median of the
 * point's runs.  Read back by `ivc-bench report` and perf/ivc-plot.
 *
 * Columns (fields that do not apply are empty):
 *   bench,placement,cpu_a,cpu_b,transport,mode,kind,size,burst,touch,runs,
 *   samples,rtt_p50_us,rtt_p90_us,rtt_p99_us,rtt_p999_us,rtt_max_us,
 *   msgs_per_s,gbytes_per_s,cpu_ns_initiator,cpu_ns_peer,what
 *
 * cpu_ns_*: CPU time per message at each end over the timed part (per round
 * trip in ping-pong); empty where not measured.  A CSV of an older ivc-bench
 * (without the two columns) is still read, with those figures absent.
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
	int cpu_a, cpu_b;       /* cpu_b -1: placement "remote", the peer elsewhere */
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
	double cpu_ns_init, cpu_ns_peer;        /* 0: not measured */
	char what[128];
};

#define BENCH_CSV_HEADER \
	"bench,placement,cpu_a,cpu_b,transport,mode,kind,size,burst,touch,runs," \
	"samples,rtt_p50_us,rtt_p90_us,rtt_p99_us,rtt_p999_us,rtt_max_us," \
	"msgs_per_s,gbytes_per_s,cpu_ns_initiator,cpu_ns_peer,what"

/* The header of the CSVs ivc-bench wrote before the CPU columns. */
#define BENCH_CSV_HEADER_V1 \
	"bench,placement,cpu_a,cpu_b,transport,mode,kind,size,burst,touch,runs," \
	"samples,rtt_p50_us,rtt_p90_us,rtt_p99_us,rtt_p999_us,rtt_max_us," \
	"msgs_per_s,gbytes_per_s,what"

/* Write the header line / one row. */
void bench_csv_header(FILE *f);
void bench_csv_write(FILE *f, const struct bench_row *r);

/*
 * The bounds of what bench_csv_read() takes, so that input which is not a
 * sweep's CSV (/dev/zero, an endless stream, a binary file) costs at most
 * one line or the row cap, and is refused with an error, not read on.
 *
 * BENCH_CSV_MAX_LINE: bytes in a line, its newline not counted.  The longest
 * row bench_csv_write() can write is about 2,500 bytes: every text field as
 * long as struct bench_row holds, every integer at its widest, and the five
 * ping-pong figures and two CPU figures printed at up to 315 characters
 * each (-DBL_MAX); a real row is under 220.
 *
 * BENCH_CSV_MAX_ROWS: rows after the header.  A full sweep writes about 870
 * rows per placement (docs/perf/ivc-sweep.csv: 1,734 on a 2-CPU box); the
 * most any sweep can write, every limit of bench_plan.h at once (12
 * placements, 64 sizes, 8 bursts, both touch settings, every transport of
 * this tree in each of its modes), is about 241,000.  The cap holds about
 * 150 MB of rows.
 */
#define BENCH_CSV_MAX_LINE 4096
#define BENCH_CSV_MAX_ROWS 500000

/*
 * bench_csv_read() - read a file written by bench_csv_write().
 * @f:    the open file.
 * @rows: receives a malloc()ed array (free it).
 * @n:    receives its length.
 * @line: receives the line at fault (on error).
 * @why:  receives what is wrong, a message for the user (on error; it is
 *        valid until the next call).
 *
 * Reading stops at the first fault: a first line that is not the header, a
 * line over BENCH_CSV_MAX_LINE, a NUL byte, a malformed row, a row past
 * BENCH_CSV_MAX_ROWS.
 *
 * Return: 0; -EBADMSG (not a sweep's CSV); -ENOMEM; or a read error, -errno.
 */
int bench_csv_read(FILE *f, struct bench_row **rows, size_t *n, size_t *line,
		   const char **why);

#endif /* IVC_BENCH_CSV_H */
