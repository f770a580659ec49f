/* SPDX-License-Identifier: MIT */
/*
 * fi/fi_pvt.h - what the files of the libfabric provider "ivc" share: its
 * objects, the wire format inside a channel, and the calls between files.
 *
 * The provider is built on libfabric's public headers and ivc's public API
 * only (docs/design.md, "Layers as built"); one header for the whole folder
 * keeps its include graph a star (test/arch/include_graph.sh), since the
 * completion queue drives endpoint progress and the endpoint writes
 * completions.
 *
 * Threading: any level up to FI_THREAD_SAFE.  A domain opened for
 * FI_THREAD_DOMAIN (or unspecified) trusts the application to serialise
 * its calls and locks nothing; any other level makes every entry point on
 * the domain and below take the domain's one mutex (ivcfi_lock()), so
 * progress, matching and the CQs see one caller at a time.  One lock and
 * not one per object: a CQ read drives progress on every endpoint bound
 * to it, and progress writes to every CQ, so finer locks would nest.
 * Entry points take it once and call only unlocked internals; a blocking
 * CQ read drops it while it sleeps (fi_cq_wait.c).  The other threads are
 * each endpoint's acceptor (fi_accept.c), which shares nothing but its own
 * locked hand-over list.
 */
#ifndef IVC_FI_PVT_H
#define IVC_FI_PVT_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>
#include <rdma/providers/fi_prov.h>

#include <ivc/ivc.h>

/* ---- identity and limits -------------------------------------------- */

#define IVCFI_PROV_NAME "ivc"
#define IVCFI_PROV_VERSION FI_VERSION(0, 1)
#define IVCFI_API_VERSION FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION)

/* Queued (not yet written) sends and posted receives per endpoint. */
#define IVCFI_TX_SIZE 1024u
#define IVCFI_RX_SIZE 1024u
#define IVCFI_IOV_LIMIT 4u
#define IVCFI_INJECT_SIZE 4096u
/* Messages are fragmented, so the limit is only what a length may say. */
#define IVCFI_MAX_MSG_SIZE (1ull << 30)
#define IVCFI_CQ_DATA_SIZE 8u
/* Unexpected bytes buffered per inbound channel before we stop reading it
 * (the sender then waits in ivc: back-pressure instead of memory). */
#define IVCFI_UNEXP_MAX (4u << 20)
/* Payload bytes per fragment: small enough for the receiver to release
 * buffers while the sender fills the next one. */
#define IVCFI_FRAG_MAX (64u << 10)
/* Most ivc buffers one fragment's chain may take. */
#define IVCFI_CHAIN_MAX 64u
/* Rendezvous (fi_rdv.c): messages from this size on, over shm, may be
 * read by the receiver straight from the sender's memory (IVC_FI_RDV_MIN
 * overrides). */
#define IVCFI_RDV_MIN_DEFAULT (16u << 10)
/* How long a first send waits for the peer's channel (IVC_FI_CONNECT_MS):
 * a living peer's acceptor answers at once; a Xen guest's table entry
 * may take a moment (fi_tx.c). */
#define IVCFI_CONNECT_MS_DEFAULT 10000
/* Progress calls into the tcp channels we send on once per this many
 * rounds (fi_progress.c). */
#define IVCFI_WIRE_EVERY 16u
/* When (IVC_FI_RDV): never, only while the channel is busy, or whenever
 * the size allows (the default). */
enum ivcfi_rdv_mode { IVCFI_RDV_OFF, IVCFI_RDV_AUTO, IVCFI_RDV_ALWAYS };
/* Answers to rendezvous queued for one peer before we stop reading the
 * channel that asks for more (back-pressure, as for unexpected bytes). */
#define IVCFI_ACK_MAX 1024u

/* ---- the endpoint's name (fi_getname, fi_av_insert) ------------------- */

#define IVCFI_NAME_MAGIC 0x49564346u /* "IVCF" */
/* Version 2 reads IVCFI_OP_SHORT; a version-1 name is still accepted, and
 * its endpoint is sent only the long headers it reads. */
#define IVCFI_NAME_VERSION 2u
#define IVCFI_NAME_VERSION_MIN 1u
#define IVCFI_ADDR_MAX 56u

/* Fixed size, so an address vector entry is a plain array element. */
struct ivcfi_name {
	uint32_t magic;
	uint32_t version;
	char addr[IVCFI_ADDR_MAX]; /* an ivc address, NUL-terminated */
};

/* Make up a name for a new endpoint (fi_name.c): 0, or -EINVAL (a bad
 * IVC_FI_HOST). */
int ivcfi_name_make(struct ivcfi_name *n);

/* ---- wire format inside a channel ---------------------------------- */

enum ivcfi_op {
	IVCFI_OP_HELLO = 1,  /* first message: the connector's name */
	IVCFI_OP_MSG = 2,    /* first fragment of an untagged message */
	IVCFI_OP_TAGGED = 3, /* first fragment of a tagged message */
	IVCFI_OP_CONT = 4,   /* a later fragment */
	IVCFI_OP_RTS = 5,    /* a message to read from the sender's memory */
	IVCFI_OP_ACK = 6,    /* receiver to sender: a rendezvous is over */
	IVCFI_OP_RDATA = 7,  /* first fragment of a rendezvous sent inline */
	IVCFI_OP_SHORT = 8,  /* a whole message in one buffer, short header */
};

