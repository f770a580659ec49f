/* SPDX-License-Identifier: MIT */
/*
 * ivc-cat - a netcat for ivc addresses.
 *
 *   ivc-cat [options] -l ADDR     listen at ADDR, accept one channel
 *   ivc-cat [options] ADDR        connect to ADDR
 *
 * Data is copied both ways at once, as netcat does: one thread copies stdin
 * into the channel (in messages of at most min(max_tx_msg, 64 KiB) bytes),
 * another copies the channel to stdout.
 *
 * How a session ends.  ivc_close() closes both directions, so ivc has no
 * half-close of its own (no shutdown(SHUT_WR)).  ivc-cat therefore uses an
 * in-band end-of-data marker, like TCP's FIN: an EMPTY message means "the
 * sender has no more data".
 *
 *  - default (both ways): at stdin EOF, send the empty message and keep
 *    receiving.  The session ends, and the channel is closed, once the peer
 *    has ended its data too (its empty message, or its closing the channel:
 *    -EPIPE).  If the peer closes the channel while stdin is still open,
 *    ivc-cat exits at once (what is left on stdin is not sent).
 *  - -s (send only): copy stdin to the channel, then ivc_close().  Incoming
 *    data is ignored.  Exits non-zero if the peer closes before everything
 *    was sent.
 *  - -r (receive only): copy the channel to stdout until the peer ends its
 *    data (empty message or -EPIPE), then ivc_close().  stdin is not read.
 *
 * So `ivc-cat -l shm:@x > out & ivc-cat shm:@x < in` copies the file and both
 * ends exit 0: the listener's stdin (/dev/null in a script) ends at once, the
 * client sends the file and its marker, and both then see the other's marker.
 * A peer that is not ivc-cat and never sends empty messages simply ends the
 * session by closing the channel.
 *
 * Exit status: 0 on a clean end; 1 on an error (the message names it with
 * ivc_strerror(), e.g. "ivc-cat: receive: peer died (ECONNRESET)"); 2 on a
 * usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define PROG "ivc-cat"
#define CHUNK_MAX (64u * 1024u)
#define RX_BURST 32u
/* Default wait for a listener that is not there yet (connect, seconds). */
#define DEFAULT_CONNECT_WAIT_S 10.0

enum dir_mode { DIR_BOTH, DIR_SEND, DIR_RECV };

#define MAX_UIDS 16

struct cfg {
	const char *addr;
	bool listen;
	uid_t uids[MAX_UIDS];   /* -u: the peers' uids we trust */
	struct ivc_shm_options shm; /* opts.shm once -u is given */
	uint32_t domids[IVC_XEN_MAX_PEERS]; /* -d: the domains let in */
	struct ivc_xen_options xen; /* opts.xen once -d is given */
	double wait_s;          /* < 0: default */
	enum dir_mode dir;
	struct ivc_options opts;
	bool quiet;
	bool verbose;
};

/* Shared between the two copying threads and main. */
struct session {
	struct ivc_channel *ch;
	const struct cfg *cfg;
	size_t chunk;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool tx_done;           /* stdin copied (marker sent) or sending stopped */
	bool rx_done;           /* peer's data ended or receiving stopped */
	bool peer_closed;       /* -EPIPE seen on either side */
	int tx_err;             /* first error of the sender (negative) or 0 */
	int rx_err;             /* first error of the receiver (negative) or 0 */
	const char *tx_what;    /* what failed */
	const char *rx_what;
	/* Atomic: main may print them while a copying thread still runs. */
	_Atomic uint64_t bytes_in;      /* stdin -> channel */
	_Atomic uint64_t bytes_out;     /* channel -> stdout */
};

static bool g_quiet;

static const char *errname(int err)
{
	/* glibc's own table (2.32+): every errno, not a hand-kept subset. */
	const char *n = err ? strerrorname_np(err < 0 ? -err : err) : "OK";

	return n ? n : "?";
}

