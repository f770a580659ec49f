/* SPDX-License-Identifier: MIT */
/* common.c - helpers shared by the tests (see check.h). */
#include "check.h"

#include <dirent.h>
#include <execinfo.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ivc/ivc.h>

static atomic_int g_passed;
static atomic_int g_failed;
static const char *g_name = "test";
static int g_in_child;

#define MAX_CHILDREN 64
static volatile pid_t g_children[MAX_CHILDREN];

static void child_add(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (g_children[i] == 0) {
			g_children[i] = pid;
			return;
		}
	}
}

static void child_del(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (g_children[i] == pid)
			g_children[i] = 0;
}

/* Async-signal-safe: used by the watchdog too. */
static void kill_all_children(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		pid_t pid = g_children[i];
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			g_children[i] = 0;
		}
	}
}

void t_pass(void)
{
	atomic_fetch_add(&g_passed, 1);
}

__attribute__((format(printf, 3, 0)))
static void vreport(const char *file, int line, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s%s:%d: FAIL: %s\n", g_in_child ? "[child] " : "",
		file, line, msg);
	fflush(stderr);
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(file, line, fmt, ap);
	va_end(ap);
	atomic_fetch_add(&g_failed, 1);
}

_Noreturn void t_abort(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(file, line, fmt, ap);
	va_end(ap);
	atomic_fetch_add(&g_failed, 1);
	if (g_in_child)
		t_child_exit();
	kill_all_children();
	fprintf(stderr, "%s: aborted: %d passed, %d failed\n", g_name,
		atomic_load(&g_passed), atomic_load(&g_failed));
	exit(1);
}

int t_failures(void)
{
	return atomic_load(&g_failed);
}

const char *t_errname(long long err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EAGAIN: return "EAGAIN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EPIPE: return "EPIPE";
	case ECONNRESET: return "ECONNRESET";
	case EPROTO: return "EPROTO";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case EACCES: return "EACCES";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNABORTED: return "ECONNABORTED";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EMSGSIZE: return "EMSGSIZE";
	case ENOMEM: return "ENOMEM";
	case EMFILE: return "EMFILE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EADDRINUSE: return "EADDRINUSE";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EPERM: return "EPERM";
	case EBADF: return "EBADF";
	case EPROTOTYPE: return "EPROTOTYPE";
	case ENOTSOCK: return "ENOTSOCK";
	case EINTR: return "EINTR";
	case E2BIG: return "E2BIG";
	case ENFILE: return "ENFILE";
	case EISDIR: return "EISDIR";
	default: return "(other)";
	}
}

const char *t_retname(long long ret)
{
	return ret < 0 ? t_errname(ret) : "ok";
}

static void watchdog(int sig)
{
	(void)sig;
	static const char msg[] = "watchdog: test ran too long; killing it\n";
	static const char at[] = "watchdog: where the thread it stopped was:\n";
	void *frames[32];
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	/* Where it hung: the functions a stuck library call is in (exported
	 * names; the rest as offsets, for addr2line on the same build). */
	r = write(2, at, sizeof(at) - 1);
	(void)r;
	backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
	kill_all_children();
	_exit(2);
}

/* IVC_TEST_TIME_SCALE=<n> multiplies every watchdog: where the CPU is
 * emulated (the Xen harness runs under TCG) the same work takes longer. */
static unsigned scaled(unsigned seconds)
{
	uint64_t k = t_env_u64("IVC_TEST_TIME_SCALE", 1);
	uint64_t s = (uint64_t)seconds * (k ? k : 1);

	return s > 86400 ? 86400 : (unsigned)s;
}

unsigned t_scaled_ms(unsigned ms)
{
	uint64_t k = t_env_u64("IVC_TEST_TIME_SCALE", 1);
	uint64_t v = (uint64_t)ms * (k ? k : 1);

	return v > 86400000u ? 86400000u : (unsigned)v;
}

void t_init(const char *name, unsigned seconds)
{
	g_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	seconds = scaled(seconds);
	if (seconds) {
		struct sigaction sa;
		void *frame;

		memset(&sa, 0, sizeof(sa));
		/* backtrace() loads what it needs on its first call, which a
		 * signal handler must not: make that call now. */
		(void)backtrace(&frame, 1);
		sa.sa_handler = watchdog;
		sigaction(SIGALRM, &sa, NULL);
		alarm(seconds);
	}
}