#define IVCFI_HF_DATA 0x1u   /* the message carries remote CQ data */
#define IVCFI_HF_TAGGED 0x2u /* RTS, SHORT: of a tagged message */
#define IVCFI_HF_DATA64 0x4u /* SHORT: 8 bytes of remote CQ data follow */

/* At the start of the first buffer of every chain (one chain = one ivc
 * message = one fragment).  A continuation uses the first 16 bytes. */
struct ivcfi_hdr {
	uint8_t op;
	uint8_t flags;
	uint16_t reserved;
	uint32_t frag_len;  /* payload bytes in this chain after the header */
	uint64_t msg_id;
	uint64_t tag;
	uint64_t data;
	uint64_t total_len;
};
#define IVCFI_CONT_HDR_LEN 16u

/* The first message on a channel: the connector's name, behind a header
 * that says only IVCFI_OP_HELLO and the name's length. */
struct ivcfi_hello {
	struct ivcfi_hdr h;
	struct ivcfi_name n;
};

static inline void ivcfi_hello_make(struct ivcfi_hello *m, const struct ivcfi_name *n)
{
	memset(m, 0, sizeof(*m));
	m->h.op = IVCFI_OP_HELLO;
	m->h.frag_len = sizeof(m->n);
	m->h.total_len = sizeof(m->n);
	m->n = *n;
}

/*
 * A message that fits one buffer, to a peer whose name is version 2 or
 * later: 16 bytes instead of 40, so that with ivc's 16-byte descriptor up
 * to 32 bytes of payload travel in the descriptor's first cache line (the
 * provider's lanes send inline).  Its length is the buffer's, less the
 * header.  Remote CQ data that fits 32 bits rides in @data; wider data
 * sets IVCFI_HF_DATA64 and follows the header as 8 more bytes.
 */
struct ivcfi_short {
	uint8_t op;
	uint8_t flags;
	uint16_t reserved;
	uint32_t data;
	uint64_t tag;
};

/*
 * After the header of an RTS chain (one buffer, frag_len 0): where the
 * payload lies in the sender's address space.  The receiver reads it with
 * process_vm_readv() from the process the kernel says is at the other end
 * of the channel (SO_PEERCRED), never from a process the message names,
 * then answers with an ACK: header.msg_id names the message, header.data
 * says how it went (0: read, or dropped by FI_DISCARD; IVCFI_ACK_INLINE:
 * this receiver cannot read the sender's memory, send the payload as
 * RDATA fragments; else an errno: the receive failed).
 */
struct ivcfi_rts {
	uint32_t iov_count;
	uint32_t reserved;
	struct {
		uint64_t addr, len;
	} iov[IVCFI_IOV_LIMIT];
};
#define IVCFI_ACK_INLINE 0xffffffffu

/* An ACK chain carries any number of these after its header. */
struct ivcfi_ack {
	uint64_t msg_id;
	uint64_t status;
};

/* ---- an intrusive doubly linked list -------------------------------- */

struct ivcfi_list {
	struct ivcfi_list *prev, *next;
};

/* How long a blocking read or fi_wait() spins on progress before it
 * sleeps, as ivc's own adaptive default: a reply often comes within
 * microseconds. */
#define IVCFI_SPIN_NS 50000L
/* Descriptors a sleep's array has room for at first; it grows to all. */
#define IVCFI_WAIT_FDS0 64
/* IVC_FI_IDLE_MS (fi_cq_idle.c): how long one dozing fi_cq_read() sleeps
 * at most, so that whatever else the caller polls between reads waits no
 * longer; the empty reads between two looks at the coarse clock; the
 * mean gap between reads at most, over the whole idle spell, of a caller
 * that only spins on the CQ (one that works between its reads is never
 * made to doze); and the longest gap once dozing.  That one is larger:
 * Open MPI's progress loop runs its event loop now and then, 5-20 us
 * between two reads, which would otherwise end the dozing every few
 * milliseconds (measured: an idle rank then spent 45% of its time
 * spinning, against 3%). */
#define IVCFI_DOZE_MS 1
#define IVCFI_IDLE_EVERY 256u
#define IVCFI_IDLE_GAP_NS 5000u
#define IVCFI_DOZE_GAP_NS 50000u

/* Nanoseconds since @t0 (CLOCK_MONOTONIC). */
static inline long ivcfi_elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Milliseconds left of @timeout since @t0 (CLOCK_MONOTONIC): -1 for ever
 * (a negative @timeout), 0 none left. */
static inline int ivcfi_ms_left(const struct timespec *t0, int timeout)
{
	struct timespec t;
	long ms;

	if (timeout < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t);
	ms = (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
	return ms >= timeout ? 0 : (int)(timeout - ms);
}

static inline void ivcfi_list_init(struct ivcfi_list *l)
{
	l->prev = l->next = l;
}

static inline bool ivcfi_list_empty(const struct ivcfi_list *l)
{
	return l->next == l;
}

static inline void ivcfi_list_append(struct ivcfi_list *l, struct ivcfi_list *e)
{
	e->prev = l->prev;
	e->next = l;
	l->prev->next = e;
	l->prev = e;
}

static inline void ivcfi_list_del(struct ivcfi_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

/* A set of CQs (a wait set's, a poll set's): in no order, each once. */
struct ivcfi_cq_set {
	struct ivcfi_cq **v;
	size_t n, cap;
};

/* Add @cq: 0, -FI_EALREADY, or -FI_ENOMEM. */
static inline int ivcfi_cq_set_add(struct ivcfi_cq_set *s, struct ivcfi_cq *cq)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == cq)
			return -FI_EALREADY;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct ivcfi_cq **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -FI_ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = cq;
	return 0;
}

