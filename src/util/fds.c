/* SPDX-License-Identifier: MIT */
/* Descriptor helpers any transport may use. */
#include "util/fds_pvt.h"

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
