#!/usr/bin/env python3
"""Build the documentation site (Sphinx + MyST, Debian's python3-sphinx and
python3-myst-parser) with warnings as errors, and check every relative link.

    docs-site.py --api BUILD/apidoc/xssh-api.json --out BUILD/site
                 [--pyi BUILD/python/xssh] [--c-html BUILD/docs/c/html] [--sphinx-python /usr/bin/python3]
    docs-site.py --check-links-only

1. Stages the source in OUT/src: links to README.md, docs/, bindings/*/README.md and
   bench/README.md of the checkout (relative links between them work as on GitHub), and
   api/{c,python,lua,ruby}.md generated from the C headers' text (scripts/gen-site-api.py).
   The Doxygen C reference (--c-html, built from docs/Doxyfile) is shipped as c-reference/.
2. sphinx-build -W --keep-going -E -b html (-E: every page is read each time, so a
   warning is never hidden by a cached page; every warning fails: unknown documents and
   anchors, pages no toctree reaches, bad markup) -> OUT/html.
3. Relative links of the Markdown sources (README.md, bindings/*/README.md, docs/*.md,
   bench/README.md): the target exists in the checkout, and an #anchor names a heading
   of the target (GitHub's slugs). External links are not checked (no network in CI).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def sources():
    """The Markdown files of the site, relative to the checkout."""
    out = ["README.md"]
    for lang in sorted(os.listdir(os.path.join(ROOT, "bindings"))):
        if os.path.exists(os.path.join(ROOT, "bindings", lang, "README.md")):
            out.append("bindings/%s/README.md" % lang)
    out += sorted("docs/" + f for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
    if os.path.exists(os.path.join(ROOT, "bench", "README.md")):
        out.append("bench/README.md")
    return out


def stage(src):
    if os.path.isdir(src):
        shutil.rmtree(src)
    os.makedirs(src)
    os.symlink(os.path.join(ROOT, "docs"), os.path.join(src, "docs"))
    for rel in sources():
        if rel.startswith("docs/"):
            continue
        d = os.path.join(src, os.path.dirname(rel))
        os.makedirs(d, exist_ok=True)
        os.symlink(os.path.join(ROOT, rel), os.path.join(src, rel))


# ---- relative links --------------------------------------------------------------------

def slug(heading):
    """GitHub's anchor of a heading (the same rule as MyST's myst_heading_anchors)."""
    h = re.sub(r"`([^`]*)`", r"\1", heading.strip())
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h)
    h = h.lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path):
    out, fence = set(), False
    with open(path) as fh:
        for line in fh:
            if line.startswith("```"):
                fence = not fence
                continue
            if fence:
                continue
            m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                base = slug(m.group(1))
                n, a = 0, base
                while a in out:      # GitHub numbers repeated headings: x, x-1, x-2
                    n += 1
                    a = "%s-%d" % (base, n)
                out.add(a)
            for m in re.finditer(r"<a (?:name|id)=\"([^\"]+)\"", line):
                out.add(m.group(1))
            m = re.match(r"^\((.+)\)=\s*$", line)
            if m:
                out.add(m.group(1))
    return out


LINK = re.compile(r"(?<!\!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(path):
    """(line number, target) of every inline link outside code."""
    res, fence = [], False
    with open(path) as fh:
        for i, line in enumerate(fh, 1):
            if line.lstrip().startswith("```"):
                fence = not fence
                continue
            if fence or line.startswith("    ") and not line.strip().startswith(("-", "*", "[")):
                continue
            plain = re.sub(r"`[^`]*`", "", line)
            for m in LINK.finditer(plain):
                res.append((i, m.group(1)))
    return res


def check_links():
    errors, count = [], 0
    for rel in sources():
        path = os.path.join(ROOT, rel)
        for line, target in links(path):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue        # http:, https:, mailto: (no network: not checked)
            count += 1
            t, _, frag = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), urllib.parse.unquote(t))) if t else path
            where = "%s:%d: [..](%s)" % (rel, line, target)
            if not os.path.exists(dest):
                errors.append("%s: %s does not exist" % (where, os.path.relpath(dest, ROOT)))
                continue
            if frag and dest.endswith(".md") and frag not in anchors(dest):
                errors.append("%s: no heading with the anchor #%s in %s" % (where, frag, os.path.relpath(dest, ROOT)))
    return count, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--api", help="the JSON of scripts/apidoc.py")
    ap.add_argument("--out", help="build directory of the site (OUT/src, OUT/html)")
    ap.add_argument("--pyi", help="the built Python package (stubs: the Python signatures)")
    ap.add_argument("--c-html", help="the Doxygen HTML of docs/Doxyfile (shipped as c-reference/)")
    ap.add_argument("--sphinx-python", default="/usr/bin/python3",
                    help="the interpreter that has Sphinx (Debian's python3-sphinx)")
    ap.add_argument("--check-links-only", action="store_true")
    a = ap.parse_args()
    count, errors = check_links()
    print("relative links in %d Markdown files: %d checked, %d broken" % (len(sources()), count, len(errors)))
    for e in errors:
        print("  " + e)
    if a.check_links_only:
        return 1 if errors else 0
    if not a.api or not a.out:
        ap.error("--api and --out are needed to build the site")
    probe = subprocess.run([a.sphinx_python, "-c", "import sphinx, myst_parser"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
    if probe.returncode != 0:
        sys.exit("docs-site: %s has no Sphinx/MyST (Debian: apt-get install python3-sphinx python3-myst-parser, "
                 "as scripts/install-deps.sh does): %s" % (a.sphinx_python, probe.stdout.strip().splitlines()[-1:]))
    src = os.path.join(a.out, "src")
    stage(src)
    gen = [a.sphinx_python, os.path.join(HERE, "gen-site-api.py"), "--api", a.api, "--swig",
           os.path.join(ROOT, "swig"), "--out", os.path.join(src, "api")]
    if a.pyi and os.path.exists(os.path.join(a.pyi, "core.pyi")):
        gen += ["--pyi", a.pyi]
    env = dict(os.environ)
    extra = os.path.join(a.out, "extra")
    if os.path.isdir(extra):
        shutil.rmtree(extra)
    if a.c_html:
        if not os.path.exists(os.path.join(a.c_html, "index.html")):
            sys.exit("docs-site: no Doxygen reference at %s (build the target 'docs')" % a.c_html)
        os.makedirs(extra)
        os.symlink(os.path.abspath(a.c_html), os.path.join(extra, "c-reference"))
        env["XSSH_SITE_EXTRA"] = extra
        gen += ["--c-reference", "../c-reference/index.html"]
    subprocess.check_call(gen)
    html = os.path.join(a.out, "html")
    cmd = [a.sphinx_python, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-n", "-b", "html",
           "-c", os.path.join(ROOT, "docs"), "-d", os.path.join(a.out, "doctrees"), src, html]
    print(" ".join(cmd), flush=True)
    rc = subprocess.call(cmd, env=env)
    if rc != 0:
        print("docs-site: sphinx-build reported warnings or errors (above)")
    if a.c_html and not os.path.exists(os.path.join(html, "c-reference", "index.html")):
        print("docs-site: the C reference was not copied into the site")
        rc = rc or 1
    if rc == 0 and not os.path.exists(os.path.join(html, "index.html")):
        with open(os.path.join(html, "index.html"), "w") as fh:   # the site's root: the docs' index
            fh.write('<!DOCTYPE html>\n<meta charset="utf-8">\n<title>xssh</title>\n'
                     '<meta http-equiv="refresh" content="0; url=docs/index.html">\n'
                     '<a href="docs/index.html">xssh documentation</a>\n')
    if rc == 0 and not errors:
        print("site: %s" % os.path.join(html, "index.html"))
    return 1 if rc or errors else 0


if __name__ == "__main__":
    sys.exit(main())