/* Take @cq out: 0, or -FI_EINVAL (it was not in). */
static inline int ivcfi_cq_set_del(struct ivcfi_cq_set *s, const struct ivcfi_cq *cq)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i] == cq) {
			s->v[i] = s->v[--s->n];
			return 0;
		}
	}
	return -FI_EINVAL;
}

#define ivcfi_container(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- objects ------------------------------------------------------- */

struct ivcfi_fabric {
	struct fid_fabric fabric;
	int refs; /* domains, EQs and wait sets open on it; atomic:
		   * domains lock only themselves */
};

struct ivcfi_domain {
	struct fid_domain domain;
	struct ivcfi_fabric *fab;
	int refs; /* AVs, CQs, poll sets and endpoints open on it */
	bool locking; /* threading above FI_THREAD_DOMAIN: lock is in use */
	pthread_mutex_t lock;
	/* Completions written to any of its CQs: a CQ that spins idle sees
	 * from this that the process is not (fi_cq_idle.c). */
	uint64_t completions;
};

/* Around every entry point on @d or an object below it.  A domain the
 * application serialises pays only the test of a flag that never changes
 * after fi_domain(). */
static inline void ivcfi_lock(struct ivcfi_domain *d)
{
	if (d->locking)
		pthread_mutex_lock(&d->lock);
}

static inline void ivcfi_unlock(struct ivcfi_domain *d)
{
	if (d->locking)
		pthread_mutex_unlock(&d->lock);
}

struct ivcfi_eq {
	struct fid_eq eq;
	struct ivcfi_fabric *fab;
};

struct ivcfi_av {
	struct fid_av av;
	struct ivcfi_domain *dom;
	enum fi_av_type type;
	struct ivcfi_name *names; /* indexed by fi_addr */
	bool *used;
	size_t count, cap;
	int refs; /* endpoints bound */
};

/* A successful completion as kept until read; errors are kept apart. */
struct ivcfi_cqe {
	struct fi_cq_tagged_entry e;
	fi_addr_t src;
};

struct ivcfi_cqerr {
	struct ivcfi_cqerr *next;
	struct fi_cq_err_entry e;
};

#define IVCFI_CQ_EPS 16u

/* The one descriptor an FI_WAIT_FD object hands out (fi_fdset.c): an
 * epoll set that fi_trywait() fills with what a blocking read would sleep
 * on, armed, so that it polls readable once something may have come. */
struct ivcfi_fdset {
	int epfd;  /* -1 until first asked for */
	int *fds;  /* in the set now */
	size_t n, cap;
};

struct ivcfi_wait;

/* A CQ's empty reads, for IVC_FI_IDLE_MS (fi_cq_idle.c).  A spell is a
 * run of empty reads with no completion anywhere in the domain. */
struct ivcfi_idle {
	uint64_t after_ns;  /* spin this long before dozing; 0: never doze */
	uint64_t t0;        /* the spell's start (coarse clock), 0: none */
	uint64_t reads;     /* empty reads since t0 */
	uint64_t seen;      /* the domain's completions at t0 */
	uint64_t left_ns;   /* when the last dozing read returned */
	uint64_t dozes;     /* reads that slept, for IVC_FI_STATS and tests */
	bool dozing;
	bool say;           /* IVC_FI_STATS=1: report the dozes at close */
};

struct ivcfi_cq {
	struct fid_cq cq;
	struct ivcfi_domain *dom;
	enum fi_cq_format format;
	struct ivcfi_cqe *ring; /* grows: a completion is never dropped */
	size_t head, count, cap;
	struct ivcfi_cqerr *err_head, *err_tail;
	struct ivcfi_cqerr *err_last; /* handed out by the last readerr */
	struct ivcfi_ep *eps[IVCFI_CQ_EPS]; /* progressed by reads */
	size_t n_eps;
	/* Locking domains only: blocking readers sleeping outside the lock,
	 * and the eventfd a completion written meanwhile rings to wake them
	 * (-1 when the domain does not lock: then nobody else can write). */
	unsigned sleepers;
	int wake_fd;
	/* Its wait object (fi_wait.c): none, unspecified (sread only), a
	 * descriptor of its own, or a wait set's. */
	enum fi_wait_obj wait_obj;
	struct ivcfi_wait *wset;  /* FI_WAIT_SET: the set it is in */
	struct ivcfi_fdset fdset; /* FI_WAIT_FD: the descriptor handed out */
	/* fi_trywait() said "block": a completion written from now until the
	 * next read rings wake_fd, which the descriptor's set watches. */
	bool armed;
	int signaled;   /* fi_cq_signal() (atomic): the next blocking read ends */
	unsigned polls; /* poll sets it is in (fi_poll.c) */
	struct ivcfi_idle idle; /* IVC_FI_IDLE_MS: dozing in empty reads */
};

