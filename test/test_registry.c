/* SPDX-License-Identifier: MIT */
/*
 * test_registry - the co-residency registry of net: addresses
 * (src/endpoint/net_registry.c), through its internal calls:
 *
 *  - what is put is got back (LOCAL with the rendezvous that answered,
 *    REMOTE), replaced by a later put, gone after forget;
 *  - a negative (REMOTE) entry expires after its bounded lifetime;
 *  - the table is bounded: 10000 distinct addresses never make it hold
 *    more than its cap (the last ones are refused, not stored);
 *  - readers and an updater at once (2 reader threads, one writer) find
 *    only whole entries: every value read is one that was put for that
 *    key (under TSan the registry's mutex stands in for RCU);
 *  - a net: connect fills it, and a connect after the listener closed
 *    finds the entry stale, forgets it and looks afresh;
 *  - forgetting by kind (what a change of the Xen table does) takes the
 *    XEN and REMOTE entries and leaves the LOCAL ones;
 *  - the Xen table's keys (src/endpoint/net_xen_key.c): round trips for
 *    IPv4, IPv6 and the wildcard, every malformed spelling refused, and
 *    the entries ivc-netd writes parsed only when they name exactly the
 *    address asked for or its wildcard;
 *  - outside Xen, the table lookup says so (-ENODEV) and a connect to a
 *    remote address goes on to tcp.
 */
#include "check.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ivc/ivc.h>

#include "endpoint/net_pvt.h"
#include "endpoint/net_xen_pvt.h"

static struct net_key key_of(uint32_t ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	struct net_key k;

	memset(&ss, 0, sizeof(ss));
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(ip);
	ivc_net_key(&ss, &k);
	return k;
}

static void basics(void)
{
	struct net_key k = key_of(0x7f000001, 7001);
	unsigned which = 9;

	printf("-- put, get, replace, forget\n");
	CHECK_EQ(ivc_net_reg_get(&k, &which), 0);
	ivc_net_reg_put(&k, NET_SEEN_LOCAL, 1);
	CHECK_EQ(ivc_net_reg_get(&k, &which), NET_SEEN_LOCAL);
	CHECK_EQ(which, 1);
	ivc_net_reg_put(&k, NET_SEEN_REMOTE, 0);
	CHECK_EQ(ivc_net_reg_get(&k, &which), NET_SEEN_REMOTE);
	ivc_net_reg_forget(&k);
	CHECK_EQ(ivc_net_reg_get(&k, &which), 0);
	ivc_net_reg_forget(&k); /* twice: nothing */

	printf("-- a negative entry expires\n");
	ivc_net_reg_put(&k, NET_SEEN_REMOTE, 0);
	CHECK_EQ(ivc_net_reg_get(&k, &which), NET_SEEN_REMOTE);
	/* (its lifetime is 1 s: waiting it out is the behaviour under test) */
	nanosleep(&(struct timespec){ 1, 100000000 }, NULL);
	CHECK_EQ(ivc_net_reg_get(&k, &which), 0);
	ivc_net_reg_forget(&k);
}

static void bounded(void)
{
	unsigned which, stored = 0;

	printf("-- bounded: 10000 addresses\n");
	for (uint32_t i = 0; i < 10000; i++) {
		struct net_key k = key_of(0x0a000000 + i, 9000);

		ivc_net_reg_put(&k, NET_SEEN_LOCAL, 0);
	}
	for (uint32_t i = 0; i < 10000; i++) {
		struct net_key k = key_of(0x0a000000 + i, 9000);

		stored += ivc_net_reg_get(&k, &which) == NET_SEEN_LOCAL;
	}
	CHECK(stored >= 1000);
	CHECK(stored <= 4096);
	for (uint32_t i = 0; i < 10000; i++) {
		struct net_key k = key_of(0x0a000000 + i, 9000);

		ivc_net_reg_forget(&k);
	}
	stored = 0;
	for (uint32_t i = 0; i < 10000; i++) {
		struct net_key k = key_of(0x0a000000 + i, 9000);

		stored += ivc_net_reg_get(&k, &which) != 0;
	}
	CHECK_EQ(stored, 0);
}

static atomic_int g_stop;
static atomic_uint g_bad, g_reads;

/* Keys 0..63; the writer puts LOCAL with which = key index & 1, or
 * REMOTE: a reader may see either, never anything else. */
