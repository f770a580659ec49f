/* SPDX-License-Identifier: MIT */
/*
 * perf/syscall_times.c - ivc-syscall-times.so, an LD_PRELOAD shim that
 * times a process's socket reads and writes, to see where a round trip's
 * time goes between the kernel and user space (docs/performance.md, "What
 * a large tcp round trip spends"):
 *
 *   LD_PRELOAD=build/perf/ivc-syscall-times.so \
 *       build/perf/ivc-bench pingpong -x ivc,tcp --via tcp-lazy-queued \
 *       -m poll -s 64k -r 1 -t 1 -c 0,1
 *
 * Each process (a forked one starts from zero) prints one line to stderr
 * once it has made IVC_SYSTIME_CALLS (default 100000) timed calls, or at
 * its exit if fewer (not at _exit()): receives that found nothing and their mean duration,
 * receives that brought data, sends, the mean time from a receive that
 * brought data to the next send (user space between them), and from a
 * send to the next receive.  Only sockets are timed (checked once per
 * descriptor, again after a close).  A measuring tool, not a test: it asserts nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { K_RECV, K_SEND };

/* What the last timed call was, and the sums. */
struct totals {
	uint64_t calls, limit;
	uint64_t empty, empty_ns, got, got_ns, sent, sent_ns;
	uint64_t got_to_send, got_to_send_ns, send_to_recv, send_to_recv_ns;
	int last_kind, last_ok;
	uint64_t last_end;
	int printed;
};

static struct totals tot;
static unsigned char fd_kind[4096]; /* 0 unknown, 1 socket, 2 other */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int is_socket(int fd)
{
	struct stat st;

	if (fd < 0 || (size_t)fd >= sizeof(fd_kind))
		return 0;
	if (!fd_kind[fd])
		fd_kind[fd] = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? 1 : 2;
	return fd_kind[fd] == 1;
}

static double mean_us(uint64_t ns, uint64_t n)
{
	return n ? (double)ns / (double)n / 1000.0 : 0.0;
}

static void report(void)
{
	if (tot.printed || !tot.calls)
		return;
	tot.printed = 1;
	fprintf(stderr,
		"syscall-times pid %d: empty receives %llu (%.2f us), receives with data %llu (%.2f us), "
		"sends %llu (%.2f us); data received -> next send %.2f us, send -> next receive %.2f us\n",
		(int)getpid(), (unsigned long long)tot.empty, mean_us(tot.empty_ns, tot.empty),
		(unsigned long long)tot.got, mean_us(tot.got_ns, tot.got),
		(unsigned long long)tot.sent, mean_us(tot.sent_ns, tot.sent),
		mean_us(tot.got_to_send_ns, tot.got_to_send),
		mean_us(tot.send_to_recv_ns, tot.send_to_recv));
}

__attribute__((destructor)) static void at_exit_report(void)
{
	report();
}

/* A forked child (the benchmark's other end) counts its own calls. */
static void forget(void)
{
	unsigned char kinds[sizeof(fd_kind)];

	memcpy(kinds, fd_kind, sizeof(kinds));
	memset(&tot, 0, sizeof(tot));
	memcpy(fd_kind, kinds, sizeof(kinds));
}

__attribute__((constructor)) static void at_load(void)
{
	(void)pthread_atfork(NULL, NULL, forget);
}

static void note(int kind, uint64_t start, uint64_t end, long long ret)
{
	int ok = ret > 0;

	if (tot.printed)
		return;
	if (!tot.limit) {
		const char *e = getenv("IVC_SYSTIME_CALLS");

		tot.limit = e && atoll(e) > 0 ? (uint64_t)atoll(e) : 100000u;
	}
	if (kind == K_RECV && !ok) {
		tot.empty++;
		tot.empty_ns += end - start;
	} else if (kind == K_RECV) {
		tot.got++;
		tot.got_ns += end - start;
	} else if (ok) {
		tot.sent++;
		tot.sent_ns += end - start;
	}
	if (tot.calls && kind == K_SEND && ok && tot.last_kind == K_RECV && tot.last_ok) {
		tot.got_to_send++;
		tot.got_to_send_ns += start - tot.last_end;
	}
	if (tot.calls && kind == K_RECV && tot.last_kind == K_SEND && tot.last_ok) {
		tot.send_to_recv++;
		tot.send_to_recv_ns += start - tot.last_end;
	}
	tot.last_kind = kind;
	tot.last_ok = ok;
	tot.last_end = end;
	if (++tot.calls >= tot.limit)
		report();
}

/* The next definition of @name, looked up once. */
#define NEXT(type, name)                                                    \
	static type next_fn;                                                \
	if (!next_fn)                                                       \
		*(void **)&next_fn = dlsym(RTLD_NEXT, name)

typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*close_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);

/* A descriptor's number is used again after a close: look at it anew. */
static void forget_fd(int fd)
{
	if (fd >= 0 && (size_t)fd < sizeof(fd_kind))
		fd_kind[fd] = 0;
}

int close(int fd)
{
	NEXT(close_fn, "close");
	forget_fd(fd);
	return next_fn(fd);
}

int dup2(int fd, int to)
{
	NEXT(dup2_fn, "dup2");
	forget_fd(to);
	return next_fn(fd, to);
}

int dup3(int fd, int to, int fl)
{
	NEXT(dup3_fn, "dup3");
	forget_fd(to);
	return next_fn(fd, to, fl);
}

/* A timed wrapper: @decl is the function's head, @call the next
 * definition's call with its arguments, @kind what it counts as. */
#define TIMED(decl, type, name, kind, call)                                  \
	decl                                                                 \
	{                                                                    \
		NEXT(type, name);                                            \
		uint64_t s = now_ns();                                       \
		ssize_t r = call;                                            \
                                                                             \
		if (is_socket(fd))                                           \
			note(kind, s, now_ns(), r);                          \
		return r;                                                    \
	}

/* __SOCKADDR_ARG: glibc's own type for the address (a transparent union
 * under _GNU_SOURCE), so that this definition matches its declaration. */
TIMED(ssize_t recvfrom(int fd, void *b, size_t n, int fl, __SOCKADDR_ARG a, socklen_t *al),
      recvfrom_fn, "recvfrom", K_RECV, next_fn(fd, b, n, fl, a, al))
TIMED(ssize_t recv(int fd, void *b, size_t n, int fl), recv_fn, "recv", K_RECV,
      next_fn(fd, b, n, fl))
TIMED(ssize_t read(int fd, void *b, size_t n), read_fn, "read", K_RECV, next_fn(fd, b, n))
TIMED(ssize_t sendmsg(int fd, const struct msghdr *m, int fl), sendmsg_fn, "sendmsg", K_SEND,
      next_fn(fd, m, fl))
TIMED(ssize_t send(int fd, const void *b, size_t n, int fl), send_fn, "send", K_SEND,
      next_fn(fd, b, n, fl))
TIMED(ssize_t write(int fd, const void *b, size_t n), write_fn, "write", K_SEND,
      next_fn(fd, b, n))
