/* SPDX-License-Identifier: MIT */
/*
 * One run of the chain (run.h): start the stages, watch them, restart the
 * firewall if asked, and tell what happened.
 */
#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bufs.h"
#include "spawn.h"
#include "stage.h"

#define MAX_FW 2        /* the first firewall, and the one that replaces it */

struct chainrun {
	const struct run_cfg *c;
	char dir[64], up[96], down[96];
	struct child sink, fw[MAX_FW], gen[64];
	unsigned n_fw, gens_left;
	int notify_rd, ack_wr, end_rd, end_wr;  /* -1 when not used */
	bool failed;
};

static void stage_args(const struct chainrun *r, struct argv_b *a, int cpu,
		       bool geometry)
{
	const struct run_cfg *c = r->c;

	argv_add(a, "--mode=%s", mode_name(c->mode));
	argv_add(a, "--burst=%u", c->burst);
	argv_add(a, "--timeout=%u", c->timeout_s);
	argv_add(a, "--report-fd=%d", SPAWN_REPORT_FD);
	if (c->pinned)
		argv_add(a, "--cpu=%d", cpu);
	if (!c->verbose)
		argv_add(a, "--quiet");
	if (geometry) {
		argv_add(a, "--slots=%u", c->tx.slots);
		argv_add(a, "--buf-size=%u", c->tx.buf_size);
		argv_add(a, "--buf-count=%u", c->tx.buf_count);
	}
}

static const char *flows(const struct run_cfg *c)
{
	static char buf[64];

	return pkt_flows_str(c->block, buf, sizeof(buf));
}

/* At most what the generators' pools can hold: a packet a generator was
 * told "sent" holds its buffers until the sink's lane has it (fw_fwd.c). */
static uint64_t max_loss(const struct run_cfg *c)
{
	return (uint64_t)c->gens *
	       (c->tx.buf_count / bufs_per_pkt(c->size, c->tx.buf_size));
}

static int start_sink(struct chainrun *r)
{
	const struct run_cfg *c = r->c;
	struct fd_map map[2];
	struct argv_b a;
	int nmap = 0, p[2] = { -1, -1 }, q[2] = { -1, -1 }, e;

	argv_init(&a, "sink");
	argv_add(&a, "--listen=%s", r->down);
	argv_add(&a, "--gens=%u", c->gens);
	argv_add(&a, "--count=%llu", (unsigned long long)c->count);
	argv_add(&a, "--size=%u", c->size);
	argv_add(&a, "--block=%s", flows(c));
	argv_add(&a, "--verify=%s", c->verify ? "on" : "off");
	stage_args(r, &a, c->cpus[2], false);
	if (c->restart_after) {
		if (pipe2(p, O_CLOEXEC) < 0 || pipe2(q, O_CLOEXEC) < 0)
			return -errno;
		r->notify_rd = p[0];
		r->ack_wr = q[1];
		map[nmap++] = (struct fd_map){ p[1], SPAWN_NOTIFY_FD };
		map[nmap++] = (struct fd_map){ q[0], SPAWN_ACK_FD };
		argv_add(&a, "--restart");
		argv_add(&a, "--max-loss=%llu", (unsigned long long)max_loss(c));
		argv_add(&a, "--notify-fd=%d", SPAWN_NOTIFY_FD);
		argv_add(&a, "--notify-after=%llu", (unsigned long long)c->restart_after);
		argv_add(&a, "--ack-fd=%d", SPAWN_ACK_FD);
	}
	e = spawn(&r->sink, "sink", 0, &a, map, nmap);
	if (p[1] >= 0) {        /* the sink's now: EOF when it exits */
		close(p[1]);
		close(q[0]);
	}
	return e;
}

static int start_fw(struct chainrun *r)
{
	const struct run_cfg *c = r->c;
	struct fd_map map[1];
	struct argv_b a;
	int nmap = 0;

	argv_init(&a, "fw");
	argv_add(&a, "--listen=%s", r->up);
	argv_add(&a, "--connect=%s", r->down);
	argv_add(&a, "--gens=%u", c->gens);
	argv_add(&a, "--block=%s", flows(c));
	argv_add(&a, "--fw=%s", c->fw_kind);
	argv_add(&a, "--fw-copy=%s", c->copy ? "on" : "off");
	if (c->time_copy)
		argv_add(&a, "--time-copy");
	stage_args(r, &a, c->cpus[1], true);
	if (r->end_rd >= 0) {
		map[nmap++] = (struct fd_map){ r->end_rd, SPAWN_END_FD };
		argv_add(&a, "--end-fd=%d", SPAWN_END_FD);
	}
	r->n_fw++;
	return spawn(&r->fw[r->n_fw - 1], "fw", r->n_fw, &a, map, nmap);
}

