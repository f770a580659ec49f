#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test/xen/build.sh - build what test/xen/run.sh boots: the real Xen 4.17
# hypervisor and Debian's 6.1 kernel as a PV dom0 (both downloaded from
# Debian's archive and unpacked into the work folder, never installed), and
# an initramfs holding busybox, the Xen driver modules, xenstored and the
# programs to run in dom0 (see init).
#
# usage: build.sh WORKDIR [PROGRAM...]
#   every PROGRAM (with its shared libraries) goes into dom0's /usr/bin
#   (default: the probe, built here from xen_probe.c).  dom0 runs each
#   program in turn; or, with IVC_XEN_TESTS=FILE, each line of FILE as a
#   shell command (environment assignments, a packed program, arguments).
# Needs root for apt-get; the host packages are installed once.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
W=${1:?usage: build.sh WORKDIR [PROGRAM...]}
shift
mkdir -p "$W"/{debs,x,boot}
W=$(cd "$W" && pwd)

HOST_PKGS=(qemu-system-x86 libxen-dev xen-utils-4.17 xenstore-utils busybox-static
	cpio gzip kmod gcc libc6-dev xz-utils)
missing=()
for p in "${HOST_PKGS[@]}"; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "xen harness: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi

# The hypervisor and the kernel: the versions Debian ships today.
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
KVER=${KPKG#linux-image-}
if [ ! -s "$W/boot/xen" ] || [ ! -s "$W/boot/vmlinuz" ] || [ ! -d "$W/x/linux/lib/modules/$KVER" ]; then
	rm -rf "$W/debs"/* "$W/x"/*
	(cd "$W/debs" && apt-get download -q xen-hypervisor-4.17-amd64 "$KPKG" > /dev/null)
	dpkg -x "$W"/debs/xen-hypervisor-4.17-amd64_*.deb "$W/x/xen"
	dpkg -x "$W"/debs/"${KPKG}"_*.deb "$W/x/linux"
	# QEMU's -kernel boots the multiboot ELF, not the gzip.
	zcat "$W/x/xen/boot/xen-4.17-amd64.gz" > "$W/boot/xen"
	cp "$W/x/linux/boot/vmlinuz-$KVER" "$W/boot/vmlinuz"
fi
echo "xen harness: Xen 4.17, dom0 kernel $KVER"

# guest_kernel IMAGE OUT: the ELF inside a bzImage whose payload is xz
# (Debian's), for the guests.  Given the bzImage, xl's domain builder
# decompresses it in dom0 on every `xl create`: seconds of QEMU's TCG per
# guest boot, which the ELF saves.  Falls back to copying IMAGE.
guest_kernel() {
	local off
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | head -n 1 | cut -d: -f1)
	if [ -n "$off" ] &&
		{ tail -c +$((off + 1)) "$1" || true; } 2>/dev/null | # (xz stops early)
			xz -dc --single-stream > "$2.tmp" 2>/dev/null &&
		[ "$(head -c 4 "$2.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
		mv "$2.tmp" "$2"
	else
		rm -f "$2.tmp"
		cp "$1" "$2"
	fi
}

PROGS=("$@")
if [ ${#PROGS[@]} -eq 0 ]; then
	gcc -std=c11 -O2 -Wall -Wextra -o "$W/xen_probe" "$HERE/xen_probe.c" \
		-lxenevtchn -lxengnttab -lxenstore
	PROGS=("$W/xen_probe")
fi

# mkroot DIR: a root with busybox, /etc/passwd (root, and ivc: uid 1000,
# the unprivileged user a guest runs its commands as) and the xenstore
# client.
mkroot() {
	rm -rf "$1"
	mkdir -p "$1"/{bin,sbin,etc/xen,proc,sys,dev,tmp,run,lib/modules,lib64,usr/bin,usr/sbin} \
		"$1"/var/{lib/xenstored,lib/xen,log/xen/console}
	ln -s ../run "$1/var/run"
	cp /bin/busybox "$1/bin/busybox"
	for a in $("$1/bin/busybox" --list); do
		[ -e "$1/bin/$a" ] || ln -s busybox "$1/bin/$a"
	done
	printf 'root:x:0:0:root:/:/bin/sh\nivc:x:1000:1000:ivc:/tmp:/bin/sh\n' > "$1/etc/passwd"
	printf 'root:x:0:\nivc:x:1000:\n' > "$1/etc/group"
	put "$1" /usr/bin/xenstore /usr/bin/xenstore
	for a in ls read write rm exists chmod watch list; do ln -s xenstore "$1/usr/bin/xenstore-$a"; done
	# glibc dlopen()s libgcc_s for pthread_cancel (xs_close uses it).
	cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$1/lib/x86_64-linux-gnu/"
	cp -L /lib64/ld-linux-x86-64.so.2 "$1/lib64/"
}

# put ROOT FILE DEST: FILE at DEST in ROOT, with the libraries it needs.
put() {
	mkdir -p "$1/$(dirname "$3")"
	cp -L "$2" "$1/$3"
	ldd "$2" 2>/dev/null | awk '/=>/ { print $3 } /^\t\// { print $1 }' | while read -r lib; do
		[ -e "$lib" ] || continue
		case $lib in
		/lib/* | /lib64/* | /usr/lib/*) dest=$lib ;;
		# A build tree's library (libivc): its folder may be hidden in
		# dom0 (/tmp is a tmpfs there); init puts /usr/local/lib on
		# LD_LIBRARY_PATH.
		*) dest=/usr/local/lib/$(basename "$lib") ;;
		esac
		mkdir -p "$1/$(dirname "$dest")"
		cp -Ln "$lib" "$1/$dest"
	done
}

M=$W/x/linux/lib/modules/$KVER/kernel/drivers/xen
# The guests (test/xen/xdom.sh starts them in dom0): a PV domU with the
# same kernel, IVC_XEN_GUEST_PROGS, and guest-init.  Only the three
# drivers a guest's ivc needs; no xenfs, no privcmd.
GUEST_PROGS=(${IVC_XEN_GUEST_PROGS:-})
G=$W/guest-root
PMD_CONF=""
FI_CONF=""
if [ ${#GUEST_PROGS[@]} -gt 0 ]; then
	mkroot "$G"
	for p in "${GUEST_PROGS[@]}"; do
		put "$G" "$p" "/usr/bin/$(basename "$p")"
	done
	for m in xen-evtchn.ko xen-gntdev.ko xen-gntalloc.ko; do
		cp "$M/$m" "$G/lib/modules/"
	done
	install -m 755 "$HERE/guest-init" "$G/init"
	# Uncompressed: the guest's kernel unpacks it without inflating.
	(cd "$G" && find . -print0 | cpio --null -o -H newc --quiet) > "$W/boot/guest.cpio"
	echo "xen harness: guest initramfs $(du -h "$W/boot/guest.cpio" | cut -f1) with: ${GUEST_PROGS[*]##*/}"
	# The net_ivc DPDK PMD (IVC_XEN_GUEST_PMD=BUILD/src/dpdk/librte_net_ivc.so,
	# optional), for xdom.sh's phase_pmd: dpdk-testpmd, the libraries ldd
	# says it and the PMD need, DPDK's ring mempool driver (testpmd's
	# default mempool ops, a plugin no library links), and xdom-pmd.  In
	# an archive of their own, guest-pmd.cpio, with only what guest.cpio
	# lacks: the guests that run testpmd boot the two one after the other
	# (the kernel unpacks concatenated archives); the others stay small.
	rm -f "$W/boot/guest-pmd.cpio"
	if [ -n "${IVC_XEN_GUEST_PMD:-}" ] && ! tp=$(command -v dpdk-testpmd); then
		echo "xen harness: no dpdk-testpmd (Debian package dpdk-dev): the guests get no DPDK, phase_pmd is skipped"
	elif [ -n "${IVC_XEN_GUEST_PMD:-}" ]; then
		GP=$W/guest-pmd-root
		rm -rf "$GP"
		mkdir -p "$GP/etc" "$GP/usr/bin"
		# DPDK's plugin folder (EAL's DPDK_PLUGIN_PATH): the mempool
		# driver and the bus and NIC drivers testpmd links live there,
		# outside the loader's default path.
		eal=$(ldd "$tp" | awk '/librte_eal\.so/ { print $3 }')
		libdir=$(tr '\0' '\n' < "$eal" | sed -n 's/^DPDK_PLUGIN_PATH=//p' | sed -n 1p)
		ring=$(readelf -d "$libdir/librte_mempool_ring.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
		put "$GP" "$tp" /usr/bin/dpdk-testpmd
		put "$GP" "$libdir/$ring" "$libdir/$ring"
		put "$GP" "$IVC_XEN_GUEST_PMD" /usr/local/lib/librte_net_ivc.so
		install -m 755 "$HERE/xdom-pmd" "$GP/usr/bin/xdom-pmd"
		PMD_CONF="PMD_SO=/usr/local/lib/librte_net_ivc.so
PMD_MEMPOOL=$libdir/$ring
PMD_LIBDIR=$libdir
PMD_DPDK=$(dpkg-query -W -f='${Version}' dpdk-dev 2> /dev/null || echo unknown)"
		echo "$PMD_CONF" > "$GP/etc/xdom-pmd.conf"
		(cd "$GP" && find . -type f) | while read -r f; do
			if [ -e "$G/$f" ]; then rm "$GP/$f"; fi
		done
		(cd "$GP" && find . -print0 | cpio --null -o -H newc --quiet) > "$W/boot/guest-pmd.cpio"
		echo "xen harness: guest-pmd.cpio $(du -h "$W/boot/guest-pmd.cpio" | cut -f1) with: dpdk-testpmd, $(find "$GP" -name '*.so*' | wc -l) libraries, librte_net_ivc.so (for g1 and g2)"
	fi
	# The libfabric provider (IVC_XEN_GUEST_FI=BUILD/src/fi/libivc-fi.so,
	# optional), for xdom.sh's phase_fi: libfabric's fi_pingpong, the
	# libraries ldd says it and the provider need, the provider in the
	# folder xdom-fi names in FI_PROVIDER_PATH, and xdom-fi.  An archive
	# of its own as well (guest-fi.cpio, only what guest.cpio lacks), for
	# g1 and g2.
	rm -f "$W/boot/guest-fi.cpio"
	FI_CONF=""
	if [ -n "${IVC_XEN_GUEST_FI:-}" ] && ! fp=$(command -v fi_pingpong); then
		echo "xen harness: no fi_pingpong (Debian package libfabric-bin): the guests get no libfabric, phase_fi is skipped"
	elif [ -n "${IVC_XEN_GUEST_FI:-}" ]; then
		GF=$W/guest-fi-root
		rm -rf "$GF"
		mkdir -p "$GF/usr/bin"
		put "$GF" "$fp" /usr/bin/fi_pingpong
		put "$GF" "$IVC_XEN_GUEST_FI" /usr/local/lib/libfabric/libivc-fi.so
		install -m 755 "$HERE/xdom-fi" "$GF/usr/bin/xdom-fi"
		FI_CONF="FI_LIBFABRIC=$(dpkg-query -W -f='${Version}' libfabric1 2> /dev/null || echo unknown)"
		(cd "$GF" && find . -type f) | while read -r f; do
			if [ -e "$G/$f" ]; then rm "$GF/$f"; fi
		done
		(cd "$GF" && find . -print0 | cpio --null -o -H newc --quiet) > "$W/boot/guest-fi.cpio"
		echo "xen harness: guest-fi.cpio $(du -h "$W/boot/guest-fi.cpio" | cut -f1) with: fi_pingpong, $(find "$GF" -name '*.so*' | wc -l) libraries, libivc-fi.so (for g1 and g2)"
	fi
fi

R=$W/rootfs
mkroot "$R"
put "$R" /usr/lib/xen-4.17/bin/xenstored /usr/sbin/xenstored
put "$R" /usr/lib/xen-4.17/bin/xen-init-dom0 /usr/sbin/xen-init-dom0
for p in "${PROGS[@]}"; do
	put "$R" "$p" "/usr/bin/$(basename "$p")"
done
if [ ${#GUEST_PROGS[@]} -gt 0 ]; then
	# What starts and watches the guests: xl, xenconsoled (their
	# consoles, logged), the guests' kernel and initramfs, and the script.
	put "$R" /usr/lib/xen-4.17/bin/xl /usr/sbin/xl
	put "$R" /usr/lib/xen-4.17/bin/xenconsoled /usr/sbin/xenconsoled
	# xl save/migrate run it (xdom.sh's phase_migrate).
	put "$R" /usr/lib/xen-4.17/bin/libxl-save-helper /usr/lib/xen-4.17/bin/libxl-save-helper
	printf 'autoballoon="off"\n' > "$R/etc/xen/xl.conf"
	mkdir -p "$R/boot" "$R/var/lib/xen/dump" "$R/var/lock"
	guest_kernel "$W/boot/vmlinuz" "$W/boot/guest-kernel"
	cp "$W/boot/guest-kernel" "$R/boot/guest-kernel"
	cp "$W/boot/guest.cpio" "$R/boot/guest.cpio"
	install -m 755 "$HERE/xdom.sh" "$R/usr/bin/xdom.sh"
	# What tells phase_pmd the guests carry the PMD.
	if [ -n "$PMD_CONF" ]; then
		echo "$PMD_CONF" > "$R/etc/xdom-pmd"
		cp "$W/boot/guest-pmd.cpio" "$R/boot/guest-pmd.cpio"
	fi
	# And phase_fi that they carry libfabric.
	if [ -n "$FI_CONF" ]; then
		echo "$FI_CONF" > "$R/etc/xdom-fi"
		cp "$W/boot/guest-fi.cpio" "$R/boot/guest-fi.cpio"
	fi
fi
# Debian builds the Xen drivers as modules.
for m in xen-privcmd.ko xenfs/xenfs.ko xen-evtchn.ko xen-gntdev.ko xen-gntalloc.ko; do
	cp "$M/$m" "$R/lib/modules/"
done
install -m 755 "$HERE/init" "$R/init"
if [ -n "${IVC_XEN_TESTS:-}" ]; then
	grep -v '^[[:space:]]*\(#\|$\)' "$IVC_XEN_TESTS" > "$R/etc/ivc-tests"
else
	printf '%s\n' "${PROGS[@]##*/}" > "$R/etc/ivc-tests"
fi
(cd "$R" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$W/boot/initrd.gz"
echo "xen harness: initramfs $(du -h "$W/boot/initrd.gz" | cut -f1) with: ${PROGS[*]##*/}"
