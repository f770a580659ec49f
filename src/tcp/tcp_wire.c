/* SPDX-License-Identifier: MIT */
/*
 * The tcp transport's frames (tcp_pvt.h): push builds them from what our
 * lanes published since the last push and sends them without copying (the
 * iovecs point into the lanes, whose published parts stay put until the
 * peer has them); pull reads the peer's and applies them to the lanes.
 */
#include "tcp/tcp_pvt.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/clock_pvt.h"
#include "util/compiler_pvt.h"

/* What a frame's body is, once its header passed the checks. */
enum { CLS_PAYLOAD, CLS_DESC, CLS_CLOSED, CLS_RET, CLS_HOT, CLS_ASK };

#define OFF_CLOSED (IVC_OFF_TX_COLD + offsetof(struct ivc_lane_tx_cold, closed))

int ivc_tcp_wire_init(struct tcp_xport *t)
{
	const struct ivc_lane_rx_hot *h =
		(const void *)((unsigned char *)t->x.rx_region + IVC_OFF_RX_HOT);

	t->in.buf = mmap(NULL, IVC_TCP_IN_CAP + IVC_TCP_STAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->in.buf == MAP_FAILED) {
		t->in.buf = NULL;
		return -ENOMEM;
	}
	t->out.stage = t->in.buf + IVC_TCP_IN_CAP;
	t->out.prod = IVC_IDX_START;
	t->out.cons = IVC_LOAD(&h->desc_cons);
	t->out.ret = IVC_LOAD(&h->ret_prod);
	pthread_mutex_init(&t->out.mu, NULL);
	pthread_mutex_init(&t->in.mu, NULL);
	return 0;
}

void ivc_tcp_wire_fini(struct tcp_xport *t)
{
	if (!t->in.buf)
		return;
	munmap(t->in.buf, IVC_TCP_IN_CAP + IVC_TCP_STAGE);
	pthread_mutex_destroy(&t->out.mu);
	pthread_mutex_destroy(&t->in.mu);
}

/* ---- push ---- */

/* @len bytes just written to the stage at @at join the batch: they extend
 * its last iovec when that ends where they start (the stage fills in
 * order), else they are an iovec of their own. */
static void staged(struct tcp_out *o, unsigned char *at, uint32_t len)
{
	struct iovec *last = &o->iov[o->n ? o->n - 1 : 0];

	o->staged += len;
	if (o->n && (unsigned char *)last->iov_base + last->iov_len == at)
		last->iov_len += len;
	else
		o->iov[o->n++] = (struct iovec){ at, len };
}

/* A small body goes into the stage if the headers the batch may still
 * add keep their room there. */
static int fits_stage(const struct tcp_out *o, uint32_t len)
{
	return len <= IVC_TCP_COPY_MAX &&
	       o->staged + len + IVC_TCP_FRAMES * sizeof(struct tcp_frame) <=
		       IVC_TCP_STAGE;
}

/* A frame: its header in the stage, its body copied beside it when small
 * (header and body then one stretch of the stage, one iovec), else an
 * iovec pointing at it (it stays put until the peer has it).  Return:
 * where its header lies if its body is that iovec, else NULL. */
static unsigned char *add(struct tcp_out *o, uint16_t kind, uint64_t off,
			  const void *p, uint32_t len)
{
	struct tcp_frame h = {
		.len = htole32(len), .kind = htole16(kind), .off = htole64(off),
	};
	unsigned char *at = o->stage + o->staged;
	int copy = fits_stage(o, len);

	memcpy(at, &h, sizeof(h));
	o->run_hdr = NULL;
	o->frames++;
	if (copy) {
		memcpy(at + sizeof(h), p, len);
		staged(o, at, (uint32_t)sizeof(h) + len);
		return NULL;
	}
	staged(o, at, sizeof(h));
	o->iov[o->n++] = (struct iovec){ (void *)p, len };
	return at;
}

