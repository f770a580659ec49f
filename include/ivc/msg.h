/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/msg.h
 * @brief Copying convenience calls: send and receive whole messages.
 *
 * Built on the zero-copy calls.  A message is all-or-nothing: ivc_send()
 * publishes it whole or not at all, and ivc_recv() consumes it whole or not at
 * all, so a timeout never tears a message.  ivc_recv() copies out of the
 * peer's region, which also protects against a peer changing the payload
 * while it is read.
 */
#ifndef IVC_MSG_H
#define IVC_MSG_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ivc_channel;

/**
 * ivc_send() - copy @len bytes into buffers and send them as one message.
 * @ch:         the channel.
 * @data:       the payload (may be NULL when @len is 0).
 * @len:        bytes; 0 sends an empty message.
 * @timeout_ms: bounds the wait for buffers and ring space.
 *
 * Return: 0; -EMSGSIZE (@len over ivc_info.max_tx_msg); -EAGAIN; -ETIMEDOUT
 * (nothing was sent); -EPIPE; -ECONNRESET; -EPROTO; -EINVAL.
 */
int ivc_send(struct ivc_channel *ch, const void *data, size_t len,
	     int timeout_ms);

/**
 * ivc_recv() - receive one whole message into @data.
 * @ch:         the channel.
 * @data:       where to copy it.
 * @cap:        room at @data.
 * @timeout_ms: bounds the wait for the whole message.
 *
 * Return: the message's length (>= 0); -EMSGSIZE if it is longer than @cap
 * (the message stays in the channel: retry with more room); -EAGAIN;
 * -ETIMEDOUT; -EPIPE; -ECONNRESET; -EPROTO; -EINVAL.
 */
ssize_t ivc_recv(struct ivc_channel *ch, void *data, size_t cap, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
