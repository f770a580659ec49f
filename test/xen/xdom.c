/* SPDX-License-Identifier: MIT */
/*
 * xdom - one side of the Xen harness's cross-domain scenarios.
 *
 * The harness (test/xen/xdom.sh) runs one xdom in one Xen domain and its
 * peer in another; each knows only the address, given on the command line,
 * so the same scenarios also run between two processes of one host over
 * "shm:" addresses.  Not a ctest test: nothing here forks its own peer.
 *
 *   xdom SUBCOMMAND [OPTIONS]
 *
 * Options (each subcommand takes only those listed for it):
 *   --listen ADDR | --connect ADDR   this side's role (exactly one)
 *   --allow D[,D...]    listener over xen only: the domids allowed to
 *                       connect (struct ivc_xen_options; default: the local
 *                       domain only)
 *   --timeout-ms T      bound of each ivc_connect/ivc_accept (default 60000)
 *   --route R           every channel opened must have taken route R
 *                       (ivc_info.route: named, local, remote, forced or
 *                       xen; for net: addresses, whose transport the
 *                       library chooses)
 *   --mode poll|block|adaptive   how this endpoint waits
 *   -n N, -c K          counts (see each subcommand)
 *   --ready TARGET, --report TARGET   where to write a marker or a report:
 *                       "xs:PATH" is a xenstore node (a relative PATH is
 *                       under the caller's own /local/domain/<id>/), any
 *                       other TARGET a file, written atomically (a
 *                       temporary file renamed over it)
 *
 * Subcommands:
 *
 * deliver (--listen A [--allow ..]|--connect A) (--send|--recv) --mode M --api zc|copy
 *         [--inline] [-n N] [--ready TARGET]
 *     test_delivery's traffic and checks (test/delivery_traffic.c) with
 *     its two ends in two processes: lanes of 256 slots x 1 KiB buffers
 *     x 512, IVC_OPT_INLINE with --inline; message i of seed
 *     IVC_TEST_SEED (default 0x1dc0ffee) is t_msg_len(seed, i, 32 KiB)
 *     bytes of t_msg_fill(); zero-copy
 *     (bursts of ivc_tx_alloc/ivc_tx_send; ivc_rx_burst, released in order
 *     and every 8th burst one by one in reverse) or copying (ivc_send/
 *     ivc_recv, with a too-small buffer's -EMSGSIZE every 1009 messages).
 *     The receiver checks every byte, then -EPIPE (the sender closes in
 *     order after its last message); both sides check their counters.  N:
 *     -n, else IVC_TEST_MESSAGES, else 5000.  Both sides must be given the
 *     same --mode, --api, --inline and N (the receiver checks that small
 *     pieces came inline).  A listener accepts one channel and closes its
 *     listener.  Prints messages/s.
 *
 * hold (--listen A [--allow ..]|--connect A) [-c K] [--ready TARGET]
 *     Opens K channels (default 4; accepts K, or connects K times), mode
 *     block, small lanes; prints "xdom hold: K channels up", writes
 *     "ready <CLOCK_REALTIME ns>" to the ready TARGET, then does nothing
 *     until it is killed (or its domain destroyed).
 *
 * survive (--listen A [--allow ..]|--connect A) [--ready TARGET]
 *         [--report TARGET] [--expect ERRNAME] [--accept-again]
 *     Opens 4 channels to a `hold -c 4` peer, mode block, small lanes, and
 *     blocks one thread in each of: (a) ivc_recv on the empty channel;
 *     (b) ivc_send once timeout-0 sends filled the ring (-EAGAIN); (c)
 *     ivc_tx_alloc once the whole pool is allocated; (d) ivc_wait for
 *     IVC_EV_RX; every wait with a 300 s timeout.  Once all four threads
 *     sleep (their /proc state is 'S'), writes "ready <ns>" to the ready
 *     TARGET: the harness then kills the peer or destroys its domain.
 *     Every wait must return -ERRNAME (default ECONNRESET); for (d), whose
 *     ivc_wait reports IVC_EV_RX ready when the peer has gone, that is
 *     what the receive it then makes (timeout 0) returns.  Prints one line
 *     per wait, writes "recv|send|alloc|wait <ret> <realtime ns>" and
 *     "ready <ns>" to the report TARGET, closes the channels, and checks
 *     that the descriptors and mappings are those from before the first
 *     channel (a listener's own ones included in both).  --accept-again
 *     (listener only): then accepts one more channel (300 s), receives
 *     "hello", sends it back, waits for the peer's orderly close (-EPIPE),
 *     closes, and checks the counts again: run `ping --connect A` for it.
 *
 * ping (--listen A [--allow ..] [-c K]|--connect A [-n N]) [--mode M]
 *     Connector: connects, sends "hello" N times (default 1), reads each
 *     echo back, closes.  Listener: accepts K channels in turn (default
 *     1), echoes every message until -EPIPE, closes each.
 *
 * refused --connect A --expect ERRNAME [--timeout-ms T]
 *     ivc_connect must fail with exactly -ERRNAME (EACCES, ECONNREFUSED,
 *     ETIMEDOUT, ...).
 *
 * serve --listen A [--allow ..] [--big] [-c MAX] [--mode M] [--report TARGET]
 *     Accepts channels until killed (or MAX accepted, then waits for them
 *     to end); echoes every message of each in its own thread until the
 *     channel ends, then closes it.  One line per accepted and per ended
 *     channel.  An accept error is printed and the loop goes on, but for
 *     -EINVAL/-EBADF (the listener itself is broken).  --big: lanes of
 *     64 slots x 64 KiB x 46 buffers (about 740 pages, test_xen's
 *     big_lanes()).  Channels must end with -EPIPE or -ECONNRESET.
 *     --report TARGET: "accepted A ended E active N" after every accept
 *     and every close (a channel's ports go with its close, after its
 *     "ended" line).
 *
 * cycles --connect A -n N [--kill-every K] [--big] [--mode M]
 *     N cycles against a `serve`: connect, ping once, close; every K-th
 *     cycle (default 10; 0: never) a forked child connects and pings
 *     instead, says so through a pipe, and is killed with SIGKILL.  The
 *     descriptor count must come back to where it started.
 *
 * capacity --connect A [--report TARGET] [--mode M]
 *     Opens big-lane channels (as serve --big) one after another, pinging
 *     each once, until ivc_connect fails or 64 are open; prints how many,
 *     writes "lanes C" to the report TARGET, closes them.  Passes if C >= 1.
 *
 * evtchn --peer D [--report TARGET]
 *     With libxenevtchn alone: binds unbound ports for domain D until that
 *     fails (at most 4096), prints how many, unbinds them.  Writes "ports C"
 *     to the report TARGET.  Passes if C >= 1.
 *
 * attack [--read PATH]... [--map DOMID:GREF]... [--bind DOMID:PORT]...
 *     What an attacker in a guest would try with raw libxen* calls:
 *     xs_read(PATH), xengnttab_map_grant_ref(DOMID, GREF, PROT_READ),
 *     xenevtchn_bind_interdomain(DOMID, PORT).  Every attempt must fail;
 *     one that succeeds is "SUCCEEDED (access control broken)", exit 1.
 *
 * relay (--listen A [--allow ..]|--connect A) --tcp HOST:PORT [--ready TARGET]
 *     Carries one TCP connection across an ivc channel, both ways, for a
 *     program whose own out-of-band TCP connection has no route between
 *     the harness's guests (fi_pingpong's control connection; the guests
 *     have no network).  Connector: listens on TCP HOST:PORT, writes
 *     "ready <ns>" to the ready TARGET, accepts one TCP connection, then
 *     connects to A.  Listener: accepts one channel, then connects to TCP
 *     HOST:PORT (again every 10 ms while refused, up to --timeout-ms: the
 *     program there may not listen yet).  Bytes go as messages of up to
 *     1 KiB.  Ends when either side ends: a TCP end-of-file closes the
 *     channel, the channel's -EPIPE closes the TCP connection (what was
 *     sent before either is delivered first).  Prints the bytes carried.
 *
 * now
 *     Prints CLOCK_REALTIME in ns: the clock of the reports (a PV guest's
 *     wall clock is the hypervisor's, so dom0 compares them with its own).
 *
 * Every subcommand prints one summary line "xdom <subcommand>: ..." (ok or
 * FAILED), then t_finish()'s count of checks.  Exit status: 0 all checks
 * passed; 1 a check failed (attack: an attempt succeeded); 2 usage error,
 * watchdog (t_init()) or, for attack, an attempt that could not be made;
 * 77 evtchn/attack not on Xen (no xenstore).  IVC_TEST_TIME_SCALE
 * stretches the watchdogs and the data-path timeouts, as in the suite.
 */
