/* SPDX-License-Identifier: MIT */
/*
 * check.h - the test suite's tiny harness.
 *
 * CHECK*()   record a failure (file:line, expression, values) and go on.
 * REQUIRE*() record a failure and end the test at once (children killed).
 *
 * Counters are atomic, so checks may run in several threads.  A forked
 * child (t_fork()) counts its own checks and reports them through its exit
 * status (t_child_exit()); the parent checks that status.
 *
 * Children never outlive a test: t_fork() sets PR_SET_PDEATHSIG(SIGKILL) in
 * the child, and REQUIRE failures, the watchdog (t_init()) and t_finish()
 * kill and reap every child still registered.
 */
#ifndef IVC_TEST_CHECK_H
#define IVC_TEST_CHECK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct ivc_channel;
struct ivc_options;

/* ---- results ------------------------------------------------------------ */

void t_pass(void);
void t_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Ends the test (exit status 1 in the parent, 1 in a child). */
_Noreturn void t_abort(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int t_failures(void);

/* Name of an errno value ("ETIMEDOUT"), either sign; never NULL. */
const char *t_errname(long long err);
/* For a return value: the errno name if negative, else "ok". */
const char *t_retname(long long ret);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (cond)                                                    \
			t_pass();                                            \
		else                                                         \
			t_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);      \
	} while (0)

#define REQUIRE(cond)                                                        \
	do {                                                                 \
		if (cond)                                                    \
			t_pass();                                            \
		else                                                         \
			t_abort(__FILE__, __LINE__, "REQUIRE(%s)", #cond);   \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ == b_)                                                \
			t_pass();                                            \
		else                                                         \
			t_fail(__FILE__, __LINE__,                           \
			       "CHECK_EQ(%s, %s): %lld != %lld", #a, #b, a_, \
			       b_);                                          \
	} while (0)

#define REQUIRE_EQ(a, b)                                                     \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ == b_)                                                \
			t_pass();                                            \
		else                                                         \
			t_abort(__FILE__, __LINE__,                          \
				"REQUIRE_EQ(%s, %s): %lld != %lld", #a, #b,  \
				a_, b_);                                     \
	} while (0)

/* CHECK_ERR(call, -EXXX): the call returned exactly that (negative) errno. */
#define CHECK_ERR(expr, err)                                                 \
	do {                                                                 \
		long long r_ = (long long)(expr), e_ = (long long)(err);     \
		if (r_ == e_)                                                \
			t_pass();                                            \
		else                                                         \
			t_fail(__FILE__, __LINE__,                           \
			       "%s: got %lld (%s), want %lld (%s)", #expr,   \
			       r_, t_retname(r_), e_, t_retname(e_));        \
	} while (0)

