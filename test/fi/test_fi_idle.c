/* SPDX-License-Identifier: MIT */
/*
 * test_fi_idle.c - IVC_FI_IDLE_MS (src/fi/fi_cq_idle.c): a caller that
 * spins on fi_cq_read() with nothing coming dozes in its reads, as an MPI
 * rank waiting in MPI_Recv() does through Open MPI's MTL, and stops
 * burning its core; and nobody else is ever made to doze.
 *
 * A receiving side (this thread: one domain, FI_THREAD_DOMAIN, with two
 * endpoints and a CQ each, FI_WAIT_NONE as Open MPI opens them) and a
 * sending side (a thread of its own: its own domain):
 *   - spinning on an empty CQ for 400 ms, with IVC_FI_IDLE_MS=5, costs
 *     this thread at most a quarter of that in CPU, and its reads dozed;
 *   - a message sent once this thread sleeps in such a read (its state in
 *     /proc is 'S') arrives with its bytes: the doze watched the channel;
 *   - a caller that works 20 us between its reads never dozes;
 *   - a caller that alternates between the idle CQ and one that gets
 *     completions (an endpoint sending to itself) never dozes on the idle
 *     one: a completion on any CQ of the domain ends a spell;
 *   - without IVC_FI_IDLE_MS, nothing dozes.
 * The dozes are counted inside the CQ (fi_pvt.h): the public API has no
 * way to ask.  Nothing here waits by sleeping; a lost wake-up fails a
 * check after 30 s.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "check.h"
#include "fi/fi_pvt.h" /* the CQ's dozes */
#include "fi_testutil.h"

#define MSG_LEN 3000
#define NAME_LEN 256
#define LONG_WAIT_MS 30000

struct side {
	struct fit_domain d;
	struct fid_ep *ep[2];
	struct fid_cq *cq[2];
};

static struct side rx, tx;
static fi_addr_t tx_to_rx[2]; /* the receiver's endpoints, in tx's AV */
static fi_addr_t self_addr;    /* its endpoint 1, in its own AV */
static pid_t rx_tid;

/* The sender's order: messages to send to which endpoint, and whether to
 * wait until the receiver sleeps first. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go_count, go_target;
static bool go_wait_asleep, go_quit;

static uint64_t now_ns(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static unsigned char byte_of(int msg, size_t k)
{
	return (unsigned char)(k * 13 + (size_t)msg * 101 + 7);
}

static struct ivcfi_cq *inside(struct fid_cq *cq)
{
	return ivcfi_container(cq, struct ivcfi_cq, cq);
}

/* ---- set-up ------------------------------------------------------------- */

/* Endpoint @i of @s with a CQ of its own (IVC_FI_IDLE_MS as @idle_ms sets
 * it, NULL: unset), its name into @other's AV at @in_other. */
static void open_ep(struct side *s, int i, enum fi_wait_obj obj, const char *idle_ms,
		    struct fid_av *other, fi_addr_t *in_other)
{
	struct fi_cq_attr ca = { .format = FI_CQ_FORMAT_TAGGED, .wait_obj = obj };
	char name[NAME_LEN];
	size_t len = sizeof(name);

	if (idle_ms)
		setenv("IVC_FI_IDLE_MS", idle_ms, 1);
	else
		unsetenv("IVC_FI_IDLE_MS");
	REQUIRE_OK(fi_cq_open(s->d.domain, &ca, &s->cq[i], NULL));
	unsetenv("IVC_FI_IDLE_MS");
	REQUIRE_OK(fi_endpoint(s->d.domain, s->d.info, &s->ep[i], NULL));
	REQUIRE_OK(fi_ep_bind(s->ep[i], &s->d.av->fid, 0));
	REQUIRE_OK(fi_ep_bind(s->ep[i], &s->cq[i]->fid, FI_TRANSMIT | FI_RECV));
	REQUIRE_OK(fi_enable(s->ep[i]));
	REQUIRE_OK(fi_getname(&s->ep[i]->fid, name, &len));
	if (s == &rx && i == 1)
		REQUIRE_EQ(fi_av_insert(s->d.av, name, 1, &self_addr, 0, NULL), 1);
	if (other)
		REQUIRE_EQ(fi_av_insert(other, name, 1, in_other, 0, NULL), 1);
}

static void close_side(struct side *s, int eps)
{
	for (int i = 0; i < eps; i++) {
		CHECK_OK(fi_close(&s->ep[i]->fid));
		CHECK_OK(fi_close(&s->cq[i]->fid));
	}
	fit_domain_close(&s->d);
}

