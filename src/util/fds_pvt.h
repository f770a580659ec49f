/* SPDX-License-Identifier: MIT */
/* Descriptor helpers any transport may use (fds.c). */
#ifndef IVC_FDS_PVT_H
#define IVC_FDS_PVT_H

/* Close each of @fds[0..@n) that is open (>= 0) and set it to -1, so a
 * second call closes nothing twice. */
void ivc_close_fds(int *fds, int n);

/* A transport's own two doorbells: eventfds that start at 1 and are never
 * read, so a ring (a write of 0) always wakes an edge-triggered sleeper
 * (channel.c).  Return: 0, or -errno (@bell as far as it got: close with
 * ivc_close_fds()). */
int ivc_bells_make(int bell[2]);

#endif
