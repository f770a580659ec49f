/* SPDX-License-Identifier: MIT */
/*
 * pmd_hostile ADDR PID: the project's hostile peer (hostile.c) against the
 * net_ivc PMD inside a real dpdk-testpmd (process PID, listening on ADDR,
 * forwarding in io mode: every frame it receives goes back out).
 *
 * For each attack: connect, say the PMD's hello, exchange honest frames
 * (each echoed back and checked), tell the lie, hang up; testpmd must still
 * be alive.  At the end an honest peer must get a stream of frames echoed
 * back intact: the PMD took every poisoned channel down and came back up.
 * pmd_hostile.sh starts testpmd, runs this, and checks that testpmd then
 * exits cleanly.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ivc/ivc.h>

#include "check.h"
#include "hostile.h"

/* The PMD's hello (src/dpdk/nivc_ctl.c): a wire format, so written out. */
struct pmd_hello {
	uint32_t magic;
	uint16_t version, qid, nb_qp, reserved;
	uint32_t reserved2;
};
struct pmd_ack {
	uint32_t magic;
	int32_t status;
};
#define PMD_MAGIC 0x4e495643u

#define WARMUP 64u
#define FINAL 5000u

static const struct {
	enum h_attack a;
	const char *name;
	int optional; /* may not apply to the PMD's geometry */
} attacks[] = {
	{ H_SEQ_AHEAD, "stamp ahead", 0 },
	{ H_SEQ_BEHIND, "stamp behind", 0 },
	{ H_BUF_OOB, "buffer index out of range", 0 },
	{ H_BUF_MAX, "buffer index 0xffffffff", 0 },
	{ H_LEN_OVER, "length over the buffer", 0 },
	{ H_LEN_WRAP, "length that wraps", 0 },
	{ H_FLAGS, "unknown flags", 0 },
	{ H_CHAIN_ENDLESS, "endless chain", 0 },
	{ H_BUF_TWICE, "held buffer lent again", 1 },
	{ H_DESC_FLAP, "descriptor changes under read", 0 },
	{ H_HDR_OWN, "header geometry changed", 0 },
	{ H_HDR_START, "header idx_start changed", 0 },
	{ H_HDR_VICTIM, "victim's header changed", 0 },
	{ H_RANDOM_OWN, "random bytes over its lane", 0 },
	{ H_RANDOM_ALL, "random bytes, both lanes", 0 },
	{ H_CPU_GARBAGE, "nonsense cpu hint", 0 },
	{ H_BELL_FLOOD, "doorbell flood", 0 },
	{ H_SLEEP_FLOOD, "sleep-flag churn", 0 },
	{ H_CONS_AHEAD, "desc_cons ahead", 0 },
	{ H_CONS_BEHIND, "desc_cons laps behind", 0 },
	{ H_CONS_FLAP, "desc_cons changing", 0 },
	{ H_RET_AHEAD, "more returned than lent", 1 },
	{ H_RET_TWICE, "buffer returned twice", 1 },
	{ H_RET_NEVER, "return of a never-lent buffer", 1 },
	{ H_RET_OOB, "return index out of range", 1 },
	{ H_RET_FLAP, "return ring changing", 1 },
	{ H_CTRL_BYTES, "control: 48 bytes after", 0 },
	{ H_CTRL_FDS, "control: 3 fds after", 0 },
	{ H_CTRL_FD_FLOOD, "control: fd flood", 0 },
	{ H_CTRL_HALFCLOSE, "control: half-close", 0 },
	{ H_BELL_BLOCK, "doorbells blocking and full", 0 },
	{ H_CLOSED_FLAP, "closed flag set and cleared", 0 },
	{ H_CTRL_EMPTY, "control: a 0-byte record", 0 },
	{ H_PUNCH, "holes punched in both lanes", 0 },
};

static pid_t victim;

