#!/usr/bin/env python3
"""Lua (LuaCATS) and Ruby (YARD + RDoc) API docs of the SWIG modules, generated at
build time from the ONE source of API text: the C headers' comments, as the JSON of
scripts/apidoc.py. Nothing here reads a C header.

    gen-api-docs.py --api xssh-api.json --swig swig/ --lua OUT.lua [--lua-layer F.lua ...]
    gen-api-docs.py --api xssh-api.json --swig swig/ --ruby OUT.rb

What each language calls comes from the SWIG definition (swig/*.i), read generically:
  - XSSH_HANDLE(c_struct, Class) lines: the class of each C handle type;
  - %extend c_struct { ... } blocks: the methods (a declaration without a body calls
    c_struct_<name>(), SWIG's %extend rule; a body's first call of a documented xssh_
    function names the C function behind it), their parameters and defaults;
  - %rename(new) c_struct::old / %rename(new) xssh_fn: the language names;
  - %apply ...OUTPUT/OUT_.../WRITTEN { ... }: the parameters that become results.
A method's text is its C function's (brief, details, parameters, outputs, errors);
C names in it are left as written (xssh_session_connect(), XSSH_EAGAIN) so a reader
finds them in the C reference. Hand-written functions of the Lua layer (bindings/lua/*.lua)
are documented by their own `---` comments (--lua-layer), which this script copies.
"""
import argparse
import json
import os
import re
import sys

# C keywords that a "name (...) {" line of a function body starts with
C_STATEMENTS = {"if", "while", "for", "switch", "return", "sizeof", "do", "else"}

OUT_MARKERS = ("OUTPUT", "OUT_", "WRITTEN")


# ---- the SWIG definition ----------------------------------------------------------

