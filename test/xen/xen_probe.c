/* SPDX-License-Identifier: MIT */
/*
 * xen_probe - checks, inside a real Xen dom0, the hypervisor facilities the
 * xen transport is built on, the way the transport will use them, between
 * two processes (the offerer and the mapper; granting to one's own domid
 * works):
 *
 *   1. the local domid, from xenstore;
 *   2. gntalloc: share N pages to a domid; gntdev: map them by reference
 *      at whatever address, and see the offerer's bytes;
 *   3. unmap-notify both ways: a page shared with notify has its byte
 *      cleared and the port rung when the sharer goes away;
 *   4. an interdomain event channel: unbound port + bind_interdomain, the
 *      first event pending at once, then a ping-pong of wake-ups;
 *   5. xenstore: the offer under /local/domain/<id>/data/, watched;
 *   6. the grant limit: how many pages one gntalloc handle can share.
 *
 * Exit status 0 when every check passed.  Output: "probe: ..." lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#define NPAGES 16
#define PAGE 4096
#define ALIVE_OFF 64            /* the liveness byte in the notify page */
#define WAIT_MS 20000
#define PINGS 200

static int fails;

#define CHECK(cond, ...) do { \
	if (cond) { printf("probe: ok: " __VA_ARGS__); putchar('\n'); } \
	else { printf("probe: FAIL: " __VA_ARGS__); printf(" (errno %d: %s)\n", errno, strerror(errno)); fails++; } \
	fflush(stdout); \
} while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for an event on @xce (any port) within @ms; the port or -1. */
static int wait_event(xenevtchn_handle *xce, int ms)
{
	struct pollfd p = { .fd = xenevtchn_fd(xce), .events = POLLIN };
	int port;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	port = xenevtchn_pending(xce);
	if (port >= 0)
		xenevtchn_unmask(xce, (evtchn_port_t)port);
	return port;
}

/* Read @path, waiting (watch) up to WAIT_MS for it to appear. */
static char *xs_wait_read(struct xs_handle *xs, const char *path)
{
	uint64_t end = now_ms() + WAIT_MS;
	unsigned len;
	char *v;

	xs_watch(xs, path, "probe");
	while (!(v = xs_read(xs, XBT_NULL, path, &len)) && now_ms() < end) {
		struct pollfd p = { .fd = xs_fileno(xs), .events = POLLIN };
		unsigned n;

		if (poll(&p, 1, 200) > 0)
			free(xs_read_watch(xs, &n));
	}
	xs_unwatch(xs, path, "probe");
	return v;
}

static int my_domid(struct xs_handle *xs)
{
	unsigned len;
	char *v = xs_read(xs, XBT_NULL, "domid", &len);
	int id = v ? atoi(v) : -1;

	free(v);
	return id;
}

static void xs_put(struct xs_handle *xs, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void xs_put(struct xs_handle *xs, const char *path, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!xs_write(xs, XBT_NULL, path, buf, strlen(buf)))
		printf("probe: FAIL: xenstore write %s (errno %d)\n", path, errno), fails++;
}

/* ------------------------------------------------------------ offerer -- */