/* CHECK_OK(call): the call returned >= 0. */
#define CHECK_OK(expr)                                                       \
	do {                                                                 \
		long long r_ = (long long)(expr);                            \
		if (r_ >= 0)                                                 \
			t_pass();                                            \
		else                                                         \
			t_fail(__FILE__, __LINE__, "%s: got %lld (%s)",      \
			       #expr, r_, t_retname(r_));                    \
	} while (0)

#define REQUIRE_OK(expr)                                                     \
	do {                                                                 \
		long long r_ = (long long)(expr);                            \
		if (r_ >= 0)                                                 \
			t_pass();                                            \
		else                                                         \
			t_abort(__FILE__, __LINE__, "%s: got %lld (%s)",     \
				#expr, r_, t_retname(r_));                   \
	} while (0)

/*
 * t_init() - name the test and arm a watchdog: after @seconds the test
 * prints a message, kills its children and exits with status 2 (so a hang
 * shows up as a failure with a message before ctest's TIMEOUT).
 * IVC_TEST_TIME_SCALE=<n> in the environment multiplies @seconds (and
 * t_watchdog()'s): the Xen harness sets it, its CPU is emulated.
 */
void t_init(const char *name, unsigned seconds);
/* t_watchdog() - re-arm t_init()'s watchdog: @seconds from now. */
void t_watchdog(unsigned seconds);
/* t_scaled_ms() - @ms times IVC_TEST_TIME_SCALE (default 1): a bound that
 * only detects a hang, stretched where the CPU is emulated. */
unsigned t_scaled_ms(unsigned ms);

/* t_finish() - kill leftover children, print "name: N passed, M failed". */
int t_finish(void);

/* ---- children ----------------------------------------------------------- */

/* fork(); the child dies with the parent.  Returns the pid (0 in child). */
pid_t t_fork(void);
/* In a child: report and _exit(0 if no check failed, else 1). */
_Noreturn void t_child_exit(void);
/*
 * t_wait_child() - reap @pid, waiting at most @timeout_ms (then SIGKILL).
 * Return: the wait status, or -1 if it had to be killed for the timeout.
 */
int t_wait_child(pid_t pid, int timeout_ms);
/* Kill (SIGKILL) and reap @pid now. */
void t_kill_child(pid_t pid);
/* The child exited with status 0 (CHECKed, with a message otherwise). */
#define CHECK_CHILD_OK(status)                                               \
	do {                                                                 \
		int s_ = (status);                                           \
		if (s_ != -1 && WIFEXITED(s_) && WEXITSTATUS(s_) == 0)       \
			t_pass();                                            \
		else                                                         \
			t_fail(__FILE__, __LINE__,                           \
			       "child failed: %s", t_status_str(s_));        \
	} while (0)
const char *t_status_str(int status);

/* ---- synchronisation ---------------------------------------------------- */

/* A pipe used as a one-byte semaphore between processes or threads. */
struct t_sem {
	int fd[2];
};
int t_sem_init(struct t_sem *s);
void t_sem_destroy(struct t_sem *s);
void t_sem_post(struct t_sem *s);
/* Return: 0 when posted, -ETIMEDOUT after @timeout_ms, -EPIPE on EOF. */
int t_sem_wait(struct t_sem *s, int timeout_ms);

/* ---- misc ---------------------------------------------------------------- */

/* An address of the transport IVC_TEST_TRANSPORT names (default shm),
 * unique per call in this process: "shm:@ivc-test-<name>-<pid>-<n>",
 * "xen:ivc-test-<name>-<pid>-<n>" (a service of the local domain, as inside
 * the dom0 harness).  An unknown transport exits with 2. */
void t_addr(char *out, size_t size, const char *name);
/* Listen at @addr, post @up, and return once a connection is pending in
 * the listener's backlog (poll() on its fd, up to @timeout_ms: a failed
 * check if it never is), never having accepted it.  For a listener that is
 * to go away with a client still in ivc_connect(). */
struct ivc_listener *t_listen_until_pending(const char *addr, struct t_sem *up,
					    int timeout_ms);
/* Whether the tests run over xen (IVC_TEST_TRANSPORT=xen), over tcp. */
int t_xen(void);
int t_tcp(void);
/* A free port on 127.0.0.1 (-1 if none). */
int t_tcp_port(void);
/* Let the transport free what it keeps for closed channels whose peers
 * have let go (over xen, a first closer's shares: docs/xen.md), before
 * counting descriptors and mappings. */
void t_settle(void);
/* Entries in /proc/self/fd. */
int t_count_fds(void);
/* Lines in /proc/self/maps (mappings of this process), or -1. */
int t_count_maps(void);
/* Send @len bytes on @sock with @nfds (<= T_MAX_FDS) descriptors as
 * SCM_RIGHTS, sendmsg() @flags added to MSG_NOSIGNAL.  Return: 0, -errno. */
#define T_MAX_FDS 8
int t_send_fds(int sock, const void *data, size_t len, const int *fds, int nfds,
	       int flags);
/* "poll", "block" or "adaptive". */
const char *t_mode_name(int mode);
/* State letter of a thread of this process ('R', 'S', ...), or 0. */
char t_thread_state(pid_t tid);
uint64_t t_now_ns(void);
/* CPU time of the whole process / of the calling thread, in ns. */
uint64_t t_cpu_process_ns(void);
uint64_t t_cpu_thread_ns(void);
uint64_t t_splitmix64(uint64_t *state);
/* Unsigned integer from the environment, or @def. */
uint64_t t_env_u64(const char *name, uint64_t def);

/*
 * t_pair() - make a connected pair of channels in this process: listen at a
 * fresh address, connect from a thread, accept here.
 * @name: part of the address.
 * @server_opts/@client_opts: options (NULL: defaults).
 * Return: 0, or the first error from ivc_listen/ivc_accept/ivc_connect.
 */
int t_pair(const char *name, const struct ivc_options *server_opts,
	   const struct ivc_options *client_opts, struct ivc_channel **server,
	   struct ivc_channel **client);

struct ivc_buf;

/*
 * t_chain2() - allocate two buffers on @tx (no waiting) and fill them as one
 * chained message that is not sent yet: @len0 bytes of @c0 with IVC_BUF_MORE,
 * then @len1 bytes of @c1.
 * Return: 0, or the error of ivc_tx_alloc (-EAGAIN if fewer than two are free).
 */
int t_chain2(struct ivc_channel *tx, struct ivc_buf *b, uint32_t len0, char c0,
	     uint32_t len1, char c1);

/* ---- deterministic test messages ---------------------------------------- */

/*
 * Message @seq of stream @seed: its length is a function of (seed, seq),
 * never over @max; its bytes are pseudo-random, except the first
 * min(8, len) bytes hold seq (little endian) and, when len >= 16, the last 4
 * hold the FNV-1a hash of the rest.
 */
size_t t_msg_len(uint64_t seed, uint64_t seq, size_t max);
void t_msg_fill(uint64_t seed, uint64_t seq, void *buf, size_t len);
/*
 * Check a received message against @seq (scratch: >= len bytes).
 * Return: NULL if it is exactly message @seq; else what is wrong.
 */
const char *t_msg_verify(uint64_t seed, uint64_t seq, size_t max,
			 const void *buf, size_t len, void *scratch);
uint32_t t_fnv1a(const void *buf, size_t len);

#endif
