/* SPDX-License-Identifier: MIT */
/*
 * ivc-stream - one-way streaming throughput over an ivc shm channel.
 *
 * The parent (pinned to CPU A) sends COUNT messages of SIZE bytes in bursts
 * of BURST with the zero-copy calls (tx_alloc a burst, write every payload in
 * full - an 8-byte sequence number then a fill pattern - tx_send the burst);
 * the child (pinned to CPU B) receives them in bursts (rx_burst, check the
 * sequence numbers, read one byte per cache line, rx_release).  The sender
 * stops after COUNT messages or SECONDS, whichever comes first, and sends an
 * empty message to mark the end.
 *
 * Reported: messages/s and GB/s measured at the receiver (first message to
 * the end marker) and at the sender, and both sides' ivc_stats counters
 * (doorbells, sleeps, spin hits, yields, ring-full and pool-empty stalls).
 *
 * Default geometry: buffers of SIZE rounded up to 64 bytes (one buffer per
 * message, packed) unless --buf-size says otherwise; larger messages than a
 * buffer are chained.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ivc/ivc.h>

#include "bench_util.h"

#define PROG "ivc-stream"
#define MAX_BUFS 4096u

struct params {
	size_t size;
	unsigned burst;
	uint64_t count;
	double secs;
	int cpu_a, cpu_b;
	enum ivc_mode mode;
	struct ivc_geometry geo;
	uint32_t spin_max_ns;
	bool csv;
};

const char bench_prog[] = PROG;

/* Written by the receiver (child), read by the parent after it exits. */
struct rx_report {
	uint64_t msgs;
	uint64_t bytes;
	uint64_t seq_errors;
	uint64_t elapsed_ns;    /* first message .. end marker */
	int err;
	struct ivc_stats stats;
};

static volatile unsigned g_sink;
static volatile pid_t g_child;

/* The run did not end in time: the channel is stuck (a lost wake-up, a
 * dead peer that was not noticed).  Say so and end instead of hanging. */
static void on_alarm(int sig)
{
	static const char m[] = PROG ": no end in sight: the channel looks stuck"
		" (both ends waiting?); giving up\n";

	(void)sig;
	if (write(STDERR_FILENO, m, sizeof(m) - 1) < 0) {
		/* nothing to do */
	}
	if (g_child > 0)
		kill(g_child, SIGKILL);
	_exit(3);
}

/* ------------------------------------------------------------------ */
/* Receiver (child).                                                  */

static int receive_all(struct ivc_channel *ch, const struct params *p,
		       struct rx_report *rep)
{
	struct ivc_buf *bufs;
	uint64_t seq = 0, first = 0, msg_len = 0;
	bool msg_start = true;
	unsigned want = p->burst * 4;   /* chained messages take several */
	unsigned sum = 0;
	int ret = 0;

	if (want > MAX_BUFS)
		want = MAX_BUFS;
	bufs = calloc(want, sizeof(*bufs));
	if (!bufs)
		return -ENOMEM;
	for (;;) {
		int n = ivc_rx_burst(ch, bufs, want, -1), i;
		bool end = false;

		if (n < 0) {
			ret = n;
			break;
		}
		if (!first)
			first = bench_mono_ns();
		for (i = 0; i < n; i++) {
			const unsigned char *d = bufs[i].data;
			uint32_t len = bufs[i].len, k;

			if (msg_start && len >= 8) {
				uint64_t got;

				memcpy(&got, d, 8);
				if (got != seq)
					rep->seq_errors++;
			}
			for (k = 0; k < len; k += 64)
				sum += d[k];
			msg_len += len;
			msg_start = !(bufs[i].flags & IVC_BUF_MORE);
			if (msg_start) {
				if (msg_len == 0) {
					end = true;     /* the end marker */
					break;
				}
				rep->msgs++;
				rep->bytes += msg_len;
				msg_len = 0;
				seq++;
			}
		}
		if ((ret = ivc_rx_release(ch, bufs, (unsigned)n)) < 0)
			break;
		if (end)
			break;
	}
	rep->elapsed_ns = first ? bench_mono_ns() - first : 0;
	g_sink += sum;
	free(bufs);
	return ret;
}

