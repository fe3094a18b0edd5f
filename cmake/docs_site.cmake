# The documentation site (Sphinx + MyST, Debian's python3-sphinx and python3-myst-parser,
# which belong to /usr/bin/python3): scripts/docs-site.py stages docs/, the READMEs and
# the API reference of each language (generated from the C headers' text, apidoc JSON),
# builds it with warnings as errors and checks every relative link. Target docs_site
# (-> build/site/html/docs/index.html); ctest docs_site builds it (label docs).
include(${PROJECT_SOURCE_DIR}/cmake/apidoc.cmake)
set(XSSH_SPHINX_PYTHON /usr/bin/python3 CACHE FILEPATH "Python interpreter that has Sphinx and myst-parser")
set(_site_args --api ${XSSH_APIDOC_JSON} --out ${PROJECT_BINARY_DIR}/site --sphinx-python ${XSSH_SPHINX_PYTHON})
set(_site_deps xssh_apidoc)
if(TARGET docs)        # the Doxygen C reference (docs/Doxyfile), shipped in the site
  list(APPEND _site_args --c-html ${PROJECT_BINARY_DIR}/docs/c/html)
  list(APPEND _site_deps docs)
endif()
if(TARGET xssh_python_stubs)   # the Python signatures (the built stubs)
  list(APPEND _site_args --pyi ${PROJECT_BINARY_DIR}/python/xssh)
  list(APPEND _site_deps xssh_python_stubs)
endif()
add_custom_target(docs_site
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/docs-site.py ${_site_args}
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  COMMENT "Documentation site: Sphinx (warnings are errors) + relative link check -> site/html"
  VERBATIM)
add_dependencies(docs_site ${_site_deps})
if(XSSH_TESTS)
  add_test(NAME docs_site COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target docs_site)
  set_tests_properties(docs_site PROPERTIES LABELS docs TIMEOUT 600)
endif()
