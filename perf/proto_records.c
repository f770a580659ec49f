/* SPDX-License-Identifier: MIT */
/*
 * ivc-proto-records - would small messages stream faster packed as records
 * in the ring itself?  An experiment for issue 16, kept so that its figures
 * can be reproduced; it asserts nothing and ships nothing.
 *
 * Four ways to move 64-byte messages, bursts of 32, the reader touching
 * every byte, two threads on two CPUs, all in one run (alternating, medians):
 *
 *   spsc      the bare ring of ivc-bench's spsc limit: 64-byte slots, the
 *             payload written in the slot, the head published once a burst.
 *   stamped   records (a 16-byte header + the payload, in 16-byte units)
 *             in a ring the sender owns.  The sender copies the payload from
 *             a buffer of its own (ivc's API: the caller fills an allocated
 *             buffer), writes "not yet" where the next record will start,
 *             and publishes each record with a stamp, as ivc's descriptors
 *             are published.  The receiver checks each header as it would
 *             an untrusted peer's (stamp, flags, length, fits the ring and
 *             the space it may use), reads in place, and releases in order,
 *             once a burst.
 *   indexed   the same records, published with a producer index once a
 *             burst instead of a stamp each (one more line per round trip).
 *   ivc       ivc's zero-copy calls on a plain lane (alloc, fill, send;
 *             burst, read, release), over shm in this process.
 *
 * usage: ivc-proto-records [RUNS [TX_CPU RX_CPU]]   (default 9, CPUs 0 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ivc/ivc.h>

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* Once a burst, as ivc's doorbell check after each publish. */
#define FENCE() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#define BURST 32u
#define MSG 64u
#define SLOTS 1024u            /* spsc: 64 KiB of 64-byte slots */
#define UNITS 2048u            /* records: 32 KiB of 16-byte units */
#define REC_MAX 96u            /* the largest record payload */
#define START (0u - 1024u)     /* indices start near the wrap, as ivc's */
#define RUNS_MAX 64

enum { F_MORE = 1u, F_PAD = 4u };

struct rec_hdr {
	uint32_t seq;
	uint32_t len;
	uint32_t flags;
	uint32_t reserved;
};

struct spsc_ring {
	_Alignas(64) uint32_t head;
	_Alignas(64) uint32_t tail;
	_Alignas(64) unsigned char slot[SLOTS][64];
};

struct rec_ring {
	_Alignas(64) uint32_t prod; /* indexed only */
	_Alignas(64) uint32_t cons;
	_Alignas(64) unsigned char unit[UNITS][16];
};

struct way {
	const char *name;
	void *(*tx)(void *);
	void *(*rx)(void *);
	void (*reset)(void);
	double mps[RUNS_MAX];
};

static struct spsc_ring *g_spsc;
static struct rec_ring *g_rec;
static struct ivc_channel *g_ivc_tx, *g_ivc_rx;
static int g_cpu[2] = { 0, 1 };
static volatile int g_stop;
static uint64_t g_received, g_sink;
static int g_bad; /* a check that an honest sender should never fail */

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void fill(unsigned char *p, uint64_t tag)
{
	memcpy(p, &tag, sizeof(tag));
	memset(p + sizeof(tag), (int)tag, MSG - sizeof(tag));
}

static uint64_t touch(const unsigned char *p)
{
	uint64_t s = 0, v;
	unsigned i;

	for (i = 0; i < MSG; i += 8) {
		memcpy(&v, p + i, sizeof(v));
		s += v;
	}
	return s;
}

static void received(unsigned n, uint64_t sum)
{
	__atomic_fetch_add(&g_received, n, __ATOMIC_RELAXED);
	g_sink += sum;
}

/* ------------------------------------------------------------- spsc -- */