void t_watchdog(unsigned seconds)
{
	alarm(scaled(seconds));
}

int t_finish(void)
{
	alarm(0);
	kill_all_children();
	int f = atomic_load(&g_failed);
	printf("%s: %d passed, %d failed\n", g_name, atomic_load(&g_passed), f);
	fflush(stdout);
	return f ? 1 : 0;
}

pid_t t_fork(void)
{
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		t_abort(__FILE__, __LINE__, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		g_in_child = 1;
		alarm(0);
		for (int i = 0; i < MAX_CHILDREN; i++)
			g_children[i] = 0;
		atomic_store(&g_passed, 0);
		atomic_store(&g_failed, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(3);
		return 0;
	}
	child_add(pid);
	return pid;
}

_Noreturn void t_child_exit(void)
{
	int f = atomic_load(&g_failed);
	if (f) {
		fprintf(stderr, "[child %d] %s: %d passed, %d failed\n",
			(int)getpid(), g_name, atomic_load(&g_passed), f);
		fflush(stderr);
	}
	_exit(f ? 1 : 0);
}

int t_wait_child(pid_t pid, int timeout_ms)
{
	int status = 0;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		int r;
		do {
			r = poll(&p, 1, timeout_ms);
		} while (r < 0 && errno == EINTR);
		close(pfd);
		if (r == 0) {
			fprintf(stderr, "child %d did not exit in %d ms: killing it\n",
				(int)pid, timeout_ms);
			t_kill_child(pid);
			return -1;
		}
	}
	pid_t w;
	do {
		w = waitpid(pid, &status, 0);
	} while (w < 0 && errno == EINTR);
	child_del(pid);
	return w == pid ? status : -1;
}

void t_kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	child_del(pid);
}

const char *t_status_str(int status)
{
	static __thread char buf[64];
	if (status == -1)
		return "timed out (killed)";
	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d",
			 WTERMSIG(status));
	else
		snprintf(buf, sizeof(buf), "status 0x%x", status);
	return buf;
}

int t_sem_init(struct t_sem *s)
{
	return pipe2(s->fd, O_CLOEXEC) ? -errno : 0;
}

void t_sem_destroy(struct t_sem *s)
{
	if (s->fd[0] >= 0)
		close(s->fd[0]);
	if (s->fd[1] >= 0)
		close(s->fd[1]);
	s->fd[0] = s->fd[1] = -1;
}

void t_sem_post(struct t_sem *s)
{
	char c = 1;
	while (write(s->fd[1], &c, 1) < 0 && errno == EINTR)
		;
}

