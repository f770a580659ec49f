/* SPDX-License-Identifier: MIT */
/*
 * bench_xport - what ivc-bench measures: one table entry per transport (ivc
 * itself, the kernel IPC baselines, the peer libraries and the physical
 * limits), each driven the same way by bench_run.c.
 *
 * A measurement is two processes, forked per point: the "initiator" (the
 * parent: it times) and the "peer" (the child).  prepare() runs in the parent
 * before the fork and makes whatever both must share (a listening socket, a
 * shared mapping); open() runs in each process after the fork.
 *
 * Every message is exactly cfg->size bytes, and the first 8 bytes carry a
 * tag (ping-pong checks that the echo is the message it sent).  Senders
 * write every payload byte; receivers read every byte when cfg->touch.
 *
 * Split mode (ivc transports only: those with .echo): the two ends are not
 * forked together but run as two programs, possibly in different Xen
 * domains.  `ivc-bench serve` listens and echoes (.listen, .echo); the
 * initiator of `ivc-bench pingpong --connect` connects to it for each point
 * (cfg->ivc_remote), and no local peer is forked.
 */
#ifndef IVC_BENCH_XPORT_H
#define IVC_BENCH_XPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ivc/ivc.h>

/* Benchmarks a transport takes part in (bench_xport.benches). */
#define BX_PINGPONG 0x1u
#define BX_STREAM 0x2u

/* Wait-mode bit of enum ivc_mode @m (bench_xport.modes). */
#define BX_MODE(m) (1u << (unsigned)(m))

/* Kinds of table entry: what the report does with it. */
enum bx_kind {
	BX_KIND_IVC,      /* the thing under test */
	BX_KIND_BASELINE, /* what users have today */
	BX_KIND_LIMIT,    /* a physical limit (cache line, bare ring, memcpy) */
};

/* The ping-pong tag that tells the echoing peer to stop. */
#define BX_TAG_STOP 0xfffffffffffffffeull

/* What one measurement point asks of a transport. */
struct bx_cfg {
	size_t size;                 /* message size, >= 8 */
	enum ivc_mode mode;          /* how to wait (one of .modes) */
	unsigned burst;              /* stream: messages per send call */
	bool touch;                  /* receiver reads every payload byte */
	/* ivc only */
	struct ivc_geometry geo;     /* lane geometry (zero: library default) */
	uint32_t spin_max_ns;        /* 0: library default */
	unsigned ivc_flags;          /* extra IVC_OPT_* flags */
	const char *ivc_via;         /* "shm" (NULL), "xen" or "tcp" */
	const char *ivc_remote;      /* split mode: the serve address the
					initiator connects to (bx_split_addr()),
					or NULL: a local, forked peer */
};

enum bx_role { BX_INITIATOR = 0, BX_PEER = 1 };

struct bx_pair;   /* shared state made before the fork */
struct bx_ep;     /* one process's end */

struct bench_xport {
	const char *name;            /* CSV "transport" column */
	const char *what;            /* what a row of it measured */
	enum bx_kind kind;
	unsigned benches;            /* BX_PINGPONG | BX_STREAM */
	unsigned modes;              /* BX_MODE() bits it can run in */
	bool size_free;              /* result does not depend on size: one row */
	size_t max_size;             /* largest message it is run with (0: any) */

