/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_info.c - fi_getinfo(): what the provider offers, and whether a
 * caller's hints can be met.  One fi_info: a reliable datagram endpoint
 * (FI_EP_RDM) with tagged and untagged messages between processes of this
 * kernel.  Hints that ask for more are refused with -FI_ENODATA, so that
 * libfabric goes on to the next provider.
 *
 * Threading: every level is met (the domain locks for all but
 * FI_THREAD_DOMAIN, fi_domain.c), and the one asked for is the one
 * reported, so an application that serialises its calls keeps the
 * lock-free path; no level asked: FI_THREAD_DOMAIN, the cheap one.
 */
#include <string.h>
#include <strings.h>

#include "fi/fi_pvt.h"

/* Primary capabilities are given only when asked for; secondary ones are
 * reported freely (fi_getinfo(3)). */
#define IVCFI_PRIMARY_CAPS (FI_MSG | FI_TAGGED | FI_SEND | FI_RECV | FI_DIRECTED_RECV)
/* Names are net: addresses (fi_name.c): shm on this kernel, xen to a
 * co-resident domain, tcp to any other host. */
#define IVCFI_SECONDARY_CAPS (FI_SOURCE | FI_LOCAL_COMM | FI_REMOTE_COMM)
#define IVCFI_CAPS (IVCFI_PRIMARY_CAPS | IVCFI_SECONDARY_CAPS)
#define IVCFI_ORDER FI_ORDER_SAS

static void fill_tx_attr(struct fi_tx_attr *tx)
{
	tx->caps = IVCFI_CAPS & ~(FI_RECV | FI_DIRECTED_RECV);
	tx->msg_order = IVCFI_ORDER;
	tx->comp_order = FI_ORDER_STRICT;
	tx->inject_size = IVCFI_INJECT_SIZE;
	tx->size = IVCFI_TX_SIZE;
	tx->iov_limit = IVCFI_IOV_LIMIT;
	tx->rma_iov_limit = 0;
}

static void fill_rx_attr(struct fi_rx_attr *rx)
{
	rx->caps = IVCFI_CAPS & ~FI_SEND;
	rx->msg_order = IVCFI_ORDER;
	rx->comp_order = FI_ORDER_STRICT;
	rx->total_buffered_recv = IVCFI_UNEXP_MAX;
	rx->size = IVCFI_RX_SIZE;
	rx->iov_limit = IVCFI_IOV_LIMIT;
}

static void fill_ep_attr(struct fi_ep_attr *ep)
{
	ep->type = FI_EP_RDM;
	ep->protocol = FI_PROTO_UNSPEC;
	ep->protocol_version = 1;
	ep->max_msg_size = IVCFI_MAX_MSG_SIZE;
	ep->msg_prefix_size = 0;
	ep->max_order_raw_size = 0;
	ep->max_order_war_size = 0;
	ep->max_order_waw_size = 0;
	ep->mem_tag_format = 0xAAAAAAAAAAAAAAAAull; /* generic: all 64 bits */
	ep->tx_ctx_cnt = 1;
	ep->rx_ctx_cnt = 1;
}

static void fill_domain_attr(struct fi_domain_attr *d)
{
	d->name = (char *)IVCFI_PROV_NAME;
	d->threading = FI_THREAD_DOMAIN;
	d->control_progress = FI_PROGRESS_MANUAL;
	d->data_progress = FI_PROGRESS_MANUAL;
	d->resource_mgmt = FI_RM_ENABLED;
	d->av_type = FI_AV_MAP; /* preferred; FI_AV_TABLE when hinted */
	d->mr_mode = 0; /* no registration: ivc copies into its own lanes */
	d->mr_key_size = 0;
	d->cq_data_size = IVCFI_CQ_DATA_SIZE;
	d->cq_cnt = 256;
	d->ep_cnt = 256;
	d->tx_ctx_cnt = 256;
	d->rx_ctx_cnt = 256;
	d->max_ep_tx_ctx = 1;
	d->max_ep_rx_ctx = 1;
	d->max_ep_stx_ctx = 0;
	d->max_ep_srx_ctx = 0;
	d->cntr_cnt = 0;
	d->mr_iov_limit = 1;
	d->caps = FI_LOCAL_COMM | FI_REMOTE_COMM;
	d->mode = 0;
	d->max_err_data = 0;
	d->mr_cnt = 0;
}

static void fill_fabric_attr(struct fi_fabric_attr *f)
{
	f->name = (char *)IVCFI_PROV_NAME;
	/* prov_name stays NULL: libfabric fills it in. */
	f->prov_version = IVCFI_PROV_VERSION;
	f->api_version = IVCFI_API_VERSION;
}

static bool name_ok(const char *want, const char *have)
{
	return !want || !strcasecmp(want, have);
}

static bool tx_ok(const struct fi_tx_attr *h, const struct fi_tx_attr *o)
{
	if (!h)
		return true;
	return !(h->caps & ~o->caps) && !(h->msg_order & ~o->msg_order) &&
	       h->inject_size <= o->inject_size && h->size <= o->size &&
	       h->iov_limit <= o->iov_limit && !h->rma_iov_limit;
}

static bool rx_ok(const struct fi_rx_attr *h, const struct fi_rx_attr *o)
{
	if (!h)
		return true;
	return !(h->caps & ~o->caps) && !(h->msg_order & ~o->msg_order) &&
	       h->size <= o->size && h->iov_limit <= o->iov_limit &&
	       h->total_buffered_recv <= o->total_buffered_recv;
}

