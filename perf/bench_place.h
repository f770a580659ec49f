/* SPDX-License-Identifier: MIT */
/*
 * bench_place - where the two endpoints of a measurement run, read from the
 * hwloc topology: the placements this machine offers for a pair of
 * endpoints (one representative CPU pair per class), and pinning with hwloc.
 */
#ifndef IVC_BENCH_PLACE_H
#define IVC_BENCH_PLACE_H

#include <stdbool.h>

/* Most placements listed (classes: same PU, SMT, a shared cache level each,
 * no shared cache, NUMA, package). */
#define BENCH_MAX_PLACES 12

struct bench_place {
	char name[24];          /* CSV "placement": same-pu, smt, cores-shared-l3, ... */
	char desc[96];          /* for people: "separate cores sharing an L3 (32 MiB)" */
	int cpu_a, cpu_b;       /* OS CPU numbers (initiator, peer) */
};

/*
 * bench_places() - enumerate the placements, nearest first.
 * @out:       room for BENCH_MAX_PLACES entries.
 * @synthetic: NULL for this machine (the CPUs this process may use), or an
 *             hwloc synthetic topology ("pack:2 l3:1 core:4 pu:2") to list
 *             what a bigger box would offer (not runnable here).
 *
 * Return: the number found (>= 1), or -errno.
 */
int bench_places(struct bench_place *out, const char *synthetic);

/* A placement for a given CPU pair ("cpus-A-B", classified as above). */
int bench_place_for(int cpu_a, int cpu_b, struct bench_place *out);

/* Pin the calling process (all its threads made later) to OS CPU @cpu.
 * 0 or -errno. */
int bench_pin(int cpu);

#endif /* IVC_BENCH_PLACE_H */