_Static_assert(offsetof(struct tcp_frame, len) == 0, "a header starts with its length");

/* A payload of our lane at @p: joined to the batch's last frame when that
 * is a payload that ends where this one starts (a chain in consecutive
 * buffers is then one frame and one iovec: the kernel's cost grows with
 * the iovecs of a send, 3-4 us more for a 64 KiB message in sixteen),
 * else a frame of its own. */
static void add_payload(struct tcp_out *o, uint64_t off, const void *p, uint32_t len)
{
	struct iovec *last = o->n ? &o->iov[o->n - 1] : NULL;
	uint32_t had;

	if (o->run_hdr && last && (const unsigned char *)last->iov_base + last->iov_len == p) {
		memcpy(&had, o->run_hdr, sizeof(had)); /* tcp_frame.len */
		had = htole32(le32toh(had) + len);
		memcpy(o->run_hdr, &had, sizeof(had));
		last->iov_len += len;
		return;
	}
	o->run_hdr = add(o, TCP_MINE, off, p, len);
}

/* Room for @frames more frames in the batch. */
static int batch_room(const struct tcp_out *o, unsigned frames)
{
	return o->n + 2 * frames <= IVC_TCP_IOV && o->frames + frames <= IVC_TCP_FRAMES;
}

/* The peer's lane as our receiving side changed it: the return ring, then
 * the indices.  Sent as soon as they change: a sender must
 * see its room and its buffers come back when a shm sender would (the
 * conformance suite checks it: test_depth, test_ownership). */
static void build_yours(struct tcp_xport *t)
{
	struct tcp_out *o = &t->out;
	unsigned char *m = t->x.rx_region;
	const struct ivc_lane_rx_hot *h = (const void *)(m + IVC_OFF_RX_HOT);
	uint32_t ret = IVC_LOAD_ACQ(&h->ret_prod), cons = IVC_LOAD_ACQ(&h->desc_cons);
	uint32_t rs = t->rxg.ret_slots, nret = ret - o->ret;

	uint32_t from = o->ret;

	if (ret == from && cons == o->cons)
		return;
	if (nret > rs) { /* only a peer that re-sent held buffers gets here */
		from = ret - rs;
		nret = rs;
	}
	while (nret) {
		uint32_t at = from & (rs - 1), run = nret < rs - at ? nret : rs - at;
		uint64_t off = t->rxg.ret_off + (uint64_t)at * 4;

		(void)add(o, TCP_YOURS, off, m + off, run * 4);
		from += run;
		nret -= run;
	}
	o->hot[0] = cons;
	o->hot[1] = ret;
	/* Stored whole: keep_back() reads them without out.mu. */
	IVC_STORE(&o->ret, ret);
	IVC_STORE(&o->cons, cons);
	(void)add(o, TCP_YOURS, IVC_OFF_RX_HOT, o->hot, sizeof(o->hot));
	IVC_STORE(&t->asked, 0); /* answered */
}

/* Whether an ASK is due: a lazy peer keeps its returns back until asked,
 * and is asked once until it reports. */
static int can_ask(const struct tcp_xport *t)
{
	return t->peer_lazy && !IVC_LOAD(&t->asking);
}

/* An ASK (tcp_pvt.h, TCP_HS_ASKS): a lazy peer keeps its returns back
 * until we need them, so say so, once until its next report.  Return:
 * whether it was added (to an empty batch only). */
static int build_ask(struct tcp_xport *t)
{
	static const uint32_t zero;

	if (!can_ask(t) || t->out.n)
		return 0;
	(void)add(&t->out, TCP_ASK, 0, &zero, sizeof(zero));
	IVC_STORE(&t->asking, 1);
	return 1;
}

/* One run of our descriptors from o->prod, up to the ring's end or
 * IVC_TCP_RUN_BYTES of payload: each buffer's payload, then the
 * descriptors.  Return: 1 if the run stopped at either (more may follow),
 * 0 otherwise. */
