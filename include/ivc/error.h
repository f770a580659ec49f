/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/error.h
 * @brief Error convention and error text.
 *
 * Every ivc call that can fail returns a negative errno value (liburing's
 * convention); there is no global error state.  The values a call may return
 * are listed in its own documentation; the meanings shared by all calls are:
 *
 * | value            | meaning                                                      |
 * |------------------|--------------------------------------------------------------|
 * | -EINVAL          | a bad argument (NULL pointer, bad flag, bad geometry, ...)   |
 * | -EAGAIN          | timeout_ms was 0 and the call would have had to wait         |
 * | -ETIMEDOUT       | timeout_ms > 0 elapsed before the call could complete        |
 * | -EPIPE           | the peer closed the channel in order; everything it sent has |
 * |                  | been received (RX), or nothing more can be sent (TX)         |
 * | -ECONNRESET      | the peer died (crashed, killed) without closing; everything  |
 * |                  | it had published has been received first (ivc_connect: the  |
 * |                  | listener went away after it had accepted us)                 |
 * | -EPROTO          | the peer broke the protocol (bad index, bad descriptor, bad  |
 * |                  | control message, ...); the channel is broken for good        |
 * | -EPROTONOSUPPORT | the peer speaks another protocol version                      |
 * | -EACCES          | access control refused the peer: a listener refused our uid  |
 * |                  | (or domid), or a connector does not trust the listener's uid |
 * | -EPERM           | the system refused: file or device permissions               |
 * | -E2BIG           | a lane larger than the transport or the peer's limit allows  |
 * | -ECONNREFUSED    | nothing listens at that address (or it is not an ivc socket, |
 * |                  | or its listener went away before it answered us)             |
 * | -ECONNABORTED    | ivc_accept: a client went away during its handshake (the    |
 * |                  | listener stays usable: accept again)                         |
 * | -EAFNOSUPPORT    | the address names a transport this build does not have       |
 * | -EMSGSIZE        | a message larger than the channel or the user buffer allows  |
 * | -ENOMEM, -EMFILE | the system ran out of memory or file descriptors             |
 *
 * Once a channel is broken (-EPROTO, or -ECONNRESET/-EPIPE after draining),
 * every later data-path call on it returns the same error.  Once a send has
 * returned -EPIPE or -ECONNRESET, every later send returns it too (what the
 * peer sent before it went is still received first).
 */
#ifndef IVC_ERROR_H
#define IVC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * ivc_strerror() - text for an ivc error code.
 * @err: a value returned by an ivc call; either sign is accepted.
 *
 * Return: a static, human-readable string that names the failure in ivc's
 * terms (e.g. "peer violated the ivc protocol" for -EPROTO); never NULL.
 * Thread-safe; the string must not be freed.
 */
const char *ivc_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
