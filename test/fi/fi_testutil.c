/* SPDX-License-Identifier: MIT */
/*
 * fi_testutil.c - what the provider's test programs share (fi_testutil.h).
 */
#include "fi_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

void fit_init(const char *name, unsigned seconds)
{
	t_init(name, seconds);
	if (!getenv("FI_PROVIDER_PATH")) {
		printf("%s: FI_PROVIDER_PATH is not set\n", name);
		exit(1);
	}
}

struct fi_info *fit_getinfo(uint64_t caps, enum fi_threading t, enum fi_av_type av)
{
	struct fi_info *h = fi_allocinfo(), *fi = NULL;

	REQUIRE(h != NULL);
	h->fabric_attr->prov_name = strdup("ivc");
	h->ep_attr->type = FI_EP_RDM;
	h->caps = caps;
	h->domain_attr->threading = t;
	h->domain_attr->av_type = av;
	REQUIRE_OK(fi_getinfo(FI_VERSION(1, 17), NULL, NULL, 0, h, &fi));
	fi_freeinfo(h);
	REQUIRE(fi && !strcmp(fi->fabric_attr->prov_name, "ivc"));
	return fi;
}

void fit_domain_open(struct fit_domain *d, enum fi_threading t)
{
	struct fi_av_attr aa = { .type = FI_AV_TABLE };

	d->info = fit_getinfo(FI_TAGGED | FI_MSG, t, FI_AV_UNSPEC);
	REQUIRE_OK(fi_fabric(d->info->fabric_attr, &d->fabric, NULL));
	REQUIRE_OK(fi_domain(d->fabric, d->info, &d->domain, NULL));
	REQUIRE_OK(fi_av_open(d->domain, &aa, &d->av, NULL));
}

void fit_domain_close(struct fit_domain *d)
{
	CHECK_OK(fi_close(&d->av->fid));
	CHECK_OK(fi_close(&d->domain->fid));
	CHECK_OK(fi_close(&d->fabric->fid));
	fi_freeinfo(d->info);
}

bool fit_asleep(pid_t tid)
{
	char path[64], buf[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the name may hold anything */
	return p && p[1] == ' ' && p[2] == 'S';
}
