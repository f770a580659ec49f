/* SPDX-License-Identifier: MIT */
/*
 * The hostile peer's attacks (hostile.h).  Everything here writes shared
 * memory the way a malicious process in the other domain could: with plain
 * stores into the mappings it legitimately holds, bypassing its own
 * library's bookkeeping.  The hostile's own library state is not kept
 * consistent afterwards; the process only waits to be told to exit.
 */
#include "hostile.h"

#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ivc/ivc.h>

#include "core/channel_pvt.h"
#include "core/lane_pvt.h"
#include "shm/shm_pvt.h"
#include "tcp/tcp_pvt.h"
#include "util/compiler_pvt.h"

#define H_WAIT_NS 3000000000ull /* how long an attack waits for room */
#define H_CONT_NS 2000000000ull /* how long a continuous attack lasts at most */

static void lie_visible(struct h_shared *sh)
{
	uint64_t zero = 0;

	atomic_compare_exchange_strong(&sh->attack_ns, &zero, t_now_ns());
}

static int stopped(struct h_shared *sh, uint64_t end)
{
	return atomic_load(&sh->stop) || t_now_ns() > end;
}

/* Write all of @len bytes of @v on @sock (blocking, 5 s at most). */
static void tcp_put(int sock, struct iovec *v, int n)
{
	uint64_t end = t_now_ns() + 5000000000ull;

	while (n > 0 && t_now_ns() < end) {
		struct msghdr mh = { .msg_iov = v, .msg_iovlen = (size_t)n };
		struct pollfd p = { sock, POLLOUT, 0 };
		ssize_t w = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return;
		while (w > 0 && n > 0) {
			size_t k = (size_t)w < v->iov_len ? (size_t)w : v->iov_len;

			v->iov_base = (char *)v->iov_base + k;
			v->iov_len -= k;
			w -= (ssize_t)k;
			if (!v->iov_len) {
				v++;
				n--;
			}
		}
		if (n > 0)
			(void)poll(&p, 1, 10);
	}
}

static void tcp_frame(int sock, uint16_t kind, uint64_t off, const void *p, uint32_t len)
{
	struct tcp_frame f = { len, kind, 0, off };
	struct iovec v[2] = { { &f, sizeof(f) }, { (void *)p, len } };

	tcp_put(sock, v, 2);
}

/* Over tcp nothing we write in our lanes reaches the victim until it is
 * sent, and the library sends only what an honest side publishes.  The
 * wire lets a peer say anything it could write into shared memory, so
 * say it: every part of both lanes a frame may carry, as it is now. */
static void tcp_dump(struct ivc_channel *ch)
{
	struct tcp_xport *t = (struct tcp_xport *)ch->xp;
	const struct ivc_lane_geom *g = &t->txg, *r = &t->rxg;
	unsigned char *own = ch->xp->tx_region, *mir = ch->xp->rx_region;
	uint64_t end = t_now_ns() + 2000000000ull;

	while (ivc_tcp_push(ch->xp, IVC_PUSH_ALL) == 1 && t_now_ns() < end) {
		struct pollfd p = { t->sock, POLLOUT, 0 };

		(void)poll(&p, 1, 10);
	}
	pthread_mutex_lock(&t->out.mu);
	tcp_frame(t->sock, TCP_MINE, g->buf_off, own + g->buf_off,
		  (uint32_t)((uint64_t)g->buf_size * g->buf_count));
	tcp_frame(t->sock, TCP_MINE, g->desc_off, own + g->desc_off, g->slots * g->desc_size);
	tcp_frame(t->sock, TCP_MINE, IVC_OFF_TX_COLD + 4, own + IVC_OFF_TX_COLD + 4, 4);
	tcp_frame(t->sock, TCP_YOURS, r->ret_off, mir + r->ret_off, r->ret_slots * 4);
	tcp_frame(t->sock, TCP_YOURS, IVC_OFF_RX_HOT, mir + IVC_OFF_RX_HOT, 8);
	pthread_mutex_unlock(&t->out.mu);
}

