# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034  # its variables are its users'
#
# test/dpdk/pmd_lib.sh - sourced by test/dpdk/pmd_*.sh and perf/pmd_bench.sh:
# a PMD pair by kind, DPDK processes started under timeout(1) with unique
# EAL file prefixes, waits on what they print or create (bounded loops,
# never a fixed sleep), and a trap that stops whatever is left.
#
# Kinds (pmd_kind BUILD KIND):
#   memif  DPDK's net_memif: VDEV_SERVER / VDEV_CLIENT on one socket name
#          (22.11 takes it as an abstract socket by default: no file)
#   ivc    net_ivc from BUILD/src/dpdk/librte_net_ivc.so (-d), over a shm:
#          address of its own; the PMD must exist (else exit 77)
#   vhost  net_vhost (server) and net_virtio_user (client): not shared
#          memory PMDs of the same kind, but a pair with RX interrupts,
#          on which ivc-dpdk-check intr is shown to work (pmd_intr.sh)
#
# Environment: IVC_DPDK_CHECK (ivc-dpdk-check), IVC_DPDK_CHECK_PRELOAD (a
# module preloaded into ivc-dpdk-check alone: slow_unmap.c), IVC_DPDK_TESTPMD
# (dpdk-testpmd), IVC_PMD_SO (librte_net_ivc.so), IVC_DPDK_KEEP=1 keeps the
# work directory and its logs.

PMD_TAG=""			# unique per run (pmd_setup): file prefixes, names
PMD_PIDS=()			# everything we started (timeout's pids)
PMD_PREFIXES=()			# EAL file prefixes used
# shellcheck source=test/pmd_so.sh
. "$(dirname "${BASH_SOURCE[0]}")/../pmd_so.sh"
PMD_WORK=""

pmd_say() { echo "${PMD_NAME:-pmd}: $*"; }

# pmd_usage: the calling script's header comment, its usage.
pmd_usage() {
	awk 'NR > 2 && /^#/ { if (!/shellcheck/) { sub(/^# ?/, ""); print }; next }
	     NR > 2 { exit }' "$0"
}
pmd_skip() { pmd_say "SKIP: $*"; exit 77; }
pmd_fail() {
	pmd_say "FAIL: $*"
	pmd_dump_logs
	exit 1
}

# The EAL runtime directory of a file prefix (eal_get_runtime_dir).
pmd_rundir() {
	if [ "$(id -u)" = 0 ]; then
		echo /var/run/dpdk
	else
		echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk"
	fi
}

pmd_cleanup() {
	local pid i
	for pid in "${PMD_PIDS[@]}"; do
		pmd_stop_tree "$pid" TERM
	done
	for pid in "${PMD_PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2> /dev/null || break
			sleep 0.1
		done
		pmd_stop_tree "$pid" KILL
	done
	for i in "${PMD_PREFIXES[@]}"; do
		rm -rf "$(pmd_rundir)/${i:?}"
	done
	pmd_safe_so_cleanup
	if [ -n "$PMD_WORK" ]; then
		if [ "${IVC_DPDK_KEEP:-0}" = 1 ]; then
			echo "logs kept in $PMD_WORK"
		else
			rm -rf "$PMD_WORK"
		fi
	fi
}

# pmd_stop_tree PID SIGNAL: a timeout(1) of ours and the program under it.
pmd_stop_tree() {
	local child
	kill -0 "$1" 2> /dev/null || return 0
	for child in $(pgrep -P "$1"); do
		kill -"$2" "$child" 2> /dev/null
	done
	kill -"$2" "$1" 2> /dev/null
}

pmd_dump_logs() {
	local f
	[ -n "$PMD_WORK" ] || return 0
	for f in "$PMD_WORK"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f") (last 40 lines)"
		grep -av '^memif_connect_client(): Failed to connect' "$f" |
			tr -d '\033' | tail -n 40
	done
}

