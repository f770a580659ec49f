/* SPDX-License-Identifier: MIT */
/*
 * fi_testutil.h - what the provider's test programs share.
 */
#ifndef IVC_FI_TESTUTIL_H
#define IVC_FI_TESTUTIL_H

#include <stdint.h>

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>

/* The provider "ivc"'s fi_info for an RDM endpoint with @caps, at
 * threading level @t and AV type @av (0: unspecified), as libfabric
 * offers it (loaded from FI_PROVIDER_PATH); fails the test otherwise.
 * Free it with fi_freeinfo(). */
struct fi_info *fit_getinfo(uint64_t caps, enum fi_threading t, enum fi_av_type av);

#endif
