/* SPDX-License-Identifier: MIT */
/* Compiler and CPU helpers used across the library. */
#ifndef IVC_COMPILER_PVT_H
#define IVC_COMPILER_PVT_H

#include <stdint.h>

/* Public functions are the only exported symbols (the build hides the rest). */
#define IVC_PUBLIC __attribute__((visibility("default")))

#define IVC_LIKELY(x) __builtin_expect(!!(x), 1)
#define IVC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define IVC_CACHELINE 64
#define IVC_PAGE 4096u
#define IVC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Shared-memory accesses.  Every word a peer can write is read through one
 * of these exactly once into a local (docs/layout.md, "read once"): the
 * atomic builtins stop the compiler from re-reading or tearing the value
 * (the XSA-155/XSA-166 class of bugs). */
#define IVC_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define IVC_LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define IVC_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define IVC_STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* Orders a store before a later load (Dekker): the sleep/wake handshake.
 * gcc's ThreadSanitizer does not support atomic_thread_fence; there a
 * seq_cst read-modify-write of a local does the same job on the CPU (a
 * locked instruction) and is something TSan understands. */
#if defined(__SANITIZE_THREAD__)
static inline void ivc_fence_tsan(void)
{
	int dummy = 0;

	(void)__atomic_fetch_add(&dummy, 0, __ATOMIC_SEQ_CST);
}
#define IVC_FENCE() ivc_fence_tsan()
#else
#define IVC_FENCE() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

/* A single-writer counter: plain add, but race-free for a reader thread. */
#define IVC_COUNT(p, n) IVC_STORE((p), IVC_LOAD(p) + (n))

static inline void ivc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static inline int ivc_is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

#endif
