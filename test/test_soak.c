/* SPDX-License-Identifier: MIT */
/*
 * test_soak [MESSAGES] - a bounded soak: channel after channel between two
 * processes, with zero loss, duplication, reordering or corruption.
 *
 * The run is a sequence of sessions.  Each session opens a fresh channel
 * (the parent listens and the child connects, or the other way round),
 * moves a random number of messages over it (1..2 million, fewer for short
 * runs, now and then only a handful), closes it, and moves on, until
 * MESSAGES messages have gone through: IVC_SOAK_MESSAGES from the
 * environment, else argv[1], else IVC_SOAK_DEFAULT_MESSAGES (set by the
 * build; ctest's test_soak_full runs 100 million).
 *
 * Sessions alternate between the placements "same-cpu" (both processes
 * pinned to one CPU) and "cross-cpu" (pinned to two CPUs; on a one-CPU
 * machine every session is same-cpu, and the first line says so).  Within
 * a placement they take, in an order shuffled afresh each round, every
 * combination of
 *  - each endpoint's mode: poll, adaptive, block (never poll on a shared
 *    CPU: a documented anti-pattern that only yields);
 *  - each endpoint's API: copying (ivc_send/ivc_recv) or zero-copy
 *    (ivc_tx_alloc/ivc_tx_send with random flush sizes and long chains
 *    split across sends, ivc_rx_burst with random burst sizes, and
 *    ivc_rx_release in random order and groups, a few buffers kept across
 *    bursts).
 * At random, too: inline small messages (IVC_OPT_INLINE) per sender, a
 * small geometry per lane (1 KiB buffers, 64 slots: more chains, more ring
 * laps), which side listens, and the direction: child to parent, parent to
 * child, or both at once (each side a sending and a receiving thread on its
 * one CPU; a polling endpoint then polls adaptively instead, as its two
 * threads would otherwise spin against each other).
 *
 * Message i of a session carries (session << 40 | i) in its first bytes and
 * an FNV-1a checksum in its last four, over bytes seeded per session and
 * direction (t_msg_*); sizes are skewed small: 85% of at most 64 bytes, 10%
 * up to 1 KiB, 4.5% up to 8 KiB, 0.5% up to 64 KiB (chains of up to 16
 * buffers of 4 KiB, or 64 of 1 KiB).  The receiver checks every message
 * byte for byte, in exact order: no gap, no duplicate, no corruption.
 * After its last message the sender closes in order and the receiver must
 * get -EPIPE (when both directions carry messages, one side closes first
 * and checks with a non-waiting receive that nothing follows its last
 * message).  The counters (ivc_stats) must agree with what was sent and
 * received.  Processes hand each other the session's address over a pipe;
 * nothing waits on a sleep.
 *
 * Progress goes to stdout every 10 s; the last line is
 *   soak: N messages, S sessions, B bytes, E errors, T s (same-cpu n1, cross-cpu n2)
 * IVC_TEST_SEED changes the seed; IVC_SOAK_VERBOSE=1 prints every session.
 */
#include "check.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#ifndef IVC_SOAK_DEFAULT_MESSAGES
#define IVC_SOAK_DEFAULT_MESSAGES 6000000ull
#endif

/* The watchdog allows this many messages per second at the least, plus a
 * minute: far below any real rate, so it only fires on a hang. */
#ifdef IVC_TEST_SANITIZE
#define MIN_RATE 2000u
#else
#define MIN_RATE 20000u
#endif

#define MAX_MSG (64u * 1024u)
#define SESSION_MAX 2000000u
#define CALL_TIMEOUT_MS 20000
#define PROGRESS_NS (10ull * 1000000000ull)
#define INLINE_MAX 112u /* the largest inline payload (IVC_OPT_INLINE) */

/*
 * Zero-copy limits.  The receiver keeps at most HOLD_MAX buffers across
 * bursts and the sender at most PEND_MAX allocated and not yet sent; their
 * sum stays below the smallest pool (SMALL_COUNT), so the sender can always
 * get a buffer once the ring has drained, and below the smallest ring
 * (SMALL_SLOTS), so held inline copies never stall the ring either.
 */
#define PEND_MAX 64u
#define RX_MAX 256u
#define HOLD_MAX 16u

#define SMALL_SLOTS 64u
#define SMALL_BUF 1024u
#define SMALL_COUNT 128u
_Static_assert(HOLD_MAX + PEND_MAX < SMALL_COUNT && HOLD_MAX < SMALL_SLOTS,
	       "zero-copy hold limits must leave the sender room");
_Static_assert(MAX_MSG <= SMALL_BUF * SMALL_SLOTS,
	       "the largest message must fit the small geometry");

static const char *const g_placement[2] = {"same-cpu", "cross-cpu"};
static const char *const g_who[2] = {"parent", "child"};

