/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_rx.c - receiving on the channels peers connected to us.  Buffers
 * are parsed in place and copied once, into the matched receive or an
 * unexpected-message buffer, then released at once.  The first message on
 * a channel is the peer's hello (its name, for FI_SOURCE and directed
 * receives); after it, every chain starts with a header (fi_pvt.h).
 * An RTS (fi_rdv.c) is matched like a first fragment but carries no
 * payload; an ACK answers our own RTS; RDATA starts the payload of an RTS
 * whose receive waits for it.  Anything else breaks the channel with
 * -EPROTO, as a dead peer does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fi/fi_pvt.h"

#define IVCFI_RX_BURST 64u

/* Receives waiting for RDATA that will not come now. */
static void fail_rdv_wait(struct ivcfi_ep *ep, struct ivcfi_inpeer *in, int err)
{
	while (!ivcfi_list_empty(&in->rdv_wait)) {
		struct ivcfi_recv *r = ivcfi_container(in->rdv_wait.next,
						       struct ivcfi_recv, link);
		ivcfi_list_del(&r->link);
		if (ep)
			ivcfi_recv_fail(ep, r, FI_EIO, -err);
		free(r);
	}
}

static void inpeer_break(struct ivcfi_ep *ep, struct ivcfi_inpeer *in, int err)
{
	if (in->err)
		return;
	in->err = err;
	ivcfi_match_peer_gone(ep, in, err);
	fail_rdv_wait(ep, in, err);
	ivc_close(in->ch);
	in->ch = NULL;
}

static int on_hello(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		    const struct ivc_buf *b)
{
	if (b->len < sizeof(struct ivcfi_hdr) + sizeof(struct ivcfi_name) ||
	    (b->flags & IVC_BUF_MORE))
		return -EPROTO;
	memcpy(&in->name, (const char *)b->data + sizeof(struct ivcfi_hdr),
	       sizeof(in->name));
	if (!ivcfi_name_valid(&in->name))
		return -EPROTO;
	in->named = true;
	in->src = ivcfi_av_find(ep->av, &in->name);
	return 0;
}

/* A message's first chain: its header into in->cur. */
static int begin(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		 const struct ivc_buf *b, struct ivcfi_hdr *h)
{
	if (in->in_msg || b->len < sizeof(*h))
		return -EPROTO;
	memcpy(h, b->data, sizeof(*h));
	if (h->frag_len > h->total_len || h->total_len > IVCFI_MAX_MSG_SIZE)
		return -EPROTO;
	/* A peer inserted in the AV after its hello is found now. */
	if (in->src == FI_ADDR_NOTAVAIL)
		in->src = ivcfi_av_find(ep->av, &in->name);
	ivcfi_rxmsg_clear(&in->cur);
	in->cur.msg_id = h->msg_id;
	in->cur.total = h->total_len;
	in->cur.tag = h->tag;
	in->cur.data = h->data;
	in->cur.tagged = h->op == IVCFI_OP_TAGGED ||
			 (h->op == IVCFI_OP_RTS && (h->flags & IVCFI_HF_TAGGED));
	in->cur.has_data = h->flags & IVCFI_HF_DATA;
	return 0;
}

static int start_first(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		       const struct ivc_buf *b)
{
	struct ivcfi_hdr h;
	int rc = begin(ep, in, b, &h);

	if (rc)
		return rc;
	in->in_msg = true;
	in->chain_left = h.frag_len;
	return ivcfi_match_start(ep, in);
}

/* A whole message in one buffer behind a short header (fi_pvt.h). */
static int start_short(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		       const struct ivc_buf *b, size_t *off)
{
	struct ivcfi_short h;
	size_t hlen = sizeof(h);

	if (in->in_msg || (b->flags & IVC_BUF_MORE) || b->len < hlen)
		return -EPROTO;
	memcpy(&h, b->data, sizeof(h));
	if (h.flags & IVCFI_HF_DATA64)
		hlen += sizeof(uint64_t);
	if (b->len < hlen || (h.flags & IVCFI_HF_DATA64 && !(h.flags & IVCFI_HF_DATA)))
		return -EPROTO;
	if (in->src == FI_ADDR_NOTAVAIL)
		in->src = ivcfi_av_find(ep->av, &in->name);
	ivcfi_rxmsg_clear(&in->cur);
	in->cur.total = b->len - hlen;
	in->cur.tag = h.tag;
	in->cur.data = h.data;
	if (h.flags & IVCFI_HF_DATA64)
		memcpy(&in->cur.data, (const char *)b->data + sizeof(h),
		       sizeof(in->cur.data));
	in->cur.tagged = h.flags & IVCFI_HF_TAGGED;
	in->cur.has_data = h.flags & IVCFI_HF_DATA;
	in->in_msg = true;
	in->chain_left = (uint32_t)in->cur.total;
	*off = hlen;
	return ivcfi_match_start(ep, in);
}

/* The payload of an RTS we answered IVCFI_ACK_INLINE: into the receive
 * that matched the RTS. */
