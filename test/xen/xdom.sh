#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# test/xen/xdom.sh - ivc between real Xen domains.  Runs in dom0 of the Xen
# harness (test/xen/init runs it as the last line of the test list): starts
# unprivileged PV guests with xl, each booting /boot/guest-kernel (the ELF in
# Debian's vmlinuz, build.sh's guest_kernel) with
# /boot/guest.cpio (test/xen/guest-init), and drives them through xenstore
# (gx below).  Every case prints "XDOM <case>: PASS|FAIL (...)"; the script
# exits with the number of failed cases (0: all passed).
#
# The cases (docs/xen.md "Between two domains" lists them with what they
# prove): guest boot and vCPU pinning; delivery in every mode and API in
# three pairings (dom0 listens / a guest connects, a guest listens / dom0
# connects, guest <-> guest); a peer process killed and a peer domain
# destroyed under a survivor blocked in recv, send, alloc and wait; a guest
# recreated with the same name connecting again; the listener's allowed
# list; raw libxen* attacks on another guest's offer, grant and port;
# connect/close cycles with kills and destroyed domains, and the grants and
# ports each domain can use before and after; ivc-cat and ivc-bench between
# guests; net: addresses (ivc-netd); libfabric's fi_pingpong with the ivc
# provider between g1 and g2 (phase_fi, where build.sh packed the
# provider); dpdk-testpmd with the net_ivc PMD between g1 and g2
# (phase_pmd, where build.sh packed the PMD).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_LIBRARY_PATH=/usr/local/lib
LIMIT=${XDOM_LIMIT:-900}        # the whole phase; each command has its own
N=${XDOM_MESSAGES:-3000}        # messages per delivery run
failed=0
passed=0
t_start=$(date +%s)

up() { cut -d' ' -f1 /proc/uptime; }
now_ns() { xdom now; }
pass() { passed=$((passed + 1)); echo "XDOM $1: PASS${2:+ ($2)} [uptime $(up) s]"; }
fail() { failed=$((failed + 1)); echo "XDOM $1: FAIL${2:+ ($2)} [uptime $(up) s]"; }
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
check() { # check CASE DETAIL COMMAND...: PASS if COMMAND succeeds
	local _c="$1" _d="$2"
	shift 2
	if "$@"; then pass "$_c" "$_d"; else fail "$_c" "$_d"; fi
}

# ---- guests ---------------------------------------------------------------

domid() { xl domid "$1" 2>/dev/null; }

# The guest's console so far, lines not shown yet, prefixed with its name.
showlog() {
	local f seen total
	f=/var/log/xen/console/guest-$1.log
	[ -f "$f" ] || return 0
	seen=$(cat "/tmp/seen-$1" 2>/dev/null || echo 0)
	total=$(wc -l < "$f")
	[ "$total" -gt "$seen" ] && tail -n +"$((seen + 1))" "$f" | head -n "$((total - seen))" | sed "s/^/[$1] /"
	echo "$total" > "/tmp/seen-$1"
}

# boot NAME PCPU [RAMDISK [IP]]: start guest NAME with its one vCPU pinned
# to PCPU (and RAMDISK, default /boot/guest.cpio; IP on its loopback, the
# address ivc-netd gives it), and wait for its agent (guest-init writes
# data/ivc-rc/0).  In two steps, boot_create and boot_wait, so that guests
# on different pCPUs can boot side by side.
boot() {
	boot_create "$@" && boot_wait "$1"
}

boot_create() {
	local name=$1

	cat > "/tmp/$name.cfg" <<-EOF
	name = "$name"
	type = "pv"
	kernel = "/boot/guest-kernel"
	ramdisk = "${3:-/boot/guest.cpio}"
	extra = "console=hvc0 quiet ivc_timeout=$LIMIT${4:+ ivc_ip=$4}"
	memory = 192
	vcpus = 1
	cpus = "$2"
	on_poweroff = "destroy"
	on_reboot = "destroy"
	on_crash = "destroy"
	EOF
	now_ns > "/tmp/t0-$name"
	if ! xl create -q "/tmp/$name.cfg"; then
		echo "xdom: xl create $name failed"
		return 1
	fi
	echo 0 > "/tmp/n-$name"
	echo 0 > "/tmp/seen-$name"
}

boot_wait() {
	local name=$1 d end

	d=$(domid "$name") || { echo "xdom: guest $name is not there"; return 1; }
	end=$(( $(date +%s) + 180 ))
	while ! xenstore-read "/local/domain/$d/data/ivc-rc/0" > /dev/null 2>&1; do
		if [ "$(date +%s)" -gt "$end" ]; then
			showlog "$name"
			echo "xdom: guest $name (domain $d) did not come up in 180 s"
			return 1
		fi
		sleep 0.1
	done
	showlog "$name"
	echo "xdom: guest $name is domain $d, up $(( ($(now_ns) - $(cat "/tmp/t0-$name")) / 1000000 )) ms after xl create"
}

# gx NAME COMMAND [SECONDS]: run COMMAND in guest NAME (as its uid 1000)
# and return its exit status; 124 if it did not end in SECONDS (default 120).
gx() {
	local name=$1 cmd=$2 secs=${3:-120} d n end rc
	d=$(domid "$name") || return 125
	n=$(( $(cat "/tmp/n-$name") + 1 ))
	echo "$n" > "/tmp/n-$name"
	xenstore-write "/local/domain/$d/ivc-cmd/$n" "$cmd"
	end=$(( $(date +%s) + secs ))
	while ! rc=$(xenstore-read "/local/domain/$d/data/ivc-rc/$n" 2>/dev/null); do
		if [ "$(date +%s)" -gt "$end" ]; then
			showlog "$name"
			echo "xdom: '$cmd' in $name did not end in $secs s"
			return 124
		fi
		sleep 0.1
	done
	showlog "$name"
	return "$rc"
}

# wait_node PATH SECONDS: until the xenstore node exists (by the clock:
# under TCG each look costs a good part of a second).
wait_node() {
	local end
	end=$(( $(date +%s) + $2 ))
	while ! xenstore-read "$1" > /dev/null 2>&1; do
		[ "$(date +%s)" -gt "$end" ] && return 1
		sleep 0.2
	done
}

# ---- the phase ------------------------------------------------------------

echo "=== xdom: ivc between domains (uptime $(up) s)"
mkdir -p /var/log/xen/console /var/lib/xen /run/xen /dev/pts
# xenconsoled gives every guest console a pty.
grep -q devpts /proc/mounts || mount -t devpts devpts /dev/pts
xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid ||
	{ fail boot "xenconsoled did not start"; exit 1; }