/* Wake the victim whichever way it sleeps (over tcp: tell it). */
static void ring_both(struct ivc_channel *ch)
{
	if (ch->copied) {
		tcp_dump(ch);
		return;
	}
	(void)ch->xp->ops->ring(ch->xp, IVC_BELL_RX);
	(void)ch->xp->ops->ring(ch->xp, IVC_BELL_TX);
}

int hostile_honest(struct ivc_channel *ch, struct h_shared *sh, int timeout_ms)
{
	unsigned char m[H_MSG_MAX];
	uint64_t seq = atomic_load(&sh->honest);
	size_t len = t_msg_len(H_SEED_TO_VICTIM, seq, H_MSG_MAX);
	int r;

	t_msg_fill(H_SEED_TO_VICTIM, seq, m, len);
	r = ivc_send(ch, m, len, timeout_ms);
	if (r == 0)
		atomic_store(&sh->honest, seq + 1);
	return r;
}

/* ---- lies in our own lane (the victim receives) ---- */

/* Wait until the victim has consumed enough for one more descriptor. */
static int room(struct ivc_channel *ch, struct h_shared *sh)
{
	uint64_t end = t_now_ns() + H_WAIT_NS;

	while ((void)ivc_channel_pull(ch, 0), ivc_lane_tx_space(&ch->tx, 1) <= 0)
		if (stopped(sh, end))
			return -1;
		else
			sched_yield();
	return 0;
}

static struct ivc_desc *slot(struct ivc_channel *ch, uint32_t idx)
{
	return ivc_desc_at(ch->tx.ring, ch->tx.g.desc_size, idx & ch->tx.mask);
}

/* Publish a descriptor at our next index, stamped @seq. */
static int forge(struct ivc_channel *ch, struct h_shared *sh, uint32_t seq,
		 uint32_t buf, uint32_t len, uint32_t flags)
{
	struct ivc_desc *d;

	if (room(ch, sh))
		return -1;
	d = slot(ch, ch->tx.prod);
	IVC_STORE(&d->buf, buf);
	IVC_STORE(&d->len, len);
	IVC_STORE(&d->flags, flags);
	lie_visible(sh); /* (just before: the victim may act at once) */
	IVC_STORE_REL(&d->seq, seq);
	ch->tx.prod++;
	ring_both(ch);
	return 0;
}

/* A buffer of ours the victim does not hold (for lies about anything
 * but the buffer index). */
static uint32_t spare_buf(struct ivc_channel *ch)
{
	struct ivc_buf b;

	return ivc_lane_tx_alloc(&ch->tx, &b, 1) == 1 ? b.id : 0;
}

static int chain_endless(struct ivc_channel *ch, struct h_shared *sh)
{
	uint32_t i, n = 2 * (ch->tx.g.slots + ch->tx.g.buf_count);

	for (i = 0; i < n; i++)
		if (forge(ch, sh, ch->tx.prod, i % ch->tx.g.buf_count, 16,
			  IVC_DESC_MORE))
			return i ? 0 : -1; /* the victim stopped reading */
	return 0;
}

/* Lend a buffer honestly, then lend it again while the victim holds it. */
static int buf_twice(struct ivc_channel *ch, struct h_shared *sh)
{
	uint64_t seq = atomic_load(&sh->honest);
	struct ivc_buf b;
	size_t len = t_msg_len(H_SEED_TO_VICTIM, seq, H_MSG_MAX);

	if (ivc_tx_alloc(ch, &b, 1, 1000) != 1)
		return -1;
	t_msg_fill(H_SEED_TO_VICTIM, seq, b.data, len);
	b.len = (uint32_t)len;
	if (ivc_tx_send(ch, &b, 1, 1000) != 1)
		return -1;
	atomic_store(&sh->honest, seq + 1);
	return forge(ch, sh, ch->tx.prod, b.id, b.len, 0);
}