static int build_run(struct tcp_xport *t, uint64_t *bytes, int *all)
{
	struct tcp_out *o = &t->out;
	const struct ivc_lane_geom *g = &t->txg;
	unsigned char *b = t->x.tx_region;
	uint32_t at = o->prod & (g->slots - 1), n = 0;
	uint64_t run = 0;

	while (at + n < g->slots && batch_room(o, 2) &&
	       *bytes < IVC_TCP_BATCH_BYTES && run < IVC_TCP_RUN_BYTES) {
		struct ivc_desc *d = ivc_desc_at(b + g->desc_off, g->desc_size, at + n);
		uint32_t len, buf;

		if (IVC_LOAD_ACQ(&d->seq) != o->prod + n) {
			*all = 1;
			break;
		}
		len = IVC_LOAD(&d->len);
		buf = IVC_LOAD(&d->buf);
		if (!(IVC_LOAD(&d->flags) & IVC_DESC_INLINE) && len &&
		    buf < g->buf_count && len <= g->buf_size) {
			uint64_t off = g->buf_off + (uint64_t)buf * g->buf_size;

			add_payload(o, off, b + off, len);
			*bytes += len;
			run += len;
		}
		n++;
	}
	if (n) {
		uint64_t off = g->desc_off + (uint64_t)at * g->desc_size;

		(void)add(o, TCP_MINE, off, b + off, n * g->desc_size);
		o->prod += n;
	}
	return !*all && n && (at + n == g->slots || run >= IVC_TCP_RUN_BYTES);
}

/* Our lane: what was published since, then the closed flag once every
 * descriptor before it is out.  Return: 1 if the batch holds all that was
 * published (it did not fill up first). */
static int build_mine(struct tcp_xport *t)
{
	struct tcp_out *o = &t->out;
	const struct ivc_lane_tx_cold *c =
		(const void *)((unsigned char *)t->x.tx_region + IVC_OFF_TX_COLD);
	uint32_t closed = IVC_LOAD_ACQ(&c->closed);
	uint64_t bytes = 0;
	int all = 0;

	while (build_run(t, &bytes, &all))
		;
	if (all && closed && !o->closed && batch_room(o, 1)) {
		o->one = 1;
		o->closed = 1;
		(void)add(o, TCP_MINE, OFF_CLOSED, &o->one, sizeof(o->one));
	}
	return all;
}

/* Send the batch's rest.  Return: 0 (all of it), 1 (the socket is full),
 * -ECONNRESET. */
static int flush(struct tcp_xport *t)
{
	struct tcp_out *o = &t->out;

	while (o->i < o->n) {
		struct msghdr mh = { .msg_iov = o->iov + o->i, .msg_iovlen = o->n - o->i };
		ssize_t w = sendmsg(t->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -ECONNRESET;
		}
		while (w > 0) {
			struct iovec *v = &o->iov[o->i];

			if ((size_t)w >= v->iov_len) {
				w -= (ssize_t)v->iov_len;
				o->i++;
			} else {
				v->iov_base = (unsigned char *)v->iov_base + w;
				v->iov_len -= (size_t)w;
				w = 0;
			}
		}
	}
	o->n = o->i = o->frames = 0;
	o->staged = 0;
	o->run_hdr = NULL;
	return 0;
}

/* While output waits for room, the channel's sleepers must also wake when
 * room comes: EPOLLOUT on the socket in its sets, only then. */
static void want_out(struct tcp_xport *t, int on)
{
	unsigned i;

	if (t->out.want_out == on)
		return;
	for (i = 0; i < 3; i++) {
		struct epoll_event ev;

		ivc_hup_event(i, &ev);
		ev.events |= on ? EPOLLOUT : 0u;
		/* A set the socket has not joined yet fails (ENOENT): it
		 * joins with EPOLLOUT as it then stands (ivc_tcp_watch()). */
		if (t->x.watch_ep[i] >= 0)
			(void)epoll_ctl(t->x.watch_ep[i], EPOLL_CTL_MOD, t->sock, &ev);
	}
	IVC_STORE(&t->out.want_out, on);
}