static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&g_stop))
		for (uint16_t i = 0; i < 64; i++) {
			struct net_key k = key_of(0x7f000002, (uint16_t)(8000 + i));
			unsigned which = 7;
			int s = ivc_net_reg_get(&k, &which);

			if ((s == NET_SEEN_LOCAL && which != (i & 1u)) || s < 0 || s > 2)
				atomic_fetch_add(&g_bad, 1);
			atomic_fetch_add(&g_reads, 1);
		}
	return NULL;
}

static void concurrent(void)
{
	pthread_t r[2];

	printf("-- 2 readers and a writer\n");
	for (int i = 0; i < 2; i++)
		REQUIRE_EQ(pthread_create(&r[i], NULL, reader, NULL), 0);
	for (unsigned round = 0; round < 300; round++)
		for (uint16_t i = 0; i < 64; i++) {
			struct net_key k = key_of(0x7f000002, (uint16_t)(8000 + i));

			if ((round + i) % 3 == 0)
				ivc_net_reg_forget(&k);
			else
				ivc_net_reg_put(&k, (round + i) % 3 == 1 ? NET_SEEN_LOCAL :
									  NET_SEEN_REMOTE, i & 1u);
		}
	atomic_store(&g_stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	CHECK_EQ(atomic_load(&g_bad), 0);
	CHECK(atomic_load(&g_reads) > 0);
}

static void through_connects(void)
{
	struct ivc_listener *l = NULL;
	struct ivc_channel *c = NULL;
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	struct net_key k;
	unsigned which;
	char addr[64];
	int port = t_tcp_port();

	printf("-- filled by connects, forgotten when stale\n");
	memset(&ss, 0, sizeof(ss));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	a->sin_addr.s_addr = htonl(0x7f000001);
	ivc_net_key(&ss, &k);
	snprintf(addr, sizeof(addr), "net:127.0.0.1:%d", port);
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	/* Our own listener put itself there. */
	CHECK_EQ(ivc_net_reg_get(&k, &which), NET_SEEN_LOCAL);
	ivc_listener_close(l);
	CHECK_EQ(ivc_net_reg_get(&k, &which), 0);
	/* A stale entry (its listener gone): a connect tries it, finds
	 * nobody, forgets it and looks afresh. */
	ivc_net_reg_put(&k, NET_SEEN_LOCAL, 0);
	CHECK_ERR(ivc_connect(addr, NULL, 0, &c), -ECONNREFUSED);
	CHECK_EQ(ivc_net_reg_get(&k, &which), 0);
}

static void kinds(void)
{
	struct net_key a = key_of(0x0a000001, 7101), b = key_of(0x0a000002, 7101),
		       c = key_of(0x7f000001, 7101);
	struct net_xen_addr x;
	unsigned which = 0;

	printf("-- forget by kind: XEN and REMOTE go, LOCAL stays\n");
	ivc_net_reg_put(&a, NET_SEEN_XEN, 5u << 1 | 1);
	ivc_net_reg_put(&b, NET_SEEN_REMOTE, 0);
	ivc_net_reg_put(&c, NET_SEEN_LOCAL, 0);
	CHECK_EQ(ivc_net_reg_get(&a, &which), NET_SEEN_XEN);
	CHECK_EQ(which, 5u << 1 | 1);
	ivc_net_reg_forget_kinds(NET_SEEN_XEN | NET_SEEN_REMOTE);
	CHECK_EQ(ivc_net_reg_get(&a, &which), 0);
	CHECK_EQ(ivc_net_reg_get(&b, &which), 0);
	CHECK_EQ(ivc_net_reg_get(&c, &which), NET_SEEN_LOCAL);
	printf("-- one address forgotten by its Xen key\n");
	ivc_net_reg_put(&a, NET_SEEN_XEN, 6u << 1);
	ivc_net_key_to_xen(&a, &x);
	CHECK_EQ(x.family, 4);
	CHECK_EQ(x.port, 7101);
	ivc_net_reg_forget_xen(&x);
	CHECK_EQ(ivc_net_reg_get(&a, &which), 0);
	CHECK_EQ(ivc_net_reg_get(&c, &which), NET_SEEN_LOCAL);
	ivc_net_reg_forget(&c);
}

static void same_str(int line, const char *got, const char *want)
{
	if (strcmp(got, want))
		t_fail(__FILE__, line, "\"%s\", want \"%s\"", got, want);
	else
		t_pass();
}
#define CHECK_STR_EQ(got, want) same_str(__LINE__, got, want)

static void xen_keys(void)
{
	static const char *const bad[] = {
		"", "4", "4-", "5-0a090001-7000", "4-0a09001-7000", "4-0a0900011-7000",
		"4-0A090001-7000", "4-0a090001-0", "4-0a090001-65536", "4-0a090001-07000",
		"4-0a090001-+7000", "4-0a090001-7000x", "4-0a090001", "4_0a090001-7000",
		"6-0a090001-7000", "4-0g090001-7000",
	};
	struct net_xen_addr a, b;
	char key[NET_XEN_KEY_MAX], t[128];
	uint32_t d = 0;
	unsigned w = 9;

	printf("-- the Xen table's keys\n");
	memset(&a, 0, sizeof(a));
	a.family = 4;
	memcpy(a.addr, "\x0a\x09\x00\x01", 4);
	a.port = 7000;
	ivc_net_xen_key_of(&a, key);
	CHECK_STR_EQ(key, "4-0a090001-7000");
	REQUIRE_OK(ivc_net_xen_key_parse(key, &b));
	CHECK(b.family == 4 && b.port == 7000 && !memcmp(b.addr, a.addr, 4));
	CHECK(!ivc_net_xen_is_any(&b));
	REQUIRE_OK(ivc_net_xen_key_parse("4-00000000-1", &b));
	CHECK(ivc_net_xen_is_any(&b));
	REQUIRE_OK(ivc_net_xen_key_parse("6-00000000000000000000000000000001-65535", &b));
	CHECK(b.family == 6 && b.port == 65535 && b.addr[15] == 1);
	ivc_net_xen_key_of(&b, key);
	CHECK_STR_EQ(key, "6-00000000000000000000000000000001-65535");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ivc_net_xen_key_parse(bad[i], &b) != -EINVAL)
			same_str(__LINE__, bad[i], "(refused)");
		else
			t_pass();
	printf("-- the entries ivc-netd writes\n");
	CHECK_EQ(ivc_net_xen_entry_parse("3/net-4-0a090001-7000", &a, &d, &w), 0);
	CHECK(d == 3 && w == 0);
	CHECK_EQ(ivc_net_xen_entry_parse("12/net-4-00000000-7000", &a, &d, &w), 0);
	CHECK(d == 12 && w == 1);
	CHECK_ERR(ivc_net_xen_entry_parse("3/net-4-0a090002-7000", &a, &d, &w), -EPROTO);
	CHECK_ERR(ivc_net_xen_entry_parse("3/net-4-0a090001-7001", &a, &d, &w), -EPROTO);
	CHECK_ERR(ivc_net_xen_entry_parse("3/other-4-0a090001-7000", &a, &d, &w), -EPROTO);
	CHECK_ERR(ivc_net_xen_entry_parse("32752/net-4-0a090001-7000", &a, &d, &w), -EPROTO);
	CHECK_ERR(ivc_net_xen_entry_parse("/net-4-0a090001-7000", &a, &d, &w), -EPROTO);
	CHECK_ERR(ivc_net_xen_entry_parse("3", &a, &d, &w), -EPROTO);
	CHECK_ERR(ivc_net_xen_entry_parse("-3/net-4-0a090001-7000", &a, &d, &w), -EPROTO);
	CHECK_ERR(ivc_net_xen_entry_parse("03/net-4-0a090001-7000", &a, &d, &w), -EPROTO);
	CHECK_EQ(ivc_net_xen_entry_parse("0/net-4-0a090001-7000", &a, &d, &w), 0);
	ivc_net_xen_target(3, &a, 1, t, sizeof(t));
	CHECK_STR_EQ(t, "xen:3/net-4-00000000-7000");
	ivc_net_xen_target(3, &a, 0, t, sizeof(t));
	CHECK_STR_EQ(t, "xen:3/net-4-0a090001-7000");
	/* This machine is no Xen domain (test/xen runs the Xen side). */
	if (access("/dev/xen/xenbus", F_OK) && access("/var/run/xenstored/socket", F_OK))
		CHECK_ERR(ivc_net_xen_lookup(&a, &d, &w), -ENODEV);
}

int main(void)
{
	t_init("test_registry", 60);
	basics();
	bounded();
	concurrent();
	through_connects();
	kinds();
	xen_keys();
	return t_finish();
}
