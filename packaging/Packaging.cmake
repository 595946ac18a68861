# CPack: a Debian package with both programs, the desktop entry, the icon and AppStream metadata.
#   cmake --build build && (cd build && cpack)      → build/vhmn-studio_<version>_<arch>.deb
# Dependencies are computed by dpkg-shlibdeps from the installed binaries (libtorch, Qt 6,
# QCustomPlot, HDF5, OpenCV...), so the package installs on a clean Debian 12 with apt.
if(NOT VHMN_WITH_QT)
  return()  # a headless build has no GUI to package
endif()

include(GNUInstallDirs)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/vhmn-studio.desktop
        DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES ${PROJECT_SOURCE_DIR}/resources/vhmn-studio.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
configure_file(${PROJECT_SOURCE_DIR}/packaging/io.github.vhmn_studio.metainfo.xml
               ${PROJECT_BINARY_DIR}/io.github.vhmn_studio.metainfo.xml @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/io.github.vhmn_studio.metainfo.xml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "vhmn-studio")
set(CPACK_PACKAGE_VENDOR "V-HMN Studio developers")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Train and inspect Vision Hopfield Memory Networks")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "vhmn-studio")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "V-HMN Studio developers <vhmn-studio@users.noreply.github.com>")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "V-HMN Studio (vhmn-studio) trains V-HMN image classifiers and shows their training live; the vhmn command-line tool trains, evaluates and benchmarks headless. Runs are folders with an HDF5 record that both programs read.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Found at run time, so dpkg-shlibdeps cannot see them: Qt's platform plugins (xcb, wayland,
# offscreen) are only "Recommended" by libqt6gui6.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins")
# libtorch loads OpenBLAS at run time; the OpenMP build is ~20x faster than the reference BLAS.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-openmp")
include(CPack)