static int start_gen(struct chainrun *r, unsigned id)
{
	const struct run_cfg *c = r->c;
	struct argv_b a;

	argv_init(&a, "gen");
	argv_add(&a, "--connect=%s", r->up);
	argv_add(&a, "--id=%u", id);
	argv_add(&a, "--count=%llu", (unsigned long long)c->count);
	argv_add(&a, "--size=%u", c->size);
	if (c->restart_after) {
		argv_add(&a, "--reconnect");
		argv_add(&a, "--block=%s", flows(c));
	}
	stage_args(r, &a, c->cpus[0], true);
	return spawn(&r->gen[id], "gen", id, &a, NULL, 0);
}

static struct child *current_fw(struct chainrun *r)
{
	return &r->fw[r->n_fw - 1];
}

static void kill_all(struct chainrun *r)
{
	spawn_kill(&r->sink);
	for (unsigned i = 0; i < r->n_fw; i++)
		spawn_kill(&r->fw[i]);
	for (unsigned i = 0; i < r->c->gens; i++)
		spawn_kill(&r->gen[i]);
}

/* Let the waiting sink go on. */
static void ack(struct chainrun *r)
{
	char c = 'A';

	if (r->ack_wr >= 0 && write(r->ack_wr, &c, 1) != 1)
		fprintf(stderr, PROG " run: ack: %s\n", strerror(errno));
}

/* The sink has K packets and waits: kill the firewall, start another. */
static void restart_fw(struct chainrun *r)
{
	struct child *fw = current_fw(r);
	int e;

	if (fw->done || r->n_fw == MAX_FW) {
		ack(r);         /* finished already, or restarted already */
		return;
	}
	fw->killed_by_us = true;
	spawn_kill(fw);
	e = start_fw(r);
	ack(r);
	if (e < 0) {
		fprintf(stderr, PROG " run: restarting the firewall: %s\n", strerror(-e));
		r->failed = true;
		kill_all(r);
	}
}

static void exited(struct chainrun *r, struct child *ch)
{
	char st[48];

	spawn_reap(ch);
	if (!strcmp(ch->role, "gen") && --r->gens_left == 0 && r->end_wr >= 0) {
		close(r->end_wr);       /* a restarted firewall: none will come */
		r->end_wr = -1;
	}
	if (spawn_ok(ch) || r->failed)
		return;
	r->failed = true;
	fprintf(stderr, PROG " run: %s %u failed (%s): stopping the chain\n",
		ch->role, ch->idx, spawn_status_str(ch, st, sizeof(st)));
	kill_all(r);
}

/* Read the sink's notification; EOF: it exited (its pidfd says so too). */
static void notified(struct chainrun *r)
{
	char b;

	if (read(r->notify_rd, &b, 1) == 1) {
		restart_fw(r);
		return;
	}
	close(r->notify_rd);
	r->notify_rd = -1;
}

static int live_children(struct chainrun *r, struct child **who,
			 struct pollfd *p, int n)
{
	struct child *all[1 + MAX_FW + 64];
	unsigned k = 0;

	all[k++] = &r->sink;
	for (unsigned i = 0; i < r->n_fw; i++)
		all[k++] = &r->fw[i];
	for (unsigned i = 0; i < r->c->gens; i++)
		all[k++] = &r->gen[i];
	for (unsigned i = 0; i < k; i++) {
		if (all[i]->done)
			continue;
		who[n] = all[i];
		p[n++] = (struct pollfd){ .fd = all[i]->pidfd, .events = POLLIN };
	}
	return n;
}

/* Until every stage has exited. */
static void watch(struct chainrun *r)
{
	for (;;) {
		struct pollfd p[2 + MAX_FW + 64];
		struct child *who[2 + MAX_FW + 64];
		int n = 0, live;

		if (r->notify_rd >= 0) {
			who[n] = NULL;
			p[n++] = (struct pollfd){ .fd = r->notify_rd, .events = POLLIN };
		}
		live = live_children(r, who, p, n);
		if (live == n)
			return;
		if (poll(p, (nfds_t)live, -1) < 0)
			continue;       /* EINTR */
		for (int i = 0; i < live; i++) {
			if (!p[i].revents)
				continue;
			if (!who[i])
				notified(r);
			else if (!who[i]->done)
				exited(r, who[i]);
		}
	}
}