/* A descriptor whose every field, stamp included, keeps changing while
 * the victim may be reading it; at the end, a stamp that is plainly bad. */
static int desc_flap(struct ivc_channel *ch, struct h_shared *sh, uint64_t *rng)
{
	uint64_t end = t_now_ns() + H_CONT_NS / 4;
	uint32_t bc = ch->tx.g.buf_count;

	while (!stopped(sh, end)) {
		struct ivc_desc *d;
		uint32_t idx = ch->tx.prod;

		if (room(ch, sh))
			break;
		d = slot(ch, idx);
		for (int i = 0; i < 256; i++) {
			uint64_t r = t_splitmix64(rng);

			IVC_STORE(&d->buf, (r & 1) ? (uint32_t)(r >> 8) % bc :
						     (uint32_t)(r >> 32));
			IVC_STORE(&d->len, (r & 2) ? (uint32_t)(r >> 16) & 0xff :
						     (uint32_t)(r >> 24));
			IVC_STORE(&d->flags, (uint32_t)(r >> 40) & 7);
			lie_visible(sh);
			IVC_STORE_REL(&d->seq, (r & 4) ? idx : (uint32_t)(r >> 20));
		}
		IVC_STORE_REL(&d->seq, idx);
		ch->tx.prod++;
		ring_both(ch);
	}
	if (atomic_load(&sh->stop))
		return 0; /* the victim already caught a lie */
	return forge(ch, sh, ch->tx.prod + 12345u, 0, 8, 0);
}

static struct ivc_lane_hdr *hdr(void *base)
{
	return base;
}

static void random_fill(void *base, uint64_t size, uint64_t *rng)
{
	uint64_t *w = base;

	for (uint64_t i = 0; i < size / 8; i++)
		IVC_STORE(&w[i], t_splitmix64(rng));
}

/* Random 8-byte words at random places in both lanes, until told. */
static int random_all(struct ivc_channel *ch, struct h_shared *sh, uint64_t *rng)
{
	uint64_t end = t_now_ns() + H_CONT_NS;
	unsigned i = 0;

	lie_visible(sh);
	while (!stopped(sh, end)) {
		uint64_t r = t_splitmix64(rng);
		int mine = r & 1;
		uint64_t size = mine ? ch->tx.g.region_size : ch->rx.g.region_size;
		uint64_t *w = (uint64_t *)(mine ? ch->tx.base : ch->rx.base);

		IVC_STORE(&w[(r >> 1) % (size / 8)], t_splitmix64(rng));
		if (!(++i & 63))
			ring_both(ch);
	}
	return 0;
}

/* ---- harmless lies: the victim must carry on, correctly ---- */

static int honest_burst(struct ivc_channel *ch, struct h_shared *sh)
{
	for (unsigned i = 0; i < H_HONEST_AFTER; i++)
		if (hostile_honest(ch, sh, 2000))
			return -1;
	return 0;
}

/* Ring in a loop, with an honest message every so often, until the
 * honest ones are all sent. */
static int bell_flood(struct ivc_channel *ch, struct h_shared *sh)
{
	uint64_t end = t_now_ns() + 20 * H_CONT_NS;
	unsigned sent = 0, i = 0;

	lie_visible(sh);
	while (sent < H_HONEST_AFTER && !stopped(sh, end)) {
		ring_both(ch);
		if (!(++i & 63) && hostile_honest(ch, sh, 0) == 0)
			sent++;
	}
	return sent == H_HONEST_AFTER ? 0 : -1;
}

/* New odd sleep epochs on both lanes all the time: the victim believes
 * we sleep and rings on every post and every release. */