#include "check.h"
#include "delivery_traffic.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include <ivc/ivc.h>

/* ---- configuration ------------------------------------------------------- */

#define MAX_LIST 64u
#define DEFAULT_TIMEOUT_MS 60000
#define LONG_WAIT_MS 300000 /* survive's waits, and its accept-again */

struct dom_val {
	uint32_t dom;
	uint32_t val;
};

static struct cfg {
	const char *cmd;
	const char *addr;
	int listen;            /* 1: --listen, 0: --connect */
	int xen;               /* the address is "xen:..." or "net:..." */
	int route;             /* --route: an enum ivc_route; -1 not given */
	uint32_t allow[IVC_XEN_MAX_PEERS];
	size_t n_allow;
	int timeout_ms;
	enum ivc_mode mode;
	int mode_set;
	uint64_t n, c, kill_every;
	int n_set, c_set, kill_set;
	int send, recv, zc, api_set, inl, big, accept_again;
	const char *ready, *report;
	struct sockaddr_in tcp; /* relay's --tcp */
	int tcp_set;
	int expect;            /* a positive errno; 0: not given */
	uint32_t peer;
	int peer_set;
	const char *reads[MAX_LIST];
	struct dom_val maps[MAX_LIST], binds[MAX_LIST];
	size_t n_reads, n_maps, n_binds;
} g = { .timeout_ms = DEFAULT_TIMEOUT_MS, .mode = IVC_MODE_BLOCK, .route = -1 };

/* IVC_TEST_TIME_SCALE (the harness emulates its CPU) stretches waits. */
static unsigned g_scale = 1;

static int call_ms(void)
{
	return (int)(20000u * g_scale);
}

_Noreturn __attribute__((format(printf, 1, 2)))
static void usage(const char *fmt, ...);

/* ---- small helpers -------------------------------------------------------- */

/* The errno's name ("ECONNRESET"), either sign; glibc knows them all. */
static const char *errname(long long e)
{
	const char *s;

	if (e < 0)
		e = -e;
	if (e == 0)
		return "0";
	s = e < 4096 ? strerrorname_np((int)e) : NULL;
	return s ? s : t_errname(e);
}

