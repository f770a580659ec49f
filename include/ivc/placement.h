/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/placement.h
 * @brief CPU placement through hwloc (sched_setaffinity without it).
 */
#ifndef IVC_PLACEMENT_H
#define IVC_PLACEMENT_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * ivc_cpu_count() - CPUs (processing units) this process may run on.
 *
 * Return: the count (>= 1), or a negative errno.
 */
int ivc_cpu_count(void);

/**
 * ivc_cpu_list() - OS indices of the CPUs this process may run on, in order.
 * @cpus: array to fill.
 * @max:  its size.
 *
 * Return: how many there are (may exceed @max; only @max are written), or a
 * negative errno.
 */
int ivc_cpu_list(int *cpus, int max);

/**
 * ivc_pin_thread() - bind the calling thread to one CPU.
 * @cpu: OS index of the CPU (as in /proc/cpuinfo and taskset).
 *
 * Return: 0; -EINVAL (no such CPU, or not allowed); another -errno.
 */
int ivc_pin_thread(int cpu);

/**
 * ivc_current_cpu() - the CPU the calling thread runs on now.
 *
 * Return: its OS index, or a negative errno.
 */
int ivc_current_cpu(void);

/**
 * ivc_have_hwloc() - whether this build pins through hwloc.
 *
 * Return: 1 or 0.
 */
int ivc_have_hwloc(void);

#ifdef __cplusplus
}
#endif
#endif
