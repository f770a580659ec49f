/* SPDX-License-Identifier: MIT */
/* CPU placement: hwloc where built with it, sched_setaffinity otherwise. */
#include <errno.h>
#include <sched.h>
#include <pthread.h>

#include <ivc/placement.h>

#include "util/compiler_pvt.h"

#ifdef IVC_HAVE_HWLOC
#include <hwloc.h>
#endif

IVC_PUBLIC int ivc_cpu_list(int *cpus, int max)
{
	cpu_set_t set;
	int i, n = 0;

	if (max < 0 || (max > 0 && !cpus))
		return -EINVAL;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (n < max)
			cpus[n] = i;
		n++;
	}
	return n;
}

IVC_PUBLIC int ivc_cpu_count(void)
{
	int n = ivc_cpu_list(NULL, 0);

	return n == 0 ? 1 : n;
}

IVC_PUBLIC int ivc_current_cpu(void)
{
	int c = sched_getcpu();

	return c < 0 ? -errno : c;
}

IVC_PUBLIC int ivc_have_hwloc(void)
{
#ifdef IVC_HAVE_HWLOC
	return 1;
#else
	return 0;
#endif
}

#ifdef IVC_HAVE_HWLOC
static int pin_hwloc(int cpu)
{
	hwloc_topology_t topo;
	hwloc_bitmap_t set;
	int r = 0;

	if (hwloc_topology_init(&topo) < 0)
		return -ENOMEM;
	if (hwloc_topology_load(topo) < 0) {
		hwloc_topology_destroy(topo);
		return -EIO;
	}
	set = hwloc_bitmap_alloc();
	if (!set) {
		hwloc_topology_destroy(topo);
		return -ENOMEM;
	}
	hwloc_bitmap_only(set, (unsigned)cpu);
	/* Only a PU the topology knows and we may use. */
	if (!hwloc_bitmap_isincluded(set, hwloc_topology_get_allowed_cpuset(topo)))
		r = -EINVAL;
	else if (hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD) < 0)
		r = errno == EXDEV || errno == ENOSYS ? -EINVAL : -errno;
	hwloc_bitmap_free(set);
	hwloc_topology_destroy(topo);
	return r;
}
#endif

IVC_PUBLIC int ivc_pin_thread(int cpu)
{
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
#ifdef IVC_HAVE_HWLOC
	return pin_hwloc(cpu);
#else
	{
		cpu_set_t set;
		int r;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		return r ? -r : 0;
	}
#endif
}
