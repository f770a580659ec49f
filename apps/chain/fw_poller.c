/* SPDX-License-Identifier: MIT */
/*
 * --fw poller: an ivc_poller serves the upstream channels (a callback per
 * channel) and the listener: a generator that connects while the others
 * are forwarded is accepted from the listener's callback and added to the
 * poller there, without stopping it (at most one burst of each of the
 * others waits for the accept).  The poller spins, yields when a peer
 * shares its CPU, and sleeps over all of them as the mode says.
 *
 * The end descriptor (no more upstreams will come) is not an ivc object:
 * while upstreams may still come the poller runs in slices of SLICE_MS and
 * the descriptor is looked at between them (the control path only: the
 * data and the accepts go on inside the slices).
 */
#include "fw.h"

#include <errno.h>

#define SLICE_MS 100
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

static int add_new(struct fw *fw, unsigned from)
{
	unsigned i;

	for (i = from; i < fw->n_up; i++) {
		int r = ivc_poller_add(fw->poller, fw->up[i].ch, on_upstream,
				       &fw->up[i]);

		if (r < 0) {
			stage_ivc_err(&fw->st, "poller add", r);
			return r;
		}
	}
	return 0;
}

/* Take the generators that are ready, from inside the poller. */
static int on_listener(struct ivc_listener *l, void *arg)
{
	struct fw *fw = arg;
	unsigned from = fw->n_up;
	int r = fw_ctl_poll(fw);

	(void)l;
	if (!r)
		r = add_new(fw, from);
	if (r) {
		fw->down_err = r;
		ivc_poller_stop(fw->poller);
	}
	/* (Once the last was taken, fw_ctl_poll() removed the listener.) */
	return 0;
}

/* Between slices: the end descriptor, and a listener that had nothing to
 * accept when the poller looked. */
static int between_slices(struct fw *fw)
{
	unsigned from = fw->n_up;
	int r = fw_ctl_poll(fw);

	return r ? r : add_new(fw, from);
}

int fw_run_poller(struct fw *fw)
{
	/* Zero-initialised: defaults (no pinning: the process is pinned
	 * already with --cpu, or not at all). */
	struct ivc_poller_options po = { .mode = (int)fw->st.mode };
	int r = ivc_poller_create(&po, &fw->poller);

	if (r < 0) {
		stage_ivc_err(&fw->st, "poller", r);
		fw->poller = NULL;
		return r;
	}
	if (fw->l) {
		r = ivc_poller_add_listener(fw->poller, fw->l, on_listener, fw);
		if (r < 0)
			stage_ivc_err(&fw->st, "poller add listener", r);
	}
	while (r >= 0 && !fw->down_err) {
		if (fw_accepting(fw)) {
			if (fw->n_live == 0)
				fw_ctl_wait(fw, SLEEP_MS);
			else
				r = ivc_poller_run(fw->poller, SLICE_MS);
			if (r < 0 && r != -ETIMEDOUT)
				break;
			r = between_slices(fw);
		} else {
			if (fw->n_live == 0)
				break;
			/* Returns once no channel is left. */
			r = ivc_poller_run(fw->poller, -1);
		}
	}
	if (fw->down_err)
		r = fw->down_err;
	ivc_poller_destroy(fw->poller);
	fw->poller = NULL;
	return r;
}