/* A wait set (fi_wait.c): CQs of any domain of one fabric, waited on
 * together by fi_wait(), or through one descriptor (FI_WAIT_FD). */
struct ivcfi_wait {
	struct fid_wait wait;
	struct ivcfi_fabric *fab;
	enum fi_wait_obj wait_obj; /* FI_WAIT_UNSPEC or FI_WAIT_FD */
	pthread_mutex_t lock;      /* guards cqs: CQs of any domain come and go */
	struct ivcfi_cq_set cqs;
	struct ivcfi_fdset fdset;
};

/* A poll set (fi_poll.c): CQs of one domain, progressed together. */
struct ivcfi_poll {
	struct fid_poll poll;
	struct ivcfi_domain *dom;
	struct ivcfi_cq_set cqs;
};

/* A posted receive (or one that claimed an unexpected message). */
struct ivcfi_recv {
	struct ivcfi_list link;
	void *context;
	bool tagged;
	bool completion; /* write a completion on success */
	fi_addr_t src;   /* FI_ADDR_UNSPEC: any */
	uint64_t tag, ignore;
	struct iovec iov[IVCFI_IOV_LIMIT];
	size_t iov_count;
	size_t cap;
	uint64_t msg_id; /* waiting for RDATA: the rendezvous it answered */
};

/* A message that arrived before its receive; the payload is copied. */
struct ivcfi_unexp {
	struct ivcfi_list link;
	bool tagged, has_data, complete;
	uint64_t tag, data, total;
	fi_addr_t src;
	struct ivcfi_inpeer *in;   /* the channel it came on */
	struct ivcfi_recv *claimer; /* matched while still arriving */
	void *claim_ctx;           /* FI_PEEK|FI_CLAIM: the claiming context */
	bool discard;              /* FI_DISCARD while still arriving */
	char *buf;
	size_t len, buf_cap;
	size_t charged; /* in in->unexp_bytes: this entry and its buffer */
	bool rdv;       /* an RTS: the payload is still in the sender */
	uint64_t msg_id;
	struct ivcfi_rts rts;
};

/* The message being received on one channel (fragments arrive in a row). */
struct ivcfi_rxmsg {
	struct ivcfi_recv *recv;
	struct ivcfi_unexp *ux;
	uint64_t msg_id, total, got, tag, data;
	bool tagged, has_data;
	bool rdv; /* an RTS: rts says where the payload is (only then set) */
	struct ivcfi_rts rts;
};

/* Start afresh: every field but rts, which only an RTS sets and reads.
 * Field by field, not memset(): this runs twice per message, and the
 * compiler turns a memset of this size into a slow `rep stos`. */
static inline void ivcfi_rxmsg_clear(struct ivcfi_rxmsg *m)
{
	m->recv = NULL;
	m->ux = NULL;
	m->msg_id = m->total = m->got = m->tag = m->data = 0;
	m->tagged = m->has_data = m->rdv = false;
}

/* A channel a peer connected to us: we only receive on it. */
struct ivcfi_inpeer {
	struct ivcfi_list link;
	struct ivc_channel *ch;
	struct ivcfi_name name;
	bool named;   /* its hello came */
	fi_addr_t src; /* FI_ADDR_NOTAVAIL until found in the AV */
	int err;      /* ivc's error once broken (-EPIPE: closed in order) */
	size_t unexp_bytes;
	bool in_msg, in_chain;
	uint32_t chain_left;
	struct ivcfi_rxmsg cur;
	pid_t pid;    /* shm: the sender's process (SO_PEERCRED), else 0 */
	bool no_cma;  /* reading its memory failed: ask for inline data */
	struct ivcfi_outpeer *reply; /* where our ACKs to it go (fi_rdv.c) */
	struct ivcfi_list rdv_wait;  /* receives waiting for RDATA */
	bool kept;    /* broken, and kept: it records that src is gone */
};

/* A send that did not fit at once, or is being written. */
struct ivcfi_send {
	struct ivcfi_list link;
	void *context;
	uint64_t cq_flags;
	bool completion;
	uint8_t op; /* IVCFI_OP_MSG or IVCFI_OP_TAGGED */
	bool has_data, started;
	bool rdv;    /* sent as an RTS: done when the receiver's ACK comes */
	bool rdata;  /* the receiver asked for a rendezvous' payload inline */
	uint64_t tag, data, msg_id, total, sent;
	struct iovec iov[IVCFI_IOV_LIMIT];
	size_t iov_count;
	void *copy; /* inject: our own copy of the payload */
};

/* The channel we connected to a peer's listener: we only send on it. */
struct ivcfi_outpeer {
	struct ivc_channel *ch;
	struct ivcfi_name name;
	int err;
	size_t buf_size, frag_max;
	bool cma;    /* shm, rendezvous on: large messages go as RTS */
	bool short_ok; /* its name's version reads IVCFI_OP_SHORT */
	struct ivcfi_list rdv;      /* RTS sent, waiting for their ACKs */
	struct ivcfi_list rdv_link; /* in ep->rdv while rdv is not empty */
	pid_t pid;                  /* shm: the receiver's process, else 0 */
	struct ivcfi_ack *acks;     /* ACKs to write, oldest first */
	size_t n_acks, cap_acks;
	struct ivcfi_list sends; /* FIFO of struct ivcfi_send */
	struct ivcfi_list busy;  /* in ep->busy while sends is not empty */
	struct ivcfi_list wire;  /* in ep->wire if its channel copies (tcp) */
	struct ivc_buf stuck[IVCFI_CHAIN_MAX]; /* a chain sent in part */
	unsigned stuck_i, stuck_n;
	struct ivcfi_list anon_link; /* in ep->anon: made for ACKs only */
};

