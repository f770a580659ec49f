/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_ep_ops.c - the endpoint's operation tables: fi_getname, fi_cancel,
 * options, and the msg and tagged data calls, each a thin translation into
 * ivcfi_send() / ivcfi_recv().  A data call drives progress when it
 * cannot go at once (a full channel, sends queued for its peer, posted
 * receives at their bound) and for a probe, so a caller that only sends
 * still drains its channels when it must.  Each takes the domain's lock
 * once around its work (fi_pvt.h, "Threading").
 */
#include <string.h>

#include "fi/fi_pvt.h"

static struct ivcfi_ep *ep_of(struct fid_ep *fep)
{
	return ivcfi_container(fep, struct ivcfi_ep, ep);
}

/* ---- fi_ops_ep ----------------------------------------------------- */

static ssize_t ep_cancel(fid_t fid, void *context)
{
	struct ivcfi_ep *ep = ivcfi_container(fid, struct ivcfi_ep, ep.fid);

	ivcfi_lock(ep->dom);
	ssize_t r = ivcfi_cancel(ep, context);
	ivcfi_unlock(ep->dom);
	return r;
}

static int ep_getopt(fid_t fid, int level, int optname, void *optval,
		     size_t *optlen)
{
	(void)fid, (void)level, (void)optname, (void)optval, (void)optlen;
	return -FI_ENOPROTOOPT;
}

static int ep_setopt(fid_t fid, int level, int optname, const void *optval,
		     size_t optlen)
{
	(void)fid, (void)level, (void)optname, (void)optval, (void)optlen;
	return -FI_ENOPROTOOPT;
}

static int no_tx_ctx(struct fid_ep *sep, int index, struct fi_tx_attr *attr,
		     struct fid_ep **tx_ep, void *context)
{
	(void)sep, (void)index, (void)attr, (void)tx_ep, (void)context;
	return -FI_ENOSYS;
}

static int no_rx_ctx(struct fid_ep *sep, int index, struct fi_rx_attr *attr,
		     struct fid_ep **rx_ep, void *context)
{
	(void)sep, (void)index, (void)attr, (void)rx_ep, (void)context;
	return -FI_ENOSYS;
}

static ssize_t rx_size_left(struct fid_ep *fep)
{
	struct ivcfi_ep *ep = ep_of(fep);

	ivcfi_lock(ep->dom);
	ssize_t n = (ssize_t)(IVCFI_RX_SIZE - ep->rx_posted);
	ivcfi_unlock(ep->dom);
	return n;
}

static ssize_t tx_size_left(struct fid_ep *fep)
{
	struct ivcfi_ep *ep = ep_of(fep);

	ivcfi_lock(ep->dom);
	ssize_t n = (ssize_t)(IVCFI_TX_SIZE - ep->tx_queued);
	ivcfi_unlock(ep->dom);
	return n;
}

struct fi_ops_ep ivcfi_ep_ops = {
	.size = sizeof(struct fi_ops_ep),
	.cancel = ep_cancel,
	.getopt = ep_getopt,
	.setopt = ep_setopt,
	.tx_ctx = no_tx_ctx,
	.rx_ctx = no_rx_ctx,
	.rx_size_left = rx_size_left,
	.tx_size_left = tx_size_left,
};

/* ---- fi_ops_cm: only the name ----------------------------------------- */

static int cm_setname(fid_t fid, void *addr, size_t addrlen)
{
	(void)fid, (void)addr, (void)addrlen;
	return -FI_ENOSYS;
}

static int cm_getname(fid_t fid, void *addr, size_t *addrlen)
{
	struct ivcfi_ep *ep = ivcfi_container(fid, struct ivcfi_ep, ep.fid);
	size_t have = *addrlen;

	*addrlen = sizeof(ep->name);
	if (!addr || have < sizeof(ep->name))
		return -FI_ETOOSMALL;
	/* fi_enable() may still draw another name. */
	ivcfi_lock(ep->dom);
	memcpy(addr, &ep->name, sizeof(ep->name));
	ivcfi_unlock(ep->dom);
	return 0;
}

static int cm_getpeer(struct fid_ep *ep, void *addr, size_t *addrlen)
{
	(void)ep, (void)addr, (void)addrlen;
	return -FI_ENOSYS;
}

static int cm_connect(struct fid_ep *ep, const void *addr, const void *param,
		      size_t paramlen)
{
	(void)ep, (void)addr, (void)param, (void)paramlen;
	return -FI_ENOSYS;
}

static int cm_listen(struct fid_pep *pep)
{
	(void)pep;
	return -FI_ENOSYS;
}

static int cm_accept(struct fid_ep *ep, const void *param, size_t paramlen)
{
	(void)ep, (void)param, (void)paramlen;
	return -FI_ENOSYS;
}

static int cm_reject(struct fid_pep *pep, fid_t handle, const void *param,
		     size_t paramlen)
{
	(void)pep, (void)handle, (void)param, (void)paramlen;
	return -FI_ENOSYS;
}

