/* SPDX-License-Identifier: MIT */
/*
 * ivc-pingpong - round-trip latency of ivc next to its baselines, in one run.
 *
 * Two processes, pinned to CPU A (the initiator, which times every round
 * trip) and CPU B (the responder), bounce a SIZE-byte message back and forth:
 *
 *   cacheline  the physical floor: a 64-byte aligned atomic counter in shared
 *              memory; each side spins (with a pause instruction) until the
 *              counter says it is its turn, then increments it;
 *   yield      the same, calling sched_yield() instead of pausing: the
 *              reference for "both ends on one CPU";
 *   ring       a bare descriptor ring with ivc's memory layout (the sender
 *              writes a buffer, then a 16-byte descriptor whose sequence
 *              number the receiver polls; the receiver reads the descriptor,
 *              then the buffer) and nothing else: the floor for that layout,
 *              two dependent cache misses each way where cacheline has one;
 *   unix       a SOCK_STREAM socketpair, blocking write()/read() of SIZE bytes;
 *   ivc        a real shm channel (the child connects to a listener at
 *              "shm:@ivc-pp-<pid>"), once per wait mode: poll, adaptive, block.
 *              The zero-copy API by default (tx_alloc, write the payload,
 *              tx_send; rx_burst, read, rx_release), ivc_send/ivc_recv with
 *              --copy.
 *
 * Every payload is written in full by its sender and read by its receiver
 * (one byte of every cache line, and the last byte).  Each measurement does a
 * warm-up, then at most ITERS round trips and at most SECONDS of them; every
 * round trip is timed (rdtsc on x86-64, calibrated against CLOCK_MONOTONIC
 * over the measurement itself; clock_gettime elsewhere) and p50, p90, p99,
 * p99.9 and max are reported in microseconds.
 *
 * Ratios: ivc against the physical floor (the cache-line round trip; with
 * both ends on one CPU, the sched_yield round trip), ivc against the bare
 * ring (what the library adds to its layout's cost), and the Unix socket
 * against ivc, at p50 and p99.
 *
 * With both ends on one CPU, a spinning wait (cacheline; ivc poll if the
 * library spun) gives the peer nothing: each hand-off waits for the
 * scheduler to preempt the spinner (milliseconds).  Those measurements are
 * bounded by -t and marked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ivc/ivc.h>

#include "bench_util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#define PROG "ivc-pingpong"
#define RX_BURST 64u
/* A same-CPU round trip this slow was waiting for scheduler ticks. */
#define TICK_BOUND_US 1000.0

/* ------------------------------------------------------------------ */
/* Parameters and results.                                            */

struct params {
	size_t size;
	uint64_t iters;
	int cpu_a, cpu_b;
	bool modes[3];          /* indexed by enum ivc_mode */
	double secs;
	bool csv;
	bool copy;
	bool run_cl, run_yield, run_ring, run_unix, run_ivc;
	struct ivc_geometry geo;
	uint32_t spin_max_ns;
};

struct result {
	char what[16];
	char mode[16];
	uint64_t iters;
	bool time_bounded;
	bool same_cpu;          /* both ends on one CPU */
	double p50, p90, p99, p999, max;
	int err;                /* 0 or a negative error: no figures */
	/* ivc only: this (timing) side's counters per round trip. */
	bool have_stats;
	double doorbells_rt, sleeps_rt, yields_rt, spin_hits_rt;
};

const char bench_prog[] = PROG;

__attribute__((format(printf, 1, 2)))
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static bool g_progress;

/* "running X ..." on a terminal only: it would clutter a log. */
static void progress(const char *what)
{
	if (!g_progress)
		return;
	fprintf(stderr, "\r\033[K" PROG ": running %s ...", what);
	fflush(stderr);
}

/* ------------------------------------------------------------------ */
/* Time.                                                              */

static inline uint64_t ticks(void)
{
#ifdef HAVE_TSC
	_mm_lfence();
	return __rdtsc();
#else
	return bench_mono_ns();
#endif
}

static double g_ns_per_tick = 1.0;

static void calibrate(void)
{
#ifdef HAVE_TSC
	uint64_t t0 = bench_mono_ns(), k0 = ticks(), t1, k1;
	struct timespec d = { 0, 50 * 1000000L };

	nanosleep(&d, NULL);
	t1 = bench_mono_ns();
	k1 = ticks();
	if (k1 > k0)
		g_ns_per_tick = (double)(t1 - t0) / (double)(k1 - k0);
#endif
}