/* The positive errno named @name, or 0. */
static int errno_of(const char *name)
{
	for (int e = 1; e < 4096; e++) {
		const char *s = strerrorname_np(e);

		if (s && !strcmp(s, name))
			return e;
	}
	return 0;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The watchdog, in seconds, for work bounded by @ms of connect/accept
 * timeouts plus @extra_s. */
static unsigned watchdog_s(uint64_t ms, unsigned extra_s)
{
	uint64_t s = ms / 1000 + extra_s;

	return s > 86400 ? 86400 : (unsigned)s;
}

/* "ok" or "FAILED" for the summary line: what the checks said so far. */
static const char *verdict(void)
{
	return t_failures() ? "FAILED" : "ok";
}

/* ---- markers and reports --------------------------------------------------- */

/* Write @text to a xenstore node (a relative path is under our domain's
 * home: xenstored resolves it, so a guest names its own data/ dir). */
static int put_xs(const char *path, const char *text)
{
	struct xs_handle *h = xs_open(0);
	size_t len = strlen(text);
	int r = 0;

	if (!h)
		return -errno;
	/* A node holds a value, not a file: no final newline. */
	if (len && text[len - 1] == '\n')
		len--;
	if (!xs_write(h, XBT_NULL, path, text, (unsigned)len))
		r = -errno;
	xs_close(h);
	return r;
}

/* Write @text to @path atomically: a reader sees all of it or nothing. */
static int put_file(const char *path, const char *text)
{
	char tmp[4096];
	size_t len = strlen(text);
	ssize_t w;
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	w = write(fd, text, len);
	if (w != (ssize_t)len)
		r = w < 0 ? -errno : -EIO;
	if (close(fd) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* Write @text to TARGET ("xs:PATH" or a file path); CHECKed. */
static void put_target(const char *what, const char *target, const char *text)
{
	int r;

	if (!target)
		return;
	r = !strncmp(target, "xs:", 3) ? put_xs(target + 3, text)
					: put_file(target, text);
	if (r)
		t_fail(__FILE__, __LINE__, "writing the %s to %s: %d (%s)", what,
		       target, r, errname(r));
	else
		t_pass();
}

/* "ready <CLOCK_REALTIME ns>" to the --ready TARGET. */
static void put_ready(uint64_t ns)
{
	char text[64];

	snprintf(text, sizeof(text), "ready %llu\n", (unsigned long long)ns);
	put_target("ready marker", g.ready, text);
}

/* ---- options, listeners, channels ---------------------------------------------- */

static struct ivc_xen_options g_xo;

/* Lanes a guest can afford several of (9 pages each): a domU's gntalloc
 * shares 1024 pages by default, and a default lane alone takes 513. */
#define SMALL_SLOTS 16u
#define SMALL_BUF_SIZE 1024u
#define SMALL_BUF_COUNT 32u

static void lane_opts(struct ivc_options *o, enum ivc_mode mode, int big)
{
	ivc_options_init(o);
	o->mode = mode;
	if (big) { /* about 740 pages each way: test_xen's big_lanes() */
		o->tx.slots = 64;
		o->tx.buf_size = 65536;
		o->tx.buf_count = 46;
	} else {
		o->tx.slots = SMALL_SLOTS;
		o->tx.buf_size = SMALL_BUF_SIZE;
		o->tx.buf_count = SMALL_BUF_COUNT;
	}
}

/* The --allow list goes to a xen listener only (a shm endpoint given xen
 * options fails with -EINVAL, and a connector ignores it). */
static void allow_opts(struct ivc_options *o)
{
	if (!g.n_allow)
		return;
	g_xo.allowed_domids = g.allow;
	g_xo.n_allowed_domids = g.n_allow;
	o->xen = &g_xo;
}

/* A listener's options are given once, to ivc_listen(); NULL for a
 * connector. */
static struct ivc_listener *start_listener(struct ivc_options *o)
{
	struct ivc_listener *l = NULL;

	if (!g.listen)
		return NULL;
	allow_opts(o);
	REQUIRE_OK(ivc_listen(g.addr, o, &l));
	return l;
}

/* One channel: accepted on @l, or connected to g.addr with @o. */
static int open_channel(struct ivc_listener *l, const struct ivc_options *o,
			int timeout_ms, struct ivc_channel **ch)
{
	struct ivc_info info;
	int r;

	*ch = NULL;
	r = l ? ivc_accept(l, timeout_ms, ch) : ivc_connect(g.addr, o, timeout_ms, ch);
	if (r || g.route < 0)
		return r;
	/* The transport the library chose for a net: address. */
	REQUIRE_OK(ivc_channel_info(*ch, &info));
	printf("xdom %s: %s: transport %s, route %u, peer domain %u\n", g.cmd, g.addr,
	       info.transport, info.route, info.peer_domid);
	CHECK_EQ(info.route, g.route);
	return r;
}

static uint32_t peer_domid(const struct ivc_channel *ch)
{
	struct ivc_info info;

	return ivc_channel_info(ch, &info) ? IVC_DOMID_NONE : info.peer_domid;
}

/* One "hello" and its echo. */
static int ping_once(struct ivc_channel *ch)
{
	char in[64];
	int r = ivc_send(ch, "hello", 5, call_ms());
	ssize_t n;

	if (r)
		return r;
	n = ivc_recv(ch, in, sizeof(in), call_ms());
	if (n < 0)
		return (int)n;
	return n == 5 && !memcmp(in, "hello", 5) ? 0 : -EBADMSG;
}

/* Over xen the first side to close keeps its lane shared until the peer
 * lets go, and every xen open or close frees what it can (docs/xen.md):
 * a throwaway listener opened and closed is one, as t_settle() does. */
static void settle(void)
{
	struct ivc_listener *l = NULL;
	char addr[64];

	if (!g.xen)
		return;
	snprintf(addr, sizeof(addr), "xen:xdom-settle-%d", (int)getpid());
	if (ivc_listen(addr, NULL, &l) == 0)
		ivc_listener_close(l);
}

/* What a closed channel must give back. */
struct counts {
	int fds;   /* t_count_fds() */
	int maps;  /* t_count_maps(): every line of /proc/self/maps */
	int lanes; /* of them, ivc lanes: memfd:ivc-lane (shm), /dev/xen/ (xen) */
};

/*
 * Under sanitizers the runtime maps regions of its own as threads come and
 * go (seen: +24 lines over survive's 4 threads with ASan), as test_faults
 * says of its cycles; the lanes are counted exactly in every build.
 */
#ifdef IVC_TEST_SANITIZE
#define MAPS_SLACK 64
#else
#define MAPS_SLACK 0
#endif

static struct counts counts_now(void)
{
	struct counts c = { t_count_fds(), t_count_maps(), 0 };
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	while (f && fgets(line, sizeof(line), f))
		c.lanes += strstr(line, "memfd:ivc-lane") || strstr(line, "/dev/xen/");
	if (f)
		fclose(f);
	return c;
}

static int counts_equal(const struct counts *a, const struct counts *want,
			int with_maps)
{
	return a->fds == want->fds &&
	       (!with_maps || (a->lanes == want->lanes && a->maps >= want->maps &&
			       a->maps <= want->maps + MAPS_SLACK));
}

/*
 * Wait until the counts are @want again (descriptors only, or mappings
 * too); *now says what they were last.  Over shm they must be right at
 * once; over xen a share kept for a peer that has not let go yet (it
 * closes just after us) may take a moment: bounded.
 */
static int counts_back(const struct counts *want, int with_maps,
		       struct counts *now)
{
	uint64_t deadline = t_now_ns() + 10000000000ull * g_scale;

	for (;;) {
		settle();
		*now = counts_now();
		if (counts_equal(now, want, with_maps))
			return 1;
		if (!g.xen || t_now_ns() > deadline)
			return 0;
		sleep_ms(20);
	}
}

/* CHECK that the counts came back to @want; *now says what they were. */
static void check_counts(const char *when, const struct counts *want,
			 struct counts *now)
{
	if (counts_back(want, 1, now))
		t_pass();
	else
		t_fail(__FILE__, __LINE__,
		       "%s: %d descriptors, %d mappings (%d of lanes); want %d, %d "
		       "(%d), as before the first channel", when, now->fds,
		       now->maps, now->lanes, want->fds, want->maps, want->lanes);
}

/* ---- deliver: test_delivery's traffic across two processes -------------------- */

/* The stream of delivery_traffic.h, as the command line and environment
 * set it.  Waits scale like the watchdogs: the harness's CPU is emulated. */
static void deliver_cfg(struct delivery_cfg *c)
{
	delivery_cfg_init(c);
	c->n = g.n;
	c->seed = t_env_u64("IVC_TEST_SEED", DELIVERY_SEED);
	c->zc = g.zc;
	c->inl = g.inl;
	c->mode = g.mode;
	c->call_ms = call_ms();
	c->max_gap_ns *= g_scale;
	c->tag = "xdom deliver: ";
}

/* Both sides' geometry: the peer must have been given the same options. */
static void deliver_info(const struct delivery_cfg *c, struct ivc_channel *ch)
{
	struct ivc_info info;

	REQUIRE_OK(ivc_channel_info(ch, &info));
	CHECK_EQ(info.tx.buf_size, c->buf_size);
	CHECK_EQ(info.max_tx_msg, (size_t)c->buf_size * c->slots);
	CHECK_EQ(info.rx.buf_size, c->buf_size);
	CHECK_EQ(info.max_rx_msg, (size_t)c->buf_size * c->slots);
	printf("xdom deliver: channel over %s, peer domain %ld pid %ld\n",
	       info.transport,
	       info.peer_domid == IVC_DOMID_NONE ? -1L : (long)info.peer_domid,
	       (long)info.peer_pid);
}

static int cmd_deliver(void)
{
	struct delivery_cfg dc;
	struct ivc_options o;
	struct ivc_listener *l;
	struct ivc_channel *ch = NULL;
	uint64_t bytes = 0, done, t0;
	double secs;

	if (g.send == g.recv)
		usage("deliver: give exactly one of --send and --recv");
	if (!g.api_set || !g.mode_set)
		usage("deliver: --mode and --api are required");
	t_init("xdom deliver", watchdog_s((uint64_t)g.timeout_ms, 600));
	if (!g.n_set)
		g.n = t_env_u64("IVC_TEST_MESSAGES", 5000);
	deliver_cfg(&dc);
	printf("xdom deliver: %s %s, %s, %s%s%s, %llu messages, seed %#llx\n",
	       g.listen ? "listen" : "connect", g.addr, g.send ? "send" : "recv",
	       t_mode_name(g.mode), g.zc ? " zc" : " copy", g.inl ? " inline" : "",
	       (unsigned long long)g.n, (unsigned long long)dc.seed);

	delivery_options(&dc, &o);
	l = start_listener(&o);
	REQUIRE_OK(open_channel(l, &o, g.timeout_ms, &ch));
	ivc_listener_close(l); /* one channel only */
	deliver_info(&dc, ch);
	if (g.ready) /* connected: the harness may now change things around us */
		put_ready(realtime_ns());

	t0 = t_now_ns();
	done = g.send ? delivery_send(&dc, ch, &bytes) : delivery_recv(&dc, ch, &bytes);
	secs = (double)(t_now_ns() - t0) / 1e9;
	if (g.send)
		delivery_send_after(&dc, ch, bytes);
	else
		delivery_recv_after(&dc, ch, done, bytes);
	CHECK_ERR(ivc_close(ch), 0);
	printf("xdom deliver: %s: %s %llu of %llu messages (%llu bytes) in %.2f s: "
	       "%.0f msg/s (%s, %s, %s%s)\n", verdict(),
	       g.send ? "sent" : "received", (unsigned long long)done,
	       (unsigned long long)g.n, (unsigned long long)bytes, secs,
	       secs > 0 ? (double)done / secs : 0.0, g.listen ? "listener" : "connector",
	       t_mode_name(g.mode), g.zc ? "zc" : "copy", g.inl ? ", inline" : "");
	return t_finish();
}

/* ---- hold ----------------------------------------------------------------------- */

static int cmd_hold(void)
{
	struct ivc_options o;
	struct ivc_listener *l;
	unsigned k = g.c_set ? (unsigned)g.c : 4;

	t_init("xdom hold", 0); /* it waits to be killed */
	lane_opts(&o, IVC_MODE_BLOCK, 0);
	l = start_listener(&o);
	for (unsigned i = 0; i < k; i++) {
		struct ivc_channel *ch; /* held until we die */

		REQUIRE_OK(open_channel(l, &o, g.timeout_ms, &ch));
	}
	ivc_listener_close(l);
	printf("xdom hold: %u channels up\n", k);
	fflush(stdout);
	put_ready(realtime_ns());
	if (t_failures())
		return t_finish();
	for (;;)
		pause();
}

/* ---- survive -------------------------------------------------------------------- */

enum wait_kind { W_RECV, W_SEND, W_ALLOC, W_WAIT, W_COUNT };

static const char *const wait_names[W_COUNT] = { "recv", "send", "alloc", "wait" };

struct waiter {
	enum wait_kind kind;
	struct ivc_channel *ch;
	atomic_int tid;      /* published first */
	atomic_int armed;    /* set just before the blocking call */
	atomic_int done;     /* set once it returned */
	long ret;            /* what the wait returned */
	long err;            /* the outcome: ret, or for W_WAIT the receive after */
	uint64_t at_ns;      /* CLOCK_REALTIME when it returned */
	unsigned filled;     /* sends or buffers taken before blocking */
	struct ivc_buf bufs[SMALL_BUF_COUNT];
};

/* The threads' stacks: our own, not glibc's, which would map them and keep
 * them mapped (its stack cache) after the join: the mapping count must
 * come back to where it was before the channels. */
#define W_STACK (256u * 1024u)
static unsigned char w_stacks[W_COUNT][W_STACK] __attribute__((aligned(4096)));

/* (b): timeout-0 sends until the ring is full (-EAGAIN). */
static void fill_ring(struct waiter *w)
{
	int r = 0;

	while (w->filled <= SMALL_SLOTS + SMALL_BUF_COUNT &&
	       (r = ivc_send(w->ch, "x", 1, 0)) == 0)
		w->filled++;
	CHECK_ERR(r, -EAGAIN);
	CHECK_EQ(w->filled, SMALL_SLOTS);
}

/* (c): every buffer of the pool, allocated and never sent. */
static void drain_pool(struct waiter *w)
{
	int r = 0;

	while (w->filled < SMALL_BUF_COUNT &&
	       (r = ivc_tx_alloc(w->ch, w->bufs + w->filled,
				 SMALL_BUF_COUNT - w->filled, 0)) > 0)
		w->filled += (unsigned)r;
	CHECK_EQ(w->filled, SMALL_BUF_COUNT);
	CHECK_ERR(ivc_tx_alloc(w->ch, w->bufs, 1, 0), -EAGAIN);
}

static long block_in(struct waiter *w)
{
	char buf[64];
	struct ivc_buf b;

	switch (w->kind) {
	case W_RECV:
		return ivc_recv(w->ch, buf, sizeof(buf), LONG_WAIT_MS);
	case W_SEND:
		return ivc_send(w->ch, "x", 1, LONG_WAIT_MS);
	case W_ALLOC:
		return ivc_tx_alloc(w->ch, &b, 1, LONG_WAIT_MS);
	default:
		return ivc_wait(w->ch, IVC_EV_RX, LONG_WAIT_MS);
	}
}

static void *waiter_main(void *p)
{
	struct waiter *w = p;
	char buf[64];

	atomic_store(&w->tid, (int)gettid());
	if (w->kind == W_SEND)
		fill_ring(w);
	else if (w->kind == W_ALLOC)
		drain_pool(w);
	atomic_store(&w->armed, 1);
	w->ret = block_in(w);
	w->at_ns = realtime_ns();
	w->err = w->ret;
	/* A gone peer makes IVC_EV_RX ready (<ivc/wait.h>): the receive
	 * that follows tells how it went. */
	if (w->kind == W_WAIT && w->ret > 0)
		w->err = ivc_recv(w->ch, buf, sizeof(buf), 0);
	atomic_store(&w->done, 1);
	return NULL;
}

static void start_waiter(struct waiter *w, pthread_t *th)
{
	pthread_attr_t a;

	REQUIRE(pthread_attr_init(&a) == 0);
	REQUIRE(pthread_attr_setstack(&a, w_stacks[w->kind], W_STACK) == 0);
	REQUIRE(pthread_create(th, &a, waiter_main, w) == 0);
	pthread_attr_destroy(&a);
}

/* Until every waiter sleeps in its call (state 'S' once it said it is
 * about to block); a waiter that returned already is a failure. */
static void wait_all_blocked(struct waiter *w)
{
	uint64_t deadline = t_now_ns() + 30000000000ull * g_scale;

	for (;;) {
		unsigned asleep = 0;

		for (unsigned i = 0; i < W_COUNT; i++) {
			if (atomic_load(&w[i].done))
				t_abort(__FILE__, __LINE__, "%s returned %ld (%s) "
					"before the peer went", wait_names[i],
					w[i].ret, errname(w[i].ret));
			asleep += atomic_load(&w[i].armed) &&
				  t_thread_state(atomic_load(&w[i].tid)) == 'S';
		}
		if (asleep == W_COUNT)
			return;
		if (t_now_ns() > deadline)
			t_abort(__FILE__, __LINE__, "only %u of 4 waits asleep after 30 s",
				asleep);
		sleep_ms(1);
	}
}

/* One line per wait, its check, and the report.  Return: how many ended
 * as expected. */
static unsigned survive_results(const struct waiter *w, uint64_t ready_ns)
{
	char report[512];
	size_t off = 0;
	unsigned good = 0;

	for (unsigned i = 0; i < W_COUNT; i++) {
		double after = (double)(int64_t)(w[i].at_ns - ready_ns) / 1e9;

		if (w[i].kind == W_WAIT && w[i].ret > 0)
			printf("xdom survive: wait returned %ld (IVC_EV_RX ready), then "
			       "recv %ld (%s), after %.3f s\n", w[i].ret, w[i].err,
			       errname(w[i].err), after);
		else
			printf("xdom survive: %s returned %ld (%s) after %.3f s\n",
			       wait_names[i], w[i].err, errname(w[i].err), after);
		good += w[i].err == -g.expect;
		if (w[i].err == -g.expect)
			t_pass();
		else
			t_fail(__FILE__, __LINE__, "%s: %ld (%s), want -%s",
			       wait_names[i], w[i].err, errname(w[i].err),
			       errname(g.expect));
		off += (size_t)snprintf(report + off, sizeof(report) - off,
					"%s %ld %llu\n", wait_names[i], w[i].err,
					(unsigned long long)w[i].at_ns);
	}
	snprintf(report + off, sizeof(report) - off, "ready %llu\n",
		 (unsigned long long)ready_ns);
	put_target("report", g.report, report);
	return good;
}

/* --accept-again: the listener still serves: one more channel (a `ping
 * --connect`), "hello" echoed, the peer's close awaited so that it lets go
 * first (no share of ours kept over xen), then the counts. */
static void accept_again(struct ivc_listener *l, const struct counts *want,
			 struct counts *now)
{
	struct ivc_channel *ch = NULL;
	char buf[64];
	int r;

	printf("xdom survive: accepting one more channel\n");
	REQUIRE_OK(ivc_accept(l, LONG_WAIT_MS, &ch));
	r = (int)ivc_recv(ch, buf, sizeof(buf), call_ms());
	CHECK_ERR(r, 5);
	CHECK(r == 5 && !memcmp(buf, "hello", 5));
	CHECK_ERR(ivc_send(ch, "hello", 5, call_ms()), 0);
	CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), call_ms()), -EPIPE);
	CHECK_ERR(ivc_close(ch), 0);
	check_counts("after the channel accepted again", want, now);
}

