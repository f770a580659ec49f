/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_rma.c - the RMA table of an endpoint: not offered (no FI_RMA in
 * the provider's caps), but fi_read()/fi_write() call through the table
 * unchecked, so each slot says -FI_ENOSYS instead of crashing.  (Atomic
 * and collective tables are not set: their callers check caps first.)
 */
#include <rdma/fi_rma.h>

#include "fi/fi_pvt.h"

static ssize_t no_read(struct fid_ep *ep, void *buf, size_t len, void *desc,
		       fi_addr_t src, uint64_t addr, uint64_t key, void *ctx)
{
	(void)ep, (void)buf, (void)len, (void)desc, (void)src, (void)addr;
	(void)key, (void)ctx;
	return -FI_ENOSYS;
}

static ssize_t no_readv(struct fid_ep *ep, const struct iovec *iov, void **desc,
			size_t count, fi_addr_t src, uint64_t addr, uint64_t key,
			void *ctx)
{
	(void)ep, (void)iov, (void)desc, (void)count, (void)src, (void)addr;
	(void)key, (void)ctx;
	return -FI_ENOSYS;
}

static ssize_t no_msg(struct fid_ep *ep, const struct fi_msg_rma *msg,
		      uint64_t flags)
{
	(void)ep, (void)msg, (void)flags;
	return -FI_ENOSYS;
}

static ssize_t no_write(struct fid_ep *ep, const void *buf, size_t len,
			void *desc, fi_addr_t dest, uint64_t addr, uint64_t key,
			void *ctx)
{
	(void)ep, (void)buf, (void)len, (void)desc, (void)dest, (void)addr;
	(void)key, (void)ctx;
	return -FI_ENOSYS;
}

static ssize_t no_writev(struct fid_ep *ep, const struct iovec *iov, void **desc,
			 size_t count, fi_addr_t dest, uint64_t addr,
			 uint64_t key, void *ctx)
{
	(void)ep, (void)iov, (void)desc, (void)count, (void)dest, (void)addr;
	(void)key, (void)ctx;
	return -FI_ENOSYS;
}

static ssize_t no_inject(struct fid_ep *ep, const void *buf, size_t len,
			 fi_addr_t dest, uint64_t addr, uint64_t key)
{
	(void)ep, (void)buf, (void)len, (void)dest, (void)addr, (void)key;
	return -FI_ENOSYS;
}

static ssize_t no_writedata(struct fid_ep *ep, const void *buf, size_t len,
			    void *desc, uint64_t data, fi_addr_t dest,
			    uint64_t addr, uint64_t key, void *ctx)
{
	(void)ep, (void)buf, (void)len, (void)desc, (void)data, (void)dest;
	(void)addr, (void)key, (void)ctx;
	return -FI_ENOSYS;
}

static ssize_t no_injectdata(struct fid_ep *ep, const void *buf, size_t len,
			     uint64_t data, fi_addr_t dest, uint64_t addr,
			     uint64_t key)
{
	(void)ep, (void)buf, (void)len, (void)data, (void)dest, (void)addr;
	(void)key;
	return -FI_ENOSYS;
}

struct fi_ops_rma ivcfi_rma_ops = {
	.size = sizeof(struct fi_ops_rma),
	.read = no_read,
	.readv = no_readv,
	.readmsg = no_msg,
	.write = no_write,
	.writev = no_writev,
	.writemsg = no_msg,
	.inject = no_inject,
	.writedata = no_writedata,
	.injectdata = no_injectdata,
};
