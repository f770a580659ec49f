/* SPDX-License-Identifier: MIT */
/*
 * perf/tcp_iovecs.c - ivc-tcp-iovecs: what the iovecs of one send cost a
 * TCP round trip over loopback, without ivc (docs/performance.md, "What a
 * large tcp round trip spends").  Two processes on CPUs 0 and 1 bounce a
 * message of SIZE bytes, polling non-blocking sockets with TCP_NODELAY;
 * the message is sent with one sendmsg() as one iovec, or as N payload
 * iovecs with a 16-byte header before each (ivc's frames before they
 * were joined).  Layouts alternate for ROUNDS rounds; each line is one
 * layout's p50 round trip per round, and the medians.
 *
 *   build/perf/ivc-tcp-iovecs [SIZE [ROUNDS [ITERS]]]   (65536 5 10000)
 *
 * A measuring tool, not a test: it asserts nothing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HDR 16u
#define MAX_IOV 64u

static const unsigned layouts[] = { 0, 1, 4, 16 }; /* 0: one bare iovec */
#define N_LAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

static unsigned char *msg, *in;
static unsigned char hdr[HDR];

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	(void)sched_setaffinity(0, sizeof(s), &s);
}

static void sock_setup(int s)
{
	int one = 1;

	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)fcntl(s, F_SETFL, O_NONBLOCK);
}

/* The iovecs of a message of @size bytes in @parts payload pieces. */
static size_t layout(struct iovec *v, size_t size, unsigned parts, size_t *total)
{
	size_t n = 0, at = 0;

	*total = 0;
	if (!parts) {
		v[n++] = (struct iovec){ msg, size };
		*total = size;
		return n;
	}
	for (unsigned i = 0; i < parts; i++) {
		size_t len = i + 1 < parts ? size / parts : size - at;

		v[n++] = (struct iovec){ hdr, HDR };
		v[n++] = (struct iovec){ msg + at, len };
		at += len;
		*total += HDR + len;
	}
	return n;
}

/* Send it all, polling: one sendmsg() unless the socket is full. */
static int send_all(int s, struct iovec *v, size_t n)
{
	while (n) {
		struct msghdr m = { .msg_iov = v, .msg_iovlen = n };
		ssize_t w = sendmsg(s, &m, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		while (w > 0 && n) {
			size_t take = (size_t)w < v->iov_len ? (size_t)w : v->iov_len;

			v->iov_base = (unsigned char *)v->iov_base + take;
			v->iov_len -= take;
			w -= (ssize_t)take;
			if (!v->iov_len) {
				v++;
				n--;
			}
		}
	}
	return 0;
}

static int recv_all(int s, size_t total)
{
	size_t got = 0;

	while (got < total) {
		ssize_t r = recv(s, in + got, total - got, MSG_DONTWAIT);

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (r > 0)
			got += (size_t)r;
	}
	return 0;
}

static int one_trip(int s, size_t size, unsigned parts, int first)
{
	struct iovec v[2 * MAX_IOV];
	size_t total, n = layout(v, size, parts, &total);

	if (first && send_all(s, v, n))
		return -1;
	if (recv_all(s, total))
		return -1;
	return first ? 0 : send_all(s, v, n);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void echo(struct sockaddr_in a, size_t size, unsigned rounds, unsigned iters)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);

	pin(1);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		_exit(1);
	sock_setup(c);
	for (unsigned r = 0; r < rounds; r++)
		for (unsigned l = 0; l < N_LAYOUTS; l++)
			for (unsigned i = 0; i < iters; i++)
				if (one_trip(c, size, layouts[l], 0))
					_exit(1);
	_exit(0);
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 65536;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 5;
	unsigned iters = argc > 3 ? (unsigned)atoi(argv[3]) : 10000;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	double p50[N_LAYOUTS][16], *t;
	int l = socket(AF_INET, SOCK_STREAM, 0), s, one = 1;
	pid_t pid;

	if (size < 64 || size > (64u << 20) || !rounds || rounds > 16 || !iters) {
		fprintf(stderr, "usage: %s [SIZE 64..64M [ROUNDS 1..16 [ITERS]]]\n", argv[0]);
		return 2;
	}
	msg = malloc(size);
	in = malloc(size + HDR * MAX_IOV);
	t = malloc(sizeof(*t) * iters);
	if (!msg || !in || !t || l < 0)
		return 1;
	memset(msg, 'm', size);
	(void)setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &al))
		return 1;
	pid = fork();
	if (pid == 0)
		echo(a, size, rounds, iters);
	pin(0);
	s = accept(l, NULL, NULL);
	if (pid < 0 || s < 0)
		return 1;
	sock_setup(s);
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned k = 0; k < N_LAYOUTS; k++) {
			for (unsigned i = 0; i < iters; i++) {
				double t0 = now_us();

				if (one_trip(s, size, layouts[k], 1))
					return 1;
				t[i] = now_us() - t0;
			}
			qsort(t, iters, sizeof(*t), cmp_double);
			p50[k][r] = t[iters / 2];
		}
	}
	waitpid(pid, NULL, 0);
	for (unsigned k = 0; k < N_LAYOUTS; k++) {
		printf("%zu B as %2u payload iovec%s: p50 us per round", size,
		       layouts[k] ? layouts[k] : 1u,
		       layouts[k] ? " with headers" : " alone       ");
		for (unsigned r = 0; r < rounds; r++)
			printf(" %.2f", p50[k][r]);
		qsort(p50[k], rounds, sizeof(double), cmp_double);
		printf("; median %.2f\n", p50[k][rounds / 2]);
	}
	close(s);
	close(l);
	free(t);
	free(in);
	free(msg);
	return 0;
}