int t_sem_wait(struct t_sem *s, int timeout_ms)
{
	struct pollfd p = {.fd = s->fd[0], .events = POLLIN};
	int r;
	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	char c;
	ssize_t n;
	do {
		n = read(s->fd[0], &c, 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -EPIPE;
}

/* The transports the tests know how to name an address for: the
 * conformance suite's list (conformance/cases.list) runs over each.  A new
 * transport is one more line here and one more word in
 * IVC_CONFORMANCE_TRANSPORTS. */
static const struct t_transport {
	const char *name;
	const char *prefix; /* what comes before "ivc-test-<name>-<pid>-<n>" */
} t_transports[] = {
	{ "shm", "shm:@" }, /* Linux's abstract namespace: nothing to clean */
	{ "xen", "xen:" },  /* a service of the local domain (dom0 harness) */
	{ "tcp", NULL },    /* 127.0.0.1 and a free port (t_tcp_port()) */
};

static const struct t_transport *t_transport(void)
{
	const char *v = getenv("IVC_TEST_TRANSPORT");

	if (!v || !*v)
		return &t_transports[0];
	for (size_t i = 0; i < sizeof(t_transports) / sizeof(t_transports[0]); i++)
		if (!strcmp(v, t_transports[i].name))
			return &t_transports[i];
	fprintf(stderr, "IVC_TEST_TRANSPORT=%s: no such transport in test/common.c\n", v);
	exit(2);
}

int t_xen(void)
{
	return !strcmp(t_transport()->name, "xen");
}

struct ivc_listener *t_listen_until_pending(const char *addr, struct t_sem *up,
					    int timeout_ms)
{
	struct ivc_listener *l = NULL;
	struct pollfd p;
	int n;

	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	t_sem_post(up);
	p.fd = ivc_listener_fd(l);
	p.events = POLLIN;
	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	CHECK_EQ(n, 1); /* a client is waiting in the backlog */
	return l;
}

int t_tcp(void)
{
	return !strcmp(t_transport()->name, "tcp");
}

/* A port nobody has bound on 127.0.0.1, below the ephemeral range (so no
 * connecting socket takes it meanwhile), spread by pid: tests running side
 * by side try different ones first. */
int t_tcp_port(void)
{
	static atomic_uint counter;
	unsigned base = ((unsigned)getpid() * 7919u) % 12000u;

	for (unsigned i = 0; i < 12000u; i++) {
		unsigned port = 20000u + (base + atomic_fetch_add(&counter, 1)) % 12000u;
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

		if (s < 0)
			return -1;
		(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(s);
		if (ok)
			return (int)port;
	}
	return -1;
}

void t_addr(char *out, size_t size, const char *name)
{
	static atomic_uint counter;

	if (t_tcp()) {
		snprintf(out, size, "tcp:127.0.0.1:%d", t_tcp_port());
		return;
	}
	snprintf(out, size, "%sivc-test-%s-%d-%u", t_transport()->prefix, name,
		 (int)getpid(), atomic_fetch_add(&counter, 1));
}

void t_settle(void)
{
	/* Over xen a closed channel's first closer keeps its shares until
	 * the peer lets go, and every xen open and close frees those whose
	 * peer has (docs/xen.md): a listener opened and closed is one. */
	if (t_xen()) {
		char addr[96];
		struct ivc_listener *l = NULL;

		t_addr(addr, sizeof(addr), "settle");
		if (ivc_listen(addr, NULL, &l) == 0)
			ivc_listener_close(l);
	}
}

int t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

int t_send_fds(int sock, const void *data, size_t len, const int *fds, int nfds,
	       int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * T_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)data, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds < 0 || nfds > T_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL | flags) == (ssize_t)len ? 0 : -errno;
}

int t_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0, c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static uint64_t ts_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t t_now_ns(void)
{
	return ts_ns(CLOCK_MONOTONIC);
}

uint64_t t_cpu_process_ns(void)
{
	return ts_ns(CLOCK_PROCESS_CPUTIME_ID);
}

uint64_t t_cpu_thread_ns(void)
{
	return ts_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t t_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

uint64_t t_env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return def;
	char *end;
	unsigned long long x = strtoull(v, &end, 0);
	if (*end) {
		fprintf(stderr, "bad %s=%s, using %llu\n", name, v,
			(unsigned long long)def);
		return def;
	}
	return x;
}

/* ---- t_pair ---------------------------------------------------------------- */

struct connect_arg {
	const char *addr;
	const struct ivc_options *opts;
	struct ivc_channel *ch;
	int rc;
};

static void *connect_thread(void *p)
{
	struct connect_arg *a = p;
	a->rc = ivc_connect(a->addr, a->opts, 10000, &a->ch);
	return NULL;
}

int t_pair(const char *name, const struct ivc_options *server_opts,
	   const struct ivc_options *client_opts, struct ivc_channel **server,
	   struct ivc_channel **client)
{
	char addr[108];
	struct ivc_listener *l = NULL;
	t_addr(addr, sizeof(addr), name);
	*server = *client = NULL;
	int rc = ivc_listen(addr, server_opts, &l);
	if (rc)
		return rc;
	struct connect_arg a = {.addr = addr, .opts = client_opts, .ch = NULL, .rc = 0};
	pthread_t th;
	if (pthread_create(&th, NULL, connect_thread, &a)) {
		ivc_listener_close(l);
		return -EAGAIN;
	}
	struct ivc_channel *s = NULL;
	rc = ivc_accept(l, 10000, &s);
	pthread_join(th, NULL);
	ivc_listener_close(l);
	if (rc || a.rc) {
		if (s)
			ivc_close(s);
		if (a.ch)
			ivc_close(a.ch);
		return rc ? rc : a.rc;
	}
	*server = s;
	*client = a.ch;
	return 0;
}

/* ---- test messages ----------------------------------------------------------- */

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t s = a ^ (b * 0xD6E8FEB86659FD93ull);
	return t_splitmix64(&s);
}

