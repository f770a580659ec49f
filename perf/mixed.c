/* SPDX-License-Identifier: MIT */
/*
 * ivc-mixed-bench - the measurement paper's mixed local/remote workload
 * (issue 17): one client streams to N peers, of which k are co-resident
 * (processes in its own network namespace) and N - k are "remote"
 * (processes in another network namespace, reached over a veth pair).
 * For each k = 0..N, side by side in one run:
 *
 *   tcp      plain TCP sockets to every peer (loopback or the veth)
 *   ivc-net  ivc with net:<address>:<port>: shm to the local peers, tcp to
 *            the remote ones, chosen by the library
 *
 * The client round-robins non-blocking sends of SIZE-byte messages over
 * its N connections for SECS seconds; the figure is the total it got
 * sent (the peers read and drop everything).  Root is needed (a network
 * namespace and a veth pair, made with ip(8) and removed at the end).
 *
 * usage: ivc-mixed-bench [N [SIZE [SECS]]]   (default 4 4096 1)
 * Prints a table and, with -o FILE as first arguments, CSV rows.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define MAXP 16
#define VETH_A "ivcmix0"
#define VETH_B "ivcmix1"
#define ADDR_A "10.253.72.1"
#define ADDR_B "10.253.72.2"

static int g_n = 4, g_size = 4096;
static double g_secs = 1.0;
static int g_port0;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *m)
{
	fprintf(stderr, "ivc-mixed-bench: %s\n", m);
	exit(1);
}

static int lo_up(void)
{
	struct ifreq r;
	int s = socket(AF_INET, SOCK_DGRAM, 0), ok;

	memset(&r, 0, sizeof(r));
	snprintf(r.ifr_name, sizeof(r.ifr_name), "lo");
	ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &r) == 0;
	r.ifr_flags |= IFF_UP;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &r) == 0;
	if (s >= 0)
		close(s);
	return ok ? 0 : -1;
}

/* ---- a peer: an ivc net: listener and a raw TCP listener, both sinks ---- */

static void sink_ivc(struct ivc_channel *ch)
{
	struct ivc_buf b[64];
	int n;

	while ((n = ivc_rx_burst(ch, b, 64, -1)) > 0)
		ivc_rx_release(ch, b, (unsigned)n);
	ivc_close(ch);
}

static void sink_tcp(int fd)
{
	static char buf[1 << 16];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

/* Serve forever (killed at the end): alternate between the two listeners,
 * one client at a time (the client uses one kind per point). */
static void peer_main(const char *host, int port)
{
	const char *nets[3] = { "127.0.0.0/8", "10.253.72.0/24", "::1" };
	struct ivc_tcp_options to = { .allow = nets, .n_allow = 3 };
	struct ivc_options o = { .tcp = &to };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(port + 1000)) };
	struct ivc_listener *l;
	char addr[64];
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* (ends with whoever forked it) */
	inet_pton(AF_INET, host, &a.sin_addr);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 8))
		die("peer: raw bind");
	snprintf(addr, sizeof(addr), "net:%s:%d", host, port);
	if (ivc_listen(addr, &o, &l))
		die("peer: ivc_listen");
	for (;;) {
		struct pollfd p[2] = { { ivc_listener_fd(l), POLLIN, 0 }, { ls, POLLIN, 0 } };
		struct ivc_channel *ch;

		if (poll(p, 2, -1) <= 0)
			continue;
		if (p[1].revents & POLLIN) {
			int fd = accept(ls, NULL, NULL);

			if (fd >= 0)
				sink_tcp(fd);
		}
		if (ivc_accept(l, 0, &ch) == 0)
			sink_ivc(ch);
	}
}

/* ---- the client ---- */

struct conn {
	int fd;                  /* raw */
	struct ivc_channel *ch;  /* ivc */
};

static void connect_all(int kind, int local, struct conn *c)
{
	for (int i = 0; i < g_n; i++) {
		const char *host = i < local ? "127.0.0.1" : ADDR_B;
		int port = g_port0 + i;

		if (kind == 0) {
			struct sockaddr_in a = { .sin_family = AF_INET,
						 .sin_port = htons((uint16_t)(port + 1000)) };
			int one = 1;

			inet_pton(AF_INET, host, &a.sin_addr);
			c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(c[i].fd, (struct sockaddr *)&a, sizeof(a)))
				die("raw connect");
			setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
		} else {
			char addr[64];

			snprintf(addr, sizeof(addr), "net:%s:%d", host, port);
			if (ivc_connect(addr, NULL, 5000, &c[i].ch))
				die("ivc connect");
		}
	}
}

