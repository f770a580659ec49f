/* SPDX-License-Identifier: MIT */
/*
 * test_poller_loop - a poller inside an application's event loop; listeners
 * in the poller; changes from other threads (issue 13, C).
 *
 *  - The application's loop drives the poller only through ivc_poller_fd()
 *    and ivc_poller_dispatch(), blocking in poll(2) whenever dispatch says
 *    0.  A child streams on two channels in phases; between phases it waits
 *    for the parent (a pipe), so the parent goes idle: then the descriptor
 *    must not poll readable (nothing can come), and the next phase must
 *    wake the parent's poll().  Every message arrives in order.
 *  - The same loop in a thread of its own while the main thread adds a
 *    channel once the loop sleeps in poll() (the channel is disarmed, with
 *    no stale edge, so no doorbell will come: the add itself must wake the
 *    loop), streams through it, removes it; three times.
 *  - A listener in a poller run by a thread: the child connects channel A
 *    and streams on it without a pause; while it does, a second and a third
 *    client connect through the listener, and the accept callback adds
 *    their channels from inside itself.  Everything on all three arrives in
 *    order, and A's callback count grows between the two accepts (the child
 *    makes sure of that: it connects the third client only once A's sender
 *    got more buffers back than its pool holds, which only A's callback
 *    can have given back after the second accept).  Removing the listener
 *    from the main thread then leaves the poller empty, and run returns 0.
 *  - Cross-thread add/remove while a thread runs ivc_poller_run() for ever:
 *    add a channel, stream through it, remove it in the middle of traffic
 *    and close it at once (ASan/TSan check that the loop never touches it
 *    again, and its callback count no longer moves), add another, stop.
 *    Meanwhile run and dispatch from a second thread are -EBUSY, and the
 *    results of handed-over calls (-EEXIST, -ENOENT) come back.
 *  - A stop whose wake-up a dispatch took is reported by that dispatch.
 */
#include "check.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define MAXLEN 200u
#define SEED 0x100b5eedull
#define PHASES 6
#ifdef IVC_TEST_SANITIZE
#define PER_PHASE 200u
#define PER_CHAN 500u
#else
#define PER_PHASE 1000u
#define PER_CHAN 3000u
#endif
/* The client lanes of the listener test: a small pool, for the argument
 * about A's buffers (see the file comment). */
#define POOL 8u

struct chan_state {
	struct ivc_channel *ch;
	uint64_t seed;
	uint64_t next;           /* next sequence number expected */
	uint64_t target;         /* post @reached when next gets there */
	struct t_sem *reached;
	struct t_sem *ended;     /* posted when the channel ends */
	int end;                 /* the error that ended it */
	int bad;
	int calls;
	unsigned char buf[MAXLEN];
	unsigned char scratch[MAXLEN];
};

static void chan_init(struct chan_state *s, struct ivc_channel *ch, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->ch = ch;
	s->seed = seed;
}

/* Receive a burst, checking each message against the stream's next. */
static int stream_cb(struct ivc_channel *ch, void *arg)
{
	struct chan_state *s = arg;
	int msgs = 0;

	s->calls++;
	for (int i = 0; i < 32; i++) {
		ssize_t r = ivc_recv(ch, s->buf, MAXLEN, 0);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			s->end = (int)r;
			if (s->ended)
				t_sem_post(s->ended);
			return -1;
		}
		const char *why = t_msg_verify(s->seed, s->next, MAXLEN, s->buf,
					       (size_t)r, s->scratch);
		if (why && !s->bad) {
			t_fail(__FILE__, __LINE__, "stream %llx, message %llu: %s",
			       (unsigned long long)s->seed,
			       (unsigned long long)s->next, why);
			s->bad = 1;
		}
		s->next++;
		msgs++;
		if (s->reached && s->next == s->target)
			t_sem_post(s->reached);
	}
	return msgs;
}

/* Send messages [from, to) of stream @seed; 0 or the first error. */
static int send_range(struct ivc_channel *ch, uint64_t seed, uint64_t from,
		      uint64_t to)
{
	unsigned char msg[MAXLEN];

	for (uint64_t i = from; i < to; i++) {
		size_t len = t_msg_len(seed, i, MAXLEN);
		t_msg_fill(seed, i, msg, len);
		int r = ivc_send(ch, msg, len, 10000);
		if (r)
			return r;
	}
	return 0;
}