static uint64_t g_seed;
static uint64_t g_total;   /* messages in the whole run */
static int g_cpu[2];       /* cpus[0]: the parent's; cpus[1]: the child's when cross */
static int g_ncpu;         /* 1: same-cpu sessions only */
static int g_verbose;
static int g_fd_in = -1, g_fd_out = -1; /* address pipes to and from the peer */

/* ---- the plan: both processes derive every session from (seed, index) ---- */

/* One endpoint's settings for a session. */
struct side {
	enum ivc_mode mode;
	int zc;            /* zero-copy API (else ivc_send/ivc_recv) */
	int inl;           /* IVC_OPT_INLINE on what it sends */
	int small;         /* small geometry for the lane it sends on */
	unsigned tx_burst; /* zc: send once this many buffers are pending */
	unsigned rx_burst; /* zc: largest burst asked for */
};

struct session {
	uint64_t index;
	int cross;          /* placement: cross-cpu (1) or same-cpu (0) */
	int parent_listens;
	int closer;         /* the side that closes without waiting for -EPIPE */
	struct side side[2];/* [0] parent, [1] child */
	uint64_t n[2];      /* messages sent by the parent / by the child */
};

/* A combination the rotation covers: each side's mode and API. */
struct combo {
	enum ivc_mode mode[2];
	int zc[2];
};

#define MAX_COMBOS (3 * 3 * 2 * 2)
static struct combo g_combo[2][MAX_COMBOS]; /* [cross] */
static unsigned g_ncombo[2];

static void build_combos(void)
{
	static const enum ivc_mode modes[3] = {IVC_MODE_POLL, IVC_MODE_ADAPTIVE,
					       IVC_MODE_BLOCK};
	for (int cross = 0; cross < 2; cross++)
		for (int m0 = 0; m0 < 3; m0++)
			for (int m1 = 0; m1 < 3; m1++)
				for (int z = 0; z < 4; z++) {
					/* Never poll with both ends on one CPU. */
					if (!cross && (modes[m0] == IVC_MODE_POLL ||
						       modes[m1] == IVC_MODE_POLL))
						continue;
					struct combo *c =
						&g_combo[cross][g_ncombo[cross]++];
					c->mode[0] = modes[m0];
					c->mode[1] = modes[m1];
					c->zc[0] = z & 1;
					c->zc[1] = z >> 1;
				}
}

/*
 * The placements alternate (same-cpu only on a one-CPU machine); within
 * one, the @k-th session takes combination k of a fresh shuffle per round,
 * so every round covers them all.  Must be called for s = 0, 1, 2, ...
 */
static const struct combo *combo_for(uint64_t s, int *cross)
{
	static struct combo shuffled[2][MAX_COMBOS];
	int x = g_ncpu >= 2 ? (int)(s & 1) : 0;
	uint64_t k = g_ncpu >= 2 ? s >> 1 : s;
	unsigned n = g_ncombo[x];

	if (k % n == 0) {
		uint64_t st = g_seed ^ (2 * (k / n) + (uint64_t)x) * 0xA24BAED4963EE407ull;
		struct combo *c = shuffled[x];
		memcpy(c, g_combo[x], sizeof(c[0]) * n);
		for (unsigned i = n - 1; i > 0; i--) {
			unsigned j = (unsigned)(t_splitmix64(&st) % (i + 1));
			struct combo t = c[i];
			c[i] = c[j];
			c[j] = t;
		}
	}
	*cross = x;
	return &shuffled[x][k % n];
}

static uint64_t session_len(uint64_t *rng)
{
	uint64_t max = g_total / 40;
	if (max > SESSION_MAX)
		max = SESSION_MAX;
	if (max < 1)
		max = 1;
	uint64_t r = t_splitmix64(rng);
	if (r % 8 == 0)
		return 1 + (r >> 3) % 64; /* now and then only a handful */
	return 1 + (r >> 3) % max;
}

/* Session @s, with @left messages still to go (> 0).  Must be called for
 * s = 0, 1, 2, ... in order (the rotation reshuffles per round). */
