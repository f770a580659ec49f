/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/xen.h
 * @brief Settings and limits only the xen transport ("xen:" addresses) has.
 *
 * A xen listener offers its service to a list of Xen domains, each offer
 * readable only by its domain (docs/xen.md); struct ivc_xen_options is that
 * list.  Give it through struct ivc_options.xen; NULL means the defaults.
 * An endpoint of another transport given xen options fails with -EINVAL.
 * The transport is built when libxen-dev was found; without it a "xen:"
 * address is -EAFNOSUPPORT, and this header still compiles.
 */
#ifndef IVC_XEN_H
#define IVC_XEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest lane over xen, in pages (3.68 MiB): its first page lists the
 *  grant reference of every page, so the peer needs only one. */
#define IVC_XEN_MAX_PAGES 942u
/** Most domains one xen listener may allow. */
#define IVC_XEN_MAX_PEERS 64u

/**
 * struct ivc_xen_options - xen settings; zero-initialised = defaults.
 * @allowed_domids:   listener only: the Xen domains allowed to connect
 *                    (each gets its own offer, readable only by it), or
 *                    NULL for the local domain only.  Copied by
 *                    ivc_listen().  A connector ignores it.
 * @n_allowed_domids: entries in @allowed_domids, at most IVC_XEN_MAX_PEERS
 *                    (not 0 with a NULL list: -EINVAL).
 * @reserved:         must be zero (-EINVAL otherwise): room for settings to
 *                    come, whose zero will mean what the library does now.
 */
struct ivc_xen_options {
	const uint32_t *allowed_domids;
	size_t n_allowed_domids;
	uint64_t reserved[8];
};

#ifdef __cplusplus
}
#endif
#endif