static int sleep_flood(struct ivc_channel *ch, struct h_shared *sh)
{
	uint64_t end = t_now_ns() + 20 * H_CONT_NS;
	uint32_t e = 1;
	unsigned sent = 0;

	lie_visible(sh);
	while (sent < H_HONEST_AFTER && !stopped(sh, end)) {
		for (int i = 0; i < 64; i++, e += 2) {
			IVC_STORE(&ch->rx.rx_cold->rx_sleep, e);
			IVC_STORE(&ch->tx.tx_cold->tx_sleep, e);
		}
		if (hostile_honest(ch, sh, 0) == 0)
			sent++;
	}
	return sent == H_HONEST_AFTER ? 0 : -1;
}

int hostile_spoil_bells(struct ivc_channel *ch)
{
	struct shm_xport *s = (struct shm_xport *)ch->xp;
	uint64_t v, full = 0xfffffffffffffffeull;

	for (int i = 0; i < 2; i++) {
		int mine = ch->xp->bell_fd[i], theirs = s->peer_bell[i];

		(void)!read(mine, &v, sizeof(v));
		if (write(mine, &full, sizeof(full)) != (ssize_t)sizeof(full))
			return -1;
		(void)!read(theirs, &v, sizeof(v));
		if (fcntl(mine, F_SETFL, 0) < 0 || fcntl(theirs, F_SETFL, 0) < 0)
			return -1;
	}
	return 0;
}

/* Issue 12, finding 1: spoiled doorbells, and we say we sleep (new epochs
 * all the time) so that the victim rings us.  Nothing of that may make the
 * victim wait: honest traffic must go on. */
static int bell_block(struct ivc_channel *ch, struct h_shared *sh)
{
	return hostile_spoil_bells(ch) ? -1 : sleep_flood(ch, sh);
}

/* Finding 8: a peer that takes its "closed in order" back, and keeps
 * taking the victim's messages (so that a send the flag does not stop
 * would succeed). */
static int closed_flap(struct ivc_channel *ch, struct h_shared *sh)
{
	uint64_t end = t_now_ns() + H_CONT_NS;
	struct ivc_buf b[16];

	lie_visible(sh);
	/* Only once the victim has stopped receiving (a receive would see
	 * the close and break the channel, which is right, but then sends
	 * are not what is tested). */
	while (!atomic_load(&sh->victim_sends) && !stopped(sh, end))
		sched_yield();
	while (!stopped(sh, end)) {
		uint64_t open_until;

		IVC_STORE_REL(&ch->tx.tx_cold->closed, 1u);
		ring_both(ch);
		sched_yield();
		IVC_STORE_REL(&ch->tx.tx_cold->closed, 0u);
		/* Open again for a while, taking what comes. */
		open_until = t_now_ns() + 200000u;
		while (t_now_ns() < open_until) {
			int n = ivc_rx_burst(ch, b, 16, 0);

			if (n > 0)
				(void)ivc_rx_release(ch, b, (unsigned)n);
		}
	}
	return 0;
}

/* Finding 2: holes in the lanes (a punched page comes back as a fresh
 * zero page to whoever touches it next, or as SIGBUS where memory cannot
 * be had).  Both lanes are sealed against it once mapped: the kernel must
 * refuse, and the victim carries on untouched. */
static int punch(struct ivc_channel *ch, struct h_shared *sh)
{
	int n = 0;

	lie_visible(sh);
	n += madvise(ch->tx.base, ch->tx.g.region_size, MADV_REMOVE) == 0;
	n += madvise(ch->rx.base, ch->rx.g.region_size, MADV_REMOVE) == 0;
	atomic_store(&sh->punched, n);
	return honest_burst(ch, sh);
}

/* ---- lies in the victim's lane (the victim sends) ---- */

static void set_cons(struct ivc_channel *ch, struct h_shared *sh, uint32_t v)
{
	lie_visible(sh);
	IVC_STORE_REL(&ch->rx.rx_hot->desc_cons, v);
	ring_both(ch);
}

