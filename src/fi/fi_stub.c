/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_stub.c - the fid operations an object does not support: libfabric
 * calls through its tables without checking, so every slot needs a
 * function, and each of these says -FI_ENOSYS.
 */
#include "fi/fi_pvt.h"

int ivcfi_no_bind(struct fid *fid, struct fid *bfid, uint64_t flags)
{
	(void)fid, (void)bfid, (void)flags;
	return -FI_ENOSYS;
}

int ivcfi_no_control(struct fid *fid, int command, void *arg)
{
	(void)fid, (void)command, (void)arg;
	return -FI_ENOSYS;
}

int ivcfi_no_ops_open(struct fid *fid, const char *name, uint64_t flags,
		      void **ops, void *context)
{
	(void)fid, (void)name, (void)flags, (void)ops, (void)context;
	return -FI_ENOSYS;
}
