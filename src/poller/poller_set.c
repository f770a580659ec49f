/* SPDX-License-Identifier: MIT */
/*
 * What a poller serves: its channels and its listeners.  Only the thread
 * that owns the poller changes the sets (poller_req.c says who that is);
 * the public calls here build a request and submit it.
 *
 * A removal made while a callback runs (the callback's own doing, or its
 * channel's ivc_close()) only unhooks the entry and marks it dead; the
 * array is compacted after the callback.  So an index held across a
 * callback stays valid, and an entry a callback adds (at the end, even if
 * the array moves) is served in the same pass.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include <ivc/channel.h>

#include "poller/poller_pvt.h"
#include "util/compiler_pvt.h"

/* Room for one more element in an array of @size-byte elements.  Return
 * the array (maybe moved), or NULL when out of memory (the old one stays). */
static void *room(void *v, size_t n, size_t *cap, size_t size)
{
	size_t c;

	if (n < *cap)
		return v;
	c = *cap ? 2 * *cap : 8;
	v = realloc(v, c * size);
	if (v)
		*cap = c;
	return v;
}

static int find(const struct ivc_poller *p, const struct ivc_channel *ch)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->v[i].dead && p->v[i].ch == ch)
			return (int)i;
	return -1;
}

static int find_listener(const struct ivc_poller *p, const struct ivc_listener *l)
{
	size_t i;

	for (i = 0; i < p->ln; i++)
		if (!p->lv[i].dead && p->lv[i].l == l)
			return (int)i;
	return -1;
}

/* The hook a served channel calls from ivc_close() (struct ivc_chan_watch):
 * a closed channel is removed like ivc_poller_remove(), at once from the
 * poller's own callbacks (the entry goes after the callback). */
static void poller_closing(void *p, struct ivc_channel *ch)
{
	struct ivc_poller_req q = { .op = IVC_POLLER_OP_REMOVE, .ch = ch };

	(void)ivc_poller_submit(p, &q);
}

static int add(struct ivc_poller *p, struct ivc_channel *ch, ivc_poll_cb cb,
	       void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ch };
	struct poll_entry *v;
	int r;

	if (ch->watch.closing)
		return -EEXIST;
	r = ivc_xport_watch_hup(ch->xp, IVC_SET_PUBLIC); /* the loop sleeps on epfd */
	if (r)
		return r;
	v = room(p->v, p->n, &p->cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->v = v;
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, ch->epfd, &ev) < 0)
		return -errno;
	p->v[p->n++] = (struct poll_entry){ ch, cb, arg, 0 };
	ch->watch = (struct ivc_chan_watch){ poller_closing, p };
	/* Added by the loop itself: tell the peer where the loop runs (a
	 * thread that adds to an idle poller is not where it will run). */
	if (ivc_poller_owned_here(p))
		ivc_channel_note_cpu(ch);
	return 0;
}

static int remove_channel(struct ivc_poller *p, struct ivc_channel *ch)
{
	int i = find(p, ch);

	if (i < 0)
		return -ENOENT;
	ivc_poller_kill(p, (size_t)i);
	ivc_poller_compact(p);
	return 0;
}

/* The listener's fd goes in both sets: the one the loop sleeps in, and the
 * one it looks at while busy. */
static int add_listener(struct ivc_poller *p, struct ivc_listener *l,
			ivc_accept_cb cb, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
	struct listen_entry *v;
	int fd = ivc_listener_fd(l), r;

	if (fd < 0)
		return fd;
	if (find_listener(p, l) >= 0)
		return -EEXIST;
	v = room(p->lv, p->ln, &p->lcap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->lv = v;
	if (epoll_ctl(p->lep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		(void)epoll_ctl(p->lep, EPOLL_CTL_DEL, fd, NULL);
		return r;
	}
	p->lv[p->ln++] = (struct listen_entry){ l, fd, cb, arg, 0 };
	return 0;
}

static int remove_listener(struct ivc_poller *p, struct ivc_listener *l)
{
	int i = find_listener(p, l);

	if (i < 0)
		return -ENOENT;
	ivc_poller_kill_listener(p, (size_t)i);
	ivc_poller_compact(p);
	return 0;
}

int ivc_poller_apply(struct ivc_poller *p, struct ivc_poller_req *q)
{
	switch (q->op) {
	case IVC_POLLER_OP_ADD:
		return add(p, q->ch, q->cb, q->arg);
	case IVC_POLLER_OP_REMOVE:
		return remove_channel(p, q->ch);
	case IVC_POLLER_OP_ADD_LISTENER:
		return add_listener(p, q->l, q->lcb, q->arg);
	case IVC_POLLER_OP_REMOVE_LISTENER:
		return remove_listener(p, q->l);
	}
	return -EINVAL;
}

void ivc_poller_kill(struct ivc_poller *p, size_t i)
{
	struct poll_entry *e = &p->v[i];

	if (e->dead)
		return;
	(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, e->ch->epfd, NULL);
	e->ch->watch = (struct ivc_chan_watch){ NULL, NULL };
	e->ch = NULL;
	e->dead = 1;
}

void ivc_poller_kill_listener(struct ivc_poller *p, size_t i)
{
	struct listen_entry *e = &p->lv[i];

	if (e->dead)
		return;
	(void)epoll_ctl(p->lep, EPOLL_CTL_DEL, e->fd, NULL);
	(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, e->fd, NULL);
	e->l = NULL;
	e->dead = 1;
}

void ivc_poller_compact(struct ivc_poller *p)
{
	size_t i, j;

	if (p->serving)
		return;
	for (i = j = 0; i < p->n; i++)
		if (!p->v[i].dead)
			p->v[j++] = p->v[i];
	p->n = j;
	for (i = j = 0; i < p->ln; i++)
		if (!p->lv[i].dead)
			p->lv[j++] = p->lv[i];
	p->ln = j;
}

/* ---- the public calls: from any thread ---- */

IVC_PUBLIC int ivc_poller_add(struct ivc_poller *p, struct ivc_channel *ch,
			      ivc_poll_cb cb, void *arg)
{
	struct ivc_poller_req q = { .op = IVC_POLLER_OP_ADD, .ch = ch, .cb = cb,
				    .arg = arg };

	if (!p || !ch || !cb)
		return -EINVAL;
	return ivc_poller_submit(p, &q);
}

IVC_PUBLIC int ivc_poller_remove(struct ivc_poller *p, struct ivc_channel *ch)
{
	struct ivc_poller_req q = { .op = IVC_POLLER_OP_REMOVE, .ch = ch };

	if (!p || !ch)
		return -EINVAL;
	return ivc_poller_submit(p, &q);
}

IVC_PUBLIC int ivc_poller_add_listener(struct ivc_poller *p,
				       struct ivc_listener *l, ivc_accept_cb cb,
				       void *arg)
{
	struct ivc_poller_req q = { .op = IVC_POLLER_OP_ADD_LISTENER, .l = l,
				    .lcb = cb, .arg = arg };

	if (!p || !l || !cb)
		return -EINVAL;
	return ivc_poller_submit(p, &q);
}

IVC_PUBLIC int ivc_poller_remove_listener(struct ivc_poller *p,
					  struct ivc_listener *l)
{
	struct ivc_poller_req q = { .op = IVC_POLLER_OP_REMOVE_LISTENER, .l = l };

	if (!p || !l)
		return -EINVAL;
	return ivc_poller_submit(p, &q);
}
