/* SPDX-License-Identifier: MIT */
/*
 * The modes latency, intr and send of ivc-dpdk-check.
 */
#include "dpdk_check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>

#define LAT_MAX_COUNT 100000000ull
#define EPOLL_SLICE_MS 100

/* Frame seq of round 1, len bytes, checked in full; a message if not. */
static int expect_frame(const char *who, const struct rte_mbuf *m,
			uint64_t seq, uint32_t len)
{
	struct chk_hdr h;
	struct chk_bad bad;

	if (chk_frame_parse(m, &h, &bad) == 0) {
		if (h.round == 1 && h.seq == seq &&
		    chk_frame_check(m, 1, seq, len, &bad) == 0)
			return 0;
		if (h.round != 1 || h.seq != seq)
			snprintf(bad.what, sizeof(bad.what),
				 "got round %" PRIu32 " seq %" PRIu64, h.round,
				 h.seq);
	}
	fprintf(stderr, "ivc-dpdk-check: %s: FAIL at frame seq %" PRIu64
		" (%" PRIu32 " B): %s\n", who, seq, len, bad.what);
	return -1;
}

/* --- latency ----------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile of n sorted values. */
static uint64_t pct(const uint64_t *v, uint64_t n, unsigned p)
{
	uint64_t r = (n * p + 99) / 100;

	return v[r ? r - 1 : 0];
}

static double to_ns(uint64_t cycles, uint64_t hz)
{
	return (double)cycles * 1e9 / (double)hz;
}

/* One round trip of frame seq, in TSC cycles: from handing it to the
 * PMD to having it back (building and checking it are outside). */
static int ping(struct chk_port *p, const struct chk_opts *o, uint64_t seq,
		uint64_t *cycles)
{
	uint32_t len = o->sizes[0];
	uint64_t limit = rte_get_tsc_hz() / 1000 * o->timeout_ms, t0;
	struct rte_mbuf *m = chk_frame_build(p->tx_pool, 1, seq, len, o->segs);
	struct rte_mbuf *r[CHK_BURST];
	uint16_t n;
	int rc;

	if (m == NULL) {
		fprintf(stderr, "ivc-dpdk-check: latency: the TX pool is empty at frame %" PRIu64 "\n", seq);
		return -1;
	}
	t0 = rte_rdtsc();
	while (rte_eth_tx_burst(p->id, 0, &m, 1) == 0) {
		if (rte_rdtsc() - t0 > limit || chk_interrupted) {
			rte_pktmbuf_free(m);
			fprintf(stderr, "ivc-dpdk-check: latency: FAIL: the TX queue took nothing for %" PRIu32 " ms (frame %" PRIu64 ")\n",
				o->timeout_ms, seq);
			return -1;
		}
	}
	while ((n = rte_eth_rx_burst(p->id, 0, r, CHK_BURST)) == 0) {
		if (rte_rdtsc() - t0 > limit || chk_interrupted) {
			fprintf(stderr, "ivc-dpdk-check: latency: FAIL: frame %" PRIu64 " not back within %" PRIu32 " ms (link %s)\n",
				seq, o->timeout_ms, chk_link_up(p) ? "up" : "down");
			return -1;
		}
	}
	*cycles = rte_rdtsc() - t0;
	rc = expect_frame("latency", r[0], seq, len);
	if (rc == 0 && n != 1) {
		fprintf(stderr, "ivc-dpdk-check: latency: FAIL: %u frames back for frame %" PRIu64 "\n", n, seq);
		rc = -1;
	}
	rte_pktmbuf_free_bulk(r, n);
	return rc;
}

int chk_latency(struct chk_port *p, const struct chk_opts *o)
{
	uint64_t warm = RTE_MIN(o->count / 10, 1000ull), *v, hz;
	int rc = CHK_FAIL;

	if (o->count > LAT_MAX_COUNT) {
		fprintf(stderr, "ivc-dpdk-check: latency: --count at most %llu\n", LAT_MAX_COUNT);
		return CHK_USAGE;
	}
	if (chk_link_wait(p, o, false) != 0)
		return CHK_FAIL;
	v = malloc(o->count * sizeof(*v));
	if (v == NULL) {
		fprintf(stderr, "ivc-dpdk-check: latency: out of memory\n");
		return CHK_FAIL;
	}
	(void)chk_rx_flush(p);
	for (uint64_t i = 0; i < warm + o->count; i++) {
		uint64_t c;

		if (ping(p, o, i, &c) != 0)
			goto out;
		if (i >= warm)
			v[i - warm] = c;
	}
	qsort(v, o->count, sizeof(*v), cmp_u64);
	hz = rte_get_tsc_hz();
	printf("latency size=%" PRIu32 " count=%" PRIu64
	       " median_ns=%.0f p99_ns=%.0f min_ns=%.0f max_ns=%.0f driver=%s\n",
	       o->sizes[0], o->count, to_ns(pct(v, o->count, 50), hz),
	       to_ns(pct(v, o->count, 99), hz), to_ns(v[0], hz),
	       to_ns(v[o->count - 1], hz), p->driver);
	fflush(stdout);
	rc = chk_wait_close(p, o, false) ? CHK_FAIL : CHK_OK;
out:
	free(v);
	return rc;
}

