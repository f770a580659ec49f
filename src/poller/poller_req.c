/* SPDX-License-Identifier: MIT */
/*
 * Changing a poller from any thread.
 *
 * One thread at a time owns a poller and alone touches its sets: the thread
 * in ivc_poller_run()/ivc_poller_dispatch(), or, while none runs it, a
 * thread that changes it ("held", with the mutex held).  The owner changes
 * the sets at once.  Any other thread queues its change under the mutex,
 * raises the "pending" flag, wakes the loop through the request eventfd
 * (it is in the epoll set the loop sleeps in) and waits on the condition
 * variable until the loop has applied it.  The loop loads the flag once a
 * pass and takes the mutex only when it is up: no lock on the hot path.
 *
 * The race between a change queued and the loop leaving is a Dekker pair
 * of sequentially consistent accesses: the submitter raises the flag, then
 * looks whether the loop still owns the poller; the loop gives the poller
 * up, then looks at the flag.  At least one of them sees the other, and
 * applies the queue itself.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "poller/poller_pvt.h"

/* The address of this thread's copy names the calling thread: the owner
 * token of the thread that runs a poller.  (A token cannot be mistaken
 * for another live thread's.) */
static _Thread_local char thread_token;
/* The owner while a thread that does not run the poller changes it. */
static char held_token;

int ivc_poller_req_init(struct ivc_poller *p)
{
	int r = pthread_mutex_init(&p->mu, NULL);

	if (r)
		return -r;
	r = pthread_cond_init(&p->cv, NULL);
	if (r) {
		pthread_mutex_destroy(&p->mu);
		return -r;
	}
	p->q_head = NULL;
	p->q_tail = &p->q_head;
	return 0;
}

void ivc_poller_req_fini(struct ivc_poller *p)
{
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}

static int take_owner(struct ivc_poller *p, void *token)
{
	void *none = NULL;

	return __atomic_compare_exchange_n(&p->owner, &none, token, 0,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void give_owner(struct ivc_poller *p)
{
	__atomic_store_n(&p->owner, NULL, __ATOMIC_SEQ_CST);
}

int ivc_poller_owned_here(const struct ivc_poller *p)
{
	return __atomic_load_n(&p->owner, __ATOMIC_RELAXED) == (void *)&thread_token;
}

void ivc_poller_wake(struct ivc_poller *p)
{
	uint64_t one = 1;

	if (write(p->req_fd, &one, sizeof(one)) < 0)
		(void)one; /* counter saturated: a wake-up is pending anyway */
}

/* Apply everything queued (the mutex held, the poller ours). */
static long drain_queue(struct ivc_poller *p)
{
	struct ivc_poller_req *q;
	long n = 0;

	__atomic_store_n(&p->pending, 0, __ATOMIC_RELAXED);
	while ((q = p->q_head) != NULL) {
		p->q_head = q->next;
		q->rc = p->apply(p, q);
		q->done = 1; /* (q may be gone once the mutex is let go) */
		n++;
	}
	p->q_tail = &p->q_head;
	if (n)
		pthread_cond_broadcast(&p->cv);
	return n;
}

/* With the mutex held: apply the queue if no thread runs the poller. */
static void adopt_queue(struct ivc_poller *p)
{
	if (!take_owner(p, &held_token))
		return; /* a loop runs: it will see the flag */
	drain_queue(p);
	give_owner(p);
}

int ivc_poller_own(struct ivc_poller *p)
{
	for (;;) {
		void *o;

		if (take_owner(p, &thread_token))
			return 0;
		o = __atomic_load_n(&p->owner, __ATOMIC_SEQ_CST);
		if (o != &held_token && o != NULL)
			return -EBUSY;
		/* Another thread changes the idle poller, holding the mutex:
		 * wait for it to finish. */
		pthread_mutex_lock(&p->mu);
		pthread_mutex_unlock(&p->mu);
	}
}

void ivc_poller_disown(struct ivc_poller *p)
{
	if (ivc_poller_requests_pending(p))
		ivc_poller_take_requests(p);
	give_owner(p);
	/* A request queued while we were leaving (see the file comment). */
	if (__atomic_load_n(&p->pending, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&p->mu);
		adopt_queue(p);
		pthread_mutex_unlock(&p->mu);
	}
}

long ivc_poller_take_requests(struct ivc_poller *p)
{
	long n;

	pthread_mutex_lock(&p->mu);
	n = drain_queue(p);
	pthread_mutex_unlock(&p->mu);
	return n;
}

/* Queue @q for the running loop and wait until it applied it (the mutex
 * held). */
static void hand_over(struct ivc_poller *p, struct ivc_poller_req *q)
{
	q->next = NULL;
	q->done = 0;
	*p->q_tail = q;
	p->q_tail = &q->next;
	__atomic_store_n(&p->pending, 1, __ATOMIC_SEQ_CST);
	/* The loop may have left before it saw the flag: then nobody owns
	 * the poller and the queue is ours to apply. */
	adopt_queue(p);
	if (q->done)
		return;
	ivc_poller_wake(p);
	while (!q->done)
		pthread_cond_wait(&p->cv, &p->mu);
}

int ivc_poller_submit(struct ivc_poller *p, struct ivc_poller_req *q)
{
	int r;

	/* From a callback: the loop is us. */
	if (ivc_poller_owned_here(p))
		return p->apply(p, q);
	pthread_mutex_lock(&p->mu);
	if (take_owner(p, &held_token)) {
		r = p->apply(p, q);
		give_owner(p);
		/* An application's loop may sleep on ivc_poller_fd() between
		 * two ivc_poller_dispatch() calls: a channel added now is
		 * not armed yet, so let it look. */
		ivc_poller_wake(p);
	} else {
		hand_over(p, q);
		r = q->rc;
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}