static struct ivc_options small_lanes(void)
{
	struct ivc_options o;
	ivc_options_init(&o);
	o.tx.slots = POOL;
	o.tx.buf_count = POOL;
	o.tx.buf_size = 256;
	return o;
}

/* ---- 1. the application's loop ---------------------------------------------- */

static void phases_child(const char *addr, struct t_sem *go)
{
	struct ivc_channel *ch[2];
	for (int i = 0; i < 2; i++)
		REQUIRE_OK(ivc_connect(addr, NULL, 10000, &ch[i]));
	for (uint64_t ph = 0; ph < PHASES; ph++) {
		if (ph > 0)
			REQUIRE_OK(t_sem_wait(go, 10000));
		/* Interleaved, a few at a time. */
		for (uint64_t i = ph * PER_PHASE; i < (ph + 1) * PER_PHASE; i += 10)
			for (int c = 0; c < 2; c++)
				CHECK_ERR(send_range(ch[c], SEED + (uint64_t)c, i, i + 10), 0);
	}
	/* Close only when the parent has seen the last phase quiet. */
	REQUIRE_OK(t_sem_wait(go, 10000));
	for (int i = 0; i < 2; i++)
		CHECK_ERR(ivc_close(ch[i]), 0);
	t_child_exit();
}

static void test_app_loop(void)
{
	printf("-- an application's poll() loop: ivc_poller_fd + ivc_poller_dispatch\n");
	char addr[108];
	t_addr(addr, sizeof(addr), "ploop");
	struct ivc_listener *l = NULL;
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	struct t_sem go;
	REQUIRE_OK(t_sem_init(&go));
	pid_t pid = t_fork();
	if (pid == 0) {
		ivc_listener_close(l);
		phases_child(addr, &go);
	}
	static struct chan_state st[2];
	struct ivc_poller *p = NULL;
	REQUIRE_OK(ivc_poller_create(NULL, &p));
	for (int i = 0; i < 2; i++) {
		struct ivc_channel *ch = NULL;
		REQUIRE_OK(ivc_accept(l, 10000, &ch));
		chan_init(&st[i], ch, SEED + (uint64_t)i);
		REQUIRE_OK(ivc_poller_add(p, ch, stream_cb, &st[i]));
	}
	ivc_listener_close(l);
	int fd = ivc_poller_fd(p);
	REQUIRE(fd >= 0);

	int phase = 0, wakes = 0, quiet = 0;
	while (!st[0].end || !st[1].end) {
		int r = ivc_poller_dispatch(p);
		if (r < 0) {
			t_fail(__FILE__, __LINE__, "dispatch: %d (%s)", r, t_errname(r));
			break;
		}
		if (r > 0)
			continue;
		/* Idle and armed.  A phase all received: the child waits for
		 * us, so nothing can make the descriptor readable. */
		uint64_t want = (uint64_t)(phase + 1) * PER_PHASE;
		if (phase < PHASES && st[0].next == want && st[1].next == want) {
			struct pollfd q = {fd, POLLIN, 0};
			CHECK_ERR(poll(&q, 1, 0), 0);
			quiet++;
			phase++;
			t_sem_post(&go);
		}
		struct pollfd q = {fd, POLLIN, 0};
		r = poll(&q, 1, 10000);
		if (r != 1) {
			t_fail(__FILE__, __LINE__, "the poller's fd stayed quiet "
			       "(phase %d, received %llu and %llu)", phase,
			       (unsigned long long)st[0].next,
			       (unsigned long long)st[1].next);
			break;
		}
		wakes++;
	}
	printf("   %d phases, %d wake-ups from poll()\n", quiet, wakes);
	CHECK_EQ(quiet, PHASES);
	CHECK(wakes >= PHASES);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(st[i].next, (uint64_t)PHASES * PER_PHASE);
		CHECK_ERR(st[i].end, -EPIPE);
		CHECK(!st[i].bad);
		ivc_close(st[i].ch);
	}
	/* Both channels dropped: nothing left to make it readable. */
	CHECK_ERR(ivc_poller_dispatch(p), 0);
	struct pollfd q = {fd, POLLIN, 0};
	CHECK_ERR(poll(&q, 1, 0), 0);
	ivc_poller_destroy(p);
	t_sem_destroy(&go);
	CHECK_CHILD_OK(t_wait_child(pid, 10000));
}

/* ---- 1b. the application's loop in a thread, changed from another ----------- */