CASES=${XDOM_CASES:-deliver kill access before destroy after tools net fi pmd}
# g1 and g2 run dpdk-testpmd in phase_pmd and fi_pingpong in phase_fi:
# they boot build.sh's DPDK and libfabric archives after the base one (the
# kernel unpacks them all, one after the other); g3 never needs them.
RD12=/boot/guest.cpio RD_PMD=0 RD_FI=0
case " $CASES " in *" pmd "*)
	[ ! -f /etc/xdom-pmd ] || RD12="$RD12 /boot/guest-pmd.cpio" RD_PMD=1 ;;
esac
case " $CASES " in *" fi "*)
	[ ! -f /etc/xdom-fi ] || RD12="$RD12 /boot/guest-fi.cpio" RD_FI=1 ;;
esac
if [ "$RD12" != /boot/guest.cpio ]; then
	# shellcheck disable=SC2086
	cat $RD12 > /tmp/guest-12.cpio && RD12=/tmp/guest-12.cpio || RD12=/boot/guest.cpio RD_PMD=0 RD_FI=0
fi
t_boot=$(now_ns)
# The addresses are those ivc-netd gives g1 and g2 (NETD_ARGS).
# (Side by side: each on its own pCPU.)
if ! boot_create g1 0 "$RD12" 10.9.0.1 || ! boot_create g2 1 "$RD12" 10.9.0.2 ||
	! boot_wait g1 || ! boot_wait g2; then
	fail boot "SKIPPED, NOT TESTED: the guests did not start"
	xl list
	exit 1
fi
G1=$(domid g1) G2=$(domid g2)
pass boot "g1 = domain $G1, g2 = domain $G2, both up $(( ($(now_ns) - t_boot) / 1000000 )) ms after the first xl create"
echo "--- vCPU placement (xl vcpu-list):"
xl vcpu-list
check placement "g1's vCPU on pCPU 0, g2's on pCPU 1" \
	sh -c "xl vcpu-list g1 | awk 'NR == 2 && \$4 == 0 { ok = 1 } END { exit !ok }' &&
	       xl vcpu-list g2 | awk 'NR == 2 && \$4 == 1 { ok = 1 } END { exit !ok }'"
check guest-unprivileged "the guest runs as uid 1000 with /dev/xen/{evtchn,gntalloc,gntdev,xenbus} only" \
	gx g1 'id; ls /dev/xen; [ "$(id -u)" = 1000 ] && [ ! -e /dev/xen/privcmd ] && [ ! -e /proc/xen/privcmd ]'

# ---- delivery: every mode and API, three pairings ------------------------

# deliver CASE LNAME LADDR CNAME CADDR LDIR ARGS: the listener side in LNAME
# (dom0 or a guest) at LADDR with direction LDIR (send|recv), the connector
# in CNAME to CADDR the other way; both with ARGS (mode, api, allow...).
deliver() {
	local c ln la cn ca ld args allow cd_ lcmd ccmd lp crc lrc
	c=$1 ln=$2 la=$3 cn=$4 ca=$5 ld=$6 args=$7 allow=$8
	cd_=send; [ "$ld" = send ] && cd_=recv
	lcmd="xdom deliver --listen $la --allow $allow --$ld $args -n $N"
	ccmd="xdom deliver --connect $ca --$cd_ $args -n $N"
	if [ "$ln" = dom0 ]; then (eval "$lcmd") > /tmp/l.out 2>&1 & else gx "$ln" "$lcmd" 300 & fi
	lp=$!
	if [ "$cn" = dom0 ]; then eval "$ccmd" > /tmp/c.out 2>&1; else gx "$cn" "$ccmd" 300; fi
	crc=$?
	wait $lp
	lrc=$?
	[ "$ln" = dom0 ] && sed 's/^/[dom0] /' /tmp/l.out
	[ "$cn" = dom0 ] && sed 's/^/[dom0] /' /tmp/c.out
	if [ $lrc = 0 ] && [ $crc = 0 ]; then pass "$c"; else fail "$c" "listener exit $lrc, connector exit $crc"; fi
}

phase_deliver() {
echo "--- delivery, $N messages a run (random sizes, sequence numbers, checksums)"
for m in poll adaptive block; do
	for a in zc copy; do
		deliver "deliver.dom0-listens.g1-sends.$m.$a" dom0 xen:d0-$m-$a g1 xen:0/d0-$m-$a recv "--mode $m --api $a" "$G1"
		deliver "deliver.g1-listens.sends-to-dom0.$m.$a" g1 xen:d1-$m-$a dom0 xen:$G1/d1-$m-$a send "--mode $m --api $a" 0
		deliver "deliver.g1-listens.g2-sends.$m.$a" g1 xen:d2-$m-$a g2 xen:$G1/d2-$m-$a recv "--mode $m --api $a" "$G2"
	done
done
deliver "deliver.g2-listens.sends-to-g1.poll.zc-inline" g2 xen:d3 g1 xen:$G2/d3 send "--mode poll --api zc --inline" "$G1"
deliver "deliver.g2-listens.g1-sends.adaptive.copy-inline" g2 xen:d4 g1 xen:$G2/d4 recv "--mode adaptive --api copy --inline" "$G1"
deliver "deliver.dom0-listens.sends-to-g2.block.zc-inline" dom0 xen:d5 g2 xen:0/d5 send "--mode block --api zc --inline" "$G2"
}

# ---- a peer killed, a peer's domain destroyed ----------------------------

# on NAME COMMAND: run COMMAND in dom0 or in guest NAME (in the background
# with a trailing &: then its pid is in /tmp/bg.pid there).
on() {
	if [ "$1" = dom0 ]; then sh -c "$2"; else gx "$1" "$2"; fi
}

# xsval DOMAIN NODE: a node of DOMAIN's data/xdom (written by xdom --ready
# or --report), waiting up to 300 s for it.
xsval() {
	wait_node "/local/domain/$1/data/xdom/$2" 300 || return 1
	xenstore-read "/local/domain/$1/data/xdom/$2"
}

# save_restore NAME: xl save of guest NAME (it goes) into lzop, then xl
# restore of that (a new domain); the image's size in /tmp/save.size.
save_restore() {
	local z rc
	rm -f /tmp/save.fifo /tmp/save.lzo /tmp/save.size
	mkfifo /tmp/save.fifo || return 1
	lzop -1 -c < /tmp/save.fifo > /tmp/save.lzo &
	z=$!
	xl save "$1" /tmp/save.fifo
	rc=$?
	[ $rc = 0 ] || kill $z 2>/dev/null # it may wait for a writer for good
	wait $z || rc=1
	wc -c < /tmp/save.lzo > /tmp/save.size
	[ $rc = 0 ] || return $rc
	lzop -d -c < /tmp/save.lzo > /tmp/save.fifo & # (dom0 has no /dev/stdin)
	z=$!
	xl restore /tmp/save.fifo
	rc=$?
	[ $rc = 0 ] || kill $z 2>/dev/null # it may wait for a reader for good
	wait $z || rc=1
	return $rc
}

