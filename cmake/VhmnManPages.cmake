# Man pages and bash completion, generated from the programs' own help and option tables after
# they are built: help2man runs `vhmn --help-all` and `vhmn-studio --help`; `vhmn completion bash`
# and `vhmn-studio --bash-completion` print the completion scripts. Installed (and so in the .deb)
# under share/man/man1 and share/bash-completion/completions, component "docs".
find_program(VHMN_HELP2MAN help2man)
include(GNUInstallDirs)
set(_docs ${PROJECT_BINARY_DIR}/docs-generated)
file(MAKE_DIRECTORY ${_docs})

function(vhmn_generated_docs target program help_option name completion_args)
  set(_outputs ${_docs}/completions/${program})
  add_custom_command(
    OUTPUT ${_docs}/completions/${program}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_docs}/completions
    COMMAND ${CMAKE_COMMAND} -E env QT_QPA_PLATFORM=offscreen $<TARGET_FILE:${target}> ${completion_args}
            > ${_docs}/completions/${program}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${_docs}/completions/${program}.tmp ${_docs}/completions/${program}
    DEPENDS ${target}
    COMMENT "bash completion of ${program}"
    VERBATIM)
  if(VHMN_HELP2MAN)
    add_custom_command(
      OUTPUT ${_docs}/${program}.1
      COMMAND ${CMAKE_COMMAND} -E env QT_QPA_PLATFORM=offscreen
              ${VHMN_HELP2MAN} --no-info --no-discard-stderr --help-option=${help_option} --version-option=--version
              --name=${name} --section=1 --output=${_docs}/${program}.1 $<TARGET_FILE:${target}>
      DEPENDS ${target}
      COMMENT "man page of ${program} (help2man)"
      VERBATIM)
    list(APPEND _outputs ${_docs}/${program}.1)
    install(FILES ${_docs}/${program}.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT docs)
  endif()
  add_custom_target(${program}-docs ALL DEPENDS ${_outputs})
  install(FILES ${_docs}/completions/${program} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT docs)
endfunction()

if(NOT VHMN_HELP2MAN)
  message(STATUS "V-HMN Studio: help2man not found; no man pages (apt install help2man)")
endif()
vhmn_generated_docs(vhmn vhmn --help-all "train and probe Vision Hopfield Memory Networks (headless)" completion\;bash)
if(VHMN_WITH_QT)
  vhmn_generated_docs(vhmn-studio vhmn-studio --help "train and inspect Vision Hopfield Memory Networks (desktop app)"
                      --bash-completion)
endif()