/*
 * Over xen a channel whose peer is in another domain keeps a xenstore
 * watch (src/xen/xen_xport.c), and so does a connect that waits for its
 * listener; libxenstore reads a watched handle in a thread of its own,
 * cancelled at xs_close().  glibc keeps a joined thread's stack mapped for
 * the next thread (its stack cache), and the first cancellation loads
 * libgcc_s: mappings that outlive the channels, and no leak of theirs.  So
 * make them before the baseline: as many watch threads at once as the 4
 * channels and a connect's own watch need, which theirs then reuse.  The
 * node watched is our own "domid", which every domain may read.
 */
#define WARM_WATCHES 8

/* A net: connector keeps, for the process's life, one xenstore handle
 * watching its domain's table (src/endpoint/net_xen.c): opened by the
 * first connect to an address not its own.  Make it before the baseline
 * with a connect to TEST-NET-1 (192.0.2.1, no host's), which looks in the
 * table, finds nothing and fails over tcp at once. */
static void warm_net_table(void)
{
	struct ivc_channel *ch = NULL;

	if (strncmp(g.addr, "net:", 4))
		return;
	if (ivc_connect("net:192.0.2.1:9", NULL, 0, &ch) == 0)
		ivc_close(ch);
}

static void warm_xs_threads(void)
{
	struct xs_handle *h[WARM_WATCHES];

	if (!g.xen)
		return;
	for (unsigned i = 0; i < WARM_WATCHES; i++) {
		h[i] = xs_open(0);
		if (h[i] && !xs_watch(h[i], "domid", "xdom-warm"))
			printf("xdom %s: warm-up watch: %s\n", g.cmd, errname(errno));
	}
	for (unsigned i = 0; i < WARM_WATCHES; i++)
		if (h[i])
			xs_close(h[i]);
	warm_net_table();
}

static int cmd_survive(void)
{
	struct ivc_options o;
	struct ivc_listener *l;
	struct waiter w[W_COUNT];
	pthread_t th[W_COUNT];
	uint64_t ready_ns;
	unsigned good;
	struct counts c0, c1;

	if (g.accept_again && !g.listen)
		usage("survive: --accept-again is for a listener");
	if (!g.expect)
		g.expect = ECONNRESET;
	t_init("xdom survive", watchdog_s(4ull * (uint64_t)g.timeout_ms,
					  2 * LONG_WAIT_MS / 1000 + 120));
	/* One malloc arena: a thread's own would stay mapped. */
	mallopt(M_ARENA_MAX, 1);
	lane_opts(&o, IVC_MODE_BLOCK, 0);
	l = start_listener(&o);
	warm_xs_threads();
	/* A listener's own descriptors are in both counts. */
	c0 = counts_now();
	memset(w, 0, sizeof(w));
	for (unsigned i = 0; i < W_COUNT; i++) {
		w[i].kind = (enum wait_kind)i;
		REQUIRE_OK(open_channel(l, &o, g.timeout_ms, &w[i].ch));
	}
	for (unsigned i = 0; i < W_COUNT; i++)
		start_waiter(&w[i], &th[i]);
	wait_all_blocked(w);
	ready_ns = realtime_ns();
	printf("xdom survive: 4 waits blocked (recv, send after %u sends, alloc "
	       "after %u buffers, wait); ready\n", w[W_SEND].filled,
	       w[W_ALLOC].filled);
	fflush(stdout);
	put_ready(ready_ns);
	for (unsigned i = 0; i < W_COUNT; i++)
		pthread_join(th[i], NULL);
	good = survive_results(w, ready_ns);
	for (unsigned i = 0; i < W_COUNT; i++)
		CHECK_ERR(ivc_close(w[i].ch), 0);
	check_counts("after closing the 4 channels", &c0, &c1);
	if (g.accept_again)
		accept_again(l, &c0, &c1);
	ivc_listener_close(l);
	printf("xdom survive: %s: %u of 4 waits ended with %s%s; fds %d/%d, "
	       "maps %d/%d (before/after)\n", verdict(), good, errname(g.expect),
	       g.accept_again ? ", then a new channel echoed" : "", c0.fds, c1.fds,
	       c0.maps, c1.maps);
	return t_finish();
}