/* Put @n buffer indices on the victim's return ring and publish them. */
static void put_returns(struct ivc_channel *ch, struct h_shared *sh,
			const uint32_t *ids, unsigned n)
{
	uint32_t rp = ch->rx.ret_prod, rmask = ch->rx.g.ret_slots - 1;

	for (unsigned i = 0; i < n; i++)
		IVC_STORE(&ch->rx.ret[(rp + i) & rmask], ids[i]);
	ch->rx.ret_prod = rp + n;
	lie_visible(sh);
	IVC_STORE_REL(&ch->rx.rx_hot->ret_prod, rp + n);
	ring_both(ch);
}

/* Receive one of the victim's buffers and keep it (it stays lent). */
static int hold_one(struct ivc_channel *ch, uint32_t *id)
{
	struct ivc_buf b;

	if (ivc_rx_burst(ch, &b, 1, 2000) != 1)
		return -1;
	*id = b.id;
	return 0;
}

static int cons_flap(struct ivc_channel *ch, struct h_shared *sh, uint64_t *rng)
{
	uint64_t end = t_now_ns() + H_CONT_NS / 4;

	while (!stopped(sh, end))
		set_cons(ch, sh, (uint32_t)t_splitmix64(rng));
	set_cons(ch, sh, ch->rx.cons + 7 * ch->rx.g.slots);
	return 0;
}

static int ret_flap(struct ivc_channel *ch, struct h_shared *sh, uint64_t *rng)
{
	uint64_t end = t_now_ns() + H_CONT_NS / 4;
	uint32_t rmask = ch->rx.g.ret_slots - 1;

	while (!stopped(sh, end)) {
		uint64_t r = t_splitmix64(rng);

		IVC_STORE(&ch->rx.ret[(uint32_t)r & rmask], (uint32_t)(r >> 32));
		lie_visible(sh);
		IVC_STORE_REL(&ch->rx.rx_hot->ret_prod, (uint32_t)(r >> 16));
	}
	IVC_STORE_REL(&ch->rx.rx_hot->ret_prod, ch->rx.ret_prod + 1000u);
	ring_both(ch);
	return 0;
}

/* ---- the shm control socket after the handshake ---- */

static int ctrl_attack(struct ivc_channel *ch, enum h_attack a, struct h_shared *sh)
{
	int sock = ch->xp->hup_fd, fds[8], r = 0;
	unsigned char junk[48];

	for (int i = 0; i < 8; i++)
		fds[i] = ch->xp->bell_fd[i & 1]; /* any descriptors will do */
	memset(junk, 0x5a, sizeof(junk));
	lie_visible(sh);
	switch (a) {
	case H_CTRL_BYTES:
		r = t_send_fds(sock, junk, sizeof(junk), NULL, 0, 0);
		break;
	case H_CTRL_FDS:
		r = t_send_fds(sock, junk, 1, fds, 3, 0);
		break;
	case H_CTRL_FD_FLOOD:
		r = t_send_fds(sock, junk, 1, fds, 8, 0);
		for (int i = 0; i < 4096 && !r; i++)
			if (t_send_fds(sock, junk, 1, fds, 8, MSG_DONTWAIT))
				break; /* full */
		break;
	case H_CTRL_EMPTY:
		r = t_send_fds(sock, junk, 0, NULL, 0, 0);
		break;
	default:
		r = shutdown(sock, SHUT_WR);
		break;
	}
	return r ? -1 : 0;
}

int hostile_attack(struct ivc_channel *ch, enum h_attack a,
		   struct h_shared *sh, uint64_t seed)
{
	uint64_t rng = seed;
	const struct ivc_lane_geom *g = &ch->tx.g;
	uint32_t id, ids[2];