static void plan(uint64_t s, uint64_t left, struct session *ss)
{
	static const unsigned bursts[] = {1, 2, 4, 7, 16, 32, 64, 256};
	uint64_t rng = g_seed ^ (s + 1) * 0x9E3779B97F4A7C15ull;
	memset(ss, 0, sizeof(*ss));
	const struct combo *c = combo_for(s, &ss->cross);
	ss->index = s;
	ss->parent_listens = (int)(t_splitmix64(&rng) & 1);
	for (int k = 0; k < 2; k++) {
		struct side *sd = &ss->side[k];
		uint64_t r = t_splitmix64(&rng);
		sd->mode = c->mode[k];
		sd->zc = c->zc[k];
		sd->inl = r % 3 == 0;
		sd->small = (r >> 8) % 4 == 0;
		sd->tx_burst = 1 + (unsigned)((r >> 16) % PEND_MAX);
		sd->rx_burst = bursts[(r >> 32) % (sizeof(bursts) / sizeof(bursts[0]))];
	}
	/* Direction: 40% child to parent, 40% parent to child, 20% both. */
	unsigned dir = (unsigned)(t_splitmix64(&rng) % 10);
	if (dir < 4) {
		ss->n[1] = session_len(&rng);
	} else if (dir < 8) {
		ss->n[0] = session_len(&rng);
	} else {
		ss->n[0] = session_len(&rng);
		ss->n[1] = session_len(&rng);
	}
	if (ss->n[0] > left)
		ss->n[0] = left;
	if (ss->n[1] > left - ss->n[0])
		ss->n[1] = left - ss->n[0];
	if (!ss->n[0] && !ss->n[1])
		ss->n[0] = 1;
	if (ss->n[0] && ss->n[1]) {
		ss->closer = (int)(t_splitmix64(&rng) & 1);
		/* Each side runs two threads on its one CPU: a polling thread
		 * would spin against its own sibling (the shared-CPU
		 * anti-pattern), so such sessions poll adaptively instead. */
		for (int k = 0; k < 2; k++)
			if (ss->side[k].mode == IVC_MODE_POLL)
				ss->side[k].mode = IVC_MODE_ADAPTIVE;
	} else {
		ss->closer = ss->n[0] ? 0 : 1; /* the sender */
	}
}

static void describe(const struct session *ss, char *out, size_t size)
{
	size_t o = (size_t)snprintf(out, size, "session %llu (%s, %s listens",
				    (unsigned long long)ss->index,
				    g_placement[ss->cross],
				    g_who[!ss->parent_listens]);
	for (int k = 0; k < 2 && o < size; k++) {
		const struct side *sd = &ss->side[k];
		o += (size_t)snprintf(out + o, size - o,
				      "; %s sends %llu: %s %s%s%s tx_burst %u rx_burst %u",
				      g_who[k], (unsigned long long)ss->n[k],
				      t_mode_name(sd->mode), sd->zc ? "zc" : "copy",
				      sd->inl ? " inline" : "",
				      sd->small ? " small" : "", sd->tx_burst,
				      sd->rx_burst);
	}
	if (o < size)
		snprintf(out + o, size - o, "; %s closes first)", g_who[ss->closer]);
}

static void side_opts(const struct side *sd, struct ivc_options *o)
{
	ivc_options_init(o);
	o->tx.slots = sd->small ? SMALL_SLOTS : IVC_DEFAULT_SLOTS;
	o->tx.buf_size = sd->small ? SMALL_BUF : IVC_DEFAULT_BUF_SIZE;
	o->tx.buf_count = sd->small ? SMALL_COUNT : 2 * IVC_DEFAULT_SLOTS;
	o->mode = sd->mode;
	if (sd->inl)
		o->flags |= IVC_OPT_INLINE;
}

/* ---- one direction of a session ------------------------------------------ */

struct stream {
	const char *what;       /* "session 12 parent->child" */
	struct ivc_channel *ch;
	const struct side *me;  /* this endpoint */
	const struct side *peer;
	uint32_t tx_buf;        /* our lane's buffer size */
	uint32_t rx_buf;        /* the peer's lane's buffer size */
	uint64_t seed, base, n; /* messages base + 0 .. base + n - 1 */
	uint64_t rng;
	int cpu;                /* pin here (-1: not at all) */
	int wait_epipe;         /* rx: the peer closes after its last message */
	int report;             /* progress lines come from this stream */
	int failed;
	uint64_t done, bytes;
	unsigned char *msg, *scratch;
};

#define SFAIL(st, fmt, ...)                                                  \
	do {                                                                 \
		t_fail(__FILE__, __LINE__, "%s: " fmt, (st)->what,           \
		       __VA_ARGS__);                                         \
		(st)->failed = 1;                                            \
	} while (0)

/* Totals of the sessions finished so far (parent only). */
static uint64_t g_msgs, g_bytes, g_sessions, g_t0, g_last_print;

static void progress(struct stream *st)
{
	if (!st->report || (st->done & 4095))
		return;
	uint64_t now = t_now_ns();
	if (now - g_last_print < PROGRESS_NS)
		return;
	g_last_print = now;
	uint64_t m = g_msgs + st->done;
	double secs = (double)(now - g_t0) / 1e9;
	printf("soak: progress: %llu of %llu messages, %llu sessions, %.0f s, "
	       "%.2f M msg/s\n", (unsigned long long)m,
	       (unsigned long long)g_total, (unsigned long long)g_sessions,
	       secs, (double)m / secs / 1e6);
}

