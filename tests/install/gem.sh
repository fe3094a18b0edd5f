#!/usr/bin/env bash
# The README's gem build and install, as CI runs them: `gem build` from a copy of the
# checkout's root, `gem install` into a scratch GEM_HOME with no XSSH_* variable (the gem
# holds the C sources), then `require "xssh"` from a directory outside both, and `ri`
# knows the generated methods.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/xssh-gem.XXXXXX); trap 'rm -rf "$work"' EXIT
bash "$here/copy_checkout.sh" "$work/src"
grep -q 'gem build bindings/ruby/xssh.gemspec' "$work/src/README.md" ||
  { echo "README.md does not give the gem build command this test runs"; exit 1; }
unset XSSH_SOURCE_DIR
(cd "$work/src" && gem build bindings/ruby/xssh.gemspec) > "$work/build.log" 2>&1 ||
  { cat "$work/build.log"; echo "gem build failed"; exit 1; }
gemfile=$(ls "$work"/src/xssh-*.gem)
mkdir "$work/elsewhere"; cd "$work/elsewhere"
# only the gem file leaves the copy: the source tree goes away before the install
rm -rf "$work/src.gone"; mv "$gemfile" "$work/elsewhere/"; mv "$work/src" "$work/src.gone"; rm -rf "$work/src.gone"
export GEM_HOME="$work/gems" GEM_PATH="$work/gems"
nice gem install --local ./xssh-*.gem > "$work/install.log" 2>&1 || { cat "$work/install.log"; echo "gem install failed"; exit 1; }
tail -n 3 "$work/install.log"
if ls -d "$GEM_HOME"/gems/xssh-*/bindings/ruby/ext/xssh/cmake-build >/dev/null 2>&1; then
  echo "the installed gem keeps its CMake build directory"; exit 1
fi
ruby -e '
  require "xssh"
  native = $LOADED_FEATURES.grep(%r{xssh/native\.so\z}).first
  abort "native.so not from GEM_HOME: #{native}" unless native&.start_with?(ENV["GEM_HOME"])
  s = Xssh::Session.new
  abort "no Session#userauth_password" unless s.respond_to?(:userauth_password)
  puts "gem install OK: xssh #{Xssh.version} (#{native})"'
if ldd "$(ruby -e 'require "xssh"; print $LOADED_FEATURES.grep(%r{xssh/native\.so\z}).first')" | grep -q libxssh; then
  echo "native.so needs libxssh.so"; exit 1
fi
# ri knows a generated method (documented from the C header) and a hand-written one
# (the generated method's text comes from capi/include/xssh/session.h)
ri -T -f rdoc -d "$GEM_HOME/doc/xssh-"*/ri 'Xssh::Session#userauth_password' > "$work/ri.txt"
head -n 12 "$work/ri.txt"
grep -q 'libssh2_userauth_password_ex' "$work/ri.txt" || { echo "ri does not show the C header's text"; exit 1; }
ri -T -f rdoc -d "$GEM_HOME/doc/xssh-"*/ri 'Xssh.connect' | grep -q . || { echo "ri does not know Xssh.connect"; exit 1; }
