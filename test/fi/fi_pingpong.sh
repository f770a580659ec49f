#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/fi/fi_pingpong.sh - libfabric's own fi_pingpong between two
# processes over the provider "ivc", untagged and tagged, at several sizes,
# with its data check (-c).  Both ends must exit 0, and both endpoints'
# IVC_FI_STATS lines must show non-zero traffic, so a silent fallback to
# another provider cannot pass.  Exit 77 (skipped) without fi_pingpong.
#
# usage: FI_PROVIDER_PATH=<dir of libivc-fi.so> test/fi/fi_pingpong.sh
set -euo pipefail

command -v fi_pingpong >/dev/null || { echo "fi_pingpong not installed: skipped"; exit 77; }
[ -n "${FI_PROVIDER_PATH:-}" ] || { echo "FI_PROVIDER_PATH is not set" >&2; exit 1; }
export FI_PROVIDER=ivc IVC_FI_STATS=1

work=$(mktemp -d)
server=
cleanup() {
	[ -z "$server" ] || kill "$server" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# A port nobody listens on now (fi_pingpong's control connection).
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 30000))
		ss -ltnH "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
	return 1
}

# Wait (bounded) until the server listens on its control port.
wait_listen() {
	for _ in $(seq 200); do
		ss -ltnH "sport = :$1" | grep -q . && return 0
		kill -0 "$server" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# The stats line of each endpoint: "sent N msgs B B, received N msgs B B".
check_stats() {
	local f=$1 line
	line=$(grep '^ivc-fi: ep ' "$f" | tail -1) || { echo "no ivc-fi stats in $f" >&2; return 1; }
	if ! [[ $line =~ sent\ ([0-9]+)\ msgs\ ([0-9]+)\ B,\ received\ ([0-9]+)\ msgs\ ([0-9]+)\ B ]]; then
		echo "bad stats line: $line" >&2
		return 1
	fi
	if [ "${BASH_REMATCH[1]}" -eq 0 ] || [ "${BASH_REMATCH[3]}" -eq 0 ]; then
		echo "no traffic through ivc: $line" >&2
		return 1
	fi
}

run() {
	local name=$1; shift
	local port rc=0 src=0
	port=$(free_port)
	timeout 60 fi_pingpong -p ivc -e rdm -B "$port" "$@" >"$work/srv" 2>&1 &
	server=$!
	if ! wait_listen "$port"; then
		echo "FAIL $name: the server never listened" >&2
		cat "$work/srv" >&2
		return 1
	fi
	timeout 60 fi_pingpong -p ivc -e rdm -P "$port" "$@" 127.0.0.1 >"$work/cli" 2>&1 || rc=$?
	wait "$server" || src=$?
	server=
	if [ "$rc" -ne 0 ] || [ "$src" -ne 0 ] || ! check_stats "$work/srv" || ! check_stats "$work/cli"; then
		echo "FAIL $name: client exit $rc, server exit $src" >&2
		echo "--- server:" >&2; cat "$work/srv" >&2
		echo "--- client:" >&2; cat "$work/cli" >&2
		return 1
	fi
	echo "ok: $name ($(grep '^ivc-fi' "$work/cli"))"
}

fail=0
for size in 1 64 4096 65536 1048576 4194304; do
	run "msg -S $size" -S "$size" -I 50 -c || fail=1
	run "tagged -S $size" -S "$size" -I 50 -c -m tagged || fail=1
done
# Every size fi_pingpong knows (0 B to 4 MiB), a few iterations each.
run "msg -S all" -S all -I 5 -c || fail=1
exit $fail