/* ---- ping ----------------------------------------------------------------------- */

/* Echo every message until the channel ends; return how it ended. */
static long echo_until_end(struct ivc_channel *ch, uint64_t *msgs)
{
	struct ivc_info info;
	size_t cap;
	char *buf;
	long r;

	REQUIRE_OK(ivc_channel_info(ch, &info));
	cap = info.max_rx_msg ? info.max_rx_msg : 1;
	buf = malloc(cap);
	REQUIRE(buf != NULL);
	for (;;) {
		ssize_t n = ivc_recv(ch, buf, cap, -1);

		if (n < 0) {
			r = n;
			break;
		}
		r = ivc_send(ch, buf, (size_t)n, -1);
		if (r < 0)
			break;
		(*msgs)++;
	}
	free(buf);
	return r;
}

static int ping_listener(struct ivc_options *o)
{
	struct ivc_listener *l = start_listener(o);
	unsigned k = g.c_set ? (unsigned)g.c : 1;
	uint64_t total = 0;

	for (unsigned i = 0; i < k; i++) {
		struct ivc_channel *ch = NULL;
		uint64_t msgs = 0;
		long end;

		REQUIRE_OK(open_channel(l, o, g.timeout_ms, &ch));
		end = echo_until_end(ch, &msgs);
		printf("xdom ping: channel %u from domain %ld: %llu echoed, then %ld (%s)\n",
		       i + 1, peer_domid(ch) == IVC_DOMID_NONE ? -1L : (long)peer_domid(ch),
		       (unsigned long long)msgs, end, errname(end));
		CHECK_ERR(end, -EPIPE);
		CHECK_ERR(ivc_close(ch), 0);
		total += msgs;
	}
	ivc_listener_close(l);
	printf("xdom ping: %s: served %u channel%s, %llu messages echoed\n",
	       verdict(), k, k == 1 ? "" : "s", (unsigned long long)total);
	return t_finish();
}

static int ping_connector(const struct ivc_options *o)
{
	struct ivc_channel *ch = NULL;
	uint64_t n = g.n_set ? g.n : 1, i;
	int r = 0;

	REQUIRE_OK(open_channel(NULL, o, g.timeout_ms, &ch));
	for (i = 0; i < n && !(r = ping_once(ch)); i++)
		;
	CHECK_ERR(r, 0);
	printf("xdom ping: %s: %llu of %llu echoes from %s (domain %ld)%s%s\n",
	       verdict(), (unsigned long long)i, (unsigned long long)n, g.addr,
	       peer_domid(ch) == IVC_DOMID_NONE ? -1L : (long)peer_domid(ch),
	       r ? ", then " : "", r ? errname(r) : "");
	CHECK_ERR(ivc_close(ch), 0);
	return t_finish();
}

static int cmd_ping(void)
{
	struct ivc_options o;

	if (g.listen ? g.n_set : g.c_set)
		usage("ping: -c goes with --listen, -n with --connect");
	t_init("xdom ping", watchdog_s((uint64_t)g.timeout_ms * (g.c_set ? g.c : 1),
				       600));
	lane_opts(&o, g.mode, 0);
	return g.listen ? ping_listener(&o) : ping_connector(&o);
}

/* ---- refused -------------------------------------------------------------------- */

static int cmd_refused(void)
{
	struct ivc_options o;
	struct ivc_channel *ch = NULL;
	uint64_t t0;
	int r;

	if (!g.expect)
		usage("refused: --expect ERRNAME is required");
	t_init("xdom refused", watchdog_s((uint64_t)g.timeout_ms, 120));
	lane_opts(&o, IVC_MODE_BLOCK, 0);
	t0 = t_now_ns();
	r = ivc_connect(g.addr, &o, g.timeout_ms, &ch);
	if (r == 0)
		ivc_close(ch);
	CHECK_ERR(r, -g.expect);
	printf("xdom refused: %s: connect %s: %d (%s) after %.3f s, want -%s\n",
	       verdict(), g.addr, r, r ? errname(r) : "connected",
	       (double)(t_now_ns() - t0) / 1e9, errname(g.expect));
	return t_finish();
}

/* ---- serve ---------------------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned accepted, active, ended, epipe, reset, other;
} g_serve = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0 };

/* The counts to the --report TARGET, under g_serve.lock: a harness that
 * counts the domain's free ports waits for "active 0" first, since a
 * channel's ports go only with its close, after its "ended" line. */
static void report_serving(void)
{
	char text[96];

	snprintf(text, sizeof(text), "accepted %u ended %u active %u\n", g_serve.accepted,
		 g_serve.ended, g_serve.active);
	put_target("report", g.report, text);
}

struct served {
	struct ivc_channel *ch;
	unsigned id;
};

static void *serve_one(void *p)
{
	struct served *s = p;
	uint64_t msgs = 0, t0 = t_now_ns();
	long end = echo_until_end(s->ch, &msgs);

	printf("xdom serve: #%u ended: %ld (%s) after %llu messages, %.3f s\n", s->id,
	       end, errname(end), (unsigned long long)msgs,
	       (double)(t_now_ns() - t0) / 1e9);
	if (end == -EPIPE || end == -ECONNRESET)
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "#%u ended with %ld (%s)", s->id, end,
		       errname(end));
	ivc_close(s->ch);
	pthread_mutex_lock(&g_serve.lock);
	g_serve.ended++;
	g_serve.epipe += end == -EPIPE;
	g_serve.reset += end == -ECONNRESET;
	g_serve.other += end != -EPIPE && end != -ECONNRESET;
	if (--g_serve.active == 0)
		pthread_cond_signal(&g_serve.idle);
	report_serving();
	pthread_mutex_unlock(&g_serve.lock);
	free(s);
	return NULL;
}

static void serve_spawn(struct ivc_channel *ch, unsigned id)
{
	struct served *s = malloc(sizeof(*s));
	pthread_attr_t a;
	pthread_t th;

	REQUIRE(s != NULL);
	s->ch = ch;
	s->id = id;
	pthread_mutex_lock(&g_serve.lock);
	g_serve.active++;
	g_serve.accepted++;
	report_serving();
	pthread_mutex_unlock(&g_serve.lock);
	REQUIRE(pthread_attr_init(&a) == 0);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	REQUIRE(pthread_create(&th, &a, serve_one, s) == 0);
	pthread_attr_destroy(&a);
}

/* An accept error: the listener itself is broken (stop), or a client's
 * handshake failed or the system is short of something (go on). */
static int accept_fatal(int r)
{
	printf("xdom serve: accept: %d (%s)%s\n", r, errname(r),
	       r == -EINVAL || r == -EBADF ? ": the listener is broken" : ", going on");
	if (r == -EINVAL || r == -EBADF)
		return 1;
	if (r == -EMFILE || r == -ENFILE || r == -ENOMEM)
		sleep_ms(100); /* no hot loop while short of descriptors */
	return 0;
}

static int cmd_serve(void)
{
	struct ivc_options o;
	struct ivc_listener *l;
	unsigned accepted = 0, errors = 0;
	int r;

	t_init("xdom serve", 0); /* until killed, or its clients end */
	lane_opts(&o, g.mode, g.big);
	l = start_listener(&o);
	printf("xdom serve: listening at %s%s\n", g.addr, g.big ? " (big lanes)" : "");
	while (!g.c_set || accepted < g.c) {
		struct ivc_channel *ch = NULL;

		r = ivc_accept(l, -1, &ch);
		if (r < 0) {
			errors++;
			if (accept_fatal(r)) {
				t_fail(__FILE__, __LINE__, "ivc_accept: %d (%s)", r,
				       errname(r));
				break;
			}
			continue;
		}
		accepted++;
		printf("xdom serve: #%u accepted from domain %ld\n", accepted,
		       peer_domid(ch) == IVC_DOMID_NONE ? -1L : (long)peer_domid(ch));
		serve_spawn(ch, accepted);
	}
	ivc_listener_close(l);
	pthread_mutex_lock(&g_serve.lock);
	while (g_serve.active)
		pthread_cond_wait(&g_serve.idle, &g_serve.lock);
	printf("xdom serve: %s: %u accepted, %u ended (%u EPIPE, %u ECONNRESET, "
	       "%u other), %u accept errors\n", verdict(), accepted, g_serve.ended,
	       g_serve.epipe, g_serve.reset, g_serve.other, errors);
	pthread_mutex_unlock(&g_serve.lock);
	return t_finish();
}

