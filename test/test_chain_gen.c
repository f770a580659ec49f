/* SPDX-License-Identifier: MIT */
/*
 * test_chain_gen - the service chain's generator (apps/chain/gen.c) with
 * --reconnect, when the firewall it connects to is killed with the
 * generator's connection still pending in its backlog.  ivc_connect() then
 * reports -ECONNREFUSED (the listener never took us, issue 13); a generator
 * that starts late or reconnects meets exactly that while the orchestrator
 * restarts the firewall (chain_restart_poller failed so, about one run in
 * fifteen).  The generator must connect again, to the next firewall, and
 * deliver everything.
 *
 * No sleeps: the doomed listener kills itself once poll() on its listener
 * fd says our connection is pending; the next one listens only after the
 * first is reaped.
 */
#include "check.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivc/ivc.h>

#define WAIT_MS 20000
#define PACKETS 100
#define PKT_SIZE 64

/* Listen, tell the parent, and die by SIGKILL once a connection is
 * pending, never having accepted it. */
static _Noreturn void doomed_listener(const char *addr, struct t_sem *up)
{
	(void)t_listen_until_pending(addr, up, WAIT_MS);
	raise(SIGKILL);
	t_child_exit();
}

static pid_t start_gen(const char *chain, const char *addr)
{
	pid_t pid = t_fork();

	if (pid == 0) {
		char count[16], size[16];

		snprintf(count, sizeof(count), "%d", PACKETS);
		snprintf(size, sizeof(size), "%d", PKT_SIZE);
		execl(chain, chain, "gen", "--connect", addr, "--reconnect",
		      "--count", count, "--size", size, "--timeout", "60",
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The next firewall: take the generator, count its packets to the end. */
static void serve(const char *addr)
{
	struct ivc_listener *l = NULL;
	struct ivc_channel *ch = NULL;
	char buf[2048];
	unsigned got = 0;
	ssize_t n;

	REQUIRE_OK(ivc_listen(addr, NULL, &l));
	REQUIRE_OK(ivc_accept(l, WAIT_MS, &ch));
	while ((n = ivc_recv(ch, buf, sizeof(buf), WAIT_MS)) >= 0) {
		CHECK_EQ(n, PKT_SIZE);
		got++;
	}
	printf("   the next firewall got %u packets, then %s\n", got,
	       t_retname(n));
	CHECK_EQ(got, PACKETS);
	CHECK_ERR(n, -EPIPE);
	ivc_close(ch);
	ivc_listener_close(l);
}

int main(void)
{
	const char *chain = getenv("IVC_CHAIN");
	struct t_sem up;
	char addr[108];

	t_init("test_chain_gen", 120);
	if (!chain) {
		printf("test_chain_gen: IVC_CHAIN (ivc-chain's path) not set\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	t_addr(addr, sizeof(addr), "chain-gen");
	REQUIRE_OK(t_sem_init(&up));
	pid_t doomed = t_fork();
	if (doomed == 0)
		doomed_listener(addr, &up);
	REQUIRE_EQ(t_sem_wait(&up, WAIT_MS), 0);
	pid_t gen = start_gen(chain, addr);
	int st = t_wait_child(doomed, WAIT_MS);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	printf("   a firewall killed with the generator's connection pending\n");
	serve(addr);
	st = t_wait_child(gen, WAIT_MS);
	printf("   the generator: %s\n", t_status_str(st));
	CHECK_CHILD_OK(st);
	t_sem_destroy(&up);
	return t_finish();
}