/* --- intr -------------------------------------------------------------- */

struct intr_state {
	struct chk_port *p;
	const struct chk_opts *o;
	uint64_t got;		/* frames received and checked */
	bool ready;		/* the ready file exists: frames may come */
	unsigned wakeups;
};

/* Everything in the RX queue now, checked; -1 on a bad frame or one
 * that came before the ready file (the peer must wait for it). */
static int intr_take(struct intr_state *st)
{
	struct rte_mbuf *m[CHK_BURST];
	uint16_t n;
	int rc = 0;

	while (rc == 0 && (n = rte_eth_rx_burst(st->p->id, 0, m, CHK_BURST)) > 0) {
		for (uint16_t i = 0; i < n; i++) {
			if (rc != 0)
				break;
			if (!st->ready) {
				fprintf(stderr, "ivc-dpdk-check: intr: FAIL: a frame arrived before the ready file\n");
				rc = -1;
			} else if (st->got >= st->o->count) {
				fprintf(stderr, "ivc-dpdk-check: intr: FAIL: an extra frame after %" PRIu64 "\n", st->got);
				rc = -1;
			} else {
				rc = expect_frame("intr", m[i], st->got, st->o->sizes[0]);
				st->got += rc == 0;
			}
		}
		rte_pktmbuf_free_bulk(m, n);
	}
	return rc;
}

static int intr_fail(const struct chk_port *p, const char *call, int rc)
{
	fprintf(stderr, "ivc-dpdk-check: intr: FAIL: port %u (%s): %s: %s\n",
		p->id, p->driver, call, rte_strerror(-rc));
	return -1;
}

/* Woken: interrupts off, take what came, interrupts on, and take again,
 * for what came in between (it may not ring the doorbell). */
static int intr_service(struct intr_state *st)
{
	int rc = rte_eth_dev_rx_intr_disable(st->p->id, 0);

	if (rc != 0)
		return intr_fail(st->p, "rte_eth_dev_rx_intr_disable", rc);
	if (intr_take(st) != 0)
		return -1;
	rc = rte_eth_dev_rx_intr_enable(st->p->id, 0);
	if (rc != 0)
		return intr_fail(st->p, "rte_eth_dev_rx_intr_enable", rc);
	return intr_take(st);
}

/* Sleep in rte_epoll_wait until woken or ms pass (in slices, to see a
 * signal): 1 woken, 0 not, -1 error. */
static int intr_sleep(unsigned ms)
{
	struct rte_epoll_event ev[1];
	uint64_t end = chk_now_ns() + (uint64_t)ms * 1000000ull, now;
	int n;

	while ((now = chk_now_ns()) < end && !chk_interrupted) {
		uint64_t left = (end - now + 999999) / 1000000;

		n = rte_epoll_wait_interruptible(RTE_EPOLL_PER_THREAD, ev, 1,
						 (int)RTE_MIN(left, (uint64_t)EPOLL_SLICE_MS));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "ivc-dpdk-check: intr: rte_epoll_wait: %s\n", strerror(errno));
			return -1;
		}
	}
	return chk_interrupted ? -1 : 0;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The idle period: armed, nothing sent; every wakeup in it is spurious.
 * Returns the process's CPU use in per cent of the period, or < 0. */
static double intr_idle(struct intr_state *st, unsigned *spurious)
{
	double c0 = cpu_s();
	uint64_t w0 = chk_now_ns(), end = w0 + (uint64_t)st->o->idle_ms * 1000000ull;
	uint64_t now;

	*spurious = 0;
	while ((now = chk_now_ns()) < end) {
		int w = intr_sleep((unsigned)((end - now + 999999) / 1000000));

		if (w < 0)
			return -1;
		if (w > 0) {
			++*spurious;
			if (intr_service(st) != 0)
				return -1;
		}
	}
	return (cpu_s() - c0) / ((double)(chk_now_ns() - w0) / 1e9) * 100.0;
}

