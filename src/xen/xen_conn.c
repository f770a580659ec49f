/* SPDX-License-Identifier: MIT */
/*
 * One side of a xen connection, from open to free, and the shares it keeps
 * after it closed, until the peer lets go: one lifecycle, one file.
 *
 * Unsharing a page that the peer still maps does not free its grant: the
 * kernel puts the grant on a deferred list that it retries ten entries a
 * second (Linux drivers/xen/grant-table.c).  A lane of a few hundred pages
 * unshared by the side that closes first thus holds grants for tens of
 * seconds, and a few dozen connections fill the domain's grant table
 * (measured in dom0: 50 connect/close cycles left 27,000 of 32,768 grants
 * deferred).  Worse, Linux 6.1's gntalloc loses grants once the table is
 * full.  So the side that closes first keeps its lane shared (and its
 * handshake page, where the peer's alive word is) until the peer has let
 * go; every close, connect, listen and accept then frees what it can.
 *
 * A side lets go in a fixed order (ivc_xen_conn_free): it unmaps the peer's
 * lane, then clears its own alive word and rings HUP.  So an alive word of
 * 0 means that side no longer maps our lane; a peer that dies has its
 * mappings torn down by its kernel, which clears its word too.
 */
#include "xen/xen_pvt.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "util/compiler_pvt.h"

/* ---- open and free ---- */

int ivc_xen_conn_open(struct ivc_xen_conn *c, uint32_t local, uint32_t peer)
{
	int i;

	ivc_xen_linger_reap(); /* before taking grants of our own */
	memset(c, 0, sizeof(*c));
	c->owner = getpid();
	c->local_domid = local;
	c->peer_domid = peer;
	for (i = 0; i < IVC_XEN_NPORTS; i++)
		ivc_xen_ev_init(&c->ev[i]);
	c->gs = xengntshr_open(NULL, 0);
	c->gt = c->gs ? xengnttab_open(NULL, 0) : NULL;
	if (!c->gt) {
		int r = errno ? -errno : -ENOENT;

		ivc_xen_conn_free(c);
		return r;
	}
	return 0;
}

static uint32_t *own_alive(struct ivc_xen_conn *c)
{
	return c->hs_shared ? &c->hs->l_alive : &c->hs->c_alive;
}

/* Let go of what the peer shared with us, in the order the kept shares (below) rely
 * on: its lane unmapped first, then our alive word cleared and HUP rung
 * (what unmap-notify does when the page goes, done now because the page
 * may stay).  A peer that reads 0 may unshare its lane at once. */
static void let_go(struct ivc_xen_conn *c)
{
	if (c->rx.base)
		xengnttab_unmap(c->gt, c->rx.base, c->rx.pages);
	c->rx.base = NULL;
	if (c->hs) {
		IVC_STORE_REL(own_alive(c), 0u);
		(void)ivc_xen_ev_notify(&c->ev[IVC_XEN_HUP]);
	}
}

void ivc_xen_conn_drop(struct ivc_xen_conn *c, int owner)
{
	/* After fork only closing the handles is allowed (and the mappings
	 * of gntdev are not even inherited). */
	if (owner && c->gt && c->hs && !c->hs_shared)
		xengnttab_unmap(c->gt, c->hs, 1); /* notifies the peer */
	if (owner && c->gs) {
		if (c->tx.base)
			xengntshr_unshare(c->gs, c->tx.base, c->tx.pages);
		if (c->hs && c->hs_shared)
			xengntshr_unshare(c->gs, c->hs, 1); /* notifies the peer */
	}
	c->tx.base = NULL;
	c->hs = NULL;
	if (c->gt)
		xengnttab_close(c->gt);
	if (c->gs)
		xengntshr_close(c->gs);
	c->gt = NULL;
	c->gs = NULL;
}