static void *spsc_tx(void *arg)
{
	uint32_t head = 0, tail = 0, i;
	uint64_t tag = 0;

	(void)arg;
	pin(g_cpu[0]);
	while (!g_stop) {
		while (head + BURST - tail > SLOTS && !g_stop)
			tail = LOAD_ACQ(&g_spsc->tail);
		if (g_stop)
			break;
		for (i = 0; i < BURST; i++)
			fill(g_spsc->slot[(head + i) % SLOTS], tag++);
		head += BURST;
		STORE_REL(&g_spsc->head, head);
		FENCE();
	}
	return NULL;
}

static void *spsc_rx(void *arg)
{
	uint32_t tail = 0, head = 0, n, i;
	uint64_t sum = 0;

	(void)arg;
	pin(g_cpu[1]);
	while (!g_stop) {
		if (head == tail && (head = LOAD_ACQ(&g_spsc->head)) == tail)
			continue;
		n = head - tail < BURST ? head - tail : BURST;
		for (i = 0; i < n; i++)
			sum += touch(g_spsc->slot[(tail + i) % SLOTS]);
		tail += n;
		STORE_REL(&g_spsc->tail, tail);
		FENCE();
		received(n, 0);
	}
	received(0, sum);
	return NULL;
}

static void spsc_reset(void)
{
	memset(g_spsc, 0, sizeof(*g_spsc));
}

/* ---------------------------------------------------------- records -- */

static struct rec_hdr *rec_at(uint32_t idx)
{
	return (struct rec_hdr *)g_rec->unit[idx % UNITS];
}

static uint32_t rec_units(uint32_t len)
{
	return 1 + (len + 15) / 16;
}

/* Write one record at *@prod (a pad first when it would not fit before
 * the ring's end); @stamped: publish it with its stamp.  The caller has
 * checked that pad + units (+ 1 for the next stamp) are free. */
static void rec_put(uint32_t *prod, const unsigned char *payload, uint32_t len,
		    int stamped)
{
	uint32_t units = rec_units(len), pos = *prod % UNITS;
	struct rec_hdr *h;

	if (pos + units > UNITS) {
		h = rec_at(*prod);
		if (stamped) /* where the record will go: "not yet" */
			STORE(&rec_at(*prod + UNITS - pos)->seq, *prod + UNITS - pos - UNITS);
		STORE(&h->len, 0u);
		STORE(&h->flags, (uint32_t)F_PAD);
		if (stamped)
			STORE_REL(&h->seq, *prod);
		*prod += UNITS - pos;
	}
	h = rec_at(*prod);
	if (stamped) /* an old payload there must not pass for a stamp */
		STORE(&rec_at(*prod + units)->seq, *prod + units - UNITS);
	memcpy(h + 1, payload, len);
	STORE(&h->len, len);
	STORE(&h->flags, 0u);
	if (stamped)
		STORE_REL(&h->seq, *prod);
	*prod += units;
}

static void *rec_tx(void *arg)
{
	_Alignas(64) unsigned char own[2][4096]; /* the caller's buffers */
	int stamped = arg != NULL;
	uint32_t prod = START, cons = START, i;
	uint64_t tag = 0;

	pin(g_cpu[0]);
	while (!g_stop) {
		for (i = 0; i < BURST; i++) {
			uint32_t need = rec_units(MSG) + REC_MAX / 16 + 1;

			fill(own[i & 1], tag++);
			while (prod + need - cons > UNITS && !g_stop)
				cons = LOAD_ACQ(&g_rec->cons);
			if (g_stop)
				return NULL; /* no room: the reader has stopped */
			rec_put(&prod, own[i & 1], MSG, stamped);
		}
		if (!stamped)
			STORE_REL(&g_rec->prod, prod);
		FENCE();
	}
	return NULL;
}

/* Check the header at @cons as from an untrusted sender.  Return: units to
 * skip (a pad, *@data NULL) or the record's units (*@data its payload);
 * 0 when not published yet. */
