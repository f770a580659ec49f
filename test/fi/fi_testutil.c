/* SPDX-License-Identifier: MIT */
/*
 * fi_testutil.c - what the provider's test programs share (fi_testutil.h).
 */
#include "fi_testutil.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

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
