/* SPDX-License-Identifier: MIT */
/*
 * Residency-aware addresses, "net:<host>:<port>" (docs/design.md,
 * "Choosing the transport"): a listener listens on tcp and registers a
 * local rendezvous, an shm listener whose abstract name says the tcp
 * address; a connector whose host is an address of its own network
 * namespace tries that rendezvous first (abstract names are per network
 * namespace, so 127.0.0.1 in another namespace is another host) and
 * otherwise, or when switching is off (IVC_NET=tcp), connects over tcp.
 *
 *   net_addr.c     the address, the rendezvous names, "is it ours?"
 *   net_registry.c what connects found, per address (liburcu)
 *   net_listen.c   the listener over both
 *   net_connect.c  the choice
 */
#ifndef IVC_NET_PVT_H
#define IVC_NET_PVT_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ivc/channel.h>

#include "endpoint/transport_pvt.h"

/* Room for "shm:@ivc-net/[<IPv6>]:<port>" and "tcp:<host>:<port>". */
#define NET_ADDR_MAX 300

/* "net:<rest>" as "tcp:<rest>" into @tcp (@size bytes): 0, -EINVAL,
 * -ENAMETOOLONG. */
int ivc_net_tcp_addr(const char *addr, char *tcp, size_t size);
/* The rendezvous of a tcp listener bound to @ss (its numeric address and
 * port), as an shm address. */
void ivc_net_rendezvous(const struct sockaddr_storage *ss, char *out, size_t size);
/* The same for the wildcard address of @ss's family and port. */
void ivc_net_rendezvous_any(const struct sockaddr_storage *ss, char *out, size_t size);
/* Whether @ss is an address of this host in this network namespace. */
int ivc_net_is_ours(const struct sockaddr_storage *ss);
/* Switching turned off by the environment (IVC_NET=tcp). */
int ivc_net_forced_tcp(void);
/* @o for one side of a net endpoint: only that transport's settings. */
enum { NET_SIDE_TCP = 0, NET_SIDE_SHM = 1, NET_SIDE_XEN = 2 };
void ivc_net_opts_for(const struct ivc_options *o, int side, struct ivc_options *out);

/* The xen transport, or NULL in a build without it. */
static inline const struct ivc_transport *ivc_net_xen_transport(void)
{
#ifdef IVC_HAVE_XEN
	return &ivc_xen_transport;
#else
	return NULL;
#endif
}

/* ---- net_registry.c: the co-residency registry ---- */

/* A net: address as the registry keys it: numeric address and port. */
struct net_key {
	uint16_t family;
	uint16_t port;
	uint8_t addr[16];
};
enum { NET_SEEN_LOCAL = 1, NET_SEEN_REMOTE = 2, NET_SEEN_XEN = 4 };

void ivc_net_key(const struct sockaddr_storage *ss, struct net_key *k);
/* What a connect to @k found, if still fresh: NET_SEEN_LOCAL with *@which
 * (the rendezvous that answered: 0 the address's own, 1 the wildcard),
 * NET_SEEN_XEN with *@which = domid << 1 | wildcard (a co-resident
 * domain's service, net_xen_pvt.h), NET_SEEN_REMOTE (tcp), or 0.  Never
 * blocks. */
int ivc_net_reg_get(const struct net_key *k, unsigned *which);
/* Remember (replacing), forget. */
void ivc_net_reg_put(const struct net_key *k, int seen, unsigned which);
void ivc_net_reg_forget(const struct net_key *k);
/* Forget every entry whose kind is in @seen_mask. */
void ivc_net_reg_forget_kinds(int seen_mask);

struct net_xen_addr;
/* A registry key and a Xen table key for the same address, both ways. */
void ivc_net_key_to_xen(const struct net_key *k, struct net_xen_addr *a);
void ivc_net_key_from_xen(const struct net_xen_addr *a, struct net_key *k);
/* @ss (numeric address and port) as a Xen table key. */
void ivc_net_xen_addr_of(const struct sockaddr_storage *ss, struct net_xen_addr *a);
/* Forget what the registry has for @a (a watch saw its entry change). */
void ivc_net_reg_forget_xen(const struct net_xen_addr *a);

/* Local listeners' markers (net_local_watch.c): a net: listener's marker
 * made and held (its descriptor, or -1: none, which only costs other
 * processes a second's lifetime), and removed; what other processes'
 * listeners changed since the last call applied to the registry (waits
 * only for another thread's sync). */
int ivc_net_local_mark(const struct net_key *k);
void ivc_net_local_unmark(const struct net_key *k, int fd);
void ivc_net_local_sync(void);

int ivc_net_listen(const char *addr, const struct ivc_options *opts,
		   struct ivc_listener **out);
int ivc_net_connect(const char *addr, const struct ivc_options *opts,
		    int timeout_ms, struct ivc_channel **out);

#endif