int ivc_tcp_watch(struct ivc_xport *x, unsigned set, struct epoll_event *ev)
{
	struct tcp_xport *t = (struct tcp_xport *)x;
	int r;

	pthread_mutex_lock(&t->out.mu); /* want_out() changes the events */
	ev->events |= t->out.want_out ? EPOLLOUT : 0u;
	r = ivc_xport_add_hup(x, set, ev);
	pthread_mutex_unlock(&t->out.mu);
	return r;
}

/* Everything, in as few sendmsg() as the batch allows; @ask: an ASK first
 * (in the same batch as the rest).  A batch that held all there was is
 * not followed by a look for more: a thread that publishes more meanwhile
 * pushes it itself, after us. */
static int push_locked(struct tcp_xport *t, int ask)
{
	int all = 0;

	for (;;) {
		int r = flush(t);

		if (r || all)
			return r;
		if (ask) {
			(void)build_ask(t);
			ask = 0;
		}
		build_yours(t);
		all = build_mine(t);
		if (!t->out.n)
			return 0;
	}
}

/* A lazy end keeps back what it consumed until a quarter of the ring or
 * of the peer's buffers waits to be told (the peer's sender keeps going
 * meanwhile), or until it sends.  With nothing to do it tells the peer at
 * once, unless the peer asks when it needs to know (TCP_HS_ASKS); once
 * asked, at once until it has told.  Every value it reads is atomic, so it
 * may judge without out.mu: each one only grows or is a flag, and read
 * while another thread pushes, they can only make it say "send"
 * (ivc_tcp_push() then decides again under the lock). */
static int keep_back(const struct tcp_xport *t, enum ivc_push_how how)
{
	const struct ivc_lane_rx_hot *h =
		(const void *)((unsigned char *)t->x.rx_region + IVC_OFF_RX_HOT);
	uint32_t cons = IVC_LOAD(&h->desc_cons) - IVC_LOAD(&t->out.cons);
	uint32_t ret = IVC_LOAD(&h->ret_prod) - IVC_LOAD(&t->out.ret);

	if (!t->lazy || how == IVC_PUSH_ALL || IVC_LOAD(&t->asked) ||
	    (how != IVC_PUSH_RETURNS && !t->peer_asks))
		return 0;
	return cons <= t->rxg.slots / 4 && ret <= t->rxg.buf_count / 4 &&
	       !IVC_LOAD(&t->out.unsent) && !IVC_LOAD(&t->out.want_out);
}

int ivc_tcp_push(struct ivc_xport *x, enum ivc_push_how how)
{
	struct tcp_xport *t = (struct tcp_xport *)x;
	int r;

	/* Most pushes of a lazy end keep everything back (a release, an idle
	 * look): those take no lock, which cost a third of a small message's
	 * push over tcp. */
	if (keep_back(t, how) && !(how == IVC_PUSH_IDLE_TX && can_ask(t)))
		return 0;
	pthread_mutex_lock(&t->out.mu);
	if (!keep_back(t, how)) {
		r = push_locked(t, how == IVC_PUSH_IDLE_TX);
	} else if (how == IVC_PUSH_IDLE_TX && build_ask(t)) {
		r = flush(t); /* kept back: the ask alone */
	} else {
		pthread_mutex_unlock(&t->out.mu);
		return 0;
	}
	want_out(t, r == 1);
	IVC_STORE(&t->out.unsent, t->out.n != 0);
	pthread_mutex_unlock(&t->out.mu);
	/* Whatever the peer does next in answer comes after this push: pull
	 * acquires this, so that (for TSan) our writes before the push happen
	 * before the peer's answer is applied to the same memory. */
	__atomic_fetch_add(&t->pushes, 1, __ATOMIC_RELEASE);
	return r;
}