static int start_rdata(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		       const struct ivc_buf *b)
{
	struct ivcfi_hdr h;
	int rc = begin(ep, in, b, &h);

	if (rc)
		return rc;
	struct ivcfi_recv *r = ivcfi_rdv_take_wait(in, h.msg_id);
	if (!r)
		return -EPROTO;
	in->cur.tagged = r->tagged;
	in->cur.recv = r;
	in->in_msg = true;
	in->chain_left = h.frag_len;
	return 0;
}

/* An RTS: one buffer, the header and where the payload lies.  Matched
 * now; read now if a receive took it, else kept as unexpected. */
static int on_rts(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		  const struct ivc_buf *b)
{
	struct ivcfi_hdr h;
	struct ivcfi_rts rts;
	uint64_t sum = 0;
	int rc;

	if (!in->pid || (b->flags & IVC_BUF_MORE) ||
	    b->len != sizeof(h) + sizeof(rts))
		return -EPROTO; /* RTS only where we can tell who sent it */
	rc = begin(ep, in, b, &h);
	if (rc)
		return rc;
	memcpy(&rts, (const char *)b->data + sizeof(h), sizeof(rts));
	if (h.frag_len || rts.iov_count > IVCFI_IOV_LIMIT)
		return -EPROTO;
	for (uint32_t i = 0; i < rts.iov_count; i++) {
		if (rts.iov[i].len > IVCFI_MAX_MSG_SIZE)
			return -EPROTO;
		sum += rts.iov[i].len;
	}
	if (sum != h.total_len)
		return -EPROTO;
	in->cur.rdv = true;
	in->cur.rts = rts;
	rc = ivcfi_match_start(ep, in);
	if (rc == 0 && in->cur.recv)
		ivcfi_rdv_pull(ep, in, in->cur.recv, NULL);
	else if (rc == 0)
		in->cur.ux->complete = true;
	ivcfi_rxmsg_clear(&in->cur);
	return rc;
}

static int start_cont(struct ivcfi_inpeer *in, const struct ivc_buf *b)
{
	struct ivcfi_hdr h;

	if (!in->in_msg || b->len < IVCFI_CONT_HDR_LEN)
		return -EPROTO;
	memcpy(&h, b->data, IVCFI_CONT_HDR_LEN);
	if (h.msg_id != in->cur.msg_id || h.frag_len > in->cur.total - in->cur.got)
		return -EPROTO;
	in->chain_left = h.frag_len;
	return 0;
}

/* The first buffer of a chain: its header.  *@off: where payload starts
 * (the buffer's length for a hello, which has none). */
static int start_chain(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		       const struct ivc_buf *b, size_t *off)
{
	uint8_t op;
	int rc;

	if (b->len < 1)
		return -EPROTO;
	memcpy(&op, b->data, 1);
	if (!in->named) {
		*off = b->len;
		return op == IVCFI_OP_HELLO ? on_hello(ep, in, b) : -EPROTO;
	}
	if (op == IVCFI_OP_RTS || op == IVCFI_OP_ACK) {
		*off = b->len; /* whole in one buffer, no payload to deliver */
		if (b->flags & IVC_BUF_MORE)
			return -EPROTO;
		if (op == IVCFI_OP_RTS)
			return on_rts(ep, in, b);
		if (b->len < sizeof(struct ivcfi_hdr))
			return -EPROTO;
		return ivcfi_rdv_on_ack(ep, in,
					(const char *)b->data + sizeof(struct ivcfi_hdr),
					b->len - sizeof(struct ivcfi_hdr));
	}
	if (op == IVCFI_OP_SHORT) {
		rc = start_short(ep, in, b, off);
	} else if (op == IVCFI_OP_MSG || op == IVCFI_OP_TAGGED) {
		*off = sizeof(struct ivcfi_hdr);
		rc = start_first(ep, in, b);
	} else if (op == IVCFI_OP_RDATA) {
		*off = sizeof(struct ivcfi_hdr);
		rc = start_rdata(ep, in, b);
	} else if (op == IVCFI_OP_CONT) {
		*off = IVCFI_CONT_HDR_LEN;
		rc = start_cont(in, b);
	} else {
		rc = -EPROTO;
	}
	if (rc == 0)
		in->in_chain = true;
	return rc;
}

/* The first buffer of an unexpected message: all of it when small, so a
 * message of 16-256 KiB is not copied over again as it grows. */
#define IVCFI_UNEXP_FIRST (256u << 10)

static int unexp_append(struct ivcfi_unexp *ux, const void *p, size_t n)
{
	if (!n)
		return 0; /* an empty message has no buffer at all */
	if (ux->len + n > ux->buf_cap) {
		size_t cap = ux->buf_cap ? ux->buf_cap * 2 : IVCFI_UNEXP_FIRST;
		while (cap < ux->len + n)
			cap *= 2;
		if (cap > ux->total)
			cap = ux->total;
		char *b = realloc(ux->buf, cap);
		if (!b)
			return -ENOMEM;
		/* The buffer, not what came yet, is what the bound limits. */
		if (ux->in)
			ux->in->unexp_bytes += cap - ux->buf_cap;
		ux->charged += cap - ux->buf_cap;
		ux->buf = b;
		ux->buf_cap = cap;
	}
	memcpy(ux->buf + ux->len, p, n);
	ux->len += n;
	return 0;
}

