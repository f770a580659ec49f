/* SPDX-License-Identifier: MIT */
/*
 * test_net - residency-aware addresses, "net:<host>:<port>" (docs/design.md,
 * "Choosing the transport"):
 *
 *  1. same kernel, same network namespace: the channel is shm, both ends
 *     say IVC_ROUTE_LOCAL, and it carries messages both ways;
 *  2. switching off (IVC_NET=tcp): the same listener, reached over tcp
 *     (IVC_ROUTE_FORCED at the connector, REMOTE at the listener);
 *  3. another network namespace (a child that unshares it): 127.0.0.1 there
 *     is another host, so the parent's listener is not reachable at all
 *     (-ECONNREFUSED), and a listener of the child's own on the same port
 *     gives the child shm;
 *  4. tcp fallback: a child in another namespace joined by a veth pair
 *     reaches the parent's listener at its veth address over tcp
 *     (IVC_ROUTE_REMOTE both ends) when the listener's allow list names
 *     that network, and is refused when it does not (the default,
 *     loopback only);
 *  5. a local listener's refusal is not gone round: a shm uid list that
 *     does not name us is -EACCES, not a tcp channel;
 *  6. another process's listener appearing is seen at once: after a connect
 *     found only tcp at an address (a negative entry, kept 1 s), a net:
 *     listener that another process opens there is reached over shm by
 *     the very next connect (the registry's watch on listeners' markers);
 *     and so it is where a listener killed before left its marker: the
 *     marker is there already when the new listener comes, and the next
 *     listener anywhere on the host removes a dead one's marker.
 *
 * Parts 3 and 4 need root (unshare(CLONE_NEWNET)) and, for 4, ip(8) from
 * iproute2; without them they are skipped, saying so.
 */
#include "check.h"

#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define VETH_PARENT "ivcnet0"
#define VETH_CHILD "ivcnet1"
#define NET_PARENT "10.253.71.1"
#define NET_CHILD "10.253.71.2"

struct conn {
	char addr[96];
	const struct ivc_options *o;
	struct ivc_channel *ch;
	int rc;
	atomic_int *done; /* set once the connect returned, if not NULL */
};

static void *connect_thread(void *p)
{
	struct conn *c = p;

	c->rc = ivc_connect(c->addr, c->o, 5000, &c->ch);
	if (c->done)
		atomic_store(c->done, 1);
	return NULL;
}

static void route_of(struct ivc_channel *ch, const char *transport, uint32_t route)
{
	struct ivc_info in;

	REQUIRE_OK(ivc_channel_info(ch, &in));
	if (strcmp(in.transport, transport))
		t_fail(__FILE__, __LINE__, "transport %s, want %s", in.transport, transport);
	else
		t_pass();
	CHECK_EQ(in.route, route);
}

static void talk(struct ivc_channel *a, struct ivc_channel *b)
{
	char buf[32];

	CHECK_OK(ivc_send(a, "ping", 5, 2000));
	CHECK_EQ(ivc_recv(b, buf, sizeof(buf), 2000), 5);
	CHECK_OK(ivc_send(b, "pong", 5, 2000));
	CHECK_EQ(ivc_recv(a, buf, sizeof(buf), 2000), 5);
	CHECK(!strcmp(buf, "pong"));
}

/* Connect from a thread to @addr while @l accepts: both ends. */
static int pair(struct ivc_listener *l, const char *addr, const struct ivc_options *o,
		struct ivc_channel **srv, struct ivc_channel **cli)
{
	struct conn c = { .o = o, .rc = -1 };
	pthread_t th;
	int r;

	snprintf(c.addr, sizeof(c.addr), "%s", addr);
	REQUIRE_EQ(pthread_create(&th, NULL, connect_thread, &c), 0);
	r = ivc_accept(l, 5000, srv);
	pthread_join(th, NULL);
	*cli = c.ch;
	if (r && c.ch)
		ivc_close(c.ch);
	return r ? r : c.rc;
}

