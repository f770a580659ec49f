/* SPDX-License-Identifier: MIT */
/*
 * The poller's state, shared by poller.c (the loop), poller_set.c (what it
 * serves) and poller_req.c (who may change it, and handing changes to a
 * running loop).
 */
#ifndef IVC_POLLER_PVT_H
#define IVC_POLLER_PVT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <ivc/poller.h>

#include "core/channel_pvt.h"

struct poll_entry {
	struct ivc_channel *ch; /* NULL once dead */
	ivc_poll_cb cb;
	void *arg;
	int dead;
};

struct listen_entry {
	struct ivc_listener *l; /* NULL once dead */
	int fd;                 /* its ivc_listener_fd() */
	ivc_accept_cb cb;
	void *arg;
	int dead;
};

enum ivc_poller_op {
	IVC_POLLER_OP_ADD,
	IVC_POLLER_OP_REMOVE,
	IVC_POLLER_OP_ADD_LISTENER,
	IVC_POLLER_OP_REMOVE_LISTENER,
};

/* A change of the sets.  One asked for by another thread while the loop
 * runs lives on that thread's stack until the loop has applied it. */
struct ivc_poller_req {
	struct ivc_poller_req *next;
	enum ivc_poller_op op;
	struct ivc_channel *ch;
	struct ivc_listener *l;
	ivc_poll_cb cb;
	ivc_accept_cb lcb;
	void *arg;
	int rc;
	int done;
};

struct ivc_poller {
	/* Read and written only by the thread that owns the poller. */
	struct poll_entry *v;
	size_t n, cap;
	struct listen_entry *lv;
	size_t ln, lcap;
	int serving;             /* in a callback: removals only mark entries */
	unsigned busy_passes;    /* for the listeners' rate limit */
	uint64_t next_listen_ns; /* while busy, look at the listeners then */
	struct ivc_backoff bo;
	/* Fixed at creation. */
	int ep;     /* ivc_poller_fd(): channels' fds, listeners' fds, req_fd */
	int lep;    /* the listeners' fds alone: looked at while busy */
	int req_fd; /* eventfd: a change was handed over, or a stop */
	int cpu;
	unsigned flags;
	int mode;
	/* ivc_poller_apply(), given at creation: the request queue (below)
	 * applies changes without depending on the sets' file. */
	int (*apply)(struct ivc_poller *p, struct ivc_poller_req *q);
	/* Shared between threads. */
	void *owner;        /* (atomic) NULL, the running thread's token, or
			     * "held" (poller_req.c) */
	int stop;           /* (atomic) */
	int pending;        /* (atomic) the request queue is not empty */
	pthread_mutex_t mu; /* the queue; held while changing an idle poller */
	pthread_cond_t cv;  /* a request was applied */
	struct ivc_poller_req *q_head, **q_tail;
};

/* ---- poller_set.c: the sets, changed by the owner only ---- */

/* Apply @q now.  Return its result (0 or -errno). */
int ivc_poller_apply(struct ivc_poller *p, struct ivc_poller_req *q);
/* Unhook channel entry @i (epoll, ch->poller) and mark it dead. */
void ivc_poller_kill(struct ivc_poller *p, size_t i);
/* The same for listener entry @i. */
void ivc_poller_kill_listener(struct ivc_poller *p, size_t i);
/* Drop dead entries, keeping the order (not while serving). */
void ivc_poller_compact(struct ivc_poller *p);

/* ---- poller_req.c: ownership and requests ---- */

int ivc_poller_req_init(struct ivc_poller *p);
void ivc_poller_req_fini(struct ivc_poller *p);
/* Become the thread that runs @p: 0, or -EBUSY if another one does (or
 * this one, from a callback). */
int ivc_poller_own(struct ivc_poller *p);
/* Stop running @p; requests still queued are applied first. */
void ivc_poller_disown(struct ivc_poller *p);
/* Whether the calling thread runs @p now. */
int ivc_poller_owned_here(const struct ivc_poller *p);
/* Apply @q at once if we may, else hand it to the loop and wait.  Return
 * its result. */
int ivc_poller_submit(struct ivc_poller *p, struct ivc_poller_req *q);
/* The loop: apply the queued requests.  Return how many there were. */
long ivc_poller_take_requests(struct ivc_poller *p);
/* Wake whatever sleeps on ivc_poller_fd() (a change, a stop). */
void ivc_poller_wake(struct ivc_poller *p);

/* The loop's once-a-pass look: one load, no lock. */
static inline int ivc_poller_requests_pending(struct ivc_poller *p)
{
	return __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE);
}

#endif
