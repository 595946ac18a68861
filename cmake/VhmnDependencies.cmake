# Every dependency comes from Debian's packages (see README). In a headless build only libtorch is
# required; the rest switch off with one message each.

find_package(Torch REQUIRED)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(VHMN_TORCH_FLAVOUR " (CUDA)")
else()
  set(VHMN_TORCH_FLAVOUR " (CPU)")
endif()
# libtorch's config exports flags (e.g. -D_GLIBCXX_USE_CXX11_ABI) through TORCH_CXX_FLAGS.
separate_arguments(VHMN_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
add_library(vhmn_torch INTERFACE)
target_link_libraries(vhmn_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(vhmn_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_options(vhmn_torch INTERFACE ${VHMN_TORCH_CXX_FLAGS})
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
  message(STATUS "VHMN_HEADLESS=ON: building core, datasets and the vhmn CLI only (no GUI, no tests)")
endif()

# Targets that include <torch/torch.h> get a precompiled header through this helper.
function(vhmn_torch_pch target)
  target_precompile_headers(${target} PRIVATE <torch/torch.h>)
endfunction()

function(vhmn_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