static void same_namespace(void)
{
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL, *c = NULL;
	char addr[64];

	printf("-- same namespace\n");
	snprintf(addr, sizeof(addr), "net:127.0.0.1:%d", t_tcp_port());
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	REQUIRE_OK(pair(l, addr, NULL, &s, &c));
	route_of(c, "shm", IVC_ROUTE_LOCAL);
	route_of(s, "shm", IVC_ROUTE_LOCAL);
	talk(c, s);
	ivc_close(c);
	ivc_close(s);

	printf("-- switching off: IVC_NET=tcp\n");
	setenv("IVC_NET", "tcp", 1);
	REQUIRE_OK(pair(l, addr, NULL, &s, &c));
	unsetenv("IVC_NET");
	route_of(c, "tcp", IVC_ROUTE_FORCED);
	route_of(s, "tcp", IVC_ROUTE_REMOTE);
	talk(c, s);
	ivc_close(c);
	ivc_close(s);

	printf("-- a local listener's refusal stands\n");
	{
		uid_t nobody = 65534;
		struct ivc_shm_options so = { .allowed_uids = &nobody, .n_allowed_uids = 1 };
		struct ivc_options o = { .shm = &so };
		struct ivc_listener *l2 = NULL;
		struct ivc_channel *x = NULL;
		char a2[64];

		snprintf(a2, sizeof(a2), "net:127.0.0.1:%d", t_tcp_port());
		REQUIRE_OK(ivc_listen(a2, &o, &l2));
		/* The listener refuses our uid; its accept reports that. */
		struct conn cc = { .o = NULL, .rc = -1 };
		pthread_t th;
		snprintf(cc.addr, sizeof(cc.addr), "%s", a2);
		atomic_int done = 0;
		cc.done = &done;
		REQUIRE_EQ(pthread_create(&th, NULL, connect_thread, &cc), 0);
		/* A server accepts in a loop; the connector's look at the
		 * rendezvous is a client too, refused like the real one. */
		int refused = 0, r;
		while (!atomic_load(&done))
			if ((r = ivc_accept(l2, 100, &x)) == -EACCES)
				refused++;
			else if (r == 0)
				ivc_close(x);
		pthread_join(th, NULL);
		CHECK(refused >= 1);
		CHECK_ERR(cc.rc, -EACCES);
		ivc_listener_close(l2);
	}
	/* Xen settings: a connector's are refused; a listener's ask for a
	 * xen side, which outside Xen fails whole, leaving the port free. */
	{
		struct ivc_xen_options xo = { 0 };
		struct ivc_options o = { .xen = &xo };
		struct ivc_listener *l3 = NULL;
		char a3[64];
		int r;

		CHECK_ERR(ivc_connect(addr, &o, 0, &c), -EINVAL);
		snprintf(a3, sizeof(a3), "net:127.0.0.1:%d", t_tcp_port());
		if (access("/dev/xen/xenbus", F_OK)) {
			r = ivc_listen(a3, &o, &l3);
			CHECK(r == -ENOENT || r == -EACCES || r == -EAFNOSUPPORT);
			REQUIRE_OK(ivc_listen(a3, NULL, &l3));
			ivc_listener_close(l3);
		}
		/* From the environment (an unchanged program): no Xen here is
		 * no error; a malformed list is. */
		setenv("IVC_NET_XEN_DOMAINS", "1,2", 1);
		REQUIRE_OK(ivc_listen(a3, NULL, &l3));
		struct ivc_channel *s3 = NULL;
		REQUIRE_OK(pair(l3, a3, NULL, &s3, &c));
		route_of(c, "shm", IVC_ROUTE_LOCAL);
		talk(c, s3);
		ivc_close(c);
		ivc_close(s3);
		ivc_listener_close(l3);
		setenv("IVC_NET_XEN_DOMAINS", "1,x", 1);
		CHECK_ERR(ivc_listen(a3, NULL, &l3), -EINVAL);
		setenv("IVC_NET_XEN_DOMAINS", "32752", 1);
		CHECK_ERR(ivc_listen(a3, NULL, &l3), -EINVAL);
		unsetenv("IVC_NET_XEN_DOMAINS");
	}
	ivc_listener_close(l);
}