static uint64_t rand_below(struct stream *st, uint64_t n)
{
	return t_splitmix64(&st->rng) % n;
}

/* Send the @np pending buffers (several calls if the ring is short). */
static int tx_flush(struct stream *st, struct ivc_buf *pend, unsigned *np)
{
	unsigned sent = 0;
	while (sent < *np) {
		int r = ivc_tx_send(st->ch, pend + sent, *np - sent, CALL_TIMEOUT_MS);
		if (r <= 0 || (unsigned)r > *np - sent) {
			SFAIL(st, "ivc_tx_send after %llu messages: %d (%s)",
			      (unsigned long long)st->done, r, t_errname(r));
			return -1;
		}
		sent += (unsigned)r;
	}
	*np = 0;
	return 0;
}

/* Zero-copy: message @len bytes at st->msg into buffers; a chain longer
 * than what may stay pending goes out in pieces. */
static int tx_zc_one(struct stream *st, struct ivc_buf *pend, unsigned *np,
		     size_t len)
{
	unsigned left = (unsigned)((len + st->tx_buf - 1) / st->tx_buf);
	size_t off = 0;

	if (*np && *np + left > st->me->tx_burst && tx_flush(st, pend, np))
		return -1;
	while (left) {
		if (*np == PEND_MAX && tx_flush(st, pend, np))
			return -1;
		unsigned want = left < PEND_MAX - *np ? left : PEND_MAX - *np;
		int r = ivc_tx_alloc(st->ch, pend + *np, want, CALL_TIMEOUT_MS);
		if (r <= 0 || (unsigned)r > want) {
			SFAIL(st, "ivc_tx_alloc(%u) after %llu messages: %d (%s)",
			      want, (unsigned long long)st->done, r, t_errname(r));
			return -1;
		}
		for (int k = 0; k < r; k++) {
			struct ivc_buf *b = &pend[*np + (unsigned)k];
			size_t chunk = len - off < st->tx_buf ? len - off : st->tx_buf;
			if (b->cap != st->tx_buf || !b->data) {
				SFAIL(st, "allocated buffer: cap %u, data %p",
				      b->cap, b->data);
				*np += (unsigned)r;
				return -1;
			}
			memcpy(b->data, st->msg + off, chunk);
			b->len = (uint32_t)chunk;
			b->flags = --left ? IVC_BUF_MORE : 0;
			off += chunk;
		}
		*np += (unsigned)r;
	}
	if (*np >= st->me->tx_burst)
		return tx_flush(st, pend, np);
	return 0;
}

/* Now and then: buffers allocated and handed back unsent. */
static void tx_zc_free_some(struct stream *st)
{
	struct ivc_buf b[3];
	int r = ivc_tx_alloc(st->ch, b, 1 + (unsigned)rand_below(st, 3), 0);
	if (r == -EAGAIN)
		return; /* the pool is empty right now: fine */
	if (r <= 0) {
		SFAIL(st, "ivc_tx_alloc: %d (%s)", r, t_errname(r));
		return;
	}
	if (ivc_tx_free(st->ch, b, (unsigned)r) != 0 ||
	    ivc_tx_free(st->ch, b, 1) != -EINVAL) /* twice */
		SFAIL(st, "ivc_tx_free of %d buffers misbehaved", r);
}

static void run_tx(struct stream *st)
{
	struct ivc_buf pend[PEND_MAX];
	unsigned np = 0;

	for (uint64_t i = 0; i < st->n && !st->failed; i++) {
		uint64_t seq = st->base + i;
		size_t len = t_msg_len(st->seed, seq, MAX_MSG);
		t_msg_fill(st->seed, seq, st->msg, len);
		if (!st->me->zc) {
			int r = ivc_send(st->ch, st->msg, len, CALL_TIMEOUT_MS);
			if (r != 0) {
				SFAIL(st, "ivc_send(#%llu, %zu bytes): %d (%s)",
				      (unsigned long long)i, len, r, t_errname(r));
				break;
			}
		} else {
			if (tx_zc_one(st, pend, &np, len))
				break;
			if (rand_below(st, 4096) == 0)
				tx_zc_free_some(st);
		}
		st->done++;
		st->bytes += len;
		progress(st);
	}
	if (!st->failed && np)
		tx_flush(st, pend, &np);
	if (st->failed && np)
		(void)ivc_tx_free(st->ch, pend, np);
}

/* The cap a received piece must have: the peer's buffer size, or the
 * inline cap for a small piece of an inline sender. */
static uint32_t want_cap(const struct stream *st, uint32_t len)
{
	uint32_t icap = st->rx_buf < INLINE_MAX ? st->rx_buf : INLINE_MAX;
	return st->peer->inl && len <= icap ? icap : st->rx_buf;
}