/* Stream for g_secs: messages sent in total. */
static uint64_t stream(int kind, struct conn *c)
{
	char *msg = calloc(1, (size_t)g_size);
	uint64_t end = now_ns() + (uint64_t)(g_secs * 1e9), sent = 0;

	while (now_ns() < end) {
		int progress = 0;

		for (int i = 0; i < g_n; i++) {
			if (kind == 0) {
				ssize_t w = write(c[i].fd, msg, (size_t)g_size);

				if (w > 0) {
					sent += (uint64_t)w;
					progress = 1;
				}
			} else if (ivc_send(c[i].ch, msg, (size_t)g_size, 0) == 0) {
				sent += (uint64_t)g_size;
				progress = 1;
			}
		}
		if (!progress)
			sched_yield();
	}
	free(msg);
	return sent;
}

static void close_all(int kind, struct conn *c)
{
	for (int i = 0; i < g_n; i++)
		if (kind == 0)
			close(c[i].fd);
		else
			ivc_close(c[i].ch);
}

static double point(int kind, int local)
{
	struct conn c[MAXP];
	uint64_t bytes;

	connect_all(kind, local, c);
	bytes = stream(kind, c);
	close_all(kind, c);
	return (double)bytes / g_secs / 1e9;
}

/* The remote namespace: a child that unshares, then forks the remote
 * peers once the veth end is in. */
static pid_t remote_ns(void)
{
	int go[2];
	char cmd[256], c;
	pid_t pid;

	if (pipe(go))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) || lo_up())
			_exit(77);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		if (system("ip addr add " ADDR_B "/24 dev " VETH_B " && ip link set " VETH_B " up"))
			_exit(78);
		for (int i = 0; i < g_n; i++)
			if (fork() == 0)
				peer_main(ADDR_B, g_port0 + i);
		pause();
		_exit(0);
	}
	usleep(100000); /* (only to let it unshare before ip moves the end in) */
	snprintf(cmd, sizeof(cmd),
		 "ip link add " VETH_A " type veth peer name " VETH_B " netns %d && "
		 "ip addr add " ADDR_A "/24 dev " VETH_A " && ip link set " VETH_A " up",
		 (int)pid);
	if (system(cmd))
		die("ip could not make the veth pair (root? iproute2?)");
	if (write(go[1], "g", 1) != 1)
		die("pipe");
	return pid;
}

int main(int argc, char **argv)
{
	FILE *csv = NULL;
	pid_t local[MAXP], remote;

	if (argc > 2 && !strcmp(argv[1], "-o")) {
		csv = fopen(argv[2], "w");
		argc -= 2;
		argv += 2;
	}
	if (argc > 1)
		g_n = atoi(argv[1]);
	if (argc > 2)
		g_size = atoi(argv[2]);
	if (argc > 3)
		g_secs = atof(argv[3]);
	if (g_n < 1 || g_n > MAXP || g_size < 8 || g_secs <= 0)
		die("usage: ivc-mixed-bench [-o CSV] [N [SIZE [SECS]]]");
	signal(SIGPIPE, SIG_IGN);
	g_port0 = 20000 + (int)(getpid() % 10000);
	remote = remote_ns();
	for (int i = 0; i < g_n; i++)
		if ((local[i] = fork()) == 0)
			peer_main("127.0.0.1", g_port0 + i);
	usleep(300000); /* (the peers listen: connects also retry) */
	printf("# %d peers, %d-byte messages, %.1f s a point; GB/s sent in total\n", g_n,
	       g_size, g_secs);
	printf("%-8s %-10s %10s %10s %8s\n", "local", "fraction", "tcp", "ivc-net", "ratio");
	if (csv)
		fprintf(csv, "local,peers,size,tcp_gbps,ivc_net_gbps\n");
	for (int k = 0; k <= g_n; k++) {
		double t = point(0, k), v = point(1, k);

		printf("%-8d %-10.2f %10.3f %10.3f %8.2f\n", k, (double)k / g_n, t, v, v / t);
		if (csv)
			fprintf(csv, "%d,%d,%d,%.4f,%.4f\n", k, g_n, g_size, t, v);
		fflush(stdout);
	}
	for (int i = 0; i < g_n; i++)
		kill(local[i], SIGKILL);
	kill(remote, SIGKILL); /* its peers follow it (PR_SET_PDEATHSIG) */
	while (wait(NULL) > 0)
		;
	(void)!system("ip link del " VETH_A " 2>/dev/null");
	if (csv)
		fclose(csv);
	return 0;
}
