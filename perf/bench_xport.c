/* SPDX-License-Identifier: MIT */
/* bench_xport - the table of transports and the payload helpers they share. */
#include "bench_xport.h"

#include <string.h>

const struct bench_xport *const bench_xports[] = {
	&bx_ivc,
	&bx_ivc_copy,
	&bx_ivc_inline,
	&bx_cacheline,
	&bx_spsc,
	&bx_yield,
	&bx_memcpy,
	&bx_unix,
	&bx_tcp,
	&bx_pipe,
	&bx_eventfd,
#ifdef IVC_BENCH_HAVE_ZMQ
	&bx_zmq,
#endif
#ifdef IVC_BENCH_HAVE_DPDK
	&bx_rte_ring,
#endif
	NULL,
};

const struct bench_xport *bench_xport_find(const char *name)
{
	for (const struct bench_xport *const *x = bench_xports; *x; x++)
		if (!strcmp((*x)->name, name))
			return *x;
	return NULL;
}

/* Where bx_read() puts what it read, so the compiler keeps the reads. */
static volatile uint64_t bx_sink;

void bx_fill(void *buf, size_t len, uint64_t tag)
{
	unsigned char *b = buf;

	memcpy(b, &tag, sizeof(tag));
	memset(b + sizeof(tag), (int)(tag & 0xff), len - sizeof(tag));
}

uint64_t bx_read(const void *buf, size_t len, bool touch)
{
	const unsigned char *b = buf;
	uint64_t tag, sum = 0, w;
	size_t i;

	memcpy(&tag, b, sizeof(tag));
	if (!touch)
		return tag;
	/* Every byte, 8 at a time: the compiler vectorises this, as a real
	 * consumer's parsing or checksum would be. */
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, b + i, 8);
		sum += w;
	}
	for (; i < len; i++)
		sum += b[i];
	bx_sink += sum;
	return tag;
}