static inline void cpu_relax(void)
{
#ifdef HAVE_TSC
	_mm_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* ------------------------------------------------------------------ */
/* Watchdog: a measurement that does not finish in time is reported and */
/* ends the run instead of hanging it.                                */

static struct {
	pthread_mutex_t lock;
	uint64_t deadline_ns;   /* 0: disarmed */
	char what[96];
	pid_t child;
} g_wd = { PTHREAD_MUTEX_INITIALIZER, 0, "", 0 };

static void *watchdog_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec d = { 0, 100 * 1000000L };

		pthread_mutex_lock(&g_wd.lock);
		if (g_wd.deadline_ns && bench_mono_ns() >= g_wd.deadline_ns) {
			fprintf(stderr, PROG ": %s: no progress for too long; "
				"giving up (is the peer or the library stuck?)\n",
				g_wd.what);
			if (g_wd.child > 0)
				kill(g_wd.child, SIGKILL);
			_exit(3);
		}
		pthread_mutex_unlock(&g_wd.lock);
		nanosleep(&d, NULL);
	}
	return NULL;
}

static void watchdog_arm(double secs, pid_t child, const char *what)
{
	pthread_mutex_lock(&g_wd.lock);
	g_wd.deadline_ns = bench_mono_ns() + (uint64_t)(secs * 1e9);
	g_wd.child = child;
	snprintf(g_wd.what, sizeof(g_wd.what), "%s", what);
	pthread_mutex_unlock(&g_wd.lock);
}

static void watchdog_disarm(void)
{
	pthread_mutex_lock(&g_wd.lock);
	g_wd.deadline_ns = 0;
	g_wd.child = 0;
	pthread_mutex_unlock(&g_wd.lock);
}

/* ------------------------------------------------------------------ */
/* Payload: written fully, read one byte per cache line.              */

static volatile unsigned g_sink;

static inline void fill(void *p, size_t len, unsigned pat)
{
	memset(p, (int)(pat & 0xff), len);
}

static inline unsigned touch(const void *p, size_t len)
{
	const unsigned char *b = p;
	unsigned sum = 0;
	size_t i;

	if (!len)
		return 0;
	for (i = 0; i < len; i += 64)
		sum += b[i];
	return sum + b[len - 1];
}

/* ------------------------------------------------------------------ */
/* The generic measuring loop (initiator side).                       */

typedef int (*rt_fn)(void *ctx);

static uint64_t *g_samples;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, uint64_t n, double p, double scale)
{
	uint64_t idx;
	double r = p * (double)n;

	idx = (uint64_t)r;
	if ((double)idx < r)
		idx++;                  /* nearest rank: ceil(p * n) */
	if (idx < 1)
		idx = 1;
	if (idx > n)
		idx = n;
	return (double)v[idx - 1] * scale;
}

/* Warm up, then time up to p->iters round trips within p->secs. */
static int measure(const struct params *p, rt_fn fn, void *ctx,
		   struct result *r)
{
	uint64_t warm = p->iters / 10, i, n = 0;
	uint64_t budget_ticks, start, prev, t0ns, t1ns, k0, k1;
	double warm_secs = p->secs / 5 < 1.0 ? p->secs / 5 : 1.0;
	double scale;
	int ret;

	if (warm < 100)
		warm = 100;
	if (warm > 10000)
		warm = 10000;
	budget_ticks = (uint64_t)(warm_secs * 1e9 / g_ns_per_tick);
	start = ticks();
	for (i = 0; i < warm; i++) {
		if ((ret = fn(ctx)) < 0)
			return ret;
		if (ticks() - start > budget_ticks)
			break;
	}

	budget_ticks = (uint64_t)(p->secs * 1e9 / g_ns_per_tick);
	t0ns = bench_mono_ns();
	k0 = prev = start = ticks();
	for (i = 0; i < p->iters; i++) {
		uint64_t now;

		if ((ret = fn(ctx)) < 0)
			return ret;
		now = ticks();
		g_samples[n++] = now - prev;
		prev = now;
		if (now - start > budget_ticks) {
			r->time_bounded = n < p->iters;
			break;
		}
	}
	k1 = ticks();
	t1ns = bench_mono_ns();
	/* Convert with this run's own calibration when it is long enough. */
	scale = g_ns_per_tick;
#ifdef HAVE_TSC
	if (t1ns - t0ns > 20000000ull && k1 > k0)
		scale = (double)(t1ns - t0ns) / (double)(k1 - k0);
#else
	(void)k0; (void)k1;
#endif
	scale /= 1000.0;        /* ticks -> microseconds */
	qsort(g_samples, n, sizeof(*g_samples), cmp_u64);
	r->iters = n;
	r->p50 = pct(g_samples, n, 0.50, scale);
	r->p90 = pct(g_samples, n, 0.90, scale);
	r->p99 = pct(g_samples, n, 0.99, scale);
	r->p999 = pct(g_samples, n, 0.999, scale);
	r->max = (double)g_samples[n - 1] * scale;
	return 0;
}

