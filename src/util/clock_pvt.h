/* SPDX-License-Identifier: MIT */
/* Monotonic time and timeout-to-deadline conversion. */
#ifndef IVC_CLOCK_PVT_H
#define IVC_CLOCK_PVT_H

#include <stdint.h>

/* Deadline meaning "never". */
#define IVC_NEVER UINT64_MAX

/* Nanoseconds on CLOCK_MONOTONIC (vDSO: no system call). */
uint64_t ivc_now_ns(void);

/* The same on CLOCK_MONOTONIC_COARSE: a memory read, no TSC (in a VM a
 * fine clock read can cost more than an empty poll), to the kernel's tick
 * (1-10 ms).  For rate limits on a polling path, never for timeouts. */
uint64_t ivc_coarse_ns(void);

/* The deadline for a public timeout_ms (< 0 never, 0 now, > 0 later).
 * A zero timeout reads no clock: its deadline, 0, has always passed. */
uint64_t ivc_deadline(int timeout_ms);

/* Milliseconds left until @deadline, rounded up, for poll(2); -1 = never. */
int ivc_ms_left(uint64_t deadline);

/* The error a wait that hit @deadline returns: -EAGAIN for a zero timeout. */
int ivc_timeout_error(int timeout_ms);

/* Sleep @ns without a signal-safe guarantee (control path only). */
void ivc_sleep_ns(uint64_t ns);

#endif
