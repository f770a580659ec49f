/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_rdv.c - rendezvous: large messages over shm cross once.  The
 * sender writes an RTS (where the payload lies in its memory) instead of
 * the payload; the receiver, once a receive matches, reads the payload
 * with process_vm_readv() straight into the receive's buffer and answers
 * with an ACK, which completes the send.  Fragmenting through ivc's
 * buffers copies every byte twice; this copies it once.
 *
 * When.  From IVC_FI_RDV_MIN (16 KiB) on (IVC_FI_RDV=always, the default).
 * IVC_FI_RDV=auto uses it only while the channel is busy: with nothing
 * queued and nothing in the ring, the fragments of a lone message are
 * copied in by the sender while the receiver copies the earlier ones out,
 * two cores at once, which can beat one core's single copy for a
 * ping-pong's round trip; with a backlog (a stream, traffic both ways)
 * one copy wins.  Measured on a shared VM, the pipelined fragments are
 * the less predictable of the two, hence the default (docs/mpi.md).
 * IVC_FI_RDV=off never uses it.
 *
 * Whom the receiver reads from: the process the kernel says is at the
 * other end of the channel (ivc_channel_info's peer_pid, from
 * SO_PEERCRED), never one the message names, so a peer can make us read
 * only its own memory.  Whom an ACK may complete: a send to the process
 * at the other end of the channel it came on, checked the same way.
 *
 * A receiver that may not read the sender's memory (ptrace rules: another
 * user, Yama, a seccomp filter) answers IVCFI_ACK_INLINE; the sender then
 * sends that message's payload as ordinary fragments (RDATA first), which
 * the receiver already waiting for it takes, and sends later ones inline
 * from the start.  IVC_FI_CMA=0 makes a receiver answer so always.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fi/fi_pvt.h"

bool ivcfi_rdv_use(const struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
		   size_t len)
{
	if (!op->cma || ep->rdv_mode == IVCFI_RDV_OFF || len < ep->rdv_min)
		return false;
	return ep->rdv_mode == IVCFI_RDV_ALWAYS ||
	       !ivcfi_list_empty(&op->sends) || ivc_tx_in_flight(op->ch) != 0;
}

size_t ivcfi_rdv_fill_rts(const struct ivcfi_send *s, void *dst, size_t room)
{
	struct ivcfi_rts rts;

	memset(&rts, 0, sizeof(rts));
	rts.iov_count = (uint32_t)s->iov_count;
	for (size_t i = 0; i < s->iov_count; i++) {
		rts.iov[i].addr = (uint64_t)(uintptr_t)s->iov[i].iov_base;
		rts.iov[i].len = s->iov[i].iov_len;
	}
	if (room < sizeof(rts))
		return 0;
	memcpy(dst, &rts, sizeof(rts));
	return sizeof(rts);
}

void ivcfi_rdv_keep(struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
		    struct ivcfi_send *s)
{
	if (ivcfi_list_empty(&op->rdv))
		ivcfi_list_append(&ep->rdv, &op->rdv_link);
	ivcfi_list_append(&op->rdv, &s->link);
}

int ivcfi_rdv_wait(struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
		   const struct ivcfi_send *s)
{
	struct ivcfi_send *q = malloc(sizeof(*q));

	if (!q)
		return -FI_ENOMEM;
	*q = *s;
	q->copy = NULL;
	ivcfi_rdv_keep(ep, op, q);
	ep->tx_queued++;
	return 0;
}

/* ---- sender: ACKs ---------------------------------------------------- */

static struct ivcfi_send *find_waiting(struct ivcfi_ep *ep,
				       const struct ivcfi_inpeer *in,
				       uint64_t msg_id,
				       struct ivcfi_outpeer **opp)
{
	for (struct ivcfi_list *l = ep->rdv.next; l != &ep->rdv; l = l->next) {
		struct ivcfi_outpeer *op =
			ivcfi_container(l, struct ivcfi_outpeer, rdv_link);
		if (op->pid != in->pid)
			continue;
		for (struct ivcfi_list *k = op->rdv.next; k != &op->rdv; k = k->next) {
			struct ivcfi_send *s = ivcfi_container(k, struct ivcfi_send, link);
			if (s->msg_id == msg_id) {
				*opp = op;
				return s;
			}
		}
	}
	return NULL;
}

static void rdv_unkeep(struct ivcfi_outpeer *op, struct ivcfi_send *s)
{
	ivcfi_list_del(&s->link);
	if (ivcfi_list_empty(&op->rdv))
		ivcfi_list_del(&op->rdv_link);
}

/* The receiver cannot read our memory: send @s's payload after all, and
 * every later message to it inline from the start. */
static void send_inline(struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
			struct ivcfi_send *s)
{
	op->cma = false;
	s->rdv = false;
	s->rdata = true;
	s->started = false;
	s->sent = 0;
	if (ivcfi_list_empty(&op->sends) && ivcfi_list_empty(&op->busy))
		ivcfi_list_append(&ep->busy, &op->busy);
	ivcfi_list_append(&op->sends, &s->link);
}