static bool ep_ok(const struct fi_ep_attr *h)
{
	if (!h)
		return true;
	return (h->type == FI_EP_UNSPEC || h->type == FI_EP_RDM) &&
	       (h->protocol == FI_PROTO_UNSPEC) &&
	       h->max_msg_size <= IVCFI_MAX_MSG_SIZE && !h->msg_prefix_size &&
	       h->tx_ctx_cnt <= 1 && h->rx_ctx_cnt <= 1 &&
	       !h->auth_key_size;
}

static bool threading_ok(enum fi_threading t)
{
	switch (t) {
	case FI_THREAD_UNSPEC:
	case FI_THREAD_SAFE:
	case FI_THREAD_FID:
	case FI_THREAD_DOMAIN:
	case FI_THREAD_COMPLETION:
	case FI_THREAD_ENDPOINT:
		return true;
	default:
		return false; /* a level newer than us */
	}
}

static bool progress_ok(enum fi_progress p)
{
	return p == FI_PROGRESS_UNSPEC || p == FI_PROGRESS_MANUAL;
}

static bool domain_ok(const struct fi_domain_attr *h)
{
	if (!h)
		return true;
	if (!threading_ok(h->threading))
		return false;
	if (!progress_ok(h->control_progress) || !progress_ok(h->data_progress))
		return false;
	if (h->av_type != FI_AV_UNSPEC && h->av_type != FI_AV_MAP &&
	    h->av_type != FI_AV_TABLE)
		return false;
	if (h->cq_data_size > IVCFI_CQ_DATA_SIZE || h->max_ep_stx_ctx ||
	    h->max_ep_srx_ctx || h->auth_key_size)
		return false;
	if (h->caps & ~(uint64_t)(FI_LOCAL_COMM | FI_REMOTE_COMM))
		return false;
	/* mr_mode: with no registration at all, any mode the application
	 * supports is met (we ask for none of its bits). */
	return name_ok(h->name, IVCFI_PROV_NAME);
}

/* Can the hints be met?  (NULL hints: anything goes.) */
static bool hints_ok(const struct fi_info *h)
{
	if (!h)
		return true;
	if (h->caps & ~(uint64_t)IVCFI_CAPS)
		return false;
	if (h->addr_format != FI_FORMAT_UNSPEC)
		return false;
	if (h->fabric_attr &&
	    (!name_ok(h->fabric_attr->prov_name, IVCFI_PROV_NAME) ||
	     !name_ok(h->fabric_attr->name, IVCFI_PROV_NAME)))
		return false;
	if (h->src_addr && h->src_addrlen != sizeof(struct ivcfi_name))
		return false;
	if (h->dest_addr && h->dest_addrlen != sizeof(struct ivcfi_name))
		return false;
	struct fi_tx_attr tx = {0};
	struct fi_rx_attr rx = {0};
	fill_tx_attr(&tx);
	fill_rx_attr(&rx);
	return ep_ok(h->ep_attr) && domain_ok(h->domain_attr) &&
	       tx_ok(h->tx_attr, &tx) && rx_ok(h->rx_attr, &rx);
}

/* The caps to report: the primary ones asked for (FI_MSG or FI_TAGGED
 * alone imply both directions), all secondary ones. */
static uint64_t caps_for(const struct fi_info *h)
{
	if (!h || !(h->caps & IVCFI_PRIMARY_CAPS))
		return IVCFI_CAPS;
	uint64_t c = h->caps & IVCFI_PRIMARY_CAPS;
	if (!(c & (FI_SEND | FI_RECV)))
		c |= FI_SEND | FI_RECV;
	return c | IVCFI_SECONDARY_CAPS;
}

/* Shape the copy to what the caller asked: caps, AV type, op flags. */
static void apply_hints(struct fi_info *fi, const struct fi_info *h)
{
	fi->caps = caps_for(h);
	fi->tx_attr->caps &= fi->caps;
	fi->rx_attr->caps &= fi->caps;
	if (!h)
		return;
	if (h->domain_attr && h->domain_attr->av_type != FI_AV_UNSPEC)
		fi->domain_attr->av_type = h->domain_attr->av_type;
	if (h->domain_attr && h->domain_attr->threading != FI_THREAD_UNSPEC)
		fi->domain_attr->threading = h->domain_attr->threading;
	if (h->tx_attr)
		fi->tx_attr->op_flags = h->tx_attr->op_flags;
	if (h->rx_attr)
		fi->rx_attr->op_flags = h->rx_attr->op_flags;
}

int ivcfi_getinfo(uint32_t version, const char *node, const char *service,
		  uint64_t flags, const struct fi_info *hints,
		  struct fi_info **info)
{
	(void)version;
	(void)node;    /* names are ivc addresses, exchanged out of band */
	(void)service;
	(void)flags;
	*info = NULL;
	if (!hints_ok(hints))
		return -FI_ENODATA;

	struct fi_tx_attr tx = {0};
	struct fi_rx_attr rx = {0};
	struct fi_ep_attr ep = {0};
	struct fi_domain_attr dom = {0};
	struct fi_fabric_attr fab = {0};
	fill_tx_attr(&tx);
	fill_rx_attr(&rx);
	fill_ep_attr(&ep);
	fill_domain_attr(&dom);
	fill_fabric_attr(&fab);
	struct fi_info tmpl = {
		.caps = IVCFI_CAPS,
		.mode = 0, /* we need neither FI_CONTEXT nor FI_CONTEXT2 */
		.addr_format = FI_FORMAT_UNSPEC,
		.tx_attr = &tx,
		.rx_attr = &rx,
		.ep_attr = &ep,
		.domain_attr = &dom,
		.fabric_attr = &fab,
	};
	struct fi_info *fi = fi_dupinfo(&tmpl);
	if (!fi)
		return -FI_ENOMEM;
	apply_hints(fi, hints);
	*info = fi;
	return 0;
}
