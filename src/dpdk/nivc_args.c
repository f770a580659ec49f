/* SPDX-License-Identifier: MIT */
/* net_ivc's devargs: addr=, role=, zc=, mac=, slots=, bufsize=, bufs=, allow=. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_kvargs.h>

#include "dpdk/nivc_pvt.h"

static const char *const nivc_keys[] = {
	"addr", "role", "zc", "mac", "slots", "bufsize", "bufs", "allow", NULL,
};

static int arg_addr(const char *key, const char *v, void *opaque)
{
	struct nivc_args *a = opaque;

	if (v == NULL || v[0] == '\0' || strlen(v) >= sizeof(a->addr)) {
		NIVC_LOG(ERR, "%s=: an ivc address of 1 to %zu bytes", key,
			 sizeof(a->addr) - 1);
		return -EINVAL;
	}
	strcpy(a->addr, v);
	return 0;
}

static int arg_role(const char *key, const char *v, void *opaque)
{
	struct nivc_args *a = opaque;

	if (v != NULL && strcmp(v, "server") == 0)
		a->server = 1;
	else if (v != NULL && strcmp(v, "client") == 0)
		a->server = 0;
	else {
		NIVC_LOG(ERR, "%s=%s: server or client", key, v ? v : "");
		return -EINVAL;
	}
	return 0;
}

static int arg_zc(const char *key, const char *v, void *opaque)
{
	struct nivc_args *a = opaque;

	if (v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0))
		a->zc = 1;
	else if (v != NULL && (strcmp(v, "0") == 0 || strcmp(v, "no") == 0))
		a->zc = 0;
	else {
		NIVC_LOG(ERR, "%s=%s: 0 or 1", key, v ? v : "");
		return -EINVAL;
	}
	return 0;
}

static int arg_mac(const char *key, const char *v, void *opaque)
{
	struct nivc_args *a = opaque;

	if (v == NULL || rte_ether_unformat_addr(v, &a->mac) < 0 ||
	    !rte_is_valid_assigned_ether_addr(&a->mac)) {
		NIVC_LOG(ERR, "%s=%s: a unicast MAC address, xx:xx:xx:xx:xx:xx",
			 key, v ? v : "");
		return -EINVAL;
	}
	a->mac_set = 1;
	return 0;
}

/* A positive number within [lo, hi]. */
static int arg_u32(const char *key, const char *v, uint32_t lo, uint32_t hi,
		   uint32_t *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = v ? strtoul(v, &end, 0) : 0;
	if (v == NULL || v[0] == '\0' || *end != '\0' || errno != 0 || x < lo ||
	    x > hi) {
		NIVC_LOG(ERR, "%s=%s: a number from %u to %u", key, v ? v : "",
			 lo, hi);
		return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

/* allow=<domid>[:<domid>...]: the Xen domains a server lets in. */
static int arg_allow(const char *key, const char *v, void *opaque)
{
	struct nivc_args *a = opaque;
	const char *s = v;
	char *end;
	unsigned long x;

	a->n_allow = 0;
	while (s != NULL && *s != '\0') {
		errno = 0;
		x = strtoul(s, &end, 10);
		if (end == s || errno != 0 || x >= 0x7ff0 ||
		    a->n_allow == NIVC_MAX_ALLOW || (*end != '\0' && *end != ':'))
			break;
		a->allow[a->n_allow++] = (uint32_t)x;
		s = *end == ':' ? end + 1 : end;
	}
	if (s == NULL || *s != '\0' || a->n_allow == 0) {
		NIVC_LOG(ERR, "%s=%s: 1 to %u Xen domain ids separated by ':'", key,
			 v ? v : "", NIVC_MAX_ALLOW);
		return -EINVAL;
	}
	return 0;
}

static int arg_slots(const char *key, const char *v, void *opaque)
{
	return arg_u32(key, v, 2, 1u << 16, &((struct nivc_args *)opaque)->slots);
}

static int arg_bufsize(const char *key, const char *v, void *opaque)
{
	return arg_u32(key, v, 64, 65535, &((struct nivc_args *)opaque)->buf_size);
}

static int arg_bufs(const char *key, const char *v, void *opaque)
{
	return arg_u32(key, v, 2, 1u << 20, &((struct nivc_args *)opaque)->buf_count);
}

/*
 * Defaults: 512 descriptors and 512 buffers of 2 KiB per direction and
 * queue pair (1 MiB): a 1518-byte frame in one buffer, a 9000-byte one in
 * five.  Not more: the buffers are the working set both lcores' caches
 * carry, and at 1518 B twice as many buffers halved the rate measured
 * (perf/pmd_bench.sh; docs/nfv.md).
 */
static void args_defaults(struct nivc_args *a)
{
	memset(a, 0, sizeof(*a));
	a->slots = 512;
	a->buf_size = 2048;
	a->buf_count = 512;
}

int nivc_args_parse(const char *name, const char *params, struct nivc_args *a)
{
	static const struct {
		const char *key;
		arg_handler_t fn;
	} h[] = {
		{ "addr", arg_addr }, { "role", arg_role }, { "zc", arg_zc },
		{ "mac", arg_mac }, { "slots", arg_slots },
		{ "bufsize", arg_bufsize }, { "bufs", arg_bufs },
		{ "allow", arg_allow },
	};
	struct rte_kvargs *kv;
	size_t i;
	int rc = 0;

	args_defaults(a);
	kv = rte_kvargs_parse(params ? params : "", nivc_keys);
	if (kv == NULL) {
		NIVC_LOG(ERR, "%s: cannot parse '%s' (keys: addr, role, zc, mac, slots, bufsize, bufs, allow)",
			 name, params ? params : "");
		return -EINVAL;
	}
	for (i = 0; i < RTE_DIM(h) && rc == 0; i++) {
		if (rte_kvargs_count(kv, h[i].key) > 1) {
			NIVC_LOG(ERR, "%s: %s= given twice", name, h[i].key);
			rc = -EINVAL;
		} else if (rte_kvargs_process(kv, h[i].key, h[i].fn, a) < 0) {
			rc = -EINVAL;
		}
	}
	rte_kvargs_free(kv);
	if (rc == 0 && a->addr[0] == '\0') {
		NIVC_LOG(ERR, "%s: addr= is required (an ivc address: shm:@name, shm:/path, xen:<domid>/<service>, net:<host>:<port>, tcp:<host>:<port>)",
			 name);
		rc = -EINVAL;
	}
	return rc;
}

/*
 * A locally administered address that is the same every run for the same
 * address and role, and differs between the two ends: 02:69:76 ("iv"),
 * then a hash of both.
 */
void nivc_default_mac(const struct nivc_args *a, struct rte_ether_addr *mac)
{
	uint32_t h = 2166136261u;
	const char *s;

	for (s = a->addr; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ (uint32_t)(a->server + 1)) * 16777619u;
	mac->addr_bytes[0] = 0x02;
	mac->addr_bytes[1] = 0x69;
	mac->addr_bytes[2] = 0x76;
	mac->addr_bytes[3] = (uint8_t)(h >> 16);
	mac->addr_bytes[4] = (uint8_t)(h >> 8);
	mac->addr_bytes[5] = (uint8_t)h;
}