/* Bring this namespace's loopback up. */
static int lo_up(void)
{
	struct ifreq r;
	int s = socket(AF_INET, SOCK_DGRAM, 0), ok;

	if (s < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	snprintf(r.ifr_name, sizeof(r.ifr_name), "lo");
	ok = ioctl(s, SIOCGIFFLAGS, &r) == 0;
	r.ifr_flags |= IFF_UP;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &r) == 0;
	close(s);
	return ok ? 0 : -1;
}

/* A process in its own namespace: connect to @addr and say what it got
 * (exit 0: shm and LOCAL, and a message sent). */
static void grandchild_connect(const char *addr)
{
	struct ivc_channel *c = NULL;
	struct ivc_info in;

	if (ivc_connect(addr, NULL, 5000, &c) || ivc_channel_info(c, &in) ||
	    strcmp(in.transport, "shm") || in.route != IVC_ROUTE_LOCAL ||
	    ivc_send(c, "x", 1, 2000)) {
		fprintf(stderr, "other ns: its own listener is not shm\n");
		_exit(1);
	}
	ivc_close(c);
	_exit(0);
}

/* Exit codes of the namespace children: 0 as expected, 77 could not
 * unshare, else a failure (its message on stderr).  No threads here (a
 * sanitizer's runtime does not let a forked child start any). */
static int child_other_ns(int port)
{
	struct ivc_listener *l = NULL;
	struct ivc_channel *s = NULL, *c = NULL;
	char addr[64], buf[4];
	int r, st;

	if (unshare(CLONE_NEWNET) < 0)
		_exit(77);
	/* A namespace with no address at all (loopback still down), where
	 * bind() takes any address: 10.9.0.1 is not ours, so tcp, which has
	 * no route (ECONNREFUSED at once, not a wait for a rendezvous). */
	snprintf(addr, sizeof(addr), "net:10.9.0.1:%d", port);
	r = ivc_connect(addr, NULL, 3000, &c);
	if (r != -ECONNREFUSED) {
		fprintf(stderr, "bare ns: connect to 10.9.0.1 gave %d\n", r);
		_exit(1);
	}
	if (lo_up() < 0)
		_exit(77);
	snprintf(addr, sizeof(addr), "net:127.0.0.1:%d", port);
	r = ivc_connect(addr, NULL, 0, &c);
	if (r != -ECONNREFUSED) {
		fprintf(stderr, "other ns: connect to the parent's port gave %d\n", r);
		_exit(1);
	}
	if (ivc_listen(addr, NULL, &l)) {
		fprintf(stderr, "other ns: its own listener failed\n");
		_exit(1);
	}
	pid_t g = fork();
	if (g == 0)
		grandchild_connect(addr);
	r = ivc_accept(l, 5000, &s);
	if (r || ivc_recv(s, buf, sizeof(buf), 5000) != 1) {
		fprintf(stderr, "other ns: accept %d\n", r);
		_exit(1);
	}
	if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st))
		_exit(1);
	_exit(0);
}

static void other_namespace(void)
{
	struct ivc_listener *l = NULL;
	char addr[64];
	int port = t_tcp_port(), st;

	printf("-- another network namespace\n");
	snprintf(addr, sizeof(addr), "net:127.0.0.1:%d", port);
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	pid_t pid = t_fork();
	if (pid == 0)
		child_other_ns(port);
	st = t_wait_child(pid, 20000);
	ivc_listener_close(l);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("# skipped: cannot unshare the network namespace (not root?)\n");
		return;
	}
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The veth child: waits on @go until the parent moved its end in, sets it
 * up, connects to the parent's veth address. */