static int offerer(const char *base, int dom)
{
	struct xs_handle *xs = xs_open(0);
	xengntshr_handle *gs = xengntshr_open(NULL, 0);
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	uint32_t refs[NPAGES], nref;
	unsigned char *pages, *np;
	char path[256], list[NPAGES * 12] = "", *v;
	int port, got = 0;

	CHECK(xs && gs && xce, "offerer: opened xenstore, gntshr, evtchn");
	if (!xs || !gs || !xce)
		return 1;
	port = xenevtchn_bind_unbound_port(xce, (uint32_t)dom);
	CHECK(port >= 0, "offerer: unbound port %d for domid %d", port, dom);
	pages = xengntshr_share_pages(gs, (uint32_t)dom, NPAGES, refs, 1);
	CHECK(pages != NULL, "offerer: shared %d pages to domid %d", NPAGES, dom);
	if (!pages || port < 0)
		return 1;
	for (int i = 0; i < NPAGES; i++) {
		memset(pages + (size_t)i * PAGE, 0xa0 + i, PAGE);
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%u", i ? "," : "",
			 refs[i]);
	}
	/* The liveness page: its byte is cleared, and the port rung, when
	 * this process unshares it or dies. */
	np = xengntshr_share_page_notify(gs, (uint32_t)dom, &nref, 1, ALIVE_OFF,
					 (evtchn_port_t)port);
	CHECK(np != NULL, "offerer: shared the liveness page (ref %u) with unmap-notify", nref);
	if (!np)
		return 1;
	np[ALIVE_OFF] = 1;
	snprintf(path, sizeof(path), "%s/refs", base);
	xs_put(xs, path, "%s", list);
	snprintf(path, sizeof(path), "%s/alive-ref", base);
	xs_put(xs, path, "%u", nref);
	snprintf(path, sizeof(path), "%s/port", base);
	xs_put(xs, path, "%d", port);
	snprintf(path, sizeof(path), "%s/state", base);
	xs_put(xs, path, "offered");

	/* The mapper rings once it has mapped and bound; then ping-pong. */
	snprintf(path, sizeof(path), "%s/mapped", base);
	v = xs_wait_read(xs, path);
	CHECK(v != NULL, "offerer: the mapper says it mapped");
	free(v);
	for (int i = 0; i < PINGS; i++) {
		if (wait_event(xce, WAIT_MS) != port)
			break;
		xenevtchn_notify(xce, (evtchn_port_t)port);
		got++;
	}
	CHECK(got == PINGS, "offerer: answered %d/%d wake-ups", got, PINGS);

	/* Go away: the mapper must see the liveness byte cleared. */
	xengntshr_unshare(gs, np, 1);
	xengntshr_unshare(gs, pages, NPAGES);
	printf("probe: offerer: unshared, exiting\n");
	fflush(stdout);
	xenevtchn_close(xce);
	xengntshr_close(gs);
	xs_close(xs);
	return fails ? 1 : 0;
}

/* ------------------------------------------------------------- mapper -- */

static int mapper(const char *base, int dom)
{
	struct xs_handle *xs = xs_open(0);
	xengnttab_handle *gt = xengnttab_open(NULL, 0);
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	uint32_t refs[NPAGES], nref;
	char path[256], *v, *tok, *save = NULL;
	unsigned char *pages, *np;
	int port, lport, n = 0, bad = 0, pings = 0;
	uint64_t t0, t1;

	CHECK(xs && gt && xce, "mapper: opened xenstore, gnttab, evtchn");
	if (!xs || !gt || !xce)
		return 1;
	snprintf(path, sizeof(path), "%s/state", base);
	v = xs_wait_read(xs, path);
	CHECK(v && !strcmp(v, "offered"), "mapper: found the offer in xenstore");
	free(v);
	snprintf(path, sizeof(path), "%s/refs", base);
	v = xs_wait_read(xs, path);
	for (tok = v ? strtok_r(v, ",", &save) : NULL; tok && n < NPAGES; tok = strtok_r(NULL, ",", &save))
		refs[n++] = (uint32_t)strtoul(tok, NULL, 10);
	free(v);
	snprintf(path, sizeof(path), "%s/alive-ref", base);
	v = xs_wait_read(xs, path);
	nref = v ? (uint32_t)strtoul(v, NULL, 10) : 0;
	free(v);
	snprintf(path, sizeof(path), "%s/port", base);
	v = xs_wait_read(xs, path);
	port = v ? atoi(v) : -1;
	free(v);
	CHECK(n == NPAGES && port >= 0, "mapper: read %d refs and port %d", n, port);
	if (n != NPAGES || port < 0)
		return 1;

	pages = xengnttab_map_domain_grant_refs(gt, NPAGES, (uint32_t)dom, refs,
						PROT_READ | PROT_WRITE);
	CHECK(pages != NULL, "mapper: mapped %d granted pages", NPAGES);
	if (!pages)
		return 1;
	for (int i = 0; i < NPAGES; i++)
		for (int b = 0; b < PAGE; b++)
			bad += pages[(size_t)i * PAGE + b] != 0xa0 + i;
	CHECK(bad == 0, "mapper: every byte of the %d pages is the offerer's", NPAGES);

	lport = xenevtchn_bind_interdomain(xce, (uint32_t)dom, (evtchn_port_t)port);
	CHECK(lport >= 0, "mapper: bound local port %d to the offerer's %d", lport, port);
	if (lport < 0)
		return 1;
	/* A freshly bound interdomain port is pending at once: consume it. */
	CHECK(wait_event(xce, 1000) == lport, "mapper: the fresh port's first event consumed");
	np = xengnttab_map_domain_grant_refs(gt, 1, (uint32_t)dom, &nref, PROT_READ | PROT_WRITE);
	CHECK(np && np[ALIVE_OFF] == 1, "mapper: mapped the liveness page, byte set");
	snprintf(path, sizeof(path), "%s/mapped", base);
	xs_put(xs, path, "1");

	t0 = now_ms();
	for (int i = 0; i < PINGS; i++) {
		xenevtchn_notify(xce, (evtchn_port_t)lport);
		if (wait_event(xce, WAIT_MS) != lport)
			break;
		pings++;
	}
	t1 = now_ms();
	CHECK(pings == PINGS, "mapper: %d/%d event-channel round trips, %.1f us each "
	      "(under TCG: shows it works, not how fast)", pings, PINGS,
	      pings ? (double)(t1 - t0) * 1000.0 / pings : 0.0);

	/* The offerer now unshares and exits: its notify clears the byte
	 * and rings our port. */
	CHECK(wait_event(xce, WAIT_MS) == lport, "mapper: woken when the offerer went away");
	CHECK(np && np[ALIVE_OFF] == 0, "mapper: the liveness byte is cleared");
	if (np)
		xengnttab_unmap(gt, np, 1);
	xengnttab_unmap(gt, pages, NPAGES);
	xenevtchn_close(xce);
	xengnttab_close(gt);
	xs_close(xs);
	return fails ? 1 : 0;
}

