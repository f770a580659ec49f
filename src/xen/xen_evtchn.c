/* SPDX-License-Identifier: MIT */
/* Event channels, one xenevtchn handle each, so that each has its own
 * descriptor to poll (a handle's descriptor is readable when any of its
 * ports fired: one port per handle keeps the doorbells apart). */
#include "xen/xen_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void ivc_xen_ev_init(struct ivc_xen_ev *e)
{
	e->h = NULL;
	e->port = 0;
}

/* Non-blocking, so that consuming a doorbell never waits. */
static int ev_open(struct ivc_xen_ev *e)
{
	int fd, fl;

	e->h = xenevtchn_open(NULL, 0);
	if (!e->h)
		return errno ? -errno : -ENOENT;
	fd = xenevtchn_fd(e->h);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int r = -errno;

		xenevtchn_close(e->h);
		e->h = NULL;
		return r;
	}
	return 0;
}

/* Keep the port a bind call gave (or close the handle on its failure). */
static int ev_bound(struct ivc_xen_ev *e, xenevtchn_port_or_error_t p)
{
	int r;

	if (p >= 0) {
		e->port = (uint32_t)p;
		return 0;
	}
	r = errno ? -errno : -EIO;
	xenevtchn_close(e->h);
	e->h = NULL;
	return r;
}

int ivc_xen_ev_unbound(struct ivc_xen_ev *e, uint32_t domid)
{
	int r = ev_open(e);

	return r ? r : ev_bound(e, xenevtchn_bind_unbound_port(e->h, domid));
}

int ivc_xen_ev_bind(struct ivc_xen_ev *e, uint32_t domid, uint32_t remote)
{
	int r = ev_open(e);

	if (!r)
		r = ev_bound(e, xenevtchn_bind_interdomain(e->h, domid, remote));
	/* A fresh interdomain binding is pending at once. */
	if (!r)
		ivc_xen_ev_drain(e);
	return r;
}

void ivc_xen_ev_drain(struct ivc_xen_ev *e)
{
	xenevtchn_port_or_error_t p;

	if (!e->h)
		return;
	while ((p = xenevtchn_pending(e->h)) >= 0)
		xenevtchn_unmask(e->h, (evtchn_port_t)p);
}

int ivc_xen_ev_notify(struct ivc_xen_ev *e)
{
	if (!e->h)
		return -EBADF;
	return xenevtchn_notify(e->h, e->port) < 0 ? (errno ? -errno : -EIO) : 0;
}

int ivc_xen_ev_fd(const struct ivc_xen_ev *e)
{
	return e->h ? xenevtchn_fd(e->h) : -1;
}

void ivc_xen_ev_close(struct ivc_xen_ev *e, int owner)
{
	if (!e->h)
		return;
	/* Closing the handle unbinds its port; an inherited handle may
	 * only be closed (libxenevtchn's rule after fork). */
	if (owner)
		xenevtchn_unbind(e->h, e->port);
	xenevtchn_close(e->h);
	e->h = NULL;
}