# pmd_setup NAME: the work directory and the trap.
pmd_setup() {
	PMD_NAME=$1
	# $BASHPID, not $$: unique in a subshell too (perf/pmd_bench.sh
	# runs each measurement in one)
	PMD_TAG="ivc$BASHPID"
	command -v pgrep > /dev/null || pmd_skip "no pgrep (procps)"
	PMD_WORK=$(mktemp -d "${TMPDIR:-/tmp}/ivc-dpdk.XXXXXX") ||
		pmd_fail "mktemp"
	trap pmd_cleanup EXIT
	trap 'pmd_say "interrupted"; exit 1' INT TERM
	# Two CPUs: ours on the first, the peer's on the second (each process
	# spins one lcore); one CPU: both on it, slowly.
	local n
	n=$(nproc)
	PMD_CPU_A=0
	PMD_CPU_B=$((n > 1 ? 1 : 0))
}

# pmd_kind BUILD KIND: the programs, and the kind's vdev strings and
# quirks:
#   VDEV_SERVER, VDEV_CLIENT  --vdev for each role
#   PMD_EAL                    more EAL arguments (the PMD's .so)
#   PMD_CHECK_OPTS             ivc-dpdk-check options the kind needs
#   PMD_RECONNECT_CLIENT       resume --reconnect for a client whose server
#                              was restarted (memif: restart, its client
#                              connects only in dev_start)
#   PMD_TP_MTU                 1: testpmd may be given --max-pkt-len and
#                              --enable-scatter for large frames
#   PMD_ZC_CLIENT              the devarg for zero-copy on the client
#   PMD_RESUME_OPTS            resume options (memif: --quiesce, as its
#                              data path faults when the peer dies in
#                              the middle of a burst call)
#   PMD_PAIR_SIZES             the frames pmd_pair.sh sends (memif: none
#                              over 2 KiB: its copy-mode TX takes one
#                              ring slot more than is free for a frame
#                              of several buffers, and overwrites one
#                              the receiver has not read, when the ring
#                              is nearly full: eth_memif_tx in 22.11)
pmd_kind() {
	local build=$1
	PMD_KIND=$2
	CHECK=${IVC_DPDK_CHECK:-$build/test/dpdk/ivc-dpdk-check}
	TESTPMD=${IVC_DPDK_TESTPMD:-$(command -v dpdk-testpmd)}
	[ -x "$CHECK" ] || pmd_fail "no ivc-dpdk-check at $CHECK"
	# A module preloaded into the check alone (stdbuf preloads its own
	# into everything it starts: add to it, do not replace it).
	CHECK_PRE=()
	if [ -n "${IVC_DPDK_CHECK_PRELOAD:-}" ]; then
		[ -f "$IVC_DPDK_CHECK_PRELOAD" ] || pmd_fail "no module at $IVC_DPDK_CHECK_PRELOAD"
		CHECK_PRE=(sh -c 'exec env LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD:}$0" "$@"'
			"$IVC_DPDK_CHECK_PRELOAD")
	fi
	case $PMD_KIND in
	memif)
		local sock="$PMD_WORK/$PMD_TAG.sock"
		VDEV_SERVER="net_memif0,role=server,socket=$sock"
		VDEV_CLIENT="net_memif0,role=client,socket=$sock"
		PMD_EAL=()
		# net_memif says max_rx_pktlen 1518 and no RX scatter, yet
		# carries any length in chained descriptors: go on past it.
		PMD_CHECK_OPTS=(--lax-mtu)
		PMD_RECONNECT_CLIENT=restart
		PMD_TP_MTU=0
		PMD_ZC_CLIENT=",zero-copy=yes"
		PMD_RESUME_OPTS=(--quiesce)
		PMD_PAIR_SIZES=64,1518
		;;
	ivc)
		local so=${IVC_PMD_SO:-$build/src/dpdk/librte_net_ivc.so}
		[ -f "$so" ] || pmd_skip "no net_ivc PMD at $so"
		# A copy where EAL will load it from (test/pmd_so.sh).
		pmd_safe_so "$so" || pmd_fail "cannot load $so with -d"
		so=$PMD_SO
		VDEV_SERVER="net_ivc0,addr=shm:@$PMD_TAG-$RANDOM,role=server"
		VDEV_CLIENT="${VDEV_SERVER%,role=server},role=client"
		PMD_EAL=(-d "$so")
		PMD_CHECK_OPTS=()
		PMD_RECONNECT_CLIENT=auto
		PMD_TP_MTU=1
		PMD_ZC_CLIENT=",zc=1"
		PMD_RESUME_OPTS=()
		PMD_PAIR_SIZES=64,1518,9000
		;;
	vhost)
		local sock="$PMD_WORK/$PMD_TAG.vhost"
		VDEV_SERVER="net_vhost0,iface=$sock,queues=1"
		VDEV_CLIENT="net_virtio_user0,path=$sock,queues=1"
		PMD_EAL=()
		PMD_CHECK_OPTS=(--lax-mtu)
		PMD_RECONNECT_CLIENT=auto
		PMD_TP_MTU=0
		PMD_ZC_CLIENT=""
		PMD_RESUME_OPTS=()
		PMD_PAIR_SIZES=64,1518
		;;
	*)
		pmd_fail "no kind '$PMD_KIND' (memif, ivc or vhost)"
		;;
	esac
}

