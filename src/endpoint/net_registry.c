/* SPDX-License-Identifier: MIT */
/*
 * The co-residency registry (net_pvt.h): per process, from a net: address
 * (numeric address and port) to what a connect found there, read under
 * RCU on every net: connect (a lock-free cds_lfht of liburcu), so that a
 * repeated connect goes straight to the transport that applies.
 *
 *   LOCAL   a rendezvous answered (which one): shm.  Kept until a connect
 *           through it fails, or a net: listener of this process at that
 *           address closes; NET_REG_LOCAL_TTL_NS at most.
 *   REMOTE  no rendezvous answered (the address is ours), or this
 *           domain's Xen table has no entry for it: tcp.  A negative
 *           result, kept NET_REG_NEG_TTL_NS, so that a local listener that
 *           appears later is found within that time (a Xen entry that
 *           appears is found at once: the table's watch forgets it).
 *   XEN     this domain's Xen table names a co-resident service (which:
 *           its domid << 1 | 1 if it is the wildcard's).  Kept until a
 *           connect through it fails or the table's watch reports a
 *           change, NET_REG_LOCAL_TTL_NS at most.
 *
 * Readers never block (rcu_read_lock of the "bulletproof" flavour, which a
 * library may use from threads it did not register); an update replaces
 * or removes a node and frees the old one after a grace period.  At most
 * NET_REG_MAX entries: a full table drops expired ones, then stops
 * caching.  Under ThreadSanitizer, which cannot see RCU's grace periods, a
 * mutex stands in for RCU (the same table, the same code otherwise).
 */
#include "endpoint/net_pvt.h"

#ifdef IVC_HAVE_URCU

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-bp.h>
#include <urcu/rculfhash.h>

#include "util/clock_pvt.h"

#if defined(__SANITIZE_THREAD__)
#define REG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define REG_TSAN 1
#endif
#endif

#define NET_REG_MAX 4096u
#define NET_REG_NEG_TTL_NS 1000000000ull   /* 1 s */
#define NET_REG_LOCAL_TTL_NS 60000000000ull /* 60 s */

struct reg_node {
	struct cds_lfht_node node;
	struct net_key key;
	int seen;
	unsigned which;
	uint64_t expires;
};

static struct cds_lfht *g_ht;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_upd = PTHREAD_MUTEX_INITIALIZER; /* one updater */
static unsigned g_count; /* entries (under g_upd) */

/* READ_*: a reader's side.  UPD_*: an updater's whole operation, and
 * UREAD_* the read-side sections the table wants inside it. */
#ifdef REG_TSAN
static pthread_mutex_t g_tsan = PTHREAD_MUTEX_INITIALIZER;
#define READ_LOCK() pthread_mutex_lock(&g_tsan)
#define READ_UNLOCK() pthread_mutex_unlock(&g_tsan)
#define UREAD_LOCK() ((void)0) /* (the updater holds g_tsan) */
#define UREAD_UNLOCK() ((void)0)
#define GRACE() ((void)0) /* (nobody reads while an update holds g_tsan) */
#define UPD_LOCK() (pthread_mutex_lock(&g_upd), pthread_mutex_lock(&g_tsan))
#define UPD_UNLOCK() (pthread_mutex_unlock(&g_tsan), pthread_mutex_unlock(&g_upd))
#else
#define READ_LOCK() urcu_bp_read_lock()
#define READ_UNLOCK() urcu_bp_read_unlock()
#define UREAD_LOCK() urcu_bp_read_lock()
#define UREAD_UNLOCK() urcu_bp_read_unlock()
#define GRACE() urcu_bp_synchronize_rcu()
#define UPD_LOCK() pthread_mutex_lock(&g_upd)
#define UPD_UNLOCK() pthread_mutex_unlock(&g_upd)
#endif

static void reg_init(void)
{
	/* A fixed table (no resize thread); no call_rcu thread either. */
	g_ht = cds_lfht_new(256, 256, 256, 0, NULL);
#ifndef REG_TSAN
	/* A child must not inherit readers that do not exist in it. */
	(void)pthread_atfork(urcu_bp_before_fork, urcu_bp_after_fork_parent,
			     urcu_bp_after_fork_child);
#endif
}

static unsigned long key_hash(const struct net_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return (unsigned long)h;
}

static int key_match(struct cds_lfht_node *n, const void *key)
{
	const struct reg_node *r = caa_container_of(n, struct reg_node, node);

	return !memcmp(&r->key, key, sizeof(r->key));
}


