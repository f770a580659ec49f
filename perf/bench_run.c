/* SPDX-License-Identifier: MIT */
/*
 * bench_run - one measurement point as three processes: the supervisor
 * (the caller: it only waits), the initiator (pinned to cpu_a: it times) and
 * the peer (pinned to cpu_b).  They share one anonymous page for the stop
 * flag and the result.  A point that outlives its deadline is killed and
 * reported as -ETIMEDOUT; nothing a transport does can hang the sweep.
 *
 * In split mode (cfg.ivc_remote) there is no local peer: the initiator
 * connects to `ivc-bench serve`, whose loop, bench_serve(), is here too.
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

#include "bench_util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

/* What the three processes share. */
struct ctl {
	int stop;                       /* stream: the initiator has its figure */
	int win;                        /* the timed part: 0 before, 1 in, 2 after */
	double peer_cpu_ns;             /* from the peer: CPU ns per message in it */
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

/* CPU time of the whole process (every thread), nanoseconds. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The initiator marks the timed part's start and end for the peer. */
static void mark_window(struct ctl *ctl, int win)
{
	__atomic_store_n(&ctl->win, win, __ATOMIC_RELEASE);
}

/* CPU per message between two samples; 0 when nothing was counted. */
static double per_msg(uint64_t cpu0, uint64_t cpu1, uint64_t msgs)
{
	return msgs && cpu1 > cpu0 ? (double)(cpu1 - cpu0) / (double)msgs : 0;
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

static void pingpong(const struct bench_point *pt, struct bx_ep *e, struct ctl *ctl,
		     struct bench_result *r)
{
	const struct bench_xport *x = pt->x;
	uint64_t warm = pt->max_msgs / 10, tag = 0, n = 0, budget, start, prev;
	uint64_t t0ns, k0, cpu0, *v = malloc(pt->max_msgs * sizeof(*v));
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
	mark_window(ctl, 1);
	cpu0 = cpu_ns();
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
	mark_window(ctl, 2);
	r->cpu_ns_init = per_msg(cpu0, cpu_ns(), n);
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
	uint64_t count = 0, t0, now, warm_end, cpu0;
	int n = 1;

	/* Warm up: caches, the pool's pages, the peer's first burst. */
	warm_end = mono_ns() + (uint64_t)((pt->secs / 5 < 0.5 ? pt->secs / 5 : 0.5) * 1e9);
	while (count < BENCH_STREAM_WARM && (n = x->recv_burst(e)) > 0) {
		count += (uint64_t)n;
		if (mono_ns() > warm_end)
			break;
	}
	count = 0;
	mark_window(ctl, 1);
	cpu0 = cpu_ns();
	t0 = now = mono_ns();
	while (n > 0 && count < pt->max_msgs) {
		if ((n = x->recv_burst(e)) > 0)
			count += (uint64_t)n;
		if ((now = mono_ns()) - t0 >= (uint64_t)(pt->secs * 1e9))
			break;
	}
	mark_window(ctl, 2);
	r->cpu_ns_init = per_msg(cpu0, cpu_ns(), count);
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

/* The initiator could not open its end: say what to look at. */
static void open_failed(const struct bench_point *pt, int err, struct bench_result *r)
{
	if (!pt->cfg.ivc_remote)
		fail(r, err, "open: %s", ivc_strerror(err));
	else if (err == -EMSGSIZE)
		fail(r, err, "more than a lane of the channel carries (each side's --slots,"
		     " --buf-size, --buf-count make the lane it sends on)");
	else if (err == -EACCES && !strncmp(pt->cfg.ivc_remote, "xen:", 4))
		fail(r, err, "connect %.60s: %s (does the server's --allow name this domain?)",
		     pt->cfg.ivc_remote, ivc_strerror(err));
	else
		fail(r, err, "connect %.60s: %s (is `ivc-bench serve -x %s -m %s` there?)",
		     pt->cfg.ivc_remote, ivc_strerror(err), pt->x->name,
		     bench_mode_str(pt->cfg.mode));
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

		uint64_t cpu0 = cpu_ns();

		ret = pt->x->local(&pt->cfg, pt->max_msgs, pt->secs, &msgs, &el);
		if (ret < 0)
			fail(&r, ret, "%s", ivc_strerror(ret));
		r.cpu_ns_init = per_msg(cpu0, cpu_ns(), msgs);
		r.samples = msgs;
		r.secs = el;
		r.msgs_per_s = el > 0 ? (double)msgs / el : 0;
		r.gbytes_per_s = r.msgs_per_s * (double)pt->cfg.size * 1e-9;
	} else if (!r.err) {
		ret = pt->x->open(pair, &pt->cfg, BX_INITIATOR, &e);
		if (ret < 0)
			open_failed(pt, ret, &r);
		else if (pt->bench == BENCH_PINGPONG)
			pingpong(pt, e, ctl, &r);
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

/* The peer's view of the timed part: its CPU time and message count when
 * it saw the initiator's marks (after each message it handles: a load of a
 * line written twice a point, so it stays in our cache). */
struct peer_win {
	int seen;
	uint64_t cpu0, cpu1, m0, m1;
};

static void peer_mark(const struct ctl *ctl, struct peer_win *w, uint64_t msgs)
{
	int win = __atomic_load_n(&ctl->win, __ATOMIC_ACQUIRE);
	uint64_t now;

	if (win == w->seen)
		return;
	now = cpu_ns();
	if (w->seen == 0) {
		w->cpu0 = now;
		w->m0 = msgs;
	}
	if (win == 2) {
		w->cpu1 = now;
		w->m1 = msgs;
	}
	w->seen = win;
}

static void peer_main(const struct bench_point *pt, struct bx_pair *pair, struct ctl *ctl)
{
	struct peer_win w = { 0 };
	uint64_t msgs = 0;
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
			peer_mark(ctl, &w, ++msgs);
		}
	} else {
		while (!__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE)) {
			if ((ret = x->send_burst(e, pt->cfg.burst)) < 0)
				peer_exit(ctl, ret, "send");
			msgs += pt->cfg.burst;
			peer_mark(ctl, &w, msgs);
		}
		if (x->finish && (ret = x->finish(e)) < 0)
			peer_exit(ctl, ret, "end of stream");
	}
	peer_mark(ctl, &w, msgs);
	ctl->peer_cpu_ns = w.seen == 2 ? per_msg(w.cpu0, w.cpu1, w.m1 - w.m0) : 0;
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
	if (!pt->x->local && !pt->cfg.ivc_remote) {
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
	if (__atomic_load_n(&ctl->res_ready, __ATOMIC_ACQUIRE) && !r->err) {
		*r = ctl->res;
		/* (Written before the peer exited, which reap() saw.) */
		r->cpu_ns_peer = ctl->peer_cpu_ns;
	}
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

/* -------------------------------------------------------------- serving -- */

/* One listener of the server: a transport in a mode. */
struct srv_listener {
	const struct bench_xport *x;
	enum ivc_mode mode;
	char addr[256];
	struct ivc_listener *l;
};

static volatile sig_atomic_t g_serve_stop;

static void serve_signal(int sig)
{
	(void)sig;
	g_serve_stop = 1;
}

/* SIGINT and SIGTERM stop serving between points, so the listeners are
 * closed (an offer in xenstore withdrawn, a socket file removed); without
 * SA_RESTART a poll() waiting for a client returns at once.  SA_RESETHAND:
 * a second signal kills, should a client that never ends hold a point. */
static void serve_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = serve_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A client that vanishes must not take the server with it. */
	signal(SIGPIPE, SIG_IGN);
}

static void serve_close(struct srv_listener *ls, int n)
{
	for (int i = 0; i < n; i++)
		ivc_listener_close(ls[i].l);
}

static void listen_failed(const char *base, const char *addr, int err)
{
	/* Outside a Xen domain, or without its devices, the library says
	 * "not found" or "permission denied": say where to look. */
	bool xen_access = !strncmp(base, "xen:", 4) && (err == -ENOENT || err == -EACCES);

	fprintf(stderr, "%s serve: cannot listen at %s: %s%s\n", bench_prog,
		err == -ENAMETOOLONG ? base : addr, ivc_strerror(err),
		xen_access ? " (xen needs /dev/xen/* and xenstore, and permission to"
			     " use them: docs/xen.md)" : "");
}

/* Listen for every transport and mode of @s: *@n listeners in @ls. */
static int serve_listen(const struct bench_serve *s, struct srv_listener *ls, int *n)
{
	*n = 0;
	for (int xi = 0; xi < s->n_xports; xi++) {
		for (int m = 0; m < 3; m++) {
			struct srv_listener *sl = &ls[*n];
			struct bx_cfg c = s->base;
			int ret;

			if (!(s->modes & s->xports[xi]->modes & BX_MODE(m)))
				continue;
			sl->x = s->xports[xi];
			sl->mode = c.mode = (enum ivc_mode)m;
			ret = bx_split_addr(sl->addr, sizeof(sl->addr), s->addr, sl->x, sl->mode);
			if (ret == 0)
				ret = sl->x->listen(&c, sl->addr, s->xen, &sl->l);
			if (ret < 0) {
				listen_failed(s->addr, sl->addr, ret);
				serve_close(ls, *n);
				return ret;
			}
			fprintf(stderr, "%s serve: %s:%s at %s\n", bench_prog, sl->x->name,
				bench_mode_str(sl->mode), sl->addr);
			(*n)++;
		}
	}
	return 0;
}

/* "pid P" (shm), or "pid P in domain D" (xen): who the client is. */
static void client_name(const struct ivc_channel *ch, char *buf, size_t len)
{
	struct ivc_info info;

	if (ivc_channel_info(ch, &info) < 0)
		snprintf(buf, len, "?");
	else if (info.peer_domid == IVC_DOMID_NONE)
		snprintf(buf, len, "pid %d", (int)info.peer_pid);
	else
		snprintf(buf, len, "pid %d in domain %u", (int)info.peer_pid,
			 (unsigned)info.peer_domid);
}

/* What ended a point early, for people: the echo's own refusals (which
 * ivc_strerror() does not know), or the library's words. */
static const char *echo_err(int err)
{
	switch (err) {
	case -EBADMSG:
		return "not ivc-bench's ping-pong (a message under 8 bytes, or two at once)";
	case -EMSGSIZE:
		return "a message larger than the lane we send on carries";
	}
	return ivc_strerror(err);
}

/*
 * Serve the client @sl has, if it has one: one point.  *@served says
 * whether a point ran; *@ok whether it ended at its stop tag.  0, or a
 * -errno that ends serving (a listener that no longer works).
 */
static int serve_one(struct srv_listener *sl, uint64_t no, bool *served, bool *ok)
{
	struct ivc_channel *ch;
	uint64_t echoed;
	size_t size;
	char who[64];
	int ret = ivc_accept(sl->l, 0, &ch);

	*served = *ok = false;
	if (ret == -EAGAIN)
		return 0;       /* nothing yet (a handshake is under way) */
	if (ret < 0) {
		/* A client's own failure, or ours for the moment (memory,
		 * descriptors): drop that client and serve the next. */
		fprintf(stderr, "%s serve: %s: a client failed: %s; serving on\n", bench_prog,
			sl->addr, ivc_strerror(ret));
		if (ret == -ENOMEM || ret == -EMFILE || ret == -ENFILE) {
			struct timespec d = { 0, 50 * 1000000L };

			nanosleep(&d, NULL);
		}
		return ret == -EINVAL ? ret : 0;
	}
	client_name(ch, who, sizeof(who));
	ret = sl->x->echo(ch, &echoed, &size);
	*served = true;
	*ok = ret == 0;
	printf("point %llu: %s:%s, %llu echoes of %zu B, client %s: %s%s\n",
	       (unsigned long long)no, sl->x->name, bench_mode_str(sl->mode),
	       (unsigned long long)echoed, size, who, ret ? "ended early: " : "done",
	       ret ? echo_err(ret) : "");
	fflush(stdout);
	return 0;
}

/* Wait for clients and serve them until @s's points are done or a signal
 * comes.  Points that did not end at their stop tag: *@failed. */
static int serve_loop(const struct bench_serve *s, struct srv_listener *ls, int n,
		      struct pollfd *pfd, uint64_t *failed)
{
	uint64_t done = 0;

	for (int i = 0; i < n; i++) {
		pfd[i].fd = ivc_listener_fd(ls[i].l);
		pfd[i].events = POLLIN;
	}
	while (!g_serve_stop && (!s->points || done < s->points)) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !g_serve_stop && (!s->points || done < s->points); i++) {
			bool served, ok;
			int ret;

			if (!pfd[i].revents)
				continue;
			if ((ret = serve_one(&ls[i], done + 1, &served, &ok)) < 0)
				return ret;
			done += served;
			*failed += served && !ok;
		}
	}
	return 0;
}

int bench_serve(const struct bench_serve *s)
{
	struct srv_listener *ls = calloc((size_t)s->n_xports * 3, sizeof(*ls));
	struct pollfd *pfd = calloc((size_t)s->n_xports * 3, sizeof(*pfd));
	uint64_t failed = 0;
	int n = 0, ret;

	if (!ls || !pfd) {
		ret = -ENOMEM;
		goto out;
	}
	if (s->cpu >= 0 && (ret = bench_pin(s->cpu)) < 0) {
		fprintf(stderr, "%s serve: cannot pin to CPU %d: %s\n", bench_prog, s->cpu,
			ivc_strerror(ret));
		goto out;
	}
	if ((ret = serve_listen(s, ls, &n)) < 0)
		goto out;
	serve_signals();
	if ((ret = serve_loop(s, ls, n, pfd, &failed)) < 0)
		fprintf(stderr, "%s serve: waiting for clients: %s\n", bench_prog,
			ivc_strerror(ret));
	serve_close(ls, n);
	if (ret == 0)
		ret = failed ? 1 : 0;
out:
	free(ls);
	free(pfd);
	return ret;
}
