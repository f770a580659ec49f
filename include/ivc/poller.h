/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/poller.h
 * @brief A run-to-completion loop that serves many channels from one thread.
 *
 * The poller calls each channel's callback while the channel has something
 * to receive, and each listener's callback when a client waits for it.
 * When every channel is idle it backs off as a single channel does (enum
 * ivc_mode): spin, yield, then arm all channels and sleep in epoll on all
 * their doorbells at once.  It keeps the same-CPU rule of a channel wait:
 * it publishes the CPU it runs on in each of its channels, and while a
 * channel's peer runs on that same CPU it yields instead of spinning, in
 * every mode (spinning would only delay the peer it waits for).
 *
 * Two ways to drive it: ivc_poller_run() is the loop, in the calling
 * thread; or an application's own event loop watches ivc_poller_fd() and
 * calls ivc_poller_dispatch(), one pass that never blocks.
 *
 * Threads.  One thread at a time runs a poller (ivc_poller_run() or
 * ivc_poller_dispatch(); a second gets -EBUSY).  ivc_poller_add(),
 * ivc_poller_remove(), ivc_poller_add_listener(),
 * ivc_poller_remove_listener() and ivc_poller_stop() may be called from any
 * thread, also while another thread runs the poller.  From the thread that
 * runs it (that is, from a callback), or while no thread runs it, they act
 * at once.  From another thread while it runs, the change is handed to the
 * loop, which applies it within one pass, and the call returns once it has:
 * after ivc_poller_remove() returns, the poller will not call the callback
 * or touch the channel again.  Such a call therefore waits for the loop:
 * never make it while holding something a callback waits for (a lock, a
 * reply), or both wait for ever.
 *
 * ivc_close() of a channel that is still in a running poller must happen
 * in the thread that runs the poller (a callback may close its own
 * channel); from any other thread, ivc_poller_remove() it first.  Likewise
 * ivc_poller_remove_listener() a listener before ivc_listener_close().
 */
#ifndef IVC_POLLER_H
#define IVC_POLLER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ivc_channel;
struct ivc_listener;
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
 * ivc_accept_cb - called by the poller when ivc_listener_fd(@l) polls
 * readable: a client waits, or a handshake moved on.
 * @l:   the listener.
 * @arg: the argument given to ivc_poller_add_listener().
 *
 * It typically calls ivc_accept(@l, 0, &ch) until that returns -EAGAIN (no
 * handshake has completed) and ivc_poller_add()s each new channel, from
 * inside the callback.  Return >= 0 to keep the listener, or a negative
 * value to have the poller drop it (it does not close it).
 */
typedef int (*ivc_accept_cb)(struct ivc_listener *l, void *arg);

/** Pin the thread that runs ivc_poller_run() to ivc_poller_options.cpu. */
#define IVC_POLLER_PIN 0x1u

/**
 * struct ivc_poller_options - zero-initialised = defaults: no pinning,
 * adaptive backoff, a 50 us spin bound.
 * @cpu:         with IVC_POLLER_PIN: OS index of the CPU to pin the thread
 *               that runs ivc_poller_run() to.  Ignored without the flag
 *               (-1, which meant "no pinning" before the flag, is still
 *               accepted; below -1 is -EINVAL).
 * @mode:        backoff mode for the idle loop (enum ivc_mode).
 * @spin_max_ns: bound of the adaptive spin (0: 50 us).
 * @flags:       IVC_POLLER_* flags; any other bit is -EINVAL.
 * @reserved:    must be zero (-EINVAL otherwise): room for options to come,
 *               whose zero will keep meaning what it means now.
 */
struct ivc_poller_options {
	int cpu;
	int mode;
	unsigned spin_max_ns;
	unsigned flags;
	uint32_t reserved[8];
};

/**
 * ivc_poller_create() - make a poller.
 * @opts: options, or NULL (the same as all zero).
 * @out:  receives it.
 *
 * Return: 0; -ENOMEM; -EMFILE; -EINVAL (a mode out of range, an unknown
 * flag, IVC_POLLER_PIN with @cpu < 0, @cpu < -1, a reserved word not 0).
 */
int ivc_poller_create(const struct ivc_poller_options *opts,
		      struct ivc_poller **out);

/**
 * ivc_poller_add() - serve @ch with @cb.
 * @p:   the poller.  From any thread (see the file comment): at once from
 *       a callback or while no thread runs the poller; else handed to the
 *       loop, and applied before this returns.
 * @ch:  a channel not already in a poller.
 * @cb:  the callback.
 * @arg: passed to @cb.
 *
 * Added from a callback, @ch is looked at in the same pass or the next.
 *
 * Return: 0; -EEXIST; -ENOMEM; -EINVAL; another -errno from epoll_ctl(2).
 */
int ivc_poller_add(struct ivc_poller *p, struct ivc_channel *ch, ivc_poll_cb cb,
		   void *arg);

