# Installation: headers, libivc.so.0.<minor> / libivc.a, a CMake package (ivc::ivc,
# ivc::ivc_static), a pkg-config file (ivc.pc) and the man pages.
#
# Included at the end of the top-level CMakeLists.txt, after src/ has defined
# the targets `ivc` (shared) and `ivc_static` (static).
include(CMakePackageConfigHelpers)

set(IVC_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/ivc"
    CACHE STRING "Where ivcConfig.cmake is installed (relative to the prefix)")
set(IVC_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where ivc.pc is installed (relative to the prefix)")
mark_as_advanced(IVC_INSTALL_CMAKEDIR IVC_INSTALL_PKGCONFIGDIR)

# Public headers: include/ivc/*.h plus the generated version.h.
file(GLOB IVC_PUBLIC_HEADERS CONFIGURE_DEPENDS
     "${PROJECT_SOURCE_DIR}/include/ivc/*.h")
install(FILES ${IVC_PUBLIC_HEADERS}
              "${PROJECT_BINARY_DIR}/include/ivc/version.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/ivc"
        COMPONENT ivc_dev)

# Man pages.  Section 3 (man/man3/: a page for every exported call, .so
# links for the other names of a grouped page; the ctest man_pages checks
# that none is missing) and section 7 (man/man7/ivc.7, the overview): every
# page there, so a new one needs no edit here; they go with the headers.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/man/man3"
        DESTINATION "${CMAKE_INSTALL_MANDIR}"
        COMPONENT ivc_dev FILES_MATCHING PATTERN "*.3")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/man/man7"
        DESTINATION "${CMAKE_INSTALL_MANDIR}"
        COMPONENT ivc_dev FILES_MATCHING PATTERN "*.7")
# Section 1 (man/man1/<program>.1): each page with its program, when the
# build makes it (IVC_BUILD_APPS, IVC_BUILD_PERF; ivc-bench needs hwloc).
# (This file is included after apps/ and perf/ have defined their targets.)
file(GLOB IVC_MAN1_PAGES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/man/man1/*.1")
foreach(page IN LISTS IVC_MAN1_PAGES)
  get_filename_component(prog "${page}" NAME_WLE)
  if(TARGET ${prog})
    install(FILES "${page}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
  endif()
endforeach()

install(TARGETS ivc ivc_static
        EXPORT ivcTargets
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
                COMPONENT ivc_runtime
                NAMELINK_COMPONENT ivc_dev
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT ivc_dev
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT ivc_runtime)
# (The targets' include directory is their $<INSTALL_INTERFACE:...>, set in
# src/CMakeLists.txt.)

install(EXPORT ivcTargets
        NAMESPACE ivc::
        FILE ivcTargets.cmake
        DESTINATION "${IVC_INSTALL_CMAKEDIR}"
        COMPONENT ivc_dev)

# ivcConfig.cmake reads these (0/1) to decide which dependencies to look for.
if(IVC_HAVE_HWLOC)
  set(IVC_CONFIG_HAVE_HWLOC 1)
else()
  set(IVC_CONFIG_HAVE_HWLOC 0)
endif()
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/ivcConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/ivcConfig.cmake"
  INSTALL_DESTINATION "${IVC_INSTALL_CMAKEDIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
# Which installed version satisfies find_package(ivc X.Y): the same rule as
# the soname (src/CMakeLists.txt, docs/abi.md).  While the major version is
# 0 each minor release may change the ABI (libivc.so.0.<minor>), so only the
# same 0.<minor> is compatible; from 1.0 on, the same major.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(ivc_compat SameMinorVersion)
else()
  set(ivc_compat SameMajorVersion)
endif()
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/ivcConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY ${ivc_compat})
install(FILES "${PROJECT_BINARY_DIR}/ivcConfig.cmake"
              "${PROJECT_BINARY_DIR}/ivcConfigVersion.cmake"
        DESTINATION "${IVC_INSTALL_CMAKEDIR}"
        COMPONENT ivc_dev)

# pkg-config.  Libs.private lists what libivc.a needs (pkg-config --static);
# libivc.so carries its own DT_NEEDED entries.  hwloc is named in Libs.private
# rather than Requires.private so that users of the shared library do not need
# hwloc.pc (libhwloc-dev) installed.
set(IVC_PC_LIBS_PRIVATE "")
if(IVC_HAVE_HWLOC)
  string(APPEND IVC_PC_LIBS_PRIVATE " -lhwloc")
endif()
if(IVC_HAVE_XEN)
  string(APPEND IVC_PC_LIBS_PRIVATE " -lxengnttab -lxenevtchn -lxenstore")
endif()
if(IVC_HAVE_NETTLE)
  string(APPEND IVC_PC_LIBS_PRIVATE " -lnettle")
endif()
if(IVC_HAVE_URCU)
  string(APPEND IVC_PC_LIBS_PRIVATE " -lurcu-cds -lurcu-bp")
endif()
# Threads::Threads is -pthread on glibc; name the library for pkg-config users.
string(APPEND IVC_PC_LIBS_PRIVATE " -lpthread")
string(STRIP "${IVC_PC_LIBS_PRIVATE}" IVC_PC_LIBS_PRIVATE)
foreach(d INCLUDEDIR LIBDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    set(IVC_PC_${d} "${CMAKE_INSTALL_${d}}")
  else()
    set(IVC_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
  endif()
endforeach()
# The prefix is written at install time, so `cmake --install --prefix P`
# yields prefix=P: the template keeps a literal @CMAKE_INSTALL_PREFIX@ that
# the install step substitutes (DESTDIR is, as it should be, not included).
set(IVC_PC_PREFIX "@CMAKE_INSTALL_PREFIX@")
configure_file("${PROJECT_SOURCE_DIR}/cmake/ivc.pc.in"
               "${PROJECT_BINARY_DIR}/ivc.pc.tmpl" @ONLY)
install(CODE "configure_file(\"${PROJECT_BINARY_DIR}/ivc.pc.tmpl\"
                            \"${PROJECT_BINARY_DIR}/ivc.pc\" @ONLY)"
        COMPONENT ivc_dev)
install(FILES "${PROJECT_BINARY_DIR}/ivc.pc"
        DESTINATION "${IVC_INSTALL_PKGCONFIGDIR}"
        COMPONENT ivc_dev)