/* ---- pull ---- */

/* A header's range must lie wholly in one part its sender may write. */
static int in_range(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi)
{
	return off >= lo && off <= hi && len <= hi - off;
}

static int frame_class(const struct tcp_xport *t, const struct tcp_frame *f)
{
	uint64_t off = f->off, len = f->len;

	if (f->zero || !len)
		return -EPROTO;
	if (f->kind == TCP_MINE) {
		const struct ivc_lane_geom *g = &t->rxg;
		uint64_t ring_end = g->desc_off + (uint64_t)g->slots * g->desc_size;

		if (in_range(off, len, g->buf_off, g->region_size))
			return CLS_PAYLOAD;
		if (in_range(off, len, g->desc_off, ring_end) &&
		    (off - g->desc_off) % g->desc_size == 0 && len % g->desc_size == 0)
			return CLS_DESC;
		if (off == OFF_CLOSED && len == 4)
			return CLS_CLOSED;
	} else if (f->kind == TCP_YOURS) {
		const struct ivc_lane_geom *g = &t->txg;

		if (in_range(off, len, g->ret_off, g->ret_off + (uint64_t)g->ret_slots * 4) &&
		    off % 4 == 0 && len % 4 == 0)
			return CLS_RET;
		if (off == IVC_OFF_RX_HOT && len == 8)
			return CLS_HOT;
	} else if (f->kind == TCP_ASK) {
		if (off == 0 && len == 4)
			return CLS_ASK;
	}
	return -EPROTO;
}

/* A descriptor, its stamp last: the lane reads the stamp with acquire. */
static void apply_desc(struct ivc_desc *d, const unsigned char *s, uint32_t size)
{
	struct ivc_desc v;

	memcpy(&v, s, sizeof(v));
	IVC_STORE(&d->buf, v.buf);
	IVC_STORE(&d->len, v.len);
	IVC_STORE(&d->flags, v.flags);
	if (size > sizeof(v))
		memcpy(d->data, s + sizeof(v), size - sizeof(v));
	IVC_STORE_REL(&d->seq, v.seq);
}

/* A whole unit of @cls at @s, for offset @off of the lane it goes to. */
static unsigned apply_unit(struct tcp_xport *t, int cls, uint64_t off,
			   const unsigned char *s)
{
	unsigned char *m = t->x.rx_region, *own = t->x.tx_region;
	uint32_t v[2];

	memcpy(&v[0], s, 4); /* every unit is at least 4 bytes */
	switch (cls) {
	case CLS_DESC:
		apply_desc((struct ivc_desc *)(m + off), s, t->rxg.desc_size);
		return 1u << IVC_BELL_RX;
	case CLS_CLOSED:
		IVC_STORE_REL((uint32_t *)(m + OFF_CLOSED), v[0]);
		return 1u << IVC_BELL_RX;
	case CLS_RET:
		IVC_STORE((uint32_t *)(own + off), v[0]);
		return 0;
	case CLS_ASK: /* answered once the pull is done (ivc_tcp_pull()) */
		IVC_STORE(&t->asked, 1);
		return 0;
	default: { /* CLS_HOT: the returns before it are in place */
		struct ivc_lane_rx_hot *h = (void *)(own + IVC_OFF_RX_HOT);

		memcpy(&v[1], s + 4, 4);
		IVC_STORE_REL(&h->ret_prod, v[1]);
		IVC_STORE_REL(&h->desc_cons, v[0]);
		IVC_STORE(&t->asking, 0);
		return 1u << IVC_BELL_TX;
	}
	}
}

static uint32_t unit_size(const struct tcp_xport *t, int cls)
{
	return cls == CLS_DESC ? t->rxg.desc_size : cls == CLS_HOT ? 8u : 4u; /* ASK: 4 */
}

