/* SPDX-License-Identifier: MIT */
/*
 * ivc-netd - dom0's co-residency daemon for net: addresses (docs/xen.md,
 * "net: addresses between domains"; man ivc-netd(1)).
 *
 * Guests cannot list each other's xenstore trees, so a guest cannot find
 * out by itself that the host:port it names lives in a co-resident domain.
 * This daemon, run by the operator in dom0, can.  It reads every domain's
 * net: services (xen services named "net-<key>", src/endpoint/net_xen_pvt.h,
 * whose node lists the domains the listener allows), checks each service's
 * address against the addresses the domain owns (its vifs' "ip" as the
 * toolstack wrote it, and --addr), and writes into each domain G the
 * entries of the services that allow G, readable by G alone and writable
 * by nobody but dom0:
 *
 *   /local/domain/<G>/ivc-net/<key> = "<domid>/net-<key'>"
 *
 * and nothing else: a domain learns only what it may connect to.  It
 * recomputes on every change it watches (domains introduced or released,
 * a domain's services, the vif backends) and writes only differences, so
 * a restarted daemon rewrites nothing that is still right, and what is
 * already connected never depends on it (it is not on any data path).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenstore.h>

#include "endpoint/net_xen_pvt.h"

#define MAX_DOMS 1024
#define MAX_ADDRS 16      /* per domain */
#define MAX_RULES 256     /* --addr options */
#define MAX_ENTRIES 65536 /* the whole table, every domain's */
#define MAX_SERVICES 256  /* looked at per domain (its data/ivc entries) */
#define RESCAN_MS 30000   /* a full look even without events */
#define COALESCE_MS 50    /* events this close together: one look */

struct rule {
	char dom[64]; /* a domid or a domain name */
	struct net_xen_addr addr;
};

struct entry {
	uint32_t dom; /* the domain it is written for */
	char key[NET_XEN_KEY_MAX];
	char val[16 + sizeof(NET_XEN_SERVICE_PREFIX) + NET_XEN_KEY_MAX];
};

static struct rule g_rules[MAX_RULES];
static unsigned g_nrules;
static int g_verbose;
static volatile sig_atomic_t g_stop;
static struct entry *g_want;
static unsigned g_nwant;

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ivc-netd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int parse_ip(const char *s, struct net_xen_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->addr) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, s, a->addr) == 1)
		a->family = 6;
	else
		return -1;
	return 0;
}

/* --addr DOMAIN=IP[,IP...] */
static int add_rule(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char ips[512], *tok, *save;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(g_rules[0].dom) ||
	    strlen(eq + 1) >= sizeof(ips))
		return -1;
	snprintf(ips, sizeof(ips), "%s", eq + 1);
	for (tok = strtok_r(ips, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct rule *r = &g_rules[g_nrules];

		if (g_nrules == MAX_RULES || parse_ip(tok, &r->addr))
			return -1;
		memcpy(r->dom, arg, (size_t)(eq - arg));
		r->dom[eq - arg] = '\0';
		g_nrules++;
	}
	return 0;
}

/* ---- what xenstore says ---- */

__attribute__((format(printf, 2, 3))) static char *readf(struct xs_handle *xs,
							     const char *fmt, ...)
{
	char path[256];
	unsigned int len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(xs, XBT_NULL, path, &len);
}

__attribute__((format(printf, 3, 4))) static char **dirf(struct xs_handle *xs, unsigned *n,
							      const char *fmt, ...)
{
	char path[256];
	char **v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	v = xs_directory(xs, XBT_NULL, path, n);
	if (!v)
		*n = 0;
	return v;
}

static int is_domid(const char *s, uint32_t *d)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return 0;
	v = strtoul(s, &end, 10);
	if (*end || v >= 0x7ff0u)
		return 0;
	*d = (uint32_t)v;
	return 1;
}

