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
	cpio gzip kmod gcc libc6-dev)
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

PROGS=("$@")
if [ ${#PROGS[@]} -eq 0 ]; then
	gcc -std=c11 -O2 -Wall -Wextra -o "$W/xen_probe" "$HERE/xen_probe.c" \
		-lxenevtchn -lxengnttab -lxenstore
	PROGS=("$W/xen_probe")
fi

R=$W/rootfs
rm -rf "$R"
mkdir -p "$R"/{bin,sbin,etc/xen,proc,sys,dev,tmp,run,lib/modules,lib64,usr/bin,usr/sbin} \
	"$R"/var/{lib/xenstored,lib/xen,log/xen}
ln -s ../run "$R/var/run"
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do
	[ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done

# put FILE DEST: FILE at DEST in the rootfs, with the libraries it needs.
put() {
	mkdir -p "$R/$(dirname "$2")"
	cp -L "$1" "$R/$2"
	ldd "$1" 2>/dev/null | awk '/=>/ { print $3 } /^\t\// { print $1 }' | while read -r lib; do
		[ -e "$lib" ] || continue
		case $lib in
		/lib/* | /lib64/* | /usr/lib/*) dest=$lib ;;
		# A build tree's library (libivc): its folder may be hidden in
		# dom0 (/tmp is a tmpfs there); init puts /usr/local/lib on
		# LD_LIBRARY_PATH.
		*) dest=/usr/local/lib/$(basename "$lib") ;;
		esac
		mkdir -p "$R/$(dirname "$dest")"
		cp -Ln "$lib" "$R/$dest"
	done
}
put /usr/lib/xen-4.17/bin/xenstored /usr/sbin/xenstored
put /usr/lib/xen-4.17/bin/xen-init-dom0 /usr/sbin/xen-init-dom0
put /usr/bin/xenstore /usr/bin/xenstore
for a in ls read write rm; do ln -s xenstore "$R/usr/bin/xenstore-$a"; done
for p in "${PROGS[@]}"; do
	put "$p" "/usr/bin/$(basename "$p")"
done
# glibc dlopen()s libgcc_s for pthread_cancel (xs_close uses it).
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$R/lib/x86_64-linux-gnu/"
cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
# Debian builds the Xen drivers as modules.
M=$W/x/linux/lib/modules/$KVER/kernel/drivers/xen
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