static void child_main(const struct params *p, const char *addr,
		       struct rx_report *rep)
{
	struct ivc_options o;
	struct ivc_channel *ch;
	int ret;

	bench_child_setup(p->cpu_b, "receiver");
	bench_ivc_options(&o, &p->geo, p->mode, p->spin_max_ns);
	ch = bench_child_connect(addr, &o, "receiver");
	ret = receive_all(ch, p, rep);
	ivc_stats_get(ch, &rep->stats);
	rep->err = ret;
	if (ret < 0)
		fprintf(stderr, PROG ": receiver: %s\n", ivc_strerror(ret));
	ivc_close(ch);
	_exit(ret < 0 ? 1 : 0);
}

/* ------------------------------------------------------------------ */
/* Sender (parent).                                                   */

static int send_all(struct ivc_channel *ch, const struct params *p,
		    uint64_t *sent_msgs, uint64_t *elapsed_ns)
{
	struct ivc_info info;
	struct ivc_buf *bufs;
	uint64_t seq = 0, t0, deadline;
	unsigned nb, per_burst;
	int ret;

	if ((ret = ivc_channel_info(ch, &info)) < 0)
		return ret;
	if (p->size > info.max_tx_msg)
		return -EMSGSIZE;
	nb = (unsigned)((p->size + info.tx.buf_size - 1) / info.tx.buf_size);
	per_burst = p->burst * nb;
	if (per_burst > MAX_BUFS || per_burst > info.tx.buf_count)
		per_burst = nb;         /* one message at a time */
	bufs = calloc(per_burst, sizeof(*bufs));
	if (!bufs)
		return -ENOMEM;

	t0 = bench_mono_ns();
	deadline = t0 + (uint64_t)(p->secs * 1e9);
	while (seq < p->count) {
		unsigned want = per_burst, got = 0, sent = 0, i;
		uint64_t left_msgs = p->count - seq;
		size_t left = 0;

		if ((uint64_t)want / nb > left_msgs)
			want = (unsigned)left_msgs * nb;
		/* Take what the pool gives, in whole messages. */
		while (got < want) {
			ret = ivc_tx_alloc(ch, bufs + got, want - got, -1);
			if (ret < 0)
				goto out;
			got += (unsigned)ret;
			if (got % nb == 0)
				break;
		}
		for (i = 0; i < got; i++) {
			unsigned char *d = bufs[i].data;
			uint32_t l;

			if (i % nb == 0)
				left = p->size;
			l = left < bufs[i].cap ? (uint32_t)left : bufs[i].cap;
			memset(d, (int)(seq & 0xff), l);
			if (i % nb == 0 && l >= 8) {
				uint64_t s = seq + i / nb;
				memcpy(d, &s, 8);
			}
			bufs[i].len = l;
			bufs[i].flags = (i % nb) + 1 < nb ? IVC_BUF_MORE : 0;
			left -= l;
		}
		while (sent < got) {
			ret = ivc_tx_send(ch, bufs + sent, got - sent, -1);
			if (ret < 0)
				goto out;
			sent += (unsigned)ret;
		}
		seq += got / nb;
		if ((seq & 1023) < got / nb && bench_mono_ns() > deadline)
			break;
	}
	*elapsed_ns = bench_mono_ns() - t0;
	/* The end marker: one empty message. */
	ret = ivc_tx_alloc(ch, bufs, 1, -1);
	if (ret >= 0) {
		bufs[0].len = 0;
		bufs[0].flags = 0;
		ret = ivc_tx_send(ch, bufs, 1, -1);
	}
	if (ret > 0)
		ret = 0;
out:
	*sent_msgs = seq;
	free(bufs);
	return ret;
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [options]\n"
"One-way zero-copy streaming CPU A -> CPU B over an ivc shm channel.\n"
"\n"
"  -s SIZE        message size in bytes (default 64)\n"
"  -b BURST       messages per burst (default 32)\n"
"  -n COUNT       messages to send (default 10M; k/M suffixes)\n"
"  -t SECONDS     time bound (default 10)\n"
"  -c A,B         sender CPU, receiver CPU (default: first two CPUs we may use)\n"
"  -m MODE        poll, adaptive (default) or block (both ends)\n"
"  --slots N      descriptor ring entries (default: library default, 256)\n"
"  --buf-size N   bytes per buffer (default: SIZE rounded up to 64)\n"
"  --buf-count N  buffers per pool (default: library default, 2 x slots)\n"
"  --spin-max-ns N  adaptive spin bound\n"
"  --inline       send messages of up to 112 B inside the descriptors\n"
"  --csv          one CSV line (with a header) on stdout\n"
"  -h, --help     this text\n");
}

