/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_cq.c - completion queues: successful completions in a ring that
 * grows (never dropped, never an overrun: FI_RM_ENABLED), errors in a list
 * of their own.  Reading a CQ drives progress on the endpoints bound to it
 * (manual progress: the application's reads are what moves data).
 * Every entry point here takes the domain's lock once (fi_pvt.h); the
 * static helpers below them run with it held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fi/fi_pvt.h"

int ivcfi_cq_add_ep(struct ivcfi_cq *cq, struct ivcfi_ep *ep)
{
	for (size_t i = 0; i < cq->n_eps; i++)
		if (cq->eps[i] == ep)
			return 0;
	if (cq->n_eps == IVCFI_CQ_EPS)
		return -FI_ENOSPC;
	cq->eps[cq->n_eps++] = ep;
	return 0;
}

void ivcfi_cq_del_ep(struct ivcfi_cq *cq, struct ivcfi_ep *ep)
{
	for (size_t i = 0; i < cq->n_eps; i++) {
		if (cq->eps[i] == ep) {
			cq->eps[i] = cq->eps[--cq->n_eps];
			return;
		}
	}
}

void ivcfi_cq_progress(struct ivcfi_cq *cq)
{
	for (size_t i = 0; i < cq->n_eps; i++)
		ivcfi_ep_progress(cq->eps[i]);
}

static int cq_grow(struct ivcfi_cq *cq)
{
	size_t cap = cq->cap ? cq->cap * 2 : 64;
	struct ivcfi_cqe *r = malloc(cap * sizeof(*r));

	if (!r)
		return -FI_ENOMEM;
	for (size_t i = 0; i < cq->count; i++)
		r[i] = cq->ring[(cq->head + i) % cq->cap];
	free(cq->ring);
	cq->ring = r;
	cq->cap = cap;
	cq->head = 0;
	return 0;
}

int ivcfi_cq_write(struct ivcfi_cq *cq, void *ctx, uint64_t flags, size_t len,
		   void *buf, uint64_t data, uint64_t tag, fi_addr_t src)
{
	if (!cq)
		return 0;
	if (cq->count == cq->cap && cq_grow(cq))
		return -FI_ENOMEM;
	struct ivcfi_cqe *c = &cq->ring[(cq->head + cq->count) % cq->cap];
	c->e.op_context = ctx;
	c->e.flags = flags;
	c->e.len = len;
	c->e.buf = buf;
	c->e.data = data;
	c->e.tag = tag;
	c->src = src;
	cq->count++;
	cq->dom->completions++;
	ivcfi_cq_wake(cq);
	return 0;
}

int ivcfi_cq_write_err(struct ivcfi_cq *cq, void *ctx, uint64_t flags,
		       size_t len, uint64_t data, uint64_t tag, size_t olen,
		       int err, int prov_errno)
{
	if (!cq)
		return 0;
	struct ivcfi_cqerr *e = calloc(1, sizeof(*e));
	if (!e)
		return -FI_ENOMEM;
	e->e.op_context = ctx;
	e->e.flags = flags;
	e->e.len = len;
	e->e.data = data;
	e->e.tag = tag;
	e->e.olen = olen;
	e->e.err = err;
	e->e.prov_errno = prov_errno;
	if (cq->err_tail)
		cq->err_tail->next = e;
	else
		cq->err_head = e;
	cq->err_tail = e;
	cq->dom->completions++;
	ivcfi_cq_wake(cq);
	return 0;
}

/* Copy one completion in the CQ's format; returns the entry's size. */
static size_t cq_copy(const struct ivcfi_cq *cq, void *dst,
		      const struct fi_cq_tagged_entry *e)
{
	switch (cq->format) {
	case FI_CQ_FORMAT_CONTEXT: {
		struct fi_cq_entry *c = dst;
		c->op_context = e->op_context;
		return sizeof(*c);
	}
	case FI_CQ_FORMAT_MSG: {
		struct fi_cq_msg_entry *c = dst;
		c->op_context = e->op_context;
		c->flags = e->flags;
		c->len = e->len;
		return sizeof(*c);
	}
	case FI_CQ_FORMAT_DATA: {
		struct fi_cq_data_entry *c = dst;
		c->op_context = e->op_context;
		c->flags = e->flags;
		c->len = e->len;
		c->buf = e->buf;
		c->data = e->data;
		return sizeof(*c);
	}
	default:
		memcpy(dst, e, sizeof(*e));
		return sizeof(*e);
	}
}

/* Hand out what is there, without progress. */
static ssize_t cq_take(struct ivcfi_cq *cq, void *buf, size_t count,
		       fi_addr_t *src)
{
	if (cq->err_head)
		return -FI_EAVAIL;
	if (!cq->count)
		return -FI_EAGAIN;
	char *p = buf;
	size_t n = 0;
	while (n < count && cq->count) {
		const struct ivcfi_cqe *c = &cq->ring[cq->head];
		p += cq_copy(cq, p, &c->e);
		if (src)
			src[n] = c->src;
		cq->head = (cq->head + 1) % cq->cap;
		cq->count--;
		n++;
	}
	return (ssize_t)n;
}

/* Take what is there, else progress once and look again.  A read of no
 * entries is a call for progress alone, and progresses even while
 * completions wait: over tcp a send completes before its bytes have all
 * left, and only this endpoint's progress moves the rest. */
ssize_t ivcfi_cq_read_locked(struct ivcfi_cq *cq, void *buf, size_t count,
			     fi_addr_t *src)
{
	/* A reader is awake: completions need ring no descriptor now. */
	cq->armed = false;
	ssize_t n = count ? cq_take(cq, buf, count, src) : -FI_EAGAIN;
	if (n != -FI_EAGAIN)
		return n;
	ivcfi_cq_progress(cq);
	return cq_take(cq, buf, count, src);
}

static ssize_t cq_readfrom(struct fid_cq *fcq, void *buf, size_t count,
			   fi_addr_t *src)
{
	struct ivcfi_cq *cq = ivcfi_container(fcq, struct ivcfi_cq, cq);

	ivcfi_lock(cq->dom);
	ssize_t n = ivcfi_cq_read_locked(cq, buf, count, src);
	if (n == -FI_EAGAIN && count && cq->idle.after_ns)
		n = ivcfi_cq_idle_read(cq, buf, count, src);
	ivcfi_unlock(cq->dom);
	return n;
}

static ssize_t cq_read(struct fid_cq *cq, void *buf, size_t count)
{
	return cq_readfrom(cq, buf, count, NULL);
}

static ssize_t readerr_locked(struct ivcfi_cq *cq, struct fi_cq_err_entry *buf)
{
	struct ivcfi_cqerr *e = cq->err_head;

	if (!e)
		return -FI_EAGAIN;
	cq->err_head = e->next;
	if (!cq->err_head)
		cq->err_tail = NULL;
	/* Before API 1.5 the entry ends at err_data (no err_data_size). */
	size_t sz = sizeof(*buf);
	if (FI_VERSION_LT(cq->dom->fab->fabric.api_version, FI_VERSION(1, 5)))
		sz = offsetof(struct fi_cq_err_entry, err_data_size);
	memcpy(buf, &e->e, sz);
	free(cq->err_last);
	cq->err_last = e;
	return 1;
}

static ssize_t cq_readerr(struct fid_cq *fcq, struct fi_cq_err_entry *buf,
			  uint64_t flags)
{
	struct ivcfi_cq *cq = ivcfi_container(fcq, struct ivcfi_cq, cq);

	(void)flags;
	ivcfi_lock(cq->dom);
	ssize_t n = readerr_locked(cq, buf);
	ivcfi_unlock(cq->dom);
	return n;
}

static ssize_t cq_sreadfrom(struct fid_cq *fcq, void *buf, size_t count,
			    fi_addr_t *src, const void *cond, int timeout)
{
	struct ivcfi_cq *cq = ivcfi_container(fcq, struct ivcfi_cq, cq);
	struct timespec t0;
	ssize_t n;

	(void)cond; /* threshold: one completion is always enough for us */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ivcfi_lock(cq->dom);
	/* The sleep lets the lock go: each round reads the CQ afresh.  A
	 * fi_cq_signal() ends the wait with nothing read. */
	while ((n = ivcfi_cq_read_locked(cq, buf, count, src)) == -FI_EAGAIN) {
		if (ivcfi_cq_take_signal(cq))
			break;
		int left = ivcfi_ms_left(&t0, timeout);
		if (!left)
			break;
		ivcfi_cq_sleep(cq, left);
	}
	ivcfi_unlock(cq->dom);
	return n;
}

static ssize_t cq_sread(struct fid_cq *cq, void *buf, size_t count,
			const void *cond, int timeout)
{
	return cq_sreadfrom(cq, buf, count, NULL, cond, timeout);
}

/* Wake a thread blocked in fi_cq_sread() (it returns -FI_EAGAIN), or in
 * fi_wait() on the CQ's wait set, or polling its descriptor.  Any thread
 * may call it: no lock, the flag is atomic and the eventfd a system call. */
static int cq_signal(struct fid_cq *fcq)
{
	struct ivcfi_cq *cq = ivcfi_container(fcq, struct ivcfi_cq, cq);
	uint64_t one = 1;

	if (cq->wait_obj == FI_WAIT_NONE)
		return -FI_ENOSYS; /* nobody may block on it */
	__atomic_store_n(&cq->signaled, 1, __ATOMIC_RELEASE);
	ssize_t w = write(cq->wake_fd, &one, sizeof(one));
	(void)w; /* a full counter still polls readable */
	return 0;
}

/* Looks at no CQ state (no error data is kept): no lock. */
static const char *cq_strerror(struct fid_cq *cq, int prov_errno,
			       const void *err_data, char *buf, size_t len)
{
	(void)cq, (void)err_data;
	const char *s = ivc_strerror(prov_errno);

	if (buf && len) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	return s;
}

static struct fi_ops_cq cq_ops = {
	.size = sizeof(struct fi_ops_cq),
	.read = cq_read,
	.readfrom = cq_readfrom,
	.readerr = cq_readerr,
	.sread = cq_sread,
	.sreadfrom = cq_sreadfrom,
	.signal = cq_signal,
	.strerror = cq_strerror,
};

static int cq_close(struct fid *fid)
{
	struct ivcfi_cq *cq = ivcfi_container(fid, struct ivcfi_cq, cq.fid);
	struct ivcfi_domain *d = cq->dom;

	ivcfi_lock(d);
	if (cq->n_eps || cq->polls) {
		ivcfi_unlock(d);
		return -FI_EBUSY;
	}
	d->refs--;
	ivcfi_unlock(d);
	ivcfi_cq_idle_report(cq);
	if (cq->wset)
		ivcfi_wait_del_cq(cq->wset, cq);
	ivcfi_fdset_fini(&cq->fdset);
	/* Unbound and closed: no other thread may use it any more. */
	while (cq->err_head) {
		struct ivcfi_cqerr *e = cq->err_head;
		cq->err_head = e->next;
		free(e);
	}
	ivcfi_cq_wake_fini(cq);
	free(cq->err_last);
	free(cq->ring);
	free(cq);
	return 0;
}

static struct fi_ops cq_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = cq_close,
	.bind = ivcfi_no_bind,
	.control = ivcfi_cq_control,
	.ops_open = ivcfi_no_ops_open,
};

