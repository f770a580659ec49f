/* SPDX-License-Identifier: MIT */
#include <ivc/ivc.h>

#include "util/compiler_pvt.h"

IVC_PUBLIC const char *ivc_version(void)
{
	return IVC_VERSION_STRING;
}