static void child_veth(int go_fd, int done_fd, int port, int want_ok)
{
	char addr[64], c;
	struct ivc_channel *ch = NULL;
	int r;

	if (unshare(CLONE_NEWNET) < 0 || lo_up() < 0)
		_exit(77);
	if (write(done_fd, "u", 1) != 1 || read(go_fd, &c, 1) != 1)
		_exit(2);
	if (system("ip addr add " NET_CHILD "/24 dev " VETH_CHILD " && ip link set " VETH_CHILD " up"))
		_exit(78);
	snprintf(addr, sizeof(addr), "net:" NET_PARENT ":%d", port);
	r = ivc_connect(addr, NULL, 5000, &ch);
	if (!want_ok) {
		if (r == 0) {
			fprintf(stderr, "veth: a listener without the network let us in\n");
			_exit(1);
		}
		_exit(0);
	}
	struct ivc_info in;
	char buf[16];
	if (r || ivc_channel_info(ch, &in) || strcmp(in.transport, "tcp") ||
	    in.route != IVC_ROUTE_REMOTE) {
		fprintf(stderr, "veth: connect %d, transport %s\n", r, r ? "-" : in.transport);
		_exit(1);
	}
	if (ivc_send(ch, "from afar", 10, 2000) || ivc_recv(ch, buf, sizeof(buf), 2000) != 5) {
		fprintf(stderr, "veth: no talk\n");
		_exit(1);
	}
	ivc_close(ch);
	_exit(0);
}

static int veth_round(int want_ok)
{
	int go[2], done[2], port = t_tcp_port(), st;
	const char *nets[1] = { NET_PARENT "/24" };
	struct ivc_tcp_options to = { .allow = nets, .n_allow = 1 };
	struct ivc_options o = { .tcp = &to };
	struct ivc_listener *l = NULL;
	char addr[64], cmd[256], c;

	REQUIRE_EQ(pipe(go), 0);
	REQUIRE_EQ(pipe(done), 0);
	pid_t pid = t_fork();
	if (pid == 0)
		child_veth(go[0], done[1], port, want_ok);
	if (read(done[0], &c, 1) != 1) { /* the child could not unshare */
		int s2 = t_wait_child(pid, 5000);
		return s2 != -1 && WIFEXITED(s2) ? WEXITSTATUS(s2) : 1;
	}
	snprintf(cmd, sizeof(cmd),
		 "ip link add " VETH_PARENT " type veth peer name " VETH_CHILD " netns %d && "
		 "ip addr add " NET_PARENT "/24 dev " VETH_PARENT " && ip link set " VETH_PARENT " up",
		 (int)pid);
	if (system(cmd)) {
		t_kill_child(pid);
		return 78;
	}
	snprintf(addr, sizeof(addr), "net:" NET_PARENT ":%d", port);
	REQUIRE_OK(ivc_listen(addr, want_ok ? &o : NULL, &l));
	REQUIRE_EQ(write(go[1], "g", 1), 1);
	if (want_ok) {
		struct ivc_channel *s = NULL;
		char buf[16];

		REQUIRE_OK(ivc_accept(l, 10000, &s));
		route_of(s, "tcp", IVC_ROUTE_REMOTE);
		CHECK_EQ(ivc_recv(s, buf, sizeof(buf), 5000), 10);
		CHECK_OK(ivc_send(s, "back", 5, 2000));
		CHECK_ERR(ivc_recv(s, buf, sizeof(buf), 5000), -EPIPE);
		ivc_close(s);
	} else {
		struct ivc_channel *s = NULL;

		/* The child's connection is closed unheard: nothing to take. */
		CHECK_ERR(ivc_accept(l, 3000, &s), -ETIMEDOUT);
	}
	st = t_wait_child(pid, 20000);
	ivc_listener_close(l);
	(void)!system("ip link del " VETH_PARENT " 2>/dev/null");
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static void veth_fallback(void)
{
	int r;

	printf("-- another namespace over a veth pair: tcp\n");
	r = veth_round(1);
	if (r == 77 || r == 78) {
		printf("# skipped: %s\n", r == 77 ? "cannot unshare the network namespace"
						  : "ip(8) could not make the veth pair");
		return;
	}
	CHECK_EQ(r, 0);
	printf("-- the same without the network on the allow list: refused\n");
	CHECK_EQ(veth_round(0), 0);
}

/* A child serving @addr: it listens (tcp: or net:), says so on @ready[1],
 * accepts one channel, then waits for the parent to close @done[1]. */
static pid_t serve_one(const char *addr, const int ready[2], const int done[2])
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	close(ready[0]);
	close(done[1]);
	struct ivc_listener *l;
	struct ivc_channel *s;
	char c = 0;
	int ok = ivc_listen(addr, NULL, &l) == 0;

	if (write(ready[1], &c, 1) != 1 || !ok)
		_exit(2);
	if (ivc_accept(l, 5000, &s) != 0)
		_exit(3);
	while (read(done[0], &c, 1) > 0) {
	}
	ivc_close(s);
	ivc_listener_close(l);
	_exit(0);
}