/* ---- cycles --------------------------------------------------------------------- */

static void cycle_closed(const struct ivc_options *o, uint64_t i)
{
	struct ivc_channel *ch = NULL;
	int r = open_channel(NULL, o, g.timeout_ms, &ch);

	if (r) {
		t_abort(__FILE__, __LINE__, "cycle %llu: connect: %d (%s)",
			(unsigned long long)i, r, errname(r));
	}
	r = ping_once(ch);
	if (r)
		t_fail(__FILE__, __LINE__, "cycle %llu: ping: %d (%s)",
		       (unsigned long long)i, r, errname(r));
	CHECK_ERR(ivc_close(ch), 0);
}

/* A child connects and pings, says so through the pipe, and waits to be
 * killed: its end goes away without a close. */
static _Noreturn void cycle_child(const struct ivc_options *o, int wfd)
{
	struct ivc_channel *ch = NULL;

	REQUIRE_OK(open_channel(NULL, o, g.timeout_ms, &ch));
	REQUIRE_OK(ping_once(ch));
	REQUIRE(write(wfd, "p", 1) == 1);
	for (;;)
		pause();
}

static void cycle_killed(const struct ivc_options *o, uint64_t i)
{
	int p[2], st;
	pid_t pid;
	ssize_t n;
	char c;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid = t_fork();
	if (pid == 0) {
		close(p[0]);
		cycle_child(o, p[1]);
	}
	close(p[1]); /* so that a child gone early reads as EOF */
	do {
		n = read(p[0], &c, 1);
	} while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == 1)
		kill(pid, SIGKILL);
	st = t_wait_child(pid, call_ms());
	if (n == 1 && st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "cycle %llu: the child %s: %s",
		       (unsigned long long)i,
		       n == 1 ? "pinged, then" : "did not ping", t_status_str(st));
}

static int cmd_cycles(void)
{
	struct ivc_options o;
	uint64_t k = g.kill_set ? g.kill_every : 10, killed = 0;
	struct counts c0, c1;

	if (!g.n_set)
		usage("cycles: -n N is required");
	t_init("xdom cycles", watchdog_s(g.n * ((uint64_t)g.timeout_ms + 2 * (uint64_t)call_ms()),
					 120));
	lane_opts(&o, g.mode, g.big);
	c0 = counts_now();
	for (uint64_t i = 1; i <= g.n; i++) {
		if (k && i % k == 0) {
			cycle_killed(&o, i);
			killed++;
		} else {
			cycle_closed(&o, i);
		}
	}
	if (counts_back(&c0, 0, &c1))
		t_pass();
	else
		t_fail(__FILE__, __LINE__, "%d descriptors after the cycles, %d before",
		       c1.fds, c0.fds);
	printf("xdom cycles: %s: %llu cycles (%llu closed, %llu killed), fds %d/%d\n",
	       verdict(), (unsigned long long)g.n,
	       (unsigned long long)(g.n - killed), (unsigned long long)killed,
	       c0.fds, c1.fds);
	return t_finish();
}

/* ---- capacity ------------------------------------------------------------------- */

#define CAP_MAX 64u

/* Pages of a lane of geometry @g, by docs/layout.md (ivc_channel_info does
 * not say): 320 fixed bytes, the transport area (xen: 8 bytes and a grant
 * reference per page), the descriptor ring (16-byte descriptors without
 * IVC_OPT_INLINE), the return ring, then the page-aligned buffers. */
static unsigned lane_pages(const struct ivc_geometry *geo, int xen)
{
	uint64_t ret_slots = 1, pages = 0, prev;

	while (ret_slots < geo->buf_count)
		ret_slots <<= 1;
	do { /* the transport area lists every page: to its fixed point */
		uint64_t xport = xen ? (8 + 4 * pages + 63) / 64 * 64 : 0;
		uint64_t desc_off = (320 + xport + 63) / 64 * 64;
		uint64_t ret_off = (desc_off + 16ull * geo->slots + 63) / 64 * 64;
		uint64_t buf_off = (ret_off + 4 * ret_slots + 4095) / 4096 * 4096;

		prev = pages;
		pages = (buf_off + (uint64_t)geo->buf_size * geo->buf_count + 4095) / 4096;
	} while (pages != prev);
	return (unsigned)pages;
}

static int cmd_capacity(void)
{
	struct ivc_options o;
	struct ivc_channel *ch[CAP_MAX];
	struct ivc_info info;
	unsigned n = 0;
	int r = 0;
	char text[32], tail[64];

	t_init("xdom capacity", watchdog_s(CAP_MAX * ((uint64_t)g.timeout_ms +
						      2 * (uint64_t)call_ms()), 120));
	lane_opts(&o, g.mode, 1);
	while (n < CAP_MAX) {
		r = open_channel(NULL, &o, g.timeout_ms, &ch[n]);
		if (r)
			break;
		n++;
		r = ping_once(ch[n - 1]);
		if (r) {
			t_fail(__FILE__, __LINE__, "channel %u: ping: %d (%s)", n, r,
			       errname(r));
			break;
		}
	}
	if (n < CAP_MAX)
		snprintf(tail, sizeof(tail), "%d (%s)", r, errname(r));
	else
		snprintf(tail, sizeof(tail), "the cap of %u channels", CAP_MAX);
	memset(&info, 0, sizeof(info));
	if (n)
		CHECK_OK(ivc_channel_info(ch[0], &info));
	int xen = info.transport && !strcmp(info.transport, "xen");
	unsigned tx = lane_pages(&o.tx, xen), rx = n ? lane_pages(&info.rx, xen) : 0;
	CHECK(n >= 1);
	if (tx == rx || !n)
		printf("xdom capacity: %s: %u lanes of %u pages each way, then %s\n",
		       verdict(), n, tx, tail);
	else
		printf("xdom capacity: %s: %u lanes of %u pages out and %u back, then %s\n",
		       verdict(), n, tx, rx, tail);
	snprintf(text, sizeof(text), "lanes %u\n", n);
	put_target("report", g.report, text);
	for (unsigned i = 0; i < n; i++)
		CHECK_ERR(ivc_close(ch[i]), 0);
	return t_finish();
}

/* ---- evtchn and attack: raw libxen* ------------------------------------------- */

/* Exit 77, saying so, where there is no xenstore: not on Xen. */
static void need_xen(void)
{
	struct xs_handle *h = xs_open(0);

	if (h) {
		xs_close(h);
		return;
	}
	printf("xdom %s: SKIPPED: no xenstore here (xs_open: %s): not running on Xen\n",
	       g.cmd, errname(errno));
	exit(77);
}

#define MAX_PORTS 4096u

static int cmd_evtchn(void)
{
	static int ports[MAX_PORTS];
	xenevtchn_handle *h;
	unsigned n = 0;
	int err = 0;
	char text[32];

	if (!g.peer_set)
		usage("evtchn: --peer D is required");
	t_init("xdom evtchn", 300);
	need_xen();
	h = xenevtchn_open(NULL, 0);
	if (!h) {
		printf("xdom evtchn: FAILED: xenevtchn_open: %s\n", errname(errno));
		return 1;
	}
	while (n < MAX_PORTS) {
		xenevtchn_port_or_error_t p = xenevtchn_bind_unbound_port(h, g.peer);

		if (p < 0) {
			err = errno;
			break;
		}
		ports[n++] = p;
	}
	CHECK(n >= 1);
	printf("xdom evtchn: %s: %u ports bindable to domain %u, then %s\n", verdict(),
	       n, g.peer, n < MAX_PORTS ? errname(err) : "the cap of 4096");
	for (unsigned i = 0; i < n; i++)
		CHECK_ERR(xenevtchn_unbind(h, (evtchn_port_t)ports[i]), 0);
	xenevtchn_close(h);
	snprintf(text, sizeof(text), "ports %u\n", n);
	put_target("report", g.report, text);
	return t_finish();
}

/* Each attempt: 0 refused, 1 succeeded, 2 could not be made. */
static int attack_read(struct xs_handle *xs, const char *path)
{
	unsigned len = 0;
	char *v = xs ? xs_read(xs, XBT_NULL, path, &len) : NULL;

	if (!xs) {
		printf("xdom attack: read %s NOT TRIED: no xenstore\n", path);
		return 2;
	}
	if (!v) {
		printf("xdom attack: read %s refused: %s\n", path, errname(errno));
		return 0;
	}
	printf("xdom attack: read %s SUCCEEDED (access control broken): %u bytes\n",
	       path, len);
	free(v);
	return 1;
}

