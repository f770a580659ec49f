/* SPDX-License-Identifier: MIT */
/*
 * The xen connector.  It reads its offer from the listener's xenstore tree
 * (waiting under a watch until one is there), takes the offer's handshake
 * page with a compare-and-swap, binds the listener's ports, writes its own
 * lane's reference into the page and rings HUP; the listener answers in
 * the page.  The connector writes nothing to xenstore: a node it created
 * in the listener's tree would be its own, so its state lives in the page.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenstore.h>

#include "core/channel_pvt.h"
#include "util/clock_pvt.h"
#include "util/compiler_pvt.h"
#include "xen/xen_addr_pvt.h"
#include "xen/xen_connect_pvt.h"
#include "xen/xen_pvt.h"

struct xconn {
	uint32_t local, peer;
	const struct ivc_lane_geom *txg;
	int mode;
	uint32_t spin_max_ns;
	uint64_t deadline;     /* of the handshake, once an offer is taken */
	int present_only;      /* a service that is not there: refused, not waited for */
	struct xs_handle *xs;  /* connect_loop's, and the service it looks at */
	const char *svc;
};

/* How often a connector waiting for the listener's answer looks whether
 * the listener's domain still exists. */
#define ANSWER_CHECK_MS 1000

/* ---- the handshake in the page ---- */

