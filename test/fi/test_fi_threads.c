/* SPDX-License-Identifier: MIT */
/*
 * test_fi_threads.c - the provider "ivc" (src/fi/) under FI_THREAD_SAFE:
 * what mpi4py and every MPI_THREAD_MULTIPLE program make Open MPI ask for.
 *
 * First fi_getinfo(): each threading level hinted is met and reported back
 * as asked (FI_THREAD_DOMAIN stays the lock-free path), none hinted gives
 * FI_THREAD_DOMAIN.  Then four threads share two endpoints of one domain
 * and one CQ bound to both: each thread sends N tagged messages with a tag
 * range of its own from one endpoint to the other, posts the receives for
 * them, and reads whatever completions the shared CQ has - its own or
 * another thread's - half of them with fi_cq_read, half with fi_cq_sread
 * (which sleeps with the domain's lock let go).  Every message must
 * complete exactly once on each side, with its length, tag and bytes.
 * Built with TSan (IVC_SANITIZE=thread) this is the provider's race check.
 *
 * Nothing waits by sleeping: progress is what the threads' CQ reads drive,
 * bounded by a deadline that only catches a hang.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "check.h"
#include "fi_testutil.h"

#define N_THREADS 4
#ifdef IVC_TEST_SANITIZE
#define N_MSGS 1000 /* per thread: sanitized runs are slower */
#else
#define N_MSGS 2000
#endif
#define NAME_MAX_LEN 256
#define CQ_BATCH 16
/* Every BIG_EVERY-th message is larger than a fragment (fi_pvt.h,
 * IVCFI_FRAG_MAX), so fragments of one message follow each other while
 * other threads queue sends on the same channel. */
#define BIG_EVERY 250
#define BIG_LEN (80u << 10)

enum op_kind { OP_SEND, OP_RECV };

/* A completion's context: which message, which side. */
struct op {
	enum op_kind kind;
	int thread, idx;
};

struct msg {
	struct op send_op, recv_op;
	unsigned char *tx, *rx;
	size_t len;
	unsigned sends_done, recvs_done; /* atomic: any thread may count */
};

static struct fi_info *info;
static struct fid_fabric *fabric;
static struct fid_domain *domain;
static struct fid_av *av;
static struct fid_cq *cq;
static struct fid_ep *eps[2];
static fi_addr_t addrs[2];
static struct msg msgs[N_THREADS][N_MSGS];
static unsigned total_sends, total_recvs; /* atomic */
static long long deadline_ms;

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t tag_of(int t, int i)
{
	return ((uint64_t)(t + 1) << 32) | (uint64_t)i;
}

static size_t len_of(int t, int i)
{
	if (i % BIG_EVERY == BIG_EVERY - 1)
		return BIG_LEN + (size_t)t;
	return 1 + (size_t)(i * 37 + t * 11) % 2048;
}

static unsigned char byte_of(int t, int i, size_t k)
{
	return (unsigned char)(k * 131 + (size_t)i * 7 + (size_t)t * 29 + (k >> 9));
}

/* ---- fi_getinfo() and the threading levels ------------------------------ */

static struct fi_info *hints_for(enum fi_threading t)
{
	struct fi_info *h = fi_allocinfo();

	REQUIRE(h != NULL);
	h->fabric_attr->prov_name = strdup("ivc");
	h->ep_attr->type = FI_EP_RDM;
	h->caps = FI_TAGGED | FI_MSG;
	h->domain_attr->threading = t;
	return h;
}

/* The level reported for hint @t, or -1 if refused. */
static int level_for(enum fi_threading t)
{
	struct fi_info *h = hints_for(t), *fi = NULL;
	int level = -1;

	if (fi_getinfo(FI_VERSION(1, 17), NULL, NULL, 0, h, &fi) == 0 && fi) {
		level = fi->domain_attr->threading;
		fi_freeinfo(fi);
	}
	fi_freeinfo(h);
	return level;
}

