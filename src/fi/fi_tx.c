/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_tx.c - sending.  Traffic to a peer goes on the one channel we
 * connect to its listener on the first send (one channel per direction:
 * no connect race to resolve).  A message is written as fragments, each
 * one ivc chain: a header, then the payload gathered from the caller's
 * iovec straight into ivc's buffers.  A send that fits now completes at
 * once; the rest wait in the peer's FIFO (FI_ORDER_SAS) and are pushed by
 * progress.  Over shm, a large message goes as an RTS instead, and is done
 * when the receiver says it has read it (fi_rdv.c).  A peer whose channel breaks fails its sends with FI_EIO
 * (prov_errno: ivc's errno, e.g. ECONNRESET).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fi/fi_pvt.h"

/* How long an outpeer made only to answer a peer outside the AV (its
 * ACKs) may take: it is made inside progress, from a name that peer gave
 * itself, so a made-up one must not hold us long. */
#define IVCFI_REPLY_CONNECT_MS 1000

/* The lane we send on: 256 descriptors of 4 KiB pages, 2 MiB of buffers.
 * Small messages ride inside their descriptor (IVC_OPT_INLINE): the
 * receiver takes one pair of lines instead of two separate ones, and the
 * buffer is ours again at once. */
static const struct ivc_options connect_opts = {
	.tx = { .slots = 256, .buf_size = 4096, .buf_count = 512 },
	.flags = IVC_OPT_INLINE,
};

static int send_hello(struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
		      int timeout_ms)
{
	struct ivcfi_hello hello;

	ivcfi_hello_make(&hello, &ep->name);
	return ivc_send(op->ch, &hello, sizeof(hello), timeout_ms);
}

/* IVC_FI_STATS's "connected" figures: which way ivc reached each peer. */
static void count_transport(struct ivcfi_stats *st, const char *transport)
{
	if (!strcmp(transport, "shm"))
		st->via_shm++;
	else if (!strcmp(transport, "xen"))
		st->via_xen++;
	else
		st->via_tcp++;
}

/* ivc_connect(), again while it is refused, until @timeout_ms has gone.
 * A name in the AV is that of an endpoint that listened before it gave
 * it out, so a refusal means a way to it is not known here yet: a Xen
 * guest's entry in this domain's table, which ivc-netd publishes moments
 * after the peer starts listening (docs/mpi.md, "Between Xen guests"). */
static int connect_retrying(const struct ivcfi_ep *ep, const char *addr, int timeout_ms,
			    struct ivc_channel **ch)
{
	struct timespec t0;
	long pause_ms = 1;
	int left = timeout_ms, rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		rc = ivc_connect(addr, &connect_opts, left, ch);
		left = ivcfi_ms_left(&t0, timeout_ms);
		if (rc != -ECONNREFUSED || left <= pause_ms)
			return rc;
		if (ep->say && pause_ms == 1)
			fprintf(stderr, "ivc-fi: ep %s: connect to %s refused, trying again"
				" for up to %d ms\n", ep->name.addr, addr, left);
		nanosleep(&(struct timespec){ 0, pause_ms * 1000000L }, NULL);
		if (pause_ms < 50)
			pause_ms *= 2;
		left = ivcfi_ms_left(&t0, timeout_ms);
	}
}