size_t t_msg_len(uint64_t seed, uint64_t seq, size_t max)
{
	uint64_t h = mix(seed, seq);
	unsigned band = (unsigned)(h % 1000);
	uint64_t r = h >> 10;
	size_t lo, hi;
	if (band < 850) {		/* 85%: 1..64 bytes */
		lo = 1, hi = 64;
	} else if (band < 950) {	/* 10%: 65..1024 */
		lo = 65, hi = 1024;
	} else if (band < 995) {	/* 4.5%: 1 KiB..8 KiB */
		lo = 1025, hi = 8192;
	} else {			/* 0.5%: 8 KiB..max */
		lo = 8193, hi = max;
	}
	if (hi > max)
		hi = max;
	if (lo > hi)
		lo = hi;
	return lo + (size_t)(r % (hi - lo + 1));
}

uint32_t t_fnv1a(const void *buf, size_t len)
{
	/* FNV-1a over 64-bit words (then the tail bytes), folded to 32 bits. */
	const unsigned char *p = buf;
	uint64_t h = 0xCBF29CE484222325ull;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h ^= w;
		h *= 0x100000001B3ull;
	}
	for (; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001B3ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

void t_msg_fill(uint64_t seed, uint64_t seq, void *buf, size_t len)
{
	unsigned char *p = buf;
	uint64_t st = mix(seed ^ 0x5555555555555555ull, seq);
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = t_splitmix64(&st);
		memcpy(p + i, &w, 8);
	}
	if (i < len) {
		uint64_t w = t_splitmix64(&st);
		memcpy(p + i, &w, len - i);
	}
	unsigned char s[8];
	for (int k = 0; k < 8; k++)
		s[k] = (unsigned char)(seq >> (8 * k));
	memcpy(p, s, len < 8 ? len : 8);
	if (len >= 16) {
		uint32_t c = t_fnv1a(p, len - 4);
		memcpy(p + len - 4, &c, 4);
	}
}

const char *t_msg_verify(uint64_t seed, uint64_t seq, size_t max,
			 const void *buf, size_t len, void *scratch)
{
	const unsigned char *p = buf;
	size_t want = t_msg_len(seed, seq, max);
	if (len >= 8) {
		uint64_t got = 0;
		for (int k = 0; k < 8; k++)
			got |= (uint64_t)p[k] << (8 * k);
		if (got != seq) {
			static __thread char msg[128];
			snprintf(msg, sizeof(msg),
				 "sequence: got %llu, want %llu (loss, duplicate or reordering)",
				 (unsigned long long)got, (unsigned long long)seq);
			return msg;
		}
	}
	if (len != want) {
		static __thread char msg[128];
		snprintf(msg, sizeof(msg), "length: got %zu, want %zu", len,
			 want);
		return msg;
	}
	if (len >= 16) {
		uint32_t c;
		memcpy(&c, p + len - 4, 4);
		if (c != t_fnv1a(p, len - 4))
			return "checksum mismatch (corrupted payload)";
	}
	t_msg_fill(seed, seq, scratch, len);
	if (memcmp(scratch, buf, len) != 0)
		return "payload differs from the expected bytes";
	return NULL;
}

const char *t_mode_name(int mode)
{
	return mode == IVC_MODE_POLL ? "poll" : mode == IVC_MODE_BLOCK ? "block" : "adaptive";
}

char t_thread_state(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

int t_chain2(struct ivc_channel *tx, struct ivc_buf *b, uint32_t len0, char c0,
	     uint32_t len1, char c1)
{
	int r = ivc_tx_alloc(tx, b, 2, 0);

	if (r < 0)
		return r;
	if (r < 2) {
		ivc_tx_free(tx, b, (unsigned)r);
		return -EAGAIN;
	}
	memset(b[0].data, c0, len0);
	b[0].len = len0;
	b[0].flags = IVC_BUF_MORE;
	memset(b[1].data, c1, len1);
	b[1].len = len1;
	b[1].flags = 0;
	return 0;
}