struct app_loop {
	struct ivc_poller *p;
	atomic_int quit;
	atomic_int tid;
	int hung;
};

static void *app_loop_thread(void *arg)
{
	struct app_loop *a = arg;
	int fd = ivc_poller_fd(a->p);

	atomic_store(&a->tid, (int)gettid());
	while (!atomic_load(&a->quit)) {
		int r = ivc_poller_dispatch(a->p);
		if (r < 0) {
			t_fail(__FILE__, __LINE__, "dispatch: %d (%s)", r, t_errname(r));
			break;
		}
		if (r > 0)
			continue;
		struct pollfd q = {fd, POLLIN, 0};
		if (poll(&q, 1, 10000) != 1) {
			a->hung = 1;
			break;
		}
	}
	return NULL;
}

static void test_app_loop_threads(void)
{
	printf("-- an application's loop in a thread, channels added and removed "
	       "from another\n");
	struct ivc_channel *s, *c;
	REQUIRE_OK(t_pair("ploop-t", NULL, NULL, &s, &c));
	struct t_sem reached;
	REQUIRE_OK(t_sem_init(&reached));
	static struct app_loop a;
	memset(&a, 0, sizeof(a));
	REQUIRE_OK(ivc_poller_create(NULL, &a.p));
	atomic_init(&a.quit, 0);
	atomic_init(&a.tid, 0);
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, app_loop_thread, &a) == 0);

	for (int round = 0; round < 3; round++) {
		static struct chan_state st;
		chan_init(&st, s, SEED + 10);
		st.target = PER_CHAN;
		st.reached = &reached;
		/* Round 0: a channel used with blocking waits first.  ivc_arm()
		 * takes the stale edges of its fd, the wait (nothing comes: it
		 * times out) leaves it disarmed, so the peer's sends ring no
		 * doorbell: once the loop sleeps in poll(), only the add
		 * itself can wake it for this channel. */
		if (round == 0) {
			CHECK_ERR(ivc_arm(s, IVC_EV_RX), 0);
			CHECK_ERR(ivc_wait(s, IVC_EV_RX, 1), -ETIMEDOUT);
		}
		uint64_t t0 = t_now_ns();
		while (t_thread_state(atomic_load(&a.tid)) != 'S' &&
		       t_now_ns() - t0 < 5000000000ull)
			sched_yield();
		CHECK_ERR(ivc_poller_add(a.p, s, stream_cb, &st), 0);
		CHECK_ERR(send_range(c, SEED + 10, 0, PER_CHAN), 0);
		CHECK_ERR(t_sem_wait(&reached, 10000), 0);
		CHECK_ERR(ivc_poller_remove(a.p, s), 0);
		CHECK_ERR(ivc_poller_remove(a.p, s), -ENOENT);
		CHECK_EQ(st.next, PER_CHAN);
		CHECK(!st.bad);
		/* The stream starts again on the next round: drain nothing
		 * (all was received), reuse the pair. */
	}
	atomic_store(&a.quit, 1);
	CHECK_ERR(ivc_poller_stop(a.p), 0); /* (wakes its poll()) */
	pthread_join(th, NULL);
	CHECK_EQ(a.hung, 0);
	ivc_poller_destroy(a.p);
	t_sem_destroy(&reached);
	ivc_close(s);
	ivc_close(c);
}

/* ---- 2. a listener in the poller ------------------------------------------------ */

struct a_sender {
	struct ivc_channel *ch;
	atomic_int stop;
	atomic_ullong sent;
	atomic_ullong target;
	struct t_sem reached;
	int rc;
};

static void *a_sender_thread(void *arg)
{
	struct a_sender *a = arg;
	unsigned char msg[MAXLEN];
	uint64_t i = 0;

	while (!atomic_load(&a->stop)) {
		size_t len = t_msg_len(SEED, i, MAXLEN);
		t_msg_fill(SEED, i, msg, len);
		a->rc = ivc_send(a->ch, msg, len, 10000);
		if (a->rc)
			break;
		atomic_store(&a->sent, ++i);
		uint64_t t = atomic_load(&a->target);
		if (t && i >= t) {
			atomic_store(&a->target, 0);
			t_sem_post(&a->reached);
		}
	}
	return NULL;
}

static void expect_hello(struct ivc_channel *ch)
{
	char buf[8];
	CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), 10000), 2);
}

