/* SPDX-License-Identifier: MIT */
/*
 * test_listener_gone - a listener that goes away while a client is still in
 * ivc_connect() (issue 13).  Its leaving is an ordinary event, not the
 * client's protocol error (-EPROTO, "peer violated the ivc protocol", is
 * kept for real violations: test_errors):
 *
 *  1. a listener process that exits with our connection pending, never
 *     having accepted it: -ECONNREFUSED;
 *  2. the same, but it closes its listener in order first
 *     (ivc_listener_close): -ECONNREFUSED;
 *  3. the same, killed by SIGKILL: -ECONNREFUSED;
 *  4. a listener that sent its WELCOME and then went away before our READY
 *     (a fake listener, so that it happens at exactly that point: the
 *     client is stopped with SIGSTOP while the listener answers and hangs
 *     up): -ECONNRESET.
 *
 * And the other way round, a client that goes away during the handshake,
 * seen by ivc_accept() (an ordinary exit too, not -EPROTO):
 *
 *  5. a client that sent its HELLO and hung up before reading the WELCOME,
 *     and 6. one that read the WELCOME and hung up instead of its READY:
 *     -ECONNABORTED, nothing leaked, and the listener accepts the next.
 *
 * No sleeps: the listener learns that the connection is pending by polling
 * ivc_listener_fd(), the client is known to be stopped from waitpid().
 * Every case also checks that the client leaks no descriptor.
 */
#include "check.h"
#include "fake_peer.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define WAIT_MS 10000

enum leave {
	LEAVE_EXIT,  /* _exit() with the listener open */
	LEAVE_CLOSE, /* ivc_listener_close(), then _exit() */
	LEAVE_KILL,  /* SIGKILL */
};

/* The listener process: listen, tell the parent, wait until a connection
 * is pending (never accepting it), and go away as @how says. */
static _Noreturn void listener_main(const char *addr, struct t_sem *up, enum leave how)
{
	struct ivc_listener *l = t_listen_until_pending(addr, up, WAIT_MS);

	switch (how) {
	case LEAVE_EXIT:
		break;
	case LEAVE_CLOSE:
		ivc_listener_close(l);
		break;
	case LEAVE_KILL:
		raise(SIGKILL);
		break;
	}
	t_child_exit();
}

static void gone_before_accept(enum leave how, const char *what)
{
	struct ivc_channel *ch = NULL;
	struct t_sem up;
	char addr[108];

	t_addr(addr, sizeof(addr), "gone");
	REQUIRE_OK(t_sem_init(&up));
	pid_t pid = t_fork();
	if (pid == 0)
		listener_main(addr, &up, how);
	REQUIRE_EQ(t_sem_wait(&up, WAIT_MS), 0);
	int fds = t_count_fds();
	int r = ivc_connect(addr, NULL, WAIT_MS, &ch);
	printf("   %-52s -> ivc_connect %s\n", what, t_retname(r));
	CHECK_ERR(r, -ECONNREFUSED);
	CHECK(ch == NULL);
	if (ch)
		ivc_close(ch);
	CHECK_EQ(t_count_fds(), fds);
	int st = t_wait_child(pid, WAIT_MS);
	if (how == LEAVE_KILL)
		CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	else
		CHECK_CHILD_OK(st);
	t_sem_destroy(&up);
}

/* A listening SOCK_SEQPACKET socket at the abstract @addr ("shm:@..."). */
static int fake_listen(const char *addr)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(addr + 5);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	REQUIRE(s >= 0);
	memcpy(sun.sun_path + 1, addr + 5, n);
	REQUIRE(bind(s, (struct sockaddr *)&sun,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0);
	REQUIRE(listen(s, 4) == 0);
	return s;
}

