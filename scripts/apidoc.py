#!/usr/bin/env python3
"""The API text of the public C headers as JSON: the ONE source of every language's docs.

    apidoc.py [--headers DIR] [--xml-dir DIR] [--doxygen EXE] -o OUT.json
    apidoc.py --xml-dir DIR --no-run -o OUT.json     (reuse XML doxygen already wrote)

Runs Doxygen (Debian's ``doxygen``) with XML output on ``capi/include/xssh/*.h``
(configuration: scripts/apidoc.Doxyfile; the rendered C reference has its own
docs/Doxyfile) and turns the XML into one JSON object, standard library only:

    {
      "functions": {NAME: {"name", "header", "line", "signature", "return_type",
                           "brief", "details",
                           "params": [{"name", "type", "direction", "doc"}],
                           "returns", "notes": [...], "see": [...]}},
      "defines":   {NAME: {"name", "header", "value", "brief", "details"}},
      "enums":     {NAME: {"name", "header", "brief", "details",
                           "values": [{"name", "value", "brief"}]}},
      "typedefs":  {NAME: {"name", "header", "type", "brief", "details"}},
      "structs":   {NAME: {"name", "header", "brief", "details",
                           "fields": [{"name", "type", "brief"}]}},
      "files":     {HEADER: {"brief", "details"}}
    }

Text is plain: paragraphs separated by a blank line, list items as "- ",
code blocks indented by four spaces, C names (``xssh_session_connect()``,
``XSSH_EAGAIN``) left as written, so each language layer can map them to its
own names. "direction" is "in", "out", "inout" or "" (as written in
``@param[out]``). "params" lists every C parameter in order (doc "" when the
comment does not document it). Each language's generator (Python docstrings,
Ruby YARD, Lua LuaCATS) reads this file; none parses the headers itself.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ---- running doxygen ----------------------------------------------------------

def run_doxygen(headers, xml_dir, doxygen="doxygen"):
    """Write Doxygen XML for the headers under headers into xml_dir/xml."""
    with open(os.path.join(HERE, "apidoc.Doxyfile")) as f:
        conf = f.read()
    conf += "\nINPUT = %s\nOUTPUT_DIRECTORY = %s\nXML_OUTPUT = xml\n" % (
        _quote(os.path.abspath(headers)), _quote(os.path.abspath(xml_dir)))
    os.makedirs(xml_dir, exist_ok=True)
    r = subprocess.run([doxygen, "-"], input=conf, universal_newlines=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("apidoc: doxygen failed (exit %d): %s" % (r.returncode, r.stderr.strip()[-2000:]))
    return os.path.join(xml_dir, "xml")


def _quote(p):
    return '"%s"' % p if " " in p else p


# ---- XML description -> plain text ----------------------------------------------

def _norm(s):
    return re.sub(r"\s+", " ", s)


class _Text(object):
    """Plain text of a Doxygen description element, with parameter lists and
    @return / @note / @see sections taken out (collected on the side)."""

    def __init__(self):
        self.params = []   # [(names, direction, text)]
        self.returns = []
        self.notes = []
        self.see = []
        self.retvals = []

    def block(self, el):
        """Paragraphs of a <briefdescription>/<detaileddescription>/<listitem>."""
        if el is None:
            return ""
        paras = []
        for p in el:
            if p.tag == "para":
                paras.extend(self.para(p))
            elif p.tag == "sect1" or p.tag == "sect2":
                paras.extend(x for x in (self.block(p),) if x)
        return "\n\n".join(x for x in paras if x.strip())

    def para(self, p):
        """A <para> can hold inline text and block children (lists, code, sections):
        the result is a list of paragraphs."""
        out = []
        cur = [p.text or ""]

        def flush():
            t = _norm("".join(cur)).strip()
            if t:
                out.append(t)
            del cur[:]

        for c in p:
            tag = c.tag
            if tag == "parameterlist":
                flush()
                self.paramlist(c)
            elif tag == "simplesect":
                flush()
                kind = c.get("kind")
                text = self.block(c)
                if kind == "return":
                    self.returns.append(text)
                elif kind == "see":
                    self.see.append(text)
                elif kind in ("note", "warning", "attention", "remark", "pre", "post", "since",
                              "deprecated", "invariant"):
                    self.notes.append(("%s: " % kind.capitalize() if kind != "note" else "Note: ") + text)
                else:
                    out.append(text)
            elif tag in ("itemizedlist", "orderedlist"):
                flush()
                items = []
                for i, li in enumerate(c.findall("listitem")):
                    mark = "- " if tag == "itemizedlist" else "%d. " % (i + 1)
                    body = self.block(li).replace("\n", "\n  ")
                    items.append(mark + body)
                out.append("\n".join(items))
            elif tag == "programlisting":
                flush()
                lines = []
                for cl in c.findall("codeline"):
                    lines.append("    " + self.code(cl))
                out.append("\n".join(lines))
            elif tag == "verbatim":
                flush()
                out.append("\n".join("    " + ln for ln in (c.text or "").strip("\n").splitlines()))
            else:
                cur.append(self.inline(c))
            cur.append(c.tail or "")
        flush()
        return out

    def code(self, el):
        s = el.text or ""
        for c in el:
            if c.tag == "sp":
                s += " "
            else:
                s += self.code(c)
            s += c.tail or ""
        return s

    def inline(self, el):
        if el.tag == "sp":
            return " "
        if el.tag == "linebreak":
            return " "
        if el.tag in ("parameterlist", "simplesect"):
            return ""
        s = el.text or ""
        for c in el:
            s += self.inline(c) + (c.tail or "")
        return s

    def paramlist(self, pl):
        kind = pl.get("kind")
        for item in pl.findall("parameteritem"):
            names, direction = [], ""
            for pn in item.iter("parametername"):
                names.append(_norm(self.inline(pn)).strip())
                direction = pn.get("direction") or direction
            text = self.block(item.find("parameterdescription"))
            if kind == "retval":
                self.retvals.append({"value": ", ".join(names), "doc": text})
            elif kind == "param":
                self.params.append((names, direction, text))


# ---- the XML files ------------------------------------------------------------

def _linked(el):
    """Text of a <type>/<initializer>/<argsstring> (refs flattened)."""
    if el is None:
        return ""
    return _norm("".join(el.itertext())).strip()


def _loc(m):
    loc = m.find("location")
    if loc is None:
        return "", 0
    f = loc.get("file") or ""
    i = f.rfind("include/")
    return (f[i + len("include/"):] if i >= 0 else os.path.basename(f)), int(loc.get("line") or 0)


def _desc(m):
    t = _Text()
    brief = t.block(m.find("briefdescription"))
    details = t.block(m.find("detaileddescription"))
    if not brief and details:  # a comment with no separate brief: its first sentence
        first, _, rest = details.partition("\n\n")
        mm = re.match(r"(.+?\.)(\s+|$)(.*)", first, re.S)
        if mm:
            brief, details = mm.group(1), (mm.group(3) + ("\n\n" + rest if rest else "")).strip()
        else:
            brief, details = first, rest
    return t, brief, details


def _function(m):
    t, brief, details = _desc(m)
    header, line = _loc(m)
    docs = {}
    for names, direction, text in t.params:
        for n in names:
            docs[n] = (direction, text)
    params = []
    for p in m.findall("param"):
        name = (p.findtext("declname") or "").strip()
        typ = _linked(p.find("type")) + ((" " + _linked(p.find("array"))) if p.find("array") is not None else "")
        if not name and typ == "void":
            continue
        direction, text = docs.get(name, ("", ""))
        params.append({"name": name, "type": typ, "direction": direction, "doc": text})
    name = m.findtext("name")
    rtype = _linked(m.find("type"))
    return {
        "name": name, "header": header, "line": line,
        "signature": "%s %s%s" % (rtype, name, _linked(m.find("argsstring"))),
        "return_type": rtype, "brief": brief, "details": details, "params": params,
        "returns": "\n\n".join(t.returns), "retvals": t.retvals, "notes": t.notes, "see": t.see,
        "undocumented_params": [n for n in docs if n not in {p["name"] for p in params}],
    }


def parse(xml_dir):
    out = {"functions": {}, "defines": {}, "enums": {}, "typedefs": {}, "structs": {}, "files": {}}
    index = ET.parse(os.path.join(xml_dir, "index.xml")).getroot()
    for comp in index.findall("compound"):
        kind = comp.get("kind")
        if kind not in ("file", "struct", "group"):
            continue
        path = os.path.join(xml_dir, comp.get("refid") + ".xml")
        root = ET.parse(path).getroot()
        for cd in root.findall("compounddef"):
            if kind == "file":
                t, brief, details = _desc(cd)
                header, _ = _loc(cd)
                out["files"][header or cd.findtext("compoundname")] = {"brief": brief, "details": details}
            elif kind == "struct":
                t, brief, details = _desc(cd)
                name = cd.findtext("compoundname")
                header, _ = _loc(cd)
                fields = []
                for m in cd.iter("memberdef"):
                    if m.get("kind") == "variable":
                        ft, fb, fd = _desc(m)
                        fields.append({"name": m.findtext("name"), "type": _linked(m.find("type")),
                                       "brief": fb, "details": fd})
                out["structs"][name] = {"name": name, "header": header, "brief": brief, "details": details,
                                        "fields": fields}
            for m in cd.iter("memberdef"):
                mk = m.get("kind")
                name = m.findtext("name")
                if mk == "function" and name not in out["functions"]:
                    out["functions"][name] = _function(m)
                elif mk == "define" and name not in out["defines"]:
                    t, brief, details = _desc(m)
                    header, _ = _loc(m)
                    out["defines"][name] = {"name": name, "header": header, "value": _linked(m.find("initializer")),
                                            "brief": brief, "details": details}
                elif mk == "enum" and name not in out["enums"]:
                    t, brief, details = _desc(m)
                    header, _ = _loc(m)
                    vals = []
                    for v in m.findall("enumvalue"):
                        vt, vb, vd = _desc(v)
                        vals.append({"name": v.findtext("name"), "value": _linked(v.find("initializer")).lstrip("= "),
                                     "brief": (vb + ("\n\n" + vd if vd else "")).strip()})
                    out["enums"][name] = {"name": name, "header": header, "brief": brief, "details": details,
                                          "values": vals}
                elif mk == "typedef" and name not in out["typedefs"]:
                    t, brief, details = _desc(m)
                    header, _ = _loc(m)
                    out["typedefs"][name] = {"name": name, "header": header, "type": _linked(m.find("type")),
                                             "brief": brief, "details": details}
    for k in out:
        out[k] = dict(sorted(out[k].items()))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--headers", default=os.path.join(ROOT, "capi", "include", "xssh"))
    ap.add_argument("--xml-dir", help="where doxygen writes (default: a temporary directory)")
    ap.add_argument("--doxygen", default="doxygen")
    ap.add_argument("--no-run", action="store_true", help="read XML already in --xml-dir/xml")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    if a.no_run:
        xml = os.path.join(a.xml_dir, "xml")
        data = parse(xml)
    elif a.xml_dir:
        data = parse(run_doxygen(a.headers, a.xml_dir, a.doxygen))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            data = parse(run_doxygen(a.headers, tmp, a.doxygen))
    if not data["functions"]:
        sys.exit("apidoc: doxygen found no function in %s" % a.headers)
    tmp_out = a.output + ".tmp"
    with open(tmp_out, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp_out, a.output)


if __name__ == "__main__":
    main()
