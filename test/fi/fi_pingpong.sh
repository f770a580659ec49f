#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/fi/fi_pingpong.sh - libfabric's own fi_pingpong between two
# processes over the provider "ivc", untagged and tagged, at several sizes,
# with its data check (-c).  Both ends must exit 0, and both endpoints'
# IVC_FI_STATS lines must show non-zero traffic, so a silent fallback to
# another provider cannot pass.  As root, also once with the server in
# another network namespace (FI_REMOTE_COMM: over tcp).  Exit 77 (skipped) without fi_pingpong.
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
	if [ -n "$ns" ]; then
		ip link del "$ns-a" 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# The namespace of the remote case (netns_case), when made.
ns=
# A port nobody listens on now (fi_pingpong's control connection).
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 30000))
		ss -ltnH "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
	return 1
}

# Wait (bounded) until the server listens on its control port (in
# namespace $2 if given).
wait_listen() {
	local in=()
	[ -z "${2:-}" ] || in=(ip netns exec "$2")
	for _ in $(seq 200); do
		"${in[@]}" ss -ltnH "sport = :$1" | grep -q . && return 0
		kill -0 "$server" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# The stats line of each endpoint: "sent N msgs B B, received N msgs B B,
# rendezvous N read N inline, connected N shm N xen N tcp".  RDV (set by
# the caller): "read" wants some messages received by rendezvous (read
# from the sender's memory), "inline" some whose payload the sender had to
# send after all.  VIA: the transport every channel the endpoint connected
# must have taken (shm unless the caller says otherwise).
RDV=
VIA=shm
check_stats() {
	local f=$1 line n_shm n_xen n_tcp want=n_$VIA
	line=$(grep '^ivc-fi: ep ' "$f" | tail -1) || { echo "no ivc-fi stats in $f" >&2; return 1; }
	if ! [[ $line =~ sent\ ([0-9]+)\ msgs\ ([0-9]+)\ B,\ received\ ([0-9]+)\ msgs\ ([0-9]+)\ B,\ rendezvous\ ([0-9]+)\ read\ ([0-9]+)\ inline,\ connected\ ([0-9]+)\ shm\ ([0-9]+)\ xen\ ([0-9]+)\ tcp ]]; then
		echo "bad stats line: $line" >&2
		return 1
	fi
	if [ "${BASH_REMATCH[1]}" -eq 0 ] || [ "${BASH_REMATCH[3]}" -eq 0 ]; then
		echo "no traffic through ivc: $line" >&2
		return 1
	fi
	n_shm=${BASH_REMATCH[7]} n_xen=${BASH_REMATCH[8]} n_tcp=${BASH_REMATCH[9]}
	if [ "${!want}" -eq 0 ] || [ "$((n_shm + n_xen + n_tcp))" -ne "${!want}" ]; then
		echo "not every channel over $VIA: $line" >&2
		return 1
	fi
	if { [ "$RDV" = read ] && [ "${BASH_REMATCH[5]}" -eq 0 ]; } ||
		{ [ "$RDV" = inline ] && [ "${BASH_REMATCH[6]}" -eq 0 ]; }; then
		echo "no rendezvous ($RDV) through ivc: $line" >&2
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

# FI_REMOTE_COMM: the server in another network namespace, reached over a
# veth pair, is another host as far as ivc can tell: its net: name goes
# over tcp (IVC_FI_HOST names each end's address, IVC_FI_ALLOW lets the
# other in).  Root and iproute2 only; skipped (with a word) otherwise.
netns_case() {
	local port rc=0 src=0 a=10.$((RANDOM % 200 + 20)).$((RANDOM % 250)).
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
		echo "skip: remote case (needs root and iproute2)"
		return 0
	fi
	ns=ivcfi$$
	ip netns add "$ns" && ip link add "$ns-a" type veth peer name "$ns-b" &&
		ip link set "$ns-b" netns "$ns" && ip addr add "${a}1/24" dev "$ns-a" &&
		ip link set "$ns-a" up && ip netns exec "$ns" ip addr add "${a}2/24" dev "$ns-b" &&
		ip netns exec "$ns" ip link set "$ns-b" up &&
		ip netns exec "$ns" ip link set lo up || { echo "FAIL remote: no veth pair" >&2; return 1; }
	port=$(free_port)
	IVC_FI_HOST=${a}2 IVC_FI_ALLOW=${a}0/24 timeout 60 ip netns exec "$ns" \
		fi_pingpong -p ivc -e rdm -B "$port" -S 4096 -I 20 -c >"$work/srv" 2>&1 &
	server=$!
	if ! wait_listen "$port" "$ns"; then
		echo "FAIL remote: the server never listened" >&2
		cat "$work/srv" >&2
		return 1
	fi
	IVC_FI_HOST=${a}1 IVC_FI_ALLOW=${a}0/24 timeout 60 \
		fi_pingpong -p ivc -e rdm -P "$port" -S 4096 -I 20 -c "${a}2" >"$work/cli" 2>&1 || rc=$?
	wait "$server" || src=$?
	server=
	if [ "$rc" -ne 0 ] || [ "$src" -ne 0 ] || ! VIA=tcp check_stats "$work/srv" || ! VIA=tcp check_stats "$work/cli" ||
		! grep -q "ep net:${a}1:" "$work/cli"; then
		echo "FAIL remote: client exit $rc, server exit $src" >&2
		echo "--- server:" >&2; cat "$work/srv" >&2
		echo "--- client:" >&2; cat "$work/cli" >&2
		return 1
	fi
	echo "ok: remote, another network namespace over tcp ($(grep '^ivc-fi' "$work/cli"))"
}

fail=0
netns_case || fail=1
for size in 1 64 4096 65536 1048576 4194304; do
	# From 16 KiB on (IVC_FI_RDV_MIN) the receiver reads the payload from
	# the sender's memory (rendezvous).
	RDV=; [ "$size" -lt 65536 ] || RDV=read
	run "msg -S $size" -S "$size" -I 50 -c || fail=1
	run "tagged -S $size" -S "$size" -I 50 -c -m tagged || fail=1
done
RDV=
# Rendezvous only while a channel is busy (IVC_FI_RDV=auto), which a
# ping-pong seldom makes it: fragments, mostly.
IVC_FI_RDV=auto run "tagged -S 1048576, auto" -S 1048576 -I 50 -c -m tagged || fail=1
# A receiver that may not read the sender's memory (IVC_FI_CMA=0 stands
# in for ptrace rules that forbid it): each side's first large message
# is sent inline after its RTS, the rest inline from the start.
RDV=inline IVC_FI_CMA=0 run "tagged -S 1048576, inline" -S 1048576 -I 20 -c -m tagged || fail=1
# Every size fi_pingpong knows (0 B to 4 MiB), a few iterations each.
run "msg -S all" -S all -I 5 -c || fail=1
exit $fail
