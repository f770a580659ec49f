/* SPDX-License-Identifier: MIT */
/* Descriptor helpers any transport may use (fds.c). */
#ifndef IVC_FDS_PVT_H
#define IVC_FDS_PVT_H

/* Close each of @fds[0..@n) that is open (>= 0) and set it to -1, so a
 * second call closes nothing twice. */
void ivc_close_fds(int *fds, int n);

#endif