# survive CASE SNAME SDOM SARGS PNAME PARGS HOW [AGAIN [GATE]]: a survivor in SNAME
# (domain SDOM) blocked in recv, send, alloc and wait on 4 channels to a
# `hold -c 4` peer in PNAME; the peer's process is killed (HOW=kill) or its
# domain destroyed (HOW=destroy).  The survivor must get ECONNRESET in every
# wait and give back its descriptors and mappings; with AGAIN (a command in
# another domain that pings the survivor's listener) it must accept again.
# With GATE (a xenstore node), the peer starts first and the survivor once
# GATE exists: a net: connector does not wait for a listener ivc-netd has
# not published yet (it goes on to tcp at once).
survive() {
	local c sn sd sargs pn pargs how again gate tag scmd sp t0 t1 src rep bound what direct
	c=$1 sn=$2 sd=$3 sargs=$4 pn=$5 pargs=$6 how=$7 again=$8 gate=${9:-}
	tag=$(echo "$c" | tr . -) # (xenstore's node names have no dots)
	scmd="xdom survive $sargs --ready xs:data/xdom/$tag-ready --report xs:data/xdom/$tag-report"
	[ -n "$again" ] && scmd="$scmd --accept-again"
	if [ -n "$gate" ]; then
		on "$pn" "xdom hold $pargs -c 4 & echo \$! > /tmp/bg.pid"
		wait_node "$gate" 120 || echo "xdom: $c: $gate never appeared"
	fi
	if [ "$sn" = dom0 ]; then (eval "$scmd") > /tmp/s.out 2>&1 & else gx "$sn" "$scmd" 400 & fi
	sp=$!
	[ -z "$gate" ] && on "$pn" "xdom hold $pargs -c 4 & echo \$! > /tmp/bg.pid"
	if ! xsval "$sd" "$tag-ready" > /dev/null; then
		fail "$c" "the survivor never got blocked"
		kill $sp 2>/dev/null
		[ "$sn" = dom0 ] && sed 's/^/[dom0] /' /tmp/s.out
		showlog "$pn"
		echo "xdom: xenstore of the peer's domain:"
		xenstore-ls -p "/local/domain/$(domid "$pn")/data" 2>&1 | head -40
		return
	fi
	t0=$(xdom now)
	if [ "$how" = kill ]; then
		on "$pn" 'kill -9 $(cat /tmp/bg.pid)'
	elif [ "$how" = save ]; then
		# Out and back in: saved (the domain goes), restored (a new
		# domain, a new domid), what a migration does to its peers.
		# Through lzop: dom0's /tmp (its 512 MiB) cannot hold the
		# guest's frames as they are, most of them never written.
		save_restore "$pn" > /tmp/mig.out 2>&1
		echo "xdom: xl save and restore $pn: exit $?, $(( ($(xdom now) - t0) / 1000000 )) ms, $(cat /tmp/save.size 2>/dev/null) bytes saved"
		rm -f /tmp/save.lzo /tmp/save.fifo
		sed 's/^/[xl save] /' /tmp/mig.out | tail -20
	elif [ "$how" = migrate ]; then
		# To this host: with -s "" xl runs the "host" as the receiving
		# command instead of ssh'ing to it.
		xl migrate -s "" "$pn" "xl migrate-receive" > /tmp/mig.out 2>&1
		echo "xdom: xl migrate $pn: exit $?, $(( ($(xdom now) - t0) / 1000000 )) ms"
		sed 's/^/[xl migrate] /' /tmp/mig.out | tail -20
	else
		xl destroy "$pn"
	fi
	t1=$(xdom now)
	[ -n "$again" ] && on "${again%% *}" "${again#* }"
	wait $sp
	src=$?
	[ "$sn" = dom0 ] && sed 's/^/[dom0] /' /tmp/s.out
	rep=$(xenstore-read -R "/local/domain/$sd/data/xdom/$tag-report" 2>/dev/null)
	# The bound, on the survivor's own clock (a guest's wall clock may be
	# a second off dom0's): from "all four blocked" to the last return,
	# which includes dom0 seeing that (it polls) and the kill or destroy.
	bound=$(echo "$rep" | awk '$1 == "ready" { r = $2 } $1 != "ready" && $3 > m { m = $3 }
		END { if (m && r) printf "%.0f", (m - r) / 1e6; else print "?" }')
	what="every wait ECONNRESET; the last returned $bound ms after the survivor was blocked, which includes dom0 noticing that and the $how ($(( (t1 - t0) / 1000000 )) ms)"
	if [ "$sd" = 0 ]; then # one clock: from the kill or destroy itself
		direct=$(echo "$rep" | awk -v t0="$t0" '$1 != "ready" && $3 > m { m = $3 }
			END { if (m) printf "%.0f", (m - t0) / 1e6; else print "?" }')
		what="$what; $direct ms after the $how began"
	fi
	if [ $src = 0 ]; then pass "$c" "$what"; else fail "$c" "survivor exit $src; $what"; fi
	echo "$c $how $bound" >> /tmp/bounds
}

phase_kill() {
echo "--- a peer process killed with SIGKILL"
survive kill.dom0-listener-survives dom0 0 "--listen xen:k0 --allow $G1" \
	g1 "--connect xen:0/k0" kill
survive kill.g1-connector-survives g1 "$G1" "--connect xen:$G2/k1" \
	g2 "--listen xen:k1 --allow $G1" kill
survive kill.g1-listener-survives g1 "$G1" "--listen xen:k2 --allow $G2" \
	g2 "--connect xen:$G1/k2" kill

}

# restored_as OLD: g3 is a domain again, not domain OLD, and its agent answers.
restored_as() {
	[ -n "$G3" ] && [ "$G3" != "$1" ] && gx g3 "echo alive" 60
}

phase_destroy() {
local old
echo "--- the peer's whole domain destroyed (xl destroy), or saved and restored (xl save + xl restore: it leaves, and comes back as a new domain): a third guest, g3"
boot g3 0 || { fail destroy "g3 did not start"; return; }
G3=$(domid g3)
survive destroy.dom0-listener-survives dom0 0 "--listen xen:x0 --allow $G3,$G1" \
	g3 "--connect xen:0/x0" destroy "g1 xdom ping --connect xen:0/x0"
check reboot.g3 "g3 recreated with the same name" boot g3 0
G3=$(domid g3)
deliver "reboot.g3-delivers-again.adaptive.zc" g1 xen:r1 g3 xen:$G1/r1 recv "--mode adaptive --api zc" "$G3"
# What a migration does to the peers it leaves (xl migrate itself cannot
# run under TCG: docs/xen.md): the domain goes, its processes come back in
# a new domain, here on the same host.
survive save.g1-listener-survives g1 "$G1" "--listen xen:x1 --allow $G3,0" \
	g3 "--connect xen:$G1/x1" save "dom0 xdom ping --connect xen:$G1/x1"
old=$G3
G3=$(domid g3)
check save.g3-restored "g3 restored as domain ${G3:-none} (it was $old), its agent answers" restored_as "$old"
deliver "save.g3-delivers-again.block.copy" g1 xen:r2 g3 xen:$G1/r2 recv "--mode block --api copy" "$G3"
mid_handshake_start
survive destroy.g2-connector-survives g2 "$G2" "--connect xen:$G3/x2" \
	g3 "--listen xen:x2 --allow $G2" destroy
mid_handshake_check
}

# A listener whose domain is destroyed after a connector took its offer and
# before it answered: the connector (no timeout to speak of) must give up
# with ECONNREFUSED, not wait for good.  g3 listens and is stopped
# (SIGSTOP) once its offer for g2 is out; g2 connects in the background;
# once g2's link node for g3 exists, g2 waits for the answer.  The destroy
# is the survive case's, just after.
mid_handshake_start() {
	local end
	# (Each command on one line: a guest's agent reads it with xenstore-read,
	# which escapes newlines.)
	gx g3 "xdom hold --listen xen:xh --allow $G2 -c 1 > /tmp/xh.out 2>&1 & p=\$!; i=0; until xenstore-read data/ivc/xh/$G2/state > /dev/null 2>&1; do i=\$((i + 1)); [ \$i -gt 300 ] && exit 1; sleep 0.1; done; kill -STOP \$p" 60 ||
		echo "xdom: mid-handshake: g3's listener did not come up"
	gx g2 "rm -f /tmp/mid.rc; { xdom refused --connect xen:$G3/xh --expect ECONNREFUSED --timeout-ms 600000; echo \$? > /tmp/mid.rc; } > /tmp/mid.out 2>&1 &"
	end=$(( $(date +%s) + 60 ))
	until xenstore-list "/local/domain/$G2/data/ivc-link" 2>/dev/null | grep -q "^c[0-9]*-$G3\$"; do
		if [ "$(date +%s)" -gt "$end" ]; then
			echo "xdom: mid-handshake: g2 never took g3's offer"
			break
		fi
		sleep 0.1
	done
}

mid_handshake_check() {
	check destroy.connector-mid-handshake "g2 had taken g3's offer, g3's listener stopped before answering; g3 destroyed: g2's connect (timeout 600 s) ends with ECONNREFUSED" \
		gx g2 'i=0; while [ ! -e /tmp/mid.rc ] && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done; cat /tmp/mid.out; [ "$(cat /tmp/mid.rc 2>/dev/null)" = 0 ]' 60
}

# A domain connecting as soon as it is up, to a listener started at that
# moment: XDOM_FRESH_ROUNDS rounds (default 3) of boot g3, deliver g3 -> g1,
# destroy g3.
phase_fresh() {
local i
echo "--- a fresh domain connects at once: ${XDOM_FRESH_ROUNDS:-3} rounds"
for i in $(seq 1 "${XDOM_FRESH_ROUNDS:-3}"); do
	boot g3 0 || { fail "fresh.$i" "g3 did not start"; return; }
	G3=$(domid g3)
	deliver "fresh.$i.g3-to-g1.adaptive.zc" g1 "xen:f$i" g3 "xen:$G1/f$i" recv "--mode adaptive --api zc" "$G3"
	xl destroy g3
done
}

# ---- access control -------------------------------------------------------

phase_access() {
echo "--- access control: xenstored and Xen refuse what the listener did not allow"
gx g1 "xdom ping --listen xen:acl --allow 0 &"
check acl.guest-not-allowed "g2 is not in g1's list: EACCES at once" \
	gx g2 "xdom refused --connect xen:$G1/acl --expect EACCES"
check acl.allowed-still-served "dom0, in the list, is served" \
	xdom ping --connect "xen:$G1/acl"
check acl.no-service-waits "a service not there yet: ETIMEDOUT, not EACCES" \
	gx g2 "xdom refused --connect xen:$G1/none --expect ETIMEDOUT --timeout-ms 2000"
# An offer made for dom0 by g1; g2 tries what an attacker would, with the
# reference and port read by dom0 (which may read everything).
gx g1 "xdom hold --listen xen:atk --allow 0 -c 1 & echo \$! > /tmp/bg.pid"
if wait_node "/local/domain/$G1/data/ivc/atk/0/state" 60; then
	ref=$(xenstore-read "/local/domain/$G1/data/ivc/atk/0/ring-ref")
	port=$(xenstore-read "/local/domain/$G1/data/ivc/atk/0/event-channel")
	check attack.g2-on-g1s-offer-for-dom0 "read the service and offer nodes, map grant $ref, bind port $port" \
		gx g2 "xdom attack --read /local/domain/$G1/data/ivc/atk --read /local/domain/$G1/data/ivc/atk/0/ring-ref --map $G1:$ref --bind $G1:$port"
else
	fail attack.g2-on-g1s-offer-for-dom0 "g1's offer never appeared"
fi
gx g1 'kill -9 $(cat /tmp/bg.pid)'
}

# ---- grants and ports come back -------------------------------------------

serve_idle() { # serve_idle NAME: until g1's `serve --report .../serve-NAME`
	# has closed every channel it accepted (no node yet: none accepted).
	# Its "ended" lines come before the closes that give the ports back.
	local end v
	end=$(( $(date +%s) + 60 ))
	while v=$(xenstore-read "/local/domain/$G1/data/xdom/serve-$1" 2>/dev/null) &&
	      [ "${v##* }" != 0 ]; do
		[ "$(date +%s)" -gt "$end" ] && { echo "serve $1 still busy: $v"; return 1; }
		sleep 0.2
	done
}

capacity() { # capacity TAG: what g1 and g2 can share, map and bind now
	# (The logs to stderr: only the figures are the function's output.)
	{ gx g2 "xdom capacity --connect xen:$G1/cap --report xs:data/xdom/cap-$1" 600 &&
	  serve_idle cap && serve_idle cyc &&
	  gx g1 "xdom evtchn --peer $G2 --report xs:data/xdom/ev-$1" &&
	  gx g2 "xdom evtchn --peer $G1 --report xs:data/xdom/ev-$1"; } >&2
	# Nothing unless all three were measured, and some lanes shared: two
	# failed measurements must not compare equal.
	local cap e1 e2
	cap=$(xenstore-read "/local/domain/$G2/data/xdom/cap-$1") &&
	e1=$(xenstore-read "/local/domain/$G1/data/xdom/ev-$1") &&
	e2=$(xenstore-read "/local/domain/$G2/data/xdom/ev-$1") || return 1
	case "$cap $e1 $e2" in
	"lanes "[1-9]*" ports "[1-9]*" ports "[1-9]*) echo "$cap $e1 $e2" ;;
	*) echo "capacity $1: not measured: [$cap] [$e1] [$e2]" >&2; return 1 ;;
	esac
}

