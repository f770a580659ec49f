/* SPDX-License-Identifier: MIT */
#ifndef IVC_TEST_TCP_SEGS_H
#define IVC_TEST_TCP_SEGS_H

/* TCP_INFO of socket @fd: the data segments it has received, and the
 * largest segment it told its peer to send.  Return: 0, or -1 (errno). */
int t_tcp_segs(int fd, unsigned *data_in, unsigned *mss);

#endif
