# shellcheck shell=bash
# test/pmd_so.sh (sourced): where DPDK will load the net_ivc PMD from.
#
# EAL refuses a plugin (-d) below a world-writable directory ("directory
# path /tmp is world-writable and insecure"), so a build tree in a clone
# under /tmp cannot be loaded in place.  pmd_safe_so SO sets PMD_SO to SO
# itself when no directory above it is world-writable, else to a copy in a
# private directory under $HOME/.cache, whose path it puts in PMD_SO_TMP
# for the caller to remove (pmd_safe_so_cleanup).  Return 1 with a message
# when no such place can be had.

# pmd_world_writable_above PATH: some directory above PATH is o+w.
pmd_world_writable_above() {
	local d
	d=$(dirname "$(readlink -f "$1")")
	while :; do
		[ -n "$(find "$d" -maxdepth 0 -perm -0002 2> /dev/null)" ] && return 0
		[ "$d" = / ] && return 1
		d=$(dirname "$d")
	done
}

pmd_safe_so() {
	local so=$1 dir
	PMD_SO=$so PMD_SO_TMP=""
	pmd_world_writable_above "$so" || return 0
	mkdir -p "$HOME/.cache" && dir=$(mktemp -d "$HOME/.cache/ivc-pmd.XXXXXX") || {
		echo "pmd_so: no private directory for a copy of $so under $HOME/.cache" >&2
		return 1
	}
	if pmd_world_writable_above "$dir/x"; then
		rm -rf "$dir"
		echo "pmd_so: $so and $HOME/.cache both lie below a world-writable directory: DPDK will not load the PMD from either" >&2
		return 1
	fi
	cp "$so" "$dir/" || { rm -rf "$dir"; return 1; }
	PMD_SO_TMP=$dir PMD_SO=$dir/$(basename "$so")
}

pmd_safe_so_cleanup() {
	[ -n "${PMD_SO_TMP:-}" ] && rm -rf "$PMD_SO_TMP"
	PMD_SO_TMP=""
}