# A guest command: wait (up to 30 s) until no xdom process of the guest is
# alive.  A process killed with SIGKILL gives its ports back only as it
# exits, after `kill` has returned (phase_access kills one just before).
SETTLE='i=0; while [ $i -lt 300 ]; do live=; for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = xdom ] && ! grep -q "^State:.*Z" $d/status 2>/dev/null && live="$live ${d#/proc/}"; done; [ -z "$live" ] && exit 0; sleep 0.1; i=$((i + 1)); done; echo "xdom still running:$live"; exit 1'

phase_before() {
echo "--- grants and event channels come back: before"
gx g1 "$SETTLE" 60; gx g2 "$SETTLE" 60
gx g1 "xdom serve --listen xen:cap --allow $G2 --big --report xs:data/xdom/serve-cap & xdom serve --listen xen:cyc --allow $G2 --report xs:data/xdom/serve-cyc &"
before=$(capacity before)
echo "xdom: capacity before: $before"
}

phase_after() {
echo "--- grants and event channels come back: cycles, then after"
check cycles.g2-to-g1 "50 connect/close cycles, every 10th peer killed with SIGKILL" \
	gx g2 "xdom cycles --connect xen:$G1/cyc -n 50 --kill-every 10" 900
after=$(capacity after)
check grants-come-back "g2's big lanes to g1, g1's and g2's ports, before [$before] and after [$after] the kills, the destroyed g3s and the cycles" \
	same "$before" "$after"
}

