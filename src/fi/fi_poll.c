/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_poll.c - poll sets (fi_poll_open, fi_poll_add, fi_poll): CQs of
 * one domain progressed by one call, which answers with the contexts of
 * those that have something to read.  Counters are not built, so a poll
 * set holds CQs only.  A CQ in a set cannot be closed (-FI_EBUSY) until
 * it is taken out.
 */
#include <stdlib.h>

#include "fi/fi_pvt.h"

static struct ivcfi_poll *poll_of(struct fid_poll *p)
{
	return ivcfi_container(p, struct ivcfi_poll, poll);
}

static int poll_poll(struct fid_poll *fp, void **context, int count)
{
	struct ivcfi_poll *p = poll_of(fp);
	int n = 0;

	if (count < 0 || (count && !context))
		return -FI_EINVAL;
	ivcfi_lock(p->dom);
	for (size_t i = 0; i < p->cqs.n; i++)
		ivcfi_cq_progress(p->cqs.v[i]);
	for (size_t i = 0; i < p->cqs.n && n < count; i++) {
		const struct ivcfi_cq *cq = p->cqs.v[i];
		if (cq->count || cq->err_head)
			context[n++] = cq->cq.fid.context;
	}
	ivcfi_unlock(p->dom);
	return n;
}

static int poll_add(struct fid_poll *fp, struct fid *event_fid, uint64_t flags)
{
	struct ivcfi_poll *p = poll_of(fp);

	if (flags)
		return -FI_EINVAL;
	if (event_fid && event_fid->fclass == FI_CLASS_CNTR)
		return -FI_ENOSYS; /* no counters */
	if (!ivcfi_is_cq(event_fid))
		return -FI_EINVAL;
	struct ivcfi_cq *cq = ivcfi_container(event_fid, struct ivcfi_cq, cq.fid);
	if (cq->dom != p->dom)
		return -FI_EINVAL;
	ivcfi_lock(p->dom);
	int r = ivcfi_cq_set_add(&p->cqs, cq);
	if (!r)
		cq->polls++;
	ivcfi_unlock(p->dom);
	return r;
}

static int poll_del(struct fid_poll *fp, struct fid *event_fid, uint64_t flags)
{
	struct ivcfi_poll *p = poll_of(fp);

	if (flags || !ivcfi_is_cq(event_fid))
		return -FI_EINVAL;
	struct ivcfi_cq *cq = ivcfi_container(event_fid, struct ivcfi_cq, cq.fid);
	ivcfi_lock(p->dom);
	int r = ivcfi_cq_set_del(&p->cqs, cq);
	if (!r)
		cq->polls--;
	ivcfi_unlock(p->dom);
	return r;
}

static struct fi_ops_poll poll_ops = {
	.size = sizeof(struct fi_ops_poll),
	.poll = poll_poll,
	.poll_add = poll_add,
	.poll_del = poll_del,
};

static int poll_close(struct fid *fid)
{
	struct ivcfi_poll *p = ivcfi_container(fid, struct ivcfi_poll, poll.fid);
	struct ivcfi_domain *d = p->dom;

	ivcfi_lock(d);
	if (p->cqs.n) {
		ivcfi_unlock(d);
		return -FI_EBUSY;
	}
	d->refs--;
	ivcfi_unlock(d);
	free(p->cqs.v);
	free(p);
	return 0;
}

static struct fi_ops poll_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = poll_close,
	.bind = ivcfi_no_bind,
	.control = ivcfi_no_control,
	.ops_open = ivcfi_no_ops_open,
};

int ivcfi_poll_open(struct fid_domain *domain, struct fi_poll_attr *attr,
		    struct fid_poll **pollset)
{
	struct ivcfi_domain *d = ivcfi_container(domain, struct ivcfi_domain, domain);

	if (!pollset || (attr && attr->flags))
		return -FI_EINVAL;
	struct ivcfi_poll *p = calloc(1, sizeof(*p));
	if (!p)
		return -FI_ENOMEM;
	p->dom = d;
	p->poll.fid.fclass = FI_CLASS_POLL;
	p->poll.fid.ops = &poll_fi_ops;
	p->poll.ops = &poll_ops;
	ivcfi_lock(d);
	d->refs++;
	ivcfi_unlock(d);
	*pollset = &p->poll;
	return 0;
}
