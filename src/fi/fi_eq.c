/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_eq.c - an event queue that never has an event: the provider has no
 * connections and inserts addresses synchronously, but tools such as
 * fi_pingpong open an EQ on every fabric.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fi/fi_pvt.h"

static int eq_close(struct fid *fid)
{
	struct ivcfi_eq *q = ivcfi_container(fid, struct ivcfi_eq, eq.fid);

	__atomic_fetch_sub(&q->fab->refs, 1, __ATOMIC_RELEASE);
	free(q);
	return 0;
}

static struct fi_ops eq_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = eq_close,
	.bind = ivcfi_no_bind,
	.control = ivcfi_no_control,
	.ops_open = ivcfi_no_ops_open,
};

static ssize_t eq_read(struct fid_eq *eq, uint32_t *event, void *buf,
		       size_t len, uint64_t flags)
{
	(void)eq, (void)event, (void)buf, (void)len, (void)flags;
	return -FI_EAGAIN;
}

static ssize_t eq_readerr(struct fid_eq *eq, struct fi_eq_err_entry *buf,
			  uint64_t flags)
{
	(void)eq, (void)buf, (void)flags;
	return -FI_EAGAIN;
}

static ssize_t eq_write(struct fid_eq *eq, uint32_t event, const void *buf,
			size_t len, uint64_t flags)
{
	(void)eq, (void)event, (void)buf, (void)len, (void)flags;
	return -FI_ENOSYS;
}

/* Nothing will ever come: wait out the timeout (never for ever: a caller
 * waiting for ever on an empty EQ would hang, so that is -FI_EAGAIN too). */
static ssize_t eq_sread(struct fid_eq *eq, uint32_t *event, void *buf,
			size_t len, int timeout, uint64_t flags)
{
	(void)eq, (void)event, (void)buf, (void)len, (void)flags;
	if (timeout > 0) {
		struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	return -FI_EAGAIN;
}

static const char *eq_strerror(struct fid_eq *eq, int prov_errno,
			       const void *err_data, char *buf, size_t len)
{
	(void)eq, (void)err_data;
	const char *s = ivc_strerror(prov_errno);

	if (buf && len) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	return s;
}

static struct fi_ops_eq eq_ops = {
	.size = sizeof(struct fi_ops_eq),
	.read = eq_read,
	.readerr = eq_readerr,
	.write = eq_write,
	.sread = eq_sread,
	.strerror = eq_strerror,
};

int ivcfi_eq_open(struct fid_fabric *fabric, struct fi_eq_attr *attr,
		  struct fid_eq **eq, void *context)
{
	struct ivcfi_fabric *f = ivcfi_container(fabric, struct ivcfi_fabric, fabric);

	if (attr && attr->wait_obj != FI_WAIT_NONE &&
	    attr->wait_obj != FI_WAIT_UNSPEC)
		return -FI_ENOSYS;
	struct ivcfi_eq *q = calloc(1, sizeof(*q));
	if (!q)
		return -FI_ENOMEM;
	q->fab = f;
	q->eq.fid.fclass = FI_CLASS_EQ;
	q->eq.fid.context = context;
	q->eq.fid.ops = &eq_fi_ops;
	q->eq.ops = &eq_ops;
	__atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
	*eq = &q->eq;
	return 0;
}