static void test_levels(void)
{
	static const enum fi_threading asked[] = {
		FI_THREAD_SAFE, FI_THREAD_FID, FI_THREAD_ENDPOINT,
		FI_THREAD_COMPLETION, FI_THREAD_DOMAIN,
	};

	for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++)
		CHECK_EQ(level_for(asked[i]), asked[i]);
	CHECK_EQ(level_for(FI_THREAD_UNSPEC), FI_THREAD_DOMAIN);
}

/* ---- set-up ------------------------------------------------------------- */

static void open_all(void)
{
	struct fi_info *h = hints_for(FI_THREAD_SAFE);

	h->caps |= FI_DIRECTED_RECV;
	REQUIRE_OK(fi_getinfo(FI_VERSION(1, 17), NULL, NULL, 0, h, &info));
	fi_freeinfo(h);
	REQUIRE(info && !strcmp(info->fabric_attr->prov_name, "ivc"));
	REQUIRE_EQ(info->domain_attr->threading, FI_THREAD_SAFE);
	REQUIRE_OK(fi_fabric(info->fabric_attr, &fabric, NULL));
	REQUIRE_OK(fi_domain(fabric, info, &domain, NULL));
	struct fi_av_attr aa = { .type = FI_AV_TABLE };
	REQUIRE_OK(fi_av_open(domain, &aa, &av, NULL));
	struct fi_cq_attr ca = { .format = FI_CQ_FORMAT_TAGGED, .wait_obj = FI_WAIT_NONE };
	REQUIRE_OK(fi_cq_open(domain, &ca, &cq, NULL));
	for (int i = 0; i < 2; i++) {
		char name[NAME_MAX_LEN];
		size_t len = sizeof(name);
		REQUIRE_OK(fi_endpoint(domain, info, &eps[i], NULL));
		REQUIRE_OK(fi_ep_bind(eps[i], &av->fid, 0));
		REQUIRE_OK(fi_ep_bind(eps[i], &cq->fid, FI_TRANSMIT | FI_RECV));
		REQUIRE_OK(fi_enable(eps[i]));
		REQUIRE_OK(fi_getname(&eps[i]->fid, name, &len));
		REQUIRE_EQ(fi_av_insert(av, name, 1, &addrs[i], 0, NULL), 1);
	}
}

static void make_msgs(void)
{
	for (int t = 0; t < N_THREADS; t++) {
		for (int i = 0; i < N_MSGS; i++) {
			struct msg *m = &msgs[t][i];
			m->len = len_of(t, i);
			m->tx = malloc(m->len);
			m->rx = malloc(m->len);
			REQUIRE(m->tx && m->rx);
			for (size_t k = 0; k < m->len; k++)
				m->tx[k] = byte_of(t, i, k);
			memset(m->rx, 0, m->len);
			m->send_op = (struct op){ OP_SEND, t, i };
			m->recv_op = (struct op){ OP_RECV, t, i };
		}
	}
}

static void close_all(void)
{
	for (int i = 0; i < 2; i++)
		CHECK_OK(fi_close(&eps[i]->fid));
	CHECK_OK(fi_close(&cq->fid));
	CHECK_OK(fi_close(&av->fid));
	CHECK_OK(fi_close(&domain->fid));
	CHECK_OK(fi_close(&fabric->fid));
	fi_freeinfo(info);
	for (int t = 0; t < N_THREADS; t++) {
		for (int i = 0; i < N_MSGS; i++) {
			free(msgs[t][i].tx);
			free(msgs[t][i].rx);
		}
	}
}

/* ---- the threads -------------------------------------------------------- */

/* One completion, whoever's it is: count it and check it. */
static void account(const struct fi_cq_tagged_entry *e)
{
	const struct op *op = e->op_context;

	REQUIRE(op != NULL);
	struct msg *m = &msgs[op->thread][op->idx];
	if (op->kind == OP_SEND) {
		CHECK(e->flags & FI_SEND);
		CHECK_EQ(__atomic_add_fetch(&m->sends_done, 1, __ATOMIC_RELAXED), 1);
		__atomic_add_fetch(&total_sends, 1, __ATOMIC_RELAXED);
		return;
	}
	CHECK(e->flags & FI_RECV);
	CHECK_EQ(e->len, m->len);
	CHECK_EQ(e->tag, tag_of(op->thread, op->idx));
	CHECK(!memcmp(m->rx, m->tx, m->len));
	CHECK_EQ(__atomic_add_fetch(&m->recvs_done, 1, __ATOMIC_RELAXED), 1);
	__atomic_add_fetch(&total_recvs, 1, __ATOMIC_RELAXED);
}

