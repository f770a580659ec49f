/* SPDX-License-Identifier: MIT */
/*
 * ivc-registry-bench - what a lookup in the co-residency registry of net:
 * addresses costs (src/endpoint/net_registry.c), alone and while another
 * thread keeps updating it: ns per lookup, median of 9 rounds of 1 million
 * lookups over 64 addresses (hits) and over 64 absent ones (misses).  The
 * measurement paper's Table 2 charges XenLoop's table a lookup per packet;
 * ivc looks up once per connect, so a message costs no lookup at all.
 *
 * usage: ivc-registry-bench      (built, not installed)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "endpoint/net_pvt.h"

#define KEYS 64
#define LOOKUPS 1000000
#define ROUNDS 9

static struct net_key g_hit[KEYS], g_miss[KEYS];
static atomic_int g_stop;
static atomic_ulong g_updates;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A key as ivc_net_key() makes it for 127.0.0.1:@port. */
static struct net_key key_at(uint16_t port)
{
	struct net_key k = { .family = AF_INET, .port = port, .addr = { 127, 0, 0, 1 } };

	return k;
}

/* Replaces the hit keys' entries over and over (the values stay hits). */
static void *updater(void *arg)
{
	(void)arg;
	while (!atomic_load(&g_stop))
		for (int i = 0; i < KEYS; i++) {
			ivc_net_reg_put(&g_hit[i], NET_SEEN_LOCAL, (unsigned)i & 1u);
			atomic_fetch_add(&g_updates, 1);
		}
	return NULL;
}

static double round_ns(const struct net_key *keys)
{
	unsigned which, found = 0;
	uint64_t t0 = now_ns();

	for (int i = 0; i < LOOKUPS; i++)
		found += ivc_net_reg_get(&keys[i & (KEYS - 1)], &which) != 0;
	if (found == 12345678)
		puts(""); /* (keeps the loop) */
	return (double)(now_ns() - t0) / LOOKUPS;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const struct net_key *keys)
{
	double v[ROUNDS];

	for (int r = 0; r < ROUNDS; r++)
		v[r] = round_ns(keys);
	qsort(v, ROUNDS, sizeof(v[0]), cmp);
	return v[ROUNDS / 2];
}

int main(void)
{
	pthread_t th;
	double hit, miss, hit_u, miss_u;
	uint64_t t0;

	for (int i = 0; i < KEYS; i++) {
		g_hit[i] = key_at((uint16_t)(7000 + i));
		g_miss[i] = key_at((uint16_t)(17000 + i));
		ivc_net_reg_put(&g_hit[i], NET_SEEN_LOCAL, 0);
	}
	hit = median(g_hit);
	miss = median(g_miss);
	pthread_create(&th, NULL, updater, NULL);
	t0 = now_ns();
	hit_u = median(g_hit);
	miss_u = median(g_miss);
	atomic_store(&g_stop, 1);
	pthread_join(th, NULL);
	printf("# registry lookups, ns each (median of %d x %d), %d addresses\n", ROUNDS,
	       LOOKUPS, KEYS);
	printf("%-28s %8s %8s\n", "", "hit", "miss");
	printf("%-28s %8.1f %8.1f\n", "alone", hit, miss);
	printf("%-28s %8.1f %8.1f\n", "with a thread updating", hit_u, miss_u);
	printf("# the updater: %.0f updates/s meanwhile\n",
	       (double)atomic_load(&g_updates) * 1e9 / (double)(now_ns() - t0));
	return 0;
}
