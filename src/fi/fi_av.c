/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_av.c - the address vector: an array of endpoint names.  An
 * fi_addr_t is the index in both FI_AV_TABLE and FI_AV_MAP (a map may
 * choose any value; the index is the cheapest to resolve).  Indices are
 * never reused after fi_av_remove(), so a channel set up for an index
 * never reaches another peer.  Its entry points take the domain's lock:
 * progress resolves names in it from other threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fi/fi_pvt.h"

bool ivcfi_name_valid(const struct ivcfi_name *name)
{
	return name->magic == IVCFI_NAME_MAGIC &&
	       name->version >= IVCFI_NAME_VERSION_MIN &&
	       name->version <= IVCFI_NAME_VERSION &&
	       memchr(name->addr, '\0', sizeof(name->addr)) != NULL &&
	       name->addr[0] != '\0';
}

const struct ivcfi_name *ivcfi_av_name(const struct ivcfi_av *av, fi_addr_t addr)
{
	if (!av || addr >= av->count || !av->used[addr])
		return NULL;
	return &av->names[addr];
}

fi_addr_t ivcfi_av_find(const struct ivcfi_av *av, const struct ivcfi_name *name)
{
	if (!av)
		return FI_ADDR_NOTAVAIL;
	for (size_t i = 0; i < av->count; i++)
		if (av->used[i] && !strcmp(av->names[i].addr, name->addr))
			return (fi_addr_t)i;
	return FI_ADDR_NOTAVAIL;
}

static int av_close(struct fid *fid)
{
	struct ivcfi_av *av = ivcfi_container(fid, struct ivcfi_av, av.fid);
	struct ivcfi_domain *d = av->dom;

	ivcfi_lock(d);
	if (av->refs) {
		ivcfi_unlock(d);
		return -FI_EBUSY;
	}
	d->refs--;
	ivcfi_unlock(d);
	free(av->names);
	free(av->used);
	free(av);
	return 0;
}

static int av_bind(struct fid *fid, struct fid *bfid, uint64_t flags)
{
	(void)fid, (void)bfid, (void)flags;
	return -FI_ENOSYS; /* no EQ: inserts complete synchronously */
}

static struct fi_ops av_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = av_close,
	.bind = av_bind,
	.control = ivcfi_no_control,
	.ops_open = ivcfi_no_ops_open,
};

static int av_grow(struct ivcfi_av *av, size_t need)
{
	if (need <= av->cap)
		return 0;
	size_t cap = av->cap ? av->cap : 16;
	while (cap < need)
		cap *= 2;
	struct ivcfi_name *n = realloc(av->names, cap * sizeof(*n));
	if (!n)
		return -FI_ENOMEM;
	av->names = n;
	bool *u = realloc(av->used, cap * sizeof(*u));
	if (!u)
		return -FI_ENOMEM;
	av->used = u;
	av->cap = cap;
	return 0;
}

static int insert_locked(struct ivcfi_av *av, const struct ivcfi_name *names,
			 size_t count, fi_addr_t *fi_addr)
{
	int done = 0;

	if (av_grow(av, av->count + count))
		return -FI_ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct ivcfi_name n;
		memcpy(&n, &names[i], sizeof(n));
		if (!ivcfi_name_valid(&n)) {
			if (fi_addr)
				fi_addr[i] = FI_ADDR_NOTAVAIL;
			continue;
		}
		av->names[av->count] = n;
		av->used[av->count] = true;
		if (fi_addr)
			fi_addr[i] = (fi_addr_t)av->count;
		av->count++;
		done++;
	}
	return done;
}

static int av_insert(struct fid_av *fav, const void *addr, size_t count,
		     fi_addr_t *fi_addr, uint64_t flags, void *context)
{
	struct ivcfi_av *av = ivcfi_container(fav, struct ivcfi_av, av);

	(void)context;
	if (flags & ~(uint64_t)FI_MORE)
		return -FI_EINVAL;
	ivcfi_lock(av->dom);
	int done = insert_locked(av, addr, count, fi_addr);
	ivcfi_unlock(av->dom);
	return done;
}

static int av_insertsvc(struct fid_av *av, const char *node, const char *service,
			fi_addr_t *fi_addr, uint64_t flags, void *context)
{
	(void)av, (void)node, (void)service, (void)fi_addr, (void)flags, (void)context;
	return -FI_ENOSYS;
}