/* The live domains (introduced to xenstored), sorted as listed. */
static unsigned domains(struct xs_handle *xs, uint32_t *out)
{
	unsigned n, k = 0;
	char **v = dirf(xs, &n, "/local/domain");

	for (unsigned i = 0; i < n && k < MAX_DOMS; i++)
		if (is_domid(v[i], &out[k]) && xs_is_domain_introduced(xs, out[k]))
			k++;
	free(v);
	return k;
}

/* What domain @d owns: the rules that name it, its vifs' addresses. */
static unsigned addrs_of(struct xs_handle *xs, uint32_t d, struct net_xen_addr *out)
{
	char *name = readf(xs, "/local/domain/%u/name", d), num[16];
	unsigned n = 0, nv;
	char **vifs;

	snprintf(num, sizeof(num), "%u", d);
	for (unsigned i = 0; i < g_nrules && n < MAX_ADDRS; i++)
		if (!strcmp(g_rules[i].dom, num) || (name && !strcmp(g_rules[i].dom, name)))
			out[n++] = g_rules[i].addr;
	free(name);
	vifs = dirf(xs, &nv, "/local/domain/0/backend/vif/%u", d);
	for (unsigned i = 0; i < nv; i++) {
		char *ip = readf(xs, "/local/domain/0/backend/vif/%u/%s/ip", d, vifs[i]), *tok, *save;

		for (tok = ip ? strtok_r(ip, " ", &save) : NULL; tok && n < MAX_ADDRS;
		     tok = strtok_r(NULL, " ", &save))
			if (!parse_ip(tok, &out[n]))
				n++;
		free(ip);
	}
	free(vifs);
	return n;
}

/* ---- the table we want ---- */

static int live(uint32_t d, const uint32_t *doms, unsigned nd)
{
	for (unsigned i = 0; i < nd; i++)
		if (doms[i] == d)
			return 1;
	return 0;
}

static void want(uint32_t g, const struct net_xen_addr *a, uint32_t s, const char *svc)
{
	struct entry e = { .dom = g };

	ivc_net_xen_key_of(a, e.key);
	snprintf(e.val, sizeof(e.val), "%u/%s", s, svc);
	for (unsigned i = 0; i < g_nwant; i++)
		if (g_want[i].dom == g && !strcmp(g_want[i].key, e.key)) {
			if (strcmp(g_want[i].val, e.val))
				say("domain %u: %s is claimed by %s and %s: keeping the first", g,
				    e.key, g_want[i].val, e.val);
			return;
		}
	if (g_nwant < MAX_ENTRIES)
		g_want[g_nwant++] = e;
}

/* The addresses service @a of domain @s may be reached at. */
static unsigned targets(const struct net_xen_addr *a, const struct net_xen_addr *own,
			unsigned nown, uint32_t s, struct net_xen_addr *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nown; i++) {
		if (own[i].family != a->family)
			continue;
		if (ivc_net_xen_is_any(a) || !memcmp(own[i].addr, a->addr, 16)) {
			out[n] = own[i];
			out[n++].port = a->port;
		}
	}
	if (!n && !ivc_net_xen_is_any(a) && g_verbose)
		say("domain %u advertises an address it does not own: ignored", s);
	return n;
}

/* One service of domain @s: its node's value is "<pid> <domid>...". */
static void service(struct xs_handle *xs, uint32_t s, const char *svc,
		    const struct net_xen_addr *own, unsigned nown, const uint32_t *doms,
		    unsigned nd)
{
	struct net_xen_addr a, t[MAX_ADDRS];
	char *v, *tok, *save;
	unsigned nt;

	if (strncmp(svc, NET_XEN_SERVICE_PREFIX, strlen(NET_XEN_SERVICE_PREFIX)) ||
	    ivc_net_xen_key_parse(svc + strlen(NET_XEN_SERVICE_PREFIX), &a))
		return;
	nt = targets(&a, own, nown, s, t);
	v = nt ? readf(xs, "/local/domain/%u/data/ivc/%s", s, svc) : NULL;
	tok = v ? strtok_r(v, " ", &save) : NULL; /* the listener's pid */
	while (tok && (tok = strtok_r(NULL, " ", &save))) {
		uint32_t g;

		if (!is_domid(tok, &g) || g == s || !live(g, doms, nd))
			continue;
		for (unsigned i = 0; i < nt; i++)
			want(g, &t[i], s, svc);
	}
	free(v);
}