/* Read what the shared CQ has (driving progress); false on an error. */
static bool reap(bool blocking)
{
	struct fi_cq_tagged_entry e[CQ_BATCH];
	ssize_t n = blocking ? fi_cq_sread(cq, e, CQ_BATCH, NULL, 5)
			     : fi_cq_read(cq, e, CQ_BATCH);

	if (n == -FI_EAGAIN)
		return true;
	if (n < 0) {
		struct fi_cq_err_entry err = {0};
		if (n == -FI_EAVAIL && fi_cq_readerr(cq, &err, 0) == 1)
			t_fail(__FILE__, __LINE__, "CQ error %d (%s)", err.err,
			       fi_strerror(err.err));
		else
			t_fail(__FILE__, __LINE__, "fi_cq_read: %zd", n);
		return false;
	}
	for (ssize_t k = 0; k < n; k++)
		account(&e[k]);
	return true;
}

/* Retry @post while the endpoint's queues are full, reaping meanwhile. */
#define POST(post, blocking)                                                 \
	do {                                                                 \
		ssize_t r_;                                                  \
		while ((r_ = (post)) == -FI_EAGAIN && now_ms() < deadline_ms) \
			if (!reap(blocking))                                 \
				return NULL;                                 \
		if (r_ < 0) {                                                \
			t_fail(__FILE__, __LINE__, "%s: %zd", #post, r_);    \
			return NULL;                                         \
		}                                                            \
	} while (0)

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	bool blocking = t >= N_THREADS / 2;
	struct fid_ep *from = eps[t % 2], *to = eps[(t + 1) % 2];
	fi_addr_t src = addrs[t % 2], dest = addrs[(t + 1) % 2];

	for (int i = 0; i < N_MSGS; i++) {
		struct msg *m = &msgs[t][i];
		/* Half the receives are posted after their send: those
		 * messages may arrive unexpected. */
		bool recv_first = i % 2 == 0;
		if (recv_first)
			POST(fi_trecv(to, m->rx, m->len, NULL, src, tag_of(t, i), 0,
				      &m->recv_op), blocking);
		POST(fi_tsend(from, m->tx, m->len, NULL, dest, tag_of(t, i),
			      &m->send_op), blocking);
		if (!recv_first)
			POST(fi_trecv(to, m->rx, m->len, NULL, src, tag_of(t, i), 0,
				      &m->recv_op), blocking);
		if (!reap(blocking))
			return NULL;
	}
	const unsigned all = N_THREADS * N_MSGS;
	while (__atomic_load_n(&total_sends, __ATOMIC_RELAXED) < all ||
	       __atomic_load_n(&total_recvs, __ATOMIC_RELAXED) < all) {
		if (now_ms() > deadline_ms) {
			t_fail(__FILE__, __LINE__, "thread %d: timed out", t);
			return NULL;
		}
		if (!reap(blocking))
			return NULL;
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[N_THREADS];

	open_all();
	make_msgs();
	deadline_ms = now_ms() + t_scaled_ms(120000);
	for (int t = 0; t < N_THREADS; t++)
		REQUIRE_EQ(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t), 0);
	for (int t = 0; t < N_THREADS; t++)
		pthread_join(th[t], NULL);
	CHECK_EQ(total_sends, N_THREADS * N_MSGS);
	CHECK_EQ(total_recvs, N_THREADS * N_MSGS);
	/* Nothing left over: no duplicate, no stray error. */
	struct fi_cq_tagged_entry e;
	CHECK_EQ(fi_cq_read(cq, &e, 1), -FI_EAGAIN);
	close_all();
}

int main(void)
{
	fit_init("test_fi_threads", 240);
	test_levels();
	test_threads();
	return t_finish();
}
