#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Install test: install a built ivc tree into a temporary prefix, then build
# and run test/install/consumer.c against it
#   (a) through the CMake package: ivc::ivc and ivc::ivc_static;
#   (b) through pkg-config: `cc $(pkg-config --cflags --libs ivc)`, and the
#       static library with `pkg-config --static`;
# and (c) run the installed programs (ivc-cat, ivc-bench, ivc-chain, those built) with
# LD_LIBRARY_PATH unset: their RUNPATH must find the installed libivc.
# Also: the headers, the man pages (a sample of man3, ivc(7), and each
# installed program's man1 page) are installed.
#
# usage: run.sh BUILD_DIR SOURCE_DIR C_COMPILER [SANITIZERS [RUNPATH]]
#
# SANITIZERS is the build's IVC_SANITIZE value ('' / 'address,undefined' /
# 'thread').  A sanitized libivc needs a sanitized program (its runtime must
# come first), so the same -fsanitize flags are passed to every consumer
# build; nothing is skipped under the sanitizers.
#
# RUNPATH is the one the installed programs must carry (cmake/IvcRunpath.cmake,
# e.g. '$ORIGIN/../lib'); empty or absent: any, but one; 'none': the build
# installs none (a system prefix), so they must have none and run with
# LD_LIBRARY_PATH set to the prefix's library directory.
#
# Set IVC_INSTALL_TEST_KEEP=1 to keep the temporary directory.
set -euo pipefail