/* Check a whole received message: number st->done of the stream. */
static void rx_check(struct stream *st, const unsigned char *buf, size_t len)
{
	uint64_t seq = st->base + st->done;
	const char *why = t_msg_verify(st->seed, seq, MAX_MSG, buf, len,
				       st->scratch);
	if (why) {
		SFAIL(st, "message %llu of %llu: %s",
		      (unsigned long long)st->done, (unsigned long long)st->n,
		      why);
		return;
	}
	st->done++;
	st->bytes += len;
	progress(st);
}

/* Release @n buffers in random order and random groups; keep some (at most
 * HOLD_MAX in all) for a later burst, and give back some kept ones. */
static void rx_release_random(struct stream *st, struct ivc_buf *b, unsigned n,
			      struct ivc_buf *held, unsigned *nheld)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)rand_below(st, i);
		struct ivc_buf t = b[i - 1];
		b[i - 1] = b[j];
		b[j] = t;
	}
	unsigned k = 0;
	while (k < n && !st->failed) {
		if (*nheld < HOLD_MAX && rand_below(st, 8) == 0) {
			held[(*nheld)++] = b[k++];
			continue;
		}
		unsigned g = 1 + (unsigned)rand_below(st, 8);
		if (g > n - k)
			g = n - k;
		if (ivc_rx_release(st->ch, b + k, g) != 0)
			SFAIL(st, "ivc_rx_release(%u): failed", g);
		else if (rand_below(st, 1024) == 0 &&
			 ivc_rx_release(st->ch, b + k, 1) != -EINVAL)
			SFAIL(st, "%s", "a second ivc_rx_release was not -EINVAL");
		k += g;
	}
	if (*nheld && rand_below(st, 4) == 0) {
		unsigned g = 1 + (unsigned)rand_below(st, *nheld);
		for (unsigned i = 0; i < g; i++) { /* g random ones to the end */
			unsigned j = (unsigned)rand_below(st, *nheld - i);
			struct ivc_buf t = held[*nheld - 1 - i];
			held[*nheld - 1 - i] = held[j];
			held[j] = t;
		}
		if (ivc_rx_release(st->ch, held + *nheld - g, g) != 0)
			SFAIL(st, "ivc_rx_release(%u kept): failed", g);
		*nheld -= g;
	}
}

static void rx_zc(struct stream *st)
{
	struct ivc_buf b[RX_MAX], held[HOLD_MAX];
	unsigned nheld = 0;
	size_t alen = 0;

	while (st->done < st->n && !st->failed) {
		unsigned want = 1 + (unsigned)rand_below(st, st->me->rx_burst);
		int r = ivc_rx_burst(st->ch, b, want, CALL_TIMEOUT_MS);
		if (r <= 0 || (unsigned)r > want) {
			SFAIL(st, "ivc_rx_burst(%u) after %llu of %llu messages: %d (%s)",
			      want, (unsigned long long)st->done,
			      (unsigned long long)st->n, r, t_errname(r));
			break;
		}
		for (int k = 0; k < r && !st->failed; k++) {
			const struct ivc_buf *p = &b[k];
			if (st->done >= st->n || p->cap != want_cap(st, p->len) ||
			    p->len > p->cap || (p->flags & ~IVC_BUF_MORE) ||
			    alen + p->len > MAX_MSG) {
				SFAIL(st, "message %llu of %llu: bad buffer: len %u "
				      "cap %u flags %#x (%zu bytes so far)",
				      (unsigned long long)st->done,
				      (unsigned long long)st->n, p->len, p->cap,
				      p->flags, alen);
				break;
			}
			memcpy(st->msg + alen, p->data, p->len);
			alen += p->len;
			if (!(p->flags & IVC_BUF_MORE)) {
				rx_check(st, st->msg, alen);
				alen = 0;
			}
		}
		rx_release_random(st, b, (unsigned)r, held, &nheld);
	}
	if (nheld && ivc_rx_release(st->ch, held, nheld) != 0)
		SFAIL(st, "ivc_rx_release(%u kept): failed", nheld);
	if (alen && !st->failed)
		SFAIL(st, "a chain of %zu bytes left open", alen);
}

static void rx_copy(struct stream *st)
{
	while (st->done < st->n && !st->failed) {
		ssize_t r;
		if (rand_below(st, 1024) == 0) {
			/* Too small a buffer: -EMSGSIZE, the message stays. */
			size_t want = t_msg_len(st->seed, st->base + st->done, MAX_MSG);
			r = ivc_recv(st->ch, st->msg, want - 1, CALL_TIMEOUT_MS);
			if (r != -EMSGSIZE) {
				SFAIL(st, "ivc_recv(cap %zu < len %zu): %zd (%s)",
				      want - 1, want, r, t_errname(r));
				break;
			}
		}
		r = ivc_recv(st->ch, st->msg, MAX_MSG, CALL_TIMEOUT_MS);
		if (r < 0) {
			SFAIL(st, "ivc_recv after %llu of %llu messages: %zd (%s)",
			      (unsigned long long)st->done,
			      (unsigned long long)st->n, r, t_errname(r));
			break;
		}
		rx_check(st, st->msg, (size_t)r);
	}
}

