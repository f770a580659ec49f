/* SPDX-License-Identifier: MIT */
/*
 * A listener's socket file.  ivc_listen() never removes anything but a
 * socket file that nobody listens on, and ivc_listener_close() only the
 * socket file its own listener made (same device and inode): whatever else
 * is at the path (a regular file, a directory, a FIFO, a symbolic link, a
 * live socket, a newer listener's socket) is left alone.
 *
 * Without races: the socket is bound, and listening, at a temporary name
 * in the same directory before it appears at the path, in one step:
 * renameat2(RENAME_NOREPLACE) where nothing is, RENAME_EXCHANGE with a
 * stale socket.  What an exchange brings out at the temporary name is then
 * looked at: the stale socket we probed is removed; anything else (another
 * listener won the race, or someone put a file there meanwhile) is swapped
 * back, untouched, and we lose with -EADDRINUSE.  So a socket at the path
 * always listens, and of two listeners racing for a path exactly one wins.
 *
 * On a filesystem without those renameat2() flags (or a path too long for
 * a temporary name beside it), the socket is bound at the path itself and
 * a stale socket unlinked if it is still the inode we probed: there, two
 * listeners racing for one stale socket can both believe they won.
 */
#include "shm/shm_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/shm_addr_pvt.h"
#include "util/clock_pvt.h"

#define IVC_BACKLOG 128

/* A filesystem's "no" is the system's permission, not a peer's refusal. */
static int fs_error(int e)
{
	return e == EACCES || e == EROFS ? -EPERM : -e;
}

/* A listening socket bound at @sun.  Return: it, or -errno. */
static int listening_at(const struct sockaddr_un *sun, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r;

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)sun, len) == 0 && listen(fd, IVC_BACKLOG) == 0)
		return fd;
	r = -errno;
	close(fd);
	return r;
}

/* Is anyone listening on the socket file at @a?  Never blocks (a full
 * backlog is EAGAIN: alive).  Return: 1 listening or not ours to judge, 0
 * stale (ECONNREFUSED). */
static int path_live(const struct ivc_addr *a)
{
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r, e;

	if (probe < 0)
		return 1;
	r = connect(probe, (const struct sockaddr *)&a->sun, a->len);
	e = errno;
	close(probe);
	return r == 0 || e != ECONNREFUSED;
}

static int same_file(const struct stat *x, const struct stat *y)
{
	return x->st_dev == y->st_dev && x->st_ino == y->st_ino;
}

/* The file at @path, if it is a socket nobody listens on. */
static int stale_socket(const struct ivc_addr *a, struct stat *st)
{
	return lstat(a->sun.sun_path, st) == 0 && S_ISSOCK(st->st_mode) && !path_live(a);
}

/* A temporary name next to @path, in @t.  Return: 0, or -ENAMETOOLONG. */
static int temp_name(const char *path, struct sockaddr_un *t)
{
	const char *slash = strrchr(path, '/');
	int dlen = slash ? (int)(slash - path) + 1 : 0;
	int n;

	memset(t, 0, sizeof(*t));
	t->sun_family = AF_UNIX;
	n = snprintf(t->sun_path, sizeof(t->sun_path), "%.*s.ivc-%x-%llx", dlen, path,
		     (unsigned)getpid(), (unsigned long long)(ivc_now_ns() & 0xffffffffffull));
	return n < 0 || (size_t)n >= sizeof(t->sun_path) ? -ENAMETOOLONG : 0;
}

/* Exchange @tmp (ours) with the stale socket @stale at @path. */
static int swap_stale(const char *tmp, const char *path, const struct stat *stale)
{
	struct stat out;

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) < 0)
		return errno == ENOENT ? -EAGAIN : fs_error(errno);
	if (lstat(tmp, &out) == 0 && same_file(&out, stale)) {
		unlink(tmp); /* the stale socket, under our temporary name */
		return 0;
	}
	/* Someone else's: give it its place back. */
	(void)renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE);
	return -EADDRINUSE;
}

/* Our listening socket at @tmp appears at @a's path.  Return: 0,
 * -EADDRINUSE, -ENOSYS (no such renameat2 here), -errno. */
static int publish(const char *tmp, const struct ivc_addr *a)
{
	struct stat stale;
	int tries, r = -EADDRINUSE;

	for (tries = 0; tries < 3; tries++) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, a->sun.sun_path, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS)
			return -ENOSYS;
		if (errno != EEXIST)
			return fs_error(errno);
		if (!stale_socket(a, &stale))
			return -EADDRINUSE;
		r = swap_stale(tmp, a->sun.sun_path, &stale);
		if (r != -EAGAIN)
			return r;
	}
	return r == -EAGAIN ? -EADDRINUSE : r;
}

static int bind_via_temp(const struct ivc_addr *a)
{
	struct sockaddr_un t;
	int fd, r = temp_name(a->sun.sun_path, &t);

	if (r)
		return -ENOSYS;
	fd = listening_at(&t, sizeof(t));
	if (fd < 0)
		return fd == -EADDRINUSE ? -ENOSYS : fs_error(-fd);
	r = publish(t.sun_path, a);
	if (r) {
		unlink(t.sun_path);
		close(fd);
		return r;
	}
	return fd;
}

/* Where renameat2's flags are missing: at the path itself. */
static int bind_in_place(const struct ivc_addr *a)
{
	struct stat stale, now;
	int fd = listening_at(&a->sun, a->len);

	if (fd != -EADDRINUSE)
		return fd < 0 ? fs_error(-fd) : fd;
	if (!stale_socket(a, &stale))
		return -EADDRINUSE;
	if (lstat(a->sun.sun_path, &now) < 0 || !same_file(&now, &stale))
		return -EADDRINUSE;
	if (unlink(a->sun.sun_path) < 0 && errno != ENOENT)
		return fs_error(errno);
	fd = listening_at(&a->sun, a->len);
	return fd < 0 ? fs_error(-fd) : fd;
}

int ivc_shm_bind(const struct ivc_addr *a, dev_t *dev, ino_t *ino)
{
	struct stat st;
	int fd;

	if (a->abstract) {
		fd = listening_at(&a->sun, a->len);
		return fd;
	}
	fd = bind_via_temp(a);
	if (fd == -ENOSYS)
		fd = bind_in_place(a);
	/* What close may unlink: this file and no other. */
	if (fd >= 0 && lstat(a->sun.sun_path, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
	return fd;
}

void ivc_shm_unbind(const struct ivc_addr *a, dev_t dev, ino_t ino)
{
	struct stat st;

	if (a->abstract || lstat(a->sun.sun_path, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode) && st.st_dev == dev && st.st_ino == ino)
		(void)unlink(a->sun.sun_path);
}
