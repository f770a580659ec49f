/* SPDX-License-Identifier: MIT */
/*
 * perf/tcp_self.c - ivc-tcp-self: what ivc's tcp transport adds to a small
 * round trip, with the cross-core noise taken out (docs/performance.md,
 * "Where a small polling round trip's time goes").  One thread, pinned
 * where taskset puts it, bounces a message between the two ends of a
 * loopback connection it holds both of: over ivc (tcp with lazy returns and
 * queued sends, polling: the zero-copy calls) and over a plain socket pair
 * (write(), then recv() with MSG_DONTWAIT until it has all).  Every receive
 * finds its data already there, so a round trip is the system calls of two
 * sends and two receives plus the user-space code between them.  The two
 * alternate for ROUNDS rounds; each line is one round, then the medians
 * and their ratio.  Last, what a poll that finds nothing costs: a
 * zero-timeout ivc_rx_burst() on the idle connection against a recv()
 * with MSG_DONTWAIT on the idle socket (docs/performance.md, "An empty
 * poll reads the socket once"), ITERS of each a round, medians.
 *
 *   taskset -c 1 build/perf/ivc-tcp-self [SIZE [ROUNDS [ITERS]]]   (64 15 10000)
 *
 * A measuring tool, not a test: it asserts nothing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ivc/ivc.h>

static unsigned size = 64;
static unsigned char *buf;

static void die(const char *what, int err)
{
	fprintf(stderr, "ivc-tcp-self: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* ---- over ivc ---- */

struct pair {
	char addr[64];
	struct ivc_options o;
	struct ivc_channel *a, *b;
	int rc;
};

static void *connect_end(void *p)
{
	struct pair *q = p;

	q->rc = ivc_connect(q->addr, &q->o, 5000, &q->b);
	return NULL;
}

static void ivc_hop(struct ivc_channel *tx, struct ivc_channel *rx)
{
	struct ivc_buf b, r;
	int n, err;

	if ((n = ivc_tx_alloc(tx, &b, 1, -1)) != 1)
		die("ivc_tx_alloc", n);
	memset(b.data, 0x5a, size);
	b.len = size;
	if ((n = ivc_tx_send(tx, &b, 1, -1)) != 1)
		die("ivc_tx_send", n);
	do
		n = ivc_rx_burst(rx, &r, 1, -1);
	while (n == 0);
	if (n != 1 || r.len != size)
		die("ivc_rx_burst", n < 0 ? n : -EBADMSG);
	memcpy(buf, r.data, r.len);
	if ((err = ivc_rx_release(rx, &r, 1)) != 0)
		die("ivc_rx_release", err);
}

static double ivc_round(struct pair *p, unsigned iters)
{
	double t0 = now_us();

	for (unsigned i = 0; i < iters; i++) {
		ivc_hop(p->a, p->b);
		ivc_hop(p->b, p->a);
	}
	return (now_us() - t0) / iters;
}

/* ns per zero-timeout ivc_rx_burst() that finds nothing. */
static double ivc_empty(struct ivc_channel *ch, unsigned iters)
{
	struct ivc_buf b;
	double t0 = now_us();

	for (unsigned i = 0; i < iters; i++)
		if (ivc_rx_burst(ch, &b, 1, 0) != -EAGAIN)
			die("ivc_rx_burst on an idle channel", EBADMSG);
	return (now_us() - t0) * 1e3 / iters;
}

static void ivc_open(struct pair *p, int port)
{
	static const struct ivc_tcp_options t = {
		.flags = IVC_TCP_LAZY_RETURNS | IVC_TCP_QUEUED_SENDS,
	};
	struct ivc_listener *l;
	pthread_t th;
	int r;

	snprintf(p->addr, sizeof(p->addr), "tcp:127.0.0.1:%d", port);
	ivc_options_init(&p->o);
	p->o.mode = IVC_MODE_POLL;
	p->o.tcp = &t;
	if ((r = ivc_listen(p->addr, &p->o, &l)) < 0)
		die("ivc_listen", r);
	if (pthread_create(&th, NULL, connect_end, p))
		die("pthread_create", EAGAIN);
	if ((r = ivc_accept(l, 5000, &p->a)) < 0)
		die("ivc_accept", r);
	pthread_join(th, NULL);
	if (p->rc < 0)
		die("ivc_connect", p->rc);
	ivc_listener_close(l);
}

