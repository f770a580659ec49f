/* SPDX-License-Identifier: MIT */
/*
 * bench_run - one measurement point as three processes: the supervisor
 * (the caller: it only waits), the initiator (pinned to cpu_a: it times) and
 * the peer (pinned to cpu_b).  They share one anonymous page for the stop
 * flag and the result.  A point that outlives its deadline is killed and
 * reported as -ETIMEDOUT; nothing a transport does can hang the sweep.
 */
#define _GNU_SOURCE
#include "bench_run.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

/* What the three processes share. */
struct ctl {
	int stop;                       /* stream: the initiator has its figure */
	int res_ready;                  /* the initiator filled res */
	struct bench_result res;        /* from the initiator */
	int peer_err;                   /* from the peer */
	char peer_msg[160];
};

static double g_ns_per_tick = 1.0;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks(void)
{
#ifdef HAVE_TSC
	_mm_lfence();
	return __rdtsc();
#else
	return mono_ns();
#endif
}

void bench_run_calibrate(void)
{
#ifdef HAVE_TSC
	uint64_t t0 = mono_ns(), k0 = ticks(), t1, k1;
	struct timespec d = { 0, 50 * 1000000L };

	nanosleep(&d, NULL);
	t1 = mono_ns();
	k1 = ticks();
	if (k1 > k0)
		g_ns_per_tick = (double)(t1 - t0) / (double)(k1 - k0);
#endif
}

__attribute__((format(printf, 3, 4)))
static void fail(struct bench_result *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->err)
		return;         /* keep the first */
	r->err = err < 0 ? err : -EIO;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ ping-pong -- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile @q of the sorted @v[@n], scaled. */
static double pct(const uint64_t *v, uint64_t n, double q, double scale)
{
	double r = q * (double)n;
	uint64_t idx = (uint64_t)r;

	if ((double)idx < r)
		idx++;
	if (idx < 1)
		idx = 1;
	if (idx > n)
		idx = n;
	return (double)v[idx - 1] * scale;
}

static int round_trip(const struct bench_xport *x, struct bx_ep *e, uint64_t tag)
{
	uint64_t got = 0;
	int ret;

	if ((ret = x->send(e, tag)) < 0 || (ret = x->recv(e, &got)) < 0)
		return ret;
	return got == tag ? 0 : -EBADMSG;
}

static void pingpong(const struct bench_point *pt, struct bx_ep *e, struct bench_result *r)
{
	const struct bench_xport *x = pt->x;
	uint64_t warm = pt->max_msgs / 10, tag = 0, n = 0, budget, start, prev;
	uint64_t t0ns, k0, *v = malloc(pt->max_msgs * sizeof(*v));
	double warm_secs = pt->secs / 5 < 1.0 ? pt->secs / 5 : 1.0, scale;
	int ret = 0;

	if (!v) {
		fail(r, -ENOMEM, "no memory for %llu samples", (unsigned long long)pt->max_msgs);
		return;
	}
	warm = warm < 100 ? 100 : warm > 10000 ? 10000 : warm;
	budget = (uint64_t)(warm_secs * 1e9 / g_ns_per_tick);
	start = ticks();
	for (uint64_t i = 0; i < warm && !ret && ticks() - start < budget; i++)
		ret = round_trip(x, e, ++tag);

	budget = (uint64_t)(pt->secs * 1e9 / g_ns_per_tick);
	t0ns = mono_ns();
	k0 = prev = start = ticks();
	while (!ret && n < pt->max_msgs) {
		uint64_t now;

		ret = round_trip(x, e, ++tag);
		now = ticks();
		v[n++] = now - prev;
		prev = now;
		if (now - start > budget)
			break;
	}
	if (ret < 0) {
		fail(r, ret, "round trip %llu: %s", (unsigned long long)tag, ivc_strerror(ret));
		free(v);
		return;
	}
	r->secs = (double)(mono_ns() - t0ns) * 1e-9;
	/* This run's own rate when it is long enough to tell. */
	scale = g_ns_per_tick;
	if (r->secs > 0.02 && prev > k0)
		scale = r->secs * 1e9 / (double)(prev - k0);
	scale /= 1000.0;        /* -> microseconds */
	qsort(v, n, sizeof(*v), cmp_u64);
	r->samples = n;
	r->p50 = pct(v, n, 0.50, scale);
	r->p90 = pct(v, n, 0.90, scale);
	r->p99 = pct(v, n, 0.99, scale);
	r->p999 = pct(v, n, 0.999, scale);
	r->max = (double)v[n - 1] * scale;
	free(v);
	if ((ret = x->send(e, BX_TAG_STOP)) < 0)
		fail(r, ret, "sending the stop message: %s", ivc_strerror(ret));
}