/* After the ready file: sleep until woken, take the frames, until all
 * --count are in; each sleep bounded by the timeout. */
static int intr_receive(struct intr_state *st)
{
	while (st->got < st->o->count) {
		int w = intr_sleep(st->o->timeout_ms);

		if (w < 0)
			return -1;
		if (w == 0) {
			fprintf(stderr, "ivc-dpdk-check: intr: FAIL: not woken within %" PRIu32 " ms (%" PRIu64 " of %" PRIu64 " frames in; link %s)\n",
				st->o->timeout_ms, st->got, st->o->count,
				chk_link_up(st->p) ? "up" : "down");
			return -1;
		}
		st->wakeups++;
		if (intr_service(st) != 0)
			return -1;
	}
	return 0;
}

/* -ENOTSUP: no interrupt handle; -EPERM: no RX vectors in it. */
static bool intr_unsupported(int rc)
{
	return rc == -ENOTSUP || rc == -EPERM || rc == -ENOSYS;
}

static int intr_skip(const struct chk_port *p, const char *call, int rc)
{
	printf("intr: SKIP: port %u (%s) has no RX interrupts: %s: %s\n",
	       p->id, p->driver, call, rte_strerror(-rc));
	return CHK_SKIP;
}

static int intr_run(struct intr_state *st)
{
	struct chk_port *p = st->p;
	const struct chk_opts *o = st->o;
	unsigned spurious;
	double idle;
	int rc;

	if (chk_link_wait(p, o, false) != 0 || intr_take(st) != 0)
		return CHK_FAIL;
	rc = rte_eth_dev_rx_intr_enable(p->id, 0);
	if (intr_unsupported(rc))
		return intr_skip(p, "rte_eth_dev_rx_intr_enable", rc);
	if (rc != 0) {
		(void)intr_fail(p, "rte_eth_dev_rx_intr_enable", rc);
		return CHK_FAIL;
	}
	if (intr_take(st) != 0)
		return CHK_FAIL;
	idle = intr_idle(st, &spurious);
	if (idle < 0)
		return CHK_FAIL;
	printf("intr: idle_cpu_pct=%.2f idle_ms=%" PRIu32 " spurious_wakeups=%u lsc=%d driver=%s\n",
	       idle, o->idle_ms, spurious, p->lsc_intr, p->driver);
	fflush(stdout);
	st->ready = true;
	if ((o->ready_file && chk_touch(o->ready_file) != 0) ||
	    intr_receive(st) != 0)
		return CHK_FAIL;
	(void)rte_eth_dev_rx_intr_disable(p->id, 0);
	if (o->max_idle_cpu >= 0 && idle > o->max_idle_cpu) {
		fprintf(stderr, "ivc-dpdk-check: intr: FAIL: %.2f%% CPU while idle, above --max-idle-cpu %.2f\n",
			idle, o->max_idle_cpu);
		return CHK_FAIL;
	}
	printf("intr: ok: woken %u times for %" PRIu64 " frames of %" PRIu32 " B, in order and intact; idle_cpu_pct=%.2f\n",
	       st->wakeups, st->got, o->sizes[0], idle);
	return CHK_OK;
}

int chk_intr(struct chk_port *p, const struct chk_opts *o)
{
	struct intr_state st = { .p = p, .o = o };
	int rc;

	rc = rte_eth_dev_rx_intr_ctl_q(p->id, 0, RTE_EPOLL_PER_THREAD,
				       RTE_INTR_EVENT_ADD, NULL);
	if (intr_unsupported(rc))
		return intr_skip(p, "rte_eth_dev_rx_intr_ctl_q", rc);
	if (rc != 0) {
		(void)intr_fail(p, "rte_eth_dev_rx_intr_ctl_q", rc);
		return CHK_FAIL;
	}
	rc = intr_run(&st);
	(void)rte_eth_dev_rx_intr_ctl_q(p->id, 0, RTE_EPOLL_PER_THREAD,
					RTE_INTR_EVENT_DEL, NULL);
	return rc;
}

/* --- send -------------------------------------------------------------- */

int chk_send(struct chk_port *p, const struct chk_opts *o)
{
	struct chk_opts tx = *o;

	tx.tx_only = true;
	tx.rx_only = false;
	return chk_verify(p, &tx);
}
