/* SPDX-License-Identifier: MIT */
/*
 * fuzz_net_xen - the names of net: services between Xen domains
 * (src/endpoint/net_xen_key.c), which come from untrusted places: ivc-netd
 * parses the service names every guest writes in its own xenstore tree,
 * and a connector parses the entry its domain's table holds.
 *
 * The input is one string (its bytes, NUL-terminated here; a NUL inside
 * ends it early, as xenstore's C API would).
 *
 * Oracles: a key that parses is the one canonical spelling of what it
 * says (ivc_net_xen_key_of() writes it back byte for byte), with family 4
 * or 6 and a port of 1 to 65535; an entry that parses for an address names
 * a domid below DOMID_FIRST_RESERVED, says "own" or "wildcard" exactly as
 * its key does, and is the canonical spelling too (the xen address it
 * leads to is "xen:" + the entry).  The address asked about is the input's
 * own key when it has one (so own-address entries are reached), else
 * 10.9.0.1:7000.
 */
#include <errno.h>

#include "endpoint/net_xen_pvt.h"
#include "fuzz.h"

static void check_key(const char *s)
{
	struct net_xen_addr a;
	char back[NET_XEN_KEY_MAX];

	if (ivc_net_xen_key_parse(s, &a))
		return;
	FZ_ASSERT(a.family == 4 || a.family == 6);
	FZ_ASSERT(a.port != 0);
	ivc_net_xen_key_of(&a, back);
	FZ_ASSERT(!strcmp(back, s));
}

static void check_entry(const char *s, const struct net_xen_addr *a)
{
	char t[16 + sizeof(NET_XEN_SERVICE_PREFIX) + NET_XEN_KEY_MAX];
	uint32_t domid = 0x7fff;
	unsigned wild = 9;

	if (ivc_net_xen_entry_parse(s, a, &domid, &wild))
		return;
	FZ_ASSERT(domid < 0x7ff0u);
	FZ_ASSERT(wild == 0 || wild == 1);
	ivc_net_xen_target(domid, a, wild, t, sizeof(t));
	FZ_ASSERT(!strncmp(t, "xen:", 4) && !strcmp(t + 4, s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct net_xen_addr a;
	const char *slash;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_key(s);
	/* The address an entry is asked about: its own key's, if any. */
	slash = strstr(s, "/" NET_XEN_SERVICE_PREFIX);
	if (!slash || ivc_net_xen_key_parse(slash + 1 + strlen(NET_XEN_SERVICE_PREFIX), &a)) {
		memset(&a, 0, sizeof(a));
		a.family = 4;
		memcpy(a.addr, "\x0a\x09\x00\x01", 4);
		a.port = 7000;
	}
	check_entry(s, &a);
	a.addr[3] ^= 1; /* another address: only its wildcard's entry fits */
	check_entry(s, &a);
	free(s);
	return 0;
}