	switch (a) {
	case H_SEQ_AHEAD:
		return forge(ch, sh, ch->tx.prod + 1000u, spare_buf(ch), 8, 0);
	case H_SEQ_BEHIND:
		return forge(ch, sh, ch->tx.prod - 3 * g->slots, spare_buf(ch), 8, 0);
	case H_BUF_OOB:
		return forge(ch, sh, ch->tx.prod, g->buf_count, 8, 0);
	case H_BUF_MAX:
		return forge(ch, sh, ch->tx.prod, UINT32_MAX, 8, 0);
	case H_LEN_OVER:
		return forge(ch, sh, ch->tx.prod, spare_buf(ch), g->buf_size + 1, 0);
	case H_LEN_WRAP:
		/* offset + len crosses 2^32 in 32-bit arithmetic */
		return forge(ch, sh, ch->tx.prod, g->buf_count - 1,
			     0u - g->buf_size / 2, 0);
	case H_FLAGS:
		return forge(ch, sh, ch->tx.prod, spare_buf(ch), 8, 0x80000000u);
	case H_INLINE_PLAIN:
	case H_INLINE_LEN:
		return forge(ch, sh, ch->tx.prod, 0,
			     a == H_INLINE_LEN ? IVC_INLINE_MAX + 1 : 8,
			     IVC_DESC_INLINE);
	case H_CHAIN_ENDLESS:
		return chain_endless(ch, sh);
	case H_BUF_TWICE:
		return buf_twice(ch, sh);
	case H_DESC_FLAP:
		return desc_flap(ch, sh, &rng);
	case H_HDR_OWN:
		lie_visible(sh);
		IVC_STORE(&hdr(ch->tx.base)->slots, g->slots * 2);
		break;
	case H_HDR_START:
		lie_visible(sh);
		IVC_STORE(&hdr(ch->tx.base)->idx_start, ch->tx.start + 1);
		break;
	case H_HDR_VICTIM:
		lie_visible(sh);
		IVC_STORE(&hdr(ch->rx.base)->buf_size, ch->rx.g.buf_size * 2);
		break;
	case H_RANDOM_OWN:
		lie_visible(sh);
		random_fill(ch->tx.base, g->region_size, &rng);
		break;
	case H_RANDOM_ALL:
		return random_all(ch, sh, &rng);
	case H_CPU_GARBAGE:
		lie_visible(sh);
		IVC_STORE(&ch->tx.tx_cold->cpu, 0xfffffff0u);
		return honest_burst(ch, sh);
	case H_BELL_FLOOD:
		return bell_flood(ch, sh);
	case H_SLEEP_FLOOD:
		return sleep_flood(ch, sh);
	case H_CONS_AHEAD:
		set_cons(ch, sh, ch->rx.cons + 5 * ch->rx.g.slots);
		return 0;
	case H_CONS_BEHIND:
		set_cons(ch, sh, ch->rx.cons - 2 * ch->rx.g.slots);
		return 0;
	case H_CONS_FLAP:
		return cons_flap(ch, sh, &rng);
	case H_RET_AHEAD:
		lie_visible(sh);
		IVC_STORE_REL(&ch->rx.rx_hot->ret_prod, ch->rx.ret_prod + 1000u);
		ring_both(ch);
		return 0;
	case H_RET_TWICE:
		if (hold_one(ch, &id))
			return -1;
		ids[0] = ids[1] = id;
		put_returns(ch, sh, ids, 2);
		return 0;
	case H_RET_NEVER:
		/* The victim keeps its first buffer (id 0) allocated and
		 * unsent for the whole case: it was never lent. */
		ids[0] = 0;
		put_returns(ch, sh, ids, 1);
		return 0;
	case H_RET_OOB:
		ids[0] = ch->rx.g.buf_count + 3;
		put_returns(ch, sh, ids, 1);
		return 0;
	case H_RET_FLAP:
		return ret_flap(ch, sh, &rng);
	case H_CTRL_BYTES:
	case H_CTRL_FDS:
	case H_CTRL_FD_FLOOD:
	case H_CTRL_HALFCLOSE:
	case H_CTRL_EMPTY:
		return ctrl_attack(ch, a, sh);
	case H_BELL_BLOCK:
		return bell_block(ch, sh);
	case H_CLOSED_FLAP:
		return closed_flap(ch, sh);
	case H_PUNCH:
		return punch(ch, sh);
	}
	lie_visible(sh);
	ring_both(ch);
	return 0;
}
