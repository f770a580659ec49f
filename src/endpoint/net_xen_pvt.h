/* SPDX-License-Identifier: MIT */
/*
 * net: addresses between Xen domains (docs/xen.md, "net: addresses between
 * domains").  A net: listener given domains to allow also listens at the
 * xen service "net-<key>", where <key> names the address it bound:
 *
 *   <key> = <4|6>-<address in hex, network order>-<port in decimal>
 *           ("4-0a090001-7000" is 10.9.0.1:7000; all zeros: any address)
 *
 * (xenstore's node names allow [A-Za-z0-9_-] only).  The service's offers,
 * one per allowed domain, are the advertisement.  ivc-netd, in dom0, reads
 * every domain's services, checks each address against what the toolstack
 * or the operator says the domain owns, and writes into each domain G,
 * readable by G only and writable by nobody but dom0:
 *
 *   /local/domain/<G>/ivc-net/<key> = "<domid>/net-<key'>"
 *
 * for every co-resident service that allows G (<key'> is the service's own
 * key: the same, or its wildcard).  A connector to a net: address that is
 * not its own reads its domain's entry for the address (the path is
 * relative: a domain reads its own), and watches the table so that the
 * registry forgets what changes.
 *
 *   net_xen_key.c  the keys (also built into ivc-netd)
 *   net_xen.c      the lookup and the watch (Xen builds; stubs otherwise)
 */
#ifndef IVC_NET_XEN_PVT_H
#define IVC_NET_XEN_PVT_H

#include <stddef.h>
#include <stdint.h>

/* "6-" + 32 hex + "-" + 5 digits + NUL, rounded up. */
#define NET_XEN_KEY_MAX 48
#define NET_XEN_SERVICE_PREFIX "net-"
#define NET_XEN_TABLE "ivc-net"

/* An address as a key: family 4 or 6, @addr 4 or 16 bytes. */
struct net_xen_addr {
	int family; /* 4 or 6 */
	uint8_t addr[16];
	uint16_t port;
};

/* Write @a's key into @out (NET_XEN_KEY_MAX bytes). */
void ivc_net_xen_key_of(const struct net_xen_addr *a, char *out);
/* Parse a key: 0, or -EINVAL for anything that is not exactly one. */
int ivc_net_xen_key_parse(const char *key, struct net_xen_addr *a);
/* Whether @a is its family's wildcard (all zeros). */
int ivc_net_xen_is_any(const struct net_xen_addr *a);
/* Parse a table entry "<domid>/net-<key'>" for the address @a: 0 with
 * *@domid and *@wild (1: key' is @a's wildcard, 0: @a itself); -EPROTO for
 * anything else (an entry naming another address or a bad domid). */
int ivc_net_xen_entry_parse(const char *v, const struct net_xen_addr *a, uint32_t *domid,
			    unsigned *wild);
/* The xen address of service (@domid, @a or its wildcard when @wild). */
void ivc_net_xen_target(uint32_t domid, const struct net_xen_addr *a, unsigned wild,
			char *out, size_t size);

/* ---- net_xen.c ---- */

/* This domain's table entry for @a: 0 with *@domid and *@wild; -ENOENT (no
 * entry); -ENODEV (not in a Xen domain, or no xenstore: never asked again);
 * -EPROTO (a malformed entry).  Thread-safe. */
int ivc_net_xen_lookup(const struct net_xen_addr *a, uint32_t *domid, unsigned *wild);
/* Apply what the table's watch reported since the last call: each changed
 * entry's address is forgotten by the registry.  Never blocks (a thread
 * that finds another applying goes on). */
void ivc_net_xen_sync(void);

#endif