/* Wait for a child; SIGKILL it after @secs.  Returns its exit status, or -1. */
static int reap(pid_t pid, double secs, const char *what, bool killed)
{
	uint64_t end = bench_mono_ns() + (uint64_t)(secs * 1e9);
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (bench_mono_ns() > end) {
			note("%s: responder did not exit within %.0f s; killed", what, secs);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		{
			struct timespec d = { 0, 1000000L };
			nanosleep(&d, NULL);
		}
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (!killed)
		note("%s: responder killed by signal %d", what, WTERMSIG(st));
	return -1;
}

/* ------------------------------------------------------------------ */
/* Baseline: cache line (pause) and yield.                            */

#define CL_STOP UINT64_MAX

struct cl_shared {
	_Alignas(64) _Atomic uint64_t turn;
	char pad[64 - sizeof(uint64_t)];
};

struct cl_ctx {
	struct cl_shared *sh;
	uint64_t next;          /* odd: the value the initiator writes next */
	bool yield;
	pid_t child;
};

static int cl_rt(void *arg)
{
	struct cl_ctx *c = arg;
	uint64_t want = c->next + 1;
	unsigned spins = 0;

	atomic_store_explicit(&c->sh->turn, c->next, memory_order_release);
	while (atomic_load_explicit(&c->sh->turn, memory_order_acquire) != want) {
		if (c->yield)
			sched_yield();
		else
			cpu_relax();
		if ((++spins & 0xfffffu) == 0) {  /* now and then: child alive? */
			if (waitpid(c->child, NULL, WNOHANG) == c->child)
				return -ECONNRESET;
		}
	}
	c->next += 2;
	return 0;
}

static void cl_child(struct cl_shared *sh, bool yield)
{
	uint64_t want = 1;

	for (;;) {
		uint64_t v;

		while ((v = atomic_load_explicit(&sh->turn, memory_order_acquire)) != want) {
			if (v == CL_STOP)
				_exit(0);
			if (yield)
				sched_yield();
			else
				cpu_relax();
		}
		atomic_store_explicit(&sh->turn, want + 1, memory_order_release);
		want += 2;
	}
}

static void run_cacheline(const struct params *p, bool yield, struct result *r)
{
	struct cl_ctx c;
	pid_t pid;
	int ret;

	memset(&c, 0, sizeof(c));
	c.sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c.sh == MAP_FAILED)
		bench_die("mmap: %s", strerror(errno));
	atomic_store(&c.sh->turn, 0);
	c.next = 1;
	c.yield = yield;
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		bench_child_setup(p->cpu_b, "responder");
		cl_child(c.sh, yield);
	}
	c.child = pid;
	watchdog_arm(p->secs * 3 + 30, pid, yield ? "yield" : "cacheline");
	ret = measure(p, cl_rt, &c, r);
	atomic_store_explicit(&c.sh->turn, CL_STOP, memory_order_release);
	if (reap(pid, 10 + p->secs, r->what, false) != 0 && !ret)
		ret = -ECHILD;
	watchdog_disarm();
	r->err = ret;
	munmap(c.sh, 4096);
}

/* ------------------------------------------------------------------ */
/* Baseline: a bare descriptor ring, ivc's memory layout with nothing   */
/* else - the floor for that layout.  Per direction: the sender writes  */
/* the payload into a buffer (8 in turn), then a 16-byte descriptor     */
/* {seq, buf, len, flags} with seq stored last (release); the receiver  */
/* polls the seq of the slot it expects, reads the descriptor, reads    */
/* the payload.  No return ring, no doorbells, no checks, no calls.     */

#define RING_SLOTS 256u
#define RING_BUFS 8u

struct ring_desc {
	_Atomic uint32_t seq;
	uint32_t buf, len, flags;
};

struct ring_lane {
	_Alignas(64) struct ring_desc desc[RING_SLOTS];
};

struct ring_ctx {
	struct ring_lane *lane[2];      /* [0]: A -> B, [1]: B -> A */
	unsigned char *bufs[2];
	size_t size, buf_size;
	uint32_t seq;
	pid_t child;
};

static void ring_send(struct ring_lane *l, unsigned char *bufs, size_t buf_size,
		      uint32_t seq, size_t size)
{
	struct ring_desc *d = &l->desc[seq % RING_SLOTS];
	uint32_t b = seq % RING_BUFS;

	fill(bufs + (size_t)b * buf_size, size, seq);
	d->buf = b;
	d->len = (uint32_t)size;
	d->flags = 0;
	atomic_store_explicit(&d->seq, seq + 1, memory_order_release);
}

/* Returns 0, or -1 if @stop says so (checked now and then). */
static int ring_recv(struct ring_lane *l, unsigned char *bufs, size_t buf_size,
		     uint32_t seq, const _Atomic uint32_t *stop, pid_t child)
{
	struct ring_desc *d = &l->desc[seq % RING_SLOTS];
	unsigned spins = 0;

	while (atomic_load_explicit(&d->seq, memory_order_acquire) != seq + 1) {
		cpu_relax();
		if ((++spins & 0xfffffu) == 0) {
			if (stop && atomic_load(stop))
				return -1;
			if (child > 0 && waitpid(child, NULL, WNOHANG) == child)
				return -ECONNRESET;
		}
	}
	g_sink += touch(bufs + (size_t)d->buf * buf_size, d->len);
	return 0;
}