bool ivcfi_is_cq(const struct fid *fid)
{
	return fid && fid->fclass == FI_CLASS_CQ && fid->ops == &cq_fi_ops;
}

int ivcfi_cq_control(struct fid *fid, int command, void *arg)
{
	struct ivcfi_cq *cq = ivcfi_container(fid, struct ivcfi_cq, cq.fid);

	if (!arg)
		return -FI_EINVAL;
	switch (command) {
	case FI_GETWAITOBJ:
		*(enum fi_wait_obj *)arg = cq->wait_obj;
		return 0;
	case FI_GETWAIT: {
		/* Only FI_WAIT_FD has a descriptor to give: a set's is the
		 * set's, and the others' are the provider's business. */
		if (cq->wait_obj != FI_WAIT_FD)
			return -FI_ENODATA;
		ivcfi_lock(cq->dom);
		int fd = ivcfi_fdset_fd(&cq->fdset);
		ivcfi_unlock(cq->dom);
		if (fd < 0)
			return fd;
		*(int *)arg = fd;
		return 0;
	}
	default:
		return -FI_ENOSYS;
	}
}

/* The wait objects a CQ may have: FI_WAIT_POLLFD, _MUTEX_COND and _YIELD
 * are not built (docs/mpi.md). */
static int check_wait(const struct fi_cq_attr *attr)
{
	if (!attr)
		return 0;
	switch (attr->wait_obj) {
	case FI_WAIT_NONE:
	case FI_WAIT_UNSPEC:
	case FI_WAIT_FD:
		return 0;
	case FI_WAIT_SET:
		return ivcfi_is_wait(attr->wait_set) ? 0 : -FI_EINVAL;
	default:
		return -FI_ENOSYS;
	}
}

