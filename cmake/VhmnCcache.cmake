# Use ccache when present. GCC precompiled headers need these sloppiness settings to be cached.
find_program(VHMN_CCACHE ccache)
if(VHMN_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      # Paths below the checkout are hashed relative to it, so a clone at another path (CI) hits.
      "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}"
      ${VHMN_CCACHE})
  message(STATUS "ccache: ${VHMN_CCACHE}")
endif()