	/* Parent, before the fork.  0 or -errno. */
	int (*prepare)(const struct bx_cfg *c, struct bx_pair **pp);
	/* Optional: in the parent once both processes are forked, drop what
	 * only they need (a pipe's end held here would hide its EOF). */
	void (*forked)(struct bx_pair *p);
	/* Each process, after the fork.  May block until the other side
	 * opens (bounded: BX_OPEN_WAIT_MS).  0 or -errno. */
	int (*open)(struct bx_pair *p, const struct bx_cfg *c, enum bx_role r,
		    struct bx_ep **ep);
	/* Ping-pong: send one message tagged @tag; receive one into *@tag. */
	int (*send)(struct bx_ep *e, uint64_t tag);
	int (*recv)(struct bx_ep *e, uint64_t *tag);
	/* Stream: send @n messages; receive up to a burst, returning the
	 * number of whole messages completed (> 0), 0 at the end of the
	 * stream (the sender's finish()), or -errno. */
	int (*send_burst)(struct bx_ep *e, unsigned n);
	int (*recv_burst)(struct bx_ep *e);
	/* Stream sender: mark the end of the stream (usually: close). */
	int (*finish)(struct bx_ep *e);
	void (*close)(struct bx_ep *e);
	/* Parent, after the child is gone. */
	void (*release)(struct bx_pair *p);
	/* Instead of all the above, a limit measured in one process: move
	 * up to @max messages within @secs; report the count and seconds. */
	int (*local)(const struct bx_cfg *c, uint64_t max, double secs,
		     uint64_t *msgs, double *elapsed);

	/* Split mode's serving side (NULL: the transport cannot be split).
	 * listen(): listen at @addr with @c's geometry, mode and flags, and
	 * @xo (NULL: the library's xen defaults).  0 or -errno. */
	int (*listen)(const struct bx_cfg *c, const char *addr,
		      const struct ivc_xen_options *xo, struct ivc_listener **l);
	/* echo(): on accepted channel @ch (closed before it returns), echo
	 * every message back until the BX_TAG_STOP tag, as the local peer
	 * does.  0 at the stop tag, or -errno; *@echoed and *@size say what
	 * was echoed (the size of the last message). */
	int (*echo)(struct ivc_channel *ch, uint64_t *echoed, size_t *size);
};

/* How long open() waits for the other side. */
#define BX_OPEN_WAIT_MS 10000

/* Split mode's default descriptor ring (each side's lane, when --slots is
 * not given; buffers follow the library's default, 2 * slots): 64 pages of
 * buffers and a 128 KiB largest message, instead of the default lane's
 * ~530 pages, which is half of what xen-gntalloc lets a whole domain share
 * (docs/xen.md): one point's lane may still be shared while the next is
 * made. */
#define BX_SPLIT_SLOTS 32

/* The address split mode uses for transport @x in mode @m: "@base.X.MODE"
 * (the server listens at one per transport and mode, since a listener's
 * options, the mode among them, hold for every channel it accepts).
 * 0, or -ENAMETOOLONG when @len is too short. */
int bx_split_addr(char *buf, size_t len, const char *base, const struct bench_xport *x,
		  enum ivc_mode m);

/* The transports, in report order; NULL-terminated. */
extern const struct bench_xport *const bench_xports[];

/* The entry called @name, or NULL. */
const struct bench_xport *bench_xport_find(const char *name);

/* Every transport's table entry (defined in bench_x_*.c). */
extern const struct bench_xport bx_ivc, bx_ivc_copy, bx_ivc_inline;
extern const struct bench_xport bx_tcp, bx_unix, bx_pipe, bx_eventfd;
extern const struct bench_xport bx_zmq, bx_rte_ring;
extern const struct bench_xport bx_cacheline, bx_spsc, bx_yield, bx_memcpy;

/* Payload helpers every transport uses, so all of them do the same work:
 * bx_fill() writes all @len bytes (tag first), bx_read() reads all of them
 * (when touching) and returns the tag. */
void bx_fill(void *buf, size_t len, uint64_t tag);
uint64_t bx_read(const void *buf, size_t len, bool touch);

/* The bare cache-line hand-over (bench_x_cacheline.c): publish @tag on
 * our line; wait until the peer's line holds a tag other than *@seen (the
 * last one taken), spinning, or with sched_yield() when @yield. */
void bx_line_send(uint64_t *mine, uint64_t tag);
uint64_t bx_line_recv(const uint64_t *theirs, uint64_t *seen, bool yield);

/* Spin-wait hint for polling loops. */
static inline void bx_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* IVC_BENCH_XPORT_H */