static int cm_shutdown(struct fid_ep *ep, uint64_t flags)
{
	(void)ep, (void)flags;
	return -FI_ENOSYS;
}

static int cm_join(struct fid_ep *ep, const void *addr, uint64_t flags,
		   struct fid_mc **mc, void *context)
{
	(void)ep, (void)addr, (void)flags, (void)mc, (void)context;
	return -FI_ENOSYS;
}

struct fi_ops_cm ivcfi_cm_ops = {
	.size = sizeof(struct fi_ops_cm),
	.setname = cm_setname,
	.getname = cm_getname,
	.getpeer = cm_getpeer,
	.connect = cm_connect,
	.listen = cm_listen,
	.accept = cm_accept,
	.reject = cm_reject,
	.shutdown = cm_shutdown,
	.join = cm_join,
};

/* ---- common paths ------------------------------------------------------ */

/* The flags of a call that has none of its own: the endpoint's op flags
 * (fi_control(FI_SETOPSFLAG)), read under the lock with everything else. */
#define OP_FLAGS NULL
static const uint64_t no_flags;

static ssize_t do_send(struct fid_ep *fep, const struct iovec *iov, size_t count,
		       fi_addr_t dest, void *ctx, uint8_t op, uint64_t tag,
		       bool has_data, uint64_t data, const uint64_t *flags,
		       bool inject)
{
	struct ivcfi_ep *ep = ep_of(fep);
	struct ivcfi_send_args a = {
		.iov = iov, .iov_count = count, .dest = dest, .context = ctx,
		.op = op, .tag = tag, .data = data, .has_data = has_data,
		.inject = inject,
	};

	ivcfi_lock(ep->dom);
	a.flags = flags ? *flags : ep->tx_op_flags;
	ssize_t r = ivcfi_send(ep, &a);
	ivcfi_unlock(ep->dom);
	return r;
}

static ssize_t do_recv(struct fid_ep *fep, const struct iovec *iov, size_t count,
		       fi_addr_t src, void *ctx, bool tagged, uint64_t tag,
		       uint64_t ignore, const uint64_t *flags)
{
	struct ivcfi_ep *ep = ep_of(fep);
	struct ivcfi_recv_args a = {
		.iov = iov, .iov_count = count, .src = src, .context = ctx,
		.tagged = tagged, .tag = tag, .ignore = ignore,
	};

	ivcfi_lock(ep->dom);
	a.flags = flags ? *flags : ep->rx_op_flags;
	ssize_t r = ivcfi_recv(ep, &a);
	ivcfi_unlock(ep->dom);
	return r;
}

/* ---- fi_ops_msg -------------------------------------------------------- */

static ssize_t msg_recv(struct fid_ep *ep, void *buf, size_t len, void *desc,
			fi_addr_t src, void *ctx)
{
	(void)desc;
	struct iovec iov = { buf, len };
	return do_recv(ep, &iov, 1, src, ctx, false, 0, 0, OP_FLAGS);
}

static ssize_t msg_recvv(struct fid_ep *ep, const struct iovec *iov, void **desc,
			 size_t count, fi_addr_t src, void *ctx)
{
	(void)desc;
	return do_recv(ep, iov, count, src, ctx, false, 0, 0, OP_FLAGS);
}

static ssize_t msg_recvmsg(struct fid_ep *ep, const struct fi_msg *m, uint64_t flags)
{
	return do_recv(ep, m->msg_iov, m->iov_count, m->addr, m->context, false,
		       0, 0, &flags);
}

static ssize_t msg_send(struct fid_ep *ep, const void *buf, size_t len, void *desc,
			fi_addr_t dest, void *ctx)
{
	(void)desc;
	struct iovec iov = { (void *)buf, len };
	return do_send(ep, &iov, 1, dest, ctx, IVCFI_OP_MSG, 0, false, 0,
		       OP_FLAGS, false);
}

static ssize_t msg_sendv(struct fid_ep *ep, const struct iovec *iov, void **desc,
			 size_t count, fi_addr_t dest, void *ctx)
{
	(void)desc;
	return do_send(ep, iov, count, dest, ctx, IVCFI_OP_MSG, 0, false, 0,
		       OP_FLAGS, false);
}

static ssize_t msg_sendmsg(struct fid_ep *ep, const struct fi_msg *m, uint64_t flags)
{
	return do_send(ep, m->msg_iov, m->iov_count, m->addr, m->context,
		       IVCFI_OP_MSG, 0, flags & FI_REMOTE_CQ_DATA, m->data, &flags,
		       flags & FI_INJECT);
}

static ssize_t msg_inject(struct fid_ep *ep, const void *buf, size_t len,
			  fi_addr_t dest)
{
	struct iovec iov = { (void *)buf, len };
	return do_send(ep, &iov, 1, dest, NULL, IVCFI_OP_MSG, 0, false, 0,
		       &no_flags, true);
}