if [ $# -lt 3 ]; then
	echo "usage: $0 BUILD_DIR SOURCE_DIR C_COMPILER [SANITIZERS]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cc=$3
san=${4:-}
runpath=${5:-}

work=$(mktemp -d "${TMPDIR:-/tmp}/ivc-install-test.XXXXXX")
cleanup() {
	if [ "${IVC_INSTALL_TEST_KEEP:-0}" = 1 ]; then
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
prefix=$work/prefix

step() { printf '\n== %s\n' "$*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

san_flags=""
if [ -n "$san" ]; then
	san_flags="-fsanitize=$san -fno-omit-frame-pointer"
fi

version=$(sed -n 's/^#define IVC_VERSION_STRING "\(.*\)"$/\1/p' \
	"$build/include/ivc/version.h")
[ -n "$version" ] || die "no version in $build/include/ivc/version.h"
# The soname rule (docs/abi.md): libivc.so.0.<minor> while the major version
# is 0 (each minor release may change the ABI), libivc.so.<major> from 1.0.
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
if [ "$major" = 0 ]; then
	soname=libivc.so.0.$minor
else
	soname=libivc.so.$major
fi

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log"; die "cmake --install failed"; }

# Where GNUInstallDirs put things (lib or lib64 or lib/<multiarch>).
pc=$(find "$prefix" -name ivc.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || die "ivc.pc was not installed"
libdir=$(dirname "$(dirname "$pc")")
for f in include/ivc/ivc.h include/ivc/version.h include/ivc/error.h \
	include/ivc/channel.h include/ivc/zerocopy.h; do
	[ -f "$prefix/$f" ] || die "$f was not installed"
done
# Man pages, .so links included (a sample: the globs in IvcInstall.cmake;
# test/man/check.sh checks the pages themselves), and ivc(7).
for f in man3/ivc_accept.3 man3/ivc_poller_create.3 man3/ivc_poller_run.3 \
	man3/ivc_poller_stop.3 man3/ivc_poller_dispatch.3 man3/ivc_poller_fd.3 \
	man3/ivc_poller_add_listener.3 man3/ivc_send.3 man3/ivc_recv.3 \
	man3/ivc_wait.3 man3/ivc_pin_thread.3 man7/ivc.7; do
	[ -n "$(find "$prefix" -path "*/$f")" ] || die "man page $f was not installed"
done
# A program's page is installed with it (checked below, for those built).
expect_man1() {
	[ -n "$(find "$prefix" -path "*/man1/$1.1")" ] || die "man page man1/$1.1 was not installed"
}
for f in libivc.so "$soname" "libivc.so.$version" libivc.a \
	cmake/ivc/ivcConfig.cmake cmake/ivc/ivcConfigVersion.cmake \
	cmake/ivc/ivcTargets.cmake; do
	[ -e "$libdir/$f" ] || die "$libdir/$f was not installed"
done
got=$(readelf -d "$libdir/libivc.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || die "SONAME is '$got', want $soname"
# Nothing private may leak into the installed headers.
if grep -rlE '#include +"' "$prefix/include/ivc"; then
	die "installed headers include private (quoted) headers"
fi
echo "installed ivc $version into $prefix (libdir $libdir)"

# Checks that a program uses the libivc it was meant to.
expect_shared() {
	readelf -d "$1" | grep -qF "Shared library: [$soname]" ||
		die "$1 does not link $soname"
	# Its references to libivc carry the version nodes of src/libivc.map
	# (ivc_send@IVC_0.2): none is bound unversioned.
	local refs
	refs=$(readelf --dyn-syms -W "$1" | awk '$7 == "UND" && $8 ~ /^ivc_/ { print $8 }')
	[ -n "$refs" ] || die "$1 uses no ivc_ function?"
	if printf '%s\n' "$refs" | grep -v '@IVC_[0-9]'; then
		die "$1: the references above are bound to no version node"
	fi
	local where dir
	where=$(LD_LIBRARY_PATH=${2:-} ldd "$1" | awk -v so="$soname" '$1 == so { print $3 }')
	# (Through a RUNPATH of $ORIGIN/../lib it is .../bin/../lib/...)
	dir=$(cd "$(dirname "${where:-/nonexistent/x}")" 2>/dev/null && pwd -P) || dir=""
	if [ -z "$dir" ] || [ "$dir" != "$(cd "$libdir" && pwd -P)" ]; then
		die "$1 loads $soname from '$where', not from $libdir"
	fi
}
expect_static() {
	if readelf -d "$1" | grep -q 'NEEDED.*libivc'; then
		die "$1 should not need libivc.so"
	fi
}

# (a) CMake package.
step "CMake consumer: find_package(ivc $version EXACT), ivc::ivc and ivc::ivc_static"
cmake -S "$src/test/install" -B "$work/cmake-build" \
	-DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_FLAGS="-Wall -Wextra -Werror $san_flags" \
	-DCMAKE_EXE_LINKER_FLAGS="$san_flags" \
	-DIVC_EXPECT_VERSION="$version" >"$work/cmake-configure.log" 2>&1 ||
	{ cat "$work/cmake-configure.log"; die "consumer configure failed"; }
grep 'ivc .* from' "$work/cmake-configure.log" || true
cmake --build "$work/cmake-build" -j 2 >"$work/cmake-build.log" 2>&1 ||
	{ cat "$work/cmake-build.log"; die "consumer build failed"; }
# The build tree's RPATH finds the installed library: no LD_LIBRARY_PATH.
expect_shared "$work/cmake-build/consumer_shared"
expect_static "$work/cmake-build/consumer_static"
"$work/cmake-build/consumer_shared"
"$work/cmake-build/consumer_static"

# A request for an ABI this is not must be refused: another major version,
# and while the major is 0 another minor (SameMinorVersion: the soname rule).
# The same ABI (the same major.minor) is accepted.
wrong="$((major + 1)).0"
if [ "$major" = 0 ]; then
	wrong="$wrong 0.$((minor + 1))"
	[ "$minor" = 0 ] || wrong="$wrong 0.$((minor - 1))"
fi
for want in $wrong; do
	d=$work/wrong-$want
	mkdir -p "$d"
	cat >"$d/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(wrong_version LANGUAGES C)
find_package(ivc $want QUIET CONFIG)
if(ivc_FOUND)
  message(FATAL_ERROR "find_package(ivc $want) accepted ivc $version")
endif()
find_package(ivc $major.$minor REQUIRED CONFIG)
EOF
	cmake -S "$d" -B "$d/build" \
		-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
		>"$d.log" 2>&1 ||
		{ cat "$d.log"; die "version check"; }
	echo "find_package(ivc $want) correctly refused ivc $version (and $major.$minor accepted)"
done

# (b) pkg-config.
step "pkg-config consumer: cc \$(pkg-config --cflags --libs ivc)"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists --print-errors "ivc = $version"
echo "pkg-config --cflags --libs ivc: $(pkg-config --cflags --libs ivc)"
echo "pkg-config --static --libs ivc: $(pkg-config --static --libs ivc)"
# The strictest mode a C11 user may pick: the public headers must be clean.
strict="-std=c11 -pedantic -Wall -Wextra -Werror"
# shellcheck disable=SC2046,SC2086  # word splitting is intended
"$cc" $strict $san_flags $(pkg-config --cflags ivc) \
	"$src/test/install/consumer.c" -o "$work/pc_shared" $(pkg-config --libs ivc)
# libivc.a by name (-l:libivc.a), plus what it needs (Libs.private).
static_libs=$(pkg-config --static --libs ivc | sed 's/\(^\| \)-livc\( \|$\)/\1-l:libivc.a\2/')
# shellcheck disable=SC2046,SC2086
"$cc" $strict $san_flags $(pkg-config --cflags ivc) \
	"$src/test/install/consumer.c" -o "$work/pc_static" $static_libs
expect_shared "$work/pc_shared" "$libdir"
expect_static "$work/pc_static"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/pc_shared"
"$work/pc_static"

# (c) The installed programs.  Installed, a program's build-tree RUNPATH is
# gone: it must find the installed libivc through its own RUNPATH, with
# no LD_LIBRARY_PATH (before issue 13's fix: "libivc.so.0: cannot open
# shared object file").  Each program is checked if the build made it.
if [ "$runpath" = none ]; then
	step "installed programs: no RUNPATH (a system prefix); run with LD_LIBRARY_PATH=$libdir"
else
	step "installed programs: RUNPATH ${runpath:-(any)}; run with LD_LIBRARY_PATH unset"
fi
# Run "$@" as an installed program is run: no LD_LIBRARY_PATH, unless the
# build installs no RUNPATH (then the prefix is not its library's home).
bare() {
	if [ "$runpath" = none ]; then
		LD_LIBRARY_PATH="$libdir" "$@"
	else
		env -u LD_LIBRARY_PATH "$@"
	fi
}
# Check installed program $1 (built as $2) and set $prog to it.  Return 1
# (and check nothing) if the build did not make it.
installed_prog() {
	local name=$1 built=$2 rp
	prog=""
	if [ ! -e "$built" ]; then
		echo "($name was not built: not checked)"
		return 1
	fi
	prog=$(find "$prefix" -type f -name "$name" | head -n 1)
	[ -n "$prog" ] || die "$name was not installed"
	rp=$(readelf -d "$prog" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
	if [ "$runpath" = none ]; then
		[ -z "$rp" ] || die "$prog has RUNPATH '$rp'; a system prefix wants none"
		if readelf -d "$prog" | grep -q '(RPATH)'; then
			die "$prog has an RPATH"
		fi
		expect_shared "$prog" "$libdir"
	else
		[ -n "$rp" ] || die "$prog has no RUNPATH ($(readelf -d "$prog" |
			grep -E '\((RUN)?PATH\)' || echo none)): it cannot find $libdir"
		[ -z "$runpath" ] || [ "$rp" = "$runpath" ] ||
			die "$prog has RUNPATH '$rp', want '$runpath'"
		expect_shared "$prog" # (LD_LIBRARY_PATH empty)
	fi
	echo "$prog: RUNPATH ${rp:-none}, loads $libdir/$soname"
}
if installed_prog ivc-cat "$build/apps/ivc-cat"; then
	expect_man1 ivc-cat
	bare "$prog" -h >"$work/cat-help.txt" || die "$prog -h failed"
	grep -q '^usage: ivc-cat' "$work/cat-help.txt" || die "$prog -h: no usage"
	# A real exchange between two installed ivc-cat processes: a listener
	# that receives, a client that sends 100 kB, compared byte for byte.
	# (-w bounds both: the client's wait for the listener, the listener's
	# for a client.)
	addr="shm:@ivc-install-test-$$"
	head -c 100000 /dev/urandom >"$work/cat.in"
	bare "$prog" -r -w 60 -l "$addr" >"$work/cat.out" </dev/null &
	cat_listener=$!
	if ! bare "$prog" -s -w 60 "$addr" <"$work/cat.in"; then
		kill "$cat_listener" 2>/dev/null || true
		die "the installed ivc-cat (sending) failed"
	fi
	wait "$cat_listener" || die "the installed ivc-cat -l (receiving) failed"
	cmp "$work/cat.in" "$work/cat.out" || die "ivc-cat copied the data wrong"
	echo "installed ivc-cat: -h, and 100000 bytes from one to another, identical"
fi
if installed_prog ivc-bench "$build/perf/ivc-bench"; then
	expect_man1 ivc-bench
	bare "$prog" --help >"$work/bench-help.txt" || die "$prog --help failed"
	grep -q '^usage: ivc-bench' "$work/bench-help.txt" || die "$prog --help: no usage"
	bare "$prog" list >"$work/bench-list.txt" || die "$prog list failed"
	grep -q '^ivc ' "$work/bench-list.txt" || die "$prog list: no ivc transport"
	echo "installed ivc-bench: --help and list"
fi
if installed_prog ivc-chain "$build/apps/ivc-chain"; then
	expect_man1 ivc-chain
	# The whole example chain, its stages started from the installed
	# binary itself (it re-runs its own path).
	bare "$prog" run --count 20000 --gens 2 --timeout 60 >"$work/chain.txt" ||
		die "the installed ivc-chain run failed: $(cat "$work/chain.txt")"
	grep -q '^verdict: exact' "$work/chain.txt" || die "ivc-chain: not exact"
	echo "installed ivc-chain: a run of 2 generators, exact"
fi

# The headers are usable from C++ too (extern "C"), when a C++ compiler is
# installed; a syntax check only.
cxx=""
case "$cc" in
*clang*) command -v clang++ >/dev/null 2>&1 && cxx=clang++ ;;
*) command -v g++ >/dev/null 2>&1 && cxx=g++ ;;
esac
if [ -n "$cxx" ]; then
	step "C++ syntax check of <ivc/ivc.h> with $cxx"
	# shellcheck disable=SC2046
	echo '#include <ivc/ivc.h>
int main() { return ivc_version() == nullptr; }' |
		"$cxx" -std=c++11 -Wall -Wextra -Werror -fsyntax-only \
			$(pkg-config --cflags ivc) -x c++ -
	echo "ok"
else
	echo "(no C++ compiler: C++ header check skipped)"
fi

printf '\ninstall test: all consumers built and ran (ivc %s%s)\n' "$version" \
	"${san:+, -fsanitize=$san}"
