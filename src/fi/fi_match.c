/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_match.c - matching messages to receives: a queue of posted
 * receives and a queue of unexpected messages, each kept separately for
 * untagged and tagged traffic, both searched in order (so two messages
 * from one peer match in the order sent).  A directed receive
 * (FI_DIRECTED_RECV) matches only its source's fi_addr.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fi/fi_pvt.h"

/* Receives come and go once per message: kept for reuse, up to a bound,
 * rather than going through malloc, whose per-size cache holds only a
 * few and left MPI's windows of 64 receives to its slow path. */
#define IVCFI_RECV_POOL 256u

struct ivcfi_recv *ivcfi_recv_get(struct ivcfi_ep *ep)
{
	struct ivcfi_recv *r = ep->recv_pool;

	if (r) {
		ep->recv_pool = *(struct ivcfi_recv **)r;
		ep->n_recv_pool--;
	} else {
		r = malloc(sizeof(*r));
		if (!r)
			return NULL;
	}
	/* The caller fills the rest (build_recv): no memset of the whole,
	 * which costs a `rep stos` on every message. */
	ivcfi_list_init(&r->link);
	r->msg_id = 0;
	return r;
}

void ivcfi_recv_put(struct ivcfi_ep *ep, struct ivcfi_recv *r)
{
	if (!r)
		return;
	if (!ep || ep->n_recv_pool >= IVCFI_RECV_POOL) {
		free(r);
		return;
	}
	*(struct ivcfi_recv **)r = ep->recv_pool;
	ep->recv_pool = r;
	ep->n_recv_pool++;
}

void ivcfi_recv_pool_drain(struct ivcfi_ep *ep)
{
	while (ep->recv_pool) {
		struct ivcfi_recv *r = ep->recv_pool;
		ep->recv_pool = *(struct ivcfi_recv **)r;
		free(r);
	}
	ep->n_recv_pool = 0;
}

static bool tag_match(const struct ivcfi_recv *r, bool tagged, uint64_t tag)
{
	return r->tagged == tagged && (!tagged || !((r->tag ^ tag) & ~r->ignore));
}

static bool src_match(fi_addr_t want, fi_addr_t have)
{
	return want == FI_ADDR_UNSPEC || want == have;
}

static struct ivcfi_list *posted_q(struct ivcfi_ep *ep, bool tagged)
{
	return tagged ? &ep->recv_tag : &ep->recv_msg;
}

static struct ivcfi_list *unexp_q(struct ivcfi_ep *ep, bool tagged)
{
	return tagged ? &ep->unexp_tag : &ep->unexp_msg;
}

static uint64_t recv_flags(const struct ivcfi_recv *r, bool has_data)
{
	return FI_RECV | (r->tagged ? FI_TAGGED : FI_MSG) |
	       (has_data ? FI_REMOTE_CQ_DATA : 0);
}

void ivcfi_recv_complete(struct ivcfi_ep *ep, struct ivcfi_recv *r,
			 uint64_t total, fi_addr_t src, uint64_t tag,
			 bool has_data, uint64_t data)
{
	uint64_t flags = recv_flags(r, has_data);

	ep->stats.rx_msgs++;
	ep->stats.rx_bytes += total;
	if (total > r->cap) /* delivered up to the buffer's end, rest dropped */
		ivcfi_cq_write_err(ep->rx_cq, r->context, flags, r->cap, data,
				   tag, total - r->cap, FI_ETRUNC, 0);
	else if (r->completion)
		ivcfi_cq_write(ep->rx_cq, r->context, flags, total,
			       r->iov_count ? r->iov[0].iov_base : NULL, data,
			       tag, src);
}

void ivcfi_recv_fail(struct ivcfi_ep *ep, struct ivcfi_recv *r, int err,
		     int prov_errno)
{
	ivcfi_cq_write_err(ep->rx_cq, r->context, recv_flags(r, false), 0, 0,
			   r->tag, 0, err, prov_errno);
}

static void unexp_free(struct ivcfi_unexp *ux)
{
	if (ux->in)
		ux->in->unexp_bytes -= ux->charged;
	free(ux->buf);
	free(ux);
}