/* Whether @in is not read for now: what its unexpected messages hold
 * (entries and buffers) reached IVCFI_UNEXP_MAX, or the ACKs we owe its
 * sender that its side has not taken reached IVCFI_ACK_MAX.  The message
 * arriving now does not count, so that one larger than the bound can
 * still come whole (its buffer grows only as its bytes do). */
static inline bool ivcfi_inpeer_held_back(const struct ivcfi_inpeer *in)
{
	size_t now = in->in_msg && in->cur.ux ? in->cur.ux->charged : 0;

	return in->unexp_bytes - now >= IVCFI_UNEXP_MAX ||
	       (in->reply && in->reply->n_acks >= IVCFI_ACK_MAX);
}

/* Channels the acceptor holds for progress to take, at most.  While it
 * holds that many it accepts no more: the rest wait in the listener's
 * backlog (their connects time out if progress does not come), so that
 * peers connecting while the application makes no progress call cannot
 * run the process out of descriptors (each channel holds several). */
#define IVCFI_ACCEPT_MAX 32u

/* Accepts channels in a thread of its own, so that a peer's connect never
 * waits for this process to call into the provider. */
struct ivcfi_acceptor {
	struct ivc_listener *l;
	pthread_t thread;
	bool running;
	int stop_fd;   /* eventfd: tells the thread to end */
	int notify_fd; /* eventfd: a channel is waiting in the list */
	int resume_fd; /* eventfd: progress took a full list: accept again */
	pthread_mutex_t lock;
	unsigned pending; /* atomic: channels in ready (no system call to look) */
	struct ivc_channel **ready;
	size_t n_ready, cap_ready;
};

struct ivcfi_stats {
	uint64_t tx_msgs, tx_bytes, rx_msgs, rx_bytes;
	uint64_t rdv_msgs, rdv_inline; /* received by rendezvous; of them inline */
	/* Channels this endpoint connected, by the transport ivc chose. */
	uint64_t via_shm, via_xen, via_tcp;
};

struct ivcfi_ep {
	struct fid_ep ep;
	struct ivcfi_domain *dom;
	struct ivcfi_av *av;
	struct ivcfi_cq *tx_cq, *rx_cq;
	bool tx_selective, rx_selective;
	uint64_t tx_op_flags, rx_op_flags;
	bool enabled;
	bool directed; /* FI_DIRECTED_RECV: receives honour their source */
	struct ivcfi_name name;
	struct ivcfi_acceptor acc;
	struct ivcfi_outpeer **out; /* indexed by fi_addr */
	size_t n_out;
	struct ivcfi_list busy;     /* outpeers with queued sends */
	struct ivcfi_list wire;     /* outpeers over a copying transport (tcp) */
	struct ivcfi_list rdv;      /* outpeers waiting for ACKs */
	struct ivcfi_list anon;     /* outpeers for ACKs to peers not in the AV */
	size_t rdv_min;             /* rendezvous from this size */
	int connect_ms;             /* a first send's wait for its channel */
	bool cma_off;               /* IVC_FI_CMA=0: never read a sender's memory */
	bool say;                   /* IVC_FI_STATS=1: report on stderr */
	unsigned rdv_spins;         /* progress calls with ACKs awaited, none came */
	unsigned wire_rounds;       /* progress calls, for IVCFI_WIRE_EVERY */
	enum ivcfi_rdv_mode rdv_mode;
	struct ivcfi_recv *recv_pool; /* freed receives for reuse (fi_match.c) */
	size_t n_recv_pool;
	struct ivcfi_list inpeers;
	struct ivcfi_list recv_msg, recv_tag;   /* posted receives */
	struct ivcfi_list unexp_msg, unexp_tag; /* unexpected messages */
	struct ivcfi_list claimed; /* FI_PEEK|FI_CLAIM'ed, awaiting FI_CLAIM */
	size_t tx_queued, rx_posted;
	uint64_t next_msg_id;
	struct ivcfi_stats stats;
};

/* ---- fi_stub.c -------------------------------------------------------- */

int ivcfi_no_bind(struct fid *fid, struct fid *bfid, uint64_t flags);
int ivcfi_no_control(struct fid *fid, int command, void *arg);
int ivcfi_no_ops_open(struct fid *fid, const char *name, uint64_t flags,
		      void **ops, void *context);

/* ---- fi_prov.c / fi_info.c ------------------------------------------ */

extern struct fi_provider ivcfi_prov;
int ivcfi_getinfo(uint32_t version, const char *node, const char *service,
		  uint64_t flags, const struct fi_info *hints,
		  struct fi_info **info);

/* ---- fi_fabric.c, fi_domain.c, fi_eq.c ------------------------------ */

int ivcfi_fabric_open(struct fi_fabric_attr *attr, struct fid_fabric **fabric,
		      void *context);
int ivcfi_domain_open(struct fid_fabric *fabric, struct fi_info *info,
		      struct fid_domain **dom, void *context);
