/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_wait.c - wait sets (fi_wait_open, fi_wait) and fi_trywait().
 *
 * A wait set gathers CQs opened with FI_WAIT_SET, of any domain of the
 * fabric.  fi_wait() waits as a blocking CQ read does (fi_cq_wait.c), for
 * all of them at once: progress on each in a short spin, then one sleep in
 * poll(2) on every descriptor their endpoints would be woken by, armed,
 * each domain's lock let go.  It returns once a CQ has something to read
 * (or was signalled), so an idle rank costs no CPU here either.
 *
 * With FI_WAIT_FD the application sleeps itself, on one descriptor
 * (fi_control(FI_GETWAIT), fi_fdset.c), after fi_trywait() said so:
 * manual progress means nothing moves while it sleeps, so fi_trywait()
 * runs progress, and answers -FI_EAGAIN if anything is to be read, else
 * puts exactly the armed descriptors into the set.
 *
 * The set's lock guards only its list of CQs, and is never held while a
 * domain's lock is taken.  A CQ must not be closed while another thread
 * waits on its set (as a descriptor must not be closed under a poll(2)).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "fi/fi_pvt.h"

static int wait_close(struct fid *fid);
static int wait_control(struct fid *fid, int command, void *arg);

static struct fi_ops wait_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = wait_close,
	.bind = ivcfi_no_bind,
	.control = wait_control,
	.ops_open = ivcfi_no_ops_open,
};

bool ivcfi_is_wait(const struct fid_wait *w)
{
	return w && w->fid.fclass == FI_CLASS_WAIT && w->fid.ops == &wait_fi_ops;
}

static struct ivcfi_wait *wait_of(struct fid_wait *w)
{
	return ivcfi_container(w, struct ivcfi_wait, wait);
}

int ivcfi_wait_add_cq(struct ivcfi_wait *w, struct ivcfi_cq *cq)
{
	pthread_mutex_lock(&w->lock);
	int r = ivcfi_cq_set_add(&w->cqs, cq);
	pthread_mutex_unlock(&w->lock);
	return r;
}

void ivcfi_wait_del_cq(struct ivcfi_wait *w, struct ivcfi_cq *cq)
{
	pthread_mutex_lock(&w->lock);
	(void)ivcfi_cq_set_del(&w->cqs, cq);
	pthread_mutex_unlock(&w->lock);
}

/* The CQs now in @w, in an array of the caller's (to free): NULL with
 * *@n 0 when there are none, NULL with *@n > 0 when out of memory. */
static struct ivcfi_cq **snapshot(struct ivcfi_wait *w, size_t *n)
{
	struct ivcfi_cq **cqs = NULL;

	pthread_mutex_lock(&w->lock);
	*n = w->cqs.n;
	if (*n) {
		cqs = malloc(*n * sizeof(*cqs));
		if (cqs)
			for (size_t i = 0; i < *n; i++)
				cqs[i] = w->cqs.v[i];
	}
	pthread_mutex_unlock(&w->lock);
	return cqs;
}

/* Progress on every CQ once; whether one has something (a signal is
 * taken: it has woken us). */
static bool look(struct ivcfi_cq **cqs, size_t n)
{
	bool ready = false;

	for (size_t i = 0; i < n; i++) {
		struct ivcfi_cq *cq = cqs[i];

		ivcfi_lock(cq->dom);
		ivcfi_cq_progress(cq);
		if (ivcfi_cq_has_work(cq)) {
			(void)ivcfi_cq_take_signal(cq);
			ready = true;
		}
		ivcfi_unlock(cq->dom);
	}
	return ready;
}

/* One sleep on every CQ's descriptors, each counted among its CQ's
 * sleepers with its lock let go.  Returns 0, or -FI_ENOMEM. */
static int sleep_all(struct ivcfi_cq **cqs, size_t n, int timeout_ms)
{
	int cap = IVCFI_WAIT_FDS0, nfds = 0, r = 0;
	struct pollfd *fds = malloc((size_t)cap * sizeof(*fds));
	size_t slept = 0;
	bool ready = false;

	if (!fds)
		return -FI_ENOMEM;
	for (; slept < n && !ready; slept++) {
		struct ivcfi_cq *cq = cqs[slept];

		ivcfi_lock(cq->dom);
		int k = ivcfi_cq_collect(cq, &fds, &cap, nfds);
		if (k >= 0) {
			ivcfi_cq_sleep_begin(cq);
			nfds += k;
		}
		ivcfi_unlock(cq->dom);
		if (k == -1) /* something to read already: no sleep */
			ready = true;
		else if (k < 0)
			r = k, ready = true;
		if (ready)
			break;
	}
	if (!ready)
		poll(fds, (nfds_t)nfds, timeout_ms);
	for (size_t i = 0; i < slept; i++) {
		ivcfi_lock(cqs[i]->dom);
		ivcfi_cq_sleep_end(cqs[i]);
		ivcfi_unlock(cqs[i]->dom);
	}
	free(fds);
	return r;
}

static int wait_wait(struct fid_wait *fw, int timeout)
{
	struct ivcfi_wait *w = wait_of(fw);
	struct timespec t0;
	size_t n;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct ivcfi_cq **cqs = snapshot(w, &n);
	if (!cqs && n)
		return -FI_ENOMEM;
	for (;;) {
		if (look(cqs, n))
			break;
		if (ivcfi_elapsed_ns(&t0) < IVCFI_SPIN_NS && timeout != 0)
			continue;
		int left = ivcfi_ms_left(&t0, timeout);
		if (!left) {
			r = -FI_ETIMEDOUT;
			break;
		}
		r = sleep_all(cqs, n, left);
		if (r)
			break;
	}
	free(cqs);
	return r;
}