static int on_ack(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		  const struct ivcfi_ack *a)
{
	struct ivcfi_outpeer *op = NULL;
	struct ivcfi_send *s;

	if (!in->pid)
		return -EPROTO; /* nobody we could have sent an RTS to */
	s = find_waiting(ep, in, a->msg_id, &op);
	if (!s)
		return 0; /* failed already (its channel broke): nothing to do */
	ep->rdv_spins = 0;
	rdv_unkeep(op, s);
	if (a->status == IVCFI_ACK_INLINE) {
		send_inline(ep, op, s);
		return 0;
	}
	ep->tx_queued--;
	if (a->status == 0)
		ivcfi_send_done(ep, s);
	else
		ivcfi_send_failed(ep, s, a->status > INT_MAX ? EIO : (int)a->status);
	free(s);
	return 0;
}

int ivcfi_rdv_on_ack(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		     const void *p, size_t len)
{
	struct ivcfi_ack a;
	int rc = 0;

	if (len % sizeof(a))
		return -EPROTO;
	for (size_t off = 0; off < len && !rc; off += sizeof(a)) {
		memcpy(&a, (const char *)p + off, sizeof(a));
		rc = on_ack(ep, in, &a);
	}
	return rc;
}

/* Progress calls that find an ACK still to come before we give the CPU
 * away once (sched_yield). */
#define IVCFI_RDV_SPINS 8u

void ivcfi_rdv_progress(struct ivcfi_ep *ep)
{
	struct ivcfi_list *l = ep->rdv.next;

	/* A send waiting for its ACK needs the receiver to run.  With more
	 * ranks than CPUs, spinning here (MPI spins in its progress loop)
	 * kept the receiver off its CPU for a whole time slice per message:
	 * an Allreduce of 64 KiB on 4 ranks and 2 CPUs took 20 ms instead of
	 * 0.09 ms.  Yielding costs a system call that returns at once when
	 * nothing else wants this CPU; every 8th look keeps two pinned ranks'
	 * bandwidth both ways as it was (every look cost them a fifth). */
	if (ivcfi_list_empty(&ep->rdv))
		ep->rdv_spins = 0;
	else if (++ep->rdv_spins >= IVCFI_RDV_SPINS) {
		ep->rdv_spins = 0;
		sched_yield();
	}

	/* A receiver that died before answering: only the channel says so. */
	while (l != &ep->rdv) {
		struct ivcfi_list *next = l->next;
		struct ivcfi_outpeer *op =
			ivcfi_container(l, struct ivcfi_outpeer, rdv_link);
		int rc = ivc_ready(op->ch, IVC_EV_TX);
		if (rc < 0)
			ivcfi_outpeer_fail(ep, op, rc);
		l = next;
	}
}

/* ---- receiver: ACKs -------------------------------------------------- */

int ivcfi_rdv_flush_acks(struct ivcfi_outpeer *op)
{
	char buf[4096];
	size_t hlen = sizeof(struct ivcfi_hdr);
	size_t room = (op->buf_size < sizeof(buf) ? op->buf_size : sizeof(buf)) - hlen;
	size_t per = room / sizeof(struct ivcfi_ack);

	if (!op->n_acks)
		return 0;
	int rc = ivcfi_flush_stuck(op);
	if (rc)
		return rc;
	while (op->n_acks) {
		size_t k = op->n_acks < per ? op->n_acks : per;
		struct ivcfi_hdr h = {
			.op = IVCFI_OP_ACK,
			.frag_len = (uint32_t)(k * sizeof(struct ivcfi_ack)),
			.total_len = k * sizeof(struct ivcfi_ack),
		};
		memcpy(buf, &h, hlen);
		memcpy(buf + hlen, op->acks, h.frag_len);
		rc = ivcfi_write_one(op, buf, hlen + h.frag_len);
		if (rc)
			return rc;
		op->n_acks -= k;
		memmove(op->acks, op->acks + k, op->n_acks * sizeof(*op->acks));
	}
	return 0;
}

/* Where our ACKs to @in's sender go: the peer's outpeer when it is in
 * the AV, else one made for ACKs alone; NULL when that channel does not
 * reach the very process @in comes from (a name it made up, or
 * another's): its ACKs would complete nothing there. */
static struct ivcfi_outpeer *reply_to(struct ivcfi_ep *ep, struct ivcfi_inpeer *in)
{
	if (!in->reply && in->src != FI_ADDR_NOTAVAIL)
		in->reply = ivcfi_outpeer_get(ep, in->src);
	if (!in->reply)
		in->reply = ivcfi_outpeer_by_name(ep, &in->name);
	if (in->reply && in->reply->pid != in->pid)
		return NULL;
	return in->reply;
}