static int av_insertsym(struct fid_av *av, const char *node, size_t nodecnt,
			const char *service, size_t svccnt, fi_addr_t *fi_addr,
			uint64_t flags, void *context)
{
	(void)av, (void)node, (void)nodecnt, (void)service, (void)svccnt;
	(void)fi_addr, (void)flags, (void)context;
	return -FI_ENOSYS;
}

static int av_remove(struct fid_av *fav, fi_addr_t *fi_addr, size_t count,
		     uint64_t flags)
{
	struct ivcfi_av *av = ivcfi_container(fav, struct ivcfi_av, av);

	if (flags)
		return -FI_EINVAL;
	ivcfi_lock(av->dom);
	for (size_t i = 0; i < count; i++)
		if (fi_addr[i] < av->count)
			av->used[fi_addr[i]] = false;
	ivcfi_unlock(av->dom);
	return 0;
}

static int av_lookup(struct fid_av *fav, fi_addr_t fi_addr, void *addr,
		     size_t *addrlen)
{
	struct ivcfi_av *av = ivcfi_container(fav, struct ivcfi_av, av);
	struct ivcfi_name n;

	/* A copy under the lock: an insert may move the array. */
	ivcfi_lock(av->dom);
	const struct ivcfi_name *p = ivcfi_av_name(av, fi_addr);
	if (p)
		n = *p;
	ivcfi_unlock(av->dom);
	if (!p)
		return -FI_EINVAL;
	size_t len = *addrlen < sizeof(n) ? *addrlen : sizeof(n);
	if (addr && len)
		memcpy(addr, &n, len);
	*addrlen = sizeof(n);
	return 0;
}

/* Looks at the caller's name only, no AV state: no lock. */
static const char *av_straddr(struct fid_av *av, const void *addr, char *buf,
			      size_t *len)
{
	(void)av;
	struct ivcfi_name n;
	char tmp[sizeof(n.addr) + 16];

	memcpy(&n, addr, sizeof(n));
	if (ivcfi_name_valid(&n))
		snprintf(tmp, sizeof(tmp), "ivc://%s", n.addr);
	else
		snprintf(tmp, sizeof(tmp), "ivc://(invalid)");
	size_t need = strlen(tmp) + 1;
	if (buf && *len)
		snprintf(buf, *len, "%s", tmp);
	*len = need;
	return buf;
}

static int no_av_set(struct fid_av *av, struct fi_av_set_attr *attr,
		     struct fid_av_set **av_set, void *context)
{
	(void)av, (void)attr, (void)av_set, (void)context;
	return -FI_ENOSYS;
}

static struct fi_ops_av av_ops = {
	.size = sizeof(struct fi_ops_av),
	.insert = av_insert,
	.insertsvc = av_insertsvc,
	.insertsym = av_insertsym,
	.remove = av_remove,
	.lookup = av_lookup,
	.straddr = av_straddr,
	.av_set = no_av_set,
};

int ivcfi_av_open(struct fid_domain *domain, struct fi_av_attr *attr,
		  struct fid_av **out, void *context)
{
	struct ivcfi_domain *d = ivcfi_container(domain, struct ivcfi_domain, domain);
	enum fi_av_type type = attr ? attr->type : FI_AV_UNSPEC;

	if (type != FI_AV_UNSPEC && type != FI_AV_MAP && type != FI_AV_TABLE)
		return -FI_EINVAL;
	if (attr && (attr->flags & (FI_EVENT | FI_READ | FI_SYMMETRIC)))
		return -FI_ENOSYS;
	if (attr && attr->name)
		return -FI_ENOSYS; /* no shared AVs */
	struct ivcfi_av *av = calloc(1, sizeof(*av));
	if (!av)
		return -FI_ENOMEM;
	av->dom = d;
	av->type = type == FI_AV_UNSPEC ? FI_AV_MAP : type;
	if (attr && attr->count && av_grow(av, attr->count)) {
		free(av);
		return -FI_ENOMEM;
	}
	av->av.fid.fclass = FI_CLASS_AV;
	av->av.fid.context = context;
	av->av.fid.ops = &av_fi_ops;
	av->av.ops = &av_ops;
	ivcfi_lock(d);
	d->refs++;
	ivcfi_unlock(d);
	*out = &av->av;
	return 0;
}
