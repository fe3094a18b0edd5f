"""xssh's PEP 517 build backend: the standard library, CMake and nothing pip would download.

pyproject.toml names it (``build-backend = "xssh_build"``, ``backend-path = ["_build"]``)
with ``requires = []``, so ``pip install ./bindings/python`` works offline, with or
without build isolation, in any venv of any CPython 3.9+ that has its headers.

build_wheel runs CMake on the repository (the parent of bindings/, or the copy inside
an sdist), builds libxssh and the SWIG module for the interpreter running the backend,
and writes the wheel zip itself:

- ``xssh/`` the Python package, the extension ``_core.so``, the type stubs and py.typed;
- ``xssh/libxssh.so.<N>`` once, under its SONAME (no symlink copies);
- ``_core.so``'s RUNPATH is exactly ``$ORIGIN`` (the build directory is removed from it),
  so the wheel works after the build tree is gone;
- the dist-info (METADATA, WHEEL, RECORD with sha256 digests), tag cpXY-cpXY-<platform>.

Runtime needs of the wheel: the system's libssh2 and libcrypto (Debian: libssh2-1,
libssl3). Build needs: cmake, a C compiler, swig, doxygen, pkg-config, libssh2-1-dev,
libssl-dev, zlib1g-dev and the interpreter's headers (python3-dev).

Config settings (``pip install -C key=value`` / ``--config-settings``):
``build-dir=PATH`` keeps the CMake build there (default: a temporary directory, removed
after the wheel is written); ``jobs=N`` parallel build jobs (default 2).
"""
import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

NAME = "xssh"
HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)              # bindings/python (or the sdist's top)

# what an sdist carries of the repository (under _src/): enough to run CMake
SDIST_TREE = ["CMakeLists.txt", "LICENSE", "capi", "swig", "cmake", "examples/c",
              "scripts/apidoc.py", "scripts/apidoc.Doxyfile", "scripts/gen-pyi.py",
              "bindings/python/xssh"]


def _source_root():
    for cand in (os.path.join(PKG_ROOT, "_src"), os.path.dirname(os.path.dirname(PKG_ROOT))):
        if os.path.isfile(os.path.join(cand, "CMakeLists.txt")) and os.path.isdir(os.path.join(cand, "capi")):
            return cand
    raise RuntimeError("xssh_build: cannot find the xssh sources (CMakeLists.txt and capi/) above %s" % PKG_ROOT)


def _version():
    with open(os.path.join(_source_root(), "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*xssh\s+VERSION\s+([0-9.]+)", f.read())
    if not m:
        raise RuntimeError("xssh_build: no project(xssh VERSION x.y.z) in CMakeLists.txt")
    return m.group(1)


def _metadata():
    readme = ""
    p = os.path.join(PKG_ROOT, "README.md")
    if os.path.isfile(p):
        with open(p, encoding="utf-8") as f:
            readme = f.read()
    return ("Metadata-Version: 2.1\n"
            "Name: %s\n"
            "Version: %s\n"
            "Summary: Fast SSH2 client library over libssh2 (ssh2-python compatible)\n"
            "License: BSD-3-Clause\n"
            "Requires-Python: >=3.9\n"
            "Classifier: License :: OSI Approved :: BSD License\n"
            "Classifier: Programming Language :: C\n"
            "Classifier: Topic :: System :: Networking\n"
            "Classifier: Typing :: Typed\n"
            "Description-Content-Type: text/markdown\n"
            "\n%s" % (NAME, _version(), readme))


def _tag():
    impl = "cp" if sys.implementation.name == "cpython" else sys.implementation.name[:2]
    py = "%s%d%d" % (impl, sys.version_info[0], sys.version_info[1])
    abi = py + (sysconfig.get_config_var("ABIFLAGS") or "") if impl == "cp" else "none"
    plat = re.sub(r"[^A-Za-z0-9_]", "_", sysconfig.get_platform())
    return "%s-%s-%s" % (py, abi, plat)


def _dist_info():
    return "%s-%s.dist-info" % (NAME, _version())


# ---- PEP 517 hooks -------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, _dist_info())
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    with open(os.path.join(d, "WHEEL"), "w") as f:
        f.write(_wheel_file())
    return _dist_info()


def _wheel_file():
    return "Wheel-Version: 1.0\nGenerator: xssh_build\nRoot-Is-Purelib: false\nTag: %s\n" % _tag()


def _run(cmd, **kw):
    print("xssh_build: " + " ".join(cmd), flush=True)
    subprocess.check_call(cmd, **kw)


def _cmake_build(build_dir, jobs):
    src = _source_root()
    _run(["cmake", "-S", src, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
          "-DXSSH_TESTS=OFF", "-DXSSH_LUA=OFF", "-DXSSH_RUBY=OFF", "-DXSSH_WERROR=OFF",
          "-DPython3_EXECUTABLE=" + sys.executable])
    _run(["cmake", "--build", build_dir, "--target", "xssh_python", "xssh_python_stubs", "-j", str(jobs)])
    return os.path.join(build_dir, "python", "xssh")


def _soname(path):
    """DT_SONAME of a shared library, read from its ELF dynamic section (standard library only)."""
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, universal_newlines=True)
    if out.returncode == 0:
        m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out.stdout)
        if m:
            return m.group(1)
    return None