static void gone_after_welcome(void)
{
	struct fake_lane_opts lo = { .seal = SEAL_SIZE };
	struct ivc_ctrl_msg hello;
	struct fake_lane f;
	char addr[108];
	int nfds, st;

	t_addr(addr, sizeof(addr), "welcomed");
	int ls = fake_listen(addr);
	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *ch = NULL;
		int fds = t_count_fds();
		int r = ivc_connect(addr, NULL, WAIT_MS, &ch);

		printf("   %-52s -> ivc_connect %s\n",
		       "the listener went away after its WELCOME", t_retname(r));
		CHECK_ERR(r, -ECONNRESET);
		CHECK(ch == NULL);
		if (ch)
			ivc_close(ch);
		CHECK_EQ(t_count_fds(), fds);
		t_child_exit();
	}
	struct pollfd p = { .fd = ls, .events = POLLIN };
	REQUIRE_EQ(poll(&p, 1, WAIT_MS), 1);
	int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	REQUIRE(s >= 0);
	REQUIRE(fake_recv(s, &hello, sizeof(hello), &nfds, NULL, WAIT_MS) ==
		(ssize_t)sizeof(hello));
	CHECK_EQ(nfds, IVC_CTRL_NFDS);
	/* The client waits for our answer now.  Stopped, it cannot read the
	 * WELCOME before we have hung up: its READY then finds us gone. */
	REQUIRE(kill(pid, SIGSTOP) == 0);
	REQUIRE(waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st));
	REQUIRE(fake_lane_make(&f, &lo) == 0);
	REQUIRE_OK(fake_send_lane(s, IVC_CTRL_WELCOME, &f));
	close(s);
	fake_lane_free(&f);
	REQUIRE(kill(pid, SIGCONT) == 0);
	CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS));
	close(ls);
}

/* A fake client (in this thread) that leaves after its HELLO, before
 * (@read_welcome 0) or after reading the WELCOME. */
static void client_gone(int read_welcome, const char *what)
{
	char addr[108], buf[512];
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct ivc_options o;
	struct fake_lane f;
	struct fake_lane_opts fo;
	struct ivc_ctrl_msg m;
	int nfds;

	printf("%s\n", what);
	ivc_options_init(&o);
	o.tx.slots = 4;
	o.tx.buf_size = 64;
	o.tx.buf_count = 4;
	t_addr(addr, sizeof(addr), "client_gone");
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	int fds0 = t_count_fds();
	memset(&fo, 0, sizeof(fo));
	fo.seal = SEAL_SIZE;
	REQUIRE_EQ(fake_lane_make(&f, &fo), 0);
	int sock = fake_connect(addr);
	REQUIRE(sock >= 0);
	REQUIRE_OK(fake_send_lane(sock, IVC_CTRL_HELLO, &f));
	if (read_welcome) {
		/* The HELLO is in the socket: one step answers it. */
		CHECK_ERR(ivc_accept(l, 0, &ch), -EAGAIN);
		ssize_t n = fake_recv(sock, &m, sizeof(m), &nfds, NULL, WAIT_MS);
		CHECK(n > 0);
		CHECK_EQ(m.type, IVC_CTRL_WELCOME);
	}
	close(sock);
	fake_lane_free(&f);
	CHECK_ERR(ivc_accept(l, WAIT_MS, &ch), -ECONNABORTED);
	CHECK(ch == NULL);
	CHECK_EQ(t_count_fds(), fds0);
	/* Still listening: a real client gets through. */
	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *c = NULL;
		REQUIRE_OK(ivc_connect(addr, &o, WAIT_MS, &c));
		REQUIRE_OK(ivc_send(c, "ok", 2, WAIT_MS));
		ivc_close(c);
		t_child_exit();
	}
	CHECK_ERR(ivc_accept(l, WAIT_MS, &ch), 0);
	if (ch) {
		CHECK_EQ(ivc_recv(ch, buf, sizeof(buf), WAIT_MS), 2);
		ivc_close(ch);
	}
	CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS));
	ivc_listener_close(l);
}

int main(void)
{
	t_init("test_listener_gone", 100);
	if (t_xen()) {
		/* (Xen's own path is in test_xen, in dom0.) */
		printf("test_listener_gone: shm only\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	int fds = t_count_fds();
	printf("-- a listener that goes away before it accepts us\n");
	gone_before_accept(LEAVE_EXIT, "1. it exits, our connection pending");
	gone_before_accept(LEAVE_CLOSE, "2. it closes its listener, then exits");
	gone_before_accept(LEAVE_KILL, "3. it is killed (SIGKILL)");
	printf("-- a listener that goes away after its WELCOME\n");
	gone_after_welcome();
	printf("-- a client that goes away during its handshake\n");
	client_gone(0, "5. it hangs up after its HELLO");
	client_gone(1, "6. it hangs up after the WELCOME, instead of its READY");
	CHECK_EQ(t_count_fds(), fds);
	return t_finish();
}
