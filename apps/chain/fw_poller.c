/* SPDX-License-Identifier: MIT */
/*
 * --fw poller: an ivc_poller with one callback per upstream channel; the
 * poller spins, yields and sleeps over all of them as the mode says.
 *
 * While upstreams may still come, the poller runs in 1 ms slices and the
 * listener is looked at between them (the poller serves channels only).
 */
#include "fw.h"

#include <errno.h>

#define SLICE_MS 1
#define SLEEP_MS 1000   /* a re-check, not a synchronisation */

static int on_upstream(struct ivc_channel *ch, void *arg)
{
	struct fw_up *u = arg;
	int r = fw_serve(u->fw, ch);

	if (r >= 0)
		return r;
	if (r == -EAGAIN)
		return 0;
	if (r != FW_DOWN_FAILED)
		fw_up_ended(u->fw, u, r);
	return -1;      /* the poller drops it; fw.c closes it */
}

static int add_new(struct fw *fw, struct ivc_poller *p, unsigned from)
{
	unsigned i;

	for (i = from; i < fw->n_up; i++) {
		int r = ivc_poller_add(p, fw->up[i].ch, on_upstream, &fw->up[i]);

		if (r < 0) {
			stage_ivc_err(&fw->st, "poller add", r);
			return r;
		}
	}
	return 0;
}

int fw_run_poller(struct fw *fw)
{
	/* A zeroed ivc_poller_options pins to CPU 0: the process is pinned
	 * already (--cpu), or not at all. */
	struct ivc_poller_options po = { .cpu = -1, .mode = (int)fw->st.mode };
	struct ivc_poller *p;
	int r = ivc_poller_create(&po, &p);

	if (r < 0) {
		stage_ivc_err(&fw->st, "poller", r);
		return r;
	}
	for (;;) {
		unsigned from = fw->n_up;

		if (fw_accepting(fw)) {
			if (fw->n_live == 0)
				fw_ctl_wait(fw, SLEEP_MS);
			else
				r = ivc_poller_run(p, SLICE_MS);
			if (r < 0 && r != -ETIMEDOUT)
				break;
			r = fw_ctl_poll(fw);
			if (!r)
				r = add_new(fw, p, from);
			if (r)
				break;
		} else {
			if (fw->n_live == 0)
				break;
			/* Returns once no channel is left. */
			r = ivc_poller_run(p, -1);
			if (r < 0)
				break;
		}
		if (fw->down_err) {
			r = fw->down_err;
			break;
		}
	}
	ivc_poller_destroy(p);
	return r;
}
