#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The man pages (ctest: man_pages).
#
# usage: check.sh LIBIVC_SO SOURCE_DIR [NM]
#
#  (a) every function libivc.so exports has a page man/man3/<name>.3: a page
#      whose NAME and SYNOPSIS sections name it, or a `.so man3/<page>.3`
#      link to one;
#  (b) every page in man/man1, man/man3 and man/man7 renders with
#      `groff -ww -z -t -man -Tutf8` (all warnings on) without a word on
#      stderr; pages are ASCII (groff 1.22 reads Latin-1); a page with a
#      table starts with the '\" t line that makes man(1) run tbl;
#  (c) every .so link is that one line and points to a page that exists;
#  (d) every reference to an ivc page, `.BR ivc_wait (3)`, names one that
#      exists.
#
# groff comes from Debian's groff-base (.ci/quickstart installs it with the
# test packages).  Without it this test fails: it does not pass unchecked.
set -uo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 LIBIVC_SO SOURCE_DIR [NM]" >&2
	exit 2
fi
lib=$1
man=$2/man
nm=${3:-nm}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if ! command -v groff >/dev/null 2>&1; then
	echo "FAIL: groff is not installed: the pages cannot be checked." >&2
	echo "      On Debian: apt-get install groff-base (bash .ci/quickstart deps)" >&2
	exit 1
fi
command -v "$nm" >/dev/null 2>&1 || { echo "FAIL: no $nm (binutils)" >&2; exit 1; }
[ -f "$lib" ] || { echo "FAIL: no library $lib" >&2; exit 1; }
[ -d "$man/man3" ] || { echo "FAIL: no $man/man3" >&2; exit 1; }

# The text of section $2 (e.g. NAME) of page $1, one line.
section() {
	awk -v s="$2" '/^\.SH/ { on = ($2 == s || $2 == "\"" s "\""); next }
		on { printf "%s ", $0 }' "$1"
}

# The target of .so link $1 (relative to man/), or nothing if it is a page.
# A link is one `.so` line, optionally after comment lines.
so_target() {
	awk '/^\.\\"/ { next } NR == FNR { print; exit }' "$1" |
		sed -n 's/^\.so[[:space:]]\{1,\}\([^[:space:]]*\)[[:space:]]*$/\1/p'
}

# (c) Links: one line each, to a page that exists (not to another link).
links=0
for f in "$man"/man[0-9]/*.[0-9]; do
	[ -e "$f" ] || continue
	t=$(so_target "$f")
	[ -n "$t" ] || { grep -q '^\.so' "$f" && fail "${f#"$man"/}: a .so line inside a page"; continue; }
	links=$((links + 1))
	[ "$(grep -cv '^\.\\"' "$f")" = 1 ] ||
		fail "${f#"$man"/}: a link must be its .so line alone"
	if [ ! -f "$man/$t" ]; then
		fail "${f#"$man"/}: .so $t: no such page"
	elif [ -n "$(so_target "$man/$t")" ]; then
		fail "${f#"$man"/}: .so $t: a link to a link"
	fi
done

# (a) Every exported function has a page.  Reserved names (_X..., __...)
# are the toolchain's, not the library's API.
syms=$("$nm" -D --defined-only "$lib" |
	awk '$2 == "T" || $2 == "W" || $2 == "i" { sub(/@.*/, "", $3); print $3 }' |
	grep -v '^_[_A-Z]' | grep -vx -e _init -e _fini | sort -u)
[ -n "$syms" ] || fail "$lib exports no function (wrong file?)"
nsyms=0
for s in $syms; do
	nsyms=$((nsyms + 1))
	f=$man/man3/$s.3
	if [ ! -f "$f" ]; then
		fail "$s: exported by $(basename "$lib") but has no page man3/$s.3"
		continue
	fi
	t=$(so_target "$f")
	page=$f
	[ -z "$t" ] || page=$man/$t
	[ -f "$page" ] || continue # (reported above)
	section "$page" NAME | grep -qw -- "$s" ||
		fail "$s: man3/$s.3 -> ${page#"$man"/}: NAME does not name it"
	section "$page" SYNOPSIS | grep -q -- "$s(" ||
		fail "$s: man3/$s.3 -> ${page#"$man"/}: SYNOPSIS does not declare it"
done

# (b) Every page renders without a warning.  From man/, as man(1) does from
# a man directory, so that a link's .so resolves too.
pages=0
for f in "$man"/man1/*.1 "$man"/man3/*.3 "$man"/man7/*.7; do
	[ -e "$f" ] || continue
	rel=${f#"$man"/}
	[ -z "$(so_target "$f")" ] || continue # (its target is rendered)
	pages=$((pages + 1))
	if LC_ALL=C grep -n '[^[:print:][:space:]]' "$f" >/dev/null; then
		fail "$rel: not ASCII: $(LC_ALL=C grep -n '[^[:print:][:space:]]' "$f" | head -n 3)"
	fi
	if grep -q '^\.TS' "$f" && [ "$(head -n 1 "$f")" != "'\\\" t" ]; then
		fail "$rel: has a table but does not start with '\\\" t (man would not run tbl)"
	fi
	out=$(cd "$man" && groff -ww -z -t -man -Tutf8 "$rel" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || [ -n "$out" ]; then
		fail "$rel: groff -ww (exit $rc):"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
done

# (d) Every reference to an ivc page (.BR ivc_wait (3), .RB ( ivc (7), ...)
# names one that exists.
refs=0
while IFS=: read -r file line ref; do
	refs=$((refs + 1))
	name=${ref% (*}
	sec=${ref##*(}
	sec=${sec%)}
	[ -f "$man/man$sec/$name.$sec" ] ||
		fail "${file#"$man"/}:$line: $name($sec): no such page"
done < <(cd "$man" && grep -no '^\.[BR][BRI]* .*' man[0-9]/*.[0-9] |
	grep -o '^[^:]*:[0-9]*:\|ivc[-_a-z0-9]* ([1-9])' |
	awk '/:$/ { where = $0; next } { print where $0 }' |
	sed "s|^|$man/|")
echo "man pages: $nsyms exported functions, $pages pages, $links links, $refs references checked"
if [ $fails -ne 0 ]; then
	echo "man pages: $fails problem(s)"
	exit 1
fi
echo "man pages: all good"
