/* SPDX-License-Identifier: MIT */
/*
 * test_poller_cpu - the poller and the CPUs (issue 13, A and B).
 *
 *  - Zero is the default: a zero-initialised struct ivc_poller_options
 *    leaves the running thread's CPU affinity as it was (it used to pin it
 *    to CPU 0), and so does a cpu without IVC_POLLER_PIN; with the flag the
 *    thread ends pinned to that CPU.  Bad options are -EINVAL (an unknown
 *    flag, IVC_POLLER_PIN with cpu -1, cpu -2, a reserved word not 0).
 *  - The same-CPU rule: a POLL-mode poller and its producer pinned to the
 *    same CPU play ping-pong (a message, its echo from the callback, the
 *    next message), so the poller goes idle before every message.  It must
 *    yield instead of spinning (its channel's stats count the yields), and
 *    it must publish its CPU so that the producer's waits yield too (the
 *    channel was accepted on another CPU, so only the poller's own
 *    publishing can tell the producer).  Pinned to two different CPUs,
 *    neither side ever yields: POLL mode yields only for a shared CPU.
 *    Every message arrives in order either way.  Counters, not timing.
 */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include <ivc/ivc.h>

#define PINGS 100

/* ---- A: zero is the default ------------------------------------------------- */

static int stop_cb(struct ivc_channel *ch, void *arg)
{
	char buf[8];
	ssize_t r = ivc_recv(ch, buf, sizeof(buf), 0);

	if (r == -EAGAIN)
		return 0;
	CHECK_ERR(ivc_poller_stop(arg), 0);
	return 1;
}

struct aff_run {
	struct ivc_poller_options po;
	struct ivc_channel *ch; /* a message waits on it */
	int rc;
	cpu_set_t before, after;
};

/* In a thread of its own, so that a pinning cannot leak into the rest. */
static void *aff_thread(void *arg)
{
	struct aff_run *a = arg;
	struct ivc_poller *p = NULL;

	CHECK_ERR(sched_getaffinity(0, sizeof(a->before), &a->before), 0);
	a->rc = ivc_poller_create(&a->po, &p);
	if (a->rc)
		return NULL;
	CHECK_ERR(ivc_poller_add(p, a->ch, stop_cb, p), 0);
	a->rc = ivc_poller_run(p, 10000);
	CHECK_ERR(sched_getaffinity(0, sizeof(a->after), &a->after), 0);
	ivc_poller_destroy(p);
	return NULL;
}

static void run_affinity(struct aff_run *a)
{
	struct ivc_channel *s, *c;
	pthread_t th;

	REQUIRE_OK(t_pair("pcpu-aff", NULL, NULL, &s, &c));
	CHECK_ERR(ivc_send(c, "x", 1, 1000), 0);
	a->ch = s;
	REQUIRE(pthread_create(&th, NULL, aff_thread, a) == 0);
	pthread_join(th, NULL);
	CHECK_ERR(a->rc, 0);
	ivc_close(s);
	ivc_close(c);
}