static ssize_t msg_senddata(struct fid_ep *ep, const void *buf, size_t len,
			    void *desc, uint64_t data, fi_addr_t dest, void *ctx)
{
	(void)desc;
	struct iovec iov = { (void *)buf, len };
	return do_send(ep, &iov, 1, dest, ctx, IVCFI_OP_MSG, 0, true, data,
		       OP_FLAGS, false);
}

static ssize_t msg_injectdata(struct fid_ep *ep, const void *buf, size_t len,
			      uint64_t data, fi_addr_t dest)
{
	struct iovec iov = { (void *)buf, len };
	return do_send(ep, &iov, 1, dest, NULL, IVCFI_OP_MSG, 0, true, data,
		       &no_flags, true);
}

struct fi_ops_msg ivcfi_msg_ops = {
	.size = sizeof(struct fi_ops_msg),
	.recv = msg_recv,
	.recvv = msg_recvv,
	.recvmsg = msg_recvmsg,
	.send = msg_send,
	.sendv = msg_sendv,
	.sendmsg = msg_sendmsg,
	.inject = msg_inject,
	.senddata = msg_senddata,
	.injectdata = msg_injectdata,
};

/* ---- fi_ops_tagged ----------------------------------------------------- */

static ssize_t tag_recv(struct fid_ep *ep, void *buf, size_t len, void *desc,
			fi_addr_t src, uint64_t tag, uint64_t ignore, void *ctx)
{
	(void)desc;
	struct iovec iov = { buf, len };
	return do_recv(ep, &iov, 1, src, ctx, true, tag, ignore,
		       OP_FLAGS);
}

static ssize_t tag_recvv(struct fid_ep *ep, const struct iovec *iov, void **desc,
			 size_t count, fi_addr_t src, uint64_t tag,
			 uint64_t ignore, void *ctx)
{
	(void)desc;
	return do_recv(ep, iov, count, src, ctx, true, tag, ignore,
		       OP_FLAGS);
}

static ssize_t tag_recvmsg(struct fid_ep *ep, const struct fi_msg_tagged *m,
			   uint64_t flags)
{
	return do_recv(ep, m->msg_iov, m->iov_count, m->addr, m->context, true,
		       m->tag, m->ignore, &flags);
}

static ssize_t tag_send(struct fid_ep *ep, const void *buf, size_t len,
			void *desc, fi_addr_t dest, uint64_t tag, void *ctx)
{
	(void)desc;
	struct iovec iov = { (void *)buf, len };
	return do_send(ep, &iov, 1, dest, ctx, IVCFI_OP_TAGGED, tag, false, 0,
		       OP_FLAGS, false);
}

static ssize_t tag_sendv(struct fid_ep *ep, const struct iovec *iov, void **desc,
			 size_t count, fi_addr_t dest, uint64_t tag, void *ctx)
{
	(void)desc;
	return do_send(ep, iov, count, dest, ctx, IVCFI_OP_TAGGED, tag, false, 0,
		       OP_FLAGS, false);
}

static ssize_t tag_sendmsg(struct fid_ep *ep, const struct fi_msg_tagged *m,
			   uint64_t flags)
{
	return do_send(ep, m->msg_iov, m->iov_count, m->addr, m->context,
		       IVCFI_OP_TAGGED, m->tag, flags & FI_REMOTE_CQ_DATA,
		       m->data, &flags, flags & FI_INJECT);
}

static ssize_t tag_inject(struct fid_ep *ep, const void *buf, size_t len,
			  fi_addr_t dest, uint64_t tag)
{
	struct iovec iov = { (void *)buf, len };
	return do_send(ep, &iov, 1, dest, NULL, IVCFI_OP_TAGGED, tag, false, 0,
		       &no_flags, true);
}

static ssize_t tag_senddata(struct fid_ep *ep, const void *buf, size_t len,
			    void *desc, uint64_t data, fi_addr_t dest,
			    uint64_t tag, void *ctx)
{
	(void)desc;
	struct iovec iov = { (void *)buf, len };
	return do_send(ep, &iov, 1, dest, ctx, IVCFI_OP_TAGGED, tag, true, data,
		       OP_FLAGS, false);
}

static ssize_t tag_injectdata(struct fid_ep *ep, const void *buf, size_t len,
			      uint64_t data, fi_addr_t dest, uint64_t tag)
{
	struct iovec iov = { (void *)buf, len };
	return do_send(ep, &iov, 1, dest, NULL, IVCFI_OP_TAGGED, tag, true, data,
		       &no_flags, true);
}

struct fi_ops_tagged ivcfi_tagged_ops = {
	.size = sizeof(struct fi_ops_tagged),
	.recv = tag_recv,
	.recvv = tag_recvv,
	.recvmsg = tag_recvmsg,
	.send = tag_send,
	.sendv = tag_sendv,
	.sendmsg = tag_sendmsg,
	.inject = tag_inject,
	.senddata = tag_senddata,
	.injectdata = tag_injectdata,
};