static void send_ack(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		     uint64_t msg_id, uint64_t status)
{
	struct ivcfi_outpeer *op = reply_to(ep, in);

	if (!op || op->err)
		return; /* the sender learns from its channel's end instead */
	if (op->n_acks == op->cap_acks) {
		size_t cap = op->cap_acks ? op->cap_acks * 2 : 64;
		struct ivcfi_ack *a = realloc(op->acks, cap * sizeof(*a));
		if (!a) {
			ivcfi_outpeer_fail(ep, op, -ENOMEM);
			return;
		}
		op->acks = a;
		op->cap_acks = cap;
	}
	op->acks[op->n_acks++] = (struct ivcfi_ack){ msg_id, status };
	int rc = ivcfi_rdv_flush_acks(op);
	if (rc == -FI_EAGAIN && ivcfi_list_empty(&op->busy))
		ivcfi_list_append(&ep->busy, &op->busy);
	else if (rc && rc != -FI_EAGAIN)
		ivcfi_outpeer_fail(ep, op, rc);
}

/* ---- receiver: reading the payload ------------------------------------ */

static void iov_advance(struct iovec *v, size_t *n, size_t done)
{
	size_t i = 0;

	while (i < *n && done >= v[i].iov_len)
		done -= v[i++].iov_len;
	memmove(v, v + i, (*n - i) * sizeof(*v));
	*n -= i;
	if (*n) {
		v[0].iov_base = (char *)v[0].iov_base + done;
		v[0].iov_len -= done;
	}
}

/* Read @want bytes of the payload @rts describes into @r: 0, an errno,
 * or IVCFI_ACK_INLINE when we may not read that process at all. */
static uint64_t read_payload(const struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
			     const struct ivcfi_rts *rts, const struct ivcfi_recv *r,
			     size_t want)
{
	struct iovec loc[IVCFI_IOV_LIMIT], rem[IVCFI_IOV_LIMIT];
	size_t nl = 0, nr = rts->iov_count, got = 0, left = want;

	if (!in->pid || in->no_cma || ep->cma_off)
		return IVCFI_ACK_INLINE;
	for (size_t i = 0; i < r->iov_count && left; i++) {
		size_t m = r->iov[i].iov_len < left ? r->iov[i].iov_len : left;
		loc[nl].iov_base = r->iov[i].iov_base;
		loc[nl++].iov_len = m;
		left -= m;
	}
	for (size_t i = 0; i < nr; i++) {
		rem[i].iov_base = (void *)(uintptr_t)rts->iov[i].addr;
		rem[i].iov_len = rts->iov[i].len;
	}
	while (got < want) {
		ssize_t n = process_vm_readv(in->pid, loc, nl, rem, nr, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && !got && (errno == EPERM || errno == ENOSYS))
			return IVCFI_ACK_INLINE;
		if (n < 0)
			return (uint64_t)errno;
		if (n == 0)
			return EFAULT; /* the sender's description was short */
		got += (size_t)n;
		iov_advance(loc, &nl, (size_t)n);
		iov_advance(rem, &nr, (size_t)n);
	}
	return 0;
}

void ivcfi_rdv_pull(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		    struct ivcfi_recv *r, const struct ivcfi_unexp *ux)
{
	const struct ivcfi_rxmsg *m = in ? &in->cur : NULL;
	uint64_t msg_id = ux ? ux->msg_id : m->msg_id;
	uint64_t total = ux ? ux->total : m->total;
	const struct ivcfi_rts *rts = ux ? &ux->rts : &m->rts;

	if (ux && (!ux->in || ux->in->err)) {
		/* Its channel broke: the sender failed the send, and its
		 * buffer is its own again. */
		ivcfi_recv_fail(ep, r, FI_EIO, ECONNRESET);
		free(r);
		return;
	}
	if (ux)
		in = ux->in;
	uint64_t st = read_payload(ep, in, rts, r, total < r->cap ? total : r->cap);
	if (st == 0) {
		ep->stats.rdv_msgs++;
		if (ux)
			ivcfi_recv_complete(ep, r, total, ux->src, ux->tag,
					    ux->has_data, ux->data);
		else
			ivcfi_recv_complete(ep, r, total, in->src, m->tag,
					    m->has_data, m->data);
		free(r);
	} else if (st == IVCFI_ACK_INLINE) {
		ep->stats.rdv_inline++;
		in->no_cma = true;
		r->msg_id = msg_id;
		ivcfi_list_append(&in->rdv_wait, &r->link);
	} else {
		ivcfi_recv_fail(ep, r, FI_EIO, (int)st);
		free(r);
	}
	send_ack(ep, in, msg_id, st);
}

void ivcfi_rdv_discard(struct ivcfi_ep *ep, struct ivcfi_unexp *ux)
{
	if (ux->rdv && ux->in)
		send_ack(ep, ux->in, ux->msg_id, 0);
}

struct ivcfi_recv *ivcfi_rdv_take_wait(struct ivcfi_inpeer *in, uint64_t msg_id)
{
	for (struct ivcfi_list *l = in->rdv_wait.next; l != &in->rdv_wait; l = l->next) {
		struct ivcfi_recv *r = ivcfi_container(l, struct ivcfi_recv, link);
		if (r->msg_id == msg_id) {
			ivcfi_list_del(&r->link);
			return r;
		}
	}
	return NULL;
}
