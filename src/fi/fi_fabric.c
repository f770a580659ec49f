/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_fabric.c - the fabric object: a parent for domains, EQs and wait
 * sets (fi_wait.c), with no state of its own (ivc needs no global set-up).
 */
#include <stdlib.h>

#include "fi/fi_pvt.h"

static int fabric_close(struct fid *fid)
{
	struct ivcfi_fabric *f = ivcfi_container(fid, struct ivcfi_fabric, fabric.fid);

	if (__atomic_load_n(&f->refs, __ATOMIC_ACQUIRE))
		return -FI_EBUSY;
	free(f);
	return 0;
}

static struct fi_ops fabric_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = fabric_close,
	.bind = ivcfi_no_bind,
	.control = ivcfi_no_control,
	.ops_open = ivcfi_no_ops_open,
	.tostr = NULL,
	.ops_set = NULL,
};

static int no_passive_ep(struct fid_fabric *fabric, struct fi_info *info,
			 struct fid_pep **pep, void *context)
{
	(void)fabric, (void)info, (void)pep, (void)context;
	return -FI_ENOSYS;
}

static int domain2(struct fid_fabric *fabric, struct fi_info *info,
		   struct fid_domain **dom, uint64_t flags, void *context)
{
	if (flags)
		return -FI_EINVAL;
	return ivcfi_domain_open(fabric, info, dom, context);
}

static struct fi_ops_fabric fabric_ops = {
	.size = sizeof(struct fi_ops_fabric),
	.domain = ivcfi_domain_open,
	.passive_ep = no_passive_ep,
	.eq_open = ivcfi_eq_open,
	.wait_open = ivcfi_wait_open,
	.trywait = ivcfi_trywait,
	.domain2 = domain2,
};

int ivcfi_fabric_open(struct fi_fabric_attr *attr, struct fid_fabric **fabric,
		      void *context)
{
	(void)attr;
	struct ivcfi_fabric *f = calloc(1, sizeof(*f));

	if (!f)
		return -FI_ENOMEM;
	f->fabric.fid.fclass = FI_CLASS_FABRIC;
	f->fabric.fid.context = context;
	f->fabric.fid.ops = &fabric_fi_ops;
	f->fabric.ops = &fabric_ops;
	*fabric = &f->fabric;
	return 0;
}