/* @n bytes of the current frame's body.  Return: the bells to wake. */
static unsigned body(struct tcp_xport *t, const unsigned char *p, uint32_t n)
{
	struct tcp_in *in = &t->in;
	int cls = in->cls;
	unsigned woke = 0;

	if (cls == CLS_PAYLOAD) {
		memcpy((unsigned char *)t->x.rx_region + in->f.off + in->done, p, n);
		in->done += n;
		return 0;
	}
	uint32_t unit = unit_size(t, cls);

	while (n) {
		uint32_t take = unit - in->staged;

		if (!in->staged && n >= unit) { /* whole: applied where it lies */
			in->done += unit;
			woke |= apply_unit(t, cls, in->f.off + in->done - unit, p);
			p += unit;
			n -= unit;
			continue;
		}
		/* A unit split between reads waits in the stage for its rest. */
		if (take > n)
			take = n;
		memcpy(in->stage + in->staged, p, take);
		in->staged += take;
		in->done += take;
		p += take;
		n -= take;
		if (in->staged == unit) {
			woke |= apply_unit(t, cls, in->f.off + in->done - unit, in->stage);
			in->staged = 0;
		}
	}
	return woke;
}

/* The header at @p, in host order. */
static void read_header(const unsigned char *p, struct tcp_frame *f)
{
	memcpy(f, p, sizeof(*f));
	f->len = le32toh(f->len);
	f->kind = le16toh(f->kind);
	f->off = le64toh(f->off);
}

/* A frame that lies whole at @p (@avail bytes there), header and body,
 * applied where it lies: what most reads bring, without the state that a
 * frame cut between reads needs.  Return: the bytes it took, 0 if it is
 * not whole there, -EPROTO. */
static int whole_frame(struct tcp_xport *t, const unsigned char *p, uint32_t avail,
		       unsigned *woke)
{
	struct tcp_frame f;
	uint32_t unit, at;
	int cls;

	if (avail < sizeof(f))
		return 0;
	read_header(p, &f);
	if (f.len > avail - sizeof(f))
		return 0;
	cls = frame_class(t, &f);
	if (cls < 0)
		return -EPROTO;
	p += sizeof(f);
	if (cls == CLS_PAYLOAD) {
		memcpy((unsigned char *)t->x.rx_region + f.off, p, f.len);
	} else {
		unit = unit_size(t, cls); /* frame_class(): the length is whole units */
		for (at = 0; at < f.len; at += unit)
			*woke |= apply_unit(t, cls, f.off + at, p + at);
	}
	return (int)(sizeof(f) + f.len);
}

/* Apply what the input buffer holds.  Return: 0, or -EPROTO. */
static int parse(struct tcp_xport *t, unsigned *woke)
{
	struct tcp_in *in = &t->in;

	while (in->pos < in->len) {
		uint32_t avail = in->len - in->pos, take;

		if (!in->in_body) {
			int used = whole_frame(t, in->buf + in->pos, avail, woke);

			if (used < 0)
				return -EPROTO;
			if (used) {
				in->pos += (uint32_t)used;
				continue;
			}
			if (avail < sizeof(in->f))
				break;
			read_header(in->buf + in->pos, &in->f);
			in->pos += sizeof(in->f);
			in->cls = frame_class(t, &in->f);
			if (in->cls < 0)
				return -EPROTO;
			in->in_body = 1;
			in->done = in->staged = 0;
			continue;
		}
		take = in->f.len - in->done < avail ? in->f.len - in->done : avail;
		*woke |= body(t, in->buf + in->pos, take);
		in->pos += take;
		if (in->done == in->f.len)
			in->in_body = 0;
	}
	/* Only a header's first bytes can be left: move them to the front. */
	if (in->pos == in->len) {
		in->pos = in->len = 0;
	} else if (in->pos) {
		memmove(in->buf, in->buf + in->pos, in->len - in->pos);
		in->len -= in->pos;
		in->pos = 0;
	}
	return 0;
}

