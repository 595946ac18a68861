# Every dependency comes from Debian's packages (see README). In a headless build only libtorch is
# required; the rest switch off with one message each.

find_package(Torch REQUIRED)
# Supported libtorch: Debian's 1.13 (CPU) up to PyTorch's 2.12.x (headers of 2.13 and later need
# C++20). The 2.x build is pinned in scripts/dev.sh (TORCH2_VERSION); differences live in
# core/torch_compat.h.
set(VHMN_TORCH_MIN 1.13)
set(VHMN_TORCH_BELOW 2.13)
if(NOT Torch_VERSION)
  message(FATAL_ERROR "libtorch found at ${Torch_DIR} states no version; "
                      "V-HMN Studio supports libtorch ${VHMN_TORCH_MIN} up to (not including) ${VHMN_TORCH_BELOW}")
endif()
if(Torch_VERSION VERSION_LESS VHMN_TORCH_MIN OR NOT Torch_VERSION VERSION_LESS VHMN_TORCH_BELOW)
  message(FATAL_ERROR "libtorch ${Torch_VERSION} (${Torch_DIR}) is outside the supported range: "
                      "V-HMN Studio builds against libtorch ${VHMN_TORCH_MIN} up to (not including) "
                      "${VHMN_TORCH_BELOW}. Use Debian's libtorch-dev (1.13) or "
                      "`scripts/dev.sh build-torch2` (PyTorch's 2.11 wheel).")
endif()
# Headers and libraries must come from the same libtorch (Debian's /usr/lib libtorch.so is found by
# default search paths when only Torch_DIR points elsewhere).
get_filename_component(VHMN_TORCH_LIBDIR "${TORCH_LIBRARY}" DIRECTORY)
get_filename_component(VHMN_TORCH_LIBDIR "${VHMN_TORCH_LIBDIR}" REALPATH)
get_filename_component(VHMN_TORCH_PREFIX "${TORCH_INSTALL_PREFIX}" REALPATH)
if(NOT VHMN_TORCH_LIBDIR MATCHES "^${VHMN_TORCH_PREFIX}")
  message(FATAL_ERROR "libtorch's CMake config at ${Torch_DIR} picked the library ${TORCH_LIBRARY}, "
                      "which is not under its own prefix ${VHMN_TORCH_PREFIX}: put that prefix "
                      "(e.g. .torch2/torch) in CMAKE_PREFIX_PATH")
endif()
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(VHMN_TORCH_FLAVOUR " (CUDA)")
  set(VHMN_TORCH_CUDA ON)
else()
  set(VHMN_TORCH_FLAVOUR " (CPU)")
endif()
# libtorch's config exports flags (e.g. -D_GLIBCXX_USE_CXX11_ABI) through TORCH_CXX_FLAGS.
separate_arguments(VHMN_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
add_library(vhmn_torch INTERFACE)
target_link_libraries(vhmn_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(vhmn_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_options(vhmn_torch INTERFACE ${VHMN_TORCH_CXX_FLAGS})
if(VHMN_TORCH_CUDA)
  target_compile_definitions(vhmn_torch INTERFACE VHMN_TORCH_CUDA)
endif()
# PyTorch's 2.x wheels export their own copies of std::filesystem from libtorch.so, and a program
# that lists libtorch before libstdc++ binds its std::filesystem calls to them, which crash
# (remove_all jumps to address 0). Making libstdc++ the first needed library binds them to the
# system's. Harmless with Debian's libtorch.
target_link_options(vhmn_torch INTERFACE "SHELL:-Wl,--push-state,--no-as-needed -lstdc++ -Wl,--pop-state")
add_library(vhmn::torch ALIAS vhmn_torch)

# Header-only helpers. On a machine without the Debian packages, point VHMN_EXTRA_INCLUDE at a
# folder holding nlohmann/json.hpp and CLI/CLI.hpp (copied from those packages).
set(VHMN_EXTRA_INCLUDE "" CACHE PATH "Folder with nlohmann/json.hpp and CLI/CLI.hpp when not installed")
find_package(nlohmann_json 3.9 QUIET)
add_library(vhmn_json INTERFACE)
if(nlohmann_json_FOUND)
  target_link_libraries(vhmn_json INTERFACE nlohmann_json::nlohmann_json)
else()
  find_path(VHMN_JSON_DIR nlohmann/json.hpp HINTS ${VHMN_EXTRA_INCLUDE} REQUIRED)
  target_include_directories(vhmn_json SYSTEM INTERFACE ${VHMN_JSON_DIR})
endif()
add_library(vhmn::json ALIAS vhmn_json)

find_package(CLI11 QUIET CONFIG)
add_library(vhmn_cli11 INTERFACE)
if(CLI11_FOUND)
  target_link_libraries(vhmn_cli11 INTERFACE CLI11::CLI11)
else()
  find_path(VHMN_CLI11_DIR CLI/CLI.hpp HINTS ${VHMN_EXTRA_INCLUDE} REQUIRED)
  target_include_directories(vhmn_cli11 SYSTEM INTERFACE ${VHMN_CLI11_DIR})
endif()
add_library(vhmn::cli11 ALIAS vhmn_cli11)

find_package(Threads REQUIRED)

# Optional: OpenCV (image-folder datasets), HDF5 (run records).
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(OpenCV_FOUND)
  set(VHMN_WITH_OPENCV ON)
else()
  set(VHMN_WITH_OPENCV OFF)
  message(STATUS "OpenCV dev files not found: image-folder datasets are switched off "
                 "(install libopencv-dev to enable them)")
endif()

find_package(HDF5 QUIET COMPONENTS C CXX)
if(HDF5_FOUND)
  set(VHMN_WITH_HDF5 ON)
else()
  set(VHMN_WITH_HDF5 OFF)
  message(STATUS "HDF5 C++ dev files not found: run.h5 records are switched off "
                 "(install libhdf5-dev to enable them)")
endif()

set(VHMN_WITH_QT OFF)
if(NOT VHMN_HEADLESS)
  find_package(Qt6 COMPONENTS Core Gui Widgets Test PrintSupport)
  find_package(QCustomPlotQt6 QUIET)
  if(Qt6_FOUND)
    set(VHMN_WITH_QT ON)
    set(CMAKE_AUTOMOC ON)
  else()
    message(STATUS "Qt 6 not found: building headless (core, datasets, vhmn CLI). "
                   "Install qt6-base-dev for the GUI and the tests.")
  endif()
else()
  message(STATUS "VHMN_HEADLESS=ON: building core, datasets and the vhmn CLI only (no GUI)")
endif()

# Tests: the core, datasets and CLI suites need only Qt Core + Qt Test (also in a headless build
# where Qt is installed); the GUI suites need the GUI. The CUDA suite needs no Qt at all.
set(VHMN_WITH_QT_TEST OFF)
if(VHMN_BUILD_TESTS)
  if(VHMN_WITH_QT)
    set(VHMN_WITH_QT_TEST ON)
  else()
    find_package(Qt6 QUIET COMPONENTS Core Test)
    if(Qt6Test_FOUND)
      set(VHMN_WITH_QT_TEST ON)  # moc runs for the test binary only (tests/CMakeLists.txt)
    else()
      message(STATUS "Qt 6 Test not found: only the CUDA suite is built (install qt6-base-dev for the others)")
    endif()
  endif()
endif()

# Targets that include <torch/torch.h> get a precompiled header through this helper.
function(vhmn_torch_pch target)
  target_precompile_headers(${target} PRIVATE <torch/torch.h>)
endfunction()

function(vhmn_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