static void compute(struct xs_handle *xs, const uint32_t *doms, unsigned nd)
{
	g_nwant = 0;
	for (unsigned i = 0; i < nd; i++) {
		struct net_xen_addr own[MAX_ADDRS];
		unsigned nown = addrs_of(xs, doms[i], own), ns = 0, taken = 0;
		char **svcs = nown ? dirf(xs, &ns, "/local/domain/%u/data/ivc", doms[i]) : NULL;

		/* A guest's services are its to make: a bounded number of them
		 * goes into other domains' tables (which dom0's quota holds). */
		for (unsigned j = 0; svcs && j < ns && taken < MAX_SERVICES; j++) {
			if (strncmp(svcs[j], NET_XEN_SERVICE_PREFIX, strlen(NET_XEN_SERVICE_PREFIX)))
				continue;
			service(xs, doms[i], svcs[j], own, nown, doms, nd);
			if (++taken == MAX_SERVICES && g_verbose)
				say("domain %u: only its first %u net: services", doms[i], taken);
		}
		free(svcs);
	}
}

/* ---- writing it ---- */

static int put(struct xs_handle *xs, uint32_t g, const char *path, const char *val)
{
	struct xs_permissions p[2] = { { .id = 0, .perms = XS_PERM_NONE },
				       { .id = g, .perms = XS_PERM_READ } };

	if (val ? !xs_write(xs, XBT_NULL, path, val, (unsigned)strlen(val))
		: !xs_mkdir(xs, XBT_NULL, path))
		return -errno;
	return xs_set_permissions(xs, XBT_NULL, path, p, 2) ? 0 : -errno;
}

/* Domain @g's table made what g_want says; counts what changed. */
static void publish_one(struct xs_handle *xs, uint32_t g, unsigned *added, unsigned *removed)
{
	char table[64], path[128];
	unsigned n;
	char **cur;

	snprintf(table, sizeof(table), "/local/domain/%u/" NET_XEN_TABLE, g);
	cur = dirf(xs, &n, "%s", table);
	if (!cur && put(xs, g, table, NULL))
		say("domain %u: cannot make %s: %s", g, table, strerror(errno));
	for (unsigned i = 0; i < g_nwant; i++) {
		char *v;

		if (g_want[i].dom != g)
			continue;
		snprintf(path, sizeof(path), "%s/%s", table, g_want[i].key);
		v = readf(xs, "%s", path);
		if (!v || strcmp(v, g_want[i].val)) {
			if (put(xs, g, path, g_want[i].val))
				say("domain %u: cannot write %s: %s", g, path, strerror(errno));
			else
				++*added;
		}
		free(v);
	}
	for (unsigned i = 0; i < n; i++) {
		int keep = 0;

		for (unsigned j = 0; j < g_nwant && !keep; j++)
			keep = g_want[j].dom == g && !strcmp(g_want[j].key, cur[i]);
		snprintf(path, sizeof(path), "%s/%s", table, cur[i]);
		if (!keep && xs_rm(xs, XBT_NULL, path))
			++*removed;
	}
	free(cur);
}

/* ---- watching ---- */

static uint32_t g_watched[MAX_DOMS];
static unsigned g_nwatched;