int ivc_net_reg_get(const struct net_key *k, unsigned *which)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	int seen = 0;

	pthread_once(&g_once, reg_init);
	if (!g_ht)
		return 0;
	READ_LOCK();
	cds_lfht_lookup(g_ht, key_hash(k), key_match, k, &it);
	n = cds_lfht_iter_get_node(&it);
	if (n) {
		const struct reg_node *r = caa_container_of(n, struct reg_node, node);

		if (ivc_now_ns() < r->expires) {
			seen = r->seen;
			*which = r->which;
		}
	}
	READ_UNLOCK();
	return seen;
}

/* Remove expired entries (under g_upd; the caller waits a grace period
 * before freeing what it collected). */
static unsigned reap(struct reg_node **dead, unsigned cap)
{
	struct cds_lfht_iter it;
	struct reg_node *r;
	uint64_t now = ivc_now_ns();
	unsigned n = 0;

	UREAD_LOCK();
	cds_lfht_for_each_entry(g_ht, &it, r, node) {
		if (n == cap)
			break;
		if (now >= r->expires && !cds_lfht_del(g_ht, &r->node))
			dead[n++] = r;
	}
	UREAD_UNLOCK();
	return n;
}

static void free_all(struct reg_node **dead, unsigned n)
{
	if (!n)
		return;
	GRACE();
	for (unsigned i = 0; i < n; i++)
		free(dead[i]);
}

void ivc_net_reg_put(const struct net_key *k, int seen, unsigned which)
{
	struct reg_node *r, *dead[64];
	struct cds_lfht_node *old;
	unsigned n = 0;

	pthread_once(&g_once, reg_init);
	if (!g_ht || !(r = calloc(1, sizeof(*r))))
		return;
	r->key = *k;
	r->seen = seen;
	r->which = which;
	r->expires = ivc_now_ns() + (seen == NET_SEEN_REMOTE ? NET_REG_NEG_TTL_NS :
							       NET_REG_LOCAL_TTL_NS);
	cds_lfht_node_init(&r->node);
	UPD_LOCK();
	if (g_count >= NET_REG_MAX) {
		n = reap(dead, 64);
		g_count -= n;
	}
	if (g_count >= NET_REG_MAX) {
		UPD_UNLOCK();
		free_all(dead, n);
		free(r); /* full of live entries: this one is not cached */
		return;
	}
	UREAD_LOCK();
	old = cds_lfht_add_replace(g_ht, key_hash(k), key_match, k, &r->node);
	UREAD_UNLOCK();
	if (old)
		dead[n++] = caa_container_of(old, struct reg_node, node);
	else
		g_count++;
	UPD_UNLOCK();
	free_all(dead, n);
}

void ivc_net_reg_forget(const struct net_key *k)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	struct reg_node *dead = NULL;

	pthread_once(&g_once, reg_init);
	if (!g_ht)
		return;
	UPD_LOCK();
	UREAD_LOCK();
	cds_lfht_lookup(g_ht, key_hash(k), key_match, k, &it);
	n = cds_lfht_iter_get_node(&it);
	if (n && !cds_lfht_del(g_ht, n)) {
		dead = caa_container_of(n, struct reg_node, node);
		g_count--;
	}
	UREAD_UNLOCK();
	UPD_UNLOCK();
	free_all(&dead, dead ? 1 : 0);
}

void ivc_net_reg_forget_kinds(int seen_mask)
{
	struct reg_node *dead[64];
	struct cds_lfht_iter it;
	struct reg_node *r;
	unsigned n;

	pthread_once(&g_once, reg_init);
	if (!g_ht)
		return;
	do { /* in rounds of 64, each freed after its grace period */
		n = 0;
		UPD_LOCK();
		UREAD_LOCK();
		cds_lfht_for_each_entry(g_ht, &it, r, node) {
			if (n == 64)
				break;
			if ((r->seen & seen_mask) && !cds_lfht_del(g_ht, &r->node))
				dead[n++] = r;
		}
		UREAD_UNLOCK();
		g_count -= n;
		UPD_UNLOCK();
		free_all(dead, n);
	} while (n == 64);
}

#else /* !IVC_HAVE_URCU: no registry, every connect looks afresh */

int ivc_net_reg_get(const struct net_key *k, unsigned *which)
{
	(void)k;
	(void)which;
	return 0;
}

void ivc_net_reg_put(const struct net_key *k, int seen, unsigned which)
{
	(void)k;
	(void)seen;
	(void)which;
}

void ivc_net_reg_forget(const struct net_key *k)
{
	(void)k;
}

void ivc_net_reg_forget_kinds(int seen_mask)
{
	(void)seen_mask;
}

#endif