static void print_stats(const char *who, const struct ivc_stats *s)
{
	printf("  %-8s tx %llu msgs %llu bufs | rx %llu msgs %llu bufs | doorbells %llu"
	       " sleeps %llu spin_hits %llu yields %llu ring_full_stalls %llu"
	       " pool_empty_stalls %llu\n", who,
	       (unsigned long long)s->tx_msgs, (unsigned long long)s->tx_bufs,
	       (unsigned long long)s->rx_msgs, (unsigned long long)s->rx_bufs,
	       (unsigned long long)s->doorbells, (unsigned long long)s->sleeps,
	       (unsigned long long)s->spin_hits, (unsigned long long)s->yields,
	       (unsigned long long)s->ring_full_stalls,
	       (unsigned long long)s->pool_empty_stalls);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		BENCH_LONG_OPTS_TAIL,
	};
	struct params p;
	struct rx_report *rep;
	struct ivc_options o;
	struct ivc_listener *l;
	struct ivc_channel *ch;
	struct ivc_stats txs;
	struct ivc_info info;
	char addr[64];
	uint64_t sent = 0, tx_ns = 0;
	pid_t pid;
	int opt, ret, st;

	memset(&p, 0, sizeof(p));
	p.size = 64;
	p.burst = 32;
	p.count = 10000000;
	p.secs = 10;
	p.cpu_a = p.cpu_b = -1;
	p.mode = IVC_MODE_ADAPTIVE;

	while ((opt = getopt_long(argc, argv, "s:b:n:t:c:m:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 's': p.size = bench_parse_num("-s", optarg, 1, 1u << 30); break;
		case 'b': p.burst = (unsigned)bench_parse_num("-b", optarg, 1, 1024); break;
		case 'n': p.count = bench_parse_num("-n", optarg, 1, UINT64_MAX / 2); break;
		case 't': p.secs = bench_parse_secs("-t", optarg); break;
		case 'c': bench_parse_cpus("-c", optarg, &p.cpu_a, &p.cpu_b); break;
		case 'm':
			if (!bench_parse_mode(optarg, &p.mode))
				bench_die("bad -m '%s' (poll, adaptive, block)", optarg);
			break;
		default:
			bench_common_opt(opt, optarg, &p.csv, &p.geo, &p.spin_max_ns, usage);
			break;
		}
	}
	bench_end_opts(argc, usage);
	bench_default_cpus(&p.cpu_a, &p.cpu_b);
	/* Check both CPUs here rather than fail in the child. */
	bench_check_cpus(p.cpu_a, p.cpu_b);
	if (!p.geo.buf_size) {
		size_t bs = (p.size + 63) & ~(size_t)63;

		p.geo.buf_size = (uint32_t)(bs > (16u << 20) ? (16u << 20) : bs);
	}
	signal(SIGPIPE, SIG_IGN);

	rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rep == MAP_FAILED)
		bench_die("mmap: %s", strerror(errno));
	memset(rep, 0, sizeof(*rep));
	snprintf(addr, sizeof(addr), "shm:@ivc-stream-%d", (int)getpid());
	bench_ivc_options(&o, &p.geo, p.mode, p.spin_max_ns);

	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0)
		child_main(&p, addr, rep);
	g_child = pid;
	signal(SIGALRM, on_alarm);
	alarm((unsigned)(p.secs * 2) + 20);

	if ((ret = ivc_pin_thread(p.cpu_a)) < 0) {
		kill(pid, SIGKILL);
		bench_die("pin to CPU %d: %s", p.cpu_a, ivc_strerror(ret));
	}
	if ((ret = ivc_listen(addr, &o, &l)) < 0) {
		kill(pid, SIGKILL);
		bench_die("listen %s: %s", addr, ivc_strerror(ret));
	}
	ret = ivc_accept(l, BENCH_CONNECT_WAIT_MS, &ch);
	ivc_listener_close(l);
	if (ret < 0) {
		kill(pid, SIGKILL);
		bench_die("accept: %s", ivc_strerror(ret));
	}
	ivc_channel_info(ch, &info);
	ret = send_all(ch, &p, &sent, &tx_ns);
	ivc_stats_get(ch, &txs);
	if (ret < 0)
		fprintf(stderr, PROG ": sender: %s\n", ivc_strerror(ret));
	waitpid(pid, &st, 0);
	ivc_close(ch);
	if (WIFSIGNALED(st))
		fprintf(stderr, PROG ": receiver killed by signal %d (%s)\n",
			WTERMSIG(st), strsignal(WTERMSIG(st)));
	else if (WEXITSTATUS(st) != 0)
		fprintf(stderr, PROG ": receiver failed (exit status %d)\n",
			WEXITSTATUS(st));
	if (ret < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || rep->err)
		return 1;

	{
		double rx_s = (double)rep->elapsed_ns * 1e-9;
		double tx_s = (double)tx_ns * 1e-9;
		double rx_mps = rx_s > 0 ? (double)rep->msgs / rx_s : 0;
		double rx_gbs = rx_s > 0 ? (double)rep->bytes / rx_s * 1e-9 : 0;
		double tx_mps = tx_s > 0 ? (double)sent / tx_s : 0;

		if (p.csv) {
			printf("what,mode,size,burst,cpus,msgs,secs,msgs_per_s,gb_per_s,"
			       "tx_doorbells,tx_sleeps,tx_ring_full_stalls,tx_pool_empty_stalls,"
			       "rx_doorbells,rx_sleeps,rx_spin_hits,seq_errors\n");
			printf("ivc-stream,%s,%zu,%u,%d:%d,%llu,%.4f,%.0f,%.4f,%llu,%llu,%llu,%llu,"
			       "%llu,%llu,%llu,%llu\n", bench_mode_name(p.mode), p.size, p.burst,
			       p.cpu_a, p.cpu_b, (unsigned long long)rep->msgs, rx_s, rx_mps,
			       rx_gbs, (unsigned long long)txs.doorbells,
			       (unsigned long long)txs.sleeps,
			       (unsigned long long)txs.ring_full_stalls,
			       (unsigned long long)txs.pool_empty_stalls,
			       (unsigned long long)rep->stats.doorbells,
			       (unsigned long long)rep->stats.sleeps,
			       (unsigned long long)rep->stats.spin_hits,
			       (unsigned long long)rep->seq_errors);
		} else {
			printf(PROG ": %zu-byte messages in bursts of %u, CPU %d -> CPU %d, mode %s,"
			       " lane %u slots x %u B (%u bufs)\n", p.size, p.burst, p.cpu_a,
			       p.cpu_b, bench_mode_name(p.mode), info.tx.slots, info.tx.buf_size,
			       info.tx.buf_count);
			printf("  received %llu msgs (%llu bytes) in %.3f s: %.2f M msgs/s, %.3f GB/s\n",
			       (unsigned long long)rep->msgs, (unsigned long long)rep->bytes,
			       rx_s, rx_mps * 1e-6, rx_gbs);
			printf("  sent     %llu msgs in %.3f s: %.2f M msgs/s\n",
			       (unsigned long long)sent, tx_s, tx_mps * 1e-6);
			print_stats("sender", &txs);
			print_stats("receiver", &rep->stats);
			if (rep->seq_errors)
				printf("  SEQUENCE ERRORS: %llu\n",
				       (unsigned long long)rep->seq_errors);
		}
	}
	if (rep->msgs != sent || rep->seq_errors) {
		fprintf(stderr, PROG ": sent %llu but received %llu messages (%llu out of sequence)\n",
			(unsigned long long)sent, (unsigned long long)rep->msgs,
			(unsigned long long)rep->seq_errors);
		return 1;
	}
	return 0;
}