# ---- ivc-cat and ivc-bench between guests ---------------------------------

catcase() { # catcase FROM TO
	local f t ft tt cp a b
	f=$1 t=$2 ft=$(domid "$1") tt=$(domid "$2")
	gx "$t" "ivc-cat -r -l xen:cat -d $ft > /tmp/cat.out; md5sum < /tmp/cat.out | cut -c1-32 > /tmp/m; xenstore-write data/xdom/cat-md5 \$(cat /tmp/m)" 300 &
	cp=$!
	gx "$f" "head -c 3000000 /dev/urandom > /tmp/cat.in; ivc-cat -w 60 -s xen:$tt/cat < /tmp/cat.in; md5sum < /tmp/cat.in | cut -c1-32 > /tmp/m; xenstore-write data/xdom/cat-md5 \$(cat /tmp/m)" 300
	wait $cp
	a=$(xenstore-read "/local/domain/$ft/data/xdom/cat-md5") b=$(xenstore-read "/local/domain/$tt/data/xdom/cat-md5")
	check "ivc-cat.$f-to-$t" "3000000 bytes, md5 $a / $b" same "$a" "$b"
	xenstore-rm "/local/domain/$ft/data/xdom/cat-md5" "/local/domain/$tt/data/xdom/cat-md5" 2>/dev/null
}
phase_tools() {
echo "--- ivc-cat and ivc-bench between guests"
catcase g1 g2
catcase g2 g1
# The split ping-pong: the echoing side serves one point per size.
gx g1 "ivc-bench serve --listen xen:bench --allow $G2 -x ivc -m adaptive --points 2 -c 0" 300 &
bp=$!
check ivc-bench.g2-to-g1 "round trips between two guests (under TCG: only that it works)" \
	gx g2 "ivc-bench pingpong --connect xen:$G1/bench -x ivc -m adaptive -s 64,4k -n 500 -t 2 -c 0" 300
wait $bp
}

# ---- net: addresses between domains (ivc-netd) ----------------------------

# wait_gone PATH SECONDS: until the xenstore node is gone.
wait_gone() {
	local end
	end=$(( $(date +%s) + $2 ))
	while xenstore-read "$1" > /dev/null 2>&1; do
		[ "$(date +%s)" -gt "$end" ] && return 1
		sleep 0.2
	done
}

# The addresses the operator gives the guests (they have no network here:
# no vif, so tcp to any of them has no route, which is what a guest that
# gets no entry sees).
NETD_ARGS="--addr g1=10.9.0.1 --addr g2=10.9.0.2 --addr g3=10.9.0.3 --addr 0=10.9.0.100"
netd_start() {
	ivc-netd $NETD_ARGS >> /tmp/netd.log 2>&1 &
	echo $! > /tmp/netd.pid
}

