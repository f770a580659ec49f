/* SPDX-License-Identifier: MIT */
/*
 * test_hostile - a victim that only uses the public API against a hostile
 * peer (hostile.c) that connects through the real handshake and then lies
 * in shared memory, on the doorbells and on the control socket.
 *
 * For every attack, in every mode (adaptive, block, poll; or those named on
 * the command line), the victim sends and receives honest traffic while
 * the hostile warms up (1100 messages each way: every index crosses the
 * 32-bit wrap) and then lies.  The victim must:
 *  - get the documented error (-EPROTO; -ECONNRESET for a hang-up; random
 *    bytes may first forge an orderly close, -EPIPE) within
 *    ATTACK_BOUND_MS of the lie becoming visible, and keep getting it from
 *    every call (the channel is broken), with no call taking longer than
 *    CALL_BOUND_MS;
 *  - for a harmless lie (flooded doorbells or sleep flags, a nonsense CPU
 *    hint), get no error at all and every honest message intact, in order;
 *  - never deliver a message that is not the hostile's honest message of
 *    the expected sequence number, except where the attack rewrites payload
 *    bytes the hostile owns (those cases only check that nothing crashes
 *    and the error comes);
 *  - leave no descriptor or mapping behind after ivc_close() (and, under
 *    ASan, no leak and no access outside its own buffers).
 * Over xen (IVC_TEST_TRANSPORT=xen) the control-socket cases do not apply
 * and are skipped.
 */
#include "check.h"
#include "hostile.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define WARMUP 1100u          /* honest messages each way before the lie */
#define SEED_TO_HOSTILE 0x71c7131ull
#define ATTACK_BOUND_MS 2000u /* lie visible -> error */
#define CALL_BOUND_MS 1000u   /* any one call of the victim */
#define RECV_MS 2             /* the victim's receive timeout per step */
#define HOLD_MAX 8u           /* buffers a holding victim keeps */

enum {
	HC_TX = 0x1,       /* the lie is in the victim's lane (it sends) */
	HC_POOL = 0x2,     /* victim's lane: pool smaller than the ring */
	HC_HARMLESS = 0x4, /* no error expected; honest traffic must flow */
	HC_PAYLOAD = 0x8,  /* the lie rewrites payload the hostile owns */
	HC_INLINE = 0x10,  /* the hostile sends on an inline lane */
	HC_HOLD = 0x20,    /* the victim receives zero-copy and holds buffers */
	HC_SHM = 0x40,     /* the shm control socket: not over xen */
	HC_SENDING = 0x80, /* once the lie is told the victim only sends */
	HC_MAPPED = 0x100, /* a part no frame carries (the header): needs a
			    * mapping the victim reads, so not over tcp */
};

struct h_case {
	enum h_attack a;
	const char *name;
	unsigned flags;
	int want;
	int alt; /* another documented outcome, or 0 */
};