static int ring_rt(void *arg)
{
	struct ring_ctx *c = arg;
	int ret;

	ring_send(c->lane[0], c->bufs[0], c->buf_size, c->seq, c->size);
	ret = ring_recv(c->lane[1], c->bufs[1], c->buf_size, c->seq, NULL, c->child);
	c->seq++;
	return ret;
}

static void run_ring(const struct params *p, struct result *r)
{
	struct ring_ctx c;
	size_t lane_bytes = (sizeof(struct ring_lane) + 4095) & ~(size_t)4095;
	size_t total;
	unsigned char *m;
	_Atomic uint32_t *stop;
	pid_t pid;
	int ret;

	memset(&c, 0, sizeof(c));
	c.size = p->size;
	c.buf_size = (p->size + 4095) & ~(size_t)4095;
	total = 4096 + 2 * lane_bytes + 2 * RING_BUFS * c.buf_size;
	m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		bench_die("mmap: %s", strerror(errno));
	stop = (_Atomic uint32_t *)m;
	c.lane[0] = (struct ring_lane *)(m + 4096);
	c.lane[1] = (struct ring_lane *)(m + 4096 + lane_bytes);
	c.bufs[0] = m + 4096 + 2 * lane_bytes;
	c.bufs[1] = c.bufs[0] + RING_BUFS * c.buf_size;
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		uint32_t seq;

		bench_child_setup(p->cpu_b, "responder");
		for (seq = 0;; seq++) {
			if (ring_recv(c.lane[0], c.bufs[0], c.buf_size, seq, stop, 0) < 0)
				_exit(0);
			ring_send(c.lane[1], c.bufs[1], c.buf_size, seq, c.size);
		}
	}
	c.child = pid;
	watchdog_arm(p->secs * 3 + 30, pid, "ring");
	ret = measure(p, ring_rt, &c, r);
	atomic_store(stop, 1);
	if (reap(pid, 10 + p->secs, r->what, false) != 0 && !ret)
		ret = -ECHILD;
	watchdog_disarm();
	r->err = ret;
	munmap(m, total);
}

/* ------------------------------------------------------------------ */
/* Baseline: Unix stream socket, blocking.                            */

struct unix_ctx {
	int fd;
	size_t size;
	unsigned char *buf;
	unsigned pat;
};

static int write_full(int fd, const void *b, size_t len)
{
	const char *c = b;

	while (len) {
		ssize_t n = write(fd, c, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Returns 1 when full, 0 at EOF before anything, or a negative errno. */
static int read_full(int fd, void *b, size_t len)
{
	char *c = b;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, c + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return got ? -EPIPE : 0;
		got += (size_t)n;
	}
	return 1;
}

static int unix_rt(void *arg)
{
	struct unix_ctx *u = arg;
	int ret;

	fill(u->buf, u->size, u->pat++);
	if ((ret = write_full(u->fd, u->buf, u->size)) < 0)
		return ret;
	ret = read_full(u->fd, u->buf, u->size);
	if (ret <= 0)
		return ret ? ret : -EPIPE;
	g_sink += touch(u->buf, u->size);
	return 0;
}

static void run_unix(const struct params *p, struct result *r)
{
	struct unix_ctx u;
	int sv[2], ret;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		bench_die("socketpair: %s", strerror(errno));
	memset(&u, 0, sizeof(u));
	u.size = p->size;
	u.buf = malloc(p->size);
	if (!u.buf)
		bench_die("out of memory");
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		unsigned pat = 0x80;

		bench_child_setup(p->cpu_b, "responder");
		close(sv[0]);
		for (;;) {
			ret = read_full(sv[1], u.buf, u.size);
			if (ret == 0)
				_exit(0);
			if (ret < 0)
				_exit(1);
			g_sink += touch(u.buf, u.size);
			fill(u.buf, u.size, pat++);
			if (write_full(sv[1], u.buf, u.size) < 0)
				_exit(1);
		}
	}
	close(sv[1]);
	u.fd = sv[0];
	watchdog_arm(p->secs * 3 + 30, pid, "unix");
	ret = measure(p, unix_rt, &u, r);
	close(sv[0]);
	if (reap(pid, 10 + p->secs, r->what, false) != 0 && !ret)
		ret = -ECHILD;
	watchdog_disarm();
	r->err = ret;
	free(u.buf);
}

/* ------------------------------------------------------------------ */
/* ivc.                                                               */

struct ivc_ctx {
	struct ivc_channel *ch;
	size_t size;
	unsigned nb;            /* buffers per message */
	uint32_t cap;           /* tx buffer size */
	size_t rx_cap;          /* --copy: receive buffer size */
	unsigned char *cbuf;    /* --copy: user buffer */
	unsigned pat;
	struct ivc_buf *tx;     /* nb entries */
	struct ivc_buf rx[RX_BURST];
};

/* Zero-copy send of one message of @len bytes (0: the empty stop message). */
static int zc_send(struct ivc_ctx *c, size_t len)
{
	unsigned nb = len ? c->nb : 1, got = 0, sent = 0, i;
	size_t left = len;
	int ret;

	while (got < nb) {
		ret = ivc_tx_alloc(c->ch, c->tx + got, nb - got, -1);
		if (ret < 0) {
			if (got)
				ivc_tx_free(c->ch, c->tx, got);
			return ret;
		}
		got += (unsigned)ret;
	}
	for (i = 0; i < nb; i++) {
		uint32_t l = left < c->tx[i].cap ? (uint32_t)left : c->tx[i].cap;

		fill(c->tx[i].data, l, c->pat);
		c->tx[i].len = l;
		c->tx[i].flags = i + 1 < nb ? IVC_BUF_MORE : 0;
		left -= l;
	}
	c->pat++;
	while (sent < nb) {
		ret = ivc_tx_send(c->ch, c->tx + sent, nb - sent, -1);
		if (ret < 0)
			return ret;
		sent += (unsigned)ret;
	}
	return 0;
}

/* Zero-copy receive of one whole message; returns its length. */
static ssize_t zc_recv(struct ivc_ctx *c)
{
	size_t total = 0;
	unsigned sum = 0;

	for (;;) {
		int n = ivc_rx_burst(c->ch, c->rx, RX_BURST, -1), i, ret;
		bool end = false;

		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			sum += touch(c->rx[i].data, c->rx[i].len);
			total += c->rx[i].len;
			if (!(c->rx[i].flags & IVC_BUF_MORE))
				end = true;
		}
		if ((ret = ivc_rx_release(c->ch, c->rx, (unsigned)n)) < 0)
			return ret;
		if (end)
			break;
	}
	g_sink += sum;
	return (ssize_t)total;
}