int ivcfi_eq_open(struct fid_fabric *fabric, struct fi_eq_attr *attr,
		  struct fid_eq **eq, void *context);

/* ---- fi_av.c ------------------------------------------------------- */

int ivcfi_av_open(struct fid_domain *domain, struct fi_av_attr *attr,
		  struct fid_av **av, void *context);
/* The name behind @addr, or NULL. */
const struct ivcfi_name *ivcfi_av_name(const struct ivcfi_av *av, fi_addr_t addr);
/* The fi_addr of @name in @av, or FI_ADDR_NOTAVAIL. */
fi_addr_t ivcfi_av_find(const struct ivcfi_av *av, const struct ivcfi_name *name);
bool ivcfi_name_valid(const struct ivcfi_name *name);

/* ---- fi_cq.c / fi_cq_wait.c ------------------------------------------ */

int ivcfi_cq_open(struct fid_domain *domain, struct fi_cq_attr *attr,
		  struct fid_cq **cq, void *context);
int ivcfi_cq_add_ep(struct ivcfi_cq *cq, struct ivcfi_ep *ep);
void ivcfi_cq_del_ep(struct ivcfi_cq *cq, struct ivcfi_ep *ep);
int ivcfi_cq_write(struct ivcfi_cq *cq, void *ctx, uint64_t flags, size_t len,
		   void *buf, uint64_t data, uint64_t tag, fi_addr_t src);
int ivcfi_cq_write_err(struct ivcfi_cq *cq, void *ctx, uint64_t flags,
		       size_t len, uint64_t data, uint64_t tag, size_t olen,
		       int err, int prov_errno);
/* Run progress on every endpoint bound to @cq. */
void ivcfi_cq_progress(struct ivcfi_cq *cq);
/* Block until something may have happened on @cq's endpoints, or
 * @timeout_ms (< 0: for ever).  Called and returns with the domain's lock
 * held; it is dropped during the sleep, so the caller must look at the CQ
 * afresh. */
void ivcfi_cq_sleep(struct ivcfi_cq *cq, int timeout_ms);
/* The same without the spin first: sleep at once unless something is
 * ready. */
void ivcfi_cq_block(struct ivcfi_cq *cq, int timeout_ms);
/* Take what is there, else progress once and look again (the whole of a
 * non-blocking read).  Under the lock. */
ssize_t ivcfi_cq_read_locked(struct ivcfi_cq *cq, void *buf, size_t count,
			     fi_addr_t *src);
/* IVC_FI_IDLE_MS (and IVC_FI_STATS) for a new CQ (fi_cq_idle.c). */
void ivcfi_cq_idle_init(struct ivcfi_cq *cq);
/* With both set, print how many of its reads dozed (at close). */
void ivcfi_cq_idle_report(const struct ivcfi_cq *cq);
/* A non-blocking read of @count > 0 entries found nothing: count it, and
 * once the caller has spun on the CQ for IVC_FI_IDLE_MS with nothing
 * happening, sleep up to IVCFI_DOZE_MS on its descriptors and read again.
 * Under the lock; returns what a read returns. */
ssize_t ivcfi_cq_idle_read(struct ivcfi_cq *cq, void *buf, size_t count,
			   fi_addr_t *src);
/* A completion was queued on @cq: wake readers sleeping on it. */
void ivcfi_cq_wake(struct ivcfi_cq *cq);
/* The wake eventfd of a CQ on a locking domain or with a wait object:
 * 0 or -FI_E*. */
int ivcfi_cq_wake_init(struct ivcfi_cq *cq);
void ivcfi_cq_wake_fini(struct ivcfi_cq *cq);
/* Whether @cq has completions or errors to read. */
bool ivcfi_cq_has_work(const struct ivcfi_cq *cq);
/* Fill @fds with what a sleep for @cq watches (its wake eventfd, then its
 * endpoints' channels, armed); returns how many, or -1 when something is
 * to be read or done now (do not sleep).  Under the domain's lock. */
int ivcfi_cq_wait_fds(struct ivcfi_cq *cq, struct pollfd *fds, int max);
/* ivcfi_cq_wait_fds() into (*@fds)[@at...], growing the array (*@cap
 * entries) until all fit: how many, -1, or -FI_ENOMEM.  Under the lock. */
int ivcfi_cq_collect(struct ivcfi_cq *cq, struct pollfd **fds, int *cap, int at);
/* Around a sleep on @cq's descriptors with its domain's lock let go
 * (each called with it held): a completion written meanwhile rings the
 * eventfd; the eventfd is cleared after. */
void ivcfi_cq_sleep_begin(struct ivcfi_cq *cq);
void ivcfi_cq_sleep_end(struct ivcfi_cq *cq);
/* fi_trywait() for one CQ: progress, then ivcfi_cq_collect() and arm the
 * CQ.  Returns how many, -FI_EAGAIN (something to read), or -FI_ENOMEM.
 * Takes the domain's lock. */
int ivcfi_cq_trywait(struct ivcfi_cq *cq, struct pollfd **fds, int *cap, int at);
/* fi_cq_signal() was called: take it (true once per call). */
bool ivcfi_cq_take_signal(struct ivcfi_cq *cq);
/* fi_control() on a CQ: FI_GETWAIT, FI_GETWAITOBJ. */
int ivcfi_cq_control(struct fid *fid, int command, void *arg);

