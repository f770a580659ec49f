/* SPDX-License-Identifier: MIT */
/*
 * bench_report - the tables people read: per benchmark and placement, each
 * series (transport:mode) at each size, the best ivc mode, and ivc divided
 * by every baseline and physical limit, all from rows of one run.
 */
#ifndef IVC_BENCH_REPORT_H
#define IVC_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_csv.h"

/*
 * bench_report() - print the tables of @rows to @f.
 * @sizes:   the sizes to show as columns, or NULL for a selection of at most
 *           eight of those present (8, 64, 512, 4 KiB, 64 KiB, 1 MiB first).
 * @n_sizes: entries in @sizes.
 */
void bench_report(FILE *f, const struct bench_row *rows, size_t n,
		  const uint64_t *sizes, int n_sizes);

/*
 * bench_print_detail() - every row of @rows, one line each: all five RTT
 * percentiles for ping-pong, messages/s and GB/s for streams.
 */
void bench_print_detail(FILE *f, const struct bench_row *rows, size_t n);

#endif /* IVC_BENCH_REPORT_H */