# pmd_need_testpmd: skip where there is no dpdk-testpmd (package dpdk).
pmd_need_testpmd() {
	if [ -z "$TESTPMD" ] || [ ! -x "$TESTPMD" ]; then
		pmd_skip "no dpdk-testpmd (Debian package dpdk)"
	fi
}

# pmd_eal NAME CPUS VDEV: EAL arguments into the array EAL, with a file
# prefix of its own.  CPUS is an --lcores map.
pmd_eal() {
	local prefix="$PMD_TAG-$1"
	PMD_PREFIXES+=("$prefix")
	EAL=(--no-huge -m 256 --no-pci --no-telemetry --file-prefix "$prefix"
		--lcores "$2" --vdev "$3" "${PMD_EAL[@]}")
}

# pmd_start NAME LIMIT CMD...: CMD in the background under timeout(1),
# output in $PMD_WORK/NAME.log, stdin a FIFO we hold open (testpmd exits
# at the end of its stdin); the timeout's pid in PID_<NAME>.
pmd_start() {
	local name=$1 limit=$2 fifo="$PMD_WORK/$1.in"
	shift 2
	mkfifo "$fifo" || pmd_fail "mkfifo $fifo"
	# Read-write: the open does not wait for a writer; the fd stays ours.
	exec {fd}<> "$fifo"
	# stdbuf: testpmd's stdout is a file, and we wait on its lines.
	stdbuf -oL -eL timeout -k 5 "$limit" "$@" < "$fifo" \
		> "$PMD_WORK/$name.log" 2>&1 &
	PMD_PIDS+=($!)
	printf -v "PID_$name" '%s' "$!"
}

# pmd_child PID: the program under our timeout(1) PID.
pmd_child() {
	local i c
	for ((i = 0; i < 200; i++)); do
		c=$(pgrep -P "$1" | head -n 1)
		[ -n "$c" ] && { echo "$c"; return 0; }
		kill -0 "$1" 2> /dev/null || return 1
		sleep 0.01
	done
	return 1
}

# pmd_wait_for WHAT SECONDS PID TEST...: until TEST succeeds, failing if
# PID (a process it depends on) exits first or SECONDS pass.
pmd_wait_for() {
	local what=$1 secs=$2 pid=$3 end
	shift 3
	end=$((SECONDS + secs))
	until "$@"; do
		kill -0 "$pid" 2> /dev/null ||
			pmd_fail "waiting for $what: the process it depends on exited"
		((SECONDS < end)) || pmd_fail "waiting for $what: not within $secs s"
		sleep 0.02
	done
}

pmd_log_has() { grep -aq -- "$2" "$PMD_WORK/$1.log" 2> /dev/null; }

