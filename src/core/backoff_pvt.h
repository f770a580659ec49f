/* SPDX-License-Identifier: MIT */
/*
 * The adaptive spin budget.  A waiting side spins only as long as data has
 * recently taken to come: spinning past that only burns a core, and
 * sleeping before it costs a wake-up (tens of microseconds for a blocked
 * vCPU).  The budget is twice a smoothed estimate of recent waits, bounded
 * by [IVC_SPIN_MIN_NS, spin_max_ns].
 */
#ifndef IVC_BACKOFF_PVT_H
#define IVC_BACKOFF_PVT_H

#include <stdint.h>

#define IVC_SPIN_MIN_NS 500u
/* The budget's upper bound when the options leave it 0. */
#define IVC_SPIN_MAX_DEFAULT_NS 50000u
/* After a spin that found nothing (adaptive mode, peer on another CPU): a
 * couple of yields let a preempted peer finish before we pay for a sleep.
 * Channel waits and the poller both do it. */
#define IVC_YIELDS_AFTER_SPIN 2

/* The adaptive spin budget of one waiting side (a channel's, a poller's). */
struct ivc_backoff {
	uint64_t est_ns;      /* smoothed time data took to come */
	uint64_t spin_max_ns; /* the budget's upper bound */
};

/* Start with @spin_max_ns as the bound (0: the default) and the estimate
 * at half of it, so the first wait spins the whole bound; it adapts from
 * there. */
void ivc_backoff_init(struct ivc_backoff *b, uint32_t spin_max_ns);
/* How long to spin before sleeping, in nanoseconds. */
uint64_t ivc_backoff_budget(const struct ivc_backoff *b);
/* Data came after @waited_ns while we spun. */
void ivc_backoff_hit(struct ivc_backoff *b, uint64_t waited_ns);
/* Data came after @waited_ns, but we had gone to sleep. */
void ivc_backoff_slept(struct ivc_backoff *b, uint64_t waited_ns);

#endif
