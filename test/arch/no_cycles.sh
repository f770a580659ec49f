#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/arch/no_cycles.sh - the library's files call down, never round: no
# file of src/ calls (directly or through others) into a file that calls
# it back.  (docs/design.md, "Layers as built".)
#
# usage: test/arch/no_cycles.sh OBJECT...   (the library's object files;
#        ctest passes $<TARGET_OBJECTS:ivc_static>)
#
# A file depends on another when its object file uses a symbol the other
# defines (nm).  tsort(1) (coreutils) finds any loop in that graph.  Run by
# hand after a build:
#   test/arch/no_cycles.sh build/src/CMakeFiles/ivc_static.dir/*.o
set -euo pipefail

[ $# -gt 1 ] || { echo "usage: $0 OBJECT..." >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for o in "$@"; do
	m=$(basename "$o")
	m=${m%.o}
	m=${m%.c}
	nm "$o" | awk -v m="$m" '
		NF == 3 && $2 ~ /^[TDBRV]$/ { print "D", m, $3 }
		NF == 2 && $1 == "U"        { print "U", m, $2 }'
done >"$work/syms"

# Edges "user definer", each file also a node of its own.
awk '$1 == "D" { own[$3] = $2; files[$2] = 1 }
     $1 == "U" { use[NR] = $2 " " $3 }
     END {
	for (f in files) print f, f
	for (i in use) {
		split(use[i], a, " ")
		if ((a[2] in own) && own[a[2]] != a[1]) print a[1], own[a[2]]
	}
     }' "$work/syms" | sort -u >"$work/edges"

n=$(awk '$1 != $2' "$work/edges" | wc -l)
[ "$n" -gt 0 ] || { echo "no dependencies found between $# files: wrong input?" >&2; exit 1; }
if ! tsort "$work/edges" >"$work/order" 2>"$work/err"; then
	echo "src/ has dependency loops (each line: files that call each other round):" >&2
	awk '/input contains a loop/ { if (l != "") print "  loop:" l; l = ""; next }
	     { sub(/^tsort: /, ""); l = l " " $0 }
	     END { if (l != "") print "  loop:" l }' "$work/err" >&2
	exit 1
fi
echo "no loops among $# files ($n dependencies); bottom-up order:"
tac "$work/order" | tr '\n' ' '
echo