static ssize_t copy_recv(struct ivc_ctx *c)
{
	ssize_t n = ivc_recv(c->ch, c->cbuf, c->rx_cap, -1);

	if (n > 0)
		g_sink += touch(c->cbuf, (size_t)n);
	return n;
}

static int copy_send(struct ivc_ctx *c, size_t len)
{
	if (len)
		fill(c->cbuf, len, c->pat++);
	return ivc_send(c->ch, c->cbuf, len, -1);
}

static int ivc_rt_zc(void *arg)
{
	struct ivc_ctx *c = arg;
	ssize_t n;
	int ret;

	if ((ret = zc_send(c, c->size)) < 0)
		return ret;
	n = zc_recv(c);
	if (n < 0)
		return (int)n;
	return (size_t)n == c->size ? 0 : -EBADMSG;
}

static int ivc_rt_copy(void *arg)
{
	struct ivc_ctx *c = arg;
	ssize_t n;
	int ret;

	if ((ret = copy_send(c, c->size)) < 0)
		return ret;
	n = copy_recv(c);
	if (n < 0)
		return (int)n;
	return (size_t)n == c->size ? 0 : -EBADMSG;
}

static int ivc_ctx_init(struct ivc_ctx *c, struct ivc_channel *ch,
		       const struct params *p)
{
	struct ivc_info info;
	int ret;

	memset(c, 0, sizeof(*c));
	c->ch = ch;
	c->size = p->size;
	if ((ret = ivc_channel_info(ch, &info)) < 0)
		return ret;
	if (p->size > info.max_tx_msg || p->size > info.max_rx_msg)
		return -EMSGSIZE;
	c->cap = info.tx.buf_size;
	c->nb = (unsigned)((p->size + c->cap - 1) / c->cap);
	c->tx = calloc(c->nb, sizeof(*c->tx));
	if (!c->tx)
		return -ENOMEM;
	c->rx_cap = info.max_rx_msg;
	if (p->copy) {
		c->cbuf = malloc(info.max_rx_msg > p->size ? info.max_rx_msg : p->size);
		if (!c->cbuf)
			return -ENOMEM;
	}
	return 0;
}

static void ivc_child(const struct params *p, const char *addr,
		      enum ivc_mode mode)
{
	struct ivc_options o;
	struct ivc_channel *ch;
	struct ivc_ctx c;
	int ret;

	bench_child_setup(p->cpu_b, "responder");
	bench_ivc_options(&o, &p->geo, mode, p->spin_max_ns);
	ch = bench_child_connect(addr, &o, "responder");
	if ((ret = ivc_ctx_init(&c, ch, p)) < 0) {
		if (ret != -EMSGSIZE)   /* the initiator says it better */
			fprintf(stderr, PROG ": responder: %s\n", ivc_strerror(ret));
		_exit(1);
	}
	c.pat = 0x80;
	for (;;) {
		ssize_t n = p->copy ? copy_recv(&c) : zc_recv(&c);

		if (n == 0)
			break;          /* the initiator's empty stop message */
		if (n < 0) {
			fprintf(stderr, PROG ": responder: receive: %s\n", ivc_strerror((int)n));
			_exit(1);
		}
		ret = p->copy ? copy_send(&c, p->size) : zc_send(&c, p->size);
		if (ret < 0) {
			fprintf(stderr, PROG ": responder: send: %s\n", ivc_strerror(ret));
			_exit(1);
		}
	}
	ivc_close(ch);
	_exit(0);
}