static int victim_alive(void)
{
	char path[64], st[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)victim);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(st, 1, sizeof(st) - 1, f);
	fclose(f);
	st[n] = '\0';
	p = strrchr(st, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* The PMD closed the channel (or found it broken and dropped it). */
static int peer_gone(struct ivc_channel *ch)
{
	int r = ivc_ready(ch, IVC_EV_TX);

	return r == -EPIPE || r == -ECONNRESET || r == -EPROTO;
}

/* Connect and be accepted as queue pair 0; the PMD may still be starting. */
static struct ivc_channel *pmd_connect(const char *addr)
{
	struct pmd_hello h = { .magic = PMD_MAGIC, .version = 1, .qid = 0, .nb_qp = 1 };
	struct pmd_ack ack;
	struct ivc_options o;
	struct ivc_channel *ch = NULL;
	uint64_t end = t_now_ns() + 60000000000ull;
	ssize_t n;

	ivc_options_init(&o);
	o.tx = (struct ivc_geometry){ 16, 256, 32 };
	while (t_now_ns() < end && victim_alive()) {
		if (ivc_connect(addr, &o, 1000, &ch) != 0) {
			struct timespec ts = { 0, 20000000 }; /* polling for a listener */
			nanosleep(&ts, NULL);
			continue;
		}
		n = ivc_send(ch, &h, sizeof(h), 5000) == 0 ?
			    ivc_recv(ch, &ack, sizeof(ack), 5000) : -EPIPE;
		if (n == (ssize_t)sizeof(ack) && ack.magic == PMD_MAGIC && ack.status == 0)
			return ch;
		fprintf(stderr, "pmd_hostile: hello refused (%zd, %d)\n", n,
			n == (ssize_t)sizeof(ack) ? ack.status : 0);
		ivc_close(ch);
		ch = NULL;
	}
	return NULL;
}

/*
 * Send @count honest frames and check each comes back.  Return: frames
 * echoed intact (the echo of frame k is frame k: one queue, in order).
 */
static uint64_t echo(struct ivc_channel *ch, struct h_shared *sh, uint64_t count)
{
	unsigned char m[4096], scratch[4096];
	uint64_t got = 0, first = atomic_load(&sh->honest);
	uint64_t end = t_now_ns() + 30000000000ull;
	ssize_t n;

	while (got < count && t_now_ns() < end) {
		if (atomic_load(&sh->honest) - first < count &&
		    atomic_load(&sh->honest) - first - got < 16)
			(void)hostile_honest(ch, sh, 0);
		n = ivc_recv(ch, m, sizeof(m), 1);
		if (n == -ETIMEDOUT || n == -EAGAIN)
			continue;
		if (n < 0) {
			fprintf(stderr, "pmd_hostile: echo %llu: %s\n",
				(unsigned long long)got, t_errname(n));
			break;
		}
		if (t_msg_verify(H_SEED_TO_VICTIM, first + got, H_MSG_MAX, m,
				 (size_t)n, scratch) != NULL) {
			fprintf(stderr, "pmd_hostile: echo %llu is not what was sent\n",
				(unsigned long long)got);
			break;
		}
		got++;
	}
	return got;
}

static void one_attack(const char *addr, size_t i)
{
	struct h_shared sh;
	struct ivc_channel *ch;

	memset(&sh, 0, sizeof(sh));
	ch = pmd_connect(addr);
	REQUIRE(ch != NULL);
	if (echo(ch, &sh, WARMUP) != WARMUP) {
		printf("pmd_hostile: %-32s warm-up echo failed\n", attacks[i].name);
		CHECK(!"the warm-up frames came back");
	}
	if (hostile_attack(ch, attacks[i].a, &sh, 0x5eed + i) == 0) {
		printf("pmd_hostile: %-32s testpmd %s\n", attacks[i].name,
		       victim_alive() ? "survived" : "DIED");
	} else if (peer_gone(ch)) {
		/* The attack waits for room the victim no longer makes: it
		 * caught the lie and hung up (the victim of test_hostile says
		 * so through shared memory; testpmd cannot). */
		printf("pmd_hostile: %-32s caught: the PMD hung up\n", attacks[i].name);
	} else if (attacks[i].optional) {
		printf("pmd_hostile: %-32s does not apply to this geometry\n",
		       attacks[i].name);
	} else {
		printf("pmd_hostile: %-32s could not be carried out\n", attacks[i].name);
		CHECK(!"the attack could be carried out");
	}
	atomic_store(&sh.stop, 1);
	ivc_close(ch);
	REQUIRE(victim_alive());
}

int main(int argc, char **argv)
{
	struct h_shared sh;
	struct ivc_channel *ch;
	size_t i;

	t_init("pmd_hostile", 600);
	if (argc != 3) {
		fprintf(stderr, "usage: pmd_hostile ADDR TESTPMD_PID\n");
		return 2;
	}
	victim = (pid_t)atoi(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		one_attack(argv[1], i);
	/* The PMD is still a working port: an honest stream, echoed intact. */
	memset(&sh, 0, sizeof(sh));
	ch = pmd_connect(argv[1]);
	REQUIRE(ch != NULL);
	CHECK_EQ(echo(ch, &sh, FINAL), FINAL);
	ivc_close(ch);
	CHECK(victim_alive());
	return t_finish();
}
