/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what every fuzz target shares: libFuzzer's entry point, a cursor
 * over the input, an assertion that aborts, and the layout checker.
 *
 * Each target treats its input as everything an untrusted peer may say or
 * write, plus the order in which our side looks.  An input running dry
 * reads as zeros, so every byte string is a valid input and truncating one
 * never makes it meaningless.  Multi-byte values are little-endian, like
 * the shared memory they imitate.
 *
 * The same targets build two ways (test/fuzz/CMakeLists.txt): linked with
 * libFuzzer (IVC_FUZZ=ON, clang) to search, or with replay.c to re-run the
 * committed corpus as a plain ctest in every build.
 */
#ifndef IVC_FUZZ_H
#define IVC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lane_layout_pvt.h"
#include "util/compiler_pvt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The unread rest of an input. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t v = fz_u8(in);

	return (uint16_t)(v | (uint16_t)fz_u8(in) << 8);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t v = fz_u16(in);

	return v | (uint32_t)fz_u16(in) << 16;
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	uint64_t v = fz_u32(in);

	return v | (uint64_t)fz_u32(in) << 32;
}

/* @n bytes into @dst, zeros past the input's end. */
static inline void fz_bytes(struct fz_in *in, void *dst, size_t n)
{
	size_t k = n < in->n ? n : in->n;

	memcpy(dst, in->p, k);
	memset((unsigned char *)dst + k, 0, n - k);
	in->p += k;
	in->n -= k;
}

/* Not assert(): it must hold in release builds too, and the message names
 * the invariant for whoever reads the crash report. */
#define FZ_ASSERT(cond)                                                      \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",     \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

/* Abort unless @g is a layout ivc could have computed: every part inside
 * region_size, in order, aligned, not overlapping (geom_check.c). */
void fz_check_geom(const struct ivc_lane_geom *g);

/* A small formatted lane chosen by the input's first 7 bytes (descriptor
 * size, slots, 1..@max_bufs buffers, buffer size, start index): an
 * allocation of exactly the region, so a reach past it is ASan's.  The
 * caller frees it.  Return: the region; *g and *start set. */
void *fz_lane_make(struct fz_in *in, uint32_t max_bufs, struct ivc_lane_geom *g,
		   uint32_t *start);

#endif
