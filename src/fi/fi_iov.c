/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_iov.c - gather and scatter over a caller's iovec: payloads go
 * straight between the caller's buffers and ivc's, without a staging copy.
 */
#include <stdint.h>
#include <string.h>

#include "fi/fi_pvt.h"

size_t ivcfi_iov_len(const struct iovec *iov, size_t count)
{
	size_t n = 0;

	for (size_t i = 0; i < count; i++)
		n += iov[i].iov_len;
	return n;
}

/* Copy @len bytes between @buf and the iovecs from byte @offset of
 * theirs, into the iovecs if @to_iov.  Return: bytes copied. */
static size_t iov_copy(const struct iovec *iov, size_t count, size_t offset,
		       char *buf, size_t len, int to_iov)
{
	size_t done = 0;

	for (size_t i = 0; i < count && done < len; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		size_t n = iov[i].iov_len - offset;
		char *at = (char *)iov[i].iov_base + offset;

		if (n > len - done)
			n = len - done;
		if (to_iov)
			memcpy(at, buf + done, n);
		else
			memcpy(buf + done, at, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t ivcfi_iov_write(const struct iovec *iov, size_t count, size_t offset,
		       const void *src, size_t len)
{
	return iov_copy(iov, count, offset, (char *)(uintptr_t)src, len, 1);
}

void ivcfi_iov_read(const struct iovec *iov, size_t count, size_t offset,
		    void *dst, size_t len)
{
	(void)iov_copy(iov, count, offset, dst, len, 0);
}