/* Map the page and take it; -EAGAIN when it is stale or taken. */
static int take_page(struct ivc_xen_conn *c, uint32_t ref)
{
	struct ivc_xen_hs *p = xengnttab_map_grant_ref(c->gt, c->peer_domid, ref,
						       PROT_READ | PROT_WRITE);
	uint32_t zero = 0;
	int r = 0;

	if (!p)
		return -EAGAIN; /* withdrawn since we read it */
	if (IVC_LOAD_ACQ(&p->magic) != IVC_XEN_HS_MAGIC)
		r = -EPROTO;
	else if (IVC_LOAD(&p->version) != IVC_XEN_HS_VERSION)
		r = -EPROTONOSUPPORT;
	else if (!__atomic_compare_exchange_n(&p->claim, &zero, (uint32_t)getpid(), 0,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		r = -EAGAIN;
	if (!r) {
		/* Only the taker maps it with unmap-notify: a process that
		 * lost the race must not clear the winner's alive word. */
		c->hs = xengnttab_map_grant_ref_notify(c->gt, c->peer_domid, ref,
						       PROT_READ | PROT_WRITE,
						       IVC_XEN_C_ALIVE_OFF,
						       c->ev[IVC_XEN_HUP].port);
		if (!c->hs)
			r = errno ? -errno : -EPROTO;
		else
			IVC_STORE_REL(&c->hs->c_alive, 1u);
	}
	xengnttab_unmap(c->gt, p, 1);
	return r;
}

/* The listener's alive word is cleared: by its unmap-notify when it exits
 * or is killed, by its own hand when it closes the offer. */
static int listener_gone(const struct ivc_xen_hs *hs)
{
	return !IVC_LOAD_ACQ(&hs->l_alive);
}

/* Whether the service node is gone while the listener's alive word is
 * still set: its whole domain was destroyed (the toolstack removes the
 * domain's tree; a destroyed kernel runs no unmap-notify, and Xen sends
 * nothing on the ports).  A guest reads EACCES for a node that is gone. */
static int service_gone(const struct xconn *k)
{
	return ivc_xs_node_gone(k->xs, k->svc);
}

/* Wait for the listener's answer in the page.  It may never come: the
 * listener's domain can be destroyed after we took its page, so every
 * ANSWER_CHECK_MS we look whether it still exists (else a wait without a
 * deadline would never end). */
static int await_answer(const struct xconn *k, struct ivc_xen_conn *c, uint64_t deadline)
{
	struct ivc_xen_hs *hs = c->hs;
	int quiet = 0; /* the last wait ended without an event */

	for (;;) {
		struct pollfd pf = { ivc_xen_ev_fd(&c->ev[IVC_XEN_HUP]), POLLIN, 0 };
		uint32_t st;
		int ms, n;

		ivc_xen_ev_drain(&c->ev[IVC_XEN_HUP]);
		st = IVC_LOAD_ACQ(&hs->l_state);
		if (st == IVC_XS_CONNECTED)
			return 0;
		if (st == IVC_XS_CLOSED) {
			/* The listener's word, so checked again. */
			return ivc_xen_told(IVC_LOAD(&hs->l_err));
		}
		/* The listener went away (exited, was killed, closed its
		 * listener) before it answered: it never took us.  That is
		 * a refusal, not a broken protocol (issue 13). */
		if (listener_gone(hs) || (quiet && service_gone(k)))
			return -ECONNREFUSED;
		ms = ivc_ms_left(deadline);
		if (ms == 0)
			return -ETIMEDOUT;
		if (ms < 0 || ms > ANSWER_CHECK_MS)
			ms = ANSWER_CHECK_MS;
		n = poll(&pf, 1, ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		quiet = n == 0;
	}
}

/* Our half, after the page is ours: ports, our lane, the answer, theirs. */
static int handshake(const struct xconn *k, struct ivc_xen_conn *c,
		     struct ivc_channel **out)
{
	struct ivc_xen_hs *hs = c->hs;
	struct ivc_lane_geom rxg;
	struct ivc_xport *xp;
	uint32_t rx_start;
	pid_t lpid = (pid_t)IVC_LOAD(&hs->l_pid);
	int r;

	r = ivc_xen_ev_bind(&c->ev[IVC_XEN_RX], k->peer, IVC_LOAD(&hs->l_port[IVC_XEN_RX]));
	if (!r)
		r = ivc_xen_ev_bind(&c->ev[IVC_XEN_TX], k->peer, IVC_LOAD(&hs->l_port[IVC_XEN_TX]));
	/* Ports that do not bind: closed by a listener that is going away,
	 * else ports that are not the listener's.  Its alive word tells
	 * which: an orderly close clears it before it closes the ports, and
	 * at exit the kernel clears it on closing the grant handle, which
	 * the listener opened before the ports (so usually closed first). */
	if (r)
		r = listener_gone(hs) ? -ECONNREFUSED : -EPROTO;
	if (!r)
		r = ivc_xen_lane_share(c->gs, k->peer, k->txg, &c->tx);
	if (r) {
		IVC_STORE_REL(&hs->c_state, (uint32_t)IVC_XS_CLOSED);
		ivc_xen_ev_notify(&c->ev[IVC_XEN_HUP]);
		ivc_xen_conn_free(c);
		return r;
	}
	/* Our link node, before the listener may look for it. */
	r = ivc_xen_link_publish(c);
	if (r) {
		IVC_STORE_REL(&hs->c_state, (uint32_t)IVC_XS_CLOSED);
		ivc_xen_ev_notify(&c->ev[IVC_XEN_HUP]);
		ivc_xen_conn_free(c);
		return r;
	}
	IVC_STORE(&hs->c_pid, (uint32_t)getpid());
	IVC_STORE(&hs->c_lane_ref0, c->tx.ref0);
	IVC_STORE(&hs->c_lane_pages, c->tx.pages);
	IVC_STORE_REL(&hs->c_state, (uint32_t)IVC_XS_INITIALISED);
	ivc_xen_ev_notify(&c->ev[IVC_XEN_HUP]);
	r = await_answer(k, c, k->deadline);
	if (!r) {
		r = ivc_xen_lane_map(c->gt, k->peer, IVC_LOAD(&hs->l_lane_ref0),
				     IVC_LOAD(&hs->l_lane_pages), &rxg, &rx_start, &c->rx);
		/* It said Connected and then went away, taking its lane's
		 * grants with it: a reset, as once connected. */
		if (r == -EPROTO && listener_gone(hs))
			r = -ECONNRESET;
	}
	if (r) {
		ivc_xen_conn_free(c);
		ivc_xen_link_remove(c, NULL);
		return r;
	}
	r = ivc_xen_xport_new(c, lpid, &xp);
	if (r)
		return r;
	r = ivc_channel_create(xp, k->txg, IVC_IDX_START, &rxg, rx_start, k->mode,
			       k->spin_max_ns, out);
	if (r)
		xp->ops->destroy(xp);
	return r;
}

/* Try the offer (@ref, @port): 0 and a channel; -EAGAIN to wait for a
 * fresh offer; another -errno to give up. */
static int try_offer(const struct xconn *k, uint32_t ref, uint32_t port,
		     struct ivc_channel **out)
{
	struct ivc_xen_conn c;
	int r = ivc_xen_conn_open(&c, k->local, k->peer);

	if (r)
		return r;
	/* A port that does not bind is stale or someone else's: wait. */
	r = ivc_xen_ev_bind(&c.ev[IVC_XEN_HUP], k->peer, port) ? -EAGAIN : 0;
	if (!r)
		r = take_page(&c, ref);
	if (!r) {
		ivc_xen_link_names(&c, ref, 0);
		return handshake(k, &c, out); /* takes c */
	}
	ivc_xen_conn_free(&c);
	return r;
}

/* ---- finding the offer ---- */

/* A guest reads EACCES for a node it may not read and for one that does not
 * exist under a folder it may not read.  The listener makes its services'
 * folder readable by all (xen_listen.c): a service listed there that we may
 * not read is "not allowed"; one not listed (or no folder to list yet) is
 * not there yet. */
static int listed(struct xs_handle *xs, const char *svc)
{
	const char *name = strrchr(svc, '/') + 1;
	char dir[128];
	unsigned int n, i;
	char **names;
	int found = 0;

	snprintf(dir, sizeof(dir), "%.*s", (int)(name - 1 - svc), svc);
	names = xs_directory(xs, XBT_NULL, dir, &n);
	for (i = 0; names && i < n && !found; i++)
		found = !strcmp(names[i], name);
	free(names);
	return found;
}

/* No offer for us: -ENOENT while the service is not there, -EAGAIN while
 * we are in its allowed list (the offer is on its way); -EACCES when we
 * may not read it or are not in the list. */
static int allowed(struct xs_handle *xs, const char *svc, uint32_t local)
{
	unsigned int len;
	char *v = xs_read(xs, XBT_NULL, svc, &len), *p, *end;
	int r = -EACCES;

	/* EACCES hides whether the node exists.  If the folder lists it,
	 * read it again: its listener may have published it (and, with its
	 * first service, the folder) between our read and the listing.  A
	 * service is created with its permissions in one transaction, so
	 * what this second read says holds. */
	if (!v && errno == EACCES) {
		if (!listed(xs, svc))
			return -ENOENT;
		v = xs_read(xs, XBT_NULL, svc, &len);
		if (!v && errno == EACCES)
			return -EACCES;
	}
	if (!v)
		return errno == ENOENT ? -ENOENT : ivc_xs_err();
	(void)strtol(v, &p, 10); /* the listener's pid */
	while (*p == ' ') {
		unsigned long d = strtoul(p + 1, &end, 10);

		if (end == p + 1)
			break;
		if (d == local)
			r = -EAGAIN;
		p = end;
	}
	free(v);
	return r;
}

/* Look once: 0 and a channel; -EAGAIN (nothing to take yet); -errno. */
static int look(const struct xconn *k, struct xs_handle *xs, const char *svc,
		struct ivc_channel **out)
{
	char p[192];
	uint32_t st, ref, port;
	int r;

	snprintf(p, sizeof(p), "%s/%u/state", svc, k->local);
	r = ivc_xs_read_u32(xs, p, &st);
	if (r == -ENOENT || r == -EACCES)
		return allowed(xs, svc, k->local); /* no offer (yet?) */
	if (r)
		return r;
	if (st != IVC_XS_INITIALISED)
		return -EAGAIN;
	snprintf(p, sizeof(p), "%s/%u/ring-ref", svc, k->local);
	r = ivc_xs_read_u32(xs, p, &ref);
	snprintf(p, sizeof(p), "%s/%u/event-channel", svc, k->local);
	if (!r)
		r = ivc_xs_read_u32(xs, p, &port);
	if (r == -ENOENT)
		return -EAGAIN; /* withdrawn while we read */
	return r ? r : try_offer(k, ref, port, out);
}

/* Wait for a watch to fire, or the deadline. */
static int wait_watch(struct xs_handle *xs, uint64_t deadline)
{
	struct pollfd pf = { xs_fileno(xs), POLLIN, 0 };
	char **w;
	int ms = ivc_ms_left(deadline), n;

	if (ms == 0)
		return -ETIMEDOUT;
	n = poll(&pf, 1, ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	while ((w = xs_check_watch(xs)) != NULL)
		free(w);
	return n == 0 && ivc_ms_left(deadline) == 0 ? -ETIMEDOUT : 0;
}

static int connect_loop(struct xconn *k, struct xs_handle *xs, const char *svc,
			int timeout_ms, struct ivc_channel **out)
{
	uint64_t deadline = ivc_deadline(timeout_ms);
	int r;

	if (!xs_watch(xs, svc, "ivc"))
		return ivc_xs_err();
	k->xs = xs;
	k->svc = svc;
	for (;;) {
		/* The handshake itself gets at least a second, as with shm. */
		k->deadline = timeout_ms == 0 ? ivc_deadline(1000) : deadline;
		r = look(k, xs, svc, out);
		if (r == -ENOENT) /* no such service (yet) */
			r = k->present_only ? -ECONNREFUSED : -EAGAIN;
		if (r != -EAGAIN)
			break;
		if (timeout_ms == 0) {
			r = -ECONNREFUSED;
			break;
		}
		r = wait_watch(xs, deadline);
		if (r)
			break;
	}
	xs_unwatch(xs, svc, "ivc");
	return r;
}

static int xen_connect(const char *addr, const struct ivc_options *opts, int timeout_ms,
		       int present_only, struct ivc_channel **out)
{
	struct ivc_lane_geom txg;
	struct ivc_xen_addr a;
	struct xs_handle *xs;
	struct xconn k;
	char svc[128];
	int r;

	r = ivc_xen_addr_parse(addr, &a);
	if (!r)
		r = ivc_xen_opts(opts, &txg);
	if (!r)
		r = ivc_xs_open(&xs);
	if (r)
		return r;
	memset(&k, 0, sizeof(k));
	k.txg = &txg;
	k.mode = opts ? (int)opts->mode : IVC_MODE_ADAPTIVE;
	k.spin_max_ns = opts ? opts->spin_max_ns : 0;
	k.present_only = present_only;
	r = ivc_xs_local_domid(xs, &k.local);
	if (!r) {
		k.peer = a.has_domid ? a.domid : k.local;
		ivc_xen_service_path(svc, sizeof(svc), k.peer, a.service);
		r = connect_loop(&k, xs, svc, timeout_ms, out);
	}
	xs_close(xs);
	return r;
}

int ivc_xen_connect(const char *addr, const struct ivc_options *opts,
		    int timeout_ms, struct ivc_channel **out)
{
	return xen_connect(addr, opts, timeout_ms, 0, out);
}

int ivc_xen_connect_present(const char *addr, const struct ivc_options *opts,
			    int timeout_ms, struct ivc_channel **out)
{
	return xen_connect(addr, opts, timeout_ms, 1, out);
}