def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _match_brace(text, i):
    """Index just past the brace block opening at text[i] == '{'."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == '"':
            i = text.index('"', i + 1)
        i += 1
    return len(text)


def _split_params(s):
    out, depth, cur = [], 0, ""
    for c in s:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur)
    res = []
    for p in out:
        p = " ".join(p.split())
        if not p or p == "void":
            continue
        default = None
        if "=" in p:
            p, default = [x.strip() for x in p.split("=", 1)]
        m = re.match(r"^(.*?)(\w+)\s*(\[\])?$", p)
        if not m or not m.group(1).strip():
            res.append({"type": p, "name": "", "default": default})
        else:
            res.append({"type": " ".join(m.group(1).split()), "name": m.group(2), "default": default})
    return res


class Swig(object):
    def __init__(self, swig_dir, api, lang):
        self.api = api
        self.classes = {}        # c_struct -> class name
        self.renames = {}        # (c_struct, old) -> new ; (None, xssh_fn) -> new
        self.out_names = set()   # parameter names applied to an output typemap
        self.methods = {}        # class -> {name: {"c":, "params": [...], "ret":}}
        self.functions = {}      # module function name -> C function
        # the shared files (swig/*.i) and this language's fenced ones (swig/<lang>/)
        paths = [os.path.join(swig_dir, f) for f in sorted(os.listdir(swig_dir)) if f.endswith((".i", ".swg"))]
        ldir = os.path.join(swig_dir, lang)
        if os.path.isdir(ldir):
            paths += [os.path.join(ldir, f) for f in sorted(os.listdir(ldir)) if f.endswith((".i", ".swg"))]
        raw = []
        for path in paths:
            with open(path) as fh:
                raw.append(fh.read())
        texts = [_strip_comments(t) for t in raw]
        self.raw = "\n".join(texts)
        whole = "\n".join(texts)
        self.helpers = {}        # module function -> {"text", "params", "c"} (%native, %inline)

        for m in re.finditer(r"\bXSSH_HANDLE\(\s*(\w+)\s*,\s*(\w+)\s*\)", whole):
            if m.group(1).startswith("xssh_") and m.group(2)[:1].isupper():
                self.classes[m.group(1)] = m.group(2)
        for m in re.finditer(r"%rename\(\s*\"?([\w?!=]+)\"?\s*\)\s*(\w+)(?:::(\w+))?\s*;", whole):
            if m.group(3):
                self.renames[(m.group(2), m.group(3))] = m.group(1)
            else:
                self.renames[(None, m.group(2))] = m.group(1)
                if m.group(2) in api["functions"]:
                    self.functions[m.group(1)] = m.group(2)
        for m in re.finditer(r"%apply\s+(\([^)]*\)|[^{;]*?)\s*\{([^}]*)\}", whole):
            if any(k in m.group(1) for k in OUT_MARKERS):
                for name in re.findall(r"\*+\s*(\w+)", m.group(2)):
                    self.out_names.add(name)
        for m in re.finditer(r"%extend\s+(\w+)\s*\{", whole):
            struct = m.group(1)
            start = m.end() - 1
            end = _match_brace(whole, start)
            self._members(struct, whole[start + 1:end - 1])
        self._helpers("\n".join(raw))
        # a struct the SWIG files name with %rename (FileInfo, SFTPAttributes, ...)
        for (s, old), new in list(self.renames.items()):
            if s is None and old in api["structs"] and old not in self.classes and new[:1].isupper():
                self.classes[old] = new

    def _helpers(self, raw):
        """Module functions written in the SWIG files: %native(name) C functions and
        %inline / renamed helpers; their text is the comment just before the C definition
        (a helper that calls a documented xssh_ function also gets that function's text)."""
        names = {}
        for m in re.finditer(r"%native\(\s*(\w+)\s*\)\s*[\w\s\*]*?\b(\w+)\s*\(", raw):
            names[m.group(2)] = m.group(1)
        # Ruby: module functions the fenced files define by hand
        for m in re.finditer(r"rb_define_module_function\(\s*\w+\s*,\s*\"(\w+)\"\s*,\s*VALUEFUNC\((\w+)\)", raw):
            names[m.group(2)] = m.group(1)
        for (struct, old), new in self.renames.items():
            if struct is None and old not in self.api["functions"] and new not in self.functions:
                names.setdefault(old, new)
        for m in re.finditer(r"%inline\s*%\{(.*?)%\}", raw, flags=re.S):
            code = _strip_comments(m.group(1))
            for d in re.finditer(r"^[ \t]*(?:static\s+)?[\w \t\*]+?\b(\w+)\s*\([^;{]*\)\s*\{", code, flags=re.M):
                if d.group(1) not in C_STATEMENTS:  # "  if (x && *x) {" inside a body is no definition
                    names.setdefault(d.group(1), d.group(1))
        for cname, lname in names.items():
            if lname.startswith("_"):
                continue
            d = re.search(r"(/\*(?:(?!\*/).)*\*/)?\s*(?:static\s+)?(?:const\s+)?[\w\*]+[\s\*]+\b%s\s*\(([^)]*)\)\s*\{"
                          % re.escape(cname), raw, flags=re.S)
            if not d:
                continue
            body = raw[d.end() - 1:_match_brace(raw, d.end() - 1)]
            cfn = next((c for c in re.findall(r"\b(xssh_\w+)\s*\(", body) if c in self.api["functions"]), None)
            text = ""
            comment = d.group(1)
            if not comment:
                # the comment before the %rename of the helper
                r = re.search(r"(/\*(?:(?!\*/).)*\*/)\s*%%rename\(\s*\"?%s\"?\s*\)\s*%s\s*;"
                              % (re.escape(lname), re.escape(cname)), raw, flags=re.S)
                comment = r.group(1) if r else None
            if comment:
                text = re.sub(r"^\s*\*\s?", "", comment[2:-2], flags=re.M).strip()
                text = re.sub(r"^[\w.]+\([^)]*\):\s*", "", text)
            params = [] if "lua_State" in d.group(2) else _split_params(d.group(2))
            # Ruby C functions: (VALUE self, VALUE vname, ...) -> name
            params = [dict(p, name=re.sub(r"^v(?=[a-z])", "", p["name"])) for p in params
                      if not (p["type"] == "VALUE" and p["name"] == "self")]
            self.helpers[lname] = {"text": text, "params": params, "c": cfn}

    def _members(self, struct, body):
        i, stmt = 0, ""
        while i < len(body):
            c = body[i]
            if c == ";":
                self._member(struct, stmt, None)
                stmt = ""
            elif c == "{":
                j = _match_brace(body, i)
                self._member(struct, stmt, body[i:j])
                stmt = ""
                i = j
                continue
            else:
                stmt += c
            i += 1

    def _member(self, struct, decl, fbody):
        decl = " ".join(decl.split())
        decl = re.sub(r"^%\w+(\([^)]*\))?\s*", "", decl)
        m = re.match(r"^(.*?)\b(~?\w+)\s*\((.*)\)\s*(const)?$", decl)
        if not m or not m.group(1).strip() and m.group(2) != struct:
            return
        name = m.group(2)
        if name.startswith("~") or name == struct or name.startswith("%"):
            return
        cls = self.classes.get(struct)
        if not cls:
            return
        lang = self.renames.get((struct, name), name)
        cfn = None
        if fbody:
            for call in re.findall(r"\b(xssh_\w+)\s*\(", fbody):
                if call in self.api["functions"]:
                    cfn = call
                    break
        if cfn is None and "%s_%s" % (struct, name) in self.api["functions"]:
            cfn = "%s_%s" % (struct, name)
        if cfn is None:
            # a helper the SWIG files define in C (%{ static int xssh_forward_stats_swig(...) {...} %})
            d = re.search(r"\b%s_%s\s*\([^;{]*\)\s*\{" % (re.escape(struct), re.escape(name)), self.raw)
            if d:
                hbody = self.raw[d.end() - 1:_match_brace(self.raw, d.end() - 1)]
                cfn = next((c for c in re.findall(r"\b(xssh_\w+)\s*\(", hbody) if c in self.api["functions"]), None)
        self.methods.setdefault(cls, {})[lang] = {
            "c": cfn, "params": _split_params(m.group(3)), "ret": " ".join(m.group(1).split()),
            "body": bool(fbody)}

    def lang_params(self, meth):
        """The parameters a caller passes (outputs and buffer lengths left out). A
        typemap's parameters (ALL_CAPS names: IN_BYTES/IN_LEN, PROGRESS_CB/PROGRESS_UD,
        SOCKFD, ...) are one argument of the language, named after the typemap. "cidx"
        is the C parameter it stands for when the declaration mirrors the C function
        (no body: SWIG's %extend rule passes the arguments in order)."""
        f = self.api["functions"].get(meth["c"]) if meth["c"] else None
        mirror = f is not None and not meth["body"] and len(f["params"]) == len(meth["params"]) + 1
        res, prev_ptr, prev_group = [], False, None
        for i, p in enumerate(meth["params"]):
            t, n = p["type"], p["name"]
            q = dict(p, cidx=i + 1 if mirror else None)
            if any(k in t or k in n for k in OUT_MARKERS) or n in self.out_names:
                prev_ptr, prev_group = False, None
                continue
            if re.match(r"^[A-Z][A-Z0-9_]*$", n or ""):
                group = n.split("_")[0]
                if group == prev_group:
                    continue
                prev_group = group
                q["name"] = TYPEMAP_NAMES.get(group, group.lower())
                q["typemap"] = n
                res.append(q)
                continue
            prev_group = None
            if prev_ptr and "size_t" in t and re.search(r"(_len|_size|len)$", n):
                prev_ptr = False
                continue
            prev_ptr = "*" in t and ("char" in t or "void" in t)
            res.append(q)
        return res

    def outputs(self, meth):
        """The C function's output parameters (what the language returns)."""
        f = self.api["functions"].get(meth["c"]) if meth["c"] else None
        if not f:
            return []
        outs = []
        for i, p in enumerate(f["params"]):
            if p["direction"] in ("out", "inout") or p["name"] in self.out_names:
                if p["type"].replace(" ", "") == "size_t*" and i and outs and p["name"].endswith("len"):
                    continue  # the length of the bytes before it
                outs.append(p)
        return outs


# ---- text ---------------------------------------------------------------------------

def cdoc(api, cfn):
    return api["functions"].get(cfn) if cfn else None


def param_doc(f, name, cidx=None):
    if not f or not name:
        return ""
    if cidx is not None and cidx < len(f["params"]) and f["params"][cidx]["doc"]:
        return f["params"][cidx]["doc"]
    for cand in (name, re.sub(r"^opt_", "", name), re.sub(r"_swig$", "", name)):
        for p in f["params"]:
            if p["name"] == cand and p["doc"]:
                return p["doc"]
    # a shortened name (privkey for privatekeydata): the one C parameter it abbreviates
    short = re.sub(r"^opt_", "", name)
    cands = [p for p in f["params"] if p["doc"] and _abbrev(short, p["name"])]
    if len(cands) > 1:  # privkey: privatekey, not privatekey_len
        cands = [p for p in cands if not p["name"].endswith(("_len", "_size"))]
    return cands[0]["doc"] if len(cands) == 1 else ""


def _abbrev(short, full):
    """True when every letter of short appears in full in order, first letters equal."""
    if not short or not full or short[0] != full[0]:
        return False
    it = iter(full)
    return all(c in it for c in short)


# C memory management the languages do themselves (results are strings and collected
# objects): phrases about freeing and references are left out of their docs
_C_OWNERSHIP = [
    (r"[,;]?\s*allocated;\s*free (?:it |them )?with xssh_free\(\)", ""),
    (r"[,;]?\s*free with xssh_free\(\)", ""),
    (r"\s*\(\+1 reference(?:[;,] release with xssh_\w+_unref\(\))?\)", ""),
    (r"[,;]?\s*(?:new reference|\+1 reference)[;,]\s*release with xssh_\w+_unref\(\)", ""),
]


def lang(text):
    """A C doc text as the language bindings read it (no xssh_free()/unref duties)."""
    for pat, rep in _C_OWNERSHIP:
        text = re.sub(pat, rep, text or "")
    return text.strip()


def c_text(f):
    parts = [f["brief"]] if f.get("brief") else []
    if f.get("details"):
        parts.append(f["details"])
    for n in f.get("notes", []):
        parts.append("Note: " + n)
    return "\n\n".join(parts).strip()


# the language type of a typemap's argument (by the typemap's group, see TYPEMAP_NAMES)
TYPEMAP_TYPES = {"IN": "string", "OPT": "string", "READ": "integer", "PROGRESS": "function",
                 "TEXT": "string[]", "SOCKFD": "integer"}


def lua_type(ctype, classes):
    if re.match(r"^[A-Z][A-Z0-9_]*$", ctype) and ctype.split("_")[0] in TYPEMAP_TYPES:
        return TYPEMAP_TYPES[ctype.split("_")[0]]
    t = ctype.replace("const ", "").strip()
    base = t.replace("*", "").strip()
    if base in classes:
        return "xssh." + classes[base]
    if "OUT_BYTES" in t or "IN_BYTES" in t or "OPT_BYTES" in t or base in ("void", "char"):
        return "string"
    if base in ("int", "long", "unsigned", "unsigned int", "unsigned long", "size_t", "uint64_t",
                "int64_t", "uint32_t", "long long", "xssh_err", "xssh_count", "SOCKFD", "time_t") \
            or base.startswith("xssh_") and base.endswith(("_policy", "_type")):
        return "integer"
    if base in ("double", "float"):
        return "number"
    if "callback" in base or "PROGRESS" in t or "progress" in base or base.endswith("_cb"):
        return "function"
    return "any"


def ruby_type(ctype, classes):
    lt = lua_type(ctype, classes)
    return {"string": "String", "integer": "Integer", "number": "Float", "function": "Proc",
            "string[]": "Array<String>", "any": "Object"}.get(lt, lt.replace("xssh.", "Xssh::"))


def lines_of(text, prefix):
    out = []
    for line in lang(text).splitlines():
        out.append((prefix + " " + line).rstrip() if line.strip() else prefix.rstrip())
    return out


# ---- Lua ------------------------------------------------------------------------------

def lua_layer_docs(paths):
    """`---` comment blocks of the hand-written Lua layer, by (class or None, name);
    docs["shapes"] maps (class, name) to the Lua type the layer turns a result into."""
    docs = {}
    shapes = {}
    for path in paths:
        cls = None
        with open(path) as fh:
            lines = fh.read().splitlines()
        block = []
        for line in lines:
            s = line.strip()
            m = re.search(r"(?:methods|_class_metatable)\(\s*\"(\w+)\"", s)
            if m:
                cls = m.group(1)
            # result reshaping by the layer: flags to booleans, comma lists to tables
            m = re.match(r"^(boolean|list)_result\(\s*\w+\s*,\s*\"(\w+)\"\s*\)", s)
            if m:
                shapes[(cls, m.group(2))] = "boolean" if m.group(1) == "boolean" else "string[]"
            m = re.match(r"^(\w+)\.(\w+)\s*=\s*\1\.(\w+)\s*$", s)
            if m and (cls, m.group(2)) not in docs:
                key = (None, m.group(2)) if m.group(1) == "M" else (cls, m.group(2))
                docs[key] = {"alias": m.group(3), "text": "\n".join(block).strip(), "args": None}
                block = []
                continue
            if s.startswith("---") or (block and s.startswith("--")):
                block.append(re.sub(r"^---?\s?", "", s))
                continue
            if block:
                m = (re.match(r"^(?:local\s+)?function\s+(\w+)[.:](\w+)\s*\(([^)]*)\)", s)
                     or re.match(r"^(\w+)\.(\w+)\s*=", s))
                if m:
                    tbl, name = m.group(1), m.group(2)
                    args = m.group(3) if m.lastindex and m.lastindex >= 3 else None
                    key = (None, name) if tbl == "M" else (cls, name)
                    docs[key] = {"text": "\n".join(block).strip(), "args": args}
                if not s.startswith("if "):
                    block = []
    return docs, shapes


def gen_lua(api, sw, layer_and_shapes):
    layer, shapes = layer_and_shapes
    classes = sw.classes
    out = ["---@meta xssh",
           "-- LuaCATS annotations of the xssh module (require \"xssh\"), generated at build time",
           "-- by scripts/gen-api-docs.py from the C headers' comments (scripts/apidoc.py) and the",
           "-- SWIG definition. Not loaded by require: for lua-language-server (add this file's",
           "-- directory to Lua.workspace.library). Errors are raised as xssh error objects",
           "-- (err.code, err.name, err.message, err.class); xssh.EAGAIN is returned, not raised.",
           "",
           "---@class xssh",
           "local xssh = {}", ""]
    seen = set()

    def emit(owner, sep, name, text, params, returns):
        key = (owner, name)
        if key in seen:
            return
        seen.add(key)
        out.extend(lines_of(text or "(undocumented)", "---"))
        for p in params:
            out.append("---@param %s%s %s %s" % (p["name"], "?" if p.get("opt") else "", p["type"],
                                                 " ".join(lang(p["doc"]).split())))
        for r in returns:
            out.append("---@return %s %s %s" % (r["type"], r["name"], " ".join(lang(r["doc"]).split())))
        args = ", ".join(p["name"] for p in params)
        out.append("function %s%s%s(%s) end" % (owner, sep, name, args))
        out.append("")

    def method_entry(cls, name, meth):
        f = cdoc(api, meth["c"])
        lay = layer.get((cls, name))
        texts = []
        if lay:
            texts.append(lay["text"])
        if f:
            texts.append(c_text(f))
        params = []
        for p in sw.lang_params(meth):
            if not p["name"]:
                continue
            doc = param_doc(f, p.get("typemap") or p["name"], p["cidx"])
            if p["default"] is not None:
                doc = (doc + " (default %s)" % p["default"]).strip()
            shown = re.sub(r"^opt_", "", p["name"])
            params.append({"name": shown + "_" if shown in LUA_KEYWORDS else shown,
                           "type": lua_type(p.get("typemap") or p["type"], classes), "doc": doc,
                           "opt": p["default"] is not None or p["name"].startswith("opt_")})
        returns = []
        for o in sw.outputs(meth):
            returns.append({"type": lua_type(o["type"].replace("*", "", 1), classes),
                            "name": o["name"], "doc": o["doc"]})
        if returns and (cls, name) in shapes:
            returns[0]["type"] = shapes[(cls, name)] + "|integer"  # xssh.EAGAIN stays a number
        if not returns:
            rt = meth["ret"]
            if rt.replace("*", "").strip() in classes:
                returns.append({"type": lua_type(rt, classes), "name": "result",
                                "doc": (f or {}).get("returns", "")})
            else:
                returns.append({"type": "integer", "name": "status",
                                "doc": "0 (XSSH_OK), or xssh.EAGAIN in non-blocking mode; a failure raises an error object"})
        if f and f.get("returns"):
            texts.append("C status (a failure is raised as the error object of that code): " + f["returns"])
        return "\n\n".join(t for t in texts if t), params, returns

    # structs first (their fields), then classes with methods
    for struct, cls in sorted(classes.items(), key=lambda kv: kv[1]):
        s = api["structs"].get(struct)
        brief = (s or {}).get("brief") or ""
        if not brief:
            # a handle type: its typedef's text, else the first documented function's header
            td = api["typedefs"].get(struct) or {}
            brief = td.get("brief") or ""
        out.extend(lines_of(brief or ("xssh " + cls), "---"))
        out.append("---@class xssh.%s" % cls)
        for fld in (s or {}).get("fields", []):
            out.append("---@field %s %s %s" % (fld["name"], lua_type(fld["type"], classes),
                                               " ".join((fld.get("brief") or "").split())))
        out.append("xssh.%s = {}" % cls)
        out.append("")
        for name in sorted(sw.methods.get(cls, {})):
            text, params, returns = method_entry(cls, name, sw.methods[cls][name])
            emit("xssh." + cls, ":", name, text, params, returns)
        for (lcls, name), d in sorted(layer.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            if lcls == cls and name not in sw.methods.get(cls, {}) and "alias" not in d:
                emit("xssh." + cls, ":", name, d["text"], _lua_args(d["args"]), [])
    for name in sorted(sw.functions):
        f = cdoc(api, sw.functions[name])
        params = [{"name": p["name"], "type": lua_type(p["type"], classes), "doc": p["doc"]}
                  for p in f["params"] if p["direction"] not in ("out",)]
        emit("xssh", ".", name, c_text(f), params,
             [{"type": lua_type(f["return_type"], classes), "name": "result", "doc": f.get("returns", "")}])
    for name, h in sorted(sw.helpers.items()):
        f = cdoc(api, h["c"])
        text = h["text"] or (c_text(f) if f else "")
        params = [{"name": p["name"], "type": lua_type(p.get("typemap") or p["type"], classes),
                   "doc": param_doc(f, p.get("typemap") or p["name"])}
                  for p in sw.lang_params({"params": h["params"], "c": h["c"], "body": True}) if p["name"]]
        emit("xssh", ".", name, text, params, [])
    for (lcls, name), d in sorted(layer.items(), key=lambda kv: kv[0][1]):
        if lcls is None and "alias" not in d:
            emit("xssh", ".", name, d["text"], _lua_args(d["args"]), [])
    # aliases the Lua layer adds (fn.startup = fn.handshake): the target's text
    for (lcls, name), d in sorted(layer.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if "alias" not in d:
            continue
        owner, sep = ("xssh", ".") if lcls is None else ("xssh." + lcls, ":")
        target = "%s%s%s" % (owner, sep, d["alias"])
        body = _lua_entry_text(out, target)
        emit(owner, sep, name, "\n".join(t for t in (d["text"], "Alias of %s." % target) if t)
             + ("\n\n" + body if body else ""), [], [])
    # constants: every documented #define and enum value the module exports
    for name, d in sorted(api["defines"].items()):
        if name.startswith("XSSH_") and re.match(r"^\(?-?[\w<>() ]+\)?$", d.get("value") or ""):
            out.extend(lines_of(d.get("brief") or name, "---"))
            out.append("xssh.%s = 0 ---@type integer" % name)
    for e in api["enums"].values():
        for v in e["values"]:
            out.extend(lines_of(v.get("brief") or e.get("brief") or v["name"], "---"))
            out.append("xssh.%s = 0 ---@type integer" % v["name"])
    out.append("")
    out.append("return xssh")
    return "\n".join(out) + "\n"


def _lua_entry_text(out, target):
    """The text (not the tags) of an entry already emitted for target."""
    line = "function %s(" % target
    for i, l in enumerate(out):
        if l.startswith(line):
            j = i - 1
            while j >= 0 and out[j].startswith("---"):
                j -= 1
            return "\n".join(x[3:].lstrip() for x in out[j + 1:i] if not x.startswith("---@"))
    return ""


# the language argument a typemap's parameters become (swig/typemaps.i and friends)
TYPEMAP_NAMES = {"IN": "data", "OPT": "data", "READ": "size", "PROGRESS": "progress", "TEXT": "responses",
                 "SOCKFD": "fd"}

LUA_KEYWORDS = {"local", "end", "function", "and", "or", "not", "repeat", "until", "then", "in"}


def _lua_args(args):
    res = []
    for a in (args or "").split(","):
        a = a.strip()
        if a and a != "self":
            res.append({"name": a if a != "..." else "...", "type": "any", "doc": "", "opt": True})
    return res


# ---- Ruby -------------------------------------------------------------------------------

def gen_ruby(api, sw):
    classes = sw.classes
    out = ["# frozen_string_literal: true",
           "return # documentation only: loading this file does nothing",
           "# Documentation of the generated methods of Xssh::Native (SWIG), for ri/RDoc and YARD:",
           "# generated at build time by scripts/gen-api-docs.py from the C headers' comments",
           "# (scripts/apidoc.py). This file holds comments only (RDoc `:method:` and YARD",
           "# `@!method` directives): it defines nothing and is never required.",
           "",
           "module Xssh"]

    def entry(name, f, params, outs, ret_obj, prefix="  ", singleton=False):
        """A comment (read by RDoc and YARD) and an empty def: never run (the file
        returns at its top), so ri and YARD see an ordinary documented method."""
        text = c_text(f) if f else ""
        out.extend(lines_of(text, prefix + "#"))
        out.append(prefix + "#")
        for p in params:
            out.append(prefix + "# @param %s [%s] %s" % (p["name"], p["rtype"], " ".join(lang(p["doc"]).split())))
        if outs:
            types = ", ".join(ruby_type(o["type"].replace("*", "", 1), classes) for o in outs)
            if len(outs) == 1:
                out.append(prefix + "# @return [%s] %s" % (types, " ".join(lang(outs[0]["doc"]).split())))
            else:
                out.append(prefix + "# @return [Array(%s)] %s" % (
                    types, "; ".join("%s: %s" % (o["name"], " ".join(lang(o["doc"]).split())) for o in outs)))
        elif ret_obj:
            out.append(prefix + "# @return [%s] %s" % (ret_obj, " ".join((f or {}).get("returns", "").split())))
        else:
            out.append(prefix + "# @return [Integer] 0 (XSSH_OK), or Xssh::EAGAIN in non-blocking mode")
        if f and f.get("returns") and not ret_obj:
            out.append(prefix + "# @raise [Xssh::Error] (a subclass per code) " + " ".join(f["returns"].split()))
        args = ", ".join(p["name"] + ("" if p["default"] is None else " = " + p["default"]) for p in params)
        out.append(prefix + "def %s%s(%s); end" % ("self." if singleton else "", name, args))
        out.append("")

    def rparams(meth, f):
        res = []
        for p in sw.lang_params(meth):
            if not p["name"]:
                continue
            n = re.sub(r"^opt_", "", p["name"])
            res.append({"name": n + "_" if n in RUBY_KEYWORDS else n, "default": _ruby_default(p["default"]),
                        "doc": param_doc(f, p.get("typemap") or p["name"], p["cidx"]),
                        "rtype": ruby_type(p.get("typemap") or p["type"], classes)})
        return res

    for struct, cls in sorted(classes.items(), key=lambda kv: kv[1]):
        meths = sw.methods.get(cls, {})
        s = api["structs"].get(struct) or {}
        out.append("  # %s" % (s.get("brief") or (api["typedefs"].get(struct) or {}).get("brief") or "xssh " + cls))
        out.append("  class %s" % cls)
        for fld in s.get("fields", []):
            # SWIG's reader and writer of the C field (renamed as the SWIG files say)
            fname = sw.renames.get((struct, fld["name"]), fld["name"])
            out.append("    # %s" % " ".join((fld.get("brief") or "The C field %s." % fld["name"]).split()))
            out.append("    # @return [%s]" % ruby_type(fld["type"], classes))
            out.append("    attr_accessor :%s" % fname)
            out.append("")
        for name in sorted(meths):
            meth = meths[name]
            f = cdoc(api, meth["c"])
            rt = meth["ret"].replace("*", "").strip()
            entry(name, f, rparams(meth, f), sw.outputs(meth),
                  ruby_type(meth["ret"], classes) if rt in classes else None, "    ")
        out.append("  end")
        out.append("")
    out.append("  # Module functions of the native module (Xssh::Native.<name>)")
    out.append("  module Native")
    for name in sorted(sw.functions):
        f = cdoc(api, sw.functions[name])
        params = [{"name": p["name"], "default": None, "doc": p["doc"], "rtype": ruby_type(p["type"], classes)}
                  for p in f["params"] if p["direction"] != "out"]
        entry(name, f, params, [], ruby_type(f["return_type"], classes), "    ", singleton=True)
    for name, h in sorted(sw.helpers.items()):
        f = cdoc(api, h["c"])
        params = [{"name": p["name"], "default": None, "doc": param_doc(f, p.get("typemap") or p["name"]),
                   "rtype": ruby_type(p.get("typemap") or p["type"], classes)}
                  for p in sw.lang_params({"params": h["params"], "c": h["c"], "body": True}) if p["name"]]
        out.extend(lines_of(h["text"] or (c_text(f) if f else ""), "    #"))
        for p in params:
            out.append("    # @param %s [%s] %s" % (p["name"], p["rtype"], " ".join(p["doc"].split())))
        out.append("    def self.%s(%s); end" % (name, ", ".join(p["name"] for p in params) or "*args"))
        out.append("")
    out.append("  end")
    out.append("end")
    return "\n".join(out) + "\n"


RUBY_KEYWORDS = {"in", "end", "next", "class", "def", "do", "if", "then", "when", "begin", "module",
                 "redo", "retry", "self", "super", "yield", "not", "and", "or", "until", "while", "case"}


def _ruby_default(d):
    if d is None:
        return None
    if d == "NULL":
        return "nil"
    return d if re.match(r"^-?(\d+|0x[0-9a-fA-F]+)$", d) else "nil"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--api", required=True, help="the JSON of scripts/apidoc.py")
    ap.add_argument("--swig", required=True, help="the swig/ directory")
    ap.add_argument("--lua", help="write the LuaCATS annotations here")
    ap.add_argument("--lua-layer", nargs="*", default=[], help="hand-written Lua files (their --- comments)")
    ap.add_argument("--ruby", help="write the Ruby documentation file here")
    a = ap.parse_args()
    with open(a.api) as fh:
        api = json.load(fh)
    for lang, out in (("lua", a.lua), ("ruby", a.ruby)):
        if not out:
            continue
        sw = Swig(a.swig, api, lang)
        if lang == "lua":
            _write(out, gen_lua(api, sw, lua_layer_docs(a.lua_layer)))
        else:
            _write(out, gen_ruby(api, sw))
        missing = sorted("%s.%s" % (c, n) for c, ms in sw.methods.items() for n, m in ms.items()
                         if not m["c"] or not (cdoc(api, m["c"]) or {}).get("brief"))
        if missing:
            sys.stderr.write("gen-api-docs (%s): no C documentation found for %d methods: %s\n"
                             % (lang, len(missing), ", ".join(missing)))


def _write(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
