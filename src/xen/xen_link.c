/* SPDX-License-Identifier: MIT */
/*
 * Link nodes: how one side of a connection between two domains learns that
 * the other's whole domain was destroyed.
 *
 * A destroyed domain's kernel runs no unmap-notify, so the alive word in
 * the handshake page stays set, and Xen sends nothing on the event
 * channels.  What does happen is that the toolstack removes the domain's
 * xenstore tree.  A guest cannot watch another guest's tree (xenstored
 * fires a watch only for nodes the watcher may read, and sends
 * @releaseDomain to privileged domains only; measured in test/xen: a
 * guest's read of a node it may not see, existing or not, is EACCES).  So
 * each side writes one node in its own tree, readable by the peer domain,
 * before the handshake step the peer waits for:
 *
 *   listener:  /local/domain/<L>/data/ivc-link/l<ref>-<C>    value: its pid
 *   connector: /local/domain/<C>/data/ivc-link/c<ref>-<L>
 *
 * (<ref>: the handshake page's grant reference, which both sides know.)
 * Each side watches the other's node.  The node disappears when its owner
 * closes (after it cleared its alive word) or when its domain's tree is
 * removed; a watch on it fires either way.  An owner that closes clears its
 * alive word first, so a node we can no longer read while the peer's alive
 * word is still set means a destroyed domain: -ECONNRESET (xen_xport.c).
 * A process killed with SIGKILL leaves its node behind: the next link
 * published in that domain removes the nodes of pids that no longer
 * exist.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "xen/xen_pvt.h"

#define LINK_DIR "/local/domain/%u/data/ivc-link"

void ivc_xen_link_names(struct ivc_xen_conn *c, uint32_t hs_ref, int listener)
{
	uint32_t l = listener ? c->local_domid : c->peer_domid;
	uint32_t k = listener ? c->peer_domid : c->local_domid;
	char *own = c->link_own, *peer = c->link_peer;

	c->link_own[0] = c->link_peer[0] = '\0';
	if (l == k)
		return; /* one domain: process death is all there is */
	if (!listener) {
		own = c->link_peer;
		peer = c->link_own;
	}
	snprintf(own, sizeof(c->link_own), LINK_DIR "/l%u-%u", l, hs_ref, k);
	snprintf(peer, sizeof(c->link_peer), LINK_DIR "/c%u-%u", k, hs_ref, l);
}

/* Remove the nodes of our domain's processes that died holding a link. */
static void reap_stale(struct xs_handle *xs, uint32_t local)
{
	char dir[64], path[128];
	unsigned int n, i, len;
	char **names;

	snprintf(dir, sizeof(dir), LINK_DIR, local);
	names = xs_directory(xs, XBT_NULL, dir, &n);
	for (i = 0; names && i < n; i++) {
		char *v;
		long pid;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		v = xs_read(xs, XBT_NULL, path, &len);
		pid = v ? strtol(v, NULL, 10) : 0;
		free(v);
		if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			xs_rm(xs, XBT_NULL, path);
	}
	free(names);
}

int ivc_xen_link_publish(const struct ivc_xen_conn *c)
{
	struct xs_permissions perms[2] = {
		{ .id = c->local_domid, .perms = XS_PERM_NONE },
		{ .id = c->peer_domid, .perms = XS_PERM_READ },
	};
	struct xs_handle *xs;
	char pid[16];
	int r, n;

	if (!c->link_own[0])
		return 0;
	r = ivc_xs_open(&xs);
	if (r)
		return r;
	reap_stale(xs, c->local_domid);
	n = snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (!xs_write(xs, XBT_NULL, c->link_own, pid, (unsigned)n) ||
	    !xs_set_permissions(xs, XBT_NULL, c->link_own, perms, 2)) {
		r = ivc_xs_err();
		xs_rm(xs, XBT_NULL, c->link_own);
	}
	xs_close(xs);
	return r;
}

void ivc_xen_link_remove(const struct ivc_xen_conn *c, struct xs_handle *xs)
{
	struct xs_handle *own = NULL;

	if (!c->link_own[0] || c->owner != getpid())
		return;
	if (!xs && ivc_xs_open(&own) == 0)
		xs = own;
	if (xs)
		xs_rm(xs, XBT_NULL, c->link_own);
	if (own)
		xs_close(own);
}

int ivc_xen_link_gone(const struct ivc_xen_conn *c, struct xs_handle *xs)
{
	return c->link_peer[0] && ivc_xs_node_gone(xs, c->link_peer);
}