def _set_runpath(path, runpath, build_dir):
    """Set the RUNPATH of path to exactly runpath with CMake's ELF editor (file(RPATH_SET))."""
    script = os.path.join(build_dir, "xssh-set-runpath.cmake")
    with open(script, "w") as f:
        f.write('file(RPATH_SET FILE "${F}" NEW_RPATH "${R}")\n')
    _run(["cmake", "-DF=" + path, "-DR=" + runpath, "-P", script])


def _record_line(arc, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arc, digest, len(data))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    cs = config_settings or {}
    jobs = int(cs.get("jobs", 2))
    keep = cs.get("build-dir")
    tmp = None
    if keep:
        build_dir = os.path.abspath(keep)
        os.makedirs(build_dir, exist_ok=True)
    else:
        tmp = build_dir = tempfile.mkdtemp(prefix="xssh-wheel-")
    try:
        pkg = _cmake_build(build_dir, jobs)
        stage = os.path.join(build_dir, "wheel-stage")
        if os.path.isdir(stage):
            shutil.rmtree(stage)
        os.makedirs(os.path.join(stage, NAME))
        for name in sorted(os.listdir(pkg)):
            p = os.path.join(pkg, name)
            if os.path.isfile(p) and not name.endswith((".pyc",)) and not os.path.islink(p):
                shutil.copy2(p, os.path.join(stage, NAME, name))
        # libxssh once, under its SONAME (what _core.so's DT_NEEDED asks for)
        lib = os.path.realpath(os.path.join(build_dir, "libxssh.so"))
        soname = _soname(lib) or os.path.basename(lib)
        shutil.copy2(lib, os.path.join(stage, NAME, soname))
        core = [n for n in os.listdir(os.path.join(stage, NAME)) if n.startswith("_core") and n.endswith(".so")]
        if len(core) != 1:
            raise RuntimeError("xssh_build: expected one _core*.so in %s, found %r" % (pkg, core))
        _set_runpath(os.path.join(stage, NAME, core[0]), "$ORIGIN", build_dir)
        return _write_wheel(stage, wheel_directory)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _write_wheel(stage, wheel_directory):
    di = _dist_info()
    wheel_name = "%s-%s-%s.whl" % (NAME, _version(), _tag())
    os.makedirs(wheel_directory, exist_ok=True)
    out = os.path.join(wheel_directory, wheel_name)
    records = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        def add(arc, data, mode=0o644):
            zi = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
            zi.external_attr = (stat.S_IFREG | mode) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
            records.append(_record_line(arc, data))
        for root, dirs, files in os.walk(stage):
            dirs.sort()
            for fn in sorted(files):
                p = os.path.join(root, fn)
                arc = os.path.relpath(p, stage).replace(os.sep, "/")
                with open(p, "rb") as f:
                    data = f.read()
                add(arc, data, 0o755 if fn.endswith(".so") or ".so." in fn else 0o644)
        add(di + "/METADATA", _metadata().encode("utf-8"))
        add(di + "/WHEEL", _wheel_file().encode())
        add(di + "/top_level.txt", (NAME + "\n").encode())
        records.append(di + "/RECORD,,")
        zi = zipfile.ZipInfo(di + "/RECORD", date_time=(2020, 1, 1, 0, 0, 0))
        zi.external_attr = (stat.S_IFREG | 0o644) << 16
        z.writestr(zi, "\n".join(records) + "\n", compress_type=zipfile.ZIP_DEFLATED)
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    """A source archive that builds on its own: the Python package at the top and the
    repository's C sources, SWIG files and CMake files under _src/."""
    src = _source_root()
    base = "%s-%s" % (NAME, _version())
    name = base + ".tar.gz"
    os.makedirs(sdist_directory, exist_ok=True)

    def skip(ti):
        parts = ti.name.split("/")
        if "__pycache__" in parts or ti.name.endswith(".pyc") or "build" in parts[1:2]:
            return None
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        return ti

    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as t:
        for item in ("pyproject.toml", "README.md", "_build/xssh_build.py", "xssh"):
            t.add(os.path.join(PKG_ROOT, item), arcname=base + "/" + item, filter=skip)
        for item in SDIST_TREE:
            p = os.path.join(src, item)
            if os.path.exists(p):
                t.add(p, arcname=base + "/_src/" + item, filter=skip)
        data = _metadata().replace("Metadata-Version: 2.1", "Metadata-Version: 2.1", 1).encode("utf-8")
        ti = tarfile.TarInfo(base + "/PKG-INFO")
        ti.size = len(data)
        ti.mode = 0o644
        import io
        t.addfile(ti, io.BytesIO(data))
    return name