static const struct h_case cases[] = {
	{ H_SEQ_AHEAD, "stamp far ahead", 0, -EPROTO, 0 },
	{ H_SEQ_BEHIND, "stamp laps behind", 0, -EPROTO, 0 },
	{ H_BUF_OOB, "buffer index = count", 0, -EPROTO, 0 },
	{ H_BUF_MAX, "buffer index 2^32-1", 0, -EPROTO, 0 },
	{ H_LEN_OVER, "len = buf_size + 1", 0, -EPROTO, 0 },
	{ H_LEN_WRAP, "len wraps offset", 0, -EPROTO, 0 },
	{ H_FLAGS, "unknown flag bits", 0, -EPROTO, 0 },
	{ H_INLINE_PLAIN, "INLINE on plain lane", 0, -EPROTO, 0 },
	{ H_INLINE_LEN, "INLINE of 113 bytes", HC_INLINE, -EPROTO, 0 },
	{ H_CHAIN_ENDLESS, "chain never ends", 0, -EPROTO, 0 },
	{ H_BUF_TWICE, "held buffer lent again", HC_HOLD, -EPROTO, 0 },
	{ H_DESC_FLAP, "descriptor changes under read", HC_PAYLOAD, -EPROTO, 0 },
	{ H_HDR_OWN, "header geometry changed", HC_MAPPED, -EPROTO, 0 },
	{ H_HDR_START, "header idx_start changed", HC_MAPPED, -EPROTO, 0 },
	{ H_HDR_VICTIM, "victim's header changed", HC_MAPPED, -EPROTO, 0 },
	/* Random bytes may set the sender's "closed in order" flag first. */
	{ H_RANDOM_OWN, "random bytes over its lane", HC_PAYLOAD, -EPROTO, -EPIPE },
	{ H_RANDOM_ALL, "random bytes, both lanes", HC_PAYLOAD, -EPROTO, -EPIPE },
	{ H_CPU_GARBAGE, "nonsense cpu hint", HC_HARMLESS, 0, 0 },
	{ H_BELL_FLOOD, "doorbell flood", HC_HARMLESS, 0, 0 },
	{ H_SLEEP_FLOOD, "sleep-flag churn", HC_HARMLESS, 0, 0 },
	{ H_CONS_AHEAD, "desc_cons ahead", HC_TX, -EPROTO, 0 },
	{ H_CONS_BEHIND, "desc_cons laps behind", HC_TX, -EPROTO, 0 },
	{ H_CONS_FLAP, "desc_cons changing", HC_TX, -EPROTO, 0 },
	{ H_RET_AHEAD, "more returned than lent", HC_TX | HC_POOL, -EPROTO, 0 },
	{ H_RET_TWICE, "buffer returned twice", HC_TX | HC_POOL, -EPROTO, 0 },
	{ H_RET_NEVER, "return of a never-lent buffer", HC_TX | HC_POOL, -EPROTO, 0 },
	{ H_RET_OOB, "return index out of range", HC_TX | HC_POOL, -EPROTO, 0 },
	{ H_RET_FLAP, "return ring changing", HC_TX | HC_POOL, -EPROTO, 0 },
	{ H_CTRL_BYTES, "control: 48 bytes after", HC_SHM, -EPROTO, 0 },
	{ H_CTRL_FDS, "control: 3 fds after", HC_SHM, -EPROTO, 0 },
	{ H_CTRL_FD_FLOOD, "control: fd flood", HC_SHM, -EPROTO, 0 },
	{ H_CTRL_HALFCLOSE, "control: half-close", HC_SHM, -ECONNRESET, 0 },
	/* Issue 12. */
	{ H_BELL_BLOCK, "doorbells blocking and full", HC_SHM | HC_HARMLESS, 0, 0 },
	{ H_CLOSED_FLAP, "closed flag set and cleared", HC_SENDING, -EPIPE, 0 },
	{ H_CTRL_EMPTY, "control: a 0-byte record", HC_SHM, -EPROTO, 0 },
	{ H_PUNCH, "holes punched in both lanes", HC_SHM | HC_HARMLESS, 0, 0 },
};

static struct h_shared *sh;
static int n_run, n_skip;
static uint64_t worst_ms;

/* ---- the hostile process ---- */

static void hostile_warmup(struct ivc_channel *ch)
{
	unsigned char m[4096], scratch[4096];
	uint64_t got = 0, end = t_now_ns() + 60000000000ull;
	const char *bad;

	while (atomic_load(&sh->honest) < WARMUP || got < WARMUP) {
		if (t_now_ns() > end) {
			fprintf(stderr, "hostile: warm-up timed out at %llu/%llu\n",
				(unsigned long long)atomic_load(&sh->honest),
				(unsigned long long)got);
			_exit(3);
		}
		if (atomic_load(&sh->honest) < WARMUP)
			(void)hostile_honest(ch, sh, 0);
		ssize_t n = ivc_recv(ch, m, sizeof(m), 1);
		if (n == -ETIMEDOUT)
			continue;
		bad = n < 0 ? t_errname(n) :
			      t_msg_verify(SEED_TO_HOSTILE, got, H_MSG_MAX, m,
					   (size_t)n, scratch);
		if (bad) {
			fprintf(stderr, "hostile: warm-up message %llu: %s\n",
				(unsigned long long)got, bad);
			_exit(3);
		}
		got++;
	}
}