static void run_ivc(const struct params *p, enum ivc_mode mode, struct result *r)
{
	struct ivc_options o;
	struct ivc_listener *l;
	struct ivc_channel *ch = NULL;
	struct ivc_ctx c;
	struct ivc_stats s0, s1;
	char addr[64];
	pid_t pid;
	int ret;

	snprintf(addr, sizeof(addr), "shm:@ivc-pp-%d", (int)getpid());
	bench_ivc_options(&o, &p->geo, mode, p->spin_max_ns);
	/* Fork first, then listen: the child never inherits the listening
	 * socket, so the name is free again as soon as we close it. */
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0)
		ivc_child(p, addr, mode);
	watchdog_arm(p->secs * 3 + 30, pid, r->what);
	ret = ivc_listen(addr, &o, &l);
	if (ret < 0) {
		note("listen %s: %s", addr, ivc_strerror(ret));
		kill(pid, SIGKILL);
		goto out;
	}
	ret = ivc_accept(l, BENCH_CONNECT_WAIT_MS, &ch);
	ivc_listener_close(l);
	if (ret < 0) {
		note("accept %s: %s", addr, ivc_strerror(ret));
		kill(pid, SIGKILL);
		goto out;
	}
	if ((ret = ivc_ctx_init(&c, ch, p)) < 0) {
		if (ret == -EMSGSIZE)
			note("%zu bytes is more than the channel's largest message:"
			     " raise --buf-size (or --slots and --buf-count)", p->size);
		else
			note("%s", ivc_strerror(ret));
		kill(pid, SIGKILL);
		goto out;
	}
	ivc_stats_get(ch, &s0);
	ret = measure(p, p->copy ? ivc_rt_copy : ivc_rt_zc, &c, r);
	ivc_stats_get(ch, &s1);
	if (ret == 0) {
		/* Counters of the whole run (warm-up included) per round trip. */
		double rts = (double)(s1.rx_msgs - s0.rx_msgs);

		if (rts > 0) {
			r->have_stats = true;
			r->doorbells_rt = (double)(s1.doorbells - s0.doorbells) / rts;
			r->sleeps_rt = (double)(s1.sleeps - s0.sleeps) / rts;
			r->yields_rt = (double)(s1.yields - s0.yields) / rts;
			r->spin_hits_rt = (double)(s1.spin_hits - s0.spin_hits) / rts;
		}
		/* Tell the responder to stop: an empty message. */
		ret = p->copy ? copy_send(&c, 0) : zc_send(&c, 0);
		if (ret < 0)
			note("%s: sending the stop message: %s", r->what, ivc_strerror(ret));
		ret = 0;
	} else {
		note("%s %s: %s", r->what, r->mode, ivc_strerror(ret));
	}
	free(c.cbuf);
	free(c.tx);
out:
	if (reap(pid, 10 + p->secs, r->what, ret != 0) != 0 && !ret)
		ret = -ECHILD;
	watchdog_disarm();
	if (ch)
		ivc_close(ch);
	r->err = ret;
}

/* ------------------------------------------------------------------ */
/* Output.                                                            */

static void print_row(FILE *f, const struct params *p, const struct result *r)
{
	const char *remark = "";
	char cpus[32];

	snprintf(cpus, sizeof(cpus), "%d:%d", p->cpu_a, p->cpu_b);
	if (r->err) {
		fprintf(f, "%-9s %-11s %7zu %5s  failed: %s\n", r->what, r->mode,
			p->size, cpus, ivc_strerror(r->err));
		return;
	}
	if (r->same_cpu && r->p50 >= TICK_BOUND_US)
		remark = "  (same CPU: spinning waits for the scheduler tick)";
	else if (r->same_cpu && r->have_stats && r->yields_rt >= 0.5)
		remark = "  (same CPU: ivc yields instead of spinning)";
	fprintf(f, "%-9s %-11s %7zu %5s %8llu%c %9.3f %9.3f %9.3f %9.3f %10.3f%s\n",
		r->what, r->mode, p->size, cpus, (unsigned long long)r->iters,
		r->time_bounded ? '*' : ' ', r->p50, r->p90, r->p99, r->p999,
		r->max, remark);
}

static void print_csv(const struct params *p, const struct result *res, int n)
{
	int i;

	printf("what,mode,size,cpus,iters,p50_us,p90_us,p99_us,p999_us,max_us\n");
	for (i = 0; i < n; i++) {
		const struct result *r = &res[i];

		if (r->err)
			continue;
		printf("%s,%s,%zu,%d:%d,%llu,%.4f,%.4f,%.4f,%.4f,%.4f\n",
		       r->what, r->mode, p->size, p->cpu_a, p->cpu_b,
		       (unsigned long long)r->iters, r->p50, r->p90, r->p99,
		       r->p999, r->max);
	}
	fflush(stdout);
}

