/* SPDX-License-Identifier: MIT */
/*
 * Connecting to a net: address (net_pvt.h): shm when the host is ours and
 * a net: listener's rendezvous answers in this network namespace, tcp
 * otherwise.  A local listener that refuses us (its uid checks) is an
 * error, never a reason to go round it over tcp.
 */
#include "endpoint/net_pvt.h"
#include "endpoint/net_xen_pvt.h"
#ifdef IVC_HAVE_XEN
#include "xen/xen_connect_pvt.h"
#endif

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#include "core/channel_pvt.h"
#include "shm/shm_addr_pvt.h"
#include "tcp/tcp_pvt.h"
#include "util/clock_pvt.h"

/* Whether a listener is bound at the shm address @rv: a bare connect(),
 * closed at once (the listener drops a client that leaves before its
 * HELLO without a word).  A shm connect would first make its whole lane:
 * over a millisecond for a miss, which every connect to a remote peer
 * would pay. */
static int rendezvous_there(const char *rv)
{
	struct ivc_addr a;
	int s, ok;

	if (ivc_addr_parse(rv, &a))
		return 0;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return 1; /* let the real connect say why */
	ok = connect(s, (const struct sockaddr *)&a.sun, a.len) == 0 || errno == EAGAIN;
	close(s);
	return ok;
}

/* The shm connect to rendezvous @which (0 @ss's own, 1 its wildcard). */
static int local_at(const struct sockaddr_storage *ss, unsigned which,
		    const struct ivc_options *o, struct ivc_channel **out)
{
	char rv[NET_ADDR_MAX];
	int r;

	if (which)
		ivc_net_rendezvous_any(ss, rv, sizeof(rv));
	else
		ivc_net_rendezvous(ss, rv, sizeof(rv));
	r = ivc_shm_transport.connect(rv, o, 0, out);
	if (!r)
		(*out)->xp->route = IVC_ROUTE_LOCAL;
	return r;
}

/* Try the rendezvous of @ss, then of its family's wildcard, each after a
 * look.  Return: 0 (*@which the one that answered), -ECONNREFUSED (none
 * listens here), or the local listener's error. */
static int try_local(const struct sockaddr_storage *ss, const struct ivc_options *o,
		     unsigned *which, struct ivc_channel **out)
{
	char rv[NET_ADDR_MAX];
	int r = -ECONNREFUSED;

	for (*which = 0; *which < 2; ++*which) {
		if (*which)
			ivc_net_rendezvous_any(ss, rv, sizeof(rv));
		else
			ivc_net_rendezvous(ss, rv, sizeof(rv));
		if (!rendezvous_there(rv))
			continue;
		r = local_at(ss, *which, o, out);
		if (r != -ECONNREFUSED)
			return r;
	}
	return r;
}

static int via_tcp(const char *tcp, const struct ivc_options *o, int timeout_ms,
		   uint32_t route, struct ivc_channel **out)
{
	int r = ivc_tcp_transport.connect(tcp, o, timeout_ms, out);

	if (!r)
		(*out)->xp->route = route;
	return r;
}

/* What the registry remembers for @k, tried first: 0 with a channel,
 * -ECONNREFUSED (nothing remembered, or no longer so: forgotten), or the
 * error of the transport it named. */
static int remembered(const struct net_key *k, const struct sockaddr_storage *ss,
		      const char *tcp, const struct ivc_options *os,
		      const struct ivc_options *ot, struct ivc_channel **out)
{
	unsigned which = 0;
	int seen = ivc_net_reg_get(k, &which), r;

	if (!seen)
		return -ECONNREFUSED;
	r = seen == NET_SEEN_LOCAL ? local_at(ss, which, os, out) :
				     via_tcp(tcp, ot, 0, IVC_ROUTE_REMOTE, out);
	if (r == -ECONNREFUSED)
		ivc_net_reg_forget(k);
	return r;
}

/* Ours: what the registry remembers, else local first, then tcp without
 * waiting, until one answers or the deadline passes (a listener that is
 * not up yet is waited for); what answered is remembered. */
static int connect_ours(const struct sockaddr_storage *ss, const char *tcp,
			const struct ivc_options *os, const struct ivc_options *ot,
			int timeout_ms, struct ivc_channel **out)
{
	uint64_t deadline = ivc_deadline(timeout_ms), pause = 1000000ull;
	struct net_key k;
	unsigned which;
	int r;

	ivc_net_local_sync();
	ivc_net_key(ss, &k);
	r = remembered(&k, ss, tcp, os, ot, out);
	if (r != -ECONNREFUSED)
		return r;
	for (;;) {
		r = try_local(ss, os, &which, out);
		if (!r)
			ivc_net_reg_put(&k, NET_SEEN_LOCAL, which);
		if (r != -ECONNREFUSED)
			return r;
		r = via_tcp(tcp, ot, 0, IVC_ROUTE_REMOTE, out);
		if (!r)
			ivc_net_reg_put(&k, NET_SEEN_REMOTE, 0);
		if (r != -ECONNREFUSED)
			return r;
		if (timeout_ms == 0)
			return r;
		if (ivc_now_ns() + pause >= deadline)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ 0, (long)pause }, NULL);
		if (pause < 50000000ull)
			pause *= 2;
	}
}

