# Sphinx configuration of the documentation site (scripts/docs-site.py builds it:
# `cmake --build build --target docs_site`, ctest docs_site). The source tree is staged
# by that script: README.md, docs/, bindings/*/README.md, bench/README.md (links into
# the checkout, so relative links between them work as on GitHub) and api/ (the API
# reference of each language, generated from the C headers by scripts/gen-site-api.py).
import os

project = "xssh"
author = "xssh developers"
copyright = "xssh developers, BSD-3-Clause"
extensions = ["myst_parser"]
root_doc = "docs/index"
source_suffix = {".md": "markdown"}
# docs/c-api.md is the main page of the Doxygen C reference (docs/Doxyfile), which the
# site ships as it is (c-reference/, linked from api/c)
exclude_patterns = ["docs/c-api.md", "**/_build", "build"]
myst_heading_anchors = 4          # GitHub's heading anchors: [x](page.md#a-heading)
myst_enable_extensions = []
html_theme = "alabaster"
html_title = "xssh"
html_theme_options = {"description": "One SSH2 client library for C, Python, Lua and Ruby"}
html_extra_path = [p for p in os.environ.get("XSSH_SITE_EXTRA", "").split(os.pathsep) if p]
html_show_sourcelink = False
nitpicky = True