static void print_table(FILE *f, const struct params *p, const struct result *res, int n)
{
	const struct result *ref = NULL, *ux = NULL, *ring = NULL;
	const char *ref_name = p->cpu_a == p->cpu_b ? "yield" : "cacheline";
	bool any_bounded = false;
	int i;

	fprintf(f, "\n%-9s %-11s %7s %5s %9s %9s %9s %9s %9s %10s\n", "what", "mode",
		"size", "cpus", "iters", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us");
	for (i = 0; i < n; i++) {
		print_row(f, p, &res[i]);
		if (!res[i].err && res[i].time_bounded)
			any_bounded = true;
		if (!res[i].err && !strcmp(res[i].what, ref_name))
			ref = &res[i];
		if (!res[i].err && !strcmp(res[i].what, "unix"))
			ux = &res[i];
		if (!res[i].err && !strcmp(res[i].what, "ring"))
			ring = &res[i];
	}
	if (any_bounded)
		fprintf(f, "  * stopped by the -t %.3g s time bound before %llu round trips\n",
			p->secs, (unsigned long long)p->iters);
	fprintf(f, "\n");
	for (i = 0; i < n; i++) {
		const struct result *r = &res[i];

		if (r->err || strncmp(r->what, "ivc", 3))
			continue;
		fprintf(f, "%s %-8s p50 %8.3f us", r->what, r->mode, r->p50);
		if (ref)
			fprintf(f, " | ivc/%s p50 %6.2fx p99 %6.2fx", ref_name,
				r->p50 / ref->p50, r->p99 / ref->p99);
		if (ring && p->cpu_a != p->cpu_b)
			fprintf(f, " | ivc/ring p50 %5.2fx", r->p50 / ring->p50);
		if (ux)
			fprintf(f, " | unix/ivc p50 %6.2fx p99 %6.2fx",
				ux->p50 / r->p50, ux->p99 / r->p99);
		fprintf(f, "\n");
		if (r->have_stats)
			fprintf(f, "    initiator per round trip: %.3f doorbells, %.3f sleeps,"
				" %.3f yields, %.3f spin hits\n", r->doorbells_rt,
				r->sleeps_rt, r->yields_rt, r->spin_hits_rt);
	}
	fflush(f);
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [options]\n"
"Round-trip latency of ivc (per wait mode) next to a Unix socket, a bare\n"
"cache-line ping-pong, a sched_yield ping-pong and a bare descriptor ring\n"
"(ivc's memory layout, nothing else), between two processes pinned to two\n"
"CPUs.  Spinning baselines on one CPU wait for scheduler ticks: -t bounds them.\n"
"\n"
"  -s SIZE        message size in bytes (default 64)\n"
"  -n ITERS       round trips per measurement (default 100000)\n"
"  -t SECONDS     time bound per measurement (default 5)\n"
"  -c A,B         CPUs of the initiator and the responder (default: the first\n"
"                 two CPUs we may use; A,A is allowed: both on one CPU)\n"
"  -m MODES       ivc wait modes: poll, adaptive, block, all, or a comma list\n"
"                 (default all)\n"
"  -b LIST        what to run: ivc,unix,cacheline,yield,ring or all (default all)\n"
"  --copy         ivc_send/ivc_recv instead of the zero-copy calls\n"
"  --slots N, --buf-size N, --buf-count N   ivc lane geometry (both ways)\n"
"  --spin-max-ns N  adaptive spin bound (0: library default)\n"
"  --inline       send messages of up to 112 B inside the descriptors\n"
"  --csv          CSV on stdout (what,mode,size,cpus,iters,p50_us,p90_us,\n"
"                 p99_us,p999_us,max_us; cpus as A:B); the table goes to stderr\n"
"  -h, --help     this text\n");
}

static int parse_list(const char *s, bool (*cb)(const char *tok, void *arg), void *arg)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int bad = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!cb(tok, arg))
			bad = -1;
	free(copy);
	return bad;
}

static bool mode_cb(const char *tok, void *arg)
{
	struct params *p = arg;
	enum ivc_mode m;

	if (!strcmp(tok, "all"))
		p->modes[IVC_MODE_POLL] = p->modes[IVC_MODE_ADAPTIVE] =
			p->modes[IVC_MODE_BLOCK] = true;
	else if (bench_parse_mode(tok, &m))
		p->modes[m] = true;
	else
		return false;
	return true;
}

static bool what_cb(const char *tok, void *arg)
{
	struct params *p = arg;

	if (!strcmp(tok, "all"))
		p->run_ivc = p->run_unix = p->run_cl = p->run_yield =
			p->run_ring = true;
	else if (!strcmp(tok, "ivc"))
		p->run_ivc = true;
	else if (!strcmp(tok, "unix"))
		p->run_unix = true;
	else if (!strcmp(tok, "cacheline") || !strcmp(tok, "cl"))
		p->run_cl = true;
	else if (!strcmp(tok, "yield"))
		p->run_yield = true;
	else if (!strcmp(tok, "ring"))
		p->run_ring = true;
	else
		return false;
	return true;
}