# pmd_testpmd NAME CPU VDEV ARGS...: testpmd forwarding, non-interactive,
# in the background; returns once it forwards ("Press enter to exit").
# --disable-link-check: it does not wait for its peer; --no-flush-rx: it
# drops nothing that arrived before it started forwarding.
pmd_testpmd() {
	local name=$1 cpu=$2 vdev=$3 pid
	shift 3
	pmd_need_testpmd
	pmd_eal "$name" "0@$cpu,1@$cpu" "$vdev"
	pmd_start "$name" 600 "$TESTPMD" "${EAL[@]}" -- --no-flush-rx \
		--disable-link-check --total-num-mbufs=16384 "$@"
	pid=PID_$name
	pmd_wait_for "testpmd $name to forward" 30 "${!pid}" \
		pmd_log_has "$name" "Press enter to exit"
}

# pmd_check_bg NAME CPU VDEV MODE ARGS...: ivc-dpdk-check in the background.
pmd_check_bg() {
	local name=$1 cpu=$2 vdev=$3
	shift 3
	pmd_eal "$name" "0@$cpu" "$vdev"
	pmd_start "$name" 300 ${CHECK_PRE[@]+"${CHECK_PRE[@]}"} "$CHECK" "${EAL[@]}" -- "$@"
}

# pmd_wait NAME: the exit status of a background process of ours.
pmd_wait() {
	local pid=PID_$1 rc
	wait "${!pid}"
	rc=$?
	return $rc
}

# pmd_sigint_testpmd NAME: stop testpmd as a user would (SIGINT: it stops
# forwarding, closes its port and exits 0), and check that it did.
pmd_sigint_testpmd() {
	local pid=PID_$1 child rc
	child=$(pmd_child "${!pid}") || pmd_fail "testpmd $1 is gone"
	kill -INT "$child"
	pmd_wait "$1"
	rc=$?
	[ $rc = 0 ] || pmd_fail "testpmd $1 exited $rc on SIGINT"
	pmd_log_has "$1" "Bye" || pmd_fail "testpmd $1 did not finish cleanly"
}

# pmd_finish CHK TP PATTERN: the end of a run of ivc-dpdk-check CHK (run
# with --wait-close) against testpmd TP.  Once CHK has given its verdict
# (a line matching PATTERN), TP is stopped, and CHK, which only watches
# its link by then, must see it leave and exit 0.  That order is the
# safe one: each side's PMD handles its peer's leaving while its own
# data path is idle (net_memif's data path is not safe against it).
pmd_finish() {
	local chk=$1 tp=$2 pat=$3 pid tp_pid rc end
	pid=PID_$chk
	tp_pid=PID_$tp
	end=$((SECONDS + 300))
	until grep -aqE -- "$pat" "$PMD_WORK/$chk.log"; do
		if ! kill -0 "${!pid}" 2> /dev/null || ((SECONDS >= end)); then
			pmd_wait "$chk"
			rc=$?
			grep -aE '^(verify|latency|resume|intr|send)' "$PMD_WORK/$chk.log"
			# testpmd's own account (TX-dropped: what its TX queue
			# refused, as io forwarding drops it) into its log
			pmd_stop_tree "${!tp_pid}" INT
			wait "${!tp_pid}"
			pmd_fail "ivc-dpdk-check $chk exited $rc"
		fi
		sleep 0.02
	done
	grep -aE '^(verify|latency|resume|intr|send)' "$PMD_WORK/$chk.log"
	pmd_sigint_testpmd "$tp"
	pmd_wait "$chk"
	rc=$?
	[ $rc = 0 ] || pmd_fail "ivc-dpdk-check $chk exited $rc after testpmd left"
}

# pmd_testpmd_forwarded NAME: the frames testpmd's io forwarding counted
# (its final "Forward statistics"), RX and TX.
pmd_testpmd_forwarded() {
	tr -d '\033' < "$PMD_WORK/$1.log" |
		awk '/Forward statistics for port/ { f = 1 }
		     f && /RX-packets:/ { rx = $2 }
		     f && /TX-packets:/ { tx = $2; f = 0 }
		     END { print rx + 0, tx + 0 }'
}