phase_net() {
echo "--- net: addresses between domains: listeners in guests, ivc-netd in dom0"
local k1=4-0a090001-7000 k3=4-0a090003-7004 perms before after nl np lines crc lrc end
boot g3 0 || { fail net "g3 did not start"; return; }
G3=$(domid g3)
: > /tmp/netd.log
netd_start
# g1 serves net:0.0.0.0:7000 to g2 and dom0, not to g3.
gx g1 "xdom ping --listen net:0.0.0.0:7000 --allow $G2,0 -c 2 --route xen &"
if wait_node "/local/domain/$G2/ivc-net/$k1" 120 && wait_node "/local/domain/0/ivc-net/$k1" 60; then
	perms=$(xenstore-ls -p "/local/domain/$G2/ivc-net" | grep "$k1")
	check net.table "g2's table: $perms" \
		sh -c "[ \"\$(xenstore-read /local/domain/$G2/ivc-net/$k1)\" = $G1/net-4-00000000-7000 ] &&
		       echo '$perms' | grep -q '(n0,r$G2)'"
else
	fail net.table "ivc-netd never wrote g1's service into g2's and dom0's tables"
	cat /tmp/netd.log
fi
check net.table-not-for-g3 "g3 is not in g1's list: no entry in its table" \
	sh -c "! xenstore-read /local/domain/$G3/ivc-net/$k1"
check net.table-read-only "g2 can neither change nor remove its entry" \
	gx g2 "! xenstore-write ivc-net/$k1 $G3/net-4-0a090003-7000 && ! xenstore-rm ivc-net/$k1 && [ \"\$(xenstore-read ivc-net/$k1)\" = $G1/net-4-00000000-7000 ]"
check net.g2-to-g1-over-xen "g2 connects to net:10.9.0.1:7000 and gets xen" \
	gx g2 "xdom ping --connect net:10.9.0.1:7000 -n 20 --route xen --timeout-ms 5000"
check net.dom0-to-g1-over-xen "dom0 connects to net:10.9.0.1:7000 and gets xen" \
	xdom ping --connect net:10.9.0.1:7000 -n 20 --route xen --timeout-ms 5000
check net.g3-not-allowed "g3 gets no entry, so tcp, which has no route here: ECONNREFUSED (ivc's tcp reports an unreachable host so)" \
	gx g3 "xdom refused --connect net:10.9.0.1:7000 --expect ECONNREFUSED --timeout-ms 5000"

# A guest that claims an address it does not own is ignored: g3 writes a
# service for 10.9.0.1:7001 by hand, then listens for real at 7002; once
# the real one is in g2's table, the daemon has read the false one too.
gx g3 "xenstore-write data/ivc/net-4-0a090001-7001 '1 $G2'"
gx g3 "xdom ping --listen net:0.0.0.0:7002 --allow $G2 --route xen &"
if wait_node "/local/domain/$G2/ivc-net/4-0a090003-7002" 60; then
	check net.claim-not-owned "g3's service at 10.9.0.1:7001 (g1's address) is not published" \
		sh -c "! xenstore-read /local/domain/$G2/ivc-net/4-0a090001-7001"
else
	fail net.claim-not-owned "g3's real service never reached g2's table"
fi
gx g2 "xdom ping --connect net:10.9.0.3:7002 --route xen" > /dev/null

# ivc-netd restarted while a channel it found carries traffic.  (The
# deliver listener stops listening once it has its channel: its entry goes
# before the restart, so the restarted daemon finds nothing to change.)
gx g1 "xdom deliver --listen net:0.0.0.0:7003 --allow $G2 --recv --mode adaptive --api zc -n 20000 --route xen" 300 &
nl=$!
wait_node "/local/domain/$G2/ivc-net/4-0a090001-7003" 60
gx g2 "xdom deliver --connect net:10.9.0.1:7003 --send --mode adaptive --api zc -n 20000 --route xen --ready xs:data/xdom/net-restart-ready" 300 &
np=$!
lines=0
if xsval "$G2" net-restart-ready > /dev/null && wait_gone "/local/domain/$G2/ivc-net/4-0a090001-7003" 60; then
	before=$(xenstore-ls -p "/local/domain/$G2/ivc-net")
	kill "$(cat /tmp/netd.pid)"
	wait "$(cat /tmp/netd.pid)" 2>/dev/null
	lines=$(wc -l < /tmp/netd.log)
	netd_start
fi
wait $np; crc=$?
wait $nl; lrc=$?
check net.daemon-restarted "20000 messages over xen across a restart of ivc-netd (listener exit $lrc, connector exit $crc)" \
	sh -c "[ $lines -gt 0 ] && [ $lrc = 0 ] && [ $crc = 0 ]"
# The restarted daemon's first look: nothing to write or remove.
end=$(( $(date +%s) + 60 ))
while ! tail -n +$((lines + 1)) /tmp/netd.log | grep -q 'entries:' && [ "$(date +%s)" -le "$end" ]; do
	sleep 0.2
done
after=$(xenstore-ls -p "/local/domain/$G2/ivc-net")
check net.daemon-restart-keeps-tables "the restarted daemon wrote and removed nothing; g2's table the same" \
	sh -c "tail -n +$((lines + 1)) /tmp/netd.log | grep -q ': 0 written, 0 removed' && [ \"\$1\" = \"\$2\" ]" - "$before" "$after"

# The listener's domain destroyed: the channel fails, the entry goes, and
# connecting again by address gets what now applies (tcp: no route here).
survive net.destroy.g2-connector-survives g2 "$G2" "--connect net:10.9.0.3:7004 --route xen" \
	g3 "--listen net:0.0.0.0:7004 --allow $G2" destroy "" "/local/domain/$G2/ivc-net/$k3"
check net.entry-gone "g3 destroyed: ivc-netd removed its services from g2's table" \
	wait_gone "/local/domain/$G2/ivc-net/$k3" 60
check net.reconnect-after-destroy "g2 connects to net:10.9.0.3:7004 again: tcp, ECONNREFUSED" \
	gx g2 "xdom refused --connect net:10.9.0.3:7004 --expect ECONNREFUSED"
kill "$(cat /tmp/netd.pid)"
wait "$(cat /tmp/netd.pid)" 2>/dev/null
sed 's/^/[dom0] /' /tmp/netd.log
}

# ---- live migration (xl migrate to localhost) -----------------------------

# Not in the default list: this harness cannot migrate (docs/xen.md, "What
# it cannot prove": Xen under TCG has no log-dirty for a PV guest, and a
# saved guest's stream does not fit in dom0's memory).  XDOM_CASES=migrate
# runs it, XDOM_MIGRATE_HOW=save for xl save + restore instead.
phase_migrate() {
echo "--- a guest migrated to this host (xl migrate) under live channels"
boot g3 0 || { fail migrate "g3 did not start"; return; }
G3=$(domid g3)
survive migrate.g1-listener-survives g1 "$G1" "--listen xen:m1 --allow $G3" \
	g3 "--connect xen:$G1/m1" "${XDOM_MIGRATE_HOW:-migrate}"
xl list
echo "xdom: g3 after the migration: domain $(domid g3)"
check migrate.g3-runs-after "g3 answers a command after the migration" gx g3 "echo alive" 60
xl destroy g3 2>/dev/null
}

# ---- libfabric: fi_pingpong with the ivc provider in two guests --------------

# fi_pingpong's control connection: its port, carried between the guests
# (which have no network) by a pair of `xdom relay` over a xen channel.
FI_PORT=47592

# fi_server ID SRV CLIDOM ARGS [ENV]: fi_pingpong's server in guest SRV,
# and its control port reached from the client's guest: `xdom relay` in
# both, over xen:ID (SRV listens, the client's guest connects; it is ready
# once the relay there listens on the port).  The client's guest is the
# other of g1 and g2.
fi_server() {
	local id=$1 s=$2 cd=$3 args=$4 env=${5:-} cl=g1 sd
	[ "$s" = g1 ] && cl=g2
	sd=$(domid "$s")
	gx "$s" "$env xdom-fi start $id-srv $cd -B $FI_PORT $args" 60
	gx "$s" "xdom relay --listen xen:$id --allow $cd --tcp 127.0.0.1:$FI_PORT > /tmp/relay-$id.out 2>&1 &" 60
	gx "$cl" "xdom relay --connect xen:$sd/$id --tcp 127.0.0.1:$FI_PORT --ready xs:data/xdom/relay-$id > /tmp/relay-$id.out 2>&1 &" 60
	wait_node "/local/domain/$cd/data/xdom/relay-$id" 120
}

