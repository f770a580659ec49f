/* SPDX-License-Identifier: MIT */
/*
 * This domain's table of co-resident net: services (net_xen_pvt.h): one
 * xenstore handle per process, opened at the first lookup, with a watch on
 * the table so that what ivc-netd changes reaches the registry (which a
 * connect reads without asking xenstore: ivc_net_xen_sync() at each
 * connect applies the watch's events first).
 */
#include "endpoint/net_xen_pvt.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "endpoint/net_pvt.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static struct xs_handle *g_xs; /* under g_mu */
static int g_none;             /* no xenstore here: never ask again */

static void at_prepare(void)
{
	pthread_mutex_lock(&g_mu);
}

static void at_parent(void)
{
	pthread_mutex_unlock(&g_mu);
}

/* The handle's reader thread does not exist in a child: a child opens its
 * own (the parent's is left as it is: closing it would join that thread). */
static void at_child(void)
{
	g_xs = NULL;
	pthread_mutex_unlock(&g_mu);
}

static void once(void)
{
	(void)pthread_atfork(at_prepare, at_parent, at_child);
}

/* Under g_mu: the handle, opened and watching the table; NULL if none. */
static struct xs_handle *handle(void)
{
	if (g_xs || g_none)
		return g_xs;
	g_xs = xs_open(0);
	if (!g_xs) {
		g_none = 1;
		return NULL;
	}
	/* Relative: this domain's own table (which may not exist yet).  The
	 * watch's pipe now too, so the handle holds all it will hold. */
	if (!xs_watch(g_xs, NET_XEN_TABLE, NET_XEN_TABLE) || xs_fileno(g_xs) < 0) {
		xs_close(g_xs);
		g_xs = NULL;
		g_none = 1;
	}
	return g_xs;
}

int ivc_net_xen_lookup(const struct net_xen_addr *a, uint32_t *domid, unsigned *wild)
{
	char path[sizeof(NET_XEN_TABLE) + NET_XEN_KEY_MAX + 1], *v;
	struct xs_handle *xs;
	unsigned int len;
	int r;

	pthread_once(&g_once, once);
	strcpy(path, NET_XEN_TABLE "/");
	ivc_net_xen_key_of(a, path + strlen(path));
	pthread_mutex_lock(&g_mu);
	xs = handle();
	v = xs ? xs_read(xs, XBT_NULL, path, &len) : NULL;
	r = !xs ? -ENODEV : !v ? -ENOENT : ivc_net_xen_entry_parse(v, a, domid, wild);
	pthread_mutex_unlock(&g_mu);
	free(v);
	return r;
}

/* A watch event's path: the entry of one address, or the whole table. */
static void forget_path(const char *path)
{
	const char *key = strrchr(path, '/');
	struct net_xen_addr a;

	if (key && !ivc_net_xen_key_parse(key + 1, &a))
		ivc_net_reg_forget_xen(&a);
	else
		ivc_net_reg_forget_kinds(NET_SEEN_XEN | NET_SEEN_REMOTE);
}

void ivc_net_xen_sync(void)
{
	struct pollfd p;
	char **ev;

	pthread_once(&g_once, once);
	if (pthread_mutex_trylock(&g_mu))
		return; /* another thread is applying them, or looking up */
	if (!g_xs) {
		pthread_mutex_unlock(&g_mu);
		return;
	}
	p = (struct pollfd){ .fd = xs_fileno(g_xs), .events = POLLIN };
	while (p.fd >= 0 && poll(&p, 1, 0) == 1 && (ev = xs_check_watch(g_xs))) {
		forget_path(ev[XS_WATCH_PATH]);
		free(ev);
	}
	pthread_mutex_unlock(&g_mu);
}