static void test_zero_is_default(const int *cpus, int ncpu)
{
	printf("-- zero-initialised options do not pin\n");
	struct ivc_poller_options bad;
	struct ivc_poller *p = NULL;

	memset(&bad, 0, sizeof(bad));
	bad.flags = 0x2u;
	CHECK_ERR(ivc_poller_create(&bad, &p), -EINVAL);
	memset(&bad, 0, sizeof(bad));
	bad.flags = IVC_POLLER_PIN;
	bad.cpu = -1;
	CHECK_ERR(ivc_poller_create(&bad, &p), -EINVAL);
	memset(&bad, 0, sizeof(bad));
	bad.cpu = -2;
	CHECK_ERR(ivc_poller_create(&bad, &p), -EINVAL);
	memset(&bad, 0, sizeof(bad));
	bad.reserved[7] = 1;
	CHECK_ERR(ivc_poller_create(&bad, &p), -EINVAL);
	CHECK(p == NULL);
	/* -1 (the old "no pinning") is still accepted. */
	memset(&bad, 0, sizeof(bad));
	bad.cpu = -1;
	REQUIRE_OK(ivc_poller_create(&bad, &p));
	ivc_poller_destroy(p);

	static struct aff_run zero, cpu_no_flag, pinned;
	memset(&zero, 0, sizeof(zero));
	run_affinity(&zero);
	if (CPU_COUNT(&zero.before) < 2) {
		printf("   (only one CPU allowed: cannot tell a pinning apart)\n");
	} else {
		/* Regression: the zeroed cpu field used to pin to CPU 0. */
		CHECK(CPU_EQUAL(&zero.before, &zero.after));
	}

	memset(&cpu_no_flag, 0, sizeof(cpu_no_flag));
	cpu_no_flag.po.cpu = cpus[ncpu - 1];
	run_affinity(&cpu_no_flag);
	CHECK(CPU_EQUAL(&cpu_no_flag.before, &cpu_no_flag.after));

	memset(&pinned, 0, sizeof(pinned));
	pinned.po.cpu = cpus[ncpu - 1];
	pinned.po.flags = IVC_POLLER_PIN;
	run_affinity(&pinned);
	CHECK_EQ(CPU_COUNT(&pinned.after), 1);
	CHECK(CPU_ISSET(cpus[ncpu - 1], &pinned.after));
}

/* ---- B: the same-CPU rule ------------------------------------------------------- */

struct echo_state {
	uint64_t next; /* next sequence number expected */
	int bad;
	int end;
};

/* Receive one number, check it, send it back. */
static int echo_cb(struct ivc_channel *ch, void *arg)
{
	struct echo_state *e = arg;
	uint64_t v;
	ssize_t r = ivc_recv(ch, &v, sizeof(v), 0);

	if (r == -EAGAIN)
		return 0;
	if (r < 0) {
		e->end = (int)r;
		return -1; /* the producer closed: no channel left, run returns */
	}
	if (r != (ssize_t)sizeof(v) || v != e->next)
		e->bad++;
	e->next++;
	if (ivc_send(ch, &v, sizeof(v), 0) != 0)
		e->bad++;
	return 1;
}

struct side {
	const char *addr;
	struct ivc_listener *l; /* the poller side accepts on it */
	int cpu;                /* where the side runs (the poller's run) */
	int accept_cpu;         /* the poller side: where it accepts */
	int rc;
	int bad;
	struct ivc_stats st;
	struct echo_state echo;
};

/* The producer: connects from its CPU (so its lane names that CPU from the
 * start), then sends a number and waits for its echo, PINGS times. */
static void *producer(void *arg)
{
	struct side *s = arg;
	struct ivc_options o;
	struct ivc_channel *ch = NULL;

	s->rc = ivc_pin_thread(s->cpu);
	if (s->rc)
		return NULL;
	ivc_options_init(&o);
	o.mode = IVC_MODE_POLL;
	s->rc = ivc_connect(s->addr, &o, 10000, &ch);
	if (s->rc)
		return NULL;
	for (uint64_t i = 0; i < PINGS && !s->bad; i++) {
		uint64_t v = ~i;
		if (ivc_send(ch, &i, sizeof(i), 10000) != 0 ||
		    ivc_recv(ch, &v, sizeof(v), 10000) != (ssize_t)sizeof(v) || v != i)
			s->bad = 1;
	}
	CHECK_ERR(ivc_stats_get(ch, &s->st), 0);
	ivc_close(ch);
	return NULL;
}

/* The poller side: accepts on one CPU, then runs a POLL-mode poller pinned
 * to another (or the same), until the producer has closed. */