static int set_up(struct chainrun *r)
{
	const char *tmp = getenv("TMPDIR");
	int p[2];

	snprintf(r->dir, sizeof(r->dir), "%s/ivc-chain.XXXXXX",
		 tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(r->dir))
		return -errno;
	snprintf(r->up, sizeof(r->up), "shm:%s/fw", r->dir);
	snprintf(r->down, sizeof(r->down), "shm:%s/sink", r->dir);
	spawn_cleanup_paths(r->up + 4, r->down + 4, r->dir);
	r->notify_rd = r->ack_wr = r->end_rd = r->end_wr = -1;
	if (r->c->restart_after) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		r->end_rd = p[0];
		r->end_wr = p[1];
	}
	return 0;
}

static void clean_up(struct chainrun *r)
{
	char path[128];

	if (r->notify_rd >= 0)
		close(r->notify_rd);
	if (r->ack_wr >= 0)
		close(r->ack_wr);
	if (r->end_rd >= 0)
		close(r->end_rd);
	if (r->end_wr >= 0)
		close(r->end_wr);
	/* A killed firewall leaves its socket file behind. */
	snprintf(path, sizeof(path), "%s/fw", r->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sink", r->dir);
	unlink(path);
	rmdir(r->dir);
	spawn_cleanup_paths(NULL, NULL, NULL);
}

static void print_result(const struct chainrun *r, struct run_result *res)
{
	const char *s = r->sink.report;
	unsigned long long reconnects = 0;

	for (unsigned i = 0; i < r->c->gens; i++)
		reconnects += (unsigned long long)report_num(r->gen[i].report,
							     "reconnects", 0);
	res->mpps = report_num(s, "mpps", 0);
	res->ok = !r->failed && report_num(s, "ok", 0) == 1;
	if (r->c->restart_after && r->n_fw < 2) {
		printf("no restart happened: the sink never had %llu packets\n",
		       (unsigned long long)r->c->restart_after);
		res->ok = false;
	}
	if (!*s) {
		printf("the sink did not report (it was stopped)\nverdict: FAILED\n");
		fflush(stdout);
		return;
	}
	printf("delivered %.0f of %.0f, dropped by the firewall (blocked flows) %.0f,"
	       " lost %.0f\n", report_num(s, "delivered", 0),
	       report_num(s, "expected", 0), report_num(s, "blocked", 0),
	       report_num(s, "lost", 0));
	if (r->c->restart_after) {
		double lo = 0, hi = 0, lost = report_num(s, "lost", 0);

		for (unsigned i = 0; i < r->c->gens; i++) {
			lo += report_num(r->gen[i].report, "lost_min", 0);
			hi += report_num(r->gen[i].report, "lost_max", 0);
		}
		printf("firewall restarts: %u; generators reconnected %llu times;"
		       " lost %.0f, and the generators' in-flight counts at the"
		       " crash said %.0f..%.0f\n", r->n_fw - 1, reconnects, lost,
		       lo, hi);
		/* The library's counts must explain the loss exactly. */
		if (lost < lo || lost > hi) {
			printf("the loss is outside what ivc_tx_in_flight() and"
			       " ivc_tx_bufs_free() said\n");
			res->ok = false;
		}
	}
	if (r->c->time_copy) {
		const char *f = r->fw[r->n_fw - 1].report;
		double n = report_num(f, "forwarded", 0);

		res->copy_ns = n > 0 ? report_num(f, "copy_ns", 0) / n : 0;
		printf("firewall: %.1f ns per packet filling its downstream buffers"
		       " (copy %s; timed in the firewall)\n", res->copy_ns,
		       r->c->copy ? "on" : "off");
	}
	printf("rate: %.3f M packets/s at the sink (%.0f packets in %.6f s, first"
	       " to last)\n", res->mpps, report_num(s, "timed", 0),
	       report_num(s, "secs", 0));
	printf("verdict: %s\n", !res->ok ? "FAILED" :
	       !r->c->verify ? "count-exact (payload not verified)" :
	       report_num(s, "lost", 0) > 0 ? "ok (losses only at the crash)" :
	       "exact");
	fflush(stdout);
}

int run_once(const struct run_cfg *c, struct run_result *res)
{
	struct chainrun r;
	int e;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	r.c = c;
	r.gens_left = c->gens;
	e = set_up(&r);
	if (e < 0) {
		fprintf(stderr, PROG " run: %s\n", strerror(-e));
		return e;
	}
	spawn_watchdog(c->timeout_s + 10);
	e = start_sink(&r);
	if (!e)
		e = start_fw(&r);
	for (unsigned i = 0; !e && i < c->gens; i++)
		e = start_gen(&r, i);
	if (e < 0) {
		fprintf(stderr, PROG " run: starting the stages: %s\n", strerror(-e));
		r.failed = true;
		kill_all(&r);
	} else {
		watch(&r);
	}
	alarm(0);
	print_result(&r, res);
	clean_up(&r);
	return e;
}
