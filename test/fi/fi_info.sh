#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/fi/fi_info.sh - libfabric's fi_info lists the provider "ivc" (loaded
# from FI_PROVIDER_PATH, which ctest sets to the build tree's src/fi/) with
# what Open MPI's ofi MTL and fi_pingpong look for.  Exit 77 (skipped)
# without fi_info (Debian: libfabric-bin).
#
# usage: FI_PROVIDER_PATH=<dir of libivc-fi.so> test/fi/fi_info.sh
set -euo pipefail

command -v fi_info >/dev/null || { echo "fi_info not installed: skipped"; exit 77; }
[ -n "${FI_PROVIDER_PATH:-}" ] || { echo "FI_PROVIDER_PATH is not set" >&2; exit 1; }

out=$(timeout 60 fi_info -p ivc -v)
first=$(timeout 60 fi_info -p ivc | head -1)
[ "$first" = "provider: ivc" ] || { echo "fi_info -p ivc: '$first'" >&2; exit 1; }
fail=0
for want in FI_EP_RDM FI_TAGGED FI_MSG FI_DIRECTED_RECV FI_ORDER_SAS \
	FI_LOCAL_COMM FI_SOURCE FI_THREAD_DOMAIN FI_PROGRESS_MANUAL; do
	if grep -qw -- "$want" <<<"$out"; then
		echo "ok: $want"
	else
		echo "missing: $want" >&2
		fail=1
	fi
done
# A hint the provider cannot meet finds nothing (not another provider's
# entry under our name).
if timeout 60 fi_info -p ivc -t FI_EP_MSG >/dev/null 2>&1; then
	echo "fi_info -p ivc -t FI_EP_MSG found an entry" >&2
	fail=1
else
	echo "ok: no FI_EP_MSG"
fi
exit $fail
