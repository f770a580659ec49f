/* SPDX-License-Identifier: MIT */
/*
 * Our own lanes that a peer could hand back to us.  A lane is ours to
 * write; mapped as a peer's lane too, it would make a channel talk to
 * itself, or one channel receive another's traffic (a HELLO offering the
 * lane we sent in an earlier, still unfinished handshake).  A lane is
 * listed from its making until it is frozen (ivc_shm_freeze()): after
 * that it carries a write seal, which peer_map() refuses anyway.
 *
 * One list per process, behind a mutex: it is touched only by handshakes.
 * A fork() while another thread holds the mutex would leave it locked in
 * the child, so the child takes it over unlocked (pthread_atfork).
 */
#include "shm/shm_pvt.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct own_id {
	dev_t dev;
	ino_t ino;
};

static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t own_once = PTHREAD_ONCE_INIT;
static struct own_id *own_v;
static size_t own_n, own_cap;

static void own_lock_fork(void)
{
	pthread_mutex_lock(&own_lock);
}

static void own_unlock_fork(void)
{
	pthread_mutex_unlock(&own_lock);
}

static void own_init(void)
{
	(void)pthread_atfork(own_lock_fork, own_unlock_fork, own_unlock_fork);
}

static void own_enter(void)
{
	(void)pthread_once(&own_once, own_init);
	pthread_mutex_lock(&own_lock);
}

int ivc_shm_own_add(dev_t dev, ino_t ino)
{
	int r = 0;

	own_enter();
	if (own_n == own_cap) {
		size_t cap = own_cap ? 2 * own_cap : 16;
		struct own_id *v = realloc(own_v, cap * sizeof(*v));

		if (v) {
			own_v = v;
			own_cap = cap;
		}
	}
	if (own_n < own_cap)
		own_v[own_n++] = (struct own_id){ dev, ino };
	else
		r = -ENOMEM;
	pthread_mutex_unlock(&own_lock);
	return r;
}

void ivc_shm_own_del(dev_t dev, ino_t ino)
{
	size_t i;

	own_enter();
	for (i = 0; i < own_n; i++) {
		if (own_v[i].dev == dev && own_v[i].ino == ino) {
			own_v[i] = own_v[--own_n];
			break;
		}
	}
	if (!own_n) { /* nothing in flight: give the memory back */
		free(own_v);
		own_v = NULL;
		own_cap = 0;
	}
	pthread_mutex_unlock(&own_lock);
}

int ivc_shm_own_has(dev_t dev, ino_t ino)
{
	size_t i;
	int found = 0;

	own_enter();
	for (i = 0; i < own_n && !found; i++)
		found = own_v[i].dev == dev && own_v[i].ino == ino;
	pthread_mutex_unlock(&own_lock);
	return found;
}
