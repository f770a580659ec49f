/* SPDX-License-Identifier: MIT */
/*
 * test_fi_wait.c - the provider's wait objects (src/fi/fi_wait.c,
 * fi_fdset.c, fi_poll.c): what a libfabric program that does not spin
 * uses to sleep until a completion comes.
 *
 * A receiving side (this thread: two endpoints, a CQ each; its domain
 * without the provider's lock, then with it) and a sending
 * side (a thread of its own: one endpoint, its own domain) exchange
 * tagged messages over ivc's channels.  For each message the receiver
 * posts the receive, tells the sender to go, and waits:
 *   - in fi_wait() on a wait set holding both CQs (FI_WAIT_UNSPEC);
 *   - in poll(2) on the descriptor of an FI_WAIT_FD wait set, after
 *     fi_trywait() on the set said it may;
 *   - in poll(2) on an FI_WAIT_FD CQ's own descriptor, after fi_trywait()
 *     on the CQ;
 *   - spinning on fi_poll() over a poll set of both CQs.
 * Every other message the sender first waits until the receiver's thread
 * is asleep (its state in /proc is 'S'), so the wake-up that must come
 * from a channel's descriptor is what is tested, not a spin that happens
 * to see the message; the others go at once.  The message must then be on
 * the CQ it was posted on, with its tag and bytes, and nothing on the
 * other.  An idle fi_wait() sleeps out its timeout at little CPU.
 * fi_cq_signal() from the other thread must end a sleeping
 * fi_wait() and a sleeping fi_cq_sread(); the calls' errors are checked
 * first.  Nothing here waits by sleeping: fi_wait() waits for ever (a
 * lost wake-up hangs, and the watchdog says so), a poll(2) 30 s (a lost
 * wake-up fails its check).
 */
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
#include "fi_testutil.h"

#define ROUNDS 40
#define MSG_LEN 3000
#define NAME_LEN 256
#define LONG_WAIT_MS 30000

/* One side: its own fabric and domain, so that each thread uses only its
 * own (the sender's FI_THREAD_DOMAIN: no lock in the provider).  The
 * receiver's is opened twice: FI_THREAD_DOMAIN, then FI_THREAD_SAFE. */
struct side {
	struct fit_domain d;
	struct fid_ep *ep[2];
	struct fid_cq *cq[2];
	fi_addr_t addr[2]; /* its endpoints' names, in its own AV */
};

enum how { BY_WAIT, BY_SET_FD, BY_CQ_FD, BY_POLL };

static struct side rx, tx;
static fi_addr_t tx_to_rx[2]; /* the receiver's endpoints, in tx's AV */
static pid_t rx_tid;

/* The sender's orders, one round at a time. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go_round = -1, go_target, go_wait_asleep, go_signal;
static int go_finished = -1; /* the last round the sender is done with */
static bool go_quit;

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static long long thread_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static unsigned char byte_of(int round, size_t k)
{
	return (unsigned char)(k * 13 + (size_t)round * 101 + 7);
}

/* ---- set-up ------------------------------------------------------------- */

/* Endpoint @i of @s, bound to @cq, its name into @s's AV and @other's. */
static void open_ep(struct side *s, int i, struct fid_cq *cq, fi_addr_t *in_other,
		    struct fid_av *other)
{
	char name[NAME_LEN];
	size_t len = sizeof(name);

	s->cq[i] = cq;
	REQUIRE_OK(fi_endpoint(s->d.domain, s->d.info, &s->ep[i], NULL));
	REQUIRE_OK(fi_ep_bind(s->ep[i], &s->d.av->fid, 0));
	REQUIRE_OK(fi_ep_bind(s->ep[i], &cq->fid, FI_TRANSMIT | FI_RECV));
	REQUIRE_OK(fi_enable(s->ep[i]));
	REQUIRE_OK(fi_getname(&s->ep[i]->fid, name, &len));
	REQUIRE_EQ(fi_av_insert(s->d.av, name, 1, &s->addr[i], 0, NULL), 1);
	if (other)
		REQUIRE_EQ(fi_av_insert(other, name, 1, in_other, 0, NULL), 1);
}

static struct fid_cq *cq_with(struct side *s, enum fi_wait_obj obj,
			      struct fid_wait *set, void *context)
{
	struct fi_cq_attr ca = { .format = FI_CQ_FORMAT_TAGGED, .wait_obj = obj,
				 .wait_set = set };
	struct fid_cq *cq;