/* --------------------------------------------------------------- stream -- */

static void stream(const struct bench_point *pt, struct bx_ep *e, struct ctl *ctl,
		   struct bench_result *r)
{
	const struct bench_xport *x = pt->x;
	uint64_t count = 0, t0, now, warm_end;
	int n = 1;

	/* Warm up: caches, the pool's pages, the peer's first burst. */
	warm_end = mono_ns() + (uint64_t)((pt->secs / 5 < 0.5 ? pt->secs / 5 : 0.5) * 1e9);
	while (count < BENCH_STREAM_WARM && (n = x->recv_burst(e)) > 0) {
		count += (uint64_t)n;
		if (mono_ns() > warm_end)
			break;
	}
	count = 0;
	t0 = now = mono_ns();
	while (n > 0 && count < pt->max_msgs) {
		if ((n = x->recv_burst(e)) > 0)
			count += (uint64_t)n;
		if ((now = mono_ns()) - t0 >= (uint64_t)(pt->secs * 1e9))
			break;
	}
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
	if (n <= 0) {
		fail(r, n ? n : -EPIPE, "stream ended early: %s", ivc_strerror(n ? n : -EPIPE));
		return;
	}
	r->samples = count;
	r->secs = (double)(now - t0) * 1e-9;
	r->msgs_per_s = (double)count / r->secs;
	r->gbytes_per_s = r->msgs_per_s * (double)pt->cfg.size * 1e-9;
	/* The figure stands whatever the drain does: publish it now. */
	ctl->res = *r;
	__atomic_store_n(&ctl->res_ready, 1, __ATOMIC_RELEASE);
	/* Drain to the sender's end marker, so it is never left blocked. */
	while (x->recv_burst(e) > 0)
		;
}

/* ------------------------------------------------------------ processes -- */

static void child_setup(int cpu, struct bench_result *r)
{
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((ret = bench_pin(cpu)) < 0)
		fail(r, ret, "cannot pin to CPU %d: %s", cpu, ivc_strerror(ret));
}

static void initiator_main(const struct bench_point *pt, struct bx_pair *pair,
			   struct ctl *ctl)
{
	struct bench_result r;
	struct bx_ep *e = NULL;
	int ret;

	memset(&r, 0, sizeof(r));
	child_setup(pt->place->cpu_a, &r);
	if (!r.err && pt->x->local) {
		uint64_t msgs = 0;
		double el = 0;

		ret = pt->x->local(&pt->cfg, pt->max_msgs, pt->secs, &msgs, &el);
		if (ret < 0)
			fail(&r, ret, "%s", ivc_strerror(ret));
		r.samples = msgs;
		r.secs = el;
		r.msgs_per_s = el > 0 ? (double)msgs / el : 0;
		r.gbytes_per_s = r.msgs_per_s * (double)pt->cfg.size * 1e-9;
	} else if (!r.err) {
		ret = pt->x->open(pair, &pt->cfg, BX_INITIATOR, &e);
		if (ret < 0)
			fail(&r, ret, "open: %s", ivc_strerror(ret));
		else if (pt->bench == BENCH_PINGPONG)
			pingpong(pt, e, &r);
		else
			stream(pt, e, ctl, &r);
		if (e)
			pt->x->close(e);
	}
	ctl->res = r;
	__atomic_store_n(&ctl->res_ready, 1, __ATOMIC_RELEASE);
	_exit(r.err ? 1 : 0);
}

__attribute__((noreturn))
static void peer_exit(struct ctl *ctl, int err, const char *what)
{
	if (err < 0) {
		ctl->peer_err = err;
		snprintf(ctl->peer_msg, sizeof(ctl->peer_msg), "peer: %s: %s", what,
			 ivc_strerror(err));
	}
	_exit(err < 0 ? 1 : 0);
}

static void peer_main(const struct bench_point *pt, struct bx_pair *pair, struct ctl *ctl)
{
	const struct bench_xport *x = pt->x;
	struct bench_result r;
	struct bx_ep *e;
	uint64_t tag;
	int ret;

	memset(&r, 0, sizeof(r));
	child_setup(pt->place->cpu_b, &r);
	if (r.err)
		peer_exit(ctl, r.err, "pin");
	if ((ret = x->open(pair, &pt->cfg, BX_PEER, &e)) < 0)
		peer_exit(ctl, ret, "open");
	if (pt->bench == BENCH_PINGPONG) {
		for (;;) {
			if ((ret = x->recv(e, &tag)) < 0)
				peer_exit(ctl, ret, "receive");
			if (tag == BX_TAG_STOP)
				break;
			if ((ret = x->send(e, tag)) < 0)
				peer_exit(ctl, ret, "send");
		}
	} else {
		while (!__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE))
			if ((ret = x->send_burst(e, pt->cfg.burst)) < 0)
				peer_exit(ctl, ret, "send");
		if (x->finish && (ret = x->finish(e)) < 0)
			peer_exit(ctl, ret, "end of stream");
	}
	x->close(e);
	_exit(0);
}

