/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tcp_wire - a tcp channel (src/tcp/) against a hostile peer on the
 * other end of its socket: the peer's HELLO (tcp_handshake.c), then the
 * frames it sends (tcp_wire.c's pull), cut into reads wherever the input
 * says, interleaved with our side's calls.
 *
 * Over tcp the peer cannot touch our memory: everything it says is bytes
 * on the socket, which tcp_wire.c applies to our mirror of its lane (MINE
 * frames) and to our own lane's return ring and indices (YOURS frames), and
 * the lane code then checks as it checks a shm peer's writes.  The promise
 * (docs/tcp.md, "The wire"; docs/security.md) is that no byte string gets
 * a write outside those parts, a buffer handed out that is not the peer's
 * to give, a crash, a hang or a leak: a bad frame is -EPROTO, the end of
 * the stream -ECONNRESET or -EPIPE.
 *
 * The channel is made as a listener makes one after its handshake
 * (ivc_tcp_hs_recv(), ivc_tcp_channel()), over a socketpair: the same
 * stream calls as a TCP socket, without a port per run.
 *
 * Input:
 *   u8   our lane: slots 2..16 (bits 0-1), inline descriptors (bit 2),
 *        lazy returns (bit 3), buf_count 1..8 (bits 4-6)
 *   u8   HELLO: 0 = the next 64 bytes as they are; else made from the
 *        next 8 bytes: slots (u8), buf_size 64 << (u8 % 8), buf_count (u8),
 *        inline (u8 bit 0), flags (u8), start (u8, added to 2^32 - 1024
 *        or subtracted), 2 spare
 *   then operations, one u8 opcode and its operands each (OP_*), until the
 *   input ends.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ivc/ivc.h>

#include "core/channel_pvt.h"
#include "core/lane_pvt.h"
#include "fuzz.h"
#include "tcp/tcp_pvt.h"
#include "util/clock_pvt.h"

#define MAX_HELD 64
#define MAX_BURST 8
/* A frame's body: up to two buffers of the largest size made here, so
 * that payloads are also read straight into the lane (IVC_TCP_DIRECT_MIN). */
#define BODY_MAX 16384u
/* A peer's lane larger than this is refused at the handshake (-E2BIG), as
 * ivc_tcp_options' bound does, so that one run stays small. */
#define PEER_LANE_MAX (1u << 20)

struct tw_fuzz {
	struct fz_in in;
	int peer;                 /* the hostile end of the socketpair */
	struct tcp_xport *t;      /* owned by ch once made */
	struct ivc_channel *ch;
	struct ivc_lane_geom pg;  /* the peer's lane, as its HELLO said */
	uint32_t next;            /* OP_DESC's next index */
	struct ivc_buf held[MAX_HELD];
	uint32_t nheld;
	int broken;               /* a call returned an error other than EAGAIN */
};

enum {
	OP_RAW,     /* u16 length, then that many input bytes to the socket */
	OP_FRAME,   /* a frame made from the input (frame()) */
	OP_DESC,    /* a well-formed MINE frame of one descriptor */
	OP_BURST,   /* ivc_rx_burst(), zero timeout */
	OP_RECV,    /* ivc_recv() into a buffer of ours */
	OP_RELEASE, /* some held buffers back, in any order */
	OP_SEND,    /* a message of ours (pushes; takes returns back) */
	OP_READY,   /* ivc_ready() on both directions */
	OP_DRAIN,   /* read what we pushed, so the socket never fills */
	OP_COUNT
};

/* Everything @n bytes long into the socket, or what fits: a full socket
 * is the peer's problem, not ours. */
static void note(struct tw_fuzz *f, int r);

static void put(struct tw_fuzz *f, const void *p, size_t n)
{
	while (n) {
		ssize_t w = send(f->peer, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

static void drain(struct tw_fuzz *f)
{
	char sink[4096];

	while (recv(f->peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
}

/* A frame, whole or (the input's next byte nonzero) cut where that byte
 * says, our side reading between the two parts: a header or a unit split
 * between reads must wait for its rest. */
static void emit(struct tw_fuzz *f, const unsigned char *p, size_t n)
{
	size_t cut = fz_u8(&f->in) % (n + 1);
	int r;

	put(f, p, cut);
	if (cut && cut < n) {
		r = ivc_ready(f->ch, IVC_EV_RX);
		if (r < 0)
			note(f, r);
	}
	put(f, p + cut, n - cut);
}

/* Where a frame points: the input picks a part of a lane (so that most
 * frames pass the range checks and reach the lanes) and a position in it,
 * or a raw offset. */
static uint64_t frame_off(struct tw_fuzz *f, uint16_t *kind)
{
	const struct ivc_lane_geom *g = &f->pg, *own = &f->t->txg;
	uint8_t part = fz_u8(&f->in);
	uint16_t at = fz_u16(&f->in);

	switch (part % 7) {
	case 0: /* a payload in the peer's buffers */
		*kind = TCP_MINE;
		return g->buf_off + at % (g->region_size - g->buf_off);
	case 1: /* a descriptor slot */
		*kind = TCP_MINE;
		return g->desc_off + (uint64_t)(at % g->slots) * g->desc_size;
	case 2: /* the closed flag */
		*kind = TCP_MINE;
		return IVC_OFF_TX_COLD + offsetof(struct ivc_lane_tx_cold, closed);
	case 3: /* our return ring */
		*kind = TCP_YOURS;
		return own->ret_off + (uint64_t)(at % own->ret_slots) * 4;
	case 4: /* our desc_cons / ret_prod */
		*kind = TCP_YOURS;
		return IVC_OFF_RX_HOT;
	case 5:
		*kind = TCP_ASK;
		return 0;
	default:
		*kind = fz_u16(&f->in);
		return fz_u64(&f->in);
	}
}

/* A frame header, then its body from the input; a length from the input,
 * most often the unit its part takes. */
static void frame(struct tw_fuzz *f)
{
	struct tcp_frame h;
	static unsigned char out[sizeof(h) + BODY_MAX];
	unsigned char *body = out + sizeof(h);
	uint16_t kind = 0;
	uint64_t off = frame_off(f, &kind);
	uint8_t lsel = fz_u8(&f->in);
	uint32_t len;

	switch (lsel & 3) {
	case 0:
		len = kind == TCP_MINE && off >= f->pg.desc_off &&
				      off < f->pg.buf_off ? f->pg.desc_size :
		      kind == TCP_YOURS && off == IVC_OFF_RX_HOT ? 8 : 4;
		break;
	case 1:
		len = (uint32_t)(lsel >> 2) * 4;
		break;
	case 2:
		len = fz_u16(&f->in) % (BODY_MAX + 1);
		break;
	default:
		len = fz_u32(&f->in); /* a lie: the body is what follows */
		break;
	}
	h.len = htole32(len);
	h.kind = htole16(kind);
	h.zero = (lsel & 0x80) ? fz_u16(&f->in) : 0;
	h.off = htole64(off);
	memcpy(out, &h, sizeof(h));
	if (len > BODY_MAX)
		len = BODY_MAX;
	fz_bytes(&f->in, body, len);
	emit(f, out, sizeof(h) + len);
}

/* One descriptor at the next index, well formed but for what the input
 * says of its buffer, length and flags. */
static void good_desc(struct tw_fuzz *f)
{
	unsigned char out[sizeof(struct tcp_frame) + IVC_DESC_SIZE_INLINE];
	unsigned char *d = out + sizeof(struct tcp_frame);
	struct ivc_desc v;
	struct tcp_frame h;
	uint32_t slot = f->next & (f->pg.slots - 1);

	memset(d, 0, IVC_DESC_SIZE_INLINE);
	v.seq = htole32(f->next);
	v.buf = htole32(fz_u8(&f->in) % (f->pg.buf_count + 1));
	v.len = htole32(fz_u16(&f->in) % (f->pg.buf_size + 2));
	v.flags = htole32(fz_u8(&f->in) & 7);
	memcpy(d, &v, sizeof(v));
	if (f->pg.desc_size > sizeof(v))
		fz_bytes(&f->in, d + sizeof(v), 16);
	h.len = htole32(f->pg.desc_size);
	h.kind = htole16(TCP_MINE);
	h.zero = 0;
	h.off = htole64(f->pg.desc_off + (uint64_t)slot * f->pg.desc_size);
	memcpy(out, &h, sizeof(h));
	emit(f, out, sizeof(h) + f->pg.desc_size);
	f->next++;
}

static void raw(struct tw_fuzz *f)
{
	unsigned char b[1024];
	uint16_t n = fz_u16(&f->in) % (sizeof(b) + 1);

	fz_bytes(&f->in, b, n);
	put(f, b, n);
}

/* A buffer the channel handed out: one of the peer's pool in our mirror
 * of its lane, or (inline descriptors) one of the receiver's own hold
 * slots; its size, no longer; not already out. */
static void got(struct tw_fuzz *f, const struct ivc_buf *b)
{
	const unsigned char *pool = (const unsigned char *)f->t->x.rx_region + f->pg.buf_off;
	const struct ivc_lane_rx *rx = &f->ch->rx;
	const unsigned char *p = b->data;
	volatile unsigned char sum = 0;

	FZ_ASSERT(!(b->flags & ~IVC_BUF_MORE) && b->len <= b->cap);
	if (b->id < f->pg.buf_count) {
		FZ_ASSERT(p == pool + (size_t)b->id * f->pg.buf_size);
		FZ_ASSERT(b->cap == f->pg.buf_size);
	} else {
		FZ_ASSERT(f->pg.desc_size == IVC_DESC_SIZE_INLINE);
		FZ_ASSERT(b->id - f->pg.buf_count < f->pg.slots);
		FZ_ASSERT(p == rx->hold + (size_t)(b->id - f->pg.buf_count) *
						  IVC_DESC_SIZE_INLINE);
		FZ_ASSERT(b->cap <= IVC_INLINE_MAX);
	}
	for (uint32_t i = 0; i < f->nheld; i++)
		FZ_ASSERT(f->held[i].id != b->id);
	for (uint32_t i = 0; i < b->len; i++)
		sum = (unsigned char)(sum + p[i]);
	(void)sum;
}

/* An error ends what our side may expect, never the run: later calls must
 * keep failing cleanly. */
static void note(struct tw_fuzz *f, int r)
{
	if (r < 0 && r != -EAGAIN && r != -ETIMEDOUT) {
		FZ_ASSERT(r == -EPROTO || r == -ECONNRESET || r == -EPIPE ||
			  r == -ENOBUFS || r == -EMSGSIZE);
		f->broken = 1;
	}
}

static void burst(struct tw_fuzz *f)
{
	struct ivc_buf b[MAX_BURST];
	unsigned want = 1 + fz_u8(&f->in) % MAX_BURST;
	int n;

	if (want > MAX_HELD - f->nheld)
		want = MAX_HELD - f->nheld;
	if (!want)
		return;
	n = ivc_rx_burst(f->ch, b, want, 0);
	note(f, n);
	for (int i = 0; i < n; i++) {
		got(f, &b[i]);
		f->held[f->nheld++] = b[i];
	}
}

static void recv_copy(struct tw_fuzz *f)
{
	unsigned char buf[4096];
	size_t cap = fz_u16(&f->in) % (sizeof(buf) + 1);
	ssize_t n = ivc_recv(f->ch, buf, cap, 0);

	if (n >= 0)
		FZ_ASSERT((size_t)n <= cap);
	else if (n != -EMSGSIZE)
		note(f, (int)n);
}

static void release(struct tw_fuzz *f)
{
	uint32_t k = f->nheld ? 1 + fz_u8(&f->in) % f->nheld : 0;

	/* The input's pick first, the rest moved down: any order. */
	while (k--) {
		uint32_t i = fz_u8(&f->in) % f->nheld;
		struct ivc_buf b = f->held[i];

		f->held[i] = f->held[--f->nheld];
		FZ_ASSERT(ivc_rx_release(f->ch, &b, 1) == 0);
	}
}

static void send_one(struct tw_fuzz *f)
{
	struct ivc_buf b;
	int r = ivc_tx_alloc(f->ch, &b, 1, 0);

	note(f, r);
	if (r != 1)
		return;
	b.len = fz_u16(&f->in) % (b.cap + 1);
	memset(b.data, 0xa5, b.len);
	b.flags = 0;
	r = ivc_tx_send(f->ch, &b, 1, 0);
	if (r != 1)
		FZ_ASSERT(ivc_tx_free(f->ch, &b, 1) == 0);
	note(f, r);
}

static void run_ops(struct tw_fuzz *f)
{
	while (f->in.n) {
		switch (fz_u8(&f->in) % OP_COUNT) {
		case OP_RAW: raw(f); break;
		case OP_FRAME: frame(f); break;
		case OP_DESC: good_desc(f); break;
		case OP_BURST: burst(f); break;
		case OP_RECV: recv_copy(f); break;
		case OP_RELEASE: release(f); break;
		case OP_SEND: send_one(f); break;
		case OP_READY: note(f, ivc_ready(f->ch, IVC_EV_RX | IVC_EV_TX)); break;
		default: drain(f); break;
		}
	}
}

/* The peer's HELLO: as the input has it, or made from a few of its bytes
 * so that most runs get past the handshake. */
static void hello(struct tw_fuzz *f)
{
	unsigned char m[64];

	if (fz_u8(&f->in) == 0) {
		fz_bytes(&f->in, m, sizeof(m));
	} else {
		uint32_t v[5];
		uint8_t s = fz_u8(&f->in), bs = fz_u8(&f->in), bc = fz_u8(&f->in);
		uint8_t inl = fz_u8(&f->in), fl = fz_u8(&f->in), st = fz_u8(&f->in);

		(void)fz_u16(&f->in);
		memset(m, 0, sizeof(m));
		memcpy(m, "IVCT", 4);
		m[4] = 1;         /* version */
		m[6] = TCP_HELLO; /* type */
		v[0] = htole32(inl & 1 ? IVC_DESC_SIZE_INLINE : IVC_DESC_SIZE);
		v[1] = htole32(2u << (s % 4));
		v[2] = htole32(64u << (bs % 8)); /* to 8 KiB: a read in place */
		v[3] = htole32(1 + bc % 8);
		v[4] = htole32(st & 0x80 ? IVC_IDX_START - (st & 0x7f) : IVC_IDX_START + st);
		memcpy(m + 8, v, sizeof(v));
		m[36] = fl; /* flags: TCP_HS_ASKS, TCP_HS_LAZY, others */
	}
	put(f, m, sizeof(m));
}

/* Our end of a fresh socketpair as a listener's channel: 0, or the run is
 * over (the handshake refused the peer, as it should have). */
static int make_channel(struct tw_fuzz *f, int sock)
{
	uint8_t cfg = fz_u8(&f->in);
	struct ivc_tcp_options to = { .flags = cfg & 8 ? IVC_TCP_LAZY_RETURNS : 0 };
	struct ivc_options o;
	struct tcp_opts opts;
	struct tcp_peer_hs p;
	int r;

	ivc_options_init(&o);
	o.tx.slots = 2u << (cfg & 3);
	o.tx.buf_size = 64;
	o.tx.buf_count = 1 + ((cfg >> 4) & 7);
	o.flags = cfg & 4 ? IVC_OPT_INLINE : 0;
	o.tcp = &to;
	FZ_ASSERT(ivc_tcp_opts(&o, &opts) == 0);
	r = ivc_tcp_xport_new(&opts, &f->t);
	FZ_ASSERT(r == 0);
	hello(f);
	r = ivc_tcp_hs_recv(sock, TCP_HELLO, PEER_LANE_MAX, &p, ivc_now_ns() + 1000000000ull);
	if (r) {
		FZ_ASSERT(r == -EPROTO || r == -E2BIG || r == -EPROTONOSUPPORT ||
			  r == -EACCES);
		ivc_tcp_xport_free(f->t);
		ivc_tcp_opts_free(&opts);
		close(sock);
		return -1;
	}
	fz_check_geom(&p.g);
	FZ_ASSERT(p.g.region_size <= PEER_LANE_MAX);
	f->pg = p.g;
	f->next = p.start;
	r = ivc_tcp_channel(f->t, sock, &opts, &p, &f->ch);
	ivc_tcp_opts_free(&opts);
	FZ_ASSERT(r == 0 || r == -ENOMEM);
	return r ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_fuzz f;
	int sv[2];

	memset(&f, 0, sizeof(f));
	f.in = (struct fz_in){ data, size };
	FZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	f.peer = sv[1];
	if (make_channel(&f, sv[0]) == 0) {
		run_ops(&f);
		/* The peer leaves first, so that the close's drain ends at
		 * once; a release after it must still succeed (zerocopy.h). */
		close(f.peer);
		if (f.nheld)
			FZ_ASSERT(ivc_rx_release(f.ch, f.held, f.nheld) == 0);
		(void)ivc_close(f.ch);
	} else {
		close(f.peer);
	}
	return 0;
}