/* What follows the last message: -EPIPE once the peer has closed, or
 * (the peer still open, waiting for our close) nothing at all. */
static void rx_tail(struct stream *st)
{
	int want = st->wait_epipe ? -EPIPE : -EAGAIN;
	int tmo = st->wait_epipe ? CALL_TIMEOUT_MS : 0;
	for (int k = 0; k < (st->wait_epipe ? 2 : 1); k++, tmo = 0) {
		long long r;
		if (st->me->zc) {
			struct ivc_buf b[1];
			r = ivc_rx_burst(st->ch, b, 1, tmo);
			if (r > 0)
				(void)ivc_rx_release(st->ch, b, 1);
		} else {
			r = ivc_recv(st->ch, st->msg, MAX_MSG, tmo);
		}
		if (r != want) {
			SFAIL(st, "after the last of %llu messages: got %lld (%s), "
			      "want %s", (unsigned long long)st->n, r,
			      r > 0 ? "a message too many" : t_retname(r),
			      t_errname(want));
			return;
		}
	}
	if (st->wait_epipe && ivc_channel_error(st->ch) != -EPIPE)
		SFAIL(st, "ivc_channel_error: %d", ivc_channel_error(st->ch));
}

static void run_rx(struct stream *st)
{
	if (st->me->zc)
		rx_zc(st);
	else
		rx_copy(st);
	if (!st->failed)
		rx_tail(st);
}

static void pin(int cpu)
{
	if (cpu >= 0)
		CHECK_ERR(ivc_pin_thread(cpu), 0);
}

static void *tx_thread(void *arg)
{
	struct stream *st = arg;
	pin(st->cpu);
	run_tx(st);
	return NULL;
}

/* ---- sessions -------------------------------------------------------------- */

static int put_addr(const char *addr)
{
	char rec[108] = {0};
	snprintf(rec, sizeof(rec), "%s", addr);
	ssize_t w;
	do {
		w = write(g_fd_out, rec, sizeof(rec)); /* < PIPE_BUF: atomic */
	} while (w < 0 && errno == EINTR);
	return w == (ssize_t)sizeof(rec) ? 0 : -EPIPE;
}

