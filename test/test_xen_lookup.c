/* SPDX-License-Identifier: MIT */
/*
 * test_xen_lookup - how a xen connector in a guest decides, from what it
 * may read of the listener's tree, between "refused", "not there yet" and
 * "allowed, wait for the offer".
 *
 * A unit test: the handful of libxenstore calls the lookup makes are
 * answered here by a scripted store (this program's own xs_* functions
 * take the place of libxenstore's), with a guest's view of permissions.
 * The real store is exercised by the Xen harness (test/xen).
 *
 * A guest reads EACCES for a node it may not read, and for a missing node
 * under a folder it may not read; the listener makes its services' folder
 * readable by all, so the connector lists that folder to tell the two
 * apart.  The listener may publish between that read and the listing: its
 * first service creates the folder too.  The listing then shows a service
 * the read could not see.  Before the fix the connector took that for a
 * refusal and failed with -EACCES at once, though the service allowed it
 * (once in the Xen harness, a guest connecting to another guest's first
 * service right after that service's listener started).
 *
 * Cases (each a connect with a 50 ms timeout, or 0 where it says so):
 *   1. published between the read and the listing, allowing us: waits for
 *      the offer (-ETIMEDOUT here: no offer comes), not -EACCES;
 *   2. published before, not allowing us (unreadable): -EACCES;
 *   3. published before, readable, but we are not in its list: -EACCES;
 *   4. published before, allowing us, no offer yet: -ETIMEDOUT;
 *   5. nothing published (no folder): waits (-ETIMEDOUT); with timeout 0
 *      -ECONNREFUSED;
 *   6. published between the read and the listing, not allowing us:
 *      -EACCES.
 */
#include "check.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include <ivc/ivc.h>

#include "xen/xen_pvt.h"

/* We are domain 4 ("domid" reads 4); the listener is domain 1. */
#define DIR "/local/domain/1/data/ivc"
#define SVC DIR "/r1"
#define WAIT_MS 50

/* ---- the scripted store ---- */

struct node {
	const char *path;
	const char *value;
	bool readable; /* by us */
};

#define MAX_NODES 8
static struct node store[MAX_NODES], pending[MAX_NODES];
static unsigned n_store, n_pending, n_lists;

struct xs_handle {
	int fd[2]; /* never readable: no watch fires */
};

static void store_reset(void)
{
	n_store = n_pending = n_lists = 0;
}

static void add(struct node *set, unsigned *n, const char *path, const char *value,
		bool readable)
{
	REQUIRE(*n < MAX_NODES);
	set[(*n)++] = (struct node){ path, value, readable };
}

/* The listener's transaction: its folder (readable by all), the service
 * node, and no offer yet. */
static void publish(struct node *set, unsigned *n, const char *list, bool readable)
{
	add(set, n, DIR, "", true);
	add(set, n, SVC, list, readable);
}

static const struct node *find(const char *path)
{
	unsigned i;

	for (i = 0; i < n_store; i++)
		if (!strcmp(store[i].path, path))
			return &store[i];
	return NULL;
}

/* The pending transaction commits when the connector lists the folder:
 * just after its read, the moment the race needs. */
static void commit(void)
{
	unsigned i;

	for (i = 0; i < n_pending; i++)
		add(store, &n_store, pending[i].path, pending[i].value, pending[i].readable);
	n_pending = 0;
}

struct xs_handle *xs_open(unsigned long flags)
{
	struct xs_handle *h = malloc(sizeof(*h));

	(void)flags;
	if (!h || pipe(h->fd)) {
		free(h);
		return NULL;
	}
	return h;
}

void xs_close(struct xs_handle *h)
{
	if (!h)
		return;
	close(h->fd[0]);
	close(h->fd[1]);
	free(h);
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
	const struct node *n, *parent;
	char dir[256];

	(void)h;
	(void)t;
	if (!strcmp(path, "domid")) {
		*len = 1;
		return strdup("4");
	}
	n = find(path);
	if (n) {
		if (!n->readable) {
			errno = EACCES;
			return NULL;
		}
		*len = (unsigned)strlen(n->value);
		return strdup(n->value);
	}
	/* Missing: ENOENT only under a folder we may read. */
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	parent = find(dir);
	errno = parent && parent->readable ? ENOENT : EACCES;
	return NULL;
}

/* A direct child of @dir (length @dlen): its name, else NULL. */
static const char *child_name(const struct node *n, const char *dir, size_t dlen)
{
	if (strncmp(n->path, dir, dlen) || n->path[dlen] != '/' ||
	    strchr(n->path + dlen + 1, '/'))
		return NULL;
	return n->path + dlen + 1;
}

/* One allocation, as libxenstore's: the pointers, then the names. */
char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
		    unsigned int *num)
{
	const struct node *d;
	size_t dlen = strlen(path), bytes = 0;
	const char *name;
	unsigned i, k = 0;
	char **out, *s;

	(void)h;
	(void)t;
	n_lists++;
	commit();
	d = find(path);
	if (!d || !d->readable) {
		errno = EACCES; /* a guest: the folder's parent is not ours */
		return NULL;
	}
	for (i = 0; i < n_store; i++)
		if ((name = child_name(&store[i], path, dlen)) != NULL) {
			bytes += sizeof(char *) + strlen(name) + 1;
			k++;
		}
	out = malloc(bytes + 1);
	if (!out)
		return NULL;
	s = (char *)(out + k);
	k = 0;
	for (i = 0; i < n_store; i++)
		if ((name = child_name(&store[i], path, dlen)) != NULL) {
			out[k++] = strcpy(s, name);
			s += strlen(name) + 1;
		}
	*num = k;
	return out;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	(void)h;
	(void)path;
	(void)token;
	return true;
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	(void)h;
	(void)path;
	(void)token;
	return true;
}

int xs_fileno(struct xs_handle *h)
{
	return h->fd[0];
}

char **xs_check_watch(struct xs_handle *h)
{
	(void)h;
	errno = EAGAIN;
	return NULL;
}

/* ---- the cases ---- */

static int try_connect(int timeout_ms)
{
	struct ivc_channel *ch = NULL;
	int r = ivc_xen_connect("xen:1/r1", NULL, timeout_ms, &ch);

	CHECK(!ch);
	return r;
}

static void published_meanwhile(void)
{
	store_reset();
	publish(pending, &n_pending, "321 4", true);
	CHECK_ERR(try_connect(WAIT_MS), -ETIMEDOUT);
	CHECK(n_lists >= 1); /* the race really was taken */

	store_reset();
	publish(pending, &n_pending, "321 2", false);
	CHECK_ERR(try_connect(WAIT_MS), -EACCES);
}

static void published_before(void)
{
	store_reset();
	publish(store, &n_store, "321 2", false);
	CHECK_ERR(try_connect(WAIT_MS), -EACCES);

	store_reset();
	publish(store, &n_store, "321 2 3", true);
	CHECK_ERR(try_connect(WAIT_MS), -EACCES);

	store_reset();
	publish(store, &n_store, "321 2 4", true);
	CHECK_ERR(try_connect(WAIT_MS), -ETIMEDOUT);
}

static void not_published(void)
{
	store_reset();
	CHECK_ERR(try_connect(WAIT_MS), -ETIMEDOUT);
	CHECK_ERR(try_connect(0), -ECONNREFUSED);
}

int main(void)
{
	t_init("test_xen_lookup", 60);
	published_meanwhile();
	published_before();
	not_published();
	return t_finish();
}