static int attack_map(xengnttab_handle *gt, const struct dom_val *m)
{
	void *p = gt ? xengnttab_map_grant_ref(gt, m->dom, m->val, PROT_READ) : NULL;

	if (!gt) {
		printf("xdom attack: map %u:%u NOT TRIED: no grant device\n", m->dom,
		       m->val);
		return 2;
	}
	if (!p) {
		printf("xdom attack: map %u:%u refused: %s\n", m->dom, m->val,
		       errname(errno));
		return 0;
	}
	printf("xdom attack: map %u:%u SUCCEEDED (access control broken)\n", m->dom,
	       m->val);
	xengnttab_unmap(gt, p, 1);
	return 1;
}

static int attack_bind(xenevtchn_handle *ev, const struct dom_val *b)
{
	xenevtchn_port_or_error_t p = ev ? xenevtchn_bind_interdomain(ev, b->dom, b->val) : -1;

	if (!ev) {
		printf("xdom attack: bind %u:%u NOT TRIED: no event channel device\n",
		       b->dom, b->val);
		return 2;
	}
	if (p < 0) {
		printf("xdom attack: bind %u:%u refused: %s\n", b->dom, b->val,
		       errname(errno));
		return 0;
	}
	printf("xdom attack: bind %u:%u SUCCEEDED (access control broken)\n", b->dom,
	       b->val);
	xenevtchn_unbind(ev, (evtchn_port_t)p);
	return 1;
}

/* A device that cannot be opened is said once; its attempts are not made. */
static void open_devices(xengnttab_handle **gt, xenevtchn_handle **ev)
{
	*gt = NULL;
	*ev = NULL;
	if (g.n_maps && !(*gt = xengnttab_open(NULL, 0)))
		printf("xdom attack: xengnttab_open: %s\n", errname(errno));
	if (g.n_binds && !(*ev = xenevtchn_open(NULL, 0)))
		printf("xdom attack: xenevtchn_open: %s\n", errname(errno));
}

static int cmd_attack(void)
{
	struct xs_handle *xs;
	xengnttab_handle *gt;
	xenevtchn_handle *ev;
	unsigned refused = 0, won = 0, untried = 0, tries;

	tries = (unsigned)(g.n_reads + g.n_maps + g.n_binds);
	if (!tries)
		usage("attack: nothing to try (--read, --map, --bind)");
	t_init("xdom attack", 300);
	need_xen();
	xs = xs_open(0);
	open_devices(&gt, &ev);
	for (size_t i = 0; i < tries; i++) {
		int r = i < g.n_reads ? attack_read(xs, g.reads[i])
			: i < g.n_reads + g.n_maps ? attack_map(gt, &g.maps[i - g.n_reads])
			: attack_bind(ev, &g.binds[i - g.n_reads - g.n_maps]);

		refused += r == 0;
		won += r == 1;
		untried += r == 2;
	}
	if (xs)
		xs_close(xs);
	if (gt)
		xengnttab_close(gt);
	if (ev)
		xenevtchn_close(ev);
	printf("xdom attack: %s: %u of %u refused, %u succeeded, %u not tried\n",
	       won ? "FAILED" : untried ? "NOT TRIED" : "ok", refused, tries, won,
	       untried);
	return won ? 1 : untried ? 2 : 0;
}

/* ---- relay ---------------------------------------------------------------------- */

#define RELAY_CHUNK 1024u
#define RELAY_RETRY_MS 10u

/* The TCP side of a connector: listen, say so, accept one connection. */
static int relay_tcp_accept(void)
{
	int one = 1, fd, c;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	REQUIRE(!bind(fd, (const struct sockaddr *)&g.tcp, sizeof(g.tcp)));
	REQUIRE(!listen(fd, 1));
	put_ready(realtime_ns());
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	REQUIRE(c >= 0);
	close(fd);
	return c;
}

/* The TCP side of a listener: connect, again while nobody listens yet. */
static int relay_tcp_connect(void)
{
	uint64_t end = t_now_ns() + (uint64_t)g.timeout_ms * 1000000u;

	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

		REQUIRE(fd >= 0);
		if (!connect(fd, (const struct sockaddr *)&g.tcp, sizeof(g.tcp)))
			return fd;
		e = errno;
		close(fd);
		if (e != ECONNREFUSED || t_now_ns() > end) {
			CHECK_ERR(-e, 0);
			return -1;
		}
		sleep_ms(RELAY_RETRY_MS);
	}
}

/* @n bytes to @fd; 0, or -1 once the TCP peer has gone. */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Every message waiting on @ch out to @fd.  Return 1 while both last, 0
 * once either ended (the channel's -EPIPE, the socket's peer gone), -1 on
 * an error. */
static int relay_from_channel(struct ivc_channel *ch, int fd, uint64_t *bytes)
{
	char buf[RELAY_CHUNK];

	for (;;) {
		ssize_t n = ivc_recv(ch, buf, sizeof(buf), 0);

		if (n == -EAGAIN)
			return 1;
		if (n == -EPIPE)
			return 0;
		if (n < 0) {
			CHECK_ERR(n, 0);
			return -1;
		}
		if (write_all(fd, buf, (size_t)n))
			return 0;
		*bytes += (uint64_t)n;
	}
}

/* What @fd has, into @ch.  Return 1 while both last, 0 at the socket's
 * end-of-file (or the channel's -EPIPE), -1 on an error. */
static int relay_from_tcp(int fd, struct ivc_channel *ch, uint64_t *bytes)
{
	char buf[RELAY_CHUNK];
	ssize_t n = read(fd, buf, sizeof(buf));
	int r;

	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	r = ivc_send(ch, buf, (size_t)n, g.timeout_ms);
	if (r == -EPIPE)
		return 0;
	if (r) {
		CHECK_ERR(r, 0);
		return -1;
	}
	*bytes += (uint64_t)n;
	return 1;
}

/* Both ways until either side ends, asleep in poll() on the socket and on
 * the channel's descriptor (armed for IVC_EV_RX) in between. */
static void relay_pump(struct ivc_channel *ch, int fd, uint64_t *in, uint64_t *out)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = ivc_fd(ch), .events = POLLIN } };
		int armed;

		if (relay_from_channel(ch, fd, in) <= 0)
			return;
		armed = ivc_arm(ch, IVC_EV_RX);
		if (armed < 0) {
			CHECK_ERR(armed, 0);
			return;
		}
		if (armed > 0)
			continue;
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			CHECK_ERR(-errno, 0);
			return;
		}
		if (p[0].revents && relay_from_tcp(fd, ch, out) <= 0)
			return;
	}
}

static int cmd_relay(void)
{
	struct ivc_options o;
	struct ivc_listener *l;
	struct ivc_channel *ch = NULL;
	uint64_t in = 0, out = 0;
	int fd = -1;

	if (!g.tcp_set)
		usage("relay: --tcp HOST:PORT is required");
	t_init("xdom relay", watchdog_s((uint64_t)g.timeout_ms * 2, 600));
	lane_opts(&o, IVC_MODE_BLOCK, 0);
	l = start_listener(&o);
	if (!l)
		fd = relay_tcp_accept();
	REQUIRE_OK(open_channel(l, &o, g.timeout_ms, &ch));
	if (l) {
		ivc_listener_close(l);
		fd = relay_tcp_connect();
	}
	if (fd >= 0) {
		relay_pump(ch, fd, &in, &out);
		close(fd);
	}
	CHECK_ERR(ivc_close(ch), 0);
	printf("xdom relay: %s: %s: %llu bytes to tcp, %llu to the channel\n", verdict(),
	       g.addr, (unsigned long long)in, (unsigned long long)out);
	return t_finish();
}

/* The harness's clock: CLOCK_REALTIME in ns, the clock of every report (a
 * PV guest's wall clock is the hypervisor's, so domains compare). */
static int cmd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("%lld\n", (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec);
	return 0;
}

/* ---- command line ---------------------------------------------------------------- */

