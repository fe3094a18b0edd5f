#!/bin/bash
# pip install ./bindings/python into plain venvs, offline (--no-index), as a new user does:
#   python_pip_install.sh SOURCE_DIR MODE PYTHON...
# MODE: "isolated" (pip's default build isolation), "no-isolation" (--no-build-isolation),
# "both", or "sdist" (the backend's build_sdist, then pip install of that archive).
# For each interpreter: a fresh `python -m venv` (no system site packages),
# pip install, the CMake build directory deleted, then from a directory outside the
# checkout: the wheel's layout (libxssh once under its SONAME, no symlink, _core.so's
# RUNPATH exactly $ORIGIN, no build path in any binary, the interpreter's tag), and
# import + a Session + the ssh2-python module paths.
set -euo pipefail
src=$1; mode=$2; shift 2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

one() {  # one() PYTHON ISOLATION
  local py=$1 iso=$2 v="$t/venv-$RANDOM" b="$t/build-$RANDOM" start=$SECONDS
  "$py" -m venv "$v"
  [ -x "$v/bin/python" ] || fail "$py -m venv made no interpreter"
  local flags=(--no-index --no-deps -q --config-settings "build-dir=$b")
  [ "$iso" = no-isolation ] && flags+=(--no-build-isolation)
  local what="$src/bindings/python"
  if [ "$iso" = sdist ]; then
    what=$(cd "$src/bindings/python" && "$py" -c 'import sys; sys.dont_write_bytecode = True; sys.path.insert(0, "_build"); import xssh_build; print(xssh_build.build_sdist(sys.argv[1]))' "$t/sdist")
    what="$t/sdist/$what"
    local list
    list=$(tar -tzf "$what")
    grep -q '/_src/capi/src/' <<<"$list" || fail "the sdist holds no C sources"
    ! grep -q '__pycache__\|\.pyc$' <<<"$list" || fail "the sdist holds bytecode"
  fi
  (cd "$t" && PYTHONDONTWRITEBYTECODE=1 "$v/bin/python" -m pip install "${flags[@]}" "$what") || fail "pip install ($py, $iso)"
  [ -d "$b" ] || fail "the build-dir config setting was not used"
  rm -rf "$b"   # the wheel must not need the build tree
  local site pkg
  site=$("$v/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
  pkg="$site/xssh"
  local libs
  libs=$(cd "$pkg" && ls -1 | grep -c '^libxssh' || true)
  [ "$libs" = 1 ] || fail "libxssh $libs times in the wheel: $(ls "$pkg" | grep libxssh | tr '\n' ' ')"
  local lib
  lib=$(cd "$pkg" && ls libxssh*)
  [ ! -L "$pkg/$lib" ] || fail "$lib is a symlink"
  readelf -d "$pkg/$lib" | grep -q "Library soname: \[$lib\]" || fail "$lib is not named after its SONAME"
  local rp
  rp=$(readelf -d "$pkg"/_core*.so | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
  [ "$rp" = '$ORIGIN' ] || fail "_core.so RUNPATH is '$rp', not \$ORIGIN"
  ! grep -l -F "$src" "$pkg"/*.so* >/dev/null || fail "a binary of the wheel names the checkout ($src)"
  local want tag
  want=$("$v/bin/python" -c 'import sys, sysconfig, re; v="cp%d%d" % sys.version_info[:2]; print("%s-%s-%s" % (v, v, re.sub(r"[^A-Za-z0-9_]", "_", sysconfig.get_platform())))')
  tag=$(sed -n 's/^Tag: //p' "$site"/xssh-*.dist-info/WHEEL)
  [ "$tag" = "$want" ] || fail "wheel tag $tag, interpreter wants $want"
  [ -f "$pkg/py.typed" ] && [ -f "$pkg/__init__.pyi" ] && [ -f "$pkg/core.pyi" ] || fail "stubs or py.typed missing"
  (cd "$t" && "$v/bin/python" -c '
import xssh, xssh.session, xssh.channel, xssh.sftp, xssh.exceptions
assert xssh.__file__.startswith("'"$site"'"), xssh.__file__
s = xssh.Session()
assert repr(s) == "<xssh.Session open>", repr(s)
assert xssh.Session.userauth_publickey_fromfile.__doc__
print("ok", xssh.__version__, xssh.__file__)') || fail "import ($py, $iso)"
  # the installed stubs (PEP 561: py.typed) type-check, with Debian's mypy
  (cd "$t" && /usr/bin/python3 "$src/tests/bindings/python_typing/check_types.py" --python-executable "$v/bin/python" \
    >/dev/null) || fail "mypy on the installed package ($py, $iso)"
  echo "$py $iso: $((SECONDS - start)) s"
}

for py in "$@"; do
  case $mode in
    both) one "$py" isolated; one "$py" no-isolation ;;
    *) one "$py" "$mode" ;;
  esac
done