/* Take the next result slot for a measurement of @what in @mode and say it
 * is running (an ivc measurement by its mode). */
static struct result *add_result(struct result *res, int *n, const char *what,
				 const char *mode)
{
	struct result *r = &res[(*n)++];

	snprintf(r->what, sizeof(r->what), "%s", what);
	snprintf(r->mode, sizeof(r->mode), "%s", mode);
	progress(strncmp(what, "ivc", 3) ? what : mode);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "copy", no_argument, NULL, 'Y' },
		BENCH_LONG_OPTS_TAIL,
	};
	struct params p;
	struct result res[8];
	bool modes_set = false, what_set = false;
	pthread_t wd;
	FILE *out;
	int opt, n = 0, ret, m;
	static const enum ivc_mode order[3] = { IVC_MODE_POLL, IVC_MODE_ADAPTIVE, IVC_MODE_BLOCK };

	memset(&p, 0, sizeof(p));
	p.size = 64;
	p.iters = 100000;
	p.secs = 5;
	p.cpu_a = p.cpu_b = -1;

	while ((opt = getopt_long(argc, argv, "s:n:t:c:m:b:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 's': p.size = bench_parse_num("-s", optarg, 1, 1u << 30); break;
		case 'n': p.iters = bench_parse_num("-n", optarg, 1, 100000000); break;
		case 't': p.secs = bench_parse_secs("-t", optarg); break;
		case 'c': bench_parse_cpus("-c", optarg, &p.cpu_a, &p.cpu_b); break;
		case 'm':
			modes_set = true;
			if (parse_list(optarg, mode_cb, &p))
				bench_die("bad -m '%s' (poll, adaptive, block, all)", optarg);
			break;
		case 'b':
			what_set = true;
			if (parse_list(optarg, what_cb, &p))
				bench_die("bad -b '%s' (ivc, unix, cacheline, yield, ring, all)", optarg);
			break;
		case 'Y': p.copy = true; break;
		default:
			bench_common_opt(opt, optarg, &p.csv, &p.geo, &p.spin_max_ns, usage);
			break;
		}
	}
	bench_end_opts(argc, usage);
	if (!modes_set)
		mode_cb("all", &p);
	if (!what_set)
		what_cb("all", &p);
	bench_default_cpus(&p.cpu_a, &p.cpu_b);

	g_samples = malloc(p.iters * sizeof(*g_samples));
	if (!g_samples)
		bench_die("out of memory for %llu samples", (unsigned long long)p.iters);
	signal(SIGPIPE, SIG_IGN);
	if ((ret = pthread_create(&wd, NULL, watchdog_main, NULL)) != 0)
		bench_die("pthread_create: %s", strerror(ret));
	pthread_detach(wd);
	/* Pin to B first only to check it can be used: fail here, not in a
	 * child. */
	bench_check_cpus(p.cpu_a, p.cpu_b);
	calibrate();

	g_progress = isatty(STDERR_FILENO);
	out = p.csv ? stderr : stdout;
	fprintf(out, PROG ": %zu-byte messages, CPU %d <-> CPU %d%s, up to %llu round trips"
		" or %.3g s per measurement, ivc %s API (ivc %s, hwloc %s)\n",
		p.size, p.cpu_a, p.cpu_b, p.cpu_a == p.cpu_b ? " (same CPU)" : "",
		(unsigned long long)p.iters, p.secs, p.copy ? "copying" : "zero-copy",
		ivc_version(), ivc_have_hwloc() ? "yes" : "no");
	fflush(out);    /* before fork(): children must not inherit it */

	memset(res, 0, sizeof(res));
	if (p.run_cl)
		run_cacheline(&p, false, add_result(res, &n, "cacheline", "pause"));
	if (p.run_yield)
		run_cacheline(&p, true, add_result(res, &n, "yield", "sched_yield"));
	if (p.run_ring)
		run_ring(&p, add_result(res, &n, "ring", "pause"));
	if (p.run_unix)
		run_unix(&p, add_result(res, &n, "unix", "blocking"));
	for (m = 0; p.run_ivc && m < 3; m++) {
		enum ivc_mode md = order[m];

		if (p.modes[md])
			run_ivc(&p, md, add_result(res, &n, p.copy ? "ivc-copy" : "ivc",
						   bench_mode_name(md)));
	}

	for (m = 0; m < n; m++)
		res[m].same_cpu = p.cpu_a == p.cpu_b;
	if (g_progress)
		fputs("\r\033[K", stderr);
	print_table(out, &p, res, n);
	if (p.csv)
		print_csv(&p, res, n);
	for (m = 0; m < n; m++)
		if (res[m].err)
			return 1;
	return 0;
}