static void *poller_side(void *arg)
{
	struct side *s = arg;
	struct ivc_poller_options po;
	struct ivc_poller *p = NULL;
	struct ivc_channel *ch = NULL;

	s->rc = ivc_pin_thread(s->accept_cpu);
	if (!s->rc)
		s->rc = ivc_accept(s->l, 10000, &ch);
	if (s->rc)
		return NULL;
	memset(&po, 0, sizeof(po));
	po.mode = IVC_MODE_POLL;
	po.flags = IVC_POLLER_PIN;
	po.cpu = s->cpu;
	s->rc = ivc_poller_create(&po, &p);
	if (!s->rc)
		s->rc = ivc_poller_add(p, ch, echo_cb, &s->echo);
	if (!s->rc)
		s->rc = ivc_poller_run(p, 60000);
	CHECK_ERR(ivc_stats_get(ch, &s->st), 0);
	ivc_poller_destroy(p);
	ivc_close(ch);
	return NULL;
}

/* Ping-pong between a poller on @pcpu (its channel accepted on @acpu) and
 * a producer on @ccpu.  Fills the two sides' results. */
static void ping_pong(int pcpu, int acpu, int ccpu, struct side *ps, struct side *cs)
{
	char addr[108];
	pthread_t tp, tc;

	t_addr(addr, sizeof(addr), "pcpu");
	memset(ps, 0, sizeof(*ps));
	memset(cs, 0, sizeof(*cs));
	REQUIRE_OK(ivc_listen(addr, NULL, &ps->l));
	ps->cpu = pcpu;
	ps->accept_cpu = acpu;
	cs->addr = addr;
	cs->cpu = ccpu;
	REQUIRE(pthread_create(&tp, NULL, poller_side, ps) == 0);
	REQUIRE(pthread_create(&tc, NULL, producer, cs) == 0);
	pthread_join(tc, NULL);
	pthread_join(tp, NULL);
	ivc_listener_close(ps->l);
	CHECK_ERR(cs->rc, 0);
	CHECK_ERR(ps->rc, 0);
	CHECK_EQ(cs->bad, 0);
	CHECK_EQ(ps->echo.bad, 0);
	CHECK_EQ(ps->echo.next, PINGS);
	CHECK_ERR(ps->echo.end, -EPIPE);
	printf("   poller: %llu yields, %llu spin hits; producer: %llu yields\n",
	       (unsigned long long)ps->st.yields,
	       (unsigned long long)ps->st.spin_hits,
	       (unsigned long long)cs->st.yields);
}

static void test_same_cpu(const int *cpus, int ncpu)
{
	struct side ps, cs;
	int a = cpus[0], other = cpus[ncpu - 1];

	printf("-- POLL-mode poller and producer on CPU %d (accepted on %d)\n", a,
	       other);
	ping_pong(a, other, a, &ps, &cs);
	/* Regression: the poller pause-spun on its peer's CPU. */
	CHECK(ps.st.yields > 0);
	/* The producer can only know from the CPU the poller publishes. */
	CHECK(cs.st.yields > 0);
}

static void test_other_cpus(const int *cpus, int ncpu)
{
	struct side ps, cs;

	if (ncpu < 2) {
		printf("-- (one CPU allowed: no two-CPU run)\n");
		return;
	}
	printf("-- POLL-mode poller on CPU %d, producer on CPU %d\n", cpus[0], cpus[1]);
	ping_pong(cpus[0], cpus[0], cpus[1], &ps, &cs);
	/* Both pinned, each lane names its side's CPU from the start: no
	 * side ever sees a shared CPU, and POLL mode yields for nothing
	 * else. */
	CHECK_EQ(ps.st.yields, 0);
	CHECK_EQ(cs.st.yields, 0);
}

int main(void)
{
	int cpus[2];
	int ncpu;

	t_init("test_poller_cpu", 120);
	ncpu = ivc_cpu_list(cpus, 2);
	REQUIRE(ncpu >= 1);
	if (ncpu > 2)
		ncpu = 2;
	test_zero_is_default(cpus, ncpu);
	test_same_cpu(cpus, ncpu);
	test_other_cpus(cpus, ncpu);
	return t_finish();
}
