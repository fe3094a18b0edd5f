# The API text of the public C headers as JSON (scripts/apidoc.py runs Doxygen's
# XML output on capi/include/xssh/*.h): the one source every language's docs are
# generated from. Provides the target xssh_apidoc and XSSH_APIDOC_JSON (its file).
set(XSSH_APIDOC_JSON ${PROJECT_BINARY_DIR}/apidoc/xssh-api.json)   # (also where an earlier include made it)
if(NOT TARGET xssh_apidoc)
  find_program(XSSH_DOXYGEN doxygen)
  if(NOT XSSH_DOXYGEN)
    message(FATAL_ERROR "doxygen not found: the language modules take their docs from the C headers "
                        "through Doxygen's XML (Debian: apt-get install doxygen)")
  endif()
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  file(GLOB XSSH_APIDOC_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/capi/include/xssh/*.h)
  add_custom_command(OUTPUT ${XSSH_APIDOC_JSON}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/apidoc.py --doxygen ${XSSH_DOXYGEN}
            --headers ${PROJECT_SOURCE_DIR}/capi/include/xssh --xml-dir ${PROJECT_BINARY_DIR}/apidoc
            -o ${XSSH_APIDOC_JSON}
    DEPENDS ${XSSH_APIDOC_HEADERS} ${PROJECT_SOURCE_DIR}/scripts/apidoc.py ${PROJECT_SOURCE_DIR}/scripts/apidoc.Doxyfile
    COMMENT "Extracting the API text of the C headers (Doxygen XML -> apidoc/xssh-api.json)")
  add_custom_target(xssh_apidoc DEPENDS ${XSSH_APIDOC_JSON})
endif()
