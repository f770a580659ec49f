/* SPDX-License-Identifier: MIT */
/*
 * The hostile peer (test helper).  It connects through the real handshake
 * with the real library, then reaches into its own channel (the internal
 * struct ivc_channel) and rewrites what the victim reads: its own lane
 * (descriptors, stamps, header, sender fields, payload), the victim's lane
 * (the receiver's indices, the return ring, the header), the doorbells and,
 * over shm, the control socket.  Each attack is one entry of enum
 * h_attack; test_hostile.c runs them against a victim that only uses the
 * public API.
 */
#ifndef IVC_TEST_HOSTILE_H
#define IVC_TEST_HOSTILE_H

#include <stdatomic.h>
#include <stdint.h>

struct ivc_channel;

enum h_attack {
	/* The hostile's own lane: the victim receives. */
	H_SEQ_AHEAD,	/* a stamp far ahead of the producer */
	H_SEQ_BEHIND,	/* a stamp laps behind */
	H_BUF_OOB,	/* buffer index == buf_count */
	H_BUF_MAX,	/* buffer index 0xffffffff */
	H_LEN_OVER,	/* len = buf_size + 1 */
	H_LEN_WRAP,	/* len that wraps 32 bits when added to the offset */
	H_FLAGS,	/* unknown flag bits */
	H_INLINE_PLAIN,	/* INLINE on a lane of 16-byte descriptors */
	H_INLINE_LEN,	/* INLINE with 113 bytes on an inline lane */
	H_CHAIN_ENDLESS,/* MORE on every descriptor, forever */
	H_BUF_TWICE,	/* a buffer the victim still holds, lent again */
	H_DESC_FLAP,	/* descriptor fields and stamp changing under the reader */
	H_HDR_OWN,	/* our header's geometry changed after connect */
	H_HDR_START,	/* our header's idx_start changed after connect */
	H_HDR_VICTIM,	/* the victim's own header changed (we map it too) */
	H_RANDOM_OWN,	/* random bytes over our whole lane, once */
	H_RANDOM_ALL,	/* random bytes into both lanes, continuously */
	H_CPU_GARBAGE,	/* the sender's cpu hint set to nonsense (harmless) */
	H_BELL_FLOOD,	/* both doorbells rung in a loop (harmless) */
	H_SLEEP_FLOOD,	/* the receiver's sleep epoch churned (harmless) */
	/* The victim's lane: the victim sends. */
	H_CONS_AHEAD,	/* desc_cons ahead of everything the victim sent */
	H_CONS_BEHIND,	/* desc_cons more than a ring behind */
	H_CONS_FLAP,	/* desc_cons random, continuously */
	H_RET_AHEAD,	/* ret_prod: more returned than lent */
	H_RET_TWICE,	/* a held buffer returned twice */
	H_RET_NEVER,	/* a buffer in range that was never lent */
	H_RET_OOB,	/* a buffer index out of range returned */
	H_RET_FLAP,	/* return ring and ret_prod random, continuously */
	/* The shm control socket, after the handshake. */
	H_CTRL_BYTES,	/* a 48-byte message */
	H_CTRL_FDS,	/* a byte with three descriptors */
	H_CTRL_FD_FLOOD,/* messages with 8 descriptors each until the socket fills */
	H_CTRL_HALFCLOSE,/* shutdown(SHUT_WR): a hang-up without dying */
	/* Issue 12: descriptors and memory we share. */
	H_BELL_BLOCK,	/* shm doorbells made blocking, the ones the victim
			 * rings full and its own drained, and we "sleep" */
	H_CLOSED_FLAP,	/* our closed flag set and cleared, continuously */
	H_CTRL_EMPTY,	/* a record of 0 bytes on the control socket */
	H_PUNCH,	/* holes punched in both lanes (MADV_REMOVE) */
};

/* Shared between the victim and the hostile (a MAP_SHARED page). */
struct h_shared {
	_Atomic uint64_t attack_ns; /* when the lie became visible (0: not yet) */
	_Atomic int stop;           /* the victim is done: continuous attacks end */
	_Atomic uint64_t honest;    /* honest messages the hostile has sent */
	_Atomic int punched;        /* H_PUNCH: holes the kernel let it punch */
	_Atomic int victim_sends;   /* the victim only sends from now on */
};

/* The hostile's honest messages to the victim: t_msg_*() stream. */
#define H_SEED_TO_VICTIM 0x4057113ull
#define H_MSG_MAX 200u /* fits a 256-byte buffer; <= 112 goes inline */

/*
 * hostile_honest() - send the next honest message (sequence sh->honest) to
 * the victim with ivc_send(), counting it once sent.
 * Return: 0, or ivc_send()'s error.
 */
int hostile_honest(struct ivc_channel *ch, struct h_shared *sh, int timeout_ms);

/* Honest messages a harmless attack sends while or after it lies. */
#define H_HONEST_AFTER 200u

/*
 * hostile_spoil_bells() - on a shm channel, the eventfds we share with the
 * victim (one open file description each): O_NONBLOCK cleared on all four,
 * the counters the victim writes to (ours) filled to 2^64 - 2, the ones it
 * could read (its own) emptied.  Return: 0, or -1 (it could not be done).
 */
int hostile_spoil_bells(struct ivc_channel *ch);

/*
 * hostile_attack() - carry out @a on the hostile's channel @ch (both lanes
 * already carrying honest traffic).  Sets sh->attack_ns once the first lie
 * is in place; a continuous attack runs until sh->stop or a few seconds.
 * @seed: randomness for the attack.
 * Return: 0, or -1 if the attack could not be set up (a test failure).
 */
int hostile_attack(struct ivc_channel *ch, enum h_attack a,
		   struct h_shared *sh, uint64_t seed);

#endif