/* ---- fi_wait.c, fi_fdset.c, fi_poll.c ---------------------------------- */

int ivcfi_wait_open(struct fid_fabric *fabric, struct fi_wait_attr *attr,
		    struct fid_wait **waitset);
int ivcfi_trywait(struct fid_fabric *fabric, struct fid **fids, int count);
/* Whether @fid is a CQ / @w a wait set of this provider's. */
bool ivcfi_is_cq(const struct fid *fid);
bool ivcfi_is_wait(const struct fid_wait *w);
/* @cq opened with FI_WAIT_SET on @w: 0 or -FI_E*; and closed. */
int ivcfi_wait_add_cq(struct ivcfi_wait *w, struct ivcfi_cq *cq);
void ivcfi_wait_del_cq(struct ivcfi_wait *w, struct ivcfi_cq *cq);
/* The set's descriptor, made on first use: >= 0, or -FI_E*. */
int ivcfi_fdset_fd(struct ivcfi_fdset *s);
/* Make the set watch exactly @fds (for reading): 0 or -FI_E*. */
int ivcfi_fdset_sync(struct ivcfi_fdset *s, const struct pollfd *fds, int n);
void ivcfi_fdset_init(struct ivcfi_fdset *s);
void ivcfi_fdset_fini(struct ivcfi_fdset *s);
int ivcfi_poll_open(struct fid_domain *domain, struct fi_poll_attr *attr,
		    struct fid_poll **pollset);

/* ---- fi_ep.c, fi_ep_ops.c --------------------------------------------- */
/* Whether the environment variable @name is set to exactly @value. */
bool ivcfi_env_is(const char *name, const char *value);
/* The number in the environment variable @name, at most @max; @def when
 * it is unset or not a number. */
unsigned long long ivcfi_env_number(const char *name, unsigned long long def,
				    unsigned long long max);

int ivcfi_ep_open(struct fid_domain *domain, struct fi_info *info,
		  struct fid_ep **ep, void *context);
extern struct fi_ops_msg ivcfi_msg_ops;
extern struct fi_ops_tagged ivcfi_tagged_ops;
extern struct fi_ops_cm ivcfi_cm_ops;
extern struct fi_ops_ep ivcfi_ep_ops;
extern struct fi_ops_rma ivcfi_rma_ops; /* fi_rma.c: all -FI_ENOSYS */

/* ---- fi_accept.c ----------------------------------------------------- */

int ivcfi_acceptor_start(struct ivcfi_acceptor *acc, const char *addr);
void ivcfi_acceptor_stop(struct ivcfi_acceptor *acc);
/* Take the channels accepted so far (caller frees the array). */
size_t ivcfi_acceptor_take(struct ivcfi_acceptor *acc, struct ivc_channel ***out);
/* Before sleeping on notify_fd: clear it; false if a channel waits. */
bool ivcfi_acceptor_arm(struct ivcfi_acceptor *acc);

/* ---- fi_progress.c ---------------------------------------------------- */

void ivcfi_ep_progress(struct ivcfi_ep *ep);
/* Fill @fds with what to sleep on; returns how many, or -1 when there is
 * something to do now (do not sleep). */
int ivcfi_ep_wait_fds(struct ivcfi_ep *ep, struct pollfd *fds, int max);

/* ---- fi_tx.c ---------------------------------------------------------- */

struct ivcfi_send_args {
	const struct iovec *iov;
	size_t iov_count;
	fi_addr_t dest;
	void *context;
	uint8_t op;
	uint64_t tag, data;
	bool has_data, inject;
	uint64_t flags; /* the call's flags (FI_COMPLETION, ...) */
};
ssize_t ivcfi_send(struct ivcfi_ep *ep, const struct ivcfi_send_args *a);
/* Push queued sends on every busy channel. */
void ivcfi_tx_progress(struct ivcfi_ep *ep);
/* Call into every tcp channel we send on: pull the peer's returns, push
 * what a send could not write at once. */
void ivcfi_wire_progress(struct ivcfi_ep *ep);
void ivcfi_outpeer_close(struct ivcfi_ep *ep, struct ivcfi_outpeer *op);

/* The outpeer for @dest, connected on first use; NULL if @dest is not in
 * the AV (or out of memory). */
struct ivcfi_outpeer *ivcfi_outpeer_get(struct ivcfi_ep *ep, fi_addr_t dest);
/* An outpeer to @name outside the AV (for ACKs only), or NULL. */
struct ivcfi_outpeer *ivcfi_outpeer_by_name(struct ivcfi_ep *ep,
					    const struct ivcfi_name *name);
void ivcfi_send_done(struct ivcfi_ep *ep, const struct ivcfi_send *s);
void ivcfi_send_failed(struct ivcfi_ep *ep, const struct ivcfi_send *s, int err);
void ivcfi_outpeer_fail(struct ivcfi_ep *ep, struct ivcfi_outpeer *op, int err);
/* Write one single-buffer chain of @len bytes; 0, -FI_EAGAIN or ivc's error. */
int ivcfi_write_one(struct ivcfi_outpeer *op, const void *p, size_t len);
/* Flush a chain sent in part: 0, -FI_EAGAIN or ivc's error. */
int ivcfi_flush_stuck(struct ivcfi_outpeer *op);

