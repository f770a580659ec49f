/* SPDX-License-Identifier: MIT */
/*
 * The firewall's control side: taking upstream channels as they come.
 *
 * The firewall takes upstreams while it forwards, so that the first
 * generator is served at once, and so that a restarted firewall takes the
 * generators that reconnect to it.  It stops taking them once --gens
 * were accepted, or once the end descriptor reports EOF: the orchestrator
 * closes it when every generator has exited, which is how a restarted
 * firewall learns that the generators that finished before it started
 * will never come.  A generator whose ivc_connect() returned has sent its
 * last handshake message, so what is ready at that point is everything.
 */
#define _GNU_SOURCE
#include "fw.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

static void stop_listening(struct fw *fw)
{
	/* Out of the poller first: it must not look at a closed listener
	 * (from its own callback this acts at once). */
	if (fw->poller)
		(void)ivc_poller_remove_listener(fw->poller, fw->l);
	ivc_listener_close(fw->l);
	fw->l = NULL;
}

/* An ivc_accept() error that one client caused: the listener goes on. */
static bool client_failed(int r)
{
	return r == -EPROTO || r == -ECONNABORTED || r == -EACCES ||
	       r == -EPROTONOSUPPORT || r == -E2BIG;
}

static void look_at_end(struct fw *fw)
{
	struct pollfd p = { .fd = fw->end_fd, .events = POLLIN };
	char c[16];

	if (fw->end_fd < 0 || fw->end_seen || poll(&p, 1, 0) <= 0)
		return;
	/* Nothing is ever written: readable means EOF (or an error,
	 * which means the same: the orchestrator is gone). */
	if (read(fw->end_fd, c, sizeof(c)) <= 0)
		fw->end_seen = true;
}

int fw_ctl_poll(struct fw *fw)
{
	if (!fw->l)
		return 0;
	look_at_end(fw);
	while (fw->l && fw->n_up < FW_MAX_UPSTREAMS) {
		struct ivc_channel *ch;
		int r = ivc_accept(fw->l, 0, &ch);

		if (r == -EAGAIN)
			break;
		if (client_failed(r)) {
			stage_ivc_err(&fw->st, "accept (that client dropped)", r);
			continue;
		}
		if (r < 0) {
			stage_ivc_err(&fw->st, "accept", r);
			return r;
		}
		fw->up[fw->n_up++] = (struct fw_up){ fw, ch, true };
		fw->n_live++;
		if (fw->n_up == fw->gens)
			stop_listening(fw);
	}
	if (fw->l && (fw->end_seen || fw->n_up == FW_MAX_UPSTREAMS))
		stop_listening(fw);
	return 0;
}

int fw_ctl_fd(const struct fw *fw)
{
	return fw->l ? ivc_listener_fd(fw->l) : -1;
}

void fw_ctl_wait(struct fw *fw, int timeout_ms)
{
	struct pollfd p[2];
	nfds_t n = 0;

	if (fw->l)
		p[n++] = (struct pollfd){ .fd = ivc_listener_fd(fw->l), .events = POLLIN };
	if (fw->end_fd >= 0 && !fw->end_seen)
		p[n++] = (struct pollfd){ .fd = fw->end_fd, .events = POLLIN };
	if (n)
		(void)poll(p, n, timeout_ms);
}

void fw_up_ended(struct fw *fw, struct fw_up *u, int err)
{
	u->live = false;
	fw->n_live--;
	fw->ended++;
	if (err != -EPIPE) {
		fw->failed++;
		stage_ivc_err(&fw->st, "upstream", err);
	}
}
