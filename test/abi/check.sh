#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The exported ABI (ctest: abi_symbols; the rules are docs/abi.md).
#
# usage: check.sh LIBIVC_SO SOURCE_DIR [READELF]
#
#  (a) every symbol libivc.so exports (dynamic, defined) is a function named
#      ivc_*, and carries a version node of src/libivc.map: none is
#      unversioned (the base version) or in a node the map does not define;
#  (b) the functions it exports are exactly the functions declared in the
#      public headers include/ivc/*.h: one exported but not declared (an
#      internal function leaked), or declared but not exported (a promise
#      the library does not keep), fails;
#  (c) the names src/libivc.map lists are exactly those functions too (a
#      stale name in the map would be exported the day someone defines it).
#
# The headers are parsed, not compiled: comments and preprocessor lines
# (function-like macros included) are dropped, the text is cut at ; { and },
# and a piece that is a declarator list ending in ivc_<name>( and is not a
# typedef declares the function <name>.
set -uo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 LIBIVC_SO SOURCE_DIR [READELF]" >&2
	exit 2
fi
lib=$1
src=$2
readelf=${3:-readelf}
map=$src/src/libivc.map
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

command -v "$readelf" >/dev/null 2>&1 || { echo "FAIL: no $readelf (binutils)" >&2; exit 1; }
[ -f "$lib" ] || { echo "FAIL: no library $lib" >&2; exit 1; }
[ -f "$map" ] || { echo "FAIL: no version script $map" >&2; exit 1; }
ls "$src"/include/ivc/*.h >/dev/null 2>&1 || { echo "FAIL: no headers in $src/include/ivc" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ivc-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Drop /* */ and // comments, then preprocessor lines with their
# continuations, from the C text on stdin.
strip_c() {
	awk 'BEGIN { RS = "\001" } {
		out = ""; s = $0
		while (length(s)) {
			i = index(s, "/*"); j = index(s, "//")
			if (!i && !j) { out = out s; break }
			if (i && (!j || i < j)) {
				out = out substr(s, 1, i - 1) " "
				s = substr(s, i + 2); k = index(s, "*/")
				s = k ? substr(s, k + 2) : ""
			} else {
				out = out substr(s, 1, j - 1)
				s = substr(s, j + 2); k = index(s, "\n")
				s = k ? substr(s, k) : ""
			}
		}
		printf "%s", out
	}' | awk '
		cont { cont = /\\$/; next }
		/^[ \t]*#/ { cont = /\\$/; next }
		{ print }'
}

# The version nodes the map defines (IVC_0.2 {), and the names it lists as
# global (every line of a node that is a plain name followed by ;).
strip_c <"$map" >"$tmp/map"
grep -oE '^[[:space:]]*IVC_[0-9][0-9.]*[[:space:]]*\{' "$tmp/map" |
	grep -oE 'IVC_[0-9.]+' | sort -u >"$tmp/nodes"
[ -s "$tmp/nodes" ] || fail "src/libivc.map defines no IVC_* version node"
awk '/^[ \t]*local:/ { loc = 1 } /^[ \t]*global:/ { loc = 0 } /}/ { loc = 0 }
	!loc && /^[ \t]*[A-Za-z_][A-Za-z0-9_]*;[ \t]*$/ { gsub(/[ \t;]/, ""); print }' \
	"$tmp/map" | sort >"$tmp/map_names"
if [ "$(sort -u "$tmp/map_names" | wc -l)" != "$(wc -l <"$tmp/map_names")" ]; then
	fail "src/libivc.map lists a name twice: $(uniq -d "$tmp/map_names" | tr '\n' ' ')"
fi
sort -u -o "$tmp/map_names" "$tmp/map_names"

# What the library exports: readelf --dyn-syms, defined entries only.
# Columns: Num: Value Size Type Bind Vis Ndx Name[@[@]version].
"$readelf" --dyn-syms -W "$lib" >"$tmp/dynsyms" || { echo "FAIL: $readelf $lib" >&2; exit 1; }
awk '$1 ~ /^[0-9]+:$/ && NF >= 8 && $7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK" || $5 == "GNU_UNIQUE") {
	print $4, $7, $8 }' "$tmp/dynsyms" >"$tmp/exports"
: >"$tmp/lib_names"
while read -r type ndx sym; do
	name=${sym%%@*}
	ver=""
	case $sym in
	*@@*) ver=${sym#*@@} ;;
	*@*) ver=${sym#*@} ;;
	esac
	# GNU ld defines each version node as an absolute symbol of that name
	# (shown bare, or as IVC_0.2@@IVC_0.2 by older readelf).
	if [ "$ndx" = ABS ] && { [ -z "$ver" ] || [ "$name" = "$ver" ]; } &&
		grep -qx -- "$name" "$tmp/nodes"; then
		continue
	fi
	case $name in
	ivc_*) ;;
	*) fail "$name: exported, but not an ivc_ name (${sym})"; continue ;;
	esac
	[ "$type" = FUNC ] || fail "$name: exported as $type, not a function"
	if [ -z "$ver" ]; then
		fail "$name: exported without a version (not in src/libivc.map?)"
	elif ! grep -qx -- "$ver" "$tmp/nodes"; then
		fail "$name: exported in version $ver, which src/libivc.map does not define"
	fi
	echo "$name" >>"$tmp/lib_names"
done <"$tmp/exports"
sort -u -o "$tmp/lib_names" "$tmp/lib_names"
[ -s "$tmp/lib_names" ] || fail "$lib exports no ivc_ function (wrong file?)"

# What the public headers declare.
for h in "$src"/include/ivc/*.h; do
	strip_c <"$h"
done | tr '\n' ' ' | tr ';{}' '\n\n\n' |
	awk '/^[ \t]*typedef[ \t]/ { next }
	match($0, /^[ \t]*[A-Za-z_][A-Za-z0-9_ \t*]*[ \t*]ivc_[A-Za-z0-9_]*[ \t]*\(/) {
		d = substr($0, RSTART, RLENGTH)
		sub(/[ \t]*\($/, "", d)
		sub(/.*[ \t*]/, "", d)
		print d
	}' | sort >"$tmp/hdr_names"
[ -s "$tmp/hdr_names" ] || fail "include/ivc/*.h declare no ivc_ function (parser broken?)"
sort -u -o "$tmp/hdr_names" "$tmp/hdr_names"

while read -r n; do
	fail "$n: exported by $(basename "$lib") but declared in no public header"
done < <(comm -23 "$tmp/lib_names" "$tmp/hdr_names")
while read -r n; do
	fail "$n: declared in include/ivc/ but not exported by $(basename "$lib")"
done < <(comm -13 "$tmp/lib_names" "$tmp/hdr_names")
while read -r n; do
	fail "$n: listed in src/libivc.map but declared in no public header"
done < <(comm -23 "$tmp/map_names" "$tmp/hdr_names")
while read -r n; do
	fail "$n: declared in include/ivc/ but not listed in src/libivc.map"
done < <(comm -13 "$tmp/map_names" "$tmp/hdr_names")

echo "abi: $(wc -l <"$tmp/lib_names") exported ivc_ symbols, $(wc -l <"$tmp/hdr_names") declared," \
	"$(wc -l <"$tmp/map_names") in the map; nodes: $(tr '\n' ' ' <"$tmp/nodes")"
if [ $fails -ne 0 ]; then
	echo "abi: $fails problem(s)"
	exit 1
fi
echo "abi: all good"
