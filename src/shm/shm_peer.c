/* SPDX-License-Identifier: MIT */
/*
 * The peer's lane and doorbells, as a HELLO or WELCOME hands them over:
 * everything is checked before anything is mapped, and nothing of the
 * peer's memory is touched before it is known to be allocated and sealed.
 *
 * The memfd must be memory that cannot vanish under us: tmpfs (a hugetlbfs
 * page can be taken away, SIGBUS), every page allocated by its owner (we
 * never fault in, nor pay for, the peer's memory), sealed against
 * shrinking, not over our limit, and not one of our own lanes.  Right
 * after mapping it we seal it against holes (ivc_shm_freeze()) and look
 * again that every page is there.
 *
 * A doorbell must be an eventfd (it is written with 0, which can never
 * block an eventfd, whatever its flags and counter).  Told apart without
 * /proc: an anonymous inode that takes a write of 0.
 */
#include "shm/shm_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "shm/shm_handshake_pvt.h"
#include "util/fds_pvt.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef ANON_INODE_FS_MAGIC
#define ANON_INODE_FS_MAGIC 0x09041934
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

static int is_eventfd(int fd)
{
	struct statfs sf;
	uint64_t zero = 0;

	return fstatfs(fd, &sf) == 0 && sf.f_type == ANON_INODE_FS_MAGIC &&
	       write(fd, &zero, sizeof(zero)) == (ssize_t)sizeof(zero);
}

static int seals_ok(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	/* Shrinkable: a page could vanish.  Write-sealed: we could not map
	 * it to write our indices.  Seals sealed: we could not seal it
	 * against holes. */
	return seals >= 0 && (seals & F_SEAL_SHRINK) &&
	       !(seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL));
}

/* Not our own lane of this handshake (we would talk to ourselves), nor a
 * lane this process made for another one unless the peer is this process
 * (two endpoints of one process are a legitimate pair; from anyone else it
 * is a lane of ours they were handed, and mapping it would make one
 * channel receive another's traffic). */
static int not_ours(const struct shm_xport *s, const struct stat *st, pid_t peer_pid)
{
	if (st->st_dev == s->tx_dev && st->st_ino == s->tx_ino)
		return 0;
	return peer_pid == getpid() || !ivc_shm_own_has(st->st_dev, st->st_ino);
}

static int memfd_ok(const struct shm_xport *s, int fd, uint64_t size, pid_t peer_pid)
{
	struct statfs sf;
	struct stat st;

	if (fstatfs(fd, &sf) < 0 || sf.f_type != TMPFS_MAGIC)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != size ||
	    (uint64_t)st.st_blocks * 512u < size) /* its owner's pages */
		return 0;
	return not_ours(s, &st, peer_pid) && seals_ok(fd);
}

/* Map @fd (checked) and seal it; its header is read only after that. */
static int map_sealed(int fd, const struct ivc_lane_geom *g, void **out,
		      uint32_t *start)
{
	void *p = mmap(NULL, g->region_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);
	int r;

	if (p == MAP_FAILED)
		/* Short of address space is ours; anything else the peer's. */
		return errno == ENOMEM ? -ENOMEM : -EPROTO;
	r = ivc_shm_freeze(fd, g->region_size);
	if (!r)
		r = ivc_lane_check(p, g->region_size, g, start);
	if (r) {
		munmap(p, g->region_size);
		return r;
	}
	*out = p;
	return 0;
}

int ivc_shm_peer_map(struct shm_xport *s, const struct ivc_ctrl_msg *m,
		     int *fds, uint64_t max, pid_t peer_pid,
		     struct ivc_lane_geom *g, uint32_t *start)
{
	void *p = NULL;
	int r = ivc_ctrl_geom(m, g);

	if (!r && g->region_size > max)
		r = -E2BIG;
	if (!r && !memfd_ok(s, fds[0], g->region_size, peer_pid))
		r = -EPROTO;
	if (!r && (!is_eventfd(fds[1]) || !is_eventfd(fds[2])))
		r = -EPROTO;
	if (!r)
		r = map_sealed(fds[0], g, &p, start);
	if (!r) {
		s->x.rx_region = p;
		s->rx_len = g->region_size;
		s->peer_bell[0] = fds[1];
		s->peer_bell[1] = fds[2];
		fds[1] = fds[2] = -1;
	}
	ivc_close_fds(fds, 3);
	return r;
}

void ivc_shm_peer_populate(struct shm_xport *s)
{
	/* Every page is there and sealed: this only fills page tables, and
	 * it fails with an error, never a signal (older kernels: EINVAL,
	 * and the data path faults them in as it goes). */
	(void)madvise(s->x.rx_region, s->rx_len, MADV_POPULATE_WRITE);
}