/* ---- the sender's thread ------------------------------------------------ */

static void send_one(int msg, int target)
{
	static unsigned char buf[MSG_LEN];
	struct fi_cq_tagged_entry e;
	ssize_t r;
	uint64_t end = now_ns(CLOCK_MONOTONIC) + t_scaled_ms(LONG_WAIT_MS) * 1000000ull;

	for (size_t k = 0; k < sizeof(buf); k++)
		buf[k] = byte_of(msg, k);
	while ((r = fi_tsend(tx.ep[0], buf, sizeof(buf), NULL, tx_to_rx[target],
			     (uint64_t)msg, &buf)) == -FI_EAGAIN &&
	       now_ns(CLOCK_MONOTONIC) < end)
		(void)fi_cq_read(tx.cq[0], &e, 1);
	CHECK_OK(r);
	do {
		r = fi_cq_sread(tx.cq[0], &e, 1, NULL, 1000);
	} while (r == -FI_EAGAIN && now_ns(CLOCK_MONOTONIC) < end);
	CHECK_EQ(r, 1);
}

static void *sender(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (!go_quit && !go_count)
			pthread_cond_wait(&cv, &mu);
		int count = go_count, target = go_target;
		bool wait_asleep = go_wait_asleep, quit = go_quit;
		pthread_mutex_unlock(&mu);
		if (quit)
			return NULL;
		uint64_t end = now_ns(CLOCK_MONOTONIC) + t_scaled_ms(LONG_WAIT_MS) * 1000000ull;
		while (wait_asleep && !fit_asleep(rx_tid))
			if (now_ns(CLOCK_MONOTONIC) > end) {
				t_fail(__FILE__, __LINE__, "the receiver never slept");
				break;
			}
		for (int i = 0; i < count; i++)
			send_one(i, target);
		pthread_mutex_lock(&mu);
		go_count = 0;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
}

