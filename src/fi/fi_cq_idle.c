/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_cq_idle.c - IVC_FI_IDLE_MS: a caller that spins on fi_cq_read()
 * with nothing coming stops burning its core.  Open MPI's MTL never
 * blocks: a rank waiting in MPI_Recv() or a barrier calls fi_cq_read() in
 * a loop, so an idle rank spins at 100% whatever fi_cq_sread() does
 * (issue 18; the measurement paper's lesson on shared cores).  Asked for,
 * the provider does what ivc's adaptive waits do: spin for a while, then
 * sleep on the channels' descriptors, armed so that the peer's next
 * message wakes the sleeper at once.
 *
 * A non-blocking call that may sleep is a departure from libfabric's
 * rules, so it is off unless asked for, and careful when on.  A read
 * dozes only once its caller has done nothing but read this CQ for
 * IVC_FI_IDLE_MS: reads at least every IVCFI_IDLE_GAP_NS on average, and
 * no completion on any CQ of the domain meanwhile.  So a caller that
 * computes between its reads (MPI_Test() in a work loop) is never made to
 * sleep.  A doze lasts at most IVCFI_DOZE_MS, so that whatever else the
 * caller polls between its reads (another component's progress) is late
 * by no more.  Any completion, or a read that comes later than
 * IVCFI_DOZE_GAP_NS after the last one returned, ends the dozing.
 *
 * The busy path pays nothing: a read that returns completions does not
 * come here, and an empty one counts, and looks at the coarse clock
 * (no TSC read) every IVCFI_IDLE_EVERY reads.
 */
#include <stdio.h>
#include <time.h>

#include "fi/fi_pvt.h"

/* IVC_FI_IDLE_MS is at most an hour: longer is never dozing. */
#define IVCFI_IDLE_MS_MAX 3600000ull

void ivcfi_cq_idle_init(struct ivcfi_cq *cq)
{
	unsigned long long ms = ivcfi_env_number("IVC_FI_IDLE_MS", 0, IVCFI_IDLE_MS_MAX);

	cq->idle = (struct ivcfi_idle){ .after_ns = ms * 1000000ull,
					.say = ivcfi_env_is("IVC_FI_STATS", "1") };
}

void ivcfi_cq_idle_report(const struct ivcfi_cq *cq)
{
	if (cq->idle.after_ns && cq->idle.say)
		fprintf(stderr, "ivc-fi: cq dozed in %llu reads (IVC_FI_IDLE_MS=%llu)\n",
			(unsigned long long)cq->idle.dozes,
			(unsigned long long)(cq->idle.after_ns / 1000000u));
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void spell_start(struct ivcfi_idle *id, uint64_t now, uint64_t completions)
{
	id->t0 = now;
	id->reads = 0;
	id->seen = completions;
	id->dozing = false;
}

/* Whether the caller has spun on us long enough, reading back to back
 * with nothing happening, to doze from now on. */
static bool spell_long_enough(struct ivcfi_cq *cq)
{
	struct ivcfi_idle *id = &cq->idle;
	uint64_t now = clock_ns(CLOCK_MONOTONIC_COARSE);

	if (!id->t0 || id->seen != cq->dom->completions) {
		spell_start(id, now, cq->dom->completions);
		return false;
	}
	uint64_t span = now - id->t0;
	if (span < id->after_ns)
		return false;
	/* Fewer reads than one per gap: the caller does other things
	 * between them.  Start over rather than make it sleep. */
	if (id->reads * IVCFI_IDLE_GAP_NS < span) {
		spell_start(id, now, cq->dom->completions);
		return false;
	}
	return true;
}

/* One dozing read: sleep on the CQ's descriptors, then look again. */
static ssize_t doze(struct ivcfi_cq *cq, void *buf, size_t count, fi_addr_t *src)
{
	struct ivcfi_idle *id = &cq->idle;

	if (id->seen != cq->dom->completions ||
	    clock_ns(CLOCK_MONOTONIC) - id->left_ns > IVCFI_DOZE_GAP_NS) {
		id->t0 = 0; /* the next look at the clock starts a spell */
		id->dozing = false;
		return -FI_EAGAIN;
	}
	id->dozes++;
	ivcfi_cq_block(cq, IVCFI_DOZE_MS);
	ssize_t n = ivcfi_cq_read_locked(cq, buf, count, src);
	id->left_ns = clock_ns(CLOCK_MONOTONIC);
	return n;
}

ssize_t ivcfi_cq_idle_read(struct ivcfi_cq *cq, void *buf, size_t count,
			   fi_addr_t *src)
{
	struct ivcfi_idle *id = &cq->idle;

	if (id->dozing)
		return doze(cq, buf, count, src);
	if (++id->reads % IVCFI_IDLE_EVERY || !spell_long_enough(cq))
		return -FI_EAGAIN;
	id->dozing = true;
	id->left_ns = clock_ns(CLOCK_MONOTONIC);
	return -FI_EAGAIN;
}