/* The child: A streams from a thread; B and C connect while it does. */
static void listener_child(const char *addr, int count_fd)
{
	struct ivc_options o = small_lanes();
	struct ivc_channel *ch[3];
	static struct a_sender a;
	pthread_t th;

	memset(&a, 0, sizeof(a));
	atomic_init(&a.stop, 0);
	atomic_init(&a.sent, 0);
	atomic_init(&a.target, 0);
	REQUIRE_OK(t_sem_init(&a.reached));
	REQUIRE_OK(ivc_connect(addr, &o, 10000, &ch[0]));
	expect_hello(ch[0]);
	a.ch = ch[0];
	REQUIRE(pthread_create(&th, NULL, a_sender_thread, &a) == 0);
	for (int k = 1; k < 3; k++) {
		REQUIRE_OK(ivc_connect(addr, &o, 10000, &ch[k]));
		/* Accepted (the hello comes from the accept callback)... */
		expect_hello(ch[k]);
		/* ... and A served since: POOL + 1 more sends need at least
		 * one buffer A's callback gave back after that. */
		atomic_store(&a.target, atomic_load(&a.sent) + POOL + 1);
		CHECK_ERR(t_sem_wait(&a.reached, 10000), 0);
	}
	for (uint64_t i = 0; i < PER_CHAN; i += 10)
		for (int k = 1; k < 3; k++)
			CHECK_ERR(send_range(ch[k], SEED + (uint64_t)k, i, i + 10), 0);
	for (int k = 1; k < 3; k++)
		CHECK_ERR(ivc_close(ch[k]), 0);
	atomic_store(&a.stop, 1);
	pthread_join(th, NULL);
	CHECK_ERR(a.rc, 0);
	uint64_t sent = atomic_load(&a.sent);
	CHECK_ERR(write(count_fd, &sent, sizeof(sent)), (ssize_t)sizeof(sent));
	CHECK_ERR(ivc_close(ch[0]), 0);
	t_child_exit();
}

struct accept_state {
	struct ivc_poller *p;
	struct chan_state st[3];
	struct t_sem ended;
	int n;              /* channels accepted */
	int a_calls_at[3];  /* A's callback count at each accept */
};

static int accept_cb(struct ivc_listener *l, void *arg)
{
	struct accept_state *a = arg;

	for (;;) {
		struct ivc_channel *ch = NULL;
		int r = ivc_accept(l, 0, &ch);
		if (r == -EAGAIN)
			return 0;
		if (r < 0) {
			t_fail(__FILE__, __LINE__, "accept: %d (%s)", r, t_errname(r));
			return 0;
		}
		if (a->n == 3) {
			t_fail(__FILE__, __LINE__, "a fourth client");
			ivc_close(ch);
			continue;
		}
		struct chan_state *s = &a->st[a->n];
		chan_init(s, ch, SEED + (uint64_t)a->n);
		s->ended = &a->ended;
		a->a_calls_at[a->n] = a->st[0].calls;
		a->n++;
		/* From inside the callback: at once. */
		CHECK_ERR(ivc_poller_add(a->p, ch, stream_cb, s), 0);
		CHECK_ERR(ivc_send(ch, "hi", 2, 0), 0);
	}
}

struct run_arg {
	struct ivc_poller *p;
	int rc;
};

static void *run_thread(void *arg)
{
	struct run_arg *r = arg;
	r->rc = ivc_poller_run(r->p, -1);
	return NULL;
}

