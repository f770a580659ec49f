/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_prov.c - the provider's entry point: libfabric dlopen()s
 * libivc-fi.so from FI_PROVIDER_PATH (or its provider directory) and calls
 * fi_prov_ini(), the only symbol the library exports (libivc-fi.map).
 */
#include "fi/fi_pvt.h"

static void ivcfi_cleanup(void)
{
	/* Nothing global to free: every object is owned by its fid. */
}

/* libfabric keeps its own bookkeeping in .context: it must start zeroed,
 * which a static object is. */
struct fi_provider ivcfi_prov = {
	.name = IVCFI_PROV_NAME,
	.version = IVCFI_PROV_VERSION,
	.fi_version = IVCFI_API_VERSION,
	.getinfo = ivcfi_getinfo,
	.fabric = ivcfi_fabric_open,
	.cleanup = ivcfi_cleanup,
};

struct fi_provider *fi_prov_ini(void);

__attribute__((visibility("default")))
struct fi_provider *fi_prov_ini(void)
{
	return &ivcfi_prov;
}
