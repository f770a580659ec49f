/* SPDX-License-Identifier: MIT */
/*
 * Our own lane over shm: a memfd we allocate in full before anyone maps
 * it, and two doorbells.
 *
 * Allocated in full (fallocate), so that its pages are ours: charged to
 * us, never faulted in by the peer on our behalf, and a shortage is
 * -ENOMEM now rather than SIGBUS later.  Sealed against shrinking and
 * growing, but not with F_SEAL_SEAL: the peer seals it against holes
 * (F_SEAL_FUTURE_WRITE) once it has mapped it, and so do we once the peer
 * has said so (ivc_shm_local_done()).
 */
#include "shm/shm_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/shm_handshake_pvt.h"
#include "util/fds_pvt.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1 */
#endif

void ivc_shm_local_free(struct shm_local *l)
{
	if (l->region)
		munmap(l->region, l->g.region_size);
	if (l->memfd >= 0) {
		ivc_shm_own_del(l->dev, l->ino);
		close(l->memfd);
	}
	ivc_close_fds(l->bell, 2);
	l->region = NULL;
	l->memfd = -1;
}

/* Every page now, or the error: -ENOMEM for a shortage of memory. */
static int allocate(int fd, uint64_t size)
{
	int r;

	do
		r = fallocate(fd, 0, 0, (off_t)size);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	return errno == ENOSPC ? -ENOMEM : -errno;
}

static int memfd_make(struct shm_local *l)
{
	struct stat st;
	int r;

	l->memfd = memfd_create("ivc-lane", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (l->memfd < 0)
		return -errno;
	if (ftruncate(l->memfd, (off_t)l->g.region_size) < 0 ||
	    fstat(l->memfd, &st) < 0)
		return -errno;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	r = ivc_shm_own_add(l->dev, l->ino);
	if (r) {
		close(l->memfd); /* (not listed: nothing to forget) */
		l->memfd = -1;
		return r;
	}
	r = allocate(l->memfd, l->g.region_size);
	if (!r && fcntl(l->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		r = -errno;
	return r;
}

int ivc_shm_local_make(struct shm_local *l, const struct ivc_lane_geom *g)
{
	int r;

	l->memfd = -1;
	l->bell[0] = l->bell[1] = -1;
	l->region = NULL;
	l->g = *g;
	r = memfd_make(l);
	if (!r)
		r = ivc_bells_make(l->bell);
	if (r)
		goto fail;
	/* The pages are there: populating only fills our page tables. */
	l->region = mmap(NULL, g->region_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, l->memfd, 0);
	if (l->region == MAP_FAILED) {
		l->region = NULL;
		r = -errno;
		goto fail;
	}
	ivc_lane_format(l->region, g, IVC_IDX_START);
	return 0;
fail:
	ivc_shm_local_free(l);
	return r;
}

int ivc_shm_freeze(int memfd, uint64_t size)
{
	const int need = F_SEAL_SHRINK;
	const int nowrite = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
	struct stat st;
	int seals;

	/* Adding it fails if the other side sealed the seals: what counts
	 * is that it is there. */
	(void)fcntl(memfd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE);
	seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0 || (seals & need) != need || !(seals & nowrite))
		return -EPROTO;
	/* Sealed: from now on no hole can appear.  None may be there now. */
	if (fstat(memfd, &st) < 0 || (uint64_t)st.st_blocks * 512u < size)
		return -EPROTO;
	return 0;
}

int ivc_shm_local_done(struct shm_local *l)
{
	int r = ivc_shm_freeze(l->memfd, l->g.region_size);

	ivc_shm_own_del(l->dev, l->ino);
	close(l->memfd);
	l->memfd = -1;
	return r;
}