/* A whole unexpected message into @r; both are freed. */
static void deliver_unexp(struct ivcfi_ep *ep, struct ivcfi_unexp *ux,
			  struct ivcfi_recv *r)
{
	if (ux->rdv) { /* its payload is still in the sender: read it now */
		ivcfi_rdv_pull(ep, ux->in, r, ux);
		unexp_free(ux);
		return;
	}
	ivcfi_iov_write(r->iov, r->iov_count, 0, ux->buf,
			ux->len < r->cap ? ux->len : r->cap);
	ivcfi_recv_complete(ep, r, ux->total, ux->src, ux->tag, ux->has_data,
			    ux->data);
	unexp_free(ux);
	ivcfi_recv_put(ep, r);
}

int ivcfi_match_start(struct ivcfi_ep *ep, struct ivcfi_inpeer *in)
{
	struct ivcfi_rxmsg *m = &in->cur;
	struct ivcfi_list *q = posted_q(ep, m->tagged);

	for (struct ivcfi_list *l = q->next; l != q; l = l->next) {
		struct ivcfi_recv *r = ivcfi_container(l, struct ivcfi_recv, link);
		if (src_match(r->src, in->src) && tag_match(r, m->tagged, m->tag)) {
			ivcfi_list_del(&r->link);
			ep->rx_posted--;
			m->recv = r;
			return 0;
		}
	}
	struct ivcfi_unexp *ux = calloc(1, sizeof(*ux));
	if (!ux)
		return -ENOMEM;
	ux->tagged = m->tagged;
	ux->has_data = m->has_data;
	ux->tag = m->tag;
	ux->data = m->data;
	ux->total = m->total;
	ux->src = in->src;
	ux->in = in;
	ux->rdv = m->rdv;
	ux->msg_id = m->msg_id;
	if (m->rdv)
		ux->rts = m->rts;
	/* Each entry counts against the channel's bound, not only its bytes:
	 * a flood of empty messages must stop being read too. */
	ux->charged = sizeof(*ux);
	in->unexp_bytes += ux->charged;
	ivcfi_list_append(unexp_q(ep, m->tagged), &ux->link);
	m->ux = ux;
	return 0;
}

void ivcfi_match_finish(struct ivcfi_ep *ep, struct ivcfi_inpeer *in)
{
	struct ivcfi_rxmsg *m = &in->cur;

	if (m->recv) {
		ivcfi_recv_complete(ep, m->recv, m->total, in->src, m->tag,
				    m->has_data, m->data);
		ivcfi_recv_put(ep, m->recv);
	} else if (m->ux) {
		m->ux->complete = true;
		if (m->ux->claimer)
			deliver_unexp(ep, m->ux, m->ux->claimer);
		else if (m->ux->discard)
			unexp_free(m->ux);
	}
	ivcfi_rxmsg_clear(m);
}

/* Is every channel from @src broken (so nothing more can come from it)? */
static bool src_gone(struct ivcfi_ep *ep, fi_addr_t src)
{
	bool seen = false;

	for (struct ivcfi_list *l = ep->inpeers.next; l != &ep->inpeers; l = l->next) {
		struct ivcfi_inpeer *in = ivcfi_container(l, struct ivcfi_inpeer, link);
		if (in->src != src)
			continue;
		if (!in->err)
			return false;
		seen = true;
	}
	return seen;
}

static void fail_directed(struct ivcfi_ep *ep, struct ivcfi_list *q,
			  fi_addr_t src, int err)
{
	struct ivcfi_list *l = q->next;

	while (l != q) {
		struct ivcfi_list *next = l->next;
		struct ivcfi_recv *r = ivcfi_container(l, struct ivcfi_recv, link);
		if (r->src == src) {
			ivcfi_list_del(&r->link);
			ep->rx_posted--;
			ivcfi_recv_fail(ep, r, FI_EIO, -err);
			ivcfi_recv_put(ep, r);
		}
		l = next;
	}
}

void ivcfi_match_peer_gone(struct ivcfi_ep *ep, struct ivcfi_inpeer *in, int err)
{
	if (in->in_msg) { /* the message it was sending never ends */
		struct ivcfi_rxmsg *m = &in->cur;
		if (m->recv) {
			ivcfi_recv_fail(ep, m->recv, FI_EIO, -err);
			ivcfi_recv_put(ep, m->recv);
		} else if (m->ux && m->ux->claimer) {
			ivcfi_recv_fail(ep, m->ux->claimer, FI_EIO, -err);
			ivcfi_recv_put(ep, m->ux->claimer);
			unexp_free(m->ux);
		} else if (m->ux) { /* unexpected, claimed or discarded */
			ivcfi_list_del(&m->ux->link);
			unexp_free(m->ux);
		}
		ivcfi_rxmsg_clear(m);
		in->in_msg = false;
	}
	if (in->src == FI_ADDR_NOTAVAIL || !src_gone(ep, in->src))
		return;
	fail_directed(ep, &ep->recv_msg, in->src, err);
	fail_directed(ep, &ep->recv_tag, in->src, err);
}

