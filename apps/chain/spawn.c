/* SPDX-License-Identifier: MIT */
/* The orchestrator's processes (spawn.h). */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stage.h"

void argv_init(struct argv_b *a, const char *subcommand)
{
	a->n = 0;
	argv_add(a, "%s", PROG);
	argv_add(a, "%s", subcommand);
}

void argv_add(struct argv_b *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n == SPAWN_MAX_ARGS) {
		fprintf(stderr, PROG ": internal error: too many arguments\n");
		abort();
	}
	va_start(ap, fmt);
	vsnprintf(a->text[a->n], sizeof(a->text[a->n]), fmt, ap);
	va_end(ap);
	a->v[a->n] = a->text[a->n];
	a->v[++a->n] = NULL;
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* In the child: put each descriptor where the stage expects it. */
static void child_fds(const struct fd_map *maps, int nmaps)
{
	for (int i = 0; i < nmaps; i++) {
		if (maps[i].from == maps[i].to)
			fcntl(maps[i].to, F_SETFD, 0);
		else if (dup2(maps[i].from, maps[i].to) < 0)
			_exit(127);
	}
}

int spawn(struct child *c, const char *role, unsigned idx, struct argv_b *a,
	  const struct fd_map *maps, int nmaps)
{
	struct fd_map all[4];
	pid_t parent;
	int rep[2], r;

	memset(c, 0, sizeof(*c));
	c->role = role;
	c->idx = idx;
	c->pidfd = -1;
	if (nmaps > 3 || pipe2(rep, O_CLOEXEC) < 0)
		return -EINVAL;
	all[0] = (struct fd_map){ rep[1], SPAWN_REPORT_FD };
	if (nmaps)
		memcpy(all + 1, maps, (size_t)nmaps * sizeof(*maps));
	fflush(NULL);
	parent = getpid();
	c->pid = fork();
	if (c->pid < 0) {
		r = -errno;
		close(rep[0]);
		close(rep[1]);
		return r;
	}
	if (c->pid == 0) {
		/* A stage never outlives the run (its peers would wait for
		 * their watchdogs); the parent may have died already. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		child_fds(all, nmaps + 1);
		execv("/proc/self/exe", a->v);
		fprintf(stderr, PROG ": exec: %s\n", strerror(errno));
		_exit(127);
	}
	close(rep[1]);
	c->report_rd = rep[0];
	c->pidfd = pidfd_open(c->pid);
	if (c->pidfd < 0) {
		r = -errno;
		spawn_kill(c);
		return r;
	}
	spawn_watch(c, true);
	return 0;
}

static void read_report(struct child *c)
{
	size_t used = 0;
	ssize_t n;

	/* The child has exited: its end of the pipe is closed, so this
	 * reads what it wrote, then EOF. */
	while (used < sizeof(c->report) - 1 &&
	       (n = read(c->report_rd, c->report + used,
			 sizeof(c->report) - 1 - used)) > 0)
		used += (size_t)n;
	c->report[used] = '\0';
	close(c->report_rd);
	c->report_rd = -1;
}

void spawn_reap(struct child *c)
{
	while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
		;
	c->done = true;
	spawn_watch(c, false);
	close(c->pidfd);
	c->pidfd = -1;
	read_report(c);
}

void spawn_kill(struct child *c)
{
	if (c->done || c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	if (c->pidfd < 0) { /* spawn() failed after the fork */
		waitpid(c->pid, &c->status, 0);
		c->done = true;
		return;
	}
	spawn_reap(c);
}

const char *spawn_status_str(const struct child *c, char *buf, size_t size)
{
	if (WIFEXITED(c->status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(c->status));
	else
		snprintf(buf, size, "status 0x%x", (unsigned)c->status);
	return buf;
}

bool spawn_ok(const struct child *c)
{
	return c->done && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

/* ---- the watchdog ---- */

#define WATCH_MAX 80
static volatile pid_t g_watched[WATCH_MAX];

void spawn_watch(const struct child *c, bool on)
{
	for (int i = 0; i < WATCH_MAX; i++) {
		if (on ? g_watched[i] == 0 : g_watched[i] == c->pid) {
			g_watched[i] = on ? c->pid : 0;
			return;
		}
	}
}

/* What to remove if the run is cut short (the sockets, then the dir). */
static char g_paths[3][128];

void spawn_cleanup_paths(const char *fw, const char *sink, const char *dir)
{
	snprintf(g_paths[0], sizeof(g_paths[0]), "%s", fw ? fw : "");
	snprintf(g_paths[1], sizeof(g_paths[1]), "%s", sink ? sink : "");
	snprintf(g_paths[2], sizeof(g_paths[2]), "%s", dir ? dir : "");
}

/* The watchdog, or SIGINT/SIGTERM: kill every stage, remove the run's
 * directory, leave.  (Async-signal-safe calls only.) */
static void on_signal(int sig)
{
	static const char wd[] = PROG " run: watchdog: the chain did not finish"
				 " in time; killing every stage\n";
	static const char in[] = PROG " run: interrupted; killing every stage\n";
	ssize_t r;

	for (int i = 0; i < WATCH_MAX; i++)
		if (g_watched[i] > 0)
			kill(g_watched[i], SIGKILL);
	if (g_paths[0][0])
		unlink(g_paths[0]);
	if (g_paths[1][0])
		unlink(g_paths[1]);
	if (g_paths[2][0])
		rmdir(g_paths[2]);
	if (sig == SIGALRM)
		r = write(STDERR_FILENO, wd, sizeof(wd) - 1);
	else
		r = write(STDERR_FILENO, in, sizeof(in) - 1);
	(void)r;
	_exit(sig == SIGALRM ? EXIT_WATCHDOG : 128 + sig);
}

void spawn_watchdog(unsigned seconds)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	alarm(seconds);
}

double report_num(const char *report, const char *key, double def)
{
	size_t k = strlen(key);
	const char *p = report;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == report || p[-1] == ' ') && p[k] == '=')
			return strtod(p + k + 1, NULL);
		p += k;
	}
	return def;
}
