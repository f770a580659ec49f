/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - the orchestrator's processes: each stage is this same program
 * run again (/proc/self/exe) with a subcommand, so every stage is a
 * separate process with its own address space, as in a real chain.
 *
 * Each child gets a report pipe (its key=value result line) at
 * SPAWN_REPORT_FD, and may get more descriptors mapped to fixed numbers.
 * Exits are watched through pidfds, so the orchestrator waits for
 * "a child exited or the sink wrote" in one poll(), never by sleeping.
 */
#ifndef IVC_CHAIN_SPAWN_H
#define IVC_CHAIN_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

/* Descriptor numbers in the children. */
#define SPAWN_REPORT_FD 100
#define SPAWN_NOTIFY_FD 101
#define SPAWN_END_FD 102
#define SPAWN_ACK_FD 103

#define SPAWN_MAX_ARGS 48

/* An argument vector under construction. */
struct argv_b {
	char *v[SPAWN_MAX_ARGS + 1];
	char text[SPAWN_MAX_ARGS][128];
	int n;
};

void argv_init(struct argv_b *a, const char *subcommand);
void argv_add(struct argv_b *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct child {
	const char *role;       /* "gen", "fw", "sink" */
	unsigned idx;
	pid_t pid;
	int pidfd;
	int report_rd;
	bool done;
	bool killed_by_us;      /* the restart */
	int status;             /* wait status once done */
	char report[512];
};

/* A descriptor to hand over: the parent's @from becomes @to. */
struct fd_map {
	int from, to;
};

/*
 * spawn() - fork and exec this program with @a; its report pipe and
 * @maps are set up.  Return: 0, or -errno.
 */
int spawn(struct child *c, const char *role, unsigned idx, struct argv_b *a,
	  const struct fd_map *maps, int nmaps);

/* After the pidfd polled readable: reap it, read its report. */
void spawn_reap(struct child *c);

/* Kill (SIGKILL) and reap now. */
void spawn_kill(struct child *c);

/* "exit 0", "exit 1", "killed by signal 9". */
const char *spawn_status_str(const struct child *c, char *buf, size_t size);
bool spawn_ok(const struct child *c);

/* The watchdog of the whole run: after @seconds (or at SIGINT/SIGTERM)
 * every child still registered (spawn_watch) is killed, the paths of
 * spawn_cleanup_paths() are removed, and the run exits (3 for the
 * watchdog). */
void spawn_watchdog(unsigned seconds);
void spawn_cleanup_paths(const char *fw, const char *sink, const char *dir);
void spawn_watch(const struct child *c, bool on);

/* Value of "key=" in a report line, or @def. */
double report_num(const char *report, const char *key, double def);

#endif
