/* SPDX-License-Identifier: MIT */
/*
 * bench_place - placements of an endpoint pair from hwloc.  For an anchor PU
 * (the first one we may use), every other PU is classified by the closest
 * thing the two share, and the first PU of each class represents it:
 *
 *   same-pu          one PU: the endpoints time-share it
 *   smt              SMT siblings of one core
 *   cores-shared-lN  separate cores sharing an level-N cache
 *   cores            separate cores in one package, no shared cache
 *   numa             separate NUMA nodes of one package
 *   packages         separate packages (sockets)
 */
#define _GNU_SOURCE
#include "bench_place.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <hwloc.h>

/* Human size of a cache ("32 MiB"). */
static void cache_size(const hwloc_obj_t c, char *buf, size_t len)
{
	unsigned long long kb = c->attr->cache.size / 1024;

	if (kb >= 1024 && kb % 1024 == 0)
		snprintf(buf, len, " (%llu MiB)", kb / 1024);
	else if (kb)
		snprintf(buf, len, " (%llu KiB)", kb);
	else
		buf[0] = 0;
}

/* The nearest ancestor of @o (itself included) of type @t, or NULL. */
static hwloc_obj_t up_to(hwloc_obj_t o, hwloc_obj_type_t t)
{
	while (o && o->type != t)
		o = o->parent;
	return o;
}

/* Classify the pair (@a, @b) into @p's name and desc. */
static void classify(hwloc_obj_t a, hwloc_obj_t b, struct bench_place *p)
{
	hwloc_obj_t common, c;
	char sz[32];

	if (a == b) {
		snprintf(p->name, sizeof(p->name), "same-pu");
		snprintf(p->desc, sizeof(p->desc), "one PU, time-shared by both endpoints");
		return;
	}
	common = hwloc_get_common_ancestor_obj(NULL, a, b);
	if (common->type == HWLOC_OBJ_CORE) {
		snprintf(p->name, sizeof(p->name), "smt");
		snprintf(p->desc, sizeof(p->desc), "SMT siblings of one core");
		return;
	}
	/* The first cache at or above the common ancestor is shared. */
	for (c = common; c && c->type != HWLOC_OBJ_MACHINE; c = c->parent)
		if (hwloc_obj_type_is_dcache(c->type))
			break;
	if (c && c->type != HWLOC_OBJ_MACHINE && up_to(c, HWLOC_OBJ_PACKAGE) ==
	    up_to(a, HWLOC_OBJ_PACKAGE)) {
		cache_size(c, sz, sizeof(sz));
		snprintf(p->name, sizeof(p->name), "cores-shared-l%u", c->attr->cache.depth);
		snprintf(p->desc, sizeof(p->desc), "separate cores sharing an L%u cache%s",
			 c->attr->cache.depth, sz);
		return;
	}
	if (up_to(a, HWLOC_OBJ_PACKAGE) != up_to(b, HWLOC_OBJ_PACKAGE)) {
		snprintf(p->name, sizeof(p->name), "packages");
		snprintf(p->desc, sizeof(p->desc), "separate packages (sockets)%s",
			 hwloc_bitmap_isequal(a->nodeset, b->nodeset) ? "" :
			 ", separate NUMA nodes");
		return;
	}
	if (!hwloc_bitmap_isequal(a->nodeset, b->nodeset)) {
		snprintf(p->name, sizeof(p->name), "numa");
		snprintf(p->desc, sizeof(p->desc), "separate NUMA nodes of one package");
		return;
	}
	snprintf(p->name, sizeof(p->name), "cores");
	snprintf(p->desc, sizeof(p->desc), "separate cores, no shared cache");
}

/* This machine's topology, loaded once (forked children inherit it). */
static hwloc_topology_t g_machine;

static int load(hwloc_topology_t *t, const char *synthetic)
{
	if (!synthetic && g_machine) {
		*t = g_machine;
		return 0;
	}
	if (hwloc_topology_init(t) < 0)
		return -errno ? -errno : -ENOMEM;
	if (synthetic && hwloc_topology_set_synthetic(*t, synthetic) < 0) {
		hwloc_topology_destroy(*t);
		return -EINVAL;
	}
	if (hwloc_topology_load(*t) < 0) {
		hwloc_topology_destroy(*t);
		return -errno ? -errno : -EINVAL;
	}
	if (!synthetic)
		g_machine = *t;
	return 0;
}

/* Drop a topology from load(), unless it is the cached one. */
static void unload(hwloc_topology_t t)
{
	if (t != g_machine)
		hwloc_topology_destroy(t);
}

/* The PUs this process may run on (all of them for a synthetic topology). */
static hwloc_bitmap_t usable(hwloc_topology_t t, bool synthetic)
{
	hwloc_bitmap_t set = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(t));
	hwloc_bitmap_t mine = hwloc_bitmap_alloc();

	if (!synthetic && set && mine &&
	    hwloc_get_cpubind(t, mine, HWLOC_CPUBIND_PROCESS) == 0)
		hwloc_bitmap_and(set, set, mine);
	hwloc_bitmap_free(mine);
	return set;
}

int bench_places(struct bench_place *out, const char *synthetic)
{
	hwloc_topology_t t;
	hwloc_bitmap_t set;
	hwloc_obj_t a = NULL, b = NULL;
	int n = 0, ret;

	if ((ret = load(&t, synthetic)) < 0)
		return ret;
	set = usable(t, synthetic != NULL);
	if (!set) {
		unload(t);
		return -ENOMEM;
	}
	while ((a = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, a)) &&
	       !hwloc_bitmap_isset(set, a->os_index))
		;
	while (a && (b = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, b)) &&
	       n < BENCH_MAX_PLACES) {
		struct bench_place p;
		bool seen = false;

		if (b != a && !hwloc_bitmap_isset(set, b->os_index))
			continue;
		if (b == a && n)
			continue;
		classify(a, b, &p);
		p.cpu_a = (int)a->os_index;
		p.cpu_b = (int)b->os_index;
		for (int i = 0; i < n; i++)
			seen |= !strcmp(out[i].name, p.name);
		if (!seen)
			out[n++] = p;
	}
	/* b starts at the first PU, and none before a is usable: same-pu
	 * comes first, then the classes in PU order (near to far on most
	 * machines). */
	hwloc_bitmap_free(set);
	unload(t);
	return a ? n : -ENODEV;
}

int bench_place_for(int cpu_a, int cpu_b, struct bench_place *out)
{
	hwloc_topology_t t;
	hwloc_obj_t a, b;
	int ret;

	if ((ret = load(&t, NULL)) < 0)
		return ret;
	a = hwloc_get_pu_obj_by_os_index(t, (unsigned)cpu_a);
	b = hwloc_get_pu_obj_by_os_index(t, (unsigned)cpu_b);
	if (a && b) {
		classify(a, b, out);
		out->cpu_a = cpu_a;
		out->cpu_b = cpu_b;
	}
	unload(t);
	return a && b ? 0 : -EINVAL;
}

int bench_pin(int cpu)
{
	hwloc_topology_t t;
	hwloc_bitmap_t set;
	int ret;

	if ((ret = load(&t, NULL)) < 0)
		return ret;
	set = hwloc_bitmap_alloc();
	if (!set)
		return -ENOMEM;
	hwloc_bitmap_only(set, (unsigned)cpu);
	/* The whole process: threads a library starts later inherit it. */
	ret = hwloc_set_cpubind(t, set, HWLOC_CPUBIND_PROCESS | HWLOC_CPUBIND_STRICT);
	if (ret < 0)
		ret = errno ? -errno : -EINVAL;
	hwloc_bitmap_free(set);
	return ret;
}
