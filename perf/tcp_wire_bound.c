/* SPDX-License-Identifier: MIT */
/*
 * perf/tcp_wire_bound.c - ivc-tcp-wire-bound: the rate a small-message tcp
 * stream could reach if ivc's user space cost nothing (docs/performance.md,
 * "What the wire alone allows").  Two processes on CPUs 0 and 1 stream
 * bursts of 32 messages of 64 B over loopback TCP (TCP_NODELAY), raw
 * TCP's way and ivc's: the same bytes per burst as ivc's frames, the same
 * reports coming back from the receiver, and, last, a given number of
 * nanoseconds of work per message at the sender.  No ivc code runs: what
 * each step costs is the kernel's, and the last one's.  Layouts alternate
 * for ROUNDS rounds; each line is one round, then the medians and their
 * ratio to raw TCP.
 *
 *   build/perf/ivc-tcp-wire-bound [ROUNDS [SECONDS [NS_PER_MSG]]]   (7 0.3 45)
 *
 * A measuring tool, not a test: it asserts nothing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BURST 32u
#define MSG 64u
/* A burst as ivc sends it: a 16-byte header before each payload, then one
 * frame of 32 descriptors of 16 bytes (docs/tcp.md, "The wire"). */
#define IVC_BURST_BYTES (BURST * (16u + MSG) + 16u + BURST * 16u)
/* A report: a frame of returned buffer indices and one of the indices. */
#define REPORT_BYTES 300u

struct layout {
	const char *name;
	unsigned burst_bytes; /* written per burst */
	unsigned report_every; /* messages the receiver reads per report; 0: none */
	unsigned read_every;  /* bursts per read of reports at the sender */
	int work;             /* the sender spends ns_per_msg per message */
};

static const struct layout layouts[] = {
	{ "raw TCP (2048 B a burst)", BURST * MSG, 0, 0, 0 },
	{ "ivc's bytes (3088 B a burst)", IVC_BURST_BYTES, 0, 0, 0 },
	{ "+ a report every 64 messages", IVC_BURST_BYTES, 64, 4, 0 },
	{ "+ a report every 128 messages", IVC_BURST_BYTES, 128, 8, 0 },
	{ "every 64, + work per message", IVC_BURST_BYTES, 64, 4, 1 },
};
#define N_LAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

static unsigned ns_per_msg = 45;
static double loops_per_ns;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	(void)sched_setaffinity(0, sizeof(s), &s);
}

/* Work the compiler cannot remove, calibrated once to loops per ns. */
static void spin(unsigned long loops)
{
	for (volatile unsigned long i = 0; i < loops; i++)
		;
}

static void calibrate(void)
{
	unsigned long loops = 1000000;
	double t0 = now_s();

	spin(loops);
	loops_per_ns = (double)loops / ((now_s() - t0) * 1e9);
}

static void connected_pair(int *snd, int *rcv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &al))
		die("listen");
	*snd = socket(AF_INET, SOCK_STREAM, 0);
	if (*snd < 0 || connect(*snd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	if ((*rcv = accept(l, NULL, NULL)) < 0)
		die("accept");
	close(l);
	if (setsockopt(*snd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(*rcv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY");
}

/* The receiver: reads as raw TCP's benchmark does (polling, every byte
 * looked at) and sends a report per report_every messages read. */
static void receive(int s, const struct layout *l)
{
	static unsigned char buf[256 << 10];
	static const unsigned char report[REPORT_BYTES];
	unsigned long got = 0, msgs = 0, unreported = 0, sum = 0;

	pin(1);
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
		unsigned long m;

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			break;
		}
		for (ssize_t i = 0; i < n; i += 8)
			sum += buf[i];
		got += (unsigned long)n;
		m = got / l->burst_bytes * BURST;
		unreported += m - msgs;
		msgs = m;
		if (l->report_every && unreported >= l->report_every) {
			(void)send(s, report, sizeof(report), MSG_DONTWAIT | MSG_NOSIGNAL);
			unreported = 0;
		}
	}
	_exit(sum == 1); /* sum used: the reads are not optimised away */
}

/* The sender: fills each burst (as raw TCP's benchmark does), writes it
 * whole, reads reports every read_every bursts.  Return: messages/s. */
static double send_for(int s, const struct layout *l, double secs)
{
	static unsigned char out[IVC_BURST_BYTES], in[64 << 10];
	unsigned long bursts = 0, work = l->work ? (unsigned long)(loops_per_ns * ns_per_msg * BURST) : 0;
	double t0 = now_s(), t;

	pin(0);
	do {
		for (int k = 0; k < 64; k++) {
			memset(out, (int)bursts, l->burst_bytes);
			spin(work);
			if (write(s, out, l->burst_bytes) != (ssize_t)l->burst_bytes)
				die("write"); /* a blocking socket writes all */
			bursts++;
			if (l->read_every && bursts % l->read_every == 0)
				(void)recv(s, in, sizeof(in), MSG_DONTWAIT);
		}
	} while ((t = now_s()) - t0 < secs);
	return (double)bursts * BURST / (t - t0);
}

static double run(const struct layout *l, double secs)
{
	int snd, rcv;
	pid_t kid;
	double rate;
	char drain[4096];

	connected_pair(&snd, &rcv);
	if ((kid = fork()) < 0)
		die("fork");
	if (!kid) {
		close(snd);
		receive(rcv, l);
	}
	close(rcv);
	rate = send_for(snd, l, secs);
	if (shutdown(snd, SHUT_WR))
		die("shutdown");
	while (recv(snd, drain, sizeof(drain), 0) > 0)
		;
	close(snd);
	waitpid(kid, NULL, 0);
	return rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 7;
	double secs = argc > 2 ? atof(argv[2]) : 0.3, v[N_LAYOUTS][64], med[N_LAYOUTS];

	if (argc > 3)
		ns_per_msg = (unsigned)atoi(argv[3]);
	if (!rounds || rounds > 64 || secs <= 0 || ns_per_msg > 100000) {
		fprintf(stderr, "usage: ivc-tcp-wire-bound [ROUNDS (1-64) [SECONDS [NS_PER_MSG]]]\n");
		return 2;
	}
	pin(0);
	calibrate();
	for (unsigned r = 0; r < rounds; r++) {
		printf("round %2u:", r);
		for (unsigned i = 0; i < N_LAYOUTS; i++) {
			v[i][r] = run(&layouts[i], secs);
			printf(" %.2f", v[i][r] / 1e6);
		}
		printf(" M msgs/s\n");
		fflush(stdout);
	}
	printf("64 B messages in bursts of 32, medians of %u rounds (work: %u ns a message):\n",
	       rounds, ns_per_msg);
	for (unsigned i = 0; i < N_LAYOUTS; i++) {
		qsort(v[i], rounds, sizeof(double), cmp_double);
		med[i] = rounds % 2 ? v[i][rounds / 2] : (v[i][rounds / 2 - 1] + v[i][rounds / 2]) / 2;
		printf("  %-32s %6.2f M msgs/s  %.3fx raw TCP\n", layouts[i].name, med[i] / 1e6,
		       med[i] / med[0]);
	}
	return 0;
}
