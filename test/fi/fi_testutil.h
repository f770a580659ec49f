/* SPDX-License-Identifier: MIT */
/*
 * fi_testutil.h - what the provider's test programs share.
 */
#ifndef IVC_FI_TESTUTIL_H
#define IVC_FI_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>

/* t_init(@name, @seconds), and exit 1 unless FI_PROVIDER_PATH names
 * where libfabric finds the provider (ctest sets it to the build tree's
 * src/fi/). */
void fit_init(const char *name, unsigned seconds);

/* The provider "ivc"'s fi_info for an RDM endpoint with @caps, at
 * threading level @t and AV type @av (0: unspecified), as libfabric
 * offers it (loaded from FI_PROVIDER_PATH); fails the test otherwise.
 * Free it with fi_freeinfo(). */
struct fi_info *fit_getinfo(uint64_t caps, enum fi_threading t, enum fi_av_type av);

/* A fabric, a domain and an AV (FI_AV_TABLE) of the provider, for tagged
 * and untagged messages: one side of a test, each thread its own. */
struct fit_domain {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
};

/* Open @d at threading level @t; fails the test otherwise. */
void fit_domain_open(struct fit_domain *d, enum fi_threading t);
/* Close what fit_domain_open() opened (its endpoints and CQs first). */
void fit_domain_close(struct fit_domain *d);

/* Whether thread @tid of this process is asleep (state S in /proc). */
bool fit_asleep(pid_t tid);

#endif
