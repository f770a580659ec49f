/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_domain.c - the domain: opens AVs, CQs and endpoints.  Memory
 * registration is not needed (mr_mode 0: payloads are copied into ivc's
 * lanes), so the registration calls are -FI_ENOSYS.  It also decides, once,
 * whether calls below it lock (fi_pvt.h, "Threading").
 */
#include <stdlib.h>
#include <string.h>

#include "fi/fi_pvt.h"

static int domain_close(struct fid *fid)
{
	struct ivcfi_domain *d = ivcfi_container(fid, struct ivcfi_domain, domain.fid);

	ivcfi_lock(d);
	int busy = d->refs;
	ivcfi_unlock(d);
	if (busy)
		return -FI_EBUSY;
	if (d->locking)
		pthread_mutex_destroy(&d->lock);
	__atomic_fetch_sub(&d->fab->refs, 1, __ATOMIC_RELEASE);
	free(d);
	return 0;
}

static struct fi_ops domain_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = domain_close,
	.bind = ivcfi_no_bind,
	.control = ivcfi_no_control,
	.ops_open = ivcfi_no_ops_open,
};

static int no_scalable_ep(struct fid_domain *domain, struct fi_info *info,
			  struct fid_ep **sep, void *context)
{
	(void)domain, (void)info, (void)sep, (void)context;
	return -FI_ENOSYS;
}

static int no_cntr_open(struct fid_domain *domain, struct fi_cntr_attr *attr,
			struct fid_cntr **cntr, void *context)
{
	(void)domain, (void)attr, (void)cntr, (void)context;
	return -FI_ENOSYS;
}

static int no_stx_ctx(struct fid_domain *domain, struct fi_tx_attr *attr,
		      struct fid_stx **stx, void *context)
{
	(void)domain, (void)attr, (void)stx, (void)context;
	return -FI_ENOSYS;
}

static int no_srx_ctx(struct fid_domain *domain, struct fi_rx_attr *attr,
		      struct fid_ep **rx_ep, void *context)
{
	(void)domain, (void)attr, (void)rx_ep, (void)context;
	return -FI_ENOSYS;
}

static int no_query_atomic(struct fid_domain *domain, enum fi_datatype datatype,
			   enum fi_op op, struct fi_atomic_attr *attr,
			   uint64_t flags)
{
	(void)domain, (void)datatype, (void)op, (void)attr, (void)flags;
	return -FI_ENOSYS;
}

static int no_query_collective(struct fid_domain *domain,
			       enum fi_collective_op coll,
			       struct fi_collective_attr *attr, uint64_t flags)
{
	(void)domain, (void)coll, (void)attr, (void)flags;
	return -FI_ENOSYS;
}

static int endpoint2(struct fid_domain *domain, struct fi_info *info,
		     struct fid_ep **ep, uint64_t flags, void *context)
{
	if (flags)
		return -FI_EINVAL;
	return ivcfi_ep_open(domain, info, ep, context);
}

static struct fi_ops_domain domain_ops = {
	.size = sizeof(struct fi_ops_domain),
	.av_open = ivcfi_av_open,
	.cq_open = ivcfi_cq_open,
	.endpoint = ivcfi_ep_open,
	.scalable_ep = no_scalable_ep,
	.cntr_open = no_cntr_open,
	.poll_open = ivcfi_poll_open,
	.stx_ctx = no_stx_ctx,
	.srx_ctx = no_srx_ctx,
	.query_atomic = no_query_atomic,
	.query_collective = no_query_collective,
	.endpoint2 = endpoint2,
};

static int no_mr_reg(struct fid *fid, const void *buf, size_t len,
		     uint64_t access, uint64_t offset, uint64_t requested_key,
		     uint64_t flags, struct fid_mr **mr, void *context)
{
	(void)fid, (void)buf, (void)len, (void)access, (void)offset;
	(void)requested_key, (void)flags, (void)mr, (void)context;
	return -FI_ENOSYS;
}

static int no_mr_regv(struct fid *fid, const struct iovec *iov, size_t count,
		      uint64_t access, uint64_t offset, uint64_t requested_key,
		      uint64_t flags, struct fid_mr **mr, void *context)
{
	(void)fid, (void)iov, (void)count, (void)access, (void)offset;
	(void)requested_key, (void)flags, (void)mr, (void)context;
	return -FI_ENOSYS;
}

static int no_mr_regattr(struct fid *fid, const struct fi_mr_attr *attr,
			 uint64_t flags, struct fid_mr **mr)
{
	(void)fid, (void)attr, (void)flags, (void)mr;
	return -FI_ENOSYS;
}

static struct fi_ops_mr mr_ops = {
	.size = sizeof(struct fi_ops_mr),
	.reg = no_mr_reg,
	.regv = no_mr_regv,
	.regattr = no_mr_regattr,
};

/* Only an application that serialises its calls per domain may go
 * without the lock: FI_THREAD_DOMAIN, or unspecified (what fi_getinfo()
 * reports then).  Every other level - FI_THREAD_ENDPOINT and
 * FI_THREAD_COMPLETION included, since a CQ read progresses all its
 * endpoints - locks.  No info: libfabric's defaults, that is unspecified. */
static bool needs_lock(const struct fi_info *info)
{
	if (!info || !info->domain_attr)
		return false;
	enum fi_threading t = info->domain_attr->threading;
	return t != FI_THREAD_UNSPEC && t != FI_THREAD_DOMAIN;
}

int ivcfi_domain_open(struct fid_fabric *fabric, struct fi_info *info,
		      struct fid_domain **dom, void *context)
{
	struct ivcfi_fabric *f = ivcfi_container(fabric, struct ivcfi_fabric, fabric);

	if (info && info->domain_attr && info->domain_attr->name &&
	    strcmp(info->domain_attr->name, IVCFI_PROV_NAME))
		return -FI_EINVAL;
	struct ivcfi_domain *d = calloc(1, sizeof(*d));
	if (!d)
		return -FI_ENOMEM;
	d->fab = f;
	d->locking = needs_lock(info);
	/* A plain mutex: no path takes it twice (entry points call only the
	 * unlocked internals). */
	if (d->locking && pthread_mutex_init(&d->lock, NULL)) {
		free(d);
		return -FI_ENOMEM;
	}
	d->domain.fid.fclass = FI_CLASS_DOMAIN;
	d->domain.fid.context = context;
	d->domain.fid.ops = &domain_fi_ops;
	d->domain.ops = &domain_ops;
	d->domain.mr = &mr_ops;
	__atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
	*dom = &d->domain;
	return 0;
}
