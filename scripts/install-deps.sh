#!/usr/bin/env bash
# Installs everything xssh needs to build, test and benchmark on Debian 12 (apt-get, as root).
# Used by README.md's setup command and by .ci/run, so both always agree.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake pkg-config git
  libssh2-1-dev libssl-dev zlib1g-dev
  swig python3-dev python3-pytest python3-gevent python3-pip python3-setuptools
  python3-venv mypy doxygen
  liblua5.4-dev lua5.4 lua-busted lua-luv
  ruby ruby-dev ruby-minitest ruby-test-unit ruby-async
  libcriterion-dev valgrind stress-ng
  openssh-server openssh-client passwd procps
  clang libclang-rt-dev
  python3-asyncssh
  luarocks yard
  libnss-wrapper
  python3-sphinx python3-myst-parser
  python3-distributed
  groff-base
)
# python3-venv: the pip install tests' plain venvs; mypy: the stubs' type test; doxygen: the
# API text of the C headers that every language's docstrings are generated from (scripts/apidoc.py)
# clang + its runtime: sanitizer and libFuzzer builds (scripts/sanitize.sh, scripts/fuzz.sh);
# python3-asyncssh: the tests' offset-honouring SFTP server (tests/harness/offset_sftp_server.py);
# luarocks, yard: the rock and gem install tests and the Ruby doc check (doxygen, above, also
# renders the C reference: docs/Doxyfile);
# libnss-wrapper: tests/config runs `ssh -G` with a scratch home in its passwd entry;
# python3-sphinx, python3-myst-parser (for /usr/bin/python3): the documentation site (scripts/docs-site.py)
# python3-distributed: examples/python/dask_fanout.py and its test (a Dask LocalCluster)
# groff-base: tests/cli checks the xssh(1) man page (groff -ww -z -man)
if [ "${XSSH_BENCH_PEERS:-1}" = "1" ]; then
  PKGS+=(python3-paramiko ruby-net-ssh ruby-net-sftp time pssh)  # pssh: bench fanout's parallel-ssh
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
