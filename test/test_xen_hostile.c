/* SPDX-License-Identifier: MIT */
/*
 * test_xen_hostile - a hostile connector at a real xen listener, against
 * the real hypervisor (run in dom0 by test/xen; elsewhere it skips, exit 77).
 *
 * The connector reads the listener's offer from xenstore, maps the granted
 * handshake page and binds its hang-up port with libxen* directly, takes
 * the page, and then lies about its lane in the page: a page count of 0,
 * one over IVC_XEN_MAX_PAGES, 2^32-1; a grant reference that is no grant;
 * the handshake page itself offered as a lane.  Each time ivc_accept()
 * must return -EPROTO within its timeout, tell the connector so in the page
 * (Closed, l_err = -EPROTO), leave no descriptor behind, and stay usable: a
 * real client connects next.  (The data-path lies run over xen in
 * test_hostile; the reference list itself is fuzzed by fuzz_xen_refs.)
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xengnttab.h>
#include <xenstore.h>

#include <ivc/ivc.h>

#include "util/compiler_pvt.h"
#include "xen/xen_pvt.h"

#define WAIT_MS 20000

struct fake {
	xengnttab_handle *gt;
	struct ivc_xen_hs *hs;
	struct ivc_xen_ev hup;
	uint32_t ref;
};

/* Take service @svc's offer for our own domain @dom, as a connector would. */
static int fake_take(const char *svc, uint32_t dom, struct fake *f)
{
	struct xs_handle *xs;
	char p[256];
	uint32_t port, zero = 0;
	int r;

	memset(f, 0, sizeof(*f));
	ivc_xen_ev_init(&f->hup);
	if ((r = ivc_xs_open(&xs)) != 0)
		return r;
	snprintf(p, sizeof(p), "/local/domain/%u/data/ivc/%s/%u/ring-ref", dom, svc, dom);
	r = ivc_xs_read_u32(xs, p, &f->ref);
	snprintf(p, sizeof(p), "/local/domain/%u/data/ivc/%s/%u/event-channel", dom,
		 svc, dom);
	if (!r)
		r = ivc_xs_read_u32(xs, p, &port);
	xs_close(xs);
	if (r)
		return r;
	f->gt = xengnttab_open(NULL, 0);
	if (!f->gt)
		return -errno;
	f->hs = xengnttab_map_grant_ref(f->gt, dom, f->ref, PROT_READ | PROT_WRITE);
	if (!f->hs)
		return -errno;
	if ((r = ivc_xen_ev_bind(&f->hup, dom, port)) != 0)
		return r;
	if (!__atomic_compare_exchange_n(&f->hs->claim, &zero, (uint32_t)getpid(), 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EBUSY;
	return 0;
}

static void fake_free(struct fake *f)
{
	if (f->hs)
		xengnttab_unmap(f->gt, f->hs, 1);
	ivc_xen_ev_close(&f->hup, 1);
	if (f->gt)
		xengnttab_close(f->gt);
}

/* A real client connects and says hello: the listener still works. */
static void real_client(struct ivc_listener *l, const char *addr)
{
	pid_t pid = t_fork();
	if (pid == 0) {
		struct ivc_channel *ch = NULL;
		ivc_listener_close(l);
		REQUIRE_OK(ivc_connect(addr, NULL, WAIT_MS, &ch));
		CHECK_ERR(ivc_send(ch, "hi", 2, WAIT_MS), 0);
		ivc_close(ch);
		t_child_exit();
	}
	struct ivc_channel *ch = NULL;
	char buf[8];
	CHECK_ERR(ivc_accept(l, WAIT_MS, &ch), 0);
	if (ch) {
		CHECK_ERR(ivc_recv(ch, buf, sizeof(buf), WAIT_MS), 2);
		ivc_close(ch);
	}
	CHECK_CHILD_OK(t_wait_child(pid, WAIT_MS));
	/* If we closed before the client did, our lane was kept shared until
	 * it let go (xen_conn.c), holding two grant handles; it has exited
	 * now, so the next xen call frees them.  Make that call here, or the
	 * descriptor count below depends on who closed first. */
	ivc_xen_linger_reap();
	CHECK_EQ(ivc_xen_linger_count(), 0u);
}

/* The lie (@ref0, @pages; @ref0 == 0 means the handshake page itself). */
static void lie_case(uint32_t dom, const char *what, uint32_t ref0, uint32_t pages)
{
	char addr[108];
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	struct fake f;

	t_addr(addr, sizeof(addr), "xhostile");
	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	int fds0 = t_count_fds();
	int r = fake_take(addr + 4, dom, &f);
	CHECK_ERR(r, 0);
	if (!r) {
		IVC_STORE(&f.hs->c_pid, (uint32_t)getpid());
		IVC_STORE(&f.hs->c_lane_ref0, ref0 ? ref0 : f.ref);
		IVC_STORE(&f.hs->c_lane_pages, pages);
		IVC_STORE_REL(&f.hs->c_state, (uint32_t)IVC_XS_INITIALISED);
		ivc_xen_ev_notify(&f.hup);
		uint64_t t0 = t_now_ns();
		r = ivc_accept(l, WAIT_MS, &ch);
		uint64_t ms = (t_now_ns() - t0) / 1000000u;
		CHECK_ERR(r, -EPROTO);
		CHECK(ch == NULL);
		/* The connector was told, in the page. */
		CHECK_EQ(IVC_LOAD_ACQ(&f.hs->l_state), IVC_XS_CLOSED);
		CHECK_EQ(IVC_LOAD(&f.hs->l_err), -EPROTO);
		printf("   %-32s -> ivc_accept %s after %llu ms\n", what, t_errname(r),
		       (unsigned long long)ms);
	}
	fake_free(&f);
	real_client(l, addr);
	CHECK_EQ(t_count_fds(), fds0);
	ivc_listener_close(l);
}

/* No xenstore here: skip, loudly, unless the harness says Xen is there. */
static uint32_t need_xen(void)
{
	struct ivc_channel *a = NULL, *b = NULL;
	struct ivc_info info;
	int r = t_pair("xhostile-probe", NULL, NULL, &a, &b);

	if (r == 0 && ivc_channel_info(a, &info) == 0) {
		ivc_close(a);
		ivc_close(b);
		return info.peer_domid;
	}
	if (getenv("IVC_TEST_XEN_REQUIRED")) {
		printf("test_xen_hostile: FAILED: no working Xen: %s\n", ivc_strerror(r));
		exit(1);
	}
	printf("test_xen_hostile: SKIPPED: not running on Xen (%s); test/xen runs it "
	       "in dom0\n", ivc_strerror(r));
	exit(77);
}

int main(void)
{
	t_init("test_xen_hostile", 280);
	setenv("IVC_TEST_TRANSPORT", "xen", 1);
	uint32_t dom = need_xen();
	printf("-- a hostile connector's lies in the handshake page (domain %u)\n", dom);
	lie_case(dom, "lane of 0 pages", 1, 0);
	lie_case(dom, "lane of IVC_XEN_MAX_PAGES + 1", 1, IVC_XEN_MAX_PAGES + 1);
	lie_case(dom, "lane of 2^32-1 pages", 1, UINT32_MAX);
	lie_case(dom, "a reference that is no grant", 0x7ffffff0u, 4);
	lie_case(dom, "the handshake page as a lane", 0, 1);
	return t_finish();
}