/* One read: a large payload straight into the lane, else into the buffer;
 * @block: wait for the first byte (the socket itself blocks; every other
 * call on it says MSG_DONTWAIT).  *drained: it got less than it asked
 * for, so the socket had no more at that moment.  Return: bytes, 0 at the
 * stream's end, -1 with errno. */
static ssize_t read_some(struct tcp_xport *t, int block, int *drained)
{
	int flags = block ? 0 : MSG_DONTWAIT;
	struct tcp_in *in = &t->in;
	size_t want;
	ssize_t n;

	if (in->in_body && in->cls == CLS_PAYLOAD && in->len == 0 &&
	    in->f.len - in->done >= IVC_TCP_DIRECT_MIN) {
		want = in->f.len - in->done;
		n = recv(t->sock, (unsigned char *)t->x.rx_region + in->f.off + in->done,
			 want, flags);
		if (n > 0) {
			in->done += (uint32_t)n;
			if (in->done == in->f.len)
				in->in_body = 0;
		}
	} else {
		want = IVC_TCP_IN_CAP - in->len;
		n = recv(t->sock, in->buf + in->len, want, flags);
		if (n > 0)
			in->len += (uint32_t)n;
	}
	*drained = n > 0 && (size_t)n < want;
	return n;
}

/* After a wait's read came back short: whether to read once more.  In a
 * stream more has come meanwhile, and taking it now makes the batches the
 * sleeps used to (64 B streams 5% faster); in a round trip nothing has,
 * and the read that says so costs a tenth of the round trip.  So after one
 * that found nothing the next IVC_TCP_FOLLOW_SKIP wait's reads do not. */
static int follow_up(struct tcp_in *in)
{
	if (!in->follow_skip)
		return 1;
	in->follow_skip--;
	return 0;
}

/* A short read ends the pull: asking again would almost always cost a
 * system call that only says EAGAIN.  Whatever comes later keeps the
 * socket readable, and every wait watches it level-triggered.  @block:
 * the first read waits for something to come (a signal ends the pull). */
