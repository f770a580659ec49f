/* SPDX-License-Identifier: MIT */
/**
 * @file ivc/ivc.h
 * @brief The whole public API of ivc: include this one header.
 */
#ifndef IVC_IVC_H
#define IVC_IVC_H

#include <ivc/version.h>
#include <ivc/error.h>
#include <ivc/channel.h>
#include <ivc/shm.h>
#include <ivc/xen.h>
#include <ivc/tcp.h>
#include <ivc/zerocopy.h>
#include <ivc/depth.h>
#include <ivc/msg.h>
#include <ivc/wait.h>
#include <ivc/stats.h>
#include <ivc/poller.h>
#include <ivc/placement.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * ivc_version() - the library's version at run time.
 *
 * Return: a static string such as "0.1.0".
 */
const char *ivc_version(void);

#ifdef __cplusplus
}
#endif
#endif
