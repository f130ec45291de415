#!/usr/bin/env bash
# debtools.sh COMMAND PACKAGE: print the path of COMMAND, installing Debian's
# PACKAGE first when it is missing (apt-get; as root, or through sudo).
# Progress goes to stderr; the path is the last line of stdout. Installed
# once, it is found at once after that (the "cache" is the system itself).
#   test/run.sh uses it for chromium (the status page's browser test) and
#   promtool (package prometheus: the alert rules and their unit tests).
set -euo pipefail
cmd=$1 pkg=$2

if path=$(command -v "$cmd"); then
  echo "$cmd: $path (installed)" >&2
  echo "$path"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo > /dev/null; then
    echo "$cmd is missing and installing Debian's $pkg needs root: apt-get install $pkg" >&2
    exit 1
  fi
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
start=$SECONDS
# The package lists are refreshed only when apt does not know the package.
if ! apt-cache show "$pkg" > /dev/null 2>&1; then
  echo "$cmd: apt-get update (package lists)..." >&2
  "${sudo[@]}" apt-get update -q >&2
fi
echo "$cmd: installing Debian package $pkg (first time: a minute or more)..." >&2
"${sudo[@]}" apt-get install -y -q --no-install-recommends "$pkg" >&2
path=$(command -v "$cmd")
echo "$cmd: $path (installed in $((SECONDS - start)) s)" >&2
echo "$path"
