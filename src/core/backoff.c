/* SPDX-License-Identifier: MIT */
#include "core/backoff_pvt.h"

/* An exponentially weighted average with weight 1/8: quick enough to follow
 * a change of traffic within a few messages, slow enough to ride out one
 * outlier (a preemption, a page fault). */
static void ewma(struct ivc_backoff *b, uint64_t sample)
{
	if (sample > b->est_ns)
		b->est_ns += (sample - b->est_ns) / 8;
	else
		b->est_ns -= (b->est_ns - sample) / 8;
}

void ivc_backoff_init(struct ivc_backoff *b, uint32_t spin_max_ns)
{
	b->spin_max_ns = spin_max_ns ? spin_max_ns : IVC_SPIN_MAX_DEFAULT_NS;
	b->est_ns = b->spin_max_ns / 2;
}

uint64_t ivc_backoff_budget(const struct ivc_backoff *b)
{
	uint64_t budget = 2 * b->est_ns;

	if (budget < IVC_SPIN_MIN_NS)
		budget = IVC_SPIN_MIN_NS;
	if (budget > b->spin_max_ns)
		budget = b->spin_max_ns;
	return budget;
}

void ivc_backoff_hit(struct ivc_backoff *b, uint64_t waited_ns)
{
	ewma(b, waited_ns);
}

void ivc_backoff_slept(struct ivc_backoff *b, uint64_t waited_ns)
{
	/* Data that came soon after we gave up says "spin longer"; a long
	 * idle period says spinning would have been wasted: decay. */
	if (waited_ns <= b->spin_max_ns)
		ewma(b, waited_ns);
	else
		b->est_ns -= b->est_ns / 8;
}
