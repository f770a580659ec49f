#!/bin/sh
# dpdk-sdk.sh OUTDIR: put DPDK's driver-SDK headers for the installed
# libdpdk-dev into OUTDIR/include (issue 19: the net_ivc PMD).
#
# Debian's libdpdk-dev ships the application headers but not those a driver
# needs (ethdev_driver.h, bus_vdev_driver.h, ...).  They are taken from the
# Debian source package of exactly the installed version, downloaded with
# `apt-get source --download-only` (deb-src for the same archive must be
# configured: .ci/quickstart does that) into a cache, and never committed.
# Only the upstream tarball is read: Debian's patches to 22.11 do not touch
# these headers.
#
# Environment: IVC_DPDK_SOURCE_CACHE, the download cache (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/ivc/dpdk-src).
# Exit status 0 when OUTDIR/include holds the headers of the installed
# version; otherwise 1, with the reason on stderr.
set -eu
out=${1:?usage: dpdk-sdk.sh OUTDIR}
say() { echo "dpdk-sdk: $*" >&2; }

debver=$(dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null) ||
	{ say "libdpdk-dev is not installed"; exit 1; }
[ -n "$debver" ] || { say "libdpdk-dev is not installed"; exit 1; }
stamp="$out/include/.ivc-dpdk-version"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$debver" ]; then
	exit 0
fi

upver=${debver#*:}
upver=${upver%-*}
cache=${IVC_DPDK_SOURCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ivc/dpdk-src}
tarball="$cache/dpdk_$upver.orig.tar.xz"
if [ ! -f "$tarball" ]; then
	mkdir -p "$cache"
	say "downloading the source of dpdk $debver into $cache"
	(cd "$cache" && apt-get source --download-only -q "dpdk=$debver" >&2) || {
		say "apt-get source dpdk=$debver failed: add a deb-src line for the archive libdpdk-dev came from and run apt-get update (.ci/quickstart deps does both)"
		exit 1
	}
fi
[ -f "$tarball" ] || { say "no $tarball after the download"; exit 1; }

# The driver-SDK headers net_ivc includes, and what they include that the
# binary package lacks.
want="lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h
lib/eal/include/dev_driver.h lib/eal/include/bus_driver.h
drivers/bus/vdev/bus_vdev_driver.h"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ivc-dpdk-sdk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
top=$(tar -tJf "$tarball" | head -n 1 | cut -d/ -f1)
members=""
for f in $want; do members="$members $top/$f"; done
# shellcheck disable=SC2086  # a list of members
tar -xJf "$tarball" -C "$tmp" $members || { say "$tarball lacks one of: $want"; exit 1; }
rm -rf "$out/include"
mkdir -p "$out/include"
for f in $want; do cp "$tmp/$top/$f" "$out/include/"; done
echo "$debver" >"$stamp"
say "driver-SDK headers of dpdk $debver in $out/include"