/**
 * ivc_poller_remove() - stop serving @ch.
 * @p:  the poller.  From any thread, as for ivc_poller_add().
 * @ch: the channel.
 *
 * When it returns, the poller no longer calls @ch's callback (not even one
 * that was about to run) and will not touch @ch again: the caller may
 * ivc_close() it.  Called from another thread while the poller runs, it
 * waits for the loop to finish the callback it may be in.
 *
 * Return: 0; -ENOENT; -EINVAL.
 */
int ivc_poller_remove(struct ivc_poller *p, struct ivc_channel *ch);

/**
 * ivc_poller_add_listener() - call @cb whenever @l has a connection for us.
 * @p:   the poller.  From any thread, as for ivc_poller_add().
 * @l:   a listener (ivc_listen()); its ivc_listener_fd() joins the poller's
 *       epoll sets.
 * @cb:  the callback (ivc_accept_cb).
 * @arg: passed to @cb.
 *
 * While its channels keep the loop busy, the poller never sleeps in epoll;
 * it then looks at its listeners at most about once a millisecond (one
 * system call), and calls one listener's callback per look, so a busy
 * channel delays accepting by about a millisecond and accepting delays the
 * channels by one callback.  A poller with listeners keeps running when it
 * has no channel.
 *
 * Return: 0; -EEXIST (already in this poller); -ENOMEM; -EINVAL; another
 * -errno from epoll_ctl(2).
 */
int ivc_poller_add_listener(struct ivc_poller *p, struct ivc_listener *l,
			    ivc_accept_cb cb, void *arg);

/**
 * ivc_poller_remove_listener() - stop watching @l (it is not closed).
 * @p: the poller.  From any thread, as for ivc_poller_add().
 * @l: the listener.
 *
 * Return: 0; -ENOENT; -EINVAL.
 */
int ivc_poller_remove_listener(struct ivc_poller *p, struct ivc_listener *l);

/**
 * ivc_poller_run() - run the loop in the calling thread.
 * @p:          the poller.
 * @timeout_ms: return after this long (< 0: until stopped or empty); it is
 *              looked at when the loop is idle.
 *
 * Pins the calling thread first if the options said IVC_POLLER_PIN.
 * Changes other threads handed to the loop are applied before it returns.
 *
 * Return: 0 when stopped with ivc_poller_stop() or when no channel and no
 * listener is left; -ETIMEDOUT; -EBUSY (another thread runs the poller, or
 * called from one of its callbacks); -EINVAL; another -errno if pinning or
 * epoll failed.
 */
int ivc_poller_run(struct ivc_poller *p, int timeout_ms);

/**
 * ivc_poller_fd() - a descriptor for an application's own event loop.
 * @p: the poller.
 *
 * It polls readable (POLLIN) when a channel of the poller may have
 * something to receive, a listener of the poller has a connection to
 * accept, or another thread handed the poller a change or called
 * ivc_poller_stop().  It is only reliable after ivc_poller_dispatch()
 * returned 0, which arms every channel; block on it only then.  The
 * descriptor (an epoll set) is owned by the poller.
 *
 * Return: the descriptor, or -EINVAL.
 */
int ivc_poller_fd(const struct ivc_poller *p);

/**
 * ivc_poller_dispatch() - one pass of the loop, for callers with their own.
 * @p: the poller.
 *
 * Applies the changes other threads handed over, calls the callback of
 * every channel that has something to receive (once each) and of the
 * listeners that have a connection; if nothing was ready, arms every
 * channel (ivc_arm()), so that ivc_poller_fd() polls readable when anything
 * comes, and takes the descriptor's stale wake-ups.  It never blocks and
 * never pins; ivc_poller_stop() only wakes the descriptor.  The loop is:
 *
 *     for (;;) {
 *             int r = ivc_poller_dispatch(p);
 *             if (r > 0) continue;        // (or serve other things first)
 *             if (r < 0) break;
 *             poll ivc_poller_fd(p) for POLLIN, with the loop's other fds;
 *     }
 *
 * Return: > 0 when it did work (call it again before sleeping on the
 * descriptor); 0 when idle and armed (safe to block on ivc_poller_fd());
 * -EBUSY (ivc_poller_run() or another dispatch runs the poller, or called
 * from one of its callbacks); -EINVAL.
 */
int ivc_poller_dispatch(struct ivc_poller *p);

/**
 * ivc_poller_stop() - make ivc_poller_run() return soon; callable from any
 * thread (including a callback).  Does not wait.
 * @p: the poller.
 *
 * A run that starts after it clears it.  To ivc_poller_dispatch() it is
 * a wake-up of ivc_poller_fd(): the next dispatch that finds nothing else
 * to do returns 1 for it, once, so that an application's loop goes round
 * and looks at its own reason to stop.
 *
 * Return: 0, or -EINVAL.
 */
int ivc_poller_stop(struct ivc_poller *p);

/**
 * ivc_poller_destroy() - free a poller that no thread runs.  Its channels
 * and listeners are not closed.
 * @p: the poller, or NULL.
 */
void ivc_poller_destroy(struct ivc_poller *p);

#ifdef __cplusplus
}
#endif
#endif