static int deliver(struct ivcfi_inpeer *in, const void *p, size_t n)
{
	struct ivcfi_recv *r = in->cur.recv;

	if (r) {
		if (in->cur.got < r->cap) {
			size_t m = r->cap - in->cur.got;
			ivcfi_iov_write(r->iov, r->iov_count, in->cur.got, p,
					n < m ? n : m);
		}
	} else if (in->cur.ux) {
		if (unexp_append(in->cur.ux, p, n))
			return -ENOMEM;
	}
	in->cur.got += n;
	return 0;
}

static int on_buf(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		  const struct ivc_buf *b)
{
	size_t off = 0;
	int rc;

	if (!in->in_chain) {
		rc = start_chain(ep, in, b, &off);
		if (rc || !in->in_chain)
			return rc; /* an error, or a hello (no payload) */
	}
	size_t n = b->len - off;
	if (n > in->chain_left)
		return -EPROTO;
	rc = deliver(in, (const char *)b->data + off, n);
	if (rc)
		return rc;
	in->chain_left -= (uint32_t)n;
	if (b->flags & IVC_BUF_MORE)
		return 0;
	if (in->chain_left)
		return -EPROTO;
	in->in_chain = false;
	if (in->cur.got == in->cur.total) {
		in->in_msg = false;
		ivcfi_match_finish(ep, in);
	}
	return 0;
}

int ivcfi_rx_channel(struct ivcfi_ep *ep, struct ivcfi_inpeer *in)
{
	struct ivc_buf b[IVCFI_RX_BURST];
	int err = 0;

	/* Beyond the bound, leave the data in the peer's lane: it stops
	 * sending when its buffers run out. */
	if (!in->ch || ivcfi_inpeer_held_back(in))
		return 0;
	int n = ivc_rx_burst(in->ch, b, IVCFI_RX_BURST, 0);
	if (n == -EAGAIN)
		return 0;
	if (n < 0) {
		inpeer_break(ep, in, n);
		return 0;
	}
	for (int i = 0; i < n && !err; i++)
		err = on_buf(ep, in, &b[i]);
	ivc_rx_release(in->ch, b, (unsigned)n);
	if (err)
		inpeer_break(ep, in, err);
	return n;
}

/* Whether another broken inpeer already records that @in's source is
 * gone. */
static bool src_recorded(const struct ivcfi_ep *ep, const struct ivcfi_inpeer *in)
{
	for (const struct ivcfi_list *l = ep->inpeers.next; l != &ep->inpeers; l = l->next) {
		const struct ivcfi_inpeer *o = ivcfi_container(l, struct ivcfi_inpeer, link);
		if (o != in && o->err && o->src == in->src)
			return true;
	}
	return false;
}

/* The channel made only to answer @in (ACKs to a peer outside the AV),
 * once no other inbound channel answers through it. */
static void drop_reply(struct ivcfi_ep *ep, struct ivcfi_inpeer *in)
{
	struct ivcfi_outpeer *op = in->reply;

	in->reply = NULL;
	if (!op || ivcfi_list_empty(&op->anon_link))
		return; /* none, or the AV's: it lives as long as its entry */
	for (struct ivcfi_list *l = ep->inpeers.next; l != &ep->inpeers; l = l->next)
		if (ivcfi_container(l, struct ivcfi_inpeer, link)->reply == op)
			return;
	ivcfi_outpeer_close(ep, op);
}

/* A peer that left used to stay on the list until the endpoint closed:
 * every visit cost a few hundred bytes and a look per progress round for
 * good, and a peer that named another endpoint kept our channel to it.
 * A directed receive posted later must still fail at once (src_gone() in
 * fi_match.c), so one broken inpeer per AV source stays. */
void ivcfi_inpeer_reap(struct ivcfi_ep *ep, struct ivcfi_inpeer *in)
{
	if (!in->err || in->kept)
		return;
	if (in->src != FI_ADDR_NOTAVAIL && !src_recorded(ep, in)) {
		in->kept = true;
		drop_reply(ep, in);
		return;
	}
	ivcfi_list_del(&in->link);
	drop_reply(ep, in);
	ivcfi_inpeer_close(ep, in);
}

void ivcfi_inpeer_close(struct ivcfi_ep *ep, struct ivcfi_inpeer *in)
{
	ivcfi_list_del(&in->link);
	ivcfi_match_forget_peer(ep, in);
	fail_rdv_wait(NULL, in, 0);
	if (in->in_msg) {
		free(in->cur.recv);
		/* A message a receive took, or one to discard, is in no
		 * queue: ours to free. */
		if (in->cur.ux && (in->cur.ux->claimer || in->cur.ux->discard)) {
			free(in->cur.ux->claimer);
			free(in->cur.ux->buf);
			free(in->cur.ux);
		} else if (in->cur.ux) {
			in->cur.ux->in = NULL;
		}
	}
	ivc_close(in->ch);
	free(in);
}