static struct fi_ops_wait wait_ops = {
	.size = sizeof(struct fi_ops_wait),
	.wait = wait_wait,
};

static int wait_close(struct fid *fid)
{
	struct ivcfi_wait *w = ivcfi_container(fid, struct ivcfi_wait, wait.fid);

	pthread_mutex_lock(&w->lock);
	size_t n = w->cqs.n;
	pthread_mutex_unlock(&w->lock);
	if (n)
		return -FI_EBUSY;
	__atomic_fetch_sub(&w->fab->refs, 1, __ATOMIC_RELEASE);
	ivcfi_fdset_fini(&w->fdset);
	pthread_mutex_destroy(&w->lock);
	free(w->cqs.v);
	free(w);
	return 0;
}

static int wait_control(struct fid *fid, int command, void *arg)
{
	struct ivcfi_wait *w = ivcfi_container(fid, struct ivcfi_wait, wait.fid);
	int r;

	if (!arg)
		return -FI_EINVAL;
	switch (command) {
	case FI_GETWAITOBJ:
		*(enum fi_wait_obj *)arg = w->wait_obj;
		return 0;
	case FI_GETWAIT:
		if (w->wait_obj != FI_WAIT_FD)
			return -FI_ENODATA;
		pthread_mutex_lock(&w->lock);
		r = ivcfi_fdset_fd(&w->fdset);
		pthread_mutex_unlock(&w->lock);
		if (r < 0)
			return r;
		*(int *)arg = r;
		return 0;
	default:
		return -FI_ENOSYS;
	}
}

int ivcfi_wait_open(struct fid_fabric *fabric, struct fi_wait_attr *attr,
		    struct fid_wait **waitset)
{
	struct ivcfi_fabric *f = ivcfi_container(fabric, struct ivcfi_fabric, fabric);
	enum fi_wait_obj obj = attr ? attr->wait_obj : FI_WAIT_UNSPEC;

	if (!waitset || (attr && attr->flags))
		return -FI_EINVAL;
	if (obj == FI_WAIT_MUTEX_COND || obj == FI_WAIT_YIELD || obj == FI_WAIT_POLLFD)
		return -FI_ENOSYS; /* not built (docs/mpi.md) */
	if (obj != FI_WAIT_UNSPEC && obj != FI_WAIT_FD)
		return -FI_EINVAL; /* FI_WAIT_NONE, FI_WAIT_SET: not a set's */
	struct ivcfi_wait *w = calloc(1, sizeof(*w));
	if (!w)
		return -FI_ENOMEM;
	w->fab = f;
	w->wait_obj = obj;
	pthread_mutex_init(&w->lock, NULL);
	ivcfi_fdset_init(&w->fdset);
	w->wait.fid.fclass = FI_CLASS_WAIT;
	w->wait.fid.context = NULL;
	w->wait.fid.ops = &wait_fi_ops;
	w->wait.ops = &wait_ops;
	__atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
	*waitset = &w->wait;
	return 0;
}

/* fi_trywait() for a set: every CQ's, and the set's descriptor watches
 * them all. */
static int trywait_set(struct ivcfi_wait *w, struct pollfd **fds, int *cap)
{
	size_t n_cqs;
	int n = 0, r = 0;
	struct ivcfi_cq **cqs = snapshot(w, &n_cqs);

	if (!cqs && n_cqs)
		return -FI_ENOMEM;
	for (size_t i = 0; i < n_cqs && r >= 0; i++) {
		r = ivcfi_cq_trywait(cqs[i], fds, cap, n);
		if (r >= 0)
			n += r;
	}
	free(cqs);
	if (r < 0 || w->wait_obj != FI_WAIT_FD)
		return r < 0 ? r : 0;
	pthread_mutex_lock(&w->lock);
	r = ivcfi_fdset_sync(&w->fdset, *fds, n);
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* fi_trywait() for a CQ: a set's member stands for its set; a CQ of its
 * own with FI_WAIT_FD has its descriptor watch what a sleep on it would. */
static int trywait_cq(struct ivcfi_cq *cq, struct pollfd **fds, int *cap)
{
	if (cq->wait_obj == FI_WAIT_NONE)
		return -FI_EINVAL; /* nothing to block on */
	if (cq->wset)
		return trywait_set(cq->wset, fds, cap);
	int n = ivcfi_cq_trywait(cq, fds, cap, 0);
	if (n < 0 || cq->wait_obj != FI_WAIT_FD)
		return n < 0 ? n : 0;
	ivcfi_lock(cq->dom);
	int r = ivcfi_fdset_sync(&cq->fdset, *fds, n);
	ivcfi_unlock(cq->dom);
	return r;
}

int ivcfi_trywait(struct fid_fabric *fabric, struct fid **fids, int count)
{
	int cap = IVCFI_WAIT_FDS0, r = 0;
	struct pollfd *fds;

	(void)fabric;
	if (count < 0 || (count && !fids))
		return -FI_EINVAL;
	fds = malloc((size_t)cap * sizeof(*fds));
	if (!fds)
		return -FI_ENOMEM;
	for (int i = 0; i < count && !r; i++) {
		struct fid *f = fids[i];

		if (ivcfi_is_cq(f))
			r = trywait_cq(ivcfi_container(f, struct ivcfi_cq, cq.fid), &fds, &cap);
		else if (f && ivcfi_is_wait(ivcfi_container(f, struct fid_wait, fid)))
			r = trywait_set(wait_of(ivcfi_container(f, struct fid_wait, fid)),
					&fds, &cap);
		else if (f && f->fclass == FI_CLASS_EQ)
			r = 0; /* ours never has an event (fi_eq.c) */
		else
			r = -FI_EINVAL;
	}
	free(fds);
	return r;
}