static void hostile_main(const char *addr, const struct h_case *c,
			 struct t_sem *done, uint64_t seed)
{
	struct ivc_options o;
	struct ivc_channel *ch = NULL;

	ivc_options_init(&o);
	o.tx = (struct ivc_geometry){ 16, 256, 32 };
	if (c->flags & HC_INLINE)
		o.flags |= IVC_OPT_INLINE;
	if (ivc_connect(addr, &o, 5000, &ch))
		_exit(2);
	hostile_warmup(ch);
	if (hostile_attack(ch, c->a, sh, seed)) {
		fprintf(stderr, "hostile: %s: the attack could not be carried out\n",
			c->name);
		_exit(4);
	}
	/* Stay (and stay mapped) until the victim is done with us. */
	t_sem_wait(done, 30000);
	_exit(0);
}

/* ---- the victim ---- */

struct victim {
	struct ivc_channel *ch;
	const struct h_case *c;
	uint64_t expect, bad, vsent;
	uint64_t max_call_ns;
	struct ivc_buf held[HOLD_MAX + 4];
	unsigned n_held;
	unsigned char scratch[4096];
};

static void take(struct victim *v, const void *data, size_t len)
{
	if (t_msg_verify(H_SEED_TO_VICTIM, v->expect, H_MSG_MAX, data, len,
			 v->scratch))
		v->bad++;
	v->expect++;
}

static void timed(struct victim *v, uint64_t t0)
{
	uint64_t dt = t_now_ns() - t0;

	if (dt > v->max_call_ns)
		v->max_call_ns = dt;
}

/* Receive what is there (zero-copy and holding, or copying). */
static int victim_recv(struct victim *v)
{
	uint64_t t0 = t_now_ns();
	int r;

	if (v->c->flags & HC_HOLD) {
		struct ivc_buf b[4];

		r = ivc_rx_burst(v->ch, b, 4, RECV_MS);
		for (int i = 0; i < r; i++) {
			take(v, b[i].data, b[i].len);
			v->held[v->n_held++] = b[i];
		}
		while (v->n_held > HOLD_MAX) {
			(void)ivc_rx_release(v->ch, &v->held[0], 1);
			memmove(&v->held[0], &v->held[1],
				--v->n_held * sizeof(v->held[0]));
		}
	} else {
		unsigned char m[4096];
		ssize_t n = ivc_recv(v->ch, m, sizeof(m), RECV_MS);

		if (n >= 0)
			take(v, m, (size_t)n);
		r = n < 0 ? (int)n : 1;
	}
	timed(v, t0);
	return r == -ETIMEDOUT || r == -EAGAIN ? 0 : r;
}

static int victim_send(struct victim *v)
{
	unsigned char m[H_MSG_MAX];
	size_t len = t_msg_len(SEED_TO_HOSTILE, v->vsent, H_MSG_MAX);
	uint64_t t0 = t_now_ns();
	int r;

	t_msg_fill(SEED_TO_HOSTILE, v->vsent, m, len);
	r = ivc_send(v->ch, m, len, 0);
	timed(v, t0);
	if (r == 0)
		v->vsent++;
	return r == -EAGAIN ? 0 : r;
}

/* Run honest traffic until an error, the end of a harmless case, or the
 * time bound.  Return: the error (0 if none) and *err_ns when it came. */
static int victim_loop(struct victim *v, uint64_t *err_ns)
{
	uint64_t start = t_now_ns();
	int r = 0;

	for (;;) {
		uint64_t now, a;

		r = victim_send(v);
		if ((v->c->flags & HC_SENDING) && atomic_load(&sh->attack_ns))
			atomic_store(&sh->victim_sends, 1);
		else if (!r)
			r = victim_recv(v);
		now = t_now_ns();
		if (r < 0)
			break;
		r = 0;
		if ((v->c->flags & HC_HARMLESS) &&
		    v->expect >= WARMUP + H_HONEST_AFTER)
			break;
		a = atomic_load(&sh->attack_ns);
		if (a && now > a + (uint64_t)ATTACK_BOUND_MS * 2000000u &&
		    !(v->c->flags & HC_HARMLESS))
			break; /* over twice the bound: give up, report */
		if (a && now > a + 60000000000ull)
			break; /* (a harmless case that never completes) */
		if (!a && now > start + 30000000000ull)
			break;
	}
	*err_ns = t_now_ns();
	return r;
}