static void test_listener(void)
{
	printf("-- a listener in a poller: clients join while channel A streams\n");
	char addr[108];
	t_addr(addr, sizeof(addr), "plisten");
	struct ivc_listener *l = NULL;
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	int count[2];
	REQUIRE(pipe(count) == 0);
	pid_t pid = t_fork();
	if (pid == 0) {
		close(count[0]);
		ivc_listener_close(l);
		listener_child(addr, count[1]);
	}
	close(count[1]);
	static struct accept_state as;
	memset(&as, 0, sizeof(as));
	REQUIRE_OK(t_sem_init(&as.ended));
	REQUIRE_OK(ivc_poller_create(NULL, &as.p));
	CHECK_ERR(ivc_poller_add_listener(as.p, l, accept_cb, &as), 0);
	CHECK_ERR(ivc_poller_add_listener(as.p, l, accept_cb, &as), -EEXIST);
	/* With only a listener, run keeps running. */
	struct run_arg ra = {as.p, 1};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, run_thread, &ra) == 0);
	for (int i = 0; i < 3; i++)
		CHECK_ERR(t_sem_wait(&as.ended, 30000), 0);
	/* From this thread while it runs: the last thing it served goes,
	 * and the empty poller's run returns. */
	CHECK_ERR(ivc_poller_remove_listener(as.p, l), 0);
	pthread_join(th, NULL);
	CHECK_ERR(ra.rc, 0);
	CHECK_ERR(ivc_poller_remove_listener(as.p, l), -ENOENT);
	uint64_t a_sent = 0;
	CHECK_ERR(read(count[0], &a_sent, sizeof(a_sent)), (ssize_t)sizeof(a_sent));
	close(count[0]);
	CHECK_CHILD_OK(t_wait_child(pid, 10000));

	CHECK_EQ(as.n, 3);
	printf("   A: %llu messages, %d callbacks (%d at the 2nd accept, %d at "
	       "the 3rd)\n", (unsigned long long)as.st[0].next, as.st[0].calls,
	       as.a_calls_at[1], as.a_calls_at[2]);
	CHECK_EQ(as.st[0].next, a_sent);
	CHECK(as.a_calls_at[1] < as.a_calls_at[2]);
	CHECK(as.a_calls_at[2] < as.st[0].calls);
	for (int k = 0; k < as.n; k++) {
		if (k > 0)
			CHECK_EQ(as.st[k].next, PER_CHAN);
		CHECK_ERR(as.st[k].end, -EPIPE);
		CHECK(!as.st[k].bad);
		ivc_close(as.st[k].ch);
	}
	ivc_poller_destroy(as.p);
	ivc_listener_close(l);
	t_sem_destroy(&as.ended);
}

/* ---- 3. cross-thread add and remove around a running loop ---------------------- */

static void test_cross_thread(void)
{
	printf("-- add, remove, close and stop from another thread while "
	       "ivc_poller_run runs\n");
	struct ivc_channel *ks, *kc, *xs, *xc, *ys, *yc;
	REQUIRE_OK(t_pair("pcross-k", NULL, NULL, &ks, &kc));
	REQUIRE_OK(t_pair("pcross-x", NULL, NULL, &xs, &xc));
	REQUIRE_OK(t_pair("pcross-y", NULL, NULL, &ys, &yc));
	struct t_sem reached;
	REQUIRE_OK(t_sem_init(&reached));
	static struct chan_state kst, xst, yst;
	chan_init(&kst, ks, SEED + 20);
	chan_init(&xst, xs, SEED + 21);
	chan_init(&yst, ys, SEED + 22);
	xst.target = yst.target = PER_CHAN;
	xst.reached = yst.reached = &reached;

	struct ivc_poller *p = NULL;
	REQUIRE_OK(ivc_poller_create(NULL, &p));
	/* A channel that never speaks keeps the poller from being empty. */
	REQUIRE_OK(ivc_poller_add(p, ks, stream_cb, &kst));
	struct run_arg ra = {p, 1};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, run_thread, &ra) == 0);

	CHECK_ERR(ivc_poller_add(p, xs, stream_cb, &xst), 0);
	CHECK_ERR(send_range(xc, xst.seed, 0, PER_CHAN), 0);
	CHECK_ERR(t_sem_wait(&reached, 10000), 0);
	/* The loop has served X: it runs, and nobody else may. */
	CHECK_ERR(ivc_poller_run(p, 0), -EBUSY);
	CHECK_ERR(ivc_poller_dispatch(p), -EBUSY);
	/* Handed over, the results come back. */
	CHECK_ERR(ivc_poller_add(p, xs, stream_cb, &xst), -EEXIST);
	CHECK_ERR(ivc_poller_remove(p, kc), -ENOENT);

	/* Remove X with messages still coming, and close it at once: the
	 * loop must not touch it again. */
	CHECK_ERR(send_range(xc, xst.seed, PER_CHAN, PER_CHAN + 64), 0);
	CHECK_ERR(ivc_poller_remove(p, xs), 0);
	int x_calls = xst.calls;
	uint64_t x_next = xst.next;
	CHECK_ERR(ivc_close(xs), 0);
	CHECK(x_next >= PER_CHAN && x_next <= PER_CHAN + 64);

	CHECK_ERR(ivc_poller_add(p, ys, stream_cb, &yst), 0);
	CHECK_ERR(send_range(yc, yst.seed, 0, PER_CHAN), 0);
	CHECK_ERR(t_sem_wait(&reached, 10000), 0);
	CHECK_ERR(ivc_poller_stop(p), 0);
	pthread_join(th, NULL);
	CHECK_ERR(ra.rc, 0);
	/* Its callback never ran after the remove returned. */
	CHECK_EQ(xst.calls, x_calls);
	CHECK_EQ(xst.next, x_next);
	CHECK(!xst.bad);
	CHECK_EQ(yst.next, PER_CHAN);
	CHECK(!yst.bad);
	CHECK_EQ(kst.next, 0);
	/* Not running now: at once. */
	CHECK_ERR(ivc_poller_remove(p, ys), 0);
	CHECK_ERR(ivc_poller_remove(p, ks), 0);
	ivc_poller_destroy(p);
	t_sem_destroy(&reached);
	ivc_close(ks);
	ivc_close(kc);
	ivc_close(xc);
	ivc_close(ys);
	ivc_close(yc);
}

