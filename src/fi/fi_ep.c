/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_ep.c - the endpoint's life: open (its name is made up at once),
 * bind to an AV and CQs, enable (listen, start the acceptor), close (and
 * say what it carried when IVC_FI_STATS=1).  Each entry point takes the
 * domain's lock: a bind or close changes what CQ reads progress.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fi/fi_pvt.h"

static void print_stats(const struct ivcfi_ep *ep)
{
	if (!ep->say)
		return;
	fprintf(stderr, "ivc-fi: ep %s sent %llu msgs %llu B, received %llu msgs %llu B"
		", rendezvous %llu read %llu inline, connected %llu shm %llu xen %llu tcp\n",
		ep->name.addr, (unsigned long long)ep->stats.tx_msgs,
		(unsigned long long)ep->stats.tx_bytes,
		(unsigned long long)ep->stats.rx_msgs,
		(unsigned long long)ep->stats.rx_bytes,
		(unsigned long long)ep->stats.rdv_msgs,
		(unsigned long long)ep->stats.rdv_inline,
		(unsigned long long)ep->stats.via_shm,
		(unsigned long long)ep->stats.via_xen,
		(unsigned long long)ep->stats.via_tcp);
}

bool ivcfi_env_is(const char *name, const char *value)
{
	const char *v = getenv(name);

	return v && !strcmp(v, value);
}

/* IVC_FI_RDV: off, auto or always (the default, and anything else). */
static enum ivcfi_rdv_mode rdv_mode_from_env(void)
{
	if (ivcfi_env_is("IVC_FI_RDV", "off"))
		return IVCFI_RDV_OFF;
	if (ivcfi_env_is("IVC_FI_RDV", "auto"))
		return IVCFI_RDV_AUTO;
	return IVCFI_RDV_ALWAYS;
}

unsigned long long ivcfi_env_number(const char *name, unsigned long long def,
				    unsigned long long max)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v)
		return def;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 0);
	if (errno || *end || v[0] == '-')
		return def;
	return n > max ? max : n;
}

static int ep_close(struct fid *fid)
{
	struct ivcfi_ep *ep = ivcfi_container(fid, struct ivcfi_ep, ep.fid);
	struct ivcfi_domain *d = ep->dom;

	ivcfi_lock(d);
	print_stats(ep);
	/* Joins the acceptor under the lock: it never takes this one. */
	ivcfi_acceptor_stop(&ep->acc);
	for (size_t i = 0; i < ep->n_out; i++)
		if (ep->out[i])
			ivcfi_outpeer_close(ep, ep->out[i]);
	free(ep->out);
	while (!ivcfi_list_empty(&ep->anon))
		ivcfi_outpeer_close(ep, ivcfi_container(ep->anon.next,
							struct ivcfi_outpeer,
							anon_link));
	while (!ivcfi_list_empty(&ep->inpeers))
		ivcfi_inpeer_close(ep, ivcfi_container(ep->inpeers.next,
						       struct ivcfi_inpeer, link));
	ivcfi_match_cleanup(ep);
	ivcfi_recv_pool_drain(ep);
	if (ep->tx_cq)
		ivcfi_cq_del_ep(ep->tx_cq, ep);
	if (ep->rx_cq)
		ivcfi_cq_del_ep(ep->rx_cq, ep);
	if (ep->av)
		ep->av->refs--;
	d->refs--;
	ivcfi_unlock(d);
	free(ep);
	return 0;
}

static int bind_cq(struct ivcfi_ep *ep, struct ivcfi_cq *cq, uint64_t flags)
{
	if (flags & ~(uint64_t)(FI_TRANSMIT | FI_RECV | FI_SELECTIVE_COMPLETION))
		return -FI_EBADFLAGS;
	int rc = ivcfi_cq_add_ep(cq, ep);
	if (rc)
		return rc;
	if (flags & FI_TRANSMIT) {
		ep->tx_cq = cq;
		ep->tx_selective = flags & FI_SELECTIVE_COMPLETION;
	}
	if (flags & FI_RECV) {
		ep->rx_cq = cq;
		ep->rx_selective = flags & FI_SELECTIVE_COMPLETION;
	}
	return 0;
}

static int bind_locked(struct ivcfi_ep *ep, struct fid *bfid, uint64_t flags)
{
	if (ep->enabled)
		return -FI_EOPBADSTATE;
	switch (bfid->fclass) {
	case FI_CLASS_AV: {
		struct ivcfi_av *av = ivcfi_container(bfid, struct ivcfi_av, av.fid);
		/* Another domain's AV or CQ would be guarded by another
		 * lock (or none) while this endpoint's calls use it. */
		if (ep->av || av->dom != ep->dom)
			return -FI_EINVAL;
		ep->av = av;
		ep->av->refs++;
		return 0;
	}
	case FI_CLASS_CQ: {
		struct ivcfi_cq *cq = ivcfi_container(bfid, struct ivcfi_cq, cq.fid);
		if (cq->dom != ep->dom)
			return -FI_EINVAL;
		return bind_cq(ep, cq, flags);
	}
	case FI_CLASS_EQ:
		return 0; /* no events to report */
	default:
		return -FI_ENOSYS;
	}
}

static int ep_bind(struct fid *fid, struct fid *bfid, uint64_t flags)
{
	struct ivcfi_ep *ep = ivcfi_container(fid, struct ivcfi_ep, ep.fid);

	ivcfi_lock(ep->dom);
	int rc = bind_locked(ep, bfid, flags);
	ivcfi_unlock(ep->dom);
	return rc;
}

