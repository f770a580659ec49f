#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/arch/no_cycles.sh - the library's files call down, never round and
# never up: no file of src/ calls (directly or through others) into a file
# that calls it back, and no folder calls a folder above it or beside it.
# (docs/design.md, "Layers as built".)
#
# usage: test/arch/no_cycles.sh OBJECT...   (the library's object files;
#        ctest passes $<TARGET_OBJECTS:ivc_static>)
#
# A file depends on another when its object file uses a symbol the other
# defines (nm).  tsort(1) (coreutils) finds any loop in that graph.  Run by
# hand after a build:
#   test/arch/no_cycles.sh $(find build/src/CMakeFiles/ivc_static.dir -name '*.o')
set -euo pipefail

[ $# -gt 1 ] || { echo "usage: $0 OBJECT..." >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for o in "$@"; do
	m=$(basename "$o")
	m=${m%.o}
	m=${m%.c}
	m=$(basename "$(dirname "$o")")/$m   # folder/file
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
# The folders' ranks, bottom first: a file may use its own folder and the
# folders of lower rank only (a transport never calls the endpoint calls
# that choose it, the core never calls a transport or the poller).
rank() {
	case $1 in
	util) echo 0 ;; core | placement) echo 1 ;; shm | xen | tcp) echo 2 ;;
	endpoint) echo 3 ;; poller) echo 4 ;; *) echo "" ;;
	esac
}
up=0
while read -r a b; do
	fa=${a%%/*} fb=${b%%/*}
	[ "$fa" != "$fb" ] || continue
	ra=$(rank "$fa") rb=$(rank "$fb")
	if [ -z "$ra" ] || [ -z "$rb" ]; then
		echo "folder src/${ra:+$fb}${ra:-$fa}/ has no rank in $0: add it" >&2
		up=1
	elif [ "$rb" -ge "$ra" ]; then
		echo "arrow up or sideways: $a uses $b" >&2
		up=1
	fi
done <"$work/edges"
[ "$up" = 0 ] || exit 1
echo "no loops among $# files ($n dependencies), no call up or sideways between folders; bottom-up order:"
tac "$work/order" | tr '\n' ' '
echo
