/* SPDX-License-Identifier: MIT */
/*
 * The shm transport's handshake, over a SOCK_SEQPACKET Unix socket
 * (docs/layout.md, "handshake"):
 *
 *   client -> HELLO   {geometry of the client's lane}  + memfd, rx bell, tx bell
 *   server -> WELCOME {geometry of the server's lane}  + memfd, rx bell, tx bell
 *          or REJECT  {status = errno}                  (no descriptors)
 *   client -> READY   {}: it has mapped the server's lane (no descriptors)
 *          or REJECT  {status = errno}: it will not take the server's lane
 *
 * Every message is exactly sizeof(struct ivc_ctrl_msg) bytes, little-endian
 * host order (both ends share a kernel).  Anything else is -EPROTO, and
 * descriptors that came with a bad message are closed.
 */
#ifndef IVC_SHM_HANDSHAKE_PVT_H
#define IVC_SHM_HANDSHAKE_PVT_H

#include <stddef.h>
#include <stdint.h>

#define IVC_CTRL_MAGIC 0x48435649u /* "IVCH" */
/* 2: READY, doorbells rung with a write of 0, lanes allocated in full. */
#define IVC_PROTO_VERSION 2u
#define IVC_CTRL_NFDS 3 /* memfd, our RX doorbell, our TX doorbell */
#define IVC_CTRL_MAX_FDS 8

enum ivc_ctrl_type {
	IVC_CTRL_HELLO = 1,
	IVC_CTRL_WELCOME = 2,
	IVC_CTRL_REJECT = 3,
	IVC_CTRL_READY = 4,
};

struct ivc_ctrl_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	int32_t status;
	uint32_t mode;
	uint32_t slots;
	uint32_t buf_size;
	uint32_t buf_count;
	uint32_t xport_size;
	uint64_t region_size;
	uint32_t desc_size; /* 16, or 128 for an inline lane; 0 means 16 */
	uint32_t reserved;
};
_Static_assert(sizeof(struct ivc_ctrl_msg) == 48, "wire size");

/* Parse @len bytes into @out.  Return: 0; -EPROTO (size, magic, type);
 * -EPROTONOSUPPORT (another version; *out is still filled so a REJECT of
 * any version can be read). */
int ivc_ctrl_parse(const void *buf, size_t len, struct ivc_ctrl_msg *out);

/* The errno a REJECT carries, limited to the ones ivc sends (else EPROTO). */
int ivc_ctrl_reject_error(const struct ivc_ctrl_msg *m);

struct ivc_lane_geom;

/* The layout of the lane a HELLO or WELCOME describes, recomputed from its
 * slots, buf_size, buf_count and desc_size (0 read as 16) and checked
 * against the rest: xport_size must be 0 (shm has no transport area) and
 * region_size what the geometry implies.  Nothing else in @m is trusted.
 * Return: 0 with *g set; -EPROTO (anything invalid or inconsistent). */
int ivc_ctrl_geom(const struct ivc_ctrl_msg *m, struct ivc_lane_geom *g);

/* A zeroed message of @type, this version. */
void ivc_ctrl_init(struct ivc_ctrl_msg *m, int type);

/* Send @m with @nfds descriptors, waiting until @deadline for room. */
int ivc_ctrl_send(int sock, const struct ivc_ctrl_msg *m, const int *fds,
		  int nfds, uint64_t deadline);

/* Send a REJECT carrying @err (negative errno); best effort. */
void ivc_ctrl_reject(int sock, int err);

/* Receive one message before @deadline.  On success the caller owns the
 * *nfds descriptors in @fds.  Return: 0; -ETIMEDOUT; -ECONNRESET (hang-up);
 * -EPROTO (bad message, or a record of 0 bytes from a peer that is still
 * there: its descriptors are closed); -errno. */
int ivc_ctrl_recv(int sock, struct ivc_ctrl_msg *m, int *fds, int *nfds,
		  uint64_t deadline);
/* The same without waiting: -EAGAIN when no message is there. */
int ivc_ctrl_try_recv(int sock, struct ivc_ctrl_msg *m, int *fds, int *nfds);

#endif
