/* SPDX-License-Identifier: MIT */
/*
 * Watching the net: listeners of other processes on this host
 * (docs/design.md, "Updates from watches").  While it is open, each net:
 * listener leaves a marker named by its address's key (net_xen_key.c's
 * spelling) in NET_LOCAL_DIR; each process that connects by address
 * watches that directory with inotify and, at its next connect, forgets
 * what its registry holds for every address whose marker came or went.
 *
 * A marker only ever makes a connect look afresh: the rendezvous, in the
 * connector's own network namespace, still decides.  So a marker left by
 * a listener in another namespace, a stale one after a crash, or one that
 * a hostile local user made or removed costs a look, never a wrong route;
 * and where the directory cannot be used, the registry's bounded lifetimes
 * stand in, as they did before.
 *
 * A listener holds a shared flock on its marker for as long as it is
 * open, so a marker whose lock is free belongs to a process that died
 * without closing; each new listener removes those first, and the
 * directory holds about as many markers as the host has listeners.  A
 * listener whose marker is there already (a dead one's it could not
 * remove, or a live one's in another namespace) touches it, so that the
 * watchers see an event either way: an open(O_CREAT) of a file that is
 * there makes none.
 */
#include "endpoint/net_pvt.h"
#include "endpoint/net_xen_pvt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define NET_LOCAL_DIR "/dev/shm/ivc-net"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_fd = -1; /* the inotify descriptor, or -1: no watch */

/* The directory, made if missing (sticky and open to all, as /tmp is, so
 * that every user's listeners can mark); 0 if it is one we may use. */
static int dir_ready(void)
{
	struct stat st;

	if (mkdir(NET_LOCAL_DIR, 01777) == 0)
		(void)chmod(NET_LOCAL_DIR, 01777); /* past the umask */
	if (lstat(NET_LOCAL_DIR, &st) != 0 || !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* Another user's directory that others may write to without the
	 * sticky bit would let them swap our markers: not used. */
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return -EPERM;
	if ((st.st_mode & 0002) && !(st.st_mode & S_ISVTX))
		return -EPERM;
	return 0;
}

static void marker_path(const struct net_key *k, char *path, size_t n)
{
	struct net_xen_addr a;
	char key[NET_XEN_KEY_MAX];

	ivc_net_key_to_xen(k, &a);
	ivc_net_xen_key_of(&a, key);
	snprintf(path, n, "%s/%s", NET_LOCAL_DIR, key);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The marker @name in @dfd if its listener is gone: nobody holds its
 * lock.  Taken exclusively, and removed only while it is still the file
 * at that name, so a listener that has just made it anew keeps it. */
static void reap_one(int dfd, const char *name)
{
	struct stat a, b;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return;
	if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && a.st_uid == geteuid() &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0 &&
	    fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && same_file(&a, &b))
		(void)unlinkat(dfd, name, 0);
	close(fd); /* and with it the lock */
}

/* Every dead listener's marker that is ours to remove (the directory is
 * sticky: another user's stay until that user's next listener). */
static void reap_dead(void)
{
	DIR *d = opendir(NET_LOCAL_DIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			reap_one(dirfd(d), e->d_name);
	closedir(d);
}

/* The marker at @path, made if missing, with our shared lock on it: its
 * descriptor, or -1.  A reaper that holds the exclusive lock is about to
 * remove the file it had, so each try opens the name again; one that
 * holds it for ever (a hostile user can) costs only the marker. */
static int hold_marker(const char *path)
{
	struct stat a, b;

	for (int tries = 0; tries < 64; tries++) {
		int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
			      0644);

		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_SH | LOCK_NB) == 0 && fstat(fd, &a) == 0 &&
		    lstat(path, &b) == 0 && same_file(&a, &b))
			return fd;
		close(fd);
		sched_yield();
	}
	return -1;
}

int ivc_net_local_mark(const struct net_key *k)
{
	char path[sizeof(NET_LOCAL_DIR) + NET_XEN_KEY_MAX + 1];
	int fd;

	if (dir_ready())
		return -1;
	reap_dead();
	marker_path(k, path, sizeof(path));
	fd = hold_marker(path);
	/* An event for watchers even where the marker was there already
	 * (IN_ATTRIB); a file of another user's cannot be touched, and then
	 * the registry's lifetimes stand in. */
	if (fd >= 0)
		(void)futimens(fd, NULL);
	return fd;
}

void ivc_net_local_unmark(const struct net_key *k, int fd)
{
	char path[sizeof(NET_LOCAL_DIR) + NET_XEN_KEY_MAX + 1];
	struct stat a, b;

	if (fd < 0)
		return;
	marker_path(k, path, sizeof(path));
	/* Ours only: after another namespace's listener at the same address
	 * removed it, the name may be a newer listener's. */
	if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 && same_file(&a, &b))
		(void)unlink(path);
	close(fd);
}

static void watch_open(void)
{
	if (dir_ready())
		return;
	g_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (g_fd < 0)
		return;
	if (inotify_add_watch(g_fd, NET_LOCAL_DIR,
			      IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
				      IN_ATTRIB | IN_ONLYDIR | IN_DONT_FOLLOW) < 0) {
		close(g_fd);
		g_fd = -1;
	}
}

/* One event: the address its marker names, or all of them. */
static void forget_event(const struct inotify_event *e)
{
	struct net_xen_addr a;

	if (!(e->mask & (IN_Q_OVERFLOW | IN_IGNORED)) && e->len &&
	    !ivc_net_xen_key_parse(e->name, &a) && !ivc_net_xen_is_any(&a)) {
		ivc_net_reg_forget_xen(&a);
		return;
	}
	/* A wildcard listener serves every address of its port; a lost
	 * queue or a removed directory may have hidden anything. */
	ivc_net_reg_forget_kinds(NET_SEEN_LOCAL | NET_SEEN_REMOTE);
}

void ivc_net_local_sync(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	pthread_once(&g_once, watch_open);
	if (g_fd < 0)
		return;
	/* Waited for, not skipped: another thread may have read an event it
	 * has not applied yet, and this connect must not look before it is. */
	pthread_mutex_lock(&g_mu);
	while ((n = read(g_fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *e =
				(const struct inotify_event *)(buf + off);

			forget_event(e);
			off += (ssize_t)sizeof(*e) + e->len;
		}
	}
	pthread_mutex_unlock(&g_mu);
}