static int build_recv(struct ivcfi_ep *ep, const struct ivcfi_recv_args *a,
		      struct ivcfi_recv **out)
{
	struct ivcfi_recv *r = ivcfi_recv_get(ep);

	if (!r)
		return -FI_ENOMEM;
	r->context = a->context;
	r->tagged = a->tagged;
	r->completion = !ep->rx_selective || (a->flags & FI_COMPLETION);
	r->src = ep->directed ? a->src : FI_ADDR_UNSPEC;
	r->tag = a->tag;
	r->ignore = a->ignore;
	r->iov_count = a->iov_count;
	memcpy(r->iov, a->iov, a->iov_count * sizeof(*a->iov));
	r->cap = ivcfi_iov_len(a->iov, a->iov_count);
	*out = r;
	return 0;
}

/* The oldest unexpected message @r matches, or NULL. */
static struct ivcfi_unexp *find_unexp(struct ivcfi_ep *ep, const struct ivcfi_recv *r)
{
	struct ivcfi_list *q = unexp_q(ep, r->tagged);

	for (struct ivcfi_list *l = q->next; l != q; l = l->next) {
		struct ivcfi_unexp *ux = ivcfi_container(l, struct ivcfi_unexp, link);
		if (src_match(r->src, ux->src) && tag_match(r, ux->tagged, ux->tag))
			return ux;
	}
	return NULL;
}

/* Drop @ux now, or when its last fragment comes. */
static void discard(struct ivcfi_ep *ep, struct ivcfi_unexp *ux)
{
	ivcfi_rdv_discard(ep, ux); /* an RTS: its sender is done with it */
	ivcfi_list_del(&ux->link);
	if (ux->complete)
		unexp_free(ux);
	else
		ux->discard = true;
}

/* FI_PEEK (MPI_Probe, MPI_Improbe): report the oldest matching message,
 * FI_ENOMSG if none; with FI_CLAIM keep it for the paired FI_CLAIM receive
 * (found by the same context), with FI_DISCARD drop it. */
static ssize_t peek(struct ivcfi_ep *ep, struct ivcfi_recv *r, uint64_t flags)
{
	struct ivcfi_unexp *ux = find_unexp(ep, r);

	if (!ux) {
		ivcfi_recv_fail(ep, r, FI_ENOMSG, 0);
		ivcfi_recv_put(ep, r);
		return 0;
	}
	ivcfi_cq_write(ep->rx_cq, r->context, recv_flags(r, ux->has_data),
		       ux->total, NULL, ux->data, ux->tag, ux->src);
	if (flags & FI_DISCARD) {
		discard(ep, ux);
	} else if (flags & FI_CLAIM) {
		ivcfi_list_del(&ux->link);
		ux->claim_ctx = r->context;
		ivcfi_list_append(&ep->claimed, &ux->link);
	}
	ivcfi_recv_put(ep, r);
	return 0;
}

/* FI_CLAIM without FI_PEEK: receive (or, with FI_DISCARD, drop) the
 * message an FI_PEEK|FI_CLAIM with the same context claimed. */
static ssize_t claim(struct ivcfi_ep *ep, struct ivcfi_recv *r, uint64_t flags)
{
	struct ivcfi_list *q = &ep->claimed;
	struct ivcfi_unexp *ux = NULL;

	for (struct ivcfi_list *l = q->next; l != q && !ux; l = l->next) {
		struct ivcfi_unexp *u = ivcfi_container(l, struct ivcfi_unexp, link);
		if (u->claim_ctx == r->context)
			ux = u;
	}
	if (!ux) {
		ivcfi_recv_put(ep, r);
		return -FI_EINVAL;
	}
	if (flags & FI_DISCARD) {
		ivcfi_cq_write(ep->rx_cq, r->context, recv_flags(r, ux->has_data),
			       0, NULL, ux->data, ux->tag, ux->src);
		discard(ep, ux);
		ivcfi_recv_put(ep, r);
		return 0;
	}
	ivcfi_list_del(&ux->link);
	if (ux->complete)
		deliver_unexp(ep, ux, r);
	else
		ux->claimer = r;
	return 0;
}