static void check_outcome(struct victim *v, int err, uint64_t err_ns)
{
	const struct h_case *c = v->c;
	uint64_t a = atomic_load(&sh->attack_ns);
	uint64_t ms = a && err_ns > a ? (err_ns - a) / 1000000u : 0;

	if (c->flags & HC_HARMLESS) {
		CHECK_ERR(err, 0);
		CHECK(v->expect >= WARMUP + H_HONEST_AFTER);
		CHECK_ERR(ivc_channel_error(v->ch), 0);
	} else {
		int want = c->alt && err == c->alt ? c->alt : c->want;
		CHECK(a != 0);
		CHECK_ERR(err, want);
		CHECK(ms < ATTACK_BOUND_MS);
		if (ms > worst_ms)
			worst_ms = ms;
		/* Sends fail for good at once (a peer that takes its end back
		 * does not make one succeed again). */
		unsigned sent = 0;
		uint64_t until = t_now_ns() + 20000000u;
		while (t_now_ns() < until)
			sent += ivc_send(v->ch, "x", 1, 0) == 0;
		CHECK_EQ(sent, 0);
		/* A send may learn of the peer's end (its closed flag) before
		 * the receive has taken all the peer published before it: that
		 * is still received first (the documented order; a slow run,
		 * TSan's, shows it).  Take it, then every call must say the
		 * end at once. */
		if (c->want == -EPIPE || c->want == -ECONNRESET) {
			uint64_t drain_until = t_now_ns() + 2000000000ull;
			while (t_now_ns() < drain_until && victim_recv(v) >= 0)
				;
		}
		/* Broken for good: every call says so at once. */
		unsigned char m[64];
		int r[3] = { (int)ivc_recv(v->ch, m, sizeof(m), 0),
			     ivc_send(v->ch, "x", 1, 0), ivc_channel_error(v->ch) };
		for (int i = 0; i < 3; i++)
			if (r[i] == c->want || (c->alt && r[i] == c->alt))
				t_pass();
			else
				t_fail(__FILE__, __LINE__, "%s: call %d after the error: %s",
				       c->name, i, t_errname(r[i]));
	}
	if (!(c->flags & HC_PAYLOAD))
		CHECK_EQ(v->bad, 0);
	if (c->a == H_PUNCH)
		CHECK_EQ(atomic_load(&sh->punched), 0);
	CHECK(v->max_call_ns < (uint64_t)CALL_BOUND_MS * 1000000u);
	printf("   %-30s -> %-12s after %4llu ms; %llu received, %llu bad\n",
	       c->name, t_errname(err), (unsigned long long)ms,
	       (unsigned long long)v->expect, (unsigned long long)v->bad);
}

static void victim_geometry(const struct h_case *c, struct ivc_options *o,
			    enum ivc_mode m)
{
	ivc_options_init(o);
	o->mode = m;
	if (!(c->flags & HC_TX))
		o->tx = (struct ivc_geometry){ 16, 256, 32 };
	else if (c->flags & HC_POOL)
		o->tx = (struct ivc_geometry){ 32, 256, 8 }; /* reclaims often */
	else
		o->tx = (struct ivc_geometry){ 8, 256, 32 }; /* fills the ring */
}