/* After the result is in, how long the processes get to finish (a
 * stream's drain, closing): past it they are killed and the result stands. */
#define GRACE_NS 300000000ull

/* Wait for @pid until @deadline_ns (or GRACE_NS after @ctl has a result);
 * SIGKILL it then.  false if it was killed before there was a result. */
static bool reap(pid_t pid, uint64_t deadline_ns, const struct ctl *ctl, int *status)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), st = 0;
	bool ok = true, graced = false;

	for (;;) {
		uint64_t now = mono_ns();
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (!graced && __atomic_load_n(&ctl->res_ready, __ATOMIC_ACQUIRE)) {
			graced = true;
			if (now + GRACE_NS < deadline_ns)
				deadline_ns = now + GRACE_NS;
		}
		if (now >= deadline_ns) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			ok = graced;
			break;
		}
		if (pfd >= 0) {
			/* Sleep until it exits, looking for a result 10 times a
			 * second: few wake-ups to disturb the run. */
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			uint64_t ms = (deadline_ns - now) / 1000000 + 1;

			poll(&p, 1, ms > 100 ? 100 : (int)ms);
		} else {
			struct timespec d = { 0, 10 * 1000000L };

			nanosleep(&d, NULL);
		}
	}
	if (pfd >= 0)
		close(pfd);
	*status = st;
	return ok;
}

void bench_run(const struct bench_point *pt, struct bench_result *r)
{
	struct ctl *ctl;
	struct bx_pair *pair = NULL;
	pid_t peer = -1, init;
	uint64_t deadline;
	int ret, ist = 0, pst = 0;
	bool ok;

	memset(r, 0, sizeof(*r));
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED) {
		fail(r, -errno, "mmap: %s", strerror(errno));
		return;
	}
	if (!pt->x->local && (ret = pt->x->prepare(&pt->cfg, &pair)) < 0) {
		fail(r, ret, "prepare: %s", ivc_strerror(ret));
		goto out;
	}
	fflush(NULL);   /* nothing buffered is written twice */
	if (!pt->x->local) {
		if ((peer = fork()) < 0) {
			fail(r, -errno, "fork: %s", strerror(errno));
			goto out;
		}
		if (peer == 0)
			peer_main(pt, pair, ctl);
	}
	if ((init = fork()) < 0) {
		fail(r, -errno, "fork: %s", strerror(errno));
		if (peer > 0)
			kill(peer, SIGKILL);
	} else if (init == 0) {
		initiator_main(pt, pair, ctl);
	}
	if (pair && pt->x->forked)
		pt->x->forked(pair);
	/* Opening (bounded by BX_OPEN_WAIT_MS), the warm-up, the timed part
	 * and a drain: anything longer is stuck. */
	deadline = mono_ns() + (uint64_t)((2 * BX_OPEN_WAIT_MS / 1000.0 + 10 + 2 * pt->secs) * 1e9);
	ok = init < 0 || reap(init, deadline, ctl, &ist);
	if (!ok && peer > 0)
		kill(peer, SIGKILL);
	if (peer > 0 && !reap(peer, mono_ns() + GRACE_NS, ctl, &pst) && ok) {
		ok = false;
		fail(r, -ETIMEDOUT, "the peer did not exit after the run");
	}
	if (init > 0 && !ok)
		fail(r, -ETIMEDOUT, "no result within %.0f s: killed", 2 * BX_OPEN_WAIT_MS / 1000.0 + 10 + 2 * pt->secs);
	if (__atomic_load_n(&ctl->res_ready, __ATOMIC_ACQUIRE) && !r->err)
		*r = ctl->res;
	else if (init > 0 && !r->err)
		fail(r, -ECHILD, "the initiator died without a result (%s %d)",
		     WIFSIGNALED(ist) ? "signal" : "exit", WIFSIGNALED(ist) ? WTERMSIG(ist) :
		     WEXITSTATUS(ist));
	/* The peer's error explains a failure better than its symptom. */
	if (ctl->peer_err && (r->err || !ctl->res_ready)) {
		char mine[sizeof(r->msg)];

		memcpy(mine, r->msg, sizeof(mine));
		r->err = ctl->peer_err;
		snprintf(r->msg, sizeof(r->msg), "%.70s (initiator: %.60s)", ctl->peer_msg, mine);
	}
out:
	if (pair)
		pt->x->release(pair);
	munmap(ctl, sizeof(*ctl));
}