__attribute__((format(printf, 1, 2)))
static void msg(const char *fmt, ...)
{
	va_list ap;

	if (g_quiet)
		return;
	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* An ivc error: "ivc-cat: WHAT: TEXT (ENAME)". */
static void ivc_err(const char *what, int err)
{
	msg("%s: %s (%s)", what, ivc_strerror(err), errname(err));
}

/* A system-call error (errno > 0). */
static void sys_err(const char *what, int err)
{
	msg("%s: %s", what, strerror(err));
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [options] -l ADDR    listen at ADDR and accept one channel\n"
"       " PROG " [options] ADDR       connect to ADDR\n"
"\n"
"ADDR is shm:/path/to/socket, shm:@abstract-name, or (a build with the xen\n"
"transport) xen:[DOMID/]SERVICE: listen at xen:SERVICE, connect to\n"
"xen:DOMID/SERVICE (SERVICE of domain DOMID; without DOMID: the local domain).\n"
"\n"
"Copies stdin to the channel and the channel to stdout, both at once.\n"
"\n"
"Ending: ivc_close() closes both directions, so " PROG " marks the end of its\n"
"data with an EMPTY message (like TCP's FIN).  By default, at stdin EOF it\n"
"sends that marker and keeps receiving; it closes the channel and exits once\n"
"the peer has ended its data too (empty message, or the peer closed: EPIPE).\n"
"If the peer closes while stdin is still open, it exits at once.  A terminal\n"
"on stdin of a background job (`" PROG " -l ADDR > out &`) counts as empty.\n"
"\n"
"options:\n"
"  -l            listen (accept one channel) instead of connecting\n"
"  -s            send only: stdin -> channel, then close (peer data ignored)\n"
"  -r            receive only: channel -> stdout until the peer's data ends\n"
"  -w SECONDS    connect: wait at most this long for the listener to appear\n"
"                and the handshake (default %.0f; 0: one try);\n"
"                listen: wait at most this long for a client (default: forever)\n"
"  -m MODE       wait mode: poll, adaptive (default) or block\n"
"  -u UID        shm: trust a peer of this uid (repeatable).  Listening: the\n"
"                clients allowed in (default: our own uid).  Connecting: the\n"
"                uids the listener may run as, checked before anything is\n"
"                sent (default: our own uid, or root): whoever took the\n"
"                address first may not be the service you meant\n"
"  -U            shm: trust a peer of any uid\n"
"  -d DOMID      xen, listening: let this Xen domain connect (repeatable, at\n"
"                most %u; default: the local domain only, which a list\n"
"                leaves out unless it names it)\n"
"  --slots N     descriptor ring entries of the lane we send on (power of 2)\n"
"  --buf-size N  bytes per buffer of the lane we send on (multiple of 64)\n"
"  --buf-count N buffers in our send pool\n"
"  -q            quiet: print nothing, not even errors (exit status only)\n"
"  -v            verbose: connection details, and counters at the end\n"
"  -h, --help    this text\n"
"\n"
"exit status: 0 clean end, 1 error (e.g. 'peer died (ECONNRESET)'), 2 usage\n",
		DEFAULT_CONNECT_WAIT_S, IVC_XEN_MAX_PEERS);
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_mode(const char *s, enum ivc_mode *m)
{
	if (!strcmp(s, "poll"))
		*m = IVC_MODE_POLL;
	else if (!strcmp(s, "adaptive"))
		*m = IVC_MODE_ADAPTIVE;
	else if (!strcmp(s, "block"))
		*m = IVC_MODE_BLOCK;
	else
		return -1;
	return 0;
}

/* -d: one more domain the xen listener lets in.  0, -EINVAL for a bad
 * number, or -E2BIG for one more than a listener may allow. */
static int add_domid(struct cfg *c, const char *arg)
{
	uint32_t d;

	if (parse_u32(arg, &d))
		return -EINVAL;
	if (c->xen.n_allowed_domids == IVC_XEN_MAX_PEERS)
		return -E2BIG;
	c->domids[c->xen.n_allowed_domids++] = d;
	c->xen.allowed_domids = c->domids;
	/* Only now: xen settings make a shm address -EINVAL, and without
	 * them the library's default (the local domain) stands. */
	c->opts.xen = &c->xen;
	return 0;
}

/* -d names what a xen listener offers its service to: anywhere else it
 * would do nothing (a connector names its peer's domain in ADDR), so say
 * so rather than let the library refuse a shm address with a bare EINVAL.
 * 0, or -EINVAL after the usage error is printed. */
static int check_domids(const struct cfg *c)
{
	if (!c->xen.n_allowed_domids)
		return 0;
	if (strncmp(c->addr, "xen:", 4)) {
		fprintf(stderr, PROG ": -d is for xen: addresses (not '%s'); shm has -u\n",
			c->addr);
		return -EINVAL;
	}
	if (!c->listen) {
		fprintf(stderr, PROG ": -d is for listening (-l); a connector names the"
			" listener's domain in ADDR (xen:DOMID/SERVICE)\n");
		return -EINVAL;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int ms_of(double s)
{
	if (s < 0)
		return -1;
	if (s * 1000.0 > (double)INT_MAX)
		return INT_MAX;
	return (int)(s * 1000.0 + 0.5);
}

/* ------------------------------------------------------------------ */
/* The two copying loops.                                             */

static void set_done(struct session *s, bool tx, int err, const char *what,
		     bool peer_closed)
{
	pthread_mutex_lock(&s->lock);
	if (tx) {
		s->tx_done = true;
		if (err && !s->tx_err) {
			s->tx_err = err;
			s->tx_what = what;
		}
	} else {
		s->rx_done = true;
		if (err && !s->rx_err) {
			s->rx_err = err;
			s->rx_what = what;
		}
	}
	if (peer_closed)
		s->peer_closed = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/*
 * stdin -> channel.  Sends the end-of-data marker at EOF unless @marker is
 * false (send-only mode closes the channel instead).
 * Returns 0, a negative ivc error, or a positive errno from read(2).
 */
static int copy_in(struct session *s, bool marker, const char **what)
{
	char *buf = malloc(s->chunk);
	bool bg_tty;
	int ret = 0;

	if (!buf) {
		*what = "malloc";
		return ENOMEM;
	}
	/* Started in the background (`ivc-cat -l ADDR > out &`) with stdin
	 * still the terminal: reading it would stop us with SIGTTIN (netcat's
	 * trap).  Treat stdin as empty instead. */
	bg_tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) != getpgrp();

	for (;;) {
		ssize_t n = bg_tty ? 0 : read(STDIN_FILENO, buf, s->chunk);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = errno;
			*what = "read stdin";
			break;
		}
		if (n == 0) {
			if (marker) {
				ret = ivc_send(s->ch, NULL, 0, -1);
				*what = "send";
			}
			break;
		}
		ret = ivc_send(s->ch, buf, (size_t)n, -1);
		if (ret < 0) {
			*what = "send";
			break;
		}
		atomic_fetch_add_explicit(&s->bytes_in, (uint64_t)n,
					  memory_order_relaxed);
	}
	free(buf);
	return ret;
}

/* Write all of @iov to stdout.  Returns 0 or a positive errno. */
static int write_all(struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(STDOUT_FILENO, iov, cnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * channel -> stdout until the peer's data ends.
 * Returns 0 (end-of-data marker), -EPIPE (peer closed), another negative ivc
 * error, or a positive errno from writing stdout.
 */
static int copy_out(struct session *s, const char **what)
{
	struct ivc_buf bufs[RX_BURST];
	struct iovec iov[RX_BURST];
	uint64_t msg_len = 0;   /* bytes so far of the message being received */

	for (;;) {
		int n = ivc_rx_burst(s->ch, bufs, RX_BURST, -1);
		int cnt = 0, ret, rel, i;
		uint64_t out_len = 0;
		bool eof = false;

		if (n < 0) {
			*what = "receive";
			return n;
		}
		for (i = 0; i < n; i++) {
			msg_len += bufs[i].len;
			out_len += bufs[i].len;
			if (bufs[i].len) {
				iov[cnt].iov_base = bufs[i].data;
				iov[cnt].iov_len = bufs[i].len;
				cnt++;
			}
			if (!(bufs[i].flags & IVC_BUF_MORE)) {
				if (msg_len == 0) {
					/* Empty message: end of the peer's data.
					 * Anything after it is not written. */
					eof = true;
					break;
				}
				msg_len = 0;
			}
		}
		ret = write_all(iov, cnt);     /* (it consumes iov) */
		if (!ret)
			atomic_fetch_add_explicit(&s->bytes_out, out_len,
						  memory_order_relaxed);
		rel = ivc_rx_release(s->ch, bufs, (unsigned)n);
		if (rel < 0 && !ret) {
			*what = "release";
			return rel;
		}
		if (ret) {
			*what = "write stdout";
			return ret;
		}
		if (eof)
			return 0;
	}
}

static void *tx_thread(void *arg)
{
	struct session *s = arg;
	const char *what = NULL;
	int ret = copy_in(s, true, &what);

	if (ret == -EPIPE)
		/* The peer closed: its choice; nothing more can be sent. */
		set_done(s, true, 0, NULL, true);
	else
		set_done(s, true, ret, what, false);
	return NULL;
}

static void *rx_thread(void *arg)
{
	struct session *s = arg;
	const char *what = NULL;
	int ret = copy_out(s, &what);

	if (ret == -EPIPE)
		set_done(s, false, 0, NULL, true);
	else
		set_done(s, false, ret, what, false);
	return NULL;
}

static void report_err(int err, const char *what)
{
	if (err < 0)
		ivc_err(what, err);
	else if (err > 0)
		sys_err(what, err);
}

static void print_stats(const struct session *s, double secs)
{
	struct ivc_stats st;

	if (ivc_stats_get(s->ch, &st) < 0)
		return;
	fprintf(stderr,
		PROG ": %.3f s; stdin->channel %llu bytes, channel->stdout %llu bytes\n"
		PROG ": tx msgs %llu bytes %llu bufs %llu | rx msgs %llu bytes %llu bufs %llu\n"
		PROG ": doorbells %llu sleeps %llu spin_hits %llu yields %llu"
		" ring_full_stalls %llu pool_empty_stalls %llu\n",
		secs, (unsigned long long)atomic_load(&s->bytes_in),
		(unsigned long long)atomic_load(&s->bytes_out),
		(unsigned long long)st.tx_msgs, (unsigned long long)st.tx_bytes,
		(unsigned long long)st.tx_bufs, (unsigned long long)st.rx_msgs,
		(unsigned long long)st.rx_bytes, (unsigned long long)st.rx_bufs,
		(unsigned long long)st.doorbells, (unsigned long long)st.sleeps,
		(unsigned long long)st.spin_hits, (unsigned long long)st.yields,
		(unsigned long long)st.ring_full_stalls,
		(unsigned long long)st.pool_empty_stalls);
}

/* -v: what the channel is, and whom it joins. */
static void print_connected(const struct ivc_channel *ch)
{
	struct ivc_info info;
	char dom[24] = "";

	if (ivc_channel_info(ch, &info) < 0)
		return;
	/* Over xen the uid is unknowable; the domain is what says who. */
	if (info.peer_domid != IVC_DOMID_NONE)
		snprintf(dom, sizeof(dom), " domain %u", (unsigned)info.peer_domid);
	msg("connected: transport %s, peer pid %d uid %u%s; tx %u slots x %u B"
	    " (%u bufs, max msg %zu B); rx %u slots x %u B (%u bufs, max msg %zu B)",
	    info.transport, (int)info.peer_pid, (unsigned)info.peer_uid, dom,
	    info.tx.slots, info.tx.buf_size, info.tx.buf_count, info.max_tx_msg,
	    info.rx.slots, info.rx.buf_size, info.rx.buf_count, info.max_rx_msg);
}

/* ------------------------------------------------------------------ */

/* An error of ivc_accept() that one client caused, or that came with one
 * client's handshake: the listener serves the next.  The others (the wait
 * is over, a bad argument) end the listening. */
static bool client_failed(int ret)
{
	return ret < 0 && ret != -ETIMEDOUT && ret != -EAGAIN && ret != -EINVAL;
}

static int open_channel(const struct cfg *c, struct ivc_channel **ch)
{
	int ret;

	if (c->listen) {
		struct ivc_listener *l;
		double deadline = now_s() + c->wait_s;

		ret = ivc_listen(c->addr, &c->opts, &l);
		if (ret < 0) {
			ivc_err(c->addr, ret);
			return ret;
		}
		if (c->verbose)
			msg("listening at %s", c->addr);
		for (;;) {
			double left = deadline - now_s();

			ret = ivc_accept(l, c->wait_s < 0 ? -1 :
					 left > 0 ? ms_of(left) : 0, ch);
			if (!client_failed(ret))
				break;
			/* That client was dropped; the listener stays usable:
			 * wait for the next one (a moment first if we are
			 * short of memory or descriptors ourselves). */
			ivc_err("accept (client dropped)", ret);
			if (ret == -ENOMEM || ret == -EMFILE || ret == -ENFILE)
				usleep(50000);
		}
		ivc_listener_close(l);
		if (ret < 0) {
			ivc_err("accept", ret);
			return ret;
		}
	} else {
		double wait = c->wait_s < 0 ? DEFAULT_CONNECT_WAIT_S : c->wait_s;

		/* ivc_connect() itself waits for a listener that is not
		 * there yet (one started in the same pipeline may not have
		 * bound its address); 0 means one try. */
		ret = ivc_connect(c->addr, &c->opts, ms_of(wait), ch);
		if (ret < 0) {
			ivc_err(c->addr, ret);
			return ret;
		}
	}
	if (c->verbose)
		print_connected(*ch);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "slots", required_argument, NULL, 'S' },
		{ "buf-size", required_argument, NULL, 'B' },
		{ "buf-count", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg c;
	struct session s;
	struct ivc_info info;
	double t0;
	int opt, ret, status = 0;

	memset(&c, 0, sizeof(c));
	ivc_options_init(&c.opts);
	c.wait_s = -1;
	c.dir = DIR_BOTH;

	while ((opt = getopt_long(argc, argv, "lsrw:m:u:Ud:qvh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'l': c.listen = true; break;
		case 's': c.dir = DIR_SEND; break;
		case 'r': c.dir = DIR_RECV; break;
		case 'w': {
			char *end;
			c.wait_s = strtod(optarg, &end);
			if (end == optarg || *end || c.wait_s < 0) {
				fprintf(stderr, PROG ": bad -w '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'm':
			if (parse_mode(optarg, &c.opts.mode)) {
				fprintf(stderr, PROG ": bad mode '%s' (poll, adaptive, block)\n", optarg);
				return 2;
			}
			break;
		case 'S':
			if (parse_u32(optarg, &c.opts.tx.slots)) {
				fprintf(stderr, PROG ": bad --slots '%s'\n", optarg);
				return 2;
			}
			break;
		case 'B':
			if (parse_u32(optarg, &c.opts.tx.buf_size)) {
				fprintf(stderr, PROG ": bad --buf-size '%s'\n", optarg);
				return 2;
			}
			break;
		case 'C':
			if (parse_u32(optarg, &c.opts.tx.buf_count)) {
				fprintf(stderr, PROG ": bad --buf-count '%s'\n", optarg);
				return 2;
			}
			break;
		case 'u': {
			uint32_t uid;

			if (parse_u32(optarg, &uid) || c.shm.n_allowed_uids == MAX_UIDS) {
				fprintf(stderr, PROG ": bad -u '%s' (a uid; at most %d)\n",
					optarg, MAX_UIDS);
				return 2;
			}
			c.uids[c.shm.n_allowed_uids++] = (uid_t)uid;
			c.shm.allowed_uids = c.uids;
			/* Only now: shm settings make a xen address -EINVAL. */
			c.opts.shm = &c.shm;
			break;
		}
		case 'U': c.opts.flags |= IVC_OPT_ANY_UID; break;
		case 'd':
			if ((ret = add_domid(&c, optarg)) < 0) {
				if (ret == -E2BIG)
					fprintf(stderr, PROG ": -d: at most %u domains\n",
						IVC_XEN_MAX_PEERS);
				else
					fprintf(stderr, PROG ": bad -d '%s' (a Xen domain id)\n",
						optarg);
				return 2;
			}
			break;
		case 'q': c.quiet = true; break;
		case 'v': c.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	c.addr = argv[optind];
	if (check_domids(&c) < 0)
		return 2;
	g_quiet = c.quiet;
	if (c.quiet)
		c.verbose = false;

	/* A closed stdout must be an error we report, not a silent death;
	 * the library's sockets must not kill us either. */
	signal(SIGPIPE, SIG_IGN);

	memset(&s, 0, sizeof(s));
	s.cfg = &c;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);

	if (open_channel(&c, &s.ch) < 0)
		return 1;
	t0 = now_s();
	if (ivc_channel_info(s.ch, &info) < 0 || info.max_tx_msg == 0)
		info.max_tx_msg = CHUNK_MAX;
	s.chunk = info.max_tx_msg < CHUNK_MAX ? info.max_tx_msg : CHUNK_MAX;

	if (c.dir == DIR_SEND) {
		const char *what = NULL;

		ret = copy_in(&s, false, &what);
		if (ret == -EPIPE) {
			msg("peer closed the channel before all of stdin was sent (%s)",
			    errname(ret));
			status = 1;
		} else if (ret) {
			report_err(ret, what);
			status = 1;
		}
	} else if (c.dir == DIR_RECV) {
		const char *what = NULL;

		ret = copy_out(&s, &what);
		if (ret && ret != -EPIPE) {
			report_err(ret, what);
			status = 1;
		}
	} else {
		pthread_t tx, rx;
		bool tx_done, rx_done;
		int tx_err, rx_err;
		const char *tx_what, *rx_what;

		if ((ret = pthread_create(&rx, NULL, rx_thread, &s)) != 0) {
			sys_err("pthread_create", ret);
			return 1;
		}
		if ((ret = pthread_create(&tx, NULL, tx_thread, &s)) != 0) {
			sys_err("pthread_create", ret);
			return 1;
		}
		pthread_mutex_lock(&s.lock);
		for (;;) {
			/* Receiving failed (the peer died, broke the protocol,
			 * or stdout failed): nothing more to do. */
			if (s.rx_err)
				break;
			/* Sending failed on our side (reading stdin): end.
			 * If the peer died instead, the receiver first drains
			 * what the peer had sent, then fails too: wait for it. */
			if (s.tx_err && s.tx_err != -ECONNRESET && s.tx_err != -EPROTO)
				break;
			/* Both data streams ended. */
			if (s.rx_done && s.tx_done)
				break;
			/* The peer closed: nothing more can go either way. */
			if (s.rx_done && s.peer_closed)
				break;
			pthread_cond_wait(&s.cond, &s.lock);
		}
		tx_done = s.tx_done;
		rx_done = s.rx_done;
		tx_err = s.tx_err;
		rx_err = s.rx_err;
		tx_what = s.tx_what;
		rx_what = s.rx_what;
		pthread_mutex_unlock(&s.lock);

		if (rx_err) {
			report_err(rx_err, rx_what);
			status = 1;
		}
		if (tx_err && tx_err != rx_err) {
			report_err(tx_err, tx_what);
			status = 1;
		}
		if (c.verbose)
			print_stats(&s, now_s() - t0);
		if (!tx_done || !rx_done) {
			/* A thread is still inside a blocking call on stdin or
			 * on the channel: closing the channel under it is not
			 * allowed, so leave without closing; the process exit
			 * releases everything and the peer sees the hang-up. */
			pthread_detach(tx);
			pthread_detach(rx);
			fflush(stderr);
			_exit(status);
		}
		pthread_join(rx, NULL);
		pthread_join(tx, NULL);
		ivc_close(s.ch);
		return status;
	}
	if (c.verbose)
		print_stats(&s, now_s() - t0);
	ivc_close(s.ch);
	return status;
}