static void outpeer_connect(struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
			    const struct ivcfi_name *name, int timeout_ms)
{
	struct ivc_info info;
	int rc = connect_retrying(ep, name->addr, timeout_ms, &op->ch);

	if (rc == 0)
		rc = ivc_channel_info(op->ch, &info);
	if (rc == 0) {
		op->buf_size = info.tx.buf_size;
		size_t room = info.max_tx_msg;
		size_t chain = (size_t)IVCFI_CHAIN_MAX * op->buf_size;
		if (room > chain)
			room = chain;
		op->frag_max = room - sizeof(struct ivcfi_hdr);
		if (op->frag_max > IVCFI_FRAG_MAX)
			op->frag_max = IVCFI_FRAG_MAX;
		/* Over tcp, what a send could not write at once, and what the
		 * peer returns, move only when we call into the channel. */
		if (!strcmp(info.transport, "tcp"))
			ivcfi_list_append(&ep->wire, &op->wire);
		count_transport(&ep->stats, info.transport);
		/* The receiver reads our memory only where the kernel can
		 * tell it who we are: a channel over shm. */
		op->cma = !strcmp(info.transport, "shm") && info.peer_pid > 0;
		op->pid = op->cma ? info.peer_pid : 0;
		rc = send_hello(ep, op, timeout_ms);
	}
	if (rc < 0)
		op->err = rc;
}

static struct ivcfi_outpeer *outpeer_new(struct ivcfi_ep *ep,
					 const struct ivcfi_name *name,
					 int timeout_ms)
{
	struct ivcfi_outpeer *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->name = *name;
	op->short_ok = name->version >= 2;
	ivcfi_list_init(&op->sends);
	ivcfi_list_init(&op->busy);
	ivcfi_list_init(&op->wire);
	ivcfi_list_init(&op->rdv);
	ivcfi_list_init(&op->rdv_link);
	ivcfi_list_init(&op->anon_link);
	outpeer_connect(ep, op, name, timeout_ms);
	return op;
}

struct ivcfi_outpeer *ivcfi_outpeer_by_name(struct ivcfi_ep *ep,
					    const struct ivcfi_name *name)
{
	for (struct ivcfi_list *l = ep->anon.next; l != &ep->anon; l = l->next) {
		struct ivcfi_outpeer *op =
			ivcfi_container(l, struct ivcfi_outpeer, anon_link);
		/* What follows the address's NUL is not part of the name: a
		 * peer that varied it made us connect again for each. */
		if (op->name.version == name->version &&
		    !strcmp(op->name.addr, name->addr))
			return op;
	}
	struct ivcfi_outpeer *op = outpeer_new(ep, name, IVCFI_REPLY_CONNECT_MS);
	if (op)
		ivcfi_list_append(&ep->anon, &op->anon_link);
	return op;
}

struct ivcfi_outpeer *ivcfi_outpeer_get(struct ivcfi_ep *ep, fi_addr_t dest)
{
	const struct ivcfi_name *name = ivcfi_av_name(ep->av, dest);

	if (!name)
		return NULL;
	if (dest >= ep->n_out) {
		size_t n = ep->n_out ? ep->n_out : 16;
		while (n <= dest)
			n *= 2;
		struct ivcfi_outpeer **o = realloc(ep->out, n * sizeof(*o));
		if (!o)
			return NULL;
		memset(o + ep->n_out, 0, (n - ep->n_out) * sizeof(*o));
		ep->out = o;
		ep->n_out = n;
	}
	if (!ep->out[dest])
		ep->out[dest] = outpeer_new(ep, name, ep->connect_ms);
	return ep->out[dest];
}

int ivcfi_flush_stuck(struct ivcfi_outpeer *op)
{
	while (op->stuck_i < op->stuck_n) {
		int k = ivc_tx_send(op->ch, &op->stuck[op->stuck_i],
				    op->stuck_n - op->stuck_i, 0);
		if (k == -EAGAIN)
			return -FI_EAGAIN;
		if (k < 0)
			return k;
		op->stuck_i += (unsigned)k;
	}
	op->stuck_i = op->stuck_n = 0;
	return 0;
}

static void fill_header(const struct ivcfi_send *s, size_t chunk, void *dst,
			size_t hlen)
{
	struct ivcfi_hdr h = {
		.op = s->started ? IVCFI_OP_CONT :
		      s->rdata	 ? IVCFI_OP_RDATA :
		      s->rdv	 ? IVCFI_OP_RTS :
				   s->op,
		.flags = (uint8_t)((s->has_data ? IVCFI_HF_DATA : 0) |
				   (s->op == IVCFI_OP_TAGGED ? IVCFI_HF_TAGGED : 0)),
		.frag_len = (uint32_t)chunk,
		.msg_id = s->msg_id,
		.tag = s->tag,
		.data = s->data,
		.total_len = s->total,
	};
	memcpy(dst, &h, hlen);
}