static void run_case(const struct h_case *c, enum ivc_mode m, uint64_t seed)
{
	if (((c->flags & HC_SHM) && (t_xen() || t_tcp())) || ((c->flags & HC_MAPPED) && t_tcp())) {
		n_skip++;
		return;
	}
	int fds0 = t_count_fds(), maps0 = t_count_maps();
	/* A victim stuck in a call (a doorbell that blocks) fails here, not
	 * at ctest's timeout. */
	t_watchdog(120);
	struct ivc_options o;
	struct ivc_listener *l = NULL;
	char addr[108];
	struct t_sem done;

	victim_geometry(c, &o, m);
	t_addr(addr, sizeof(addr), "hostile");
	REQUIRE_OK(ivc_listen(addr, &o, &l));
	REQUIRE_OK(t_sem_init(&done));
	memset(sh, 0, sizeof(*sh));
	pid_t pid = t_fork();
	if (pid == 0) {
		ivc_listener_close(l);
		hostile_main(addr, c, &done, seed);
	}
	struct victim *v = calloc(1, sizeof(*v));
	REQUIRE(v != NULL);
	v->c = c;
	REQUIRE_OK(ivc_accept(l, 10000, &v->ch));
	struct ivc_buf keep;
	if (c->flags & HC_TX) {
		/* Our first buffer stays allocated and unsent throughout: the
		 * hostile's "never lent" return names it. */
		REQUIRE(ivc_tx_alloc(v->ch, &keep, 1, 1000) == 1);
		CHECK_EQ(keep.id, 0);
	}
	uint64_t err_ns;
	int err = victim_loop(v, &err_ns);
	/* (A continuous lie goes on while the outcome is checked.) */
	check_outcome(v, err, err_ns);
	atomic_store(&sh->stop, 1);
	(void)ivc_rx_release(v->ch, v->held, v->n_held);
	uint64_t t0 = t_now_ns();
	CHECK_ERR(ivc_close(v->ch), 0);
	CHECK(t_now_ns() - t0 < (uint64_t)CALL_BOUND_MS * 1000000u);
	t_sem_post(&done);
	int st = t_wait_child(pid, 10000);
	if (st == -1)
		t_kill_child(pid);
	if (!(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
		t_fail(__FILE__, __LINE__, "%s: hostile: %s", c->name, t_status_str(st));
	ivc_listener_close(l);
	t_sem_destroy(&done);
	free(v);
	CHECK_EQ(t_count_fds(), fds0);
#ifndef IVC_TEST_SANITIZE
	/* (The sanitizers' allocators map memory of their own as they go.) */
	CHECK_EQ(t_count_maps(), maps0);
#else
	(void)maps0;
#endif
	n_run++;
}

static int parse_mode(const char *s, enum ivc_mode *m)
{
	static const enum ivc_mode all[] = { IVC_MODE_ADAPTIVE, IVC_MODE_BLOCK,
					     IVC_MODE_POLL };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(s, t_mode_name(all[i]))) {
			*m = all[i];
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	enum ivc_mode modes[3] = { IVC_MODE_ADAPTIVE, IVC_MODE_BLOCK, IVC_MODE_POLL };
	int n_modes = 3;
	size_t n_cases = sizeof(cases) / sizeof(cases[0]);
	uint64_t seed = t_env_u64("IVC_HOSTILE_SEED", 0x5eed0bad);

	t_init("test_hostile", 600);
	if (argc > 1) {
		n_modes = 0;
		for (int i = 1; i < argc && n_modes < 3; i++)
			if (parse_mode(argv[i], &modes[n_modes++])) {
				fprintf(stderr, "usage: %s [adaptive|block|poll]...\n", argv[0]);
				return 2;
			}
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(sh != MAP_FAILED);
	printf("-- %zu attacks, seed %#llx, over %s\n", n_cases,
	       (unsigned long long)seed, t_xen() ? "xen" : "shm");
	for (int mi = 0; mi < n_modes; mi++) {
		printf("-- victim in %s mode\n", t_mode_name(modes[mi]));
		for (size_t i = 0; i < n_cases; i++)
			run_case(&cases[i], modes[mi], seed + i);
	}
	printf("hostile: %d cases run (%d skipped on this transport), "
	       "slowest detection %llu ms\n", n_run, n_skip,
	       (unsigned long long)worst_ms);
	munmap(sh, sizeof(*sh));
	return t_finish();
}
