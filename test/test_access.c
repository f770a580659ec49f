/* SPDX-License-Identifier: MIT */
/*
 * test_access - the listener decides who may connect (SO_PEERCRED uids).
 *
 *  - allowed_uids = {a uid that is not ours}: ivc_connect gets -EACCES,
 *    ivc_accept gets -EACCES, no descriptor leaks, and the listener stays
 *    usable (a second refused client is refused the same way; when we run
 *    as root, the other uid is `nobody`'s, and a child that dropped to it
 *    gets in);
 *  - allowed_uids = {other, ours}: accepted; the channel reports our uid
 *    and pid;
 *  - default (NULL): our own euid only; as root, a child that dropped to
 *    `nobody` is refused (both sides get -EACCES), unless IVC_OPT_ANY_UID
 *    is set.
 */
#include "check.h"

#include <pthread.h>
#include <pwd.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define WAIT_MS 10000

struct client {
	const char *addr;
	struct ivc_channel *ch;
	int rc;
};

static void *client_thread(void *p)
{
	struct client *c = p;
	c->rc = ivc_connect(c->addr, NULL, WAIT_MS, &c->ch);
	return NULL;
}

/* Connect from a thread while accepting here; both results returned. */
static void attempt(struct ivc_listener *l, const char *addr, int *acc_rc,
		    int *conn_rc, struct ivc_channel **s, struct ivc_channel **c)
{
	struct client cl = {.addr = addr, .ch = NULL, .rc = 1};
	pthread_t th;
	*s = NULL;
	REQUIRE(pthread_create(&th, NULL, client_thread, &cl) == 0);
	*acc_rc = ivc_accept(l, WAIT_MS, s);
	pthread_join(th, NULL);
	*conn_rc = cl.rc;
	*c = cl.ch;
}

/*
 * As root: a child that switches to @uid connects to @addr; its ivc_connect
 * result is its exit status (as -rc), and we return our ivc_accept result.
 */
static int attempt_as(struct ivc_listener *l, const char *addr, uid_t uid,
		      int *child_rc)
{
	pid_t pid = t_fork();
	if (pid == 0) {
		if (setgid((gid_t)uid) != 0 || setuid(uid) != 0)
			_exit(100);
		struct ivc_channel *ch = NULL;
		int rc = ivc_connect(addr, NULL, WAIT_MS, &ch);
		if (rc == 0) {
			/* Prove the channel works, then close in order. */
			rc = ivc_send(ch, "hi", 2, WAIT_MS);
			ivc_close(ch);
		}
		_exit(-rc);
	}
	struct ivc_channel *ch = NULL;
	int acc = ivc_accept(l, WAIT_MS, &ch);
	if (acc == 0) {
		char buf[8];
		CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), WAIT_MS), 2);
		struct ivc_info info;
		CHECK_ERR(ivc_channel_info(ch, &info), 0);
		CHECK_EQ(info.peer_uid, uid);
		CHECK_EQ(info.peer_pid, pid);
		ivc_close(ch);
	}
	int st = t_wait_child(pid, WAIT_MS);
	*child_rc = (st != -1 && WIFEXITED(st)) ? -WEXITSTATUS(st) : -9999;
	CHECK(*child_rc != -100); /* setuid worked */
	return acc;
}

int main(void)
{
	t_init("test_access", 60);
	uid_t me = geteuid();
	/* As root, the other uid is nobody's: the child drops to it. */
	struct passwd *nobody = getpwnam("nobody");
	uid_t other = me != 0 ? me + 4242 : nobody ? nobody->pw_uid : 65534;
	char addr[108];
	struct ivc_listener *l = NULL;
	struct ivc_channel *s, *c;
	int acc, conn;

	printf("-- allowed_uids = {%u}, we are %u\n", (unsigned)other, (unsigned)me);
	struct ivc_options o;
	struct ivc_shm_options so = {0};
	ivc_options_init(&o);
	uid_t only_other[1] = {other};
	so.allowed_uids = only_other;
	so.n_allowed_uids = 1;
	o.shm = &so;
	t_addr(addr, sizeof(addr), "access");
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	only_other[0] = me; /* ivc_listen() copied the list */
	int fds0 = t_count_fds();
	/*
	 * Regression test (a bug this test found at 6781eee, fixed in
	 * 7fcda9a): the listener refuses by uid right after accept(2), before
	 * reading the HELLO, sends REJECT and closes; a client still sending
	 * its HELLO then gets EPIPE from sendmsg and ivc_connect returns
	 * -ECONNRESET without reading the REJECT.  channel.h promises -EACCES.
	 */
	for (int i = 0; i < 2; i++) {
		attempt(l, addr, &acc, &conn, &s, &c);
		CHECK_ERR(acc, -EACCES);
		CHECK_ERR(conn, -EACCES);
		CHECK(s == NULL && c == NULL);
		CHECK_EQ(t_count_fds(), fds0);
	}
	if (me == 0) {
		int crc;
		acc = attempt_as(l, addr, other, &crc);
		CHECK_ERR(acc, 0);
		CHECK_ERR(crc, 0);
		/* And refused again for us afterwards. */
		attempt(l, addr, &acc, &conn, &s, &c);
		CHECK_ERR(acc, -EACCES);
		CHECK_ERR(conn, -EACCES);
	} else {
		printf("   (not root: the allowed-uid child is skipped)\n");
	}
	ivc_listener_close(l);

	printf("-- allowed_uids = {other, us}\n");
	uid_t both[2] = {other, me};
	so.allowed_uids = both;
	so.n_allowed_uids = 2;
	t_addr(addr, sizeof(addr), "access2");
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	attempt(l, addr, &acc, &conn, &s, &c);
	CHECK_ERR(acc, 0);
	CHECK_ERR(conn, 0);
	if (acc == 0 && conn == 0) {
		struct ivc_info info;
		CHECK_ERR(ivc_channel_info(s, &info), 0);
		CHECK_EQ(info.peer_uid, me);
		CHECK_EQ(info.peer_pid, getpid());
		CHECK(info.transport && strcmp(info.transport, "shm") == 0);
		CHECK_ERR(ivc_send(c, "ok", 2, WAIT_MS), 0);
		char buf[4];
		CHECK_ERR(ivc_recv(s, buf, sizeof(buf), WAIT_MS), 2);
	}
	ivc_close(s);
	ivc_close(c);
	ivc_listener_close(l);

	printf("-- default: own uid only; IVC_OPT_ANY_UID\n");
	t_addr(addr, sizeof(addr), "access3");
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	attempt(l, addr, &acc, &conn, &s, &c);
	CHECK_ERR(acc, 0);
	CHECK_ERR(conn, 0);
	ivc_close(s);
	ivc_close(c);
	if (me == 0) {
		int crc;
		acc = attempt_as(l, addr, other, &crc);
		CHECK_ERR(acc, -EACCES);
		CHECK_ERR(crc, -EACCES);
	}
	ivc_listener_close(l);
	if (me == 0) {
		ivc_options_init(&o);
		o.flags = IVC_OPT_ANY_UID;
		t_addr(addr, sizeof(addr), "access4");
		REQUIRE_OK(ivc_listen(addr, &o, &l));
		int crc;
		acc = attempt_as(l, addr, other, &crc);
		CHECK_ERR(acc, 0);
		CHECK_ERR(crc, 0);
		ivc_listener_close(l);
	}
	return t_finish();
}