int ivcfi_write_one(struct ivcfi_outpeer *op, const void *p, size_t len)
{
	struct ivc_buf b;
	int rc = ivc_tx_alloc(op->ch, &b, 1, 0);

	if (rc < 0)
		return rc == -EAGAIN ? -FI_EAGAIN : rc;
	memcpy(b.data, p, len);
	b.len = (uint32_t)len;
	b.flags = 0;
	rc = ivc_tx_send(op->ch, &b, 1, 0);
	if (rc < 0) {
		ivc_tx_free(op->ch, &b, 1);
		return rc == -EAGAIN ? -FI_EAGAIN : rc;
	}
	return 0;
}

/* An RTS: one buffer, the header and where the payload lies. */
static int write_rts(struct ivcfi_outpeer *op, struct ivcfi_send *s)
{
	char buf[sizeof(struct ivcfi_hdr) + sizeof(struct ivcfi_rts)];
	size_t n;
	int rc;

	fill_header(s, 0, buf, sizeof(struct ivcfi_hdr));
	n = sizeof(struct ivcfi_hdr) +
	    ivcfi_rdv_fill_rts(s, buf + sizeof(struct ivcfi_hdr),
			       sizeof(buf) - sizeof(struct ivcfi_hdr));
	rc = ivcfi_write_one(op, buf, n);
	if (rc == 0) {
		s->started = true;
		s->sent = s->total;
	}
	return rc;
}

/* Bytes of the short header @s would take, or 0 if it cannot go short:
 * the peer must read it, and the whole message must fit one buffer. */
static size_t short_hlen(const struct ivcfi_outpeer *op, const struct ivcfi_send *s)
{
	size_t hlen = sizeof(struct ivcfi_short);

	if (!op->short_ok || s->started || s->rdata || s->rdv)
		return 0;
	if (s->has_data && s->data > UINT32_MAX)
		hlen += sizeof(uint64_t);
	return hlen + s->total <= op->buf_size ? hlen : 0;
}

/* The whole of @s in one buffer behind a short header. */
static int write_short(struct ivcfi_outpeer *op, struct ivcfi_send *s,
		       size_t hlen)
{
	struct ivcfi_short h = {
		.op = IVCFI_OP_SHORT,
		.flags = (uint8_t)((s->op == IVCFI_OP_TAGGED ? IVCFI_HF_TAGGED : 0) |
				   (s->has_data ? IVCFI_HF_DATA : 0) |
				   (hlen > sizeof(h) ? IVCFI_HF_DATA64 : 0)),
		.data = s->has_data && hlen == sizeof(h) ? (uint32_t)s->data : 0,
		.tag = s->tag,
	};
	struct ivc_buf b;
	int rc = ivc_tx_alloc(op->ch, &b, 1, 0);

	if (rc < 0)
		return rc == -EAGAIN ? -FI_EAGAIN : rc;
	memcpy(b.data, &h, sizeof(h));
	if (hlen > sizeof(h))
		memcpy((char *)b.data + sizeof(h), &s->data, sizeof(s->data));
	ivcfi_iov_read(s->iov, s->iov_count, 0, (char *)b.data + hlen, s->total);
	b.len = (uint32_t)(hlen + s->total);
	b.flags = 0;
	rc = ivc_tx_send(op->ch, &b, 1, 0);
	if (rc < 0) {
		ivc_tx_free(op->ch, &b, 1);
		return rc == -EAGAIN ? -FI_EAGAIN : rc;
	}
	s->started = true;
	s->sent = s->total;
	return 0;
}

