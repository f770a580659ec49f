/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_progress.c - manual progress for one endpoint, run by CQ reads and
 * by data calls that cannot go at once: adopt the channels the acceptor
 * took, read every inbound channel without waiting, push the queued sends.
 * And what a blocking read sleeps on when progress found nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "fi/fi_pvt.h"

static void adopt_channels(struct ivcfi_ep *ep)
{
	struct ivc_channel **chs;
	size_t n = ivcfi_acceptor_take(&ep->acc, &chs);

	if (!n)
		return; /* the common case: nothing came, nothing to free */
	for (size_t i = 0; i < n; i++) {
		struct ivcfi_inpeer *in = calloc(1, sizeof(*in));
		if (!in) {
			ivc_close(chs[i]);
			continue;
		}
		in->ch = chs[i];
		in->src = FI_ADDR_NOTAVAIL;
		ivcfi_list_init(&in->rdv_wait);
		/* Over shm the kernel told ivc who connected: an RTS from it
		 * may be read from that process (fi_rdv.c). */
		struct ivc_info info;
		if (ivc_channel_info(in->ch, &info) == 0 &&
		    !strcmp(info.transport, "shm") && info.peer_pid > 0)
			in->pid = info.peer_pid;
		ivcfi_list_append(&ep->inpeers, &in->link);
	}
	free(chs);
}

void ivcfi_ep_progress(struct ivcfi_ep *ep)
{
	if (!ep->enabled)
		return;
	adopt_channels(ep);
	for (struct ivcfi_list *l = ep->inpeers.next, *next; l != &ep->inpeers; l = next) {
		struct ivcfi_inpeer *in = ivcfi_container(l, struct ivcfi_inpeer, link);
		next = l->next;
		ivcfi_rx_channel(ep, in);
		if (in->err && !in->kept)
			ivcfi_inpeer_reap(ep, in); /* may free it */
	}
	/* Each is looked at only when it has work: an MPI rank calls this
	 * in a loop, and the empty round is on every message's path. */
	if (!ivcfi_list_empty(&ep->busy))
		ivcfi_tx_progress(ep);
	/* A tcp channel we send on is called into for what its socket could
	 * not take at once, but not on every round: each call is a recv()
	 * that almost always finds nothing, and doubled the system calls of
	 * a polling loop.  What a send leaves queued goes out within a few
	 * rounds; a sleep arms these channels as before. */
	if (!ivcfi_list_empty(&ep->wire) && ++ep->wire_rounds % IVCFI_WIRE_EVERY == 0)
		ivcfi_wire_progress(ep);
	if (!ivcfi_list_empty(&ep->rdv) || ep->rdv_spins)
		ivcfi_rdv_progress(ep);
}

/* Arm @ch for @ev and add its descriptor; false if it is ready already. */
static bool add_channel(struct ivc_channel *ch, unsigned ev, struct pollfd *fd)
{
	if (ivc_arm(ch, ev) != 0)
		return false; /* ready, or broken: progress will see it */
	fd->fd = ivc_fd(ch);
	fd->events = POLLIN;
	fd->revents = 0;
	return true;
}

int ivcfi_ep_wait_fds(struct ivcfi_ep *ep, struct pollfd *fds, int max)
{
	int n = 0;

	if (!ep->enabled || max < 1)
		return 0;
	if (!ivcfi_acceptor_arm(&ep->acc))
		return -1; /* a channel waits to be adopted */
	fds[n].fd = ep->acc.notify_fd;
	fds[n].events = POLLIN;
	fds[n++].revents = 0;
	for (struct ivcfi_list *l = ep->inpeers.next; l != &ep->inpeers && n < max;
	     l = l->next) {
		struct ivcfi_inpeer *in = ivcfi_container(l, struct ivcfi_inpeer, link);
		/* A channel held back by the unexpected bound is not read, so
		 * not waited for either. */
		if (!in->ch || ivcfi_inpeer_held_back(in))
			continue;
		if (!add_channel(in->ch, IVC_EV_RX, &fds[n]))
			return -1;
		n++;
	}
	for (struct ivcfi_list *l = ep->busy.next; l != &ep->busy && n < max;
	     l = l->next) {
		struct ivcfi_outpeer *op = ivcfi_container(l, struct ivcfi_outpeer, busy);
		if (!add_channel(op->ch, IVC_EV_TX, &fds[n]))
			return -1;
		n++;
	}
	/* A tcp channel we send on wakes a sleeper when its socket has room
	 * for what waits, or the peer's returns came (its receive side is
	 * never used, so armed for it, it is never ready at once). */
	for (struct ivcfi_list *l = ep->wire.next; l != &ep->wire && n < max;
	     l = l->next) {
		struct ivcfi_outpeer *op = ivcfi_container(l, struct ivcfi_outpeer, wire);
		if (!ivcfi_list_empty(&op->busy))
			continue; /* armed above */
		if (!add_channel(op->ch, IVC_EV_RX, &fds[n]))
			return -1;
		n++;
	}
	/* Waiting for ACKs: the receiver's end wakes us (armed for receive,
	 * which it never sends on, only its death makes it ready). */
	for (struct ivcfi_list *l = ep->rdv.next; l != &ep->rdv && n < max;
	     l = l->next) {
		struct ivcfi_outpeer *op =
			ivcfi_container(l, struct ivcfi_outpeer, rdv_link);
		if (!ivcfi_list_empty(&op->busy) || !ivcfi_list_empty(&op->wire))
			continue; /* armed above */
		if (!add_channel(op->ch, IVC_EV_RX, &fds[n]))
			return -1;
		n++;
	}
	return n;
}