ssize_t ivcfi_recv(struct ivcfi_ep *ep, const struct ivcfi_recv_args *a)
{
	struct ivcfi_recv *r;

	if (!ep->enabled)
		return -FI_EOPBADSTATE;
	if (a->iov_count > IVCFI_IOV_LIMIT || (a->iov_count && !a->iov))
		return -FI_EINVAL;
	if (a->flags & FI_MULTI_RECV)
		return -FI_ENOSYS;
	/* A probe must see what has arrived.  A receive need not: what is
	 * still in a ring matches it when progress reads the ring, as it
	 * would have before (older unexpected messages are searched first).
	 * Reading the rings here would make a message that arrived just
	 * before its receive unexpected: one more copy, two allocations. */
	if (a->tagged && (a->flags & (FI_PEEK | FI_CLAIM)))
		ivcfi_ep_progress(ep);
	if (build_recv(ep, a, &r))
		return -FI_ENOMEM;
	if (a->tagged && (a->flags & FI_PEEK))
		return peek(ep, r, a->flags);
	if (a->tagged && (a->flags & FI_CLAIM))
		return claim(ep, r, a->flags);
	struct ivcfi_unexp *ux = find_unexp(ep, r);
	if (ux) {
		ivcfi_list_del(&ux->link);
		if (ux->complete)
			deliver_unexp(ep, ux, r);
		else
			ux->claimer = r; /* the rest arrives into it */
		return 0;
	}
	if (r->src != FI_ADDR_UNSPEC && src_gone(ep, r->src)) {
		ivcfi_recv_fail(ep, r, FI_EIO, ECONNRESET);
		ivcfi_recv_put(ep, r);
		return 0;
	}
	if (ep->rx_posted >= IVCFI_RX_SIZE) {
		ivcfi_recv_put(ep, r);
		ivcfi_ep_progress(ep); /* arrivals free posted slots */
		return -FI_EAGAIN;
	}
	ivcfi_list_append(posted_q(ep, r->tagged), &r->link);
	ep->rx_posted++;
	return 0;
}

static bool cancel_in(struct ivcfi_ep *ep, struct ivcfi_list *q, void *context)
{
	for (struct ivcfi_list *l = q->next; l != q; l = l->next) {
		struct ivcfi_recv *r = ivcfi_container(l, struct ivcfi_recv, link);
		if (r->context != context)
			continue;
		ivcfi_list_del(&r->link);
		ep->rx_posted--;
		ivcfi_recv_fail(ep, r, FI_ECANCELED, 0);
		ivcfi_recv_put(ep, r);
		return true;
	}
	return false;
}

ssize_t ivcfi_cancel(struct ivcfi_ep *ep, void *context)
{
	if (cancel_in(ep, &ep->recv_tag, context) ||
	    cancel_in(ep, &ep->recv_msg, context))
		return 0;
	return -FI_ENOENT;
}

static void free_recvs(struct ivcfi_list *q)
{
	while (!ivcfi_list_empty(q)) {
		struct ivcfi_recv *r = ivcfi_container(q->next, struct ivcfi_recv, link);
		ivcfi_list_del(&r->link);
		free(r); /* at close: not kept */
	}
}

static void free_unexps(struct ivcfi_list *q)
{
	while (!ivcfi_list_empty(q)) {
		struct ivcfi_unexp *ux = ivcfi_container(q->next, struct ivcfi_unexp, link);
		ivcfi_list_del(&ux->link);
		free(ux->buf);
		free(ux);
	}
}

static void forget_in(struct ivcfi_list *q, const struct ivcfi_inpeer *in)
{
	for (struct ivcfi_list *l = q->next; l != q; l = l->next) {
		struct ivcfi_unexp *ux = ivcfi_container(l, struct ivcfi_unexp, link);
		if (ux->in == in)
			ux->in = NULL;
	}
}

void ivcfi_match_forget_peer(struct ivcfi_ep *ep, const struct ivcfi_inpeer *in)
{
	forget_in(&ep->unexp_msg, in);
	forget_in(&ep->unexp_tag, in);
	forget_in(&ep->claimed, in);
}

void ivcfi_match_cleanup(struct ivcfi_ep *ep)
{
	free_recvs(&ep->recv_msg);
	free_recvs(&ep->recv_tag);
	free_unexps(&ep->unexp_msg);
	free_unexps(&ep->unexp_tag);
	free_unexps(&ep->claimed);
}