static const struct subcmd {
	const char *name;
	const char *opts; /* the option codes it takes (see longopts) */
	int role;         /* 1: needs --listen or --connect; 2: --connect only */
	int (*run)(void);
} subcmds[] = {
	{ "deliver",  "LCATMSRaInOy", 1, cmd_deliver },
	{ "hold",     "LCATcyO",   1, cmd_hold },
	{ "survive",  "LCATypegO", 1, cmd_survive },
	{ "ping",     "LCATMncO",  1, cmd_ping },
	{ "refused",  "CTe",       2, cmd_refused },
	{ "serve",    "LAMBcp",    1, cmd_serve },
	{ "cycles",   "CTMnKB",    2, cmd_cycles },
	{ "capacity", "CTMp",      2, cmd_capacity },
	{ "evtchn",   "Dp",        0, cmd_evtchn },
	{ "attack",   "rmb",       0, cmd_attack },
	{ "relay",    "LCATty",    1, cmd_relay },
	{ "now",      "",          0, cmd_now },
};

static const struct option longopts[] = {
	{ "listen", required_argument, NULL, 'L' },
	{ "connect", required_argument, NULL, 'C' },
	{ "allow", required_argument, NULL, 'A' },
	{ "timeout-ms", required_argument, NULL, 'T' },
	{ "mode", required_argument, NULL, 'M' },
	{ "send", no_argument, NULL, 'S' },
	{ "recv", no_argument, NULL, 'R' },
	{ "api", required_argument, NULL, 'a' },
	{ "inline", no_argument, NULL, 'I' },
	{ "ready", required_argument, NULL, 'y' },
	{ "report", required_argument, NULL, 'p' },
	{ "expect", required_argument, NULL, 'e' },
	{ "accept-again", no_argument, NULL, 'g' },
	{ "big", no_argument, NULL, 'B' },
	{ "kill-every", required_argument, NULL, 'K' },
	{ "peer", required_argument, NULL, 'D' },
	{ "read", required_argument, NULL, 'r' },
	{ "map", required_argument, NULL, 'm' },
	{ "bind", required_argument, NULL, 'b' },
	{ "route", required_argument, NULL, 'O' },
	{ "tcp", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xdom: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: xdom deliver|hold|survive|ping|refused|serve|cycles|"
		"capacity|evtchn|attack|relay|now [options] (see test/xen/xdom.c)\n");
	exit(2);
}

static uint64_t number(const char *what, const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > max)
		usage("%s: bad number '%s' (0..%llu)", what, s, (unsigned long long)max);
	return v;
}

/* "D:V" (--map DOMID:GREF, --bind DOMID:PORT). */
static void dom_val(const char *what, const char *s, struct dom_val *out, size_t *n)
{
	char buf[64], *colon;

	if (*n >= MAX_LIST)
		usage("%s: at most %u", what, MAX_LIST);
	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf) ||
	    !(colon = strchr(buf, ':')))
		usage("%s: want DOMID:NUMBER, got '%s'", what, s);
	*colon = '\0';
	out[*n].dom = (uint32_t)number(what, buf, UINT32_MAX);
	out[*n].val = (uint32_t)number(what, colon + 1, UINT32_MAX);
	(*n)++;
}

static void allow_list(const char *s)
{
	char buf[1024], *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		usage("--allow: too long");
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (g.n_allow >= IVC_XEN_MAX_PEERS)
			usage("--allow: at most %u domains", IVC_XEN_MAX_PEERS);
		g.allow[g.n_allow++] = (uint32_t)number("--allow", t, UINT32_MAX);
	}
	if (!g.n_allow)
		usage("--allow: no domain");
}

static enum ivc_mode mode_of(const char *s)
{
	if (!strcmp(s, "poll"))
		return IVC_MODE_POLL;
	if (!strcmp(s, "block"))
		return IVC_MODE_BLOCK;
	if (!strcmp(s, "adaptive"))
		return IVC_MODE_ADAPTIVE;
	usage("--mode: poll, block or adaptive, not '%s'", s);
}

static void set_addr(const char *a, int listen)
{
	if (g.addr)
		usage("give one --listen or --connect");
	g.addr = a;
	g.listen = listen;
	/* (net: addresses are here to reach other domains over xen.) */
	g.xen = !strncmp(a, "xen:", 4) || !strncmp(a, "net:", 4);
}

static int route_of(const char *s)
{
	static const char *const names[] = { "named", "local", "remote", "forced", "xen" };

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (!strcmp(s, names[i]))
			return i;
	usage("--route: named, local, remote, forced or xen, not '%s'", s);
	return -1;
}

/* --tcp HOST:PORT (IPv4). */
static void tcp_addr(const char *s)
{
	char host[64], *colon;

	if (snprintf(host, sizeof(host), "%s", s) >= (int)sizeof(host) ||
	    !(colon = strrchr(host, ':')))
		usage("--tcp: want HOST:PORT, got '%s'", s);
	*colon = '\0';
	memset(&g.tcp, 0, sizeof(g.tcp));
	g.tcp.sin_family = AF_INET;
	g.tcp.sin_port = htons((uint16_t)number("--tcp port", colon + 1, 65535));
	if (inet_pton(AF_INET, host, &g.tcp.sin_addr) != 1)
		usage("--tcp: '%s' is not an IPv4 address", host);
	g.tcp_set = 1;
}

static void take_option(int c, const char *arg)
{
	switch (c) {
	case 'L': set_addr(arg, 1); break;
	case 'C': set_addr(arg, 0); break;
	case 'A': allow_list(arg); break;
	case 'O': g.route = route_of(arg); break;
	case 't': tcp_addr(arg); break;
	case 'T': g.timeout_ms = (int)number("--timeout-ms", arg, INT32_MAX); break;
	case 'M': g.mode = mode_of(arg); g.mode_set = 1; break;
	case 'S': g.send = 1; break;
	case 'R': g.recv = 1; break;
	case 'a':
		if (strcmp(arg, "zc") && strcmp(arg, "copy"))
			usage("--api: zc or copy, not '%s'", arg);
		g.zc = !strcmp(arg, "zc");
		g.api_set = 1;
		break;
	case 'I': g.inl = 1; break;
	case 'y': g.ready = arg; break;
	case 'p': g.report = arg; break;
	case 'e':
		if (!(g.expect = errno_of(arg)))
			usage("--expect: no errno named '%s'", arg);
		break;
	case 'g': g.accept_again = 1; break;
	case 'B': g.big = 1; break;
	case 'K': g.kill_every = number("--kill-every", arg, UINT32_MAX); g.kill_set = 1; break;
	case 'D': g.peer = (uint32_t)number("--peer", arg, UINT32_MAX); g.peer_set = 1; break;
	case 'n': g.n = number("-n", arg, UINT64_MAX / 2); g.n_set = 1; break;
	case 'c': g.c = number("-c", arg, UINT32_MAX); g.c_set = 1; break;
	case 'r':
		if (g.n_reads >= MAX_LIST)
			usage("--read: at most %u", MAX_LIST);
		g.reads[g.n_reads++] = arg;
		break;
	case 'm': dom_val("--map", arg, g.maps, &g.n_maps); break;
	case 'b': dom_val("--bind", arg, g.binds, &g.n_binds); break;
	default: usage("see the options of %s", g.cmd);
	}
}

/* "--listen" for 'L', "-n" for 'n': what the user typed. */
static const char *option_name(int c)
{
	static char name[32];

	snprintf(name, sizeof(name), "-%c", c);
	for (const struct option *o = longopts; o->name; o++)
		if (o->val == c)
			snprintf(name, sizeof(name), "--%s", o->name);
	return name;
}

static const struct subcmd *parse(int argc, char **argv)
{
	const struct subcmd *sc = NULL;
	int c;

	if (argc < 2)
		usage("no subcommand");
	for (size_t i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		if (!strcmp(argv[1], subcmds[i].name))
			sc = &subcmds[i];
	if (!sc)
		usage("unknown subcommand '%s'", argv[1]);
	g.cmd = sc->name;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "n:c:h", longopts, NULL)) != -1) {
		if (c == 'h' || c == '?')
			usage("see the options of %s", sc->name);
		if (!strchr(sc->opts, c))
			usage("%s does not take %s", sc->name, option_name(c));
		take_option(c, optarg);
	}
	if (optind != argc - 1)
		usage("unexpected argument '%s'", argv[optind + 1]);
	if (sc->role && !g.addr)
		usage("%s needs --listen ADDR or --connect ADDR", sc->name);
	if (sc->role == 2 && g.listen)
		usage("%s connects: --connect ADDR", sc->name);
	if (g.n_allow && !(g.listen && g.xen))
		usage("--allow is for a listener at a xen: or net: address");
	return sc;
}

int main(int argc, char **argv)
{
	const struct subcmd *sc = parse(argc, argv);
	uint64_t k = t_env_u64("IVC_TEST_TIME_SCALE", 1);

	g_scale = k ? (unsigned)(k > 1000 ? 1000 : k) : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return sc->run();
}