/* Write the next fragment of @s as one chain; 0, -FI_EAGAIN or ivc's error. */
static int write_fragment(struct ivcfi_outpeer *op, struct ivcfi_send *s)
{
	if (s->rdv)
		return write_rts(op, s);
	size_t shlen = short_hlen(op, s);
	if (shlen)
		return write_short(op, s, shlen);

	size_t hlen = s->started ? IVCFI_CONT_HDR_LEN : sizeof(struct ivcfi_hdr);
	size_t chunk = s->total - s->sent;
	if (chunk > op->frag_max)
		chunk = op->frag_max;
	unsigned n = (unsigned)((hlen + chunk + op->buf_size - 1) / op->buf_size);
	struct ivc_buf b[IVCFI_CHAIN_MAX];
	int got = ivc_tx_alloc(op->ch, b, n, 0);
	if (got < 0)
		return got == -EAGAIN ? -FI_EAGAIN : got;
	if ((unsigned)got < n) {
		ivc_tx_free(op->ch, b, (unsigned)got);
		return -FI_EAGAIN;
	}
	fill_header(s, chunk, b[0].data, hlen);
	size_t off = s->sent, left = chunk;
	for (unsigned i = 0; i < n; i++) {
		size_t start = i ? 0 : hlen;
		size_t m = b[i].cap - start;
		if (m > left)
			m = left;
		ivcfi_iov_read(s->iov, s->iov_count, off, (char *)b[i].data + start, m);
		off += m;
		left -= m;
		b[i].len = (uint32_t)(start + m);
		b[i].flags = i + 1 < n ? IVC_BUF_MORE : 0;
	}
	int k = ivc_tx_send(op->ch, b, n, 0);
	if (k < 0) {
		ivc_tx_free(op->ch, b, n);
		return k == -EAGAIN ? -FI_EAGAIN : k;
	}
	if ((unsigned)k < n) { /* the rest of the chain goes out first later */
		memcpy(op->stuck, b + k, (n - (unsigned)k) * sizeof(*b));
		op->stuck_i = 0;
		op->stuck_n = n - (unsigned)k;
	}
	s->started = true;
	s->sent += chunk;
	return 0;
}

/* Push @s as far as the channel takes it: 0 when all of it is out. */
static int push(struct ivcfi_outpeer *op, struct ivcfi_send *s)
{
	for (;;) {
		int rc = ivcfi_flush_stuck(op);
		if (rc)
			return rc;
		if (s->started && s->sent == s->total)
			return 0;
		rc = write_fragment(op, s);
		if (rc)
			return rc;
	}
}

void ivcfi_send_done(struct ivcfi_ep *ep, const struct ivcfi_send *s)
{
	ep->stats.tx_msgs++;
	ep->stats.tx_bytes += s->total;
	if (s->completion)
		ivcfi_cq_write(ep->tx_cq, s->context, s->cq_flags, s->total,
			       NULL, 0, 0, FI_ADDR_NOTAVAIL);
}

void ivcfi_send_failed(struct ivcfi_ep *ep, const struct ivcfi_send *s, int err)
{
	/* Errors are reported whatever the completion flags: the caller must
	 * learn that its data did not go. */
	if (s->context || s->completion)
		ivcfi_cq_write_err(ep->tx_cq, s->context, s->cq_flags, 0, s->data,
				   s->tag, 0, FI_EIO, err < 0 ? -err : err);
}

static void free_send(struct ivcfi_send *s)
{
	free(s->copy);
	free(s);
}

/* Fail (or, with @report false, drop) every send on @q. */
static void drop_sends(struct ivcfi_ep *ep, struct ivcfi_list *q, bool report,
		       int err)
{
	while (!ivcfi_list_empty(q)) {
		struct ivcfi_send *s = ivcfi_container(q->next, struct ivcfi_send,
						       link);
		ivcfi_list_del(&s->link);
		if (report)
			ivcfi_send_failed(ep, s, err);
		free_send(s);
		ep->tx_queued--;
	}
}

