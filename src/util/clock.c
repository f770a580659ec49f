/* SPDX-License-Identifier: MIT */
#include "util/clock_pvt.h"

#include <errno.h>
#include <time.h>

uint64_t ivc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ivc_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ivc_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return IVC_NEVER;
	if (timeout_ms == 0)
		return 0;
	return ivc_now_ns() + (uint64_t)timeout_ms * 1000000ull;
}

int ivc_ms_left(uint64_t deadline)
{
	uint64_t now, left;

	if (deadline == IVC_NEVER)
		return -1;
	now = ivc_now_ns();
	if (now >= deadline)
		return 0;
	left = (deadline - now + 999999ull) / 1000000ull;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

int ivc_timeout_error(int timeout_ms)
{
	return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
}

void ivc_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull),
			       (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