/* ---- fi_rdv.c: rendezvous over shm (process_vm_readv) ------------------ */

/* Whether a message of @len bytes to @op goes as an RTS now. */
bool ivcfi_rdv_use(const struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
		   size_t len);
/* The RTS of @s into @dst; returns its length. */
size_t ivcfi_rdv_fill_rts(const struct ivcfi_send *s, void *dst, size_t room);
/* @s (queued, ours) has its RTS written: keep it until its ACK comes. */
void ivcfi_rdv_keep(struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
		    struct ivcfi_send *s);
/* @s's RTS is written: keep it (a copy) until its ACK comes. */
int ivcfi_rdv_wait(struct ivcfi_ep *ep, struct ivcfi_outpeer *op,
		   const struct ivcfi_send *s);
/* Sender: an ACK chain's @len bytes of struct ivcfi_ack came on @in:
 * 0, or -EPROTO. */
int ivcfi_rdv_on_ack(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		     const void *p, size_t len);
/* Receiver: the RTS now in @in->cur (or in @ux) met receive @r; reads the
 * payload, completes @r (or keeps it for RDATA) and answers. */
void ivcfi_rdv_pull(struct ivcfi_ep *ep, struct ivcfi_inpeer *in,
		    struct ivcfi_recv *r, const struct ivcfi_unexp *ux);
/* Receiver: an unexpected RTS was dropped (FI_DISCARD): let it go. */
void ivcfi_rdv_discard(struct ivcfi_ep *ep, struct ivcfi_unexp *ux);
/* Receiver: the receive waiting for @msg_id's RDATA on @in, or NULL. */
struct ivcfi_recv *ivcfi_rdv_take_wait(struct ivcfi_inpeer *in, uint64_t msg_id);
/* Write the ACKs queued on @op: 0, -FI_EAGAIN or ivc's error. */
int ivcfi_rdv_flush_acks(struct ivcfi_outpeer *op);
/* Sender: notice peers that went while we wait for their ACKs. */
void ivcfi_rdv_progress(struct ivcfi_ep *ep);

/* ---- fi_rx.c ---------------------------------------------------------- */

/* Read what one inbound channel has; returns messages handled or 0. */
int ivcfi_rx_channel(struct ivcfi_ep *ep, struct ivcfi_inpeer *in);
/* After @in broke: free it unless it is the record that its source (an
 * AV entry) is gone; with it the channel made only to answer it.  Its
 * unexpected messages stay receivable. */
void ivcfi_inpeer_reap(struct ivcfi_ep *ep, struct ivcfi_inpeer *in);
void ivcfi_inpeer_close(struct ivcfi_ep *ep, struct ivcfi_inpeer *in);

/* ---- fi_match.c ------------------------------------------------------- */

struct ivcfi_recv_args {
	const struct iovec *iov;
	size_t iov_count;
	fi_addr_t src;
	void *context;
	bool tagged;
	uint64_t tag, ignore;
	uint64_t flags;
};
ssize_t ivcfi_recv(struct ivcfi_ep *ep, const struct ivcfi_recv_args *a);
/* A message starts on @in: bind it to a posted receive or queue it. */
int ivcfi_match_start(struct ivcfi_ep *ep, struct ivcfi_inpeer *in);
/* The message on @in is whole. */
void ivcfi_match_finish(struct ivcfi_ep *ep, struct ivcfi_inpeer *in);
/* @in broke with @err: fail what depended on it. */
void ivcfi_match_peer_gone(struct ivcfi_ep *ep, struct ivcfi_inpeer *in, int err);
ssize_t ivcfi_cancel(struct ivcfi_ep *ep, void *context);
void ivcfi_match_cleanup(struct ivcfi_ep *ep);
/* @in is about to be freed: its queued unexpected messages no longer
 * name it (a rendezvous among them fails when received). */
void ivcfi_match_forget_peer(struct ivcfi_ep *ep, const struct ivcfi_inpeer *in);
/* A zeroed receive from the endpoint's pool (or malloc); back to the pool
 * (or free, when @ep is NULL or the pool is full); the pool emptied. */
struct ivcfi_recv *ivcfi_recv_get(struct ivcfi_ep *ep);
void ivcfi_recv_put(struct ivcfi_ep *ep, struct ivcfi_recv *r);
void ivcfi_recv_pool_drain(struct ivcfi_ep *ep);
void ivcfi_recv_complete(struct ivcfi_ep *ep, struct ivcfi_recv *r,
			 uint64_t total, fi_addr_t src, uint64_t tag,
			 bool has_data, uint64_t data);
void ivcfi_recv_fail(struct ivcfi_ep *ep, struct ivcfi_recv *r, int err,
		     int prov_errno);

/* ---- fi_iov.c --------------------------------------------------------- */

size_t ivcfi_iov_len(const struct iovec *iov, size_t count);
/* Copy @len bytes from @src into @iov at @offset (bounded by its room);
 * returns the bytes copied. */
size_t ivcfi_iov_write(const struct iovec *iov, size_t count, size_t offset,
		       const void *src, size_t len);
/* Copy @len bytes of @iov from @offset to @dst. */
void ivcfi_iov_read(const struct iovec *iov, size_t count, size_t offset,
		    void *dst, size_t len);

#endif
