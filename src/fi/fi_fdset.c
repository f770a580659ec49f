/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_fdset.c - the descriptor an FI_WAIT_FD CQ or wait set hands out
 * (fi_control(FI_GETWAIT)): one epoll set, so that the application polls
 * one descriptor whatever the number of channels behind it.  What it
 * watches changes as channels come and go, so each fi_trywait() sets it
 * to exactly the descriptors a blocking read would sleep on now.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fi/fi_pvt.h"

void ivcfi_fdset_init(struct ivcfi_fdset *s)
{
	s->epfd = -1;
	s->fds = NULL;
	s->n = s->cap = 0;
}

void ivcfi_fdset_fini(struct ivcfi_fdset *s)
{
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->fds);
	ivcfi_fdset_init(s);
}

int ivcfi_fdset_fd(struct ivcfi_fdset *s)
{
	if (s->epfd < 0)
		s->epfd = epoll_create1(EPOLL_CLOEXEC);
	return s->epfd >= 0 ? s->epfd : -FI_ENOMEM;
}

static bool listed(const struct pollfd *fds, int n, int fd)
{
	for (int i = 0; i < n; i++)
		if (fds[i].fd == fd)
			return true;
	return false;
}

/* Watch @fd for reading: 1, 0 (closed since it was collected: on a
 * locking domain another thread may close a channel meanwhile, and its
 * end is then a completion the next fi_trywait() sees), or -FI_E*.  A
 * descriptor whose number was in the set under a file since closed was
 * dropped by the kernel with that file; one still there is modified. */
static int watch(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 1;
	if (errno == EEXIST && epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 1;
	if (errno == EBADF)
		return 0;
	return errno == ENOMEM || errno == ENOSPC ? -FI_ENOMEM : -FI_EINVAL;
}

int ivcfi_fdset_sync(struct ivcfi_fdset *s, const struct pollfd *fds, int n)
{
	int epfd = ivcfi_fdset_fd(s);

	if (epfd < 0)
		return epfd;
	if ((size_t)n > s->cap) {
		int *p = realloc(s->fds, (size_t)n * sizeof(*p));
		if (!p)
			return -FI_ENOMEM;
		s->fds = p;
		s->cap = (size_t)n;
	}
	/* Gone since the last time: out (a closed one is out already). */
	for (size_t i = 0; i < s->n; i++)
		if (!listed(fds, n, s->fds[i]))
			(void)epoll_ctl(epfd, EPOLL_CTL_DEL, s->fds[i], NULL);
	s->n = 0;
	for (int i = 0; i < n; i++) {
		if (listed(fds, i, fds[i].fd))
			continue; /* twice in @fds */
		int r = watch(epfd, fds[i].fd);
		if (r < 0)
			return r;
		if (r)
			s->fds[s->n++] = fds[i].fd;
	}
	return 0;
}