/* Watch the services of every live domain, and no dead one's. */
static void rewatch(struct xs_handle *xs, const uint32_t *doms, unsigned nd)
{
	char path[64];

	for (unsigned i = 0; i < g_nwatched;) {
		if (live(g_watched[i], doms, nd)) {
			i++;
			continue;
		}
		snprintf(path, sizeof(path), "/local/domain/%u/data/ivc", g_watched[i]);
		xs_unwatch(xs, path, "svc");
		g_watched[i] = g_watched[--g_nwatched];
	}
	for (unsigned i = 0; i < nd; i++) {
		if (live(doms[i], g_watched, g_nwatched) || g_nwatched == MAX_DOMS)
			continue;
		snprintf(path, sizeof(path), "/local/domain/%u/data/ivc", doms[i]);
		if (xs_watch(xs, path, "svc"))
			g_watched[g_nwatched++] = doms[i];
	}
}

static void round_once(struct xs_handle *xs)
{
	static unsigned rounds;
	uint32_t doms[MAX_DOMS];
	unsigned nd = domains(xs, doms), added = 0, removed = 0, i;

	rewatch(xs, doms, nd);
	compute(xs, doms, nd);
	for (i = 0; i < nd; i++)
		publish_one(xs, doms[i], &added, &removed);
	/* The first round always says what it found (a restart's witness). */
	if (added || removed || g_verbose || rounds++ == 0)
		say("%u domains, %u entries: %u written, %u removed", nd, g_nwant, added, removed);
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f, int rc)
{
	fprintf(f, "usage: ivc-netd [--addr DOMAIN=IP[,IP...]]... [--once] [--verbose]\n"
		   "  Publishes to each Xen domain the net: services of co-resident\n"
		   "  domains that allow it (man ivc-netd).  DOMAIN: a domid or a name.\n");
	exit(rc);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "addr", required_argument, NULL, 'a' }, { "once", no_argument, NULL, '1' },
		{ "verbose", no_argument, NULL, 'v' },    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct xs_handle *xs;
	int c, once = 0;

	while ((c = getopt_long(argc, argv, "a:1vh", opts, NULL)) != -1) {
		if (c == 'a' && add_rule(optarg)) {
			say("--addr %s: want DOMAIN=IP[,IP...] (at most %u in all)", optarg,
			    MAX_RULES);
			return 2;
		}
		if (c == '1')
			once = 1;
		if (c == 'v')
			g_verbose = 1;
		if (c == 'h')
			usage(stdout, 0);
		if (c == '?')
			usage(stderr, 2);
	}
	if (optind != argc)
		usage(stderr, 2);
	g_want = calloc(MAX_ENTRIES, sizeof(*g_want));
	xs = xs_open(0);
	if (!g_want || !xs) {
		say("cannot open xenstore (run it in dom0, as root): %s", strerror(errno));
		return 1;
	}
	if (!once && (!xs_watch(xs, "@introduceDomain", "dom") ||
		      !xs_watch(xs, "@releaseDomain", "dom") ||
		      !xs_watch(xs, "/local/domain/0/backend/vif", "vif"))) {
		say("cannot watch xenstore: %s", strerror(errno));
		return 1;
	}
	/* No SA_RESTART: a signal ends the wait below. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	round_once(xs);
	if (!once)
		say("running: %u address rules", g_nrules);
	while (!once && !g_stop) {
		struct pollfd p = { .fd = xs_fileno(xs), .events = POLLIN };
		char **ev;
		int n = poll(&p, 1, RESCAN_MS);

		if (n < 0 && errno != EINTR)
			break;
		/* Take every event of the next COALESCE_MS, then look once: a
		 * guest that rewrites its services in a loop costs dom0 at most
		 * 1000 / COALESCE_MS rounds a second. */
		for (int64_t left = COALESCE_MS; n > 0 && !g_stop && left > 0;) {
			int64_t t0 = now_ms();

			while ((ev = xs_check_watch(xs)))
				free(ev);
			n = poll(&p, 1, (int)left);
			left -= now_ms() - t0;
		}
		if (!g_stop)
			round_once(xs);
	}
	/* The tables stay: what they say is still true, and a restarted
	 * daemon corrects what changes meanwhile. */
	xs_close(xs);
	return 0;
}
