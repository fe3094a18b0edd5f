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
  liblua5.4-dev lua5.4 lua-busted
  ruby ruby-dev ruby-minitest ruby-test-unit
  libcriterion-dev valgrind stress-ng
  openssh-server openssh-client passwd procps
  clang libclang-rt-dev
  python3-asyncssh
  libnss-wrapper
)
# clang + its runtime: sanitizer and libFuzzer builds (scripts/sanitize.sh, scripts/fuzz.sh);
# libnss-wrapper: tests/config runs `ssh -G` with a scratch home in its passwd entry;
# python3-asyncssh: the tests' offset-honouring SFTP server (tests/harness/offset_sftp_server.py)
if [ "${XSSH_BENCH_PEERS:-1}" = "1" ]; then
  PKGS+=(python3-paramiko ruby-net-ssh ruby-net-sftp time)
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