void ivcfi_outpeer_fail(struct ivcfi_ep *ep, struct ivcfi_outpeer *op, int err)
{
	op->err = err;
	drop_sends(ep, &op->sends, true, err);
	drop_sends(ep, &op->rdv, true, err);
	op->n_acks = 0; /* nobody left to read them */
	ivcfi_list_del(&op->rdv_link);
	ivcfi_list_del(&op->busy);
	ivcfi_list_del(&op->wire);
	ivc_close(op->ch); /* drops the stuck buffers with it */
	op->ch = NULL;
	op->stuck_i = op->stuck_n = 0;
}

void ivcfi_outpeer_close(struct ivcfi_ep *ep, struct ivcfi_outpeer *op)
{
	drop_sends(ep, &op->sends, false, 0);
	drop_sends(ep, &op->rdv, false, 0);
	free(op->acks);
	ivcfi_list_del(&op->rdv_link);
	ivcfi_list_del(&op->anon_link);
	ivcfi_list_del(&op->busy);
	ivcfi_list_del(&op->wire);
	ivc_close(op->ch); /* what was published stays receivable */
	free(op);
}

/* Keep @s (a copy of it) until progress has written it all. */
static int enqueue(struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
		   const struct ivcfi_send *s, bool copy_payload)
{
	struct ivcfi_send *q = malloc(sizeof(*q));

	if (!q)
		return -FI_ENOMEM;
	*q = *s;
	q->copy = NULL;
	if (copy_payload) {
		q->copy = malloc(s->total ? s->total : 1);
		if (!q->copy) {
			free(q);
			return -FI_ENOMEM;
		}
		ivcfi_iov_read(s->iov, s->iov_count, 0, q->copy, s->total);
		q->iov[0].iov_base = q->copy;
		q->iov[0].iov_len = s->total;
		q->iov_count = 1;
	}
	if (ivcfi_list_empty(&op->sends))
		ivcfi_list_append(&ep->busy, &op->busy);
	ivcfi_list_append(&op->sends, &q->link);
	ep->tx_queued++;
	return 0;
}

static void build_send(struct ivcfi_ep *ep, const struct ivcfi_send_args *a,
		       struct ivcfi_send *s)
{
	/* Field by field: a memset of the whole is a `rep stos`, slow for
	 * what runs on every send. */
	ivcfi_list_init(&s->link);
	s->started = s->rdv = s->rdata = false;
	s->msg_id = s->sent = 0;
	s->copy = NULL;
	s->context = a->context;
	s->op = a->op;
	s->cq_flags = FI_SEND | (a->op == IVCFI_OP_TAGGED ? FI_TAGGED : FI_MSG);
	s->completion = !a->inject &&
			(!ep->tx_selective || (a->flags & FI_COMPLETION));
	s->has_data = a->has_data;
	s->tag = a->tag;
	s->data = a->data;
	s->iov_count = a->iov_count;
	memcpy(s->iov, a->iov, a->iov_count * sizeof(*a->iov));
	s->total = ivcfi_iov_len(a->iov, a->iov_count);
}