static uint32_t rec_get(uint32_t cons, uint32_t done, uint32_t avail,
			int stamped, const unsigned char **data)
{
	struct rec_hdr *h = rec_at(cons);
	uint32_t pos = cons % UNITS, len, flags, units;

	if (stamped) {
		uint32_t seq = LOAD_ACQ(&h->seq);

		if (seq != cons) {
			g_bad |= seq != cons - UNITS;
			return 0;
		}
	}
	len = LOAD(&h->len);
	flags = LOAD(&h->flags);
	*data = NULL;
	if (flags == F_PAD) {
		g_bad |= pos == 0 || UNITS - pos > avail;
		return UNITS - pos;
	}
	units = rec_units(len);
	if ((flags & ~(uint32_t)F_MORE) || len > REC_MAX || pos + units > UNITS ||
	    units > avail || cons + units + stamped - done > UNITS) {
		g_bad = 1;
		return 0;
	}
	*data = (const unsigned char *)(h + 1);
	return units;
}

static void *rec_rx(void *arg)
{
	const unsigned char *got[BURST];
	int stamped = arg != NULL;
	uint32_t cons = START, prod = START, done, k, i, step;
	uint64_t sum = 0;

	pin(g_cpu[1]);
	while (!g_stop) {
		if (!stamped && prod == cons)
			prod = LOAD_ACQ(&g_rec->prod);
		done = cons; /* all released: the last burst was */
		for (k = 0; k < BURST && (stamped || cons != prod); cons += step) {
			step = rec_get(cons, done, stamped ? UNITS : prod - cons,
				       stamped, &got[k]);
			if (!step)
				break;
			k += got[k] != NULL;
		}
		if (!k)
			continue;
		for (i = 0; i < k; i++)
			sum += touch(got[i]);
		STORE_REL(&g_rec->cons, cons); /* released in order, once a burst */
		FENCE();
		received(k, 0);
	}
	received(0, sum);
	return NULL;
}

static void *rec_tx_stamped(void *arg)
{
	(void)arg;
	return rec_tx((void *)1);
}

static void *rec_rx_stamped(void *arg)
{
	(void)arg;
	return rec_rx((void *)1);
}

static void rec_reset(void)
{
	memset(g_rec, 0, sizeof(*g_rec));
	g_rec->prod = g_rec->cons = START;
	rec_at(START)->seq = START - UNITS;
}

/* -------------------------------------------------------------- ivc -- */

static void *ivc_tx(void *arg)
{
	struct ivc_buf b[BURST];
	uint64_t tag = 0;
	unsigned n, i;
	int r;

	(void)arg;
	pin(g_cpu[0]);
	while (!g_stop) {
		for (n = 0; n < BURST && !g_stop; n += r > 0 ? (unsigned)r : 0)
			if ((r = ivc_tx_alloc(g_ivc_tx, b + n, BURST - n, 10)) < 0 &&
			    r != -ETIMEDOUT)
				abort();
		for (i = 0; i < n; i++) {
			fill(b[i].data, tag++);
			b[i].len = MSG;
		}
		for (i = 0; i < n;) {
			r = ivc_tx_send(g_ivc_tx, b + i, n - i, 10);
			if (r > 0)
				i += (unsigned)r;
			else if (r != -ETIMEDOUT)
				abort();
			else if (g_stop)
				break;
		}
		if (i < n)
			(void)ivc_tx_free(g_ivc_tx, b + i, n - i);
	}
	return NULL;
}

static void *ivc_rx(void *arg)
{
	struct ivc_buf b[BURST];
	uint64_t sum = 0;
	int r, i;

	(void)arg;
	pin(g_cpu[1]);
	while (!g_stop) {
		r = ivc_rx_burst(g_ivc_rx, b, BURST, 10);
		if (r == -ETIMEDOUT)
			continue;
		if (r < 0)
			abort();
		for (i = 0; i < r; i++)
			sum += touch(b[i].data);
		if (ivc_rx_release(g_ivc_rx, b, (unsigned)r))
			abort();
		received((unsigned)r, 0);
	}
	received(0, sum);
	return NULL;
}