/* Connect to @addr served by a child listening at @listen_addr; check the
 * route the connector got. */
static void connect_to_child(const char *listen_addr, const char *addr,
			     const char *transport, uint32_t route)
{
	int ready[2], done[2];
	struct ivc_channel *c = NULL;
	char b;

	REQUIRE_EQ(pipe(ready), 0);
	REQUIRE_EQ(pipe(done), 0);
	pid_t pid = serve_one(listen_addr, ready, done);
	REQUIRE(pid > 0);
	close(ready[1]);
	close(done[0]);
	REQUIRE_EQ(read(ready[0], &b, 1), 1);
	CHECK_OK(ivc_connect(addr, NULL, 5000, &c));
	if (c) {
		route_of(c, transport, route);
		ivc_close(c);
	}
	close(done[1]);
	close(ready[0]);
	CHECK_CHILD_OK(t_wait_child(pid, 5000));
}

/* A child that listens at @addr and is killed while it does: a crash,
 * which leaves whatever such a listener leaves on the host. */
static void listener_killed(const char *addr)
{
	int ready[2], st;
	char b;

	REQUIRE_EQ(pipe(ready), 0);
	pid_t pid = fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct ivc_listener *l;

		close(ready[0]);
		if (ivc_listen(addr, NULL, &l) != 0 || write(ready[1], "", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(ready[1]);
	CHECK_EQ(read(ready[0], &b, 1), 1);
	close(ready[0]);
	kill(pid, SIGKILL);
	REQUIRE_EQ(waitpid(pid, &st, 0), pid);
}

/* The marker a net: listener at 127.0.0.1:@port leaves while it is open
 * (src/endpoint/net_local_watch.c: NET_LOCAL_DIR, and the key's
 * spelling, family-address-port). */
static int marker_there(int port)
{
	char path[96];

	snprintf(path, sizeof(path), "/dev/shm/ivc-net/4-7f000001-%d", port);
	return access(path, F_OK) == 0;
}

/* After a connect found only tcp at an address (a negative entry), a net:
 * listener there; with @killed_before, one was killed there first. */
static void listener_appears_at(int port, int killed_before)
{
	char tcp[64], net[64];

	snprintf(tcp, sizeof(tcp), "tcp:127.0.0.1:%d", port);
	snprintf(net, sizeof(net), "net:127.0.0.1:%d", port);
	if (killed_before)
		listener_killed(net);
	/* Only tcp there: remembered as such for a second. */
	connect_to_child(tcp, net, "tcp", IVC_ROUTE_REMOTE);
	/* A net: listener now, well within that second: shm at once. */
	connect_to_child(net, net, "shm", IVC_ROUTE_LOCAL);
}

static void listener_appears(void)
{
	printf("-- another process's listener appears\n");
	listener_appears_at(t_tcp_port(), 0);
	printf("-- ... where a killed listener left its marker\n");
	listener_appears_at(t_tcp_port(), 1);
}

/* A killed listener's marker does not outlive the next listener. */
static void dead_markers_go(void)
{
	struct ivc_listener *l = NULL;
	char net[64];
	int port = t_tcp_port();

	printf("-- a killed listener's marker goes with the next listen\n");
	snprintf(net, sizeof(net), "net:127.0.0.1:%d", port);
	listener_killed(net);
	if (!marker_there(port)) {
		printf("# skipped: no marker (/dev/shm/ivc-net not usable here)\n");
		return;
	}
	snprintf(net, sizeof(net), "net:127.0.0.1:%d", t_tcp_port());
	REQUIRE_OK(ivc_listen(net, NULL, &l));
	CHECK(!marker_there(port));
	ivc_listener_close(l);
}

int main(void)
{
	t_init("test_net", 90);
	signal(SIGPIPE, SIG_IGN);
	same_namespace();
	other_namespace();
	veth_fallback();
	listener_appears();
	dead_markers_go();
	return t_finish();
}
