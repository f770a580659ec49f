# The RUNPATH of the installed programs (ivc-cat, ivc-bench).  Installed,
# they must find the libivc.so.0.<minor> installed with them without LD_LIBRARY_PATH
# (issue 13): CMake strips the build tree's RUNPATH at install and, unless
# told, puts none in its place, so the loader looks only in the system's
# directories.
#
# The path is relative to the program ($ORIGIN/../lib, or whatever leads
# from CMAKE_INSTALL_BINDIR to CMAKE_INSTALL_LIBDIR), because the prefix may
# be chosen after configuring (`cmake --install --prefix P`, DESTDIR) and a
# relocated tree must still work.  Absolute directories are used as given.
#
# No RUNPATH when the library goes into a directory the loader searches
# anyway (an install to /usr: /usr/lib/<multiarch>): distributions forbid a
# RUNPATH into a system directory, and it would only shadow the system's
# own search order.  That is decided from CMAKE_INSTALL_PREFIX at configure
# time, as CMake does for its own defaults: configure with the prefix you
# install to.  -DCMAKE_SKIP_INSTALL_RPATH=ON leaves every RUNPATH out.
#
# Included from the top-level CMakeLists.txt (after GNUInstallDirs, before
# the programs are defined); apps/ and perf/ call ivc_install_runpath().

set(IVC_INSTALL_RUNPATH "")
set(ivc_system_libdirs ${CMAKE_PLATFORM_IMPLICIT_LINK_DIRECTORIES}
    ${CMAKE_C_IMPLICIT_LINK_DIRECTORIES})
list(FIND ivc_system_libdirs "${CMAKE_INSTALL_FULL_LIBDIR}" ivc_libdir_is_system)
if(ivc_libdir_is_system EQUAL -1)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    # (One of them does not move with the prefix: no relative path holds.)
    set(IVC_INSTALL_RUNPATH "${CMAKE_INSTALL_FULL_LIBDIR}")
  else()
    file(RELATIVE_PATH ivc_bin_to_lib "${CMAKE_INSTALL_FULL_BINDIR}"
         "${CMAKE_INSTALL_FULL_LIBDIR}")
    set(IVC_INSTALL_RUNPATH "$ORIGIN/${ivc_bin_to_lib}")
  endif()
endif()
unset(ivc_system_libdirs)
unset(ivc_libdir_is_system)
unset(ivc_bin_to_lib)

# Give installed program @target the RUNPATH above.  Its build-tree RUNPATH
# (the build's src/) is unchanged, so it still runs where it was built.
function(ivc_install_runpath target)
  set_target_properties(${target} PROPERTIES INSTALL_RPATH "${IVC_INSTALL_RUNPATH}")
endfunction()