# fi_check CASE ID SRV CLI RCS RCC DETAIL: both ends exited 0 (-c:
# fi_pingpong checked every byte), and each endpoint's IVC_FI_STATS line
# shows messages both ways and its one channel over xen.
fi_check() {
	local c=$1 id=$2 s=$3 cl=$4 rcs=$5 rcc=$6 ls lc re
	gx "$s" "cat /tmp/relay-$id.out" 30
	gx "$cl" "cat /tmp/relay-$id.out" 30
	ls=$(xenstore-read "/local/domain/$(domid "$s")/data/xdom/fi-$id-srv" 2>/dev/null)
	lc=$(xenstore-read "/local/domain/$(domid "$cl")/data/xdom/fi-$id-cli" 2>/dev/null)
	re='sent [1-9][0-9]* msgs [0-9]* B, received [1-9][0-9]* msgs [0-9]* B, .*connected 0 shm 1 xen 0 tcp'
	check "$c" "$7: server in $s exit $rcs, client in $cl exit $rcc; $s: ${ls:-no stats}; $cl: ${lc:-no stats}" \
		sh -c "[ $rcs = 0 ] && [ $rcc = 0 ] && echo \"\$1\" | grep -q \"\$3\" && echo \"\$2\" | grep -q \"\$3\"" - "$ls" "$lc" "$re"
}

# fi_case CASE ID SRV SRVDOM CLI CLIDOM ARGS: fi_pingpong -p ivc -e rdm
# ARGS, its server in guest SRV and its client in guest CLI.
fi_case() {
	local c=$1 id=$2 s=$3 sd=$4 cl=$5 cd=$6 args=$7 rcc=1 rcs
	if fi_server "$id" "$s" "$cd" "$args"; then
		gx "$cl" "xdom-fi run $id-cli $sd -P $FI_PORT $args 127.0.0.1" 420
		rcc=$?
	fi
	gx "$s" "xdom-fi result $id-srv 120" 180
	rcs=$?
	fi_check "$c" "$id" "$s" "$cl" "$rcs" "$rcc" "fi_pingpong $args"
}

# fi_late_table CASE ID: the client's first send comes before ivc-netd has
# written the server's entry into the client's table (the daemon is
# stopped): its connect is refused (no entry, so tcp, which has no route
# here), which the provider says and tries again; then the daemon starts,
# and the client must reach the server over xen within IVC_FI_CONNECT_MS.
# Without the provider's retry the first send fails at once.
fi_late_table() {
	local c=$1 id=$2 args="-S 4096 -I 10 -c" env="IVC_FI_CONNECT_MS=120000" rcc=1 rcs said=1
	kill "$(cat /tmp/netd.pid)"
	wait "$(cat /tmp/netd.pid)" 2>/dev/null
	if fi_server "$id" g1 "$G2" "$args" "$env"; then
		gx g2 "$env xdom-fi start $id-cli $G1 -P $FI_PORT $args 127.0.0.1" 60
		gx g2 "xdom-fi said $id-cli 'refused, trying again' 120" 180
		said=$?
		netd_start
		gx g2 "xdom-fi result $id-cli 300" 360
		rcc=$?
	fi
	gx g1 "xdom-fi result $id-srv 120" 180
	rcs=$?
	if [ $said = 0 ]; then
		fi_check "$c" "$id" g1 g2 "$rcs" "$rcc" "fi_pingpong $args, the client's connect refused until ivc-netd started"
	else
		fail "$c" "the client's provider never said its connect was refused and tried again (client exit $rcc, server exit $rcs)"
	fi
}

phase_fi() {
echo "--- libfabric: fi_pingpong -p ivc with one end in g1 and the other in g2, over xen (net: names, ivc-netd)"
if [ ! -f /etc/xdom-fi ]; then
	echo "XDOM fi: SKIP (no ivc provider in the guests: the build has no src/fi/libivc-fi.so, or the host no fi_pingpong)"
	return
fi
if [ $RD_FI = 0 ]; then
	fail fi "g1 and g2 were booted without the libfabric archive (see above)"
	return
fi
sed 's/^/xdom: /' /etc/xdom-fi
: > /tmp/netd.log
netd_start
fi_case fi.g1-server-g2-client fi1 g1 "$G1" g2 "$G2" "-S all -I 5 -c"
fi_case fi.g2-server-g1-client-tagged fi2 g2 "$G2" g1 "$G1" "-S 65536 -I 20 -c -m tagged"
fi_late_table fi.late-table fi3
kill "$(cat /tmp/netd.pid)"
wait "$(cat /tmp/netd.pid)" 2>/dev/null
sed 's/^/[dom0] /' /tmp/netd.log
}

# ---- DPDK: dpdk-testpmd with the net_ivc PMD in two guests ---------------

# pmdval DOMAIN NODE: what xdom-pmd wrote into DOMAIN's data/xdom.
pmdval() { xenstore-read "/local/domain/$1/data/xdom/$2" 2> /dev/null; }

# pmdcheck NAME A B LO HI: LO <= A - B <= HI (xdom-pmd's figures), else a
# line saying which did not hold (a figure missing: "?", "-" or "").
pmdcheck() {
	awk -v a="$2" -v b="$3" -v lo="$4" -v hi="$5" -v n="$1" 'BEGIN {
		if (a !~ /^-?[0-9]+$/ || b !~ /^-?[0-9]+$/ || a - b < lo || a - b > hi) {
			printf "xdom: %s: %s - %s not within [%s, %s]\n", n, a, b, lo, hi; exit 1 } }'
}
# pmdf VALUE N: the N-th word of VALUE, or "?".
pmdf() { echo "$1" | awk -v n="$2" '{ print (NF >= n ? $n : "?") }'; }
# pmdcalc A OP B: A + B or A - B, "?" if either is not a number.
pmdcalc() {
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		if (a !~ /^[0-9]+$/ || b !~ /^[0-9]+$/) print "?"
		else printf "%.0f\n", op == "+" ? a + b : a - b }'
}

