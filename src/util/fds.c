/* SPDX-License-Identifier: MIT */
/* Descriptor helpers any transport may use. */
#include "util/fds_pvt.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

void ivc_close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int ivc_bells_make(int bell[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		bell[i] = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
		if (bell[i] < 0)
			return -errno;
	}
	return 0;
}