static int ep_enable(struct ivcfi_ep *ep)
{
	if (ep->enabled)
		return 0;
	if (!ep->av || (!ep->tx_cq && !ep->rx_cq))
		return -FI_ENOCQ;
	int rc = ivcfi_acceptor_start(&ep->acc, ep->name.addr);

	/* The port drawn for the name is taken: draw another (nobody has the
	 * name before the endpoint is enabled). */
	for (int i = 0; i < 64 && rc == -EADDRINUSE; i++) {
		rc = ivcfi_name_make(&ep->name);
		if (!rc)
			rc = ivcfi_acceptor_start(&ep->acc, ep->name.addr);
	}
	if (rc < 0)
		return rc == -EADDRINUSE ? -FI_EADDRINUSE : -FI_EOTHER;
	ep->enabled = true;
	return 0;
}

static int control_locked(struct ivcfi_ep *ep, int command, void *arg)
{
	uint64_t *flags = arg;

	switch (command) {
	case FI_ENABLE:
		return ep_enable(ep);
	case FI_GETOPSFLAG:
		if (!flags)
			return -FI_EINVAL;
		*flags = (*flags & FI_TRANSMIT) ? ep->tx_op_flags : ep->rx_op_flags;
		return 0;
	case FI_SETOPSFLAG:
		if (!flags)
			return -FI_EINVAL;
		if (*flags & FI_TRANSMIT)
			ep->tx_op_flags = *flags & ~(uint64_t)FI_TRANSMIT;
		else
			ep->rx_op_flags = *flags & ~(uint64_t)FI_RECV;
		return 0;
	default:
		return -FI_ENOSYS;
	}
}

static int ep_control(struct fid *fid, int command, void *arg)
{
	struct ivcfi_ep *ep = ivcfi_container(fid, struct ivcfi_ep, ep.fid);

	ivcfi_lock(ep->dom);
	int rc = control_locked(ep, command, arg);
	ivcfi_unlock(ep->dom);
	return rc;
}

static struct fi_ops ep_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = ep_close,
	.bind = ep_bind,
	.control = ep_control,
	.ops_open = ivcfi_no_ops_open,
};

int ivcfi_ep_open(struct fid_domain *domain, struct fi_info *info,
		  struct fid_ep **out, void *context)
{
	struct ivcfi_domain *d = ivcfi_container(domain, struct ivcfi_domain, domain);

	if (info && info->ep_attr && info->ep_attr->type != FI_EP_RDM &&
	    info->ep_attr->type != FI_EP_UNSPEC)
		return -FI_EINVAL;
	struct ivcfi_ep *ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -FI_ENOMEM;
	ep->dom = d;
	if (ivcfi_name_make(&ep->name)) {
		free(ep);
		return -FI_EINVAL;
	}
	ep->acc.stop_fd = ep->acc.notify_fd = ep->acc.resume_fd = -1;
	ivcfi_list_init(&ep->busy);
	ivcfi_list_init(&ep->wire);
	ivcfi_list_init(&ep->inpeers);
	ivcfi_list_init(&ep->recv_msg);
	ivcfi_list_init(&ep->recv_tag);
	ivcfi_list_init(&ep->unexp_msg);
	ivcfi_list_init(&ep->unexp_tag);
	ivcfi_list_init(&ep->claimed);
	ivcfi_list_init(&ep->rdv);
	ivcfi_list_init(&ep->anon);
	/* IVC_FI_RDV_MIN: the size from which messages over shm may go by
	 * rendezvous (fi_rdv.c); IVC_FI_CONNECT_MS: how long a first send
	 * to a peer waits for its channel. */
	ep->rdv_min = (size_t)ivcfi_env_number("IVC_FI_RDV_MIN", IVCFI_RDV_MIN_DEFAULT,
					       IVCFI_MAX_MSG_SIZE);
	ep->connect_ms = (int)ivcfi_env_number("IVC_FI_CONNECT_MS", IVCFI_CONNECT_MS_DEFAULT,
					       INT_MAX);
	ep->say = ivcfi_env_is("IVC_FI_STATS", "1");
	/* Read once here, not by a getenv() on every rendezvous read. */
	ep->cma_off = ivcfi_env_is("IVC_FI_CMA", "0");
	ep->rdv_mode = rdv_mode_from_env();
	/* Without FI_DIRECTED_RECV a receive's source address is ignored
	 * (fi_pingpong passes 0 there). */
	ep->directed = !info || (info->caps & FI_DIRECTED_RECV) ||
		       (info->rx_attr && (info->rx_attr->caps & FI_DIRECTED_RECV));
	if (info && info->tx_attr)
		ep->tx_op_flags = info->tx_attr->op_flags;
	if (info && info->rx_attr)
		ep->rx_op_flags = info->rx_attr->op_flags;
	ep->ep.fid.fclass = FI_CLASS_EP;
	ep->ep.fid.context = context;
	ep->ep.fid.ops = &ep_fi_ops;
	ep->ep.ops = &ivcfi_ep_ops;
	ep->ep.cm = &ivcfi_cm_ops;
	ep->ep.msg = &ivcfi_msg_ops;
	ep->ep.tagged = &ivcfi_tagged_ops;
	ep->ep.rma = &ivcfi_rma_ops;
	ivcfi_lock(d);
	d->refs++;
	ivcfi_unlock(d);
	*out = &ep->ep;
	return 0;
}
