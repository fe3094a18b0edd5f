#!/usr/bin/env python3
"""API reference pages of the documentation site (docs/conf.py), one per language,
generated at build time from the ONE source of API text: the JSON of scripts/apidoc.py.

    gen-site-api.py --api xssh-api.json --swig swig/ --out DIR [--pyi BUILD/python/xssh]
                    [--c-reference URL]

Writes DIR/c.md, DIR/python.md, DIR/lua.md, DIR/ruby.md (MyST Markdown).

- C: every public function (signature, text, parameters, status codes, notes), by header.
- Python, Lua, Ruby: the classes and methods SWIG generates, named as each language
  calls them. The language names come from the SWIG definition, read by the same
  generic reader the Lua/Ruby doc generator uses (scripts/gen-api-docs.py: XSSH_HANDLE
  gives a C handle type its class, %extend blocks its methods, %rename the names,
  %apply ...OUTPUT the parameters that become results). The spelling per language is
  one rule: Python ``Session.method(args)``, Lua ``Session:method(args)``, Ruby
  ``Xssh::Session#method(args)``. When the built Python stubs are given (--pyi), the
  Python signature is the stub's (it follows the hand-written ssh2-python layer).
The text of each entry is its C function's, unchanged; every entry links to the C entry.
"""
import argparse
import ast
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_gen_api_docs():
    spec = importlib.util.spec_from_file_location("gen_api_docs", os.path.join(HERE, "gen-api-docs.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


G = _load_gen_api_docs()

_ESC = re.compile(r"([\\`*_\[\]<>|{}$])")


def esc(s):
    """Plain text -> Markdown that renders as the same text."""
    return _ESC.sub(r"\\\1", s)


def esc_spans(s):
    """Like esc(), but `code` and ``code`` spans of a hand-written comment stay code."""
    out, pos = [], 0
    for m in re.finditer(r"``(.+?)``|`([^`]+)`", s):
        out.append(esc(s[pos:m.start()]))
        code = m.group(1) or m.group(2)
        out.append("``%s``" % code if "`" in code else "`%s`" % code)
        pos = m.end()
    out.append(esc(s[pos:]))
    return "".join(out)


def md_text(text, spans=False):
    """apidoc's plain text (paragraphs, "- " items, 4-space code) -> Markdown; spans: keep
    the backquoted code of a hand-written comment."""
    out = []
    for para in (text or "").split("\n\n"):
        lines = para.split("\n")
        if lines and all(ln.startswith("    ") or not ln.strip() for ln in lines):
            out.append("```\n" + "\n".join(ln[4:] for ln in lines) + "\n```")
            continue
        res = []
        for ln in lines:
            m = re.match(r"^(\s*)(- |\d+\. )?(.*)$", ln)
            body = esc_spans(m.group(3)) if spans else esc(m.group(3))
            if not m.group(2):
                body = re.sub(r"^([#+=-])", r"\\\1", body)
            res.append(m.group(1) + (m.group(2) or "") + body)
        out.append("\n".join(res))
    return "\n\n".join(out)


def one_line(text):
    return esc(" ".join((text or "").split()))


def label(lang, *parts):
    return "api-%s-%s" % (lang, "-".join(p.lower() for p in parts if p))


def c_ref(cfn, api):
    if cfn and cfn in api["functions"]:
        return "{ref}`%s() <%s>`" % (cfn, label("c", cfn))
    return ""


# ---- C --------------------------------------------------------------------------------

def gen_c(api, c_reference):
    out = ["# C API reference", "",
           "Generated from the doc comments of the public headers (`capi/include/xssh/*.h`, through",
           "`scripts/apidoc.py`): the same text every language's reference and docstrings show.",
           "Conventions shared by every function (reference counts, `xssh_err`, ownership, units):",
           "[conventions](../docs/conventions.md); the error codes: [errors](../docs/errors.md).", ""]
    if c_reference:
        out += ["The Doxygen rendering of the same headers (types, macros, enums, structs):",
                "<a href=\"%s\">C reference (Doxygen)</a>." % c_reference, ""]
    by_header = {}
    for f in api["functions"].values():
        by_header.setdefault(f["header"], []).append(f)
    for header in sorted(by_header):
        fb = api["files"].get(header, {})
        out += ["## %s" % esc(header), ""]
        if fb.get("brief"):
            out += [md_text(fb["brief"]), ""]
        for f in sorted(by_header[header], key=lambda f: f["line"]):
            out += ["(%s)=" % label("c", f["name"]), "### %s" % esc(f["name"]), "",
                    "```c", f["signature"] + ";", "```", ""]
            text = G.c_text(f)
            if text:
                out += [md_text(text), ""]
            if f["params"]:
                out += ["**Parameters**", ""]
                for p in f["params"]:
                    d = " [%s]" % p["direction"] if p["direction"] else ""
                    out.append("- `%s` (`%s`)%s: %s" % (p["name"], p["type"], d, one_line(p["doc"]) or "-"))
                out.append("")
            if f.get("returns"):
                out += ["**Returns** " + one_line(f["returns"]), ""]
            for rv in f.get("retvals", []):
                out += ["- `%s`: %s" % (rv["value"], one_line(rv["doc"]))]
            if f.get("retvals"):
                out.append("")
            out += ["Declared in `%s`, line %d." % (f["header"], f["line"]), ""]
    return "\n".join(out) + "\n"


# ---- Python, Lua, Ruby ------------------------------------------------------------------

LANGS = {
    "python": {"title": "Python API reference", "module": "xssh", "cls": "{cls}",
               "meth": "{cls}.{name}", "func": "xssh.{name}", "fence": "python",
               "types": {"string": "str | bytes", "integer": "int", "number": "float", "function": "callable",
                         "string[]": "list[str]", "any": "object"}},
    "lua": {"title": "Lua API reference", "module": "xssh", "cls": "xssh.{cls}",
            "meth": "{cls}:{name}", "func": "xssh.{name}", "fence": "lua", "types": {}},
    "ruby": {"title": "Ruby API reference", "module": "Xssh", "cls": "Xssh::{cls}",
             "meth": "Xssh::{cls}#{name}", "func": "Xssh::Native.{name}", "fence": "ruby", "types": {}},
}
INTRO = {
    "python": "`import xssh`. Classes are also reachable under ssh2-python's module paths "
              "(`xssh.session.Session`, ...); a failure raises the `xssh.exceptions` class of its code. "
              "Guide: [Python](../docs/python.md), [differences from ssh2-python](../docs/python-compat.md), "
              "[the package](../bindings/python/README.md).",
    "lua": "`local xssh = require \"xssh\"`. Outputs are multiple returns; a call with no output returns 0; "
           "`xssh.EAGAIN` is returned, never raised; failures raise error objects. "
           "Guide: [the Lua binding](../bindings/lua/README.md).",
    "ruby": "`require 'xssh'`. The classes are `Xssh::<Class>`; a failure raises the `Xssh::Error` subclass of "
            "its code; `Xssh::EAGAIN` is returned, not raised. "
            "Guide: [the Ruby binding](../bindings/ruby/README.md).",
}


def lang_type(lang, ctype, classes):
    if lang == "ruby":
        return G.ruby_type(ctype, classes)
    t = G.lua_type(ctype, classes)
    if lang == "python":
        return LANGS["python"]["types"].get(t, t.replace("xssh.", ""))
    return t


def pyi_signatures(pyi_dir):
    """{(class or None, name): "name(args) -> result"} from the built stubs."""
    sigs = {}
    if not pyi_dir:
        return sigs
    for fn in ("core.pyi", "__init__.pyi"):
        path = os.path.join(pyi_dir, fn)
        if not os.path.exists(path):
            continue
        with open(path) as fh:
            tree = ast.parse(fh.read())
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                for m in node.body:
                    if isinstance(m, ast.FunctionDef):
                        sigs.setdefault((node.name, m.name), _pysig(m, True))
            elif isinstance(node, ast.FunctionDef):
                sigs.setdefault((None, node.name), _pysig(node, False))
    return sigs


def _pysig(fn, method):
    a = fn.args
    if method and a.args and a.args[0].arg in ("self", "cls"):
        a = ast.arguments(posonlyargs=a.posonlyargs, args=a.args[1:], vararg=a.vararg, kwonlyargs=a.kwonlyargs,
                          kw_defaults=a.kw_defaults, kwarg=a.kwarg, defaults=a.defaults)
    ret = (" -> " + ast.unparse(fn.returns)) if fn.returns is not None else ""
    text = "%s(%s)%s" % (fn.name, ast.unparse(a), ret)
    for alias, full in PYI_ALIASES:
        text = re.sub(r"\b%s\b" % alias, full, text)
    return text, [x.arg for x in a.args + a.kwonlyargs]


# the private aliases of the stubs' prelude (scripts/gen-pyi.py), spelled out on the page
PYI_ALIASES = [("_Bytes", "bytes | bytearray | memoryview"), ("_Path", "str | bytes | os.PathLike"),
               ("_Progress", "Callable[[int, int | None], object]"), ("_HasFileno", "HasFileno")]


# ---- the hand-written layer of each language (its own doc comments) ------------------------

def python_layer(pkg_dir):
    """{(class or None, name): (signature, doc)} of the public functions and methods the built
    package exposes beyond SWIG's (xssh.connect, Session.run, ...), from the package itself."""
    out = {}
    if not pkg_dir:
        return out
    import inspect
    sys.path.insert(0, os.path.dirname(os.path.abspath(pkg_dir)))
    try:
        import xssh
        from xssh import core
    except Exception as e:   # noqa: BLE001 - the page says so instead
        sys.stderr.write("gen-site-api: cannot import the built package (%s): no Python layer entries\n" % e)
        return out
    finally:
        sys.path.pop(0)

    def sig(fn):
        try:
            return str(inspect.signature(fn))
        except (TypeError, ValueError):
            return "(...)"
    for name, fn in sorted(vars(xssh).items()):
        if not name.startswith("_") and inspect.isfunction(fn) and fn.__module__.startswith("xssh"):
            out[(None, name)] = (name + sig(fn), inspect.getdoc(fn) or "")
    for cname in dir(core):
        cls = getattr(core, cname)
        if not isinstance(cls, type) or cname.startswith("_"):
            continue
        for name, fn in sorted(vars(cls).items()):
            if name.startswith("_") or not callable(fn) and not isinstance(fn, property):
                continue
            f = fn.fget if isinstance(fn, property) else fn
            if isinstance(f, (staticmethod, classmethod)):
                f = f.__func__
            if inspect.isfunction(f):
                s_ = sig(f).replace("(self, ", "(").replace("(self)", "()")
                out[(cname, name)] = (name + ("" if isinstance(fn, property) else s_), inspect.getdoc(f) or "")
    return out


def ruby_layer(lib_dir):
    """{(class or None, name): (signature, doc)} of the public methods of the Ruby layer
    (bindings/ruby/lib/**/*.rb) with the comment block written above each def."""
    out = {}
    if not lib_dir or not os.path.isdir(lib_dir):
        return out
    for base, _, files in sorted(os.walk(lib_dir)):
        for fn in sorted(files):
            if not fn.endswith(".rb"):
                continue
            stack, comment, private = [], [], set()
            with open(os.path.join(base, fn)) as fh:
                for line in fh:
                    s_ = line.rstrip("\n")
                    ind = len(s_) - len(s_.lstrip())
                    t = s_.strip()
                    m = re.match(r"^(class|module)\s+([\w:]+)", t)
                    if m and not t.endswith(" end"):
                        stack.append([ind, m.group(2).split("::")[-1], m.group(1), False])
                        comment = []
                        continue
                    if t == "end" and stack and stack[-1][0] == ind:
                        stack.pop()
                        comment = []
                        continue
                    if t in ("private", "protected") and stack:
                        stack[-1][3] = True
                        continue
                    m = re.match(r"^(?:private|private_class_method)\s+(:\w+.*)$", t)
                    if m:
                        for n in re.findall(r":(\w+[?!=]?)", m.group(1)):
                            private.add(n)
                    if t.startswith("#") and not t.startswith("#!"):
                        comment.append(re.sub(r"^#\s?", "", t))
                        continue
                    m = re.match(r"^def\s+(self\.)?([\w?!=\[\]]+)\s*(\(.*\))?", t)
                    if m and stack and not stack[-1][3]:
                        name = m.group(2)
                        owner = None if (m.group(1) and stack[-1][2] == "module") else stack[-1][1]
                        if owner == "Xssh":
                            owner = None
                        key = (owner, name)
                        if not name.startswith("_") and key not in out and comment:
                            out[key] = (name + (m.group(3) or ""), "\n".join(comment).strip())
                    comment = []
            for k in [k for k in out if k[1] in private]:
                del out[k]
    return out


def lua_layer(lua_dir):
    """{(class or None, name): (signature, doc)} from the `---` comments of bindings/lua/*.lua."""
    if not lua_dir or not os.path.isdir(lua_dir):
        return {}
    paths = [os.path.join(lua_dir, f) for f in sorted(os.listdir(lua_dir)) if f.endswith(".lua")]
    out = {}
    docs = G.lua_layer_docs(paths)
    if isinstance(docs, tuple):   # (docs, shapes) since gen-api-docs learnt the layer's result shapes
        docs = docs[0]
    for (cls, name), d in docs.items():
        if "alias" in d:
            text = (d["text"] + "\n\n" if d["text"] else "") + "Alias of %s." % d["alias"]
            out[(cls, name)] = (name + "(...)", text)
        elif d["text"]:
            out[(cls, name)] = (name + "(%s)" % (d["args"] or "").replace("self, ", "").replace("self", ""), d["text"])
    return out


LAYER_TITLE = {"python": "the Python layer", "lua": "the Lua layer (bindings/lua)", "ruby": "the Ruby layer (bindings/ruby/lib)"}


def layer_entry(lang, cls, name, sigtext, doc):
    L = LANGS[lang]
    title = L["meth"].format(cls=cls, name=name) if cls else L["func"].format(name=name).replace("Xssh::Native.", "Xssh.")
    shown = sigtext
    if cls:
        shown = {"python": "%s.%s", "lua": "%s:%s", "ruby": "Xssh::%s#%s"}[lang] % (cls, sigtext)
    else:
        shown = {"python": "xssh.%s", "lua": "xssh.%s", "ruby": "Xssh.%s"}[lang] % sigtext
    return ["(%s)=" % label(lang, "layer", cls or "", name), "### %s" % esc(title), "",
            "```" + L["fence"], shown, "```", "", md_text(doc, spans=True) if doc else "(no text)", "",
            "Written in %s." % LAYER_TITLE[lang], ""]


def gen_lang(lang, api, swig_dir, pyi, layer=None):
    L = LANGS[lang]
    sw = G.Swig(swig_dir, api, lang)
    classes = sw.classes
    sigs = pyi_signatures(pyi) if lang == "python" else {}
    out = ["# %s" % L["title"], "",
           "Generated from the C headers' doc comments (`scripts/apidoc.py`) and the SWIG definition "
           "(`swig/`): each method's text is that of the C function it wraps, linked to its entry in the "
           "[C reference](c.md). " + INTRO[lang], ""]
    for struct, cls in sorted(classes.items(), key=lambda kv: kv[1]):
        meths = sw.methods.get(cls, {})
        s = api["structs"].get(struct) or {}
        brief = s.get("brief") or (api["typedefs"].get(struct) or {}).get("brief") or ""
        out += ["(%s)=" % label(lang, cls), "## %s" % esc(L["cls"].format(cls=cls)), ""]
        if brief:
            out += [md_text(brief), ""]
        out += ["C type: `%s`." % struct, ""]
        if s.get("fields"):
            out += ["**Fields**", ""]
            for fld in s["fields"]:
                fname = sw.renames.get((struct, fld["name"]), fld["name"])
                out.append("- `%s` (%s): %s" % (fname, esc(lang_type(lang, fld["type"], classes)),
                                                one_line(fld.get("brief")) or "-"))
            out.append("")
        for name in sorted(meths):
            meth = meths[name]
            f = G.cdoc(api, meth["c"])
            params = []
            for p in sw.lang_params(meth):
                if not p["name"]:
                    continue
                n = re.sub(r"^opt_", "", p["name"])
                if lang == "lua" and n in G.LUA_KEYWORDS or lang == "ruby" and n in G.RUBY_KEYWORDS:
                    n += "_"
                params.append({"name": n, "type": lang_type(lang, p.get("typemap") or p["type"], classes),
                               "doc": G.param_doc(f, p.get("typemap") or p["name"], p["cidx"]),
                               "default": p["default"]})
            outs = _drop_lengths(sw.outputs(meth))
            title = L["meth"].format(cls=cls, name=name)
            sig = sigs.get((cls, name))
            lay = layer.get((cls, name))
            if lay and not sig and lang != "python":
                # the layer overrides the generated method: its signature; the parameters
                # keep the C text, renamed by position when the layer has as many
                names = _arg_names(lay[0])
                if len(names) == len(params):
                    params = [dict(p, name=n, default=None) for p, n in zip(params, names)]
                sig = (lay[0], None)
            if sig:
                shown, names = sig
                if names is not None:
                    known = {p["name"]: p for p in params}
                    params = [known.get(n) or {"name": n, "type": "", "doc": G.param_doc(f, n), "default": None}
                              for n in names]
                sigline = ("%s.%s" if lang == "python" else L["meth"].format(cls=cls, name="") + "%s") % (
                    (cls, shown) if lang == "python" else (shown,))
            else:
                sigline = "%s(%s)" % (title, ", ".join(
                    p["name"] + ("" if p["default"] is None else " = " + _default(lang, p["default"]))
                    for p in params))
            out += ["(%s)=" % label(lang, cls, name), "### %s" % esc(title), "",
                    "```" + L["fence"], sigline, "```", ""]
            text = G.c_text(f) if f else ""
            if lay and lay[1] and lang != "python":   # Ruby/Lua: the layer's own words on its override
                out += [md_text(lay[1], spans=True), ""]
            if text:
                out += [md_text(text), ""]
            if params:
                out += ["**Parameters**", ""]
                for p in params:
                    t = " (%s)" % esc(p["type"]) if p["type"] else ""
                    out.append("- `%s`%s: %s" % (p["name"], t, one_line(p["doc"]) or "-"))
                out.append("")
            if outs:
                out += ["**Returns**%s" % (" (in this order)" if len(outs) > 1 else ""), ""]
                for o in outs:
                    out.append("- `%s` (%s): %s" % (o["name"], esc(lang_type(lang, o["type"].replace("*", "", 1),
                                                                               classes)), one_line(o["doc"]) or "-"))
                out.append("")
            if f and f.get("returns"):
                out += ["**C status** (a failure raises the error of that code): " + one_line(f["returns"]), ""]
            if meth["c"]:
                out += ["Wraps " + c_ref(meth["c"], api) + ".", ""]
        for (lcls, name), (sigtext, doc) in sorted(layer.items(), key=lambda kv: kv[0][1]):
            if lcls == cls and name not in meths:
                out += layer_entry(lang, cls, name, sigtext, doc)
    # classes only the layer defines (RunResult, ...)
    for lcls in sorted({c for c, _ in layer if c and c not in classes.values()}):
        out += ["(%s)=" % label(lang, "layer", lcls), "## %s" % esc(L["cls"].format(cls=lcls)), "",
                "Defined by %s." % LAYER_TITLE[lang], ""]
        for (c, name), (sigtext, doc) in sorted(layer.items(), key=lambda kv: kv[0][1]):
            if c == lcls:
                out += layer_entry(lang, lcls, name, sigtext, doc)
    # module functions of the layer (connect, ...)
    mod = sorted((n, v) for (c, n), v in layer.items() if c is None)
    if mod:
        out += ["(%s)=" % label(lang, "layer-functions"), "## Functions of %s" % LAYER_TITLE[lang], ""]
        for name, (sigtext, doc) in mod:
            out += layer_entry(lang, None, name, sigtext, doc)
    # module functions
    funcs = sorted(sw.functions.items())
    if funcs or sw.helpers:
        out += ["(%s)=" % label(lang, "module-functions"), "## Module functions", ""]
    for name, cfn in funcs:
        f = G.cdoc(api, cfn)
        params = [p for p in f["params"] if p["direction"] != "out"]
        title = L["func"].format(name=name)
        out += ["(%s)=" % label(lang, "fn", name), "### %s" % esc(title), "",
                "```" + L["fence"], "%s(%s)" % (title, ", ".join(p["name"] for p in params)), "```", ""]
        if G.c_text(f):
            out += [md_text(G.c_text(f)), ""]
        if params:
            out += ["**Parameters**", ""]
            out += ["- `%s` (%s): %s" % (p["name"], esc(lang_type(lang, p["type"], classes)), one_line(p["doc"]) or "-")
                    for p in params]
            out.append("")
        if f.get("returns"):
            out += ["**Returns** " + one_line(f["returns"]), ""]
        out += ["Wraps " + c_ref(cfn, api) + ".", ""]
    for name, h in sorted(sw.helpers.items()):
        f = G.cdoc(api, h["c"])
        text = h["text"] or (G.c_text(f) if f else "")
        if not text:
            continue
        title = L["func"].format(name=name)
        out += ["(%s)=" % label(lang, "fn", name), "### %s" % esc(title), "", md_text(text), ""]
        if h["c"]:
            out += ["Calls " + c_ref(h["c"], api) + ".", ""]
    return "\n".join(out) + "\n"


def _drop_lengths(outs):
    """The languages return a buffer as one value (bytes, String): the C length output that
    follows a buffer output (char **, void **) is not a result of its own."""
    res = []
    for o in outs:
        if res and "**" in res[-1]["type"].replace(" ", "") and o["type"].replace(" ", "") == "size_t*":
            continue
        res.append(o)
    return res


def _arg_names(sigtext):
    m = re.search(r"\((.*)\)", sigtext)
    out = []
    for a in (m.group(1) if m else "").split(","):
        a = re.split(r"[=:]", a.strip())[0].strip().lstrip("*&")
        if a and a not in ("self", "...") and re.match(r"^\w+$", a):
            out.append(a)
    return out


def _default(lang, d):
    if d == "NULL":
        return {"python": "None", "lua": "nil", "ruby": "nil"}[lang]
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--api", required=True, help="the JSON of scripts/apidoc.py")
    ap.add_argument("--swig", required=True, help="the swig/ directory")
    ap.add_argument("--out", required=True, help="directory of the generated pages")
    ap.add_argument("--pyi", help="the built Python package (its core.pyi gives the Python signatures)")
    ap.add_argument("--c-reference", help="URL (relative to the C page) of the Doxygen HTML reference")
    a = ap.parse_args(argv)
    with open(a.api) as fh:
        api = json.load(fh)
    os.makedirs(a.out, exist_ok=True)
    pages = {"c": gen_c(api, a.c_reference)}
    root = os.path.dirname(os.path.abspath(a.swig))
    layers = {"python": lambda: python_layer(a.pyi),
              "lua": lambda: lua_layer(os.path.join(root, "bindings", "lua")),
              "ruby": lambda: ruby_layer(os.path.join(root, "bindings", "ruby", "lib"))}
    for lang in ("python", "lua", "ruby"):
        pages[lang] = gen_lang(lang, api, a.swig, a.pyi, layers[lang]())
    for name, text in pages.items():
        path = os.path.join(a.out, name + ".md")
        with open(path + ".tmp", "w") as fh:
            fh.write(text)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
