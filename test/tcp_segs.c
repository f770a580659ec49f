/* SPDX-License-Identifier: MIT */
/*
 * What the kernel counted on a TCP socket (TCP_INFO), for test_tcp: in a
 * file of its own because <linux/tcp.h>, which has these fields, and
 * <netinet/tcp.h>, which test_tcp.c needs, cannot be included together.
 */
#include "tcp_segs.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

int t_tcp_segs(int fd, unsigned *data_in, unsigned *mss)
{
	struct tcp_info i = { 0 };
	socklen_t len = sizeof(i);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &i, &len) < 0)
		return -1;
	*data_in = i.tcpi_data_segs_in;
	*mss = i.tcpi_advmss;
	return 0;
}