static void order(int count, int target, bool wait_asleep)
{
	pthread_mutex_lock(&mu);
	while (go_count) /* the last order is still being carried out */
		pthread_cond_wait(&cv, &mu);
	go_count = count;
	go_target = target;
	go_wait_asleep = wait_asleep;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* ---- the receiver's checks ---------------------------------------------- */

/* Read @cq, empty, for @ms; with @work_us, busy for that long between
 * reads.  Returns the thread's CPU time meanwhile, in ns. */
static uint64_t spin_for(struct fid_cq *cq, unsigned ms, unsigned work_us)
{
	struct fi_cq_tagged_entry e;
	uint64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t end = now_ns(CLOCK_MONOTONIC) + ms * 1000000ull;

	while (now_ns(CLOCK_MONOTONIC) < end) {
		if (fi_cq_read(cq, &e, 1) != -FI_EAGAIN)
			t_abort(__FILE__, __LINE__, "an idle CQ had a completion");
		if (work_us) {
			uint64_t w = now_ns(CLOCK_MONOTONIC) + work_us * 1000ull;
			while (now_ns(CLOCK_MONOTONIC) < w)
				;
		}
	}
	return now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
}

/* Post a receive for message @msg on endpoint @i, and read its CQ until
 * it completes. */
static void receive(int i, int msg)
{
	static unsigned char buf[MSG_LEN];
	struct fi_cq_tagged_entry e;
	ssize_t r;
	uint64_t end = now_ns(CLOCK_MONOTONIC) + t_scaled_ms(LONG_WAIT_MS) * 1000000ull;

	memset(buf, 0, sizeof(buf));
	REQUIRE_OK(fi_trecv(rx.ep[i], buf, sizeof(buf), NULL, FI_ADDR_UNSPEC,
			    (uint64_t)msg, 0, buf));
	while ((r = fi_cq_read(rx.cq[i], &e, 1)) == -FI_EAGAIN &&
	       now_ns(CLOCK_MONOTONIC) < end)
		;
	REQUIRE_EQ(r, 1);
	CHECK_EQ(e.len, (size_t)MSG_LEN);
	CHECK_EQ(e.tag, (uint64_t)msg);
	for (size_t k = 0; k < sizeof(buf); k++)
		if (buf[k] != byte_of(msg, k)) {
			t_fail(__FILE__, __LINE__, "message %d: byte %zu", msg, k);
			break;
		}
}

/* Spinning alone on an idle CQ: it dozes, and the thread's CPU falls. */
static void test_idle_dozes(void)
{
	struct ivcfi_cq *cq = inside(rx.cq[0]);
	uint64_t before = cq->idle.dozes;
	uint64_t cpu = spin_for(rx.cq[0], 400, 0);

	printf("idle: %llu ms of CPU in 400 ms of empty reads, %llu dozes\n",
	       (unsigned long long)(cpu / 1000000), (unsigned long long)(cq->idle.dozes - before));
	CHECK(cq->idle.dozes > before);
	CHECK(cpu < 100 * 1000000ull);
}

/* A message sent while the receiver sleeps in a dozing read wakes it. */
static void test_doze_wakes(void)
{
	struct ivcfi_cq *cq = inside(rx.cq[0]);
	uint64_t before = cq->idle.dozes;

	order(1, 0, true);
	receive(0, 0);
	CHECK(cq->idle.dozes > before);
}

/* A caller that works between its reads is never made to doze. */
static void test_worker_never_dozes(void)
{
	struct ivcfi_cq *cq = inside(rx.cq[0]);
	uint64_t before = cq->idle.dozes;

	spin_for(rx.cq[0], 150, 20);
	CHECK_EQ(cq->idle.dozes, before);
}

/* Reads of the idle CQ alternate with those of a busy one: while
 * completions come on the domain, the idle CQ never dozes.  The busy one
 * is endpoint 1's, which sends to itself, so that its completions come
 * as fast as this loop makes them, for 12 times the idle CQ's
 * IVC_FI_IDLE_MS. */
static void test_busy_domain_never_dozes(void)
{
	static unsigned char out[MSG_LEN], in[MSG_LEN];
	struct ivcfi_cq *cq = inside(rx.cq[0]);
	struct fi_cq_tagged_entry e;
	uint64_t before = 0, n = 0, end = 0;

	/* The first message makes the channel to itself, which takes an
	 * acceptor's handshake: the domain may be idle meanwhile. */
	for (;; n++) {
		if (n == 1) {
			before = cq->idle.dozes;
			end = now_ns(CLOCK_MONOTONIC) + 12 * cq->idle.after_ns;
		}
		if (n && now_ns(CLOCK_MONOTONIC) >= end)
			break;
		int done = 0;
		REQUIRE_OK(fi_trecv(rx.ep[1], in, sizeof(in), NULL, FI_ADDR_UNSPEC, n, 0, in));
		REQUIRE_OK(fi_tsend(rx.ep[1], out, sizeof(out), NULL, self_addr, n, out));
		while (done < 2) {
			ssize_t r = fi_cq_read(rx.cq[1], &e, 1);
			if (r != 1 && r != -FI_EAGAIN)
				t_abort(__FILE__, __LINE__, "the busy CQ: %zd", r);
			done += r == 1;
			if (fi_cq_read(rx.cq[0], &e, 1) != -FI_EAGAIN)
				t_abort(__FILE__, __LINE__, "the idle CQ had a completion");
		}
	}
	printf("busy domain: %llu messages to itself, %llu dozes\n", (unsigned long long)n,
	       (unsigned long long)(cq->idle.dozes - before));
	CHECK(n > 100);
	CHECK_EQ(cq->idle.dozes, before);
	CHECK_EQ(inside(rx.cq[1])->idle.dozes, 0u);
}

int main(void)
{
	pthread_t th;

	fit_init("test_fi_idle", 120);
	rx_tid = gettid();
	fit_domain_open(&tx.d, FI_THREAD_DOMAIN);
	open_ep(&tx, 0, FI_WAIT_UNSPEC, NULL, NULL, NULL);
	fit_domain_open(&rx.d, FI_THREAD_DOMAIN);
	/* Endpoint 0 dozes after 5 ms of idle reads; endpoint 1's CQ, the
	 * busy one, with IVC_FI_IDLE_MS unset, never does. */
	open_ep(&rx, 0, FI_WAIT_NONE, "5", tx.d.av, &tx_to_rx[0]);
	open_ep(&rx, 1, FI_WAIT_NONE, NULL, tx.d.av, &tx_to_rx[1]);
	REQUIRE_EQ(pthread_create(&th, NULL, sender, NULL), 0);
	CHECK_EQ(inside(rx.cq[0])->idle.after_ns, 5000000u);
	CHECK_EQ(inside(rx.cq[1])->idle.after_ns, 0u);
	test_idle_dozes();
	test_doze_wakes();
	test_worker_never_dozes();
	test_busy_domain_never_dozes();
	pthread_mutex_lock(&mu);
	go_quit = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	close_side(&rx, 2);
	close_side(&tx, 1);
	return t_finish();
}
