/* SPDX-License-Identifier: MIT */
#include <ivc/ivc.h>

#include "compiler.h"

IVC_PUBLIC const char *ivc_version(void)
{
	return IVC_VERSION_STRING;
}