/* How many pages one gntalloc handle can share to @dom (doubling). */
static void grant_limit(int dom)
{
	xengntshr_handle *gs = xengntshr_open(NULL, 0);
	int best = 0;

	for (int n = 256; gs && n <= 65536; n *= 2) {
		uint32_t *refs = malloc(sizeof(*refs) * (size_t)n);
		void *p = refs ? xengntshr_share_pages(gs, (uint32_t)dom, n, refs, 1) : NULL;

		if (!p) {
			printf("probe: info: sharing %d pages at once fails (errno %d: %s)\n", n, errno,
			       strerror(errno));
			free(refs);
			break;
		}
		best = n;
		xengntshr_unshare(gs, p, (uint32_t)n);
		free(refs);
	}
	printf("probe: info: one gntalloc handle shared up to %d pages (%d MiB) at once\n", best,
	       best / 256);
	CHECK(best >= 256, "gntalloc lets a lane of at least 1 MiB be shared");
	if (gs)
		xengntshr_close(gs);
}

int main(void)
{
	struct xs_handle *xs = xs_open(0);
	char base[128];
	int dom, sa, sb;
	pid_t a, b;

	CHECK(xs != NULL, "xenstore is reachable");
	if (!xs)
		return 1;
	dom = my_domid(xs);
	CHECK(dom >= 0, "local domid from xenstore: %d", dom);
	if (dom < 0)
		return 1;
	snprintf(base, sizeof(base), "/local/domain/%d/data/ivc-probe", dom);
	xs_rm(xs, XBT_NULL, base);
	xs_close(xs);
	fflush(stdout);

	if ((b = fork()) == 0)
		_exit(mapper(base, dom));
	if ((a = fork()) == 0)
		_exit(offerer(base, dom));
	waitpid(a, &sa, 0);
	waitpid(b, &sb, 0);
	CHECK(WIFEXITED(sa) && !WEXITSTATUS(sa), "offerer process passed");
	CHECK(WIFEXITED(sb) && !WEXITSTATUS(sb), "mapper process passed");
	grant_limit(dom);
	printf("probe: %s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
}