void ivc_xen_conn_free(struct ivc_xen_conn *c)
{
	int owner = c->owner == getpid();
	int i;

	if (owner && c->gt)
		let_go(c);
	c->rx.base = NULL;
	/* Our lane, while the peer still maps it, is kept shared until it
	 * lets go (below): unshared now it would hold its grants on
	 * the kernel's slow deferred list. */
	if (!(owner && c->tx.base && c->hs && IVC_LOAD_ACQ(ivc_xen_conn_peer_alive(c)) &&
	      ivc_xen_linger(c) == 0))
		ivc_xen_conn_drop(c, owner);
	for (i = 0; i < IVC_XEN_NPORTS; i++)
		ivc_xen_ev_close(&c->ev[i], owner);
	if (owner)
		ivc_xen_linger_reap();
}

const uint32_t *ivc_xen_conn_peer_alive(const struct ivc_xen_conn *c)
{
	return c->hs_shared ? &c->hs->c_alive : &c->hs->l_alive;
}

/* ---- shares kept until the peer lets go ---- */

struct kept {
	struct kept *next;
	struct ivc_xen_conn c; /* event channels already closed */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct kept *head;
static unsigned n_kept;

/* A fork while another thread holds the lock must not leave the child's
 * copy locked for ever. */
static void prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void release(void)
{
	pthread_mutex_unlock(&lock);
}

static void init(void)
{
	pthread_atfork(prepare, release, release);
}

/* Is @c's peer domain destroyed (or its side closed)?  A destroyed
 * domain's kernel clears no alive word, but Xen has released its mappings,
 * and its link node is gone with its xenstore tree (xen_link.c).  *xs is
 * opened once per pass, and only for a peer in another domain. */
static int domain_gone(const struct ivc_xen_conn *c, struct xs_handle **xs)
{
	if (!c->link_peer[0])
		return 0;
	if (!*xs && ivc_xs_open(xs))
		return 0;
	return ivc_xen_link_gone(c, *xs);
}

int ivc_xen_linger(struct ivc_xen_conn *c)
{
	struct kept *k = malloc(sizeof(*k)), *old = NULL, **pp;

	if (!k)
		return -ENOMEM;
	k->c = *c;
	for (unsigned i = 0; i < IVC_XEN_NPORTS; i++)
		k->c.ev[i].h = NULL; /* the caller's to close */
	pthread_once(&once, init);
	pthread_mutex_lock(&lock);
	if (n_kept >= IVC_XEN_LINGER_MAX) {
		/* A peer that never lets go must not cost us without bound:
		 * the oldest is freed now, its grants left to the kernel. */
		for (pp = &head; (*pp)->next; pp = &(*pp)->next)
			;
		old = *pp;
		*pp = NULL;
		n_kept--;
	}
	k->next = head;
	head = k;
	n_kept++;
	pthread_mutex_unlock(&lock);
	if (old) {
		ivc_xen_conn_drop(&old->c, old->c.owner == getpid());
		free(old);
	}
	/* The caller no longer owns any of it. */
	c->gs = NULL;
	c->gt = NULL;
	c->hs = NULL;
	c->tx.base = NULL;
	return 0;
}

void ivc_xen_linger_reap(void)
{
	struct kept *done = NULL, **pp, *k;
	struct xs_handle *xs = NULL;
	pid_t me = getpid();

	pthread_once(&once, init);
	pthread_mutex_lock(&lock);
	for (pp = &head; (k = *pp) != NULL;) {
		if (k->c.owner == me && IVC_LOAD_ACQ(ivc_xen_conn_peer_alive(&k->c)) &&
		    !domain_gone(&k->c, &xs)) {
			pp = &k->next;
			continue;
		}
		*pp = k->next;
		n_kept--;
		k->next = done;
		done = k;
	}
	pthread_mutex_unlock(&lock);
	if (xs)
		xs_close(xs);
	while ((k = done) != NULL) {
		done = k->next;
		/* (In a fork child the copy only closes its handles.) */
		ivc_xen_conn_drop(&k->c, k->c.owner == me);
		free(k);
	}
}

unsigned ivc_xen_linger_count(void)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = n_kept;
	pthread_mutex_unlock(&lock);
	return n;
}
