#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/arch/layer_table.sh - docs/design.md's layer table names every file
# of src/, and no file that is not there; every internal header ends in
# _pvt.h, so none is named like a public one (include/ivc/).
#
# usage: test/arch/layer_table.sh SOURCE_DIR
set -euo pipefail

src=${1:?usage: $0 SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The section "## Layers as built", every `src/...` it names ("x.[ch]" is
# x.c and x.h).
awk '/^## Layers as built/ { on = 1; next } /^## / { on = 0 } on' \
	"$src/docs/design.md" |
	grep -o '`src/[A-Za-z0-9_./]*\(\[ch\]\)\{0,1\}`' | tr -d '`' |
	sed 's/^\(.*\)\.\[ch\]$/\1.c\n\1.h/' | sed 's|^src/||' | grep '\.[ch]$' | sort -u \
	>"$work/table"
(cd "$src/src" && find . -name '*.[ch]' | sed 's|^\./||') | sort -u >"$work/tree"

missing=$(comm -13 "$work/table" "$work/tree")
gone=$(comm -23 "$work/table" "$work/tree")
[ -z "$missing" ] || echo "in src/ but not in docs/design.md's layer table:" $missing >&2
[ -z "$gone" ] || echo "in docs/design.md's layer table but not in src/:" $gone >&2
[ -z "$missing$gone" ] || exit 1
bad=$(grep '\.h$' "$work/tree" | grep -v '_pvt\.h$' || true)
[ -z "$bad" ] || { echo "internal headers not named *_pvt.h:" $bad >&2; exit 1; }
echo "docs/design.md's layer table names all $(wc -l <"$work/tree") files of src/"