# g1 runs testpmd as the server (io forwarding: every frame back out the
# port it came in), g2 as the client (flowgen: sends bursts of UDP frames
# and counts what comes back), over xen:<g1>/pmd with small lanes (64
# slots, 64 buffers of 2 KiB a direction).  The guest side is xdom-pmd;
# build.sh packs it, testpmd and the PMD only where the build has the PMD.
PMD_SLOTS=64
PMD_FRAMES=${XDOM_PMD_FRAMES:-10000} # frames back at g2 before going on
phase_pmd() {
echo "--- DPDK: dpdk-testpmd with the net_ivc PMD, g1 the server (io) and g2 the client (flowgen), over xen"
if [ ! -f /etc/xdom-pmd ]; then
	echo "XDOM pmd: SKIP (no net_ivc PMD in the guests: the build has no src/dpdk/librte_net_ivc.so, or the host no dpdk-testpmd)"
	return
fi
if [ $RD_PMD = 0 ]; then
	fail pmd "g1 and g2 were booted without the DPDK archive (see above)"
	return
fi
local lanes="slots=$PMD_SLOTS,bufs=$PMD_SLOTS" srv cli t0 t1 tl=? up=0 ok=0 crc=1 src what \
	s2 s4 sf cf a_rx a_tx b_rx b_tx s_rx s_tx s_txd s_lc c_rx c_tx d_rx d_tx
sed 's/^/xdom: /' /etc/xdom-pmd
srv="net_ivc0,addr=xen:pmd,role=server,allow=$G2,$lanes"
cli="net_ivc0,addr=xen:$G1/pmd,role=client,$lanes"
t0=$(now_ns)

# Link: the server waits for its client; both ports go up once the
# channel is there (each testpmd's first link state change).
if gx g1 "xdom-pmd start srv io '$srv' 150" 180; then
	t1=$(now_ns)
	gx g2 "xdom-pmd start cli1 flowgen '$cli' 150" 180 &&
		gx g2 "xdom-pmd link cli1 1 60" 90 && gx g1 "xdom-pmd link srv 1 60" 90 && up=1
	tl=$(( ($(now_ns) - t1) / 1000000 ))
fi
check pmd.link "testpmd in g1 (server, allow=$G2) and in g2 (client of xen:$G1/pmd): both links up, $tl ms after the client's start began (testpmd's start included)" \
	[ $up = 1 ]

# Restart: traffic flows; the client is killed with SIGKILL; the server's
# link goes down, its counters stand still; a new client comes up and
# traffic flows again.
t1=$(now_ns)
if [ $up = 1 ]; then
	gx g2 "xdom-pmd rx cli1 $PMD_FRAMES 90" 120 &&
		gx g2 "xdom-pmd kill cli1 30" 60 &&
		gx g1 "xdom-pmd snap srv 2 60" 90 &&
		gx g2 "xdom-pmd start cli2 flowgen '$cli' 150" 180 &&
		gx g2 "xdom-pmd link cli2 1 60" 90 && gx g1 "xdom-pmd link srv 3 60" 90 &&
		gx g2 "xdom-pmd rx cli2 $PMD_FRAMES 90" 120 && ok=1
fi
check pmd.restart "$PMD_FRAMES frames back at g2, its testpmd killed with SIGKILL, g1's link down, a new testpmd in g2, links up, $PMD_FRAMES frames back again ($(( ($(now_ns) - ${t1:-0}) / 1000000 )) ms)" \
	[ $ok = 1 ]

# Traffic: both stopped with SIGINT (exit 0); the counters of the second
# client's time, from testpmd's own statistics: g1 received what g2 sent
# and g2 what g1 sent, less at most a lane's worth in flight when g2 closed
# (a frame is never counted twice), and g1 forwarded or dropped every frame
# it received.
if [ $ok = 1 ]; then
	gx g2 "xdom-pmd stop cli2 60" 90; crc=$?
	gx g1 "xdom-pmd snap srv 4 60" 90
fi
gx g1 "[ -e /tmp/pmd-srv.rc ] || xdom-pmd stop srv 60" 90; src=$?
# g1's RX TX after the first and after the second client went (a_, b_);
# g1's and g2's final forward statistics (RX TX RX-dropped TX-dropped
# link-changes: s_, c_); the second client's time at g1 (d_).
s2=$(pmdval "$G1" pmd-srv-2) s4=$(pmdval "$G1" pmd-srv-4)
sf=$(pmdval "$G1" pmd-srv) cf=$(pmdval "$G2" pmd-cli2)
a_rx=$(pmdf "$s2" 1) a_tx=$(pmdf "$s2" 2) b_rx=$(pmdf "$s4" 1) b_tx=$(pmdf "$s4" 2)
s_rx=$(pmdf "$sf" 1) s_tx=$(pmdf "$sf" 2) s_txd=$(pmdf "$sf" 4) s_lc=$(pmdf "$sf" 5)
c_rx=$(pmdf "$cf" 1) c_tx=$(pmdf "$cf" 2)
d_rx=$(pmdcalc "$b_rx" - "$a_rx") d_tx=$(pmdcalc "$b_tx" - "$a_tx")
what="g2 sent $c_tx frames and got $c_rx back; g1 received $d_rx of them and sent $d_tx; g1 in all: RX $s_rx, TX $s_tx, TX-dropped $s_txd, $s_lc link changes"
if [ $crc = 0 ] && [ $src = 0 ] &&
	pmdcheck "frames back at g2" "$c_rx" 0 1 1000000000000 &&
	pmdcheck "g2's TX - g1's RX" "$c_tx" "$d_rx" 0 $PMD_SLOTS &&
	pmdcheck "g1's TX - g2's RX" "$d_tx" "$c_rx" 0 $PMD_SLOTS &&
	pmdcheck "g1's final RX - its last counters" "$s_rx" "$b_rx" 0 0 &&
	pmdcheck "g1's final TX - its last counters" "$s_tx" "$b_tx" 0 0 &&
	pmdcheck "g1's RX - TX - TX-dropped" "$s_rx" "$(pmdcalc "$s_tx" + "$s_txd")" 0 0 &&
	pmdcheck "g1's link changes" "$s_lc" 4 0 0; then
	pass pmd.traffic "$what; both testpmds exit 0 on SIGINT; $(( ($(now_ns) - t0) / 1000000 )) ms for the phase"
else
	fail pmd.traffic "$what; exit on SIGINT: g2 $crc, g1 $src"
fi
gx g2 "for n in cli1 cli2; do [ ! -e /tmp/pmd-\$n.pid ] || [ -e /tmp/pmd-\$n.rc ] || xdom-pmd kill \$n 30; done" 60
}

for p in $CASES; do
	"phase_$p"
done

echo "=== xdom: $passed passed, $failed failed, $(( $(date +%s) - t_start )) s (uptime $(up) s)"
xl list
exit $failed