/* Service (@domid, @a's own or its wildcard's) of a co-resident domain:
 * one that is gone is -ECONNREFUSED at once; one that is there has
 * @timeout_ms for the handshake (a listener must answer). */
static int via_xen(uint32_t domid, const struct net_xen_addr *a, unsigned wild,
		   const struct ivc_options *o, int timeout_ms, struct ivc_channel **out)
{
#ifdef IVC_HAVE_XEN
	char xa[NET_ADDR_MAX];
	int r;

	ivc_net_xen_target(domid, a, wild, xa, sizeof(xa));
	r = ivc_xen_connect_present(xa, o, timeout_ms, out);
	if (!r)
		(*out)->xp->route = IVC_ROUTE_XEN;
	return r;
#else
	(void)domid, (void)a, (void)wild, (void)o, (void)timeout_ms, (void)out;
	return -ECONNREFUSED;
#endif
}

/* Whether a failed xen connect should fall back to tcp: anything but a
 * refusal by the listener's own checks, or the caller's mistake. */
static int xen_fell_through(int r)
{
	return r != -EACCES && r != -EINVAL;
}

/* Not ours: a co-resident domain's service if this domain's Xen table
 * names one (remembered by the registry, which the table's watch keeps
 * current), tcp otherwise. */
static int connect_elsewhere(const struct sockaddr_storage *ss, const char *tcp,
			     const struct ivc_options *ox, const struct ivc_options *ot,
			     int timeout_ms, struct ivc_channel **out)
{
	uint64_t deadline = ivc_deadline(timeout_ms);
	struct net_xen_addr a;
	struct net_key k;
	unsigned which = 0, wild;
	uint32_t domid;
	int seen, r;

	ivc_net_xen_sync();
	ivc_net_key(ss, &k);
	ivc_net_xen_addr_of(ss, &a);
	seen = ivc_net_reg_get(&k, &which);
	if (seen == NET_SEEN_REMOTE)
		return via_tcp(tcp, ot, timeout_ms, IVC_ROUTE_REMOTE, out);
	if (seen == NET_SEEN_XEN) {
		domid = which >> 1;
		wild = which & 1;
		r = 0;
	} else {
		r = ivc_net_xen_lookup(&a, &domid, &wild);
		if (r == -ENOENT)
			ivc_net_reg_put(&k, NET_SEEN_REMOTE, 0);
	}
	if (!r) {
		r = via_xen(domid, &a, wild, ox, timeout_ms, out);
		if (!r && seen != NET_SEEN_XEN)
			ivc_net_reg_put(&k, NET_SEEN_XEN, domid << 1 | wild);
		if (!r || !xen_fell_through(r))
			return r;
		/* Gone from there: what applies now, and tcp meanwhile. */
		ivc_net_reg_forget(&k);
		if (timeout_ms > 0)
			timeout_ms = ivc_ms_left(deadline);
	}
	return via_tcp(tcp, ot, timeout_ms, IVC_ROUTE_REMOTE, out);
}

int ivc_net_connect(const char *addr, const struct ivc_options *opts,
		    int timeout_ms, struct ivc_channel **out)
{
	struct ivc_options os, ot, ox;
	char tcp[NET_ADDR_MAX];
	struct tcp_addr a;
	int r = ivc_net_tcp_addr(addr, tcp, sizeof(tcp));

	if (!r)
		r = ivc_tcp_addr(tcp, &a);
	if (r)
		return r;
	if (opts && opts->xen)
		return -EINVAL;
	ivc_net_opts_for(opts, NET_SIDE_TCP, &ot);
	ivc_net_opts_for(opts, NET_SIDE_SHM, &os);
	ivc_net_opts_for(opts, NET_SIDE_XEN, &ox);
	if (ivc_net_forced_tcp())
		return via_tcp(tcp, &ot, timeout_ms, IVC_ROUTE_FORCED, out);
	if (!ivc_net_is_ours(&a.ss))
		return connect_elsewhere(&a.ss, tcp, &ox, &ot, timeout_ms, out);
	return connect_ours(&a.ss, tcp, &os, &ot, timeout_ms, out);
}