	REQUIRE_OK(fi_cq_open(s->d.domain, &ca, &cq, context));
	return cq;
}

static void close_eps(struct side *s, int n)
{
	for (int i = 0; i < n; i++) {
		CHECK_OK(fi_close(&s->ep[i]->fid));
		CHECK_OK(fi_close(&s->cq[i]->fid));
	}
}

/* ---- the sender's thread ------------------------------------------------ */

/* Wait (spinning on /proc) until the receiver sleeps: false at the
 * deadline, which only a hang reaches. */
static bool until_asleep(void)
{
	long long end = now_ms() + t_scaled_ms(LONG_WAIT_MS);

	while (!fit_asleep(rx_tid))
		if (now_ms() > end)
			return false;
	return true;
}

static void send_one(int round, int target)
{
	static unsigned char buf[MSG_LEN];
	struct fi_cq_tagged_entry e;
	ssize_t r;

	for (size_t k = 0; k < sizeof(buf); k++)
		buf[k] = byte_of(round, k);
	long long end = now_ms() + t_scaled_ms(LONG_WAIT_MS);
	while ((r = fi_tsend(tx.ep[0], buf, sizeof(buf), NULL, tx_to_rx[target],
			     (uint64_t)round, &buf)) == -FI_EAGAIN && now_ms() < end)
		(void)fi_cq_read(tx.cq[0], &e, 1);
	CHECK_OK(r);
	/* Its completion, read with the blocking call (an UNSPEC CQ). */
	do {
		r = fi_cq_sread(tx.cq[0], &e, 1, NULL, 1000);
	} while (r == -FI_EAGAIN && now_ms() < end);
	CHECK_EQ(r, 1);
}