/* ---- 4. arguments ---------------------------------------------------------------- */

static int never_cb(struct ivc_listener *l, void *arg)
{
	(void)l;
	(void)arg;
	t_fail(__FILE__, __LINE__, "accept callback of a listener with no client");
	return 0;
}

/* ivc_poller_stop() from another thread while the loop is inside a
 * dispatch: that dispatch takes the descriptor's wake-ups, the stop's with
 * them.  It must not then say "idle, block" (0) with nothing left to wake
 * the descriptor, or the loop sleeps through the stop (this test's thread
 * loop did, once under TSan: 10 s in poll()).  Played in order, in one
 * thread: the stop, then the dispatch. */
static void test_stop_not_lost(void)
{
	printf("-- a stop taken by a dispatch is reported, once\n");
	struct ivc_poller *p = NULL;
	REQUIRE_OK(ivc_poller_create(NULL, &p));
	int fd = ivc_poller_fd(p);
	CHECK_ERR(ivc_poller_dispatch(p), 0);
	CHECK_ERR(ivc_poller_stop(p), 0);
	int r = ivc_poller_dispatch(p);
	struct pollfd q = {fd, POLLIN, 0};
	CHECK(r > 0 || poll(&q, 1, 0) == 1);
	/* Once: then idle again, and quiet. */
	CHECK_ERR(ivc_poller_dispatch(p), 0);
	CHECK_ERR(poll(&q, 1, 0), 0);
	ivc_poller_destroy(p);
}

static void test_bad_args(void)
{
	printf("-- bad arguments\n");
	char addr[108];
	t_addr(addr, sizeof(addr), "pargs");
	struct ivc_listener *l = NULL;
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	struct ivc_poller *p = NULL;
	REQUIRE_OK(ivc_poller_create(NULL, &p));
	CHECK_ERR(ivc_poller_fd(NULL), -EINVAL);
	CHECK_ERR(ivc_poller_dispatch(NULL), -EINVAL);
	CHECK_ERR(ivc_poller_add_listener(NULL, l, never_cb, NULL), -EINVAL);
	CHECK_ERR(ivc_poller_add_listener(p, NULL, never_cb, NULL), -EINVAL);
	CHECK_ERR(ivc_poller_add_listener(p, l, NULL, NULL), -EINVAL);
	CHECK_ERR(ivc_poller_remove_listener(NULL, l), -EINVAL);
	CHECK_ERR(ivc_poller_remove_listener(p, NULL), -EINVAL);
	CHECK_ERR(ivc_poller_remove_listener(p, l), -ENOENT);
	/* A listener alone keeps run going; with no client it times out. */
	CHECK_ERR(ivc_poller_add_listener(p, l, never_cb, NULL), 0);
	CHECK_ERR(ivc_poller_run(p, 20), -ETIMEDOUT);
	CHECK_ERR(ivc_poller_dispatch(p), 0);
	CHECK_ERR(ivc_poller_remove_listener(p, l), 0);
	/* Empty: run returns at once. */
	CHECK_ERR(ivc_poller_run(p, -1), 0);
	ivc_poller_destroy(p);
	ivc_listener_close(l);
}

int main(void)
{
	t_init("test_poller_loop", 110);
	test_bad_args();
	test_stop_not_lost();
	test_app_loop();
	test_app_loop_threads();
	test_listener();
	test_cross_thread();
	return t_finish();
}
