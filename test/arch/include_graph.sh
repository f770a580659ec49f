#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/arch/include_graph.sh - no circle in the include graph of src/: no
# file includes (directly or through others) a header of a file that
# includes its own.  A file and its header are one node ("core/wait" is
# core/wait.c and core/wait_pvt.h), so x.c including y_pvt.h while y.c
# includes x_pvt.h is a circle, as two files calling each other are.
# (arch_no_cycles checks the same of the symbols the objects use.)
#
# usage: test/arch/include_graph.sh SOURCE_DIR     (ctest: arch_include_graph)
set -euo pipefail

src=${1:?usage: $0 SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$src/src"
# "user used" per include of an internal header, each node also its own edge.
find . -name '*.[ch]' | sed 's|^\./||' | sort | while read -r f; do
	node=${f%.c}
	node=${node%_pvt.h}
	echo "$node $node"
	sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" | while read -r h; do
		[ -f "$h" ] || { echo "$f includes \"$h\": not a path from src/" >&2; echo BAD; continue; }
		echo "$node ${h%_pvt.h}"
	done
done >"$work/edges"

if grep -qx BAD "$work/edges"; then
	exit 1
fi
if ! tsort "$work/edges" >/dev/null 2>"$work/err"; then
	echo "src/'s include graph has circles:" >&2
	cat "$work/err" >&2
	exit 1
fi
n=$(awk '$1 != $2' "$work/edges" | sort -u | wc -l)
echo "no circle in src/'s include graph ($(awk '{print $1}' "$work/edges" | sort -u | wc -l) nodes, $n includes)"
