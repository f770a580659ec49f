/* SPDX-License-Identifier: MIT */
/*
 * ivc-connect-bench - what a connect costs, per transport and per way a
 * net: address can go (issue 17): medians and 90th percentiles of
 * ivc_connect() (until it returns a channel), over N connects each, the
 * rows measured side by side in one run, alternating.
 *
 *   shm            shm:@name
 *   tcp            tcp:127.0.0.1:port
 *   net->shm       net:127.0.0.1:port, the peer local: the rendezvous
 *   net->tcp(off)  the same with switching off (IVC_NET=tcp)
 *   net->tcp(miss) net: to a plain tcp listener: the rendezvous is tried,
 *                  is not there, then tcp
 *
 * usage: ivc-connect-bench [N]   (default 300 per row)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ivc/ivc.h>

enum { ROWS = 5 };

static const char *const names[ROWS] = { "shm", "tcp", "net->shm", "net->tcp(off)",
					 "net->tcp(miss)" };

struct row {
	char listen[96], connect[96];
	int forced;
	struct ivc_listener *l;
	double *ns;
};

static volatile int g_stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(s, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

/* Accept and close whatever comes on one listener (a thread each, asleep
 * in ivc_accept() between clients, as a server is). */
static void *acceptor(void *arg)
{
	struct ivc_listener *l = arg;

	while (!g_stop) {
		struct ivc_channel *ch;

		if (ivc_accept(l, 100, &ch) == 0)
			ivc_close(ch);
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300;
	struct row r[ROWS];
	pthread_t th[ROWS];

	if (n < 10)
		n = 10;
	memset(r, 0, sizeof(r));
	snprintf(r[0].listen, 96, "shm:@ivc-connect-bench-%d", (int)getpid());
	snprintf(r[1].listen, 96, "tcp:127.0.0.1:%d", free_port());
	snprintf(r[2].listen, 96, "net:127.0.0.1:%d", free_port());
	memcpy(r[3].listen, r[2].listen, sizeof(r[3].listen));
	r[3].forced = 1;
	snprintf(r[4].listen, 96, "tcp:127.0.0.1:%d", free_port());
	for (int i = 0; i < ROWS; i++) {
		memcpy(r[i].connect, r[i].listen, sizeof(r[i].connect));
		r[i].ns = calloc((size_t)n, sizeof(double));
		if (i == 3) {
			r[i].l = r[2].l;
			continue;
		}
		if (i == 4)
			memcpy(r[i].connect, "net", 3); /* the tcp listener, by net: */
		if (ivc_listen(r[i].listen, NULL, &r[i].l)) {
			fprintf(stderr, "listen %s failed\n", r[i].listen);
			return 1;
		}
	}
	for (int i = 0; i < ROWS; i++)
		if (i != 3) /* (row 3 shares row 2's listener) */
			pthread_create(&th[i], NULL, acceptor, r[i].l);
	for (int k = 0; k < n; k++)
		for (int i = 0; i < ROWS; i++) {
			struct ivc_channel *ch = NULL;
			uint64_t t0;
			int rc;

			if (r[i].forced)
				setenv("IVC_NET", "tcp", 1);
			t0 = now_ns();
			rc = ivc_connect(r[i].connect, NULL, 5000, &ch);
			r[i].ns[k] = (double)(now_ns() - t0);
			unsetenv("IVC_NET");
			if (rc) {
				fprintf(stderr, "connect %s: %s\n", r[i].connect, ivc_strerror(rc));
				return 1;
			}
			ivc_close(ch);
		}
	g_stop = 1;
	for (int i = 0; i < ROWS; i++)
		if (i != 3)
			pthread_join(th[i], NULL);
	printf("# ivc_connect() until it returns a channel, %d connects per row, alternating\n", n);
	printf("%-16s %10s %10s\n", "row", "p50 us", "p90 us");
	for (int i = 0; i < ROWS; i++) {
		qsort(r[i].ns, (size_t)n, sizeof(double), cmp);
		printf("%-16s %10.1f %10.1f\n", names[i], r[i].ns[n / 2] / 1e3,
		       r[i].ns[n * 9 / 10] / 1e3);
	}
	for (int i = 0; i < ROWS; i++)
		if (i != 3)
			ivc_listener_close(r[i].l);
	return 0;
}