static void *sender(void *arg)
{
	(void)arg;
	for (int done = -1;;) {
		pthread_mutex_lock(&mu);
		while (!go_quit && go_round == done)
			pthread_cond_wait(&cv, &mu);
		int round = go_round, target = go_target;
		bool wait_asleep = go_wait_asleep, signal = go_signal, quit = go_quit;
		pthread_mutex_unlock(&mu);
		if (quit)
			return NULL;
		done = round;
		if (wait_asleep && !until_asleep())
			t_fail(__FILE__, __LINE__, "round %d: the receiver never slept", round);
		if (signal)
			CHECK_OK(fi_cq_signal(rx.cq[target]));
		else
			send_one(round, target);
		pthread_mutex_lock(&mu);
		go_finished = round;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
}

static void order(int round, int target, bool wait_asleep, bool signal)
{
	pthread_mutex_lock(&mu);
	go_round = round;
	go_target = target;
	go_wait_asleep = wait_asleep;
	go_signal = signal;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Wait until the sender is done with the last order: it reads the
 * receiver's CQs and names (tx_to_rx), which closing and opening the
 * receiver's endpoints change. */
static void sender_finished(void)
{
	pthread_mutex_lock(&mu);
	while (go_finished != go_round)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

/* ---- the receiver ------------------------------------------------------- */

/* Sleep in poll(2) on @fd until it is readable, as a libfabric program
 * does: fi_trywait() on @fid first, and not at all if it says -FI_EAGAIN.
 * Then look at @cq.  Returns what the read gave. */
static ssize_t fd_wait_read(struct fid *fid, int fd, struct fid_cq *cq,
			    struct fi_cq_tagged_entry *e)
{
	long long end = now_ms() + t_scaled_ms(LONG_WAIT_MS);
	ssize_t n;

	do {
		int r = fi_trywait(rx.d.fabric, &fid, 1);
		if (r == 0) {
			struct pollfd p = { fd, POLLIN, 0 };
			int k = poll(&p, 1, t_scaled_ms(LONG_WAIT_MS));
			CHECK_EQ(k, 1); /* 0: the wake-up never came */
			if (k != 1)
				return -FI_ETIMEDOUT;
		} else {
			CHECK_EQ(r, -FI_EAGAIN);
		}
		n = fi_cq_read(cq, e, 1);
	} while (n == -FI_EAGAIN && now_ms() < end);
	return n;
}

/* Until @cq has a completion, through poll set @ps. */
static ssize_t poll_read(struct fid_poll *ps, struct fid_cq *cq,
			 struct fi_cq_tagged_entry *e)
{
	long long end = now_ms() + t_scaled_ms(LONG_WAIT_MS);
	void *ctx[2];
	int n;

	while ((n = fi_poll(ps, ctx, 2)) == 0 && now_ms() < end)
		;
	CHECK_EQ(n, 1);
	if (n < 1)
		return -FI_ETIMEDOUT;
	CHECK(ctx[0] == cq->fid.context);
	return fi_cq_read(cq, e, 1);
}

/* One message each round, to the two endpoints in turn, taken as @how. */
static void rounds(enum how how, struct fid_wait *set, int set_fd,
		   struct fid_poll *ps)
{
	static unsigned char buf[MSG_LEN];
	static int round_no;

	for (int i = 0; i < ROUNDS; i++) {
		int round = round_no++, target = how == BY_CQ_FD ? 0 : i % 2;
		struct fid_cq *cq = rx.cq[target];
		struct fi_cq_tagged_entry e;
		ssize_t n;

		memset(buf, 0, sizeof(buf));
		CHECK_OK(fi_trecv(rx.ep[target], buf, sizeof(buf), NULL, FI_ADDR_UNSPEC,
				  (uint64_t)round, 0, buf));
		/* A spinning receiver never sleeps: no waiting for it. */
		order(round, target, i % 2 == 0 && how != BY_POLL, false);
		switch (how) {
		case BY_WAIT: /* for ever: a lost wake-up is a hang, which
			       * the watchdog (t_init()) reports */
			CHECK_OK(fi_wait(set, -1));
			n = fi_cq_read(cq, &e, 1);
			break;
		case BY_SET_FD:
			n = fd_wait_read(&set->fid, set_fd, cq, &e);
			break;
		case BY_CQ_FD:
			n = fd_wait_read(&cq->fid, set_fd, cq, &e);
			break;
		default:
			n = poll_read(ps, cq, &e);
			break;
		}
		REQUIRE_EQ(n, 1);
		CHECK(e.op_context == buf);
		CHECK(e.flags & FI_RECV);
		CHECK_EQ(e.tag, (uint64_t)round);
		CHECK_EQ(e.len, (size_t)MSG_LEN);
		for (size_t k = 0; k < sizeof(buf); k++)
			if (buf[k] != byte_of(round, k)) {
				t_fail(__FILE__, __LINE__, "round %d: byte %zu", round, k);
				break;
			}
		if (how != BY_CQ_FD)
			CHECK_EQ(fi_cq_read(rx.cq[1 - target], &e, 1), -FI_EAGAIN);
	}
}

/* ---- errors ------------------------------------------------------------- */

static void test_errors(void)
{
	struct fi_wait_attr wa = { .wait_obj = FI_WAIT_MUTEX_COND };
	struct fid_wait *w;
	struct fid_cq *cq;
	struct fid_poll *ps;
	struct fi_poll_attr pa = {0};
	enum fi_wait_obj obj;
	int fd;

	CHECK_EQ(fi_wait_open(rx.d.fabric, &wa, &w), -FI_ENOSYS);
	wa.wait_obj = FI_WAIT_NONE;
	CHECK_EQ(fi_wait_open(rx.d.fabric, &wa, &w), -FI_EINVAL);
	wa = (struct fi_wait_attr){ .wait_obj = FI_WAIT_FD, .flags = 1 };
	CHECK_EQ(fi_wait_open(rx.d.fabric, &wa, &w), -FI_EINVAL);

	struct fi_cq_attr ca = { .format = FI_CQ_FORMAT_TAGGED, .wait_obj = FI_WAIT_SET };
	CHECK_EQ(fi_cq_open(rx.d.domain, &ca, &cq, NULL), -FI_EINVAL); /* no set */
	ca.wait_obj = FI_WAIT_YIELD;
	CHECK_EQ(fi_cq_open(rx.d.domain, &ca, &cq, NULL), -FI_ENOSYS);

	/* No wait object: nothing may block on it. */
	cq = cq_with(&rx, FI_WAIT_NONE, NULL, NULL);
	CHECK_EQ(fi_cq_signal(cq), -FI_ENOSYS);
	CHECK_EQ(fi_trywait(rx.d.fabric, (struct fid *[]){ &cq->fid }, 1), -FI_EINVAL);
	CHECK_EQ(fi_control(&cq->fid, FI_GETWAIT, &fd), -FI_ENODATA);
	CHECK_OK(fi_close(&cq->fid));

	/* A signal ends a blocking read that would wait for ever. */
	cq = cq_with(&rx, FI_WAIT_UNSPEC, NULL, NULL);
	struct fi_cq_tagged_entry e;
	CHECK_OK(fi_cq_signal(cq));
	CHECK_EQ(fi_cq_sread(cq, &e, 1, NULL, -1), -FI_EAGAIN);
	CHECK_EQ(fi_cq_sread(cq, &e, 1, NULL, 0), -FI_EAGAIN);
	CHECK_OK(fi_control(&cq->fid, FI_GETWAITOBJ, &obj));
	CHECK_EQ(obj, FI_WAIT_UNSPEC);

	/* A set with a CQ in it stays open, and so does the fabric. */
	wa = (struct fi_wait_attr){ .wait_obj = FI_WAIT_FD };
	REQUIRE_OK(fi_wait_open(rx.d.fabric, &wa, &w));
	CHECK_OK(fi_control(&w->fid, FI_GETWAITOBJ, &obj));
	CHECK_EQ(obj, FI_WAIT_FD);
	fd = -1;
	CHECK_OK(fi_control(&w->fid, FI_GETWAIT, &fd));
	CHECK(fd >= 0);
	struct fid_cq *in_set = cq_with(&rx, FI_WAIT_SET, w, NULL);
	CHECK_EQ(fi_control(&in_set->fid, FI_GETWAIT, &fd), -FI_ENODATA);
	CHECK_EQ(fi_close(&w->fid), -FI_EBUSY);
	CHECK_EQ(fi_wait(w, 0), -FI_ETIMEDOUT);
	CHECK_EQ(fi_wait(w, 20), -FI_ETIMEDOUT);
	/* A set with nothing to read: its descriptor does not poll readable. */
	CHECK_OK(fi_trywait(rx.d.fabric, (struct fid *[]){ &w->fid }, 1));
	CHECK_OK(fi_control(&w->fid, FI_GETWAIT, &fd));
	CHECK_EQ(poll(&(struct pollfd){ fd, POLLIN, 0 }, 1, 0), 0);
	/* A signal on one of its CQs makes it readable and ends fi_wait(). */
	CHECK_OK(fi_cq_signal(in_set));
	CHECK_EQ(poll(&(struct pollfd){ fd, POLLIN, 0 }, 1, 0), 1);
	CHECK_OK(fi_wait(w, 0));
	CHECK_EQ(fi_cq_read(in_set, &e, 1), -FI_EAGAIN);

	/* Poll sets: CQs of their domain, once each. */
	REQUIRE_OK(fi_poll_open(rx.d.domain, &pa, &ps));
	void *ctx[1];
	CHECK_EQ(fi_poll(ps, ctx, 1), 0);
	CHECK_OK(fi_poll_add(ps, &cq->fid, 0));
	CHECK_EQ(fi_poll_add(ps, &cq->fid, 0), -FI_EALREADY);
	CHECK_EQ(fi_poll_add(ps, &w->fid, 0), -FI_EINVAL);
	CHECK_EQ(fi_close(&cq->fid), -FI_EBUSY);
	CHECK_EQ(fi_close(&ps->fid), -FI_EBUSY);
	CHECK_OK(fi_poll_del(ps, &cq->fid, 0));
	CHECK_EQ(fi_poll_del(ps, &cq->fid, 0), -FI_EINVAL);
	CHECK_OK(fi_close(&ps->fid));

	CHECK_OK(fi_close(&cq->fid));
	CHECK_OK(fi_close(&in_set->fid));
	CHECK_OK(fi_close(&w->fid));

	/* A fabric with nothing on it but a wait set stays open. */
	struct fid_fabric *f;
	REQUIRE_OK(fi_fabric(rx.d.info->fabric_attr, &f, NULL));
	REQUIRE_OK(fi_wait_open(f, &wa, &w));
	CHECK_EQ(fi_close(&f->fid), -FI_EBUSY);
	CHECK_OK(fi_close(&w->fid));
	CHECK_OK(fi_close(&f->fid));
}

/* ---- the rounds ------------------------------------------------------- */

/* fi_cq_signal() from the other thread ends a sleeping fi_wait(). */
static void test_signal_wakes(struct fid_wait *set)
{
	struct fi_cq_tagged_entry e;

	order(1000000, 1, true, true);
	CHECK_OK(fi_wait(set, -1));
	CHECK_EQ(fi_cq_read(rx.cq[1], &e, 1), -FI_EAGAIN);
	order(1000001, 0, true, true);
	CHECK_EQ(fi_cq_sread(rx.cq[0], &e, 1, NULL, -1), -FI_EAGAIN);
}

static void run_with_set(enum fi_wait_obj obj)
{
	struct fi_wait_attr wa = { .wait_obj = obj };
	struct fid_wait *set;
	int fd = -1;

	REQUIRE_OK(fi_wait_open(rx.d.fabric, &wa, &set));
	for (int i = 0; i < 2; i++)
		open_ep(&rx, i, cq_with(&rx, FI_WAIT_SET, set, &rx.cq[i]), &tx_to_rx[i], tx.d.av);
	if (obj == FI_WAIT_FD) {
		CHECK_OK(fi_control(&set->fid, FI_GETWAIT, &fd));
		rounds(BY_SET_FD, set, fd, NULL);
	} else {
		rounds(BY_WAIT, set, -1, NULL);
		test_signal_wakes(set);
		/* Nothing to come: the timeout passes asleep (issue 18: idle
		 * ranks must not burn a core). */
		long long t0 = now_ms(), c0 = thread_cpu_ms();
		CHECK_EQ(fi_wait(set, 500), -FI_ETIMEDOUT);
		long long wall = now_ms() - t0, cpu = thread_cpu_ms() - c0;
		printf("fi_wait idle: %lld ms wall, %lld ms CPU\n", wall, cpu);
		CHECK(wall >= 490);
		CHECK(cpu < 100);
	}
	sender_finished();
	close_eps(&rx, 2);
	CHECK_OK(fi_close(&set->fid));
}

static void run_with_cq_fd(void)
{
	struct fid_cq *cq = cq_with(&rx, FI_WAIT_FD, NULL, NULL);
	enum fi_wait_obj obj;
	int fd = -1;

	CHECK_OK(fi_control(&cq->fid, FI_GETWAITOBJ, &obj));
	CHECK_EQ(obj, FI_WAIT_FD);
	CHECK_OK(fi_control(&cq->fid, FI_GETWAIT, &fd));
	REQUIRE(fd >= 0);
	open_ep(&rx, 0, cq, &tx_to_rx[0], tx.d.av);
	rounds(BY_CQ_FD, NULL, fd, NULL);
	/* All read and the channel quiet: armed, the descriptor is not
	 * readable (a program polling it would otherwise spin). */
	CHECK_OK(fi_trywait(rx.d.fabric, (struct fid *[]){ &cq->fid }, 1));
	CHECK_EQ(poll(&(struct pollfd){ fd, POLLIN, 0 }, 1, 0), 0);
	sender_finished();
	close_eps(&rx, 1);
}

static void run_with_poll_set(void)
{
	struct fid_poll *ps;

	REQUIRE_OK(fi_poll_open(rx.d.domain, NULL, &ps));
	for (int i = 0; i < 2; i++) {
		open_ep(&rx, i, cq_with(&rx, FI_WAIT_NONE, NULL, &rx.cq[i]), &tx_to_rx[i], tx.d.av);
		CHECK_OK(fi_poll_add(ps, &rx.cq[i]->fid, 0));
	}
	rounds(BY_POLL, NULL, -1, ps);
	for (int i = 0; i < 2; i++)
		CHECK_OK(fi_poll_del(ps, &rx.cq[i]->fid, 0));
	CHECK_OK(fi_close(&ps->fid));
	sender_finished();
	close_eps(&rx, 2);
}

int main(void)
{
	pthread_t th;

	fit_init("test_fi_wait", 120);
	rx_tid = gettid();
	fit_domain_open(&tx.d, FI_THREAD_DOMAIN);
	open_ep(&tx, 0, cq_with(&tx, FI_WAIT_UNSPEC, NULL, NULL), NULL, NULL);
	REQUIRE_EQ(pthread_create(&th, NULL, sender, NULL), 0);
	/* The receiver's domain without its lock, then with it (a sleep
	 * lets it go, and counts among the CQs' sleepers). */
	for (int i = 0; i < 2; i++) {
		fit_domain_open(&rx.d, i ? FI_THREAD_SAFE : FI_THREAD_DOMAIN);
		test_errors();
		run_with_set(FI_WAIT_UNSPEC);
		run_with_set(FI_WAIT_FD);
		run_with_cq_fd();
		run_with_poll_set();
		fit_domain_close(&rx.d);
	}
	pthread_mutex_lock(&mu);
	go_quit = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	close_eps(&tx, 1);
	fit_domain_close(&tx.d);
	return t_finish();
}