int ivcfi_cq_open(struct fid_domain *domain, struct fi_cq_attr *attr,
		  struct fid_cq **out, void *context)
{
	struct ivcfi_domain *d = ivcfi_container(domain, struct ivcfi_domain, domain);
	enum fi_cq_format fmt = attr ? attr->format : FI_CQ_FORMAT_UNSPEC;

	if (fmt == FI_CQ_FORMAT_UNSPEC)
		fmt = FI_CQ_FORMAT_CONTEXT;
	if (fmt != FI_CQ_FORMAT_CONTEXT && fmt != FI_CQ_FORMAT_MSG &&
	    fmt != FI_CQ_FORMAT_DATA && fmt != FI_CQ_FORMAT_TAGGED)
		return -FI_ENOSYS;
	/* Blocking reads sleep on ivc's descriptors, alone or with a wait
	 * set's other CQs, or the application does, on one descriptor. */
	int r = check_wait(attr);
	if (r)
		return r;
	struct ivcfi_cq *cq = calloc(1, sizeof(*cq));
	if (!cq)
		return -FI_ENOMEM;
	cq->dom = d;
	cq->format = fmt;
	cq->wait_obj = attr ? attr->wait_obj : FI_WAIT_NONE;
	ivcfi_cq_idle_init(cq);
	ivcfi_fdset_init(&cq->fdset);
	if (ivcfi_cq_wake_init(cq)) {
		free(cq);
		return -FI_ENOMEM;
	}
	if (cq->wait_obj == FI_WAIT_SET) {
		struct ivcfi_wait *w =
			ivcfi_container(attr->wait_set, struct ivcfi_wait, wait);
		r = ivcfi_wait_add_cq(w, cq);
		if (r) {
			ivcfi_cq_wake_fini(cq);
			free(cq);
			return r;
		}
		cq->wset = w;
	}
	cq->cq.fid.fclass = FI_CLASS_CQ;
	cq->cq.fid.context = context;
	cq->cq.fid.ops = &cq_fi_ops;
	cq->cq.ops = &cq_ops;
	ivcfi_lock(d);
	d->refs++;
	ivcfi_unlock(d);
	*out = &cq->cq;
	return 0;
}