static void ivc_reset(void)
{
}

static void *accept_one(void *l)
{
	if (ivc_accept(l, 5000, &g_ivc_rx))
		abort();
	return NULL;
}

static void ivc_open_pair(void)
{
	struct ivc_listener *l;
	pthread_t t;

	if (ivc_listen("shm:@ivc-proto-records", NULL, &l) ||
	    pthread_create(&t, NULL, accept_one, l))
		abort();
	if (ivc_connect("shm:@ivc-proto-records", NULL, 5000, &g_ivc_tx))
		abort();
	pthread_join(t, NULL);
	ivc_listener_close(l);
}

/* ------------------------------------------------------------- runs -- */

/* Messages per second over 0.4 s, after 0.1 s of warming up. */
static double measure(const struct way *w)
{
	struct timespec warm = { 0, 100000000 }, span = { 0, 400000000 };
	pthread_t tx, rx;
	uint64_t c0, c1;
	double t0, t1;

	w->reset();
	g_stop = 0;
	if (pthread_create(&tx, NULL, w->tx, NULL) ||
	    pthread_create(&rx, NULL, w->rx, NULL))
		abort();
	nanosleep(&warm, NULL);
	c0 = __atomic_load_n(&g_received, __ATOMIC_RELAXED);
	t0 = now_s();
	nanosleep(&span, NULL);
	c1 = __atomic_load_n(&g_received, __ATOMIC_RELAXED);
	t1 = now_s();
	g_stop = 1;
	pthread_join(tx, NULL);
	pthread_join(rx, NULL);
	return (double)(c1 - c0) / (t1 - t0);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct way ways[] = {
		{ "spsc (bare ring, 64 B slots)", spsc_tx, spsc_rx, spsc_reset, { 0 } },
		{ "records, a stamp each", rec_tx_stamped, rec_rx_stamped, rec_reset, { 0 } },
		{ "records, an index a burst", rec_tx, rec_rx, rec_reset, { 0 } },
		{ "ivc zero-copy (plain lane)", ivc_tx, ivc_rx, ivc_reset, { 0 } },
	};
	const unsigned nways = sizeof(ways) / sizeof(ways[0]);
	int runs = argc > 1 ? atoi(argv[1]) : 9, i;
	double ivc;
	unsigned w;

	if (runs < 1 || runs > RUNS_MAX || argc == 3) {
		fprintf(stderr, "usage: %s [RUNS (1-%d) [TX_CPU RX_CPU]]\n", argv[0], RUNS_MAX);
		return 2;
	}
	if (argc > 3) {
		g_cpu[0] = atoi(argv[2]);
		g_cpu[1] = atoi(argv[3]);
	}
	g_spsc = aligned_alloc(4096, sizeof(*g_spsc));
	g_rec = aligned_alloc(4096, sizeof(*g_rec));
	if (!g_spsc || !g_rec)
		return 1;
	ivc_open_pair();
	for (i = 0; i < runs; i++)
		for (w = 0; w < nways; w++)
			ways[w].mps[i] = measure(&ways[w]);
	printf("64-byte messages, bursts of %u, reader touching, CPUs %d,%d, medians of %d\n",
	       BURST, g_cpu[0], g_cpu[1], runs);
	for (w = 0; w < nways; w++)
		qsort(ways[w].mps, (size_t)runs, sizeof(double), by_value);
	ivc = ways[nways - 1].mps[runs / 2];
	for (w = 0; w < nways; w++)
		printf("  %-30s %7.2f M msg/s   %.2fx ivc\n", ways[w].name,
		       ways[w].mps[runs / 2] / 1e6, ways[w].mps[runs / 2] / ivc);
	if (g_bad)
		printf("a check failed on an honest sender: the figures are void\n");
	ivc_close(g_ivc_tx);
	ivc_close(g_ivc_rx);
	return g_bad ? 1 : (int)(g_sink & 0);
}
