/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/poller.h
 * @brief A run-to-completion loop that serves many channels from one thread.
 *
 * The poller calls each channel's callback while the channel has something
 * to receive.  When every channel is idle it backs off as a single channel
 * does (enum ivc_mode): spin, yield, then arm all channels and sleep in epoll
 * on all their doorbells at once.
 */
#ifndef IVC_POLLER_H
#define IVC_POLLER_H

#ifdef __cplusplus
extern "C" {
#endif

struct ivc_channel;
struct ivc_poller;

/**
 * ivc_poll_cb - called by the poller when @ch can be received from.
 * @ch:  the channel.
 * @arg: the argument given to ivc_poller_add().
 *
 * It should receive a burst (or handle the peer's closing).  Return the
 * number of messages handled (>= 0: 0 means nothing was there), or a
 * negative value to have the poller drop the channel (it does not close it).
 */
typedef int (*ivc_poll_cb)(struct ivc_channel *ch, void *arg);

/**
 * struct ivc_poller_options - zero-initialised = defaults.
 * @cpu:         OS index of the CPU to pin the running thread to, or -1 for
 *               none.  (Set it explicitly: 0 means CPU 0.)
 * @mode:        backoff mode for the idle loop.
 * @spin_max_ns: bound of the adaptive spin (0: 50 us).
 */
struct ivc_poller_options {
	int cpu;
	int mode;
	unsigned spin_max_ns;
};

/**
 * ivc_poller_create() - make a poller.
 * @opts: options, or NULL (no pinning, adaptive).
 * @out:  receives it.
 *
 * Return: 0; -ENOMEM; -EMFILE; -EINVAL.
 */
int ivc_poller_create(const struct ivc_poller_options *opts,
		      struct ivc_poller **out);

/**
 * ivc_poller_add() - serve @ch with @cb.
 * @p:   the poller (only from the thread that runs it, or while it is not
 *       running).
 * @ch:  a channel not already in a poller.
 * @cb:  the callback.
 * @arg: passed to @cb.
 *
 * Return: 0; -EEXIST; -ENOMEM; -EINVAL.
 */
int ivc_poller_add(struct ivc_poller *p, struct ivc_channel *ch, ivc_poll_cb cb,
		   void *arg);

/**
 * ivc_poller_remove() - stop serving @ch (same thread rules as add).
 * @p:  the poller.
 * @ch: the channel.
 *
 * Return: 0; -ENOENT; -EINVAL.
 */
int ivc_poller_remove(struct ivc_poller *p, struct ivc_channel *ch);

/**
 * ivc_poller_run() - run the loop in the calling thread.
 * @p:          the poller.
 * @timeout_ms: return after this long (< 0: until stopped or empty).
 *
 * Return: 0 when stopped with ivc_poller_stop() or when no channel is left;
 * -ETIMEDOUT; -EINVAL; another -errno if pinning or epoll failed.
 */
int ivc_poller_run(struct ivc_poller *p, int timeout_ms);

/**
 * ivc_poller_stop() - make ivc_poller_run() return soon; callable from any
 * thread (including a callback).
 * @p: the poller.
 *
 * Return: 0, or -EINVAL.
 */
int ivc_poller_stop(struct ivc_poller *p);

/**
 * ivc_poller_destroy() - free a poller that is not running.
 * @p: the poller, or NULL.
 */
void ivc_poller_destroy(struct ivc_poller *p);

#ifdef __cplusplus
}
#endif
#endif