ssize_t ivcfi_send(struct ivcfi_ep *ep, const struct ivcfi_send_args *a)
{
	struct ivcfi_send s;

	if (!ep->enabled)
		return -FI_EOPBADSTATE;
	if (a->iov_count > IVCFI_IOV_LIMIT || (a->iov_count && !a->iov))
		return -FI_EINVAL;
	build_send(ep, a, &s);
	if (s.total > IVCFI_MAX_MSG_SIZE ||
	    ((a->inject || (a->flags & FI_INJECT)) && s.total > IVCFI_INJECT_SIZE))
		return -FI_EMSGSIZE;
	struct ivcfi_outpeer *op = ivcfi_outpeer_get(ep, a->dest);
	if (!op)
		return -FI_EINVAL; /* not in the AV (or out of memory) */
	/* No progress on the way of a send that can go at once: it would
	 * read every inbound ring on the latency path of each message.  What
	 * waits for this peer gets its chance first (FI_ORDER_SAS). */
	if (!ivcfi_list_empty(&op->sends))
		ivcfi_ep_progress(ep);
	if (op->err) {
		ivcfi_send_failed(ep, &s, op->err);
		return 0;
	}
	/* Copied payloads are ours to keep: only the caller's go by RTS. */
	s.rdv = !a->inject && !(a->flags & FI_INJECT) &&
		ivcfi_rdv_use(ep, op, s.total);
	if (ivcfi_list_empty(&op->sends)) {
		s.msg_id = ep->next_msg_id++;
		int rc = push(op, &s);
		if (rc == 0 && s.rdv) {
			rc = ivcfi_rdv_wait(ep, op, &s);
			if (rc)
				ivcfi_outpeer_fail(ep, op, -ENOMEM);
			return rc;
		}
		if (rc == 0) {
			ivcfi_send_done(ep, &s);
			return 0;
		}
		if (rc != -FI_EAGAIN) {
			ivcfi_send_failed(ep, &s, rc);
			ivcfi_outpeer_fail(ep, op, rc);
			return 0;
		}
		if (!s.started && ep->tx_queued >= IVCFI_TX_SIZE)
			return -FI_EAGAIN;
	} else {
		if (ep->tx_queued >= IVCFI_TX_SIZE)
			return -FI_EAGAIN;
		s.msg_id = ep->next_msg_id++;
	}
	int rc = enqueue(ep, op, &s, a->inject || (a->flags & FI_INJECT));
	if (rc && s.started)
		ivcfi_outpeer_fail(ep, op, -ENOMEM); /* half a message on the wire */
	/* The channel was full: progress now, which may take returns and
	 * pushes the queue, this send with it. */
	if (rc == 0)
		ivcfi_ep_progress(ep);
	return rc;
}

/* Push one peer's FIFO as far as its channel takes it. */
static void progress_peer(struct ivcfi_ep *ep, struct ivcfi_outpeer *op)
{
	int rc = ivcfi_rdv_flush_acks(op);

	if (rc == -FI_EAGAIN)
		return;
	if (rc) {
		ivcfi_outpeer_fail(ep, op, rc);
		return;
	}
	while (!ivcfi_list_empty(&op->sends)) {
		struct ivcfi_send *s = ivcfi_container(op->sends.next,
						       struct ivcfi_send, link);
		rc = push(op, s);
		if (rc == -FI_EAGAIN)
			return;
		if (rc) {
			ivcfi_outpeer_fail(ep, op, rc);
			return;
		}
		ivcfi_list_del(&s->link);
		if (s->rdv) { /* the caller's until its ACK comes */
			ivcfi_rdv_keep(ep, op, s);
			continue;
		}
		ep->tx_queued--;
		ivcfi_send_done(ep, s);
		free_send(s);
	}
	ivcfi_list_del(&op->busy);
}

void ivcfi_wire_progress(struct ivcfi_ep *ep)
{
	for (struct ivcfi_list *l = ep->wire.next; l != &ep->wire; l = l->next) {
		struct ivcfi_outpeer *op = ivcfi_container(l, struct ivcfi_outpeer, wire);

		/* Pulls the peer's returns and pushes what still waits; an
		 * error shows at the next send. */
		(void)ivc_ready(op->ch, IVC_EV_TX);
	}
}

void ivcfi_tx_progress(struct ivcfi_ep *ep)
{
	struct ivcfi_list *l = ep->busy.next;

	while (l != &ep->busy) {
		struct ivcfi_list *next = l->next;
		progress_peer(ep, ivcfi_container(l, struct ivcfi_outpeer, busy));
		l = next;
	}
}