/* ---- over a plain socket pair ---- */

static void raw_hop(int tx, int rx)
{
	size_t got = 0;

	memset(buf, 0x5a, size);
	if (write(tx, buf, size) != (ssize_t)size)
		die("write", errno);
	while (got < size) {
		ssize_t n = recv(rx, buf + got, size - got, MSG_DONTWAIT);

		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			die("recv", n ? errno : ECONNRESET);
	}
}

static double raw_round(const int *s, unsigned iters)
{
	double t0 = now_us();

	for (unsigned i = 0; i < iters; i++) {
		raw_hop(s[0], s[1]);
		raw_hop(s[1], s[0]);
	}
	return (now_us() - t0) / iters;
}

static void raw_open(int *s, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
		die("listen", errno);
	s[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (s[1] < 0 || connect(s[1], (struct sockaddr *)&a, sizeof(a)))
		die("connect", errno);
	if ((s[0] = accept(l, NULL, NULL)) < 0)
		die("accept", errno);
	close(l);
	for (int i = 0; i < 2; i++)
		if (setsockopt(s[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
			die("TCP_NODELAY", errno);
}

/* ns per recv() that finds nothing. */
static double raw_empty(int fd, unsigned iters)
{
	double t0 = now_us();

	for (unsigned i = 0; i < iters; i++)
		if (recv(fd, buf, size, MSG_DONTWAIT) != -1 || errno != EAGAIN)
			die("recv on an idle socket", EBADMSG);
	return (now_us() - t0) * 1e3 / iters;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Each of the two series of @rounds in order, for its median. */
static void sort_both(double (*v)[64], unsigned rounds)
{
	qsort(v[0], rounds, sizeof(double), cmp_double);
	qsort(v[1], rounds, sizeof(double), cmp_double);
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 15;
	unsigned iters = argc > 3 ? (unsigned)atoi(argv[3]) : 10000;
	int port = 20000 + (int)(getpid() % 20000), s[2];
	double v[2][64];
	struct pair p;

	if (argc > 1)
		size = (unsigned)atoi(argv[1]);
	if (size < 1 || size > 2048 || !rounds || rounds > 64 || !iters) {
		fprintf(stderr, "usage: ivc-tcp-self [SIZE (1-2048) [ROUNDS (1-64) [ITERS]]]\n");
		return 2;
	}
	if (!(buf = malloc(size)))
		die("malloc", ENOMEM);
	ivc_open(&p, port);
	raw_open(s, port + 1);
	(void)ivc_round(&p, iters / 10 + 1); /* warm both up */
	(void)raw_round(s, iters / 10 + 1);
	for (unsigned r = 0; r < rounds; r++) {
		v[0][r] = ivc_round(&p, iters);
		v[1][r] = raw_round(s, iters);
		printf("round %2u: ivc %.3f us, raw TCP %.3f us per round trip\n", r, v[0][r],
		       v[1][r]);
	}
	sort_both(v, rounds);
	printf("%u B, medians of %u rounds of %u: ivc %.3f us, raw TCP %.3f us, ratio %.3f\n",
	       size, rounds, iters, v[0][rounds / 2], v[1][rounds / 2],
	       v[0][rounds / 2] / v[1][rounds / 2]);
	for (unsigned r = 0; r < rounds; r++) {
		v[0][r] = ivc_empty(p.b, iters);
		v[1][r] = raw_empty(s[1], iters);
	}
	sort_both(v, rounds);
	printf("an empty poll, medians of %u rounds of %u: ivc_rx_burst() %.0f ns, recv() %.0f ns, ratio %.2f\n",
	       rounds, iters, v[0][rounds / 2], v[1][rounds / 2], v[0][rounds / 2] / v[1][rounds / 2]);
	ivc_close(p.a);
	ivc_close(p.b);
	close(s[0]);
	close(s[1]);
	free(buf);
	return 0;
}