/* Return: 0, -ETIMEDOUT, or -EPIPE (the peer has stopped). */
static int get_addr(char *addr, size_t size)
{
	size_t got = 0;
	char rec[108];
	while (got < sizeof(rec)) {
		struct pollfd p = {.fd = g_fd_in, .events = POLLIN};
		int r = poll(&p, 1, CALL_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -ETIMEDOUT;
		ssize_t n = read(g_fd_in, rec + got, sizeof(rec) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		got += (size_t)n;
	}
	rec[sizeof(rec) - 1] = 0;
	snprintf(addr, size, "%s", rec);
	return 0;
}

/* A fresh channel for the session: listen, tell the peer where, accept;
 * or learn where and connect.  NULL (failure recorded) if none. */
static struct ivc_channel *open_channel(const struct session *ss, int me)
{
	struct ivc_options o;
	struct ivc_channel *ch = NULL;
	char addr[108];
	int r;

	side_opts(&ss->side[me], &o);
	if ((me == 0) == ss->parent_listens) {
		struct ivc_listener *l = NULL;
		t_addr(addr, sizeof(addr), "soak");
		r = ivc_listen(addr, &o, &l);
		if (r == 0) {
			r = put_addr(addr);
			if (r == 0)
				r = ivc_accept(l, CALL_TIMEOUT_MS, &ch);
			ivc_listener_close(l);
		}
		if (r)
			t_fail(__FILE__, __LINE__, "session %llu: listen/accept: %d (%s)",
			       (unsigned long long)ss->index, r, t_errname(r));
	} else {
		r = get_addr(addr, sizeof(addr));
		if (r == 0)
			r = ivc_connect(addr, &o, CALL_TIMEOUT_MS, &ch);
		if (r)
			t_fail(__FILE__, __LINE__, "session %llu: connect: %d (%s)",
			       (unsigned long long)ss->index, r, t_errname(r));
	}
	return r ? NULL : ch;
}

/* The geometry each lane must have, and the largest messages. */
static void check_info(struct ivc_channel *ch, const struct session *ss, int me)
{
	struct ivc_options mine, theirs;
	struct ivc_info info;
	side_opts(&ss->side[me], &mine);
	side_opts(&ss->side[!me], &theirs);
	if (ivc_channel_info(ch, &info) != 0 ||
	    info.tx.slots != mine.tx.slots || info.tx.buf_size != mine.tx.buf_size ||
	    info.tx.buf_count != mine.tx.buf_count ||
	    info.rx.slots != theirs.tx.slots ||
	    info.rx.buf_size != theirs.tx.buf_size ||
	    info.rx.buf_count != theirs.tx.buf_count ||
	    info.max_tx_msg < MAX_MSG || info.max_rx_msg < MAX_MSG)
		t_fail(__FILE__, __LINE__, "session %llu: %s: unexpected geometry",
		       (unsigned long long)ss->index, g_who[me]);
	else
		t_pass();
}

/* This side's counters against what its streams saw. */
static void check_stats(struct ivc_channel *ch, const struct session *ss,
			int me, const struct stream *tx, const struct stream *rx)
{
	struct ivc_stats s;
	if (ivc_stats_get(ch, &s) != 0 || s.tx_msgs != tx->done ||
	    s.tx_bytes != tx->bytes || s.rx_msgs != rx->done ||
	    s.rx_bytes != rx->bytes ||
	    (ss->side[me].mode == IVC_MODE_POLL && s.sleeps != 0))
		t_fail(__FILE__, __LINE__,
		       "session %llu: %s: stats tx %llu msgs %llu bytes, rx %llu "
		       "msgs %llu bytes, %llu sleeps; streams sent %llu (%llu "
		       "bytes) and received %llu (%llu bytes)",
		       (unsigned long long)ss->index, g_who[me],
		       (unsigned long long)s.tx_msgs, (unsigned long long)s.tx_bytes,
		       (unsigned long long)s.rx_msgs, (unsigned long long)s.rx_bytes,
		       (unsigned long long)s.sleeps, (unsigned long long)tx->done,
		       (unsigned long long)tx->bytes, (unsigned long long)rx->done,
		       (unsigned long long)rx->bytes);
	else
		t_pass();
}

static uint64_t stream_seed(uint64_t s, int sender)
{
	uint64_t st = g_seed ^ (2 * s + (uint64_t)sender) * 0xD1B54A32D192ED03ull;
	return t_splitmix64(&st);
}

/*
 * run_session() - this process's side (@me: 0 parent, 1 child) of @ss.
 * Sends ss->n[me] messages and receives ss->n[!me], on two threads when
 * both are nonzero.  Adds the bytes it sent and received to *@bytes.
 * Return: 0, or -1 after a failure.
 */
static int run_session(const struct session *ss, int me, uint64_t *bytes)
{
	static unsigned char *bufs[4];
	char what[2][64];
	int cpu = me == 1 && ss->cross ? g_cpu[1] : g_cpu[0];
	int f0 = t_failures();
	uint64_t t0 = t_now_ns();

	for (int k = 0; k < 4; k++)
		if (!bufs[k])
			REQUIRE((bufs[k] = malloc(MAX_MSG)) != NULL);
	pin(cpu);
	struct ivc_channel *ch = open_channel(ss, me);
	if (!ch)
		return -1;
	check_info(ch, ss, me);

	struct ivc_info info;
	(void)ivc_channel_info(ch, &info);
	snprintf(what[0], sizeof(what[0]), "session %llu %s->%s",
		 (unsigned long long)ss->index, g_who[me], g_who[!me]);
	snprintf(what[1], sizeof(what[1]), "session %llu %s->%s",
		 (unsigned long long)ss->index, g_who[!me], g_who[me]);
	struct stream tx = {
		.what = what[0], .ch = ch, .me = &ss->side[me],
		.peer = &ss->side[!me], .tx_buf = info.tx.buf_size,
		.rx_buf = info.rx.buf_size, .seed = stream_seed(ss->index, me),
		.base = ss->index << 40, .n = ss->n[me],
		.rng = stream_seed(ss->index, me) ^ 0x7478ull, .cpu = cpu,
		.msg = bufs[0], .scratch = bufs[1],
	};
	struct stream rx = tx;
	rx.what = what[1];
	rx.seed = stream_seed(ss->index, !me);
	rx.n = ss->n[!me];
	rx.rng = tx.rng ^ 0x7278ull;
	rx.wait_epipe = ss->closer != me;
	rx.msg = bufs[2];
	rx.scratch = bufs[3];
	/* The parent's progress lines follow the stream its main thread runs. */
	rx.report = me == 0 && rx.n > 0;
	tx.report = me == 0 && rx.n == 0;

	pthread_t th;
	int threaded = tx.n && rx.n;
	if (threaded)
		REQUIRE(pthread_create(&th, NULL, tx_thread, &tx) == 0);
	else
		run_tx(&tx);
	run_rx(&rx);
	if (threaded)
		pthread_join(th, NULL);
	if (!tx.failed && !rx.failed) {
		if (tx.done != tx.n || rx.done != rx.n)
			t_fail(__FILE__, __LINE__, "session %llu: %s: sent %llu "
			       "of %llu, received %llu of %llu",
			       (unsigned long long)ss->index, g_who[me],
			       (unsigned long long)tx.done, (unsigned long long)tx.n,
			       (unsigned long long)rx.done, (unsigned long long)rx.n);
		check_stats(ch, ss, me, &tx, &rx);
	}
	CHECK_ERR(ivc_close(ch), 0);
	*bytes += tx.bytes + rx.bytes;
	if (t_failures() != f0 || (g_verbose && me == 0)) {
		char d[512];
		describe(ss, d, sizeof(d));
		fprintf(t_failures() != f0 ? stderr : stdout, "%s%s: %.3f s%s\n",
			me ? "[child] " : "", d, (double)(t_now_ns() - t0) / 1e9,
			t_failures() != f0 ? ", FAILED" : "");
	}
	return t_failures() != f0 ? -1 : 0;
}

static void child_main(void)
{
	uint64_t left = g_total, bytes = 0;
	struct session ss;
	for (uint64_t s = 0; left; s++) {
		plan(s, left, &ss);
		if (run_session(&ss, 1, &bytes))
			break;
		left -= ss.n[0] + ss.n[1];
	}
	t_child_exit();
}

int main(int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "usage: %s [messages]\n", argv[0]);
		return 2;
	}
	g_total = IVC_SOAK_DEFAULT_MESSAGES;
	if (argc == 2) {
		char *end;
		g_total = strtoull(argv[1], &end, 0);
		if (*end || end == argv[1]) {
			fprintf(stderr, "usage: %s [messages]\n", argv[0]);
			return 2;
		}
	}
	g_total = t_env_u64("IVC_SOAK_MESSAGES", g_total);
	g_seed = t_env_u64("IVC_TEST_SEED", 0x50a4c0ffeeull);
	g_verbose = (int)t_env_u64("IVC_SOAK_VERBOSE", 0);
	if (g_total == 0) {
		fprintf(stderr, "test_soak: no messages to send\n");
		return 2;
	}
	t_init("test_soak", (unsigned)(60 + g_total / MIN_RATE));

	int cpus[2] = {-1, -1};
	g_ncpu = ivc_cpu_list(cpus, 2);
	if (g_ncpu >= 2) {
		g_cpu[0] = cpus[0];
		g_cpu[1] = cpus[1];
		printf("soak: %llu messages, seed %#llx; same-cpu on CPU %d, "
		       "cross-cpu on CPUs %d and %d\n",
		       (unsigned long long)g_total, (unsigned long long)g_seed,
		       cpus[0], cpus[0], cpus[1]);
	} else {
		g_cpu[0] = g_cpu[1] = g_ncpu == 1 ? cpus[0] : -1;
		printf("soak: %llu messages, seed %#llx; one CPU: same-cpu "
		       "sessions only\n", (unsigned long long)g_total,
		       (unsigned long long)g_seed);
	}
	build_combos();

	int p2c[2], c2p[2];
	REQUIRE(pipe(p2c) == 0 && pipe(c2p) == 0);
	pid_t pid = t_fork();
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		g_fd_in = p2c[0];
		g_fd_out = c2p[1];
		child_main();
	}
	close(p2c[0]);
	close(c2p[1]);
	g_fd_in = c2p[0];
	g_fd_out = p2c[1];

	uint64_t left = g_total, per_place[2] = {0, 0};
	struct session ss;
	g_t0 = g_last_print = t_now_ns();
	while (left) {
		plan(g_sessions, left, &ss);
		int r = run_session(&ss, 0, &g_bytes);
		uint64_t n = ss.n[0] + ss.n[1];
		if (r)
			break;
		g_msgs += n;
		per_place[ss.cross] += n;
		g_sessions++;
		left -= n;
	}
	double secs = (double)(t_now_ns() - g_t0) / 1e9;

	/* A child still waiting for the next session sees the pipes close. */
	close(g_fd_in);
	close(g_fd_out);
	CHECK_CHILD_OK(t_wait_child(pid, CALL_TIMEOUT_MS + 10000));
	CHECK_EQ(g_msgs, g_total);
	printf("soak: %llu messages, %llu sessions, %llu bytes, %d errors, %.1f s "
	       "(same-cpu %llu, cross-cpu %llu)\n", (unsigned long long)g_msgs,
	       (unsigned long long)g_sessions, (unsigned long long)g_bytes,
	       t_failures(), secs, (unsigned long long)per_place[0],
	       (unsigned long long)per_place[1]);
	return t_finish();
}