static int pull_locked(struct tcp_xport *t, int block, unsigned *woke)
{
	uint64_t total = 0;
	int drained = 0, follow = 0;

	for (;;) {
		ssize_t n;

		if (parse(t, woke))
			return -EPROTO;
		if (total >= IVC_TCP_PULL_MAX || drained)
			return 0;
		n = read_some(t, block && !total, &drained);
		if (follow) {
			t->in.follow_skip = n > 0 ? 0 : IVC_TCP_FOLLOW_SKIP;
			follow = 0;
		} else if (block && !total && n > 0 && drained && follow_up(&t->in)) {
			drained = 0;
			follow = 1;
		}
		if (n > 0) {
			total += (uint64_t)n;
			continue;
		}
		/* A wait's read: a signal, or IVC_TCP_READ_WAIT_MS passed. */
		if (n < 0 && block && !total &&
		    (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -ECONNRESET; /* the end of the stream, or a reset */
	}
}

/* Wake the sleeper of a side that got something, unless it is the
 * caller's: it declared itself asleep (odd epoch) before its last look. */
static void wake_others(struct tcp_xport *t, unsigned woke, unsigned self)
{
	const struct ivc_lane_rx_cold *rc =
		(const void *)((unsigned char *)t->x.rx_region + IVC_OFF_RX_COLD);
	const struct ivc_lane_tx_cold *tc =
		(const void *)((unsigned char *)t->x.tx_region + IVC_OFF_TX_COLD);
	uint64_t zero = 0;

	woke &= ~self;
	if (!woke)
		return;
	IVC_FENCE();
	if ((woke & (1u << IVC_BELL_RX)) && (IVC_LOAD(&rc->rx_sleep) & 1))
		(void)!write(t->x.bell_fd[IVC_BELL_RX], &zero, sizeof(zero));
	if ((woke & (1u << IVC_BELL_TX)) && (IVC_LOAD(&tc->tx_sleep) & 1))
		(void)!write(t->x.bell_fd[IVC_BELL_TX], &zero, sizeof(zero));
}

/* Output that waited for room, or an ASK to answer: out now. */
static void push_owed(struct tcp_xport *t)
{
	if (IVC_LOAD(&t->out.want_out) || IVC_LOAD(&t->asked))
		(void)ivc_tcp_push(&t->x, IVC_PUSH_ALL);
}

/* After a pull under in.mu: the end it found, the sleepers it woke, and
 * what it owes the peer. */
static int pull_done(struct tcp_xport *t, int r, unsigned woke, unsigned self)
{
	if (r == -ECONNRESET || r == -EPROTO)
		__atomic_store_n(&t->end, r, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->in.mu);
	wake_others(t, woke, self);
	push_owed(t);
	return r;
}

/* The input to ourselves, or 0: another thread reads it now, and applies
 * what it reads before it wakes every side that declared itself asleep,
 * so a caller that finds it busy can go on as if nothing had come (a look
 * made after declaring itself asleep is covered by that wake-up).  Never
 * waiting here is what lets a thread block in the socket holding it. */
static int take_input(struct tcp_xport *t)
{
	(void)__atomic_load_n(&t->pushes, __ATOMIC_ACQUIRE);
	return pthread_mutex_trylock(&t->in.mu) == 0;
}

int ivc_tcp_pull(struct ivc_xport *x, unsigned self)
{
	struct tcp_xport *t = (struct tcp_xport *)x;
	unsigned woke = 0;
	int r;

	if (!take_input(t)) {
		push_owed(t);
		r = __atomic_load_n(&t->end, __ATOMIC_RELAXED);
		return r ? r : 1;
	}
	r = __atomic_load_n(&t->end, __ATOMIC_RELAXED);
	if (!r)
		r = pull_locked(t, 0, &woke);
	return pull_done(t, r, woke, self);
}

int ivc_tcp_pull_wait(struct ivc_xport *x, unsigned self, int (*busy)(void *),
		      void *arg)
{
	struct tcp_xport *t = (struct tcp_xport *)x;
	unsigned woke = 0;
	int r;

	if (!take_input(t))
		return -EAGAIN;
	r = __atomic_load_n(&t->end, __ATOMIC_RELAXED);
	if (!r && busy(arg))
		r = 1;
	/* Output waiting for room needs the sleep set's EPOLLOUT: blocked
	 * in a read we would never see the room come. */
	if (!r && IVC_LOAD(&t->out.want_out))
		r = -EAGAIN;
	if (!r)
		r = pull_locked(t, 1, &woke);
	return pull_done(t, r, woke, self);
}

/* ---- drain ---- */

/* With TCP_NOTSENT_LOWAT at 1, the socket polls writable only once none of
 * what we queued is still waiting to be sent. */
int ivc_tcp_drain(struct ivc_xport *x, uint64_t deadline)
{
	struct tcp_xport *t = (struct tcp_xport *)x;

	for (;;) {
		struct pollfd p = { t->sock, POLLIN | POLLOUT, 0 };
		int r = ivc_tcp_push(x, IVC_PUSH_ALL), n;

		if (r < 0)
			return r;
		n = poll(&p, 1, 0);
		if (n > 0 && !r && (p.revents & POLLOUT))
			return 0;
		if (n == 0) {
			if (ivc_now_ns() >= deadline)
				return -ETIMEDOUT;
			n = poll(&p, 1, ivc_ms_left(deadline));
		}
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
			return -ECONNRESET;
		if (n > 0 && (p.revents & POLLIN)) {
			r = ivc_tcp_pull(x, 0);
			if (r)
				return r;
		}
		if (n == 0 && ivc_now_ns() >= deadline)
			return -ETIMEDOUT;
	}
}
