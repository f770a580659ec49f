/* SPDX-License-Identifier: MIT */
/*
 * test/dpdk/slow_unmap.c - an LD_PRELOAD module for ivc-dpdk-check alone
 * (IVC_DPDK_CHECK_PRELOAD, pmd_lib.sh): every munmap() that DPDK's
 * net_memif makes waits 20 ms first, and one of a region it has already
 * unmapped (and not mapped again since) aborts.
 *
 * Why: net_memif (22.11) handles its peer's leaving in EAL's interrupt
 * thread (memif_disconnect), and sets the link down before it tears the
 * rest down, its regions last.  An application that stops the port as
 * soon as it sees the link down runs memif_disconnect a second time,
 * beside the first, and both free the same regions: a SIGSEGV in CI,
 * about 1 run in 50 of dpdk.memif.jumbo.  Slowing the teardown makes the
 * overlap certain, and the second unmap of a region is its proof; the
 * check's close waits for the interrupt thread first (dpdk_port.c,
 * intr_thread_barrier), and then the overlap never happens.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOW_US 20000u
#define TRACKED 64

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);

static void *unmapped[TRACKED]; /* net_memif's, since last mapped */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int called_from_memif(void *ret)
{
	Dl_info di;

	return dladdr(ret, &di) && di.dli_fname && strstr(di.dli_fname, "net_memif");
}

static void say(const char *m)
{
	(void)!write(2, m, strlen(m));
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	mmap_fn real = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
	void *p = real(addr, len, prot, flags, fd, off);

	if (p != MAP_FAILED && called_from_memif(__builtin_return_address(0))) {
		pthread_mutex_lock(&lock);
		for (int i = 0; i < TRACKED; i++)
			if (unmapped[i] == p)
				unmapped[i] = NULL;
		pthread_mutex_unlock(&lock);
	}
	return p;
}

int munmap(void *addr, size_t len)
{
	munmap_fn real = (munmap_fn)dlsym(RTLD_NEXT, "munmap");

	if (called_from_memif(__builtin_return_address(0))) {
		usleep(SLOW_US);
		pthread_mutex_lock(&lock);
		for (int i = 0; i < TRACKED; i++)
			if (unmapped[i] == addr) {
				say("slow_unmap: net_memif unmapped a region twice: "
				    "two memif_disconnects at once\n");
				abort();
			}
		for (int i = 0; i < TRACKED; i++)
			if (!unmapped[i]) {
				unmapped[i] = addr;
				break;
			}
		pthread_mutex_unlock(&lock);
	}
	return real(addr, len);
}
