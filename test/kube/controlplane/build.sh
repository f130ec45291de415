#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy, once, into the cache
# directory, and prints the directory that holds the binaries on its last line.
#
#   cache: ${TEKBOT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tekbot}/controlplane-<hash>/
#
# The hash covers this module's sources, so editing them rebuilds; anything else
# reuses the cached binaries (a warm call takes well under a second). A cold
# build takes 10-16 minutes on 2 cores; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${TEKBOT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tekbot}
version=v1.37.2
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
# The key covers what shapes the binaries, not this script's wording.
key=$( (cd "$here" && cat go.mod go.sum cmd/*/main.go && echo "$ldflags") | sha256sum | cut -c1-12)
out="$cache_root/controlplane-$key"

if [[ -x "$out/bin/kube-apiserver" && -x "$out/bin/etcd" ]]; then
  echo "$out/bin"
  exit 0
fi

mkdir -p "$cache_root"
# One builder at a time: parallel test packages may all ask for the binaries.
exec 9>"$cache_root/controlplane.lock"
flock 9
if [[ -x "$out/bin/kube-apiserver" && -x "$out/bin/etcd" ]]; then
  echo "$out/bin"
  exit 0
fi

tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/bin"
start=$SECONDS
echo "tekbot: building kube-apiserver $version and etcd into $out (once; ~10-16 min on 2 cores)" >&2
(
  cd "$here"
  go mod download
  # -v names each package as it compiles; count them for a progress line.
  go build -v -trimpath -ldflags "$ldflags" -o "$tmp/bin/" ./cmd/kube-apiserver ./cmd/etcd 2>&1
) | awk -v start="$start" '
  # Package paths have no spaces; anything else is a compiler message.
  / / { print > "/dev/stderr"; next }
  { n++; if (n % 250 == 0) { printf "tekbot: controlplane build: %d packages compiled\n", n > "/dev/stderr" } }
'
status=${PIPESTATUS[0]}
if [[ $status -ne 0 || ! -x "$tmp/bin/kube-apiserver" || ! -x "$tmp/bin/etcd" ]]; then
  echo "tekbot: controlplane build failed" >&2
  exit 1
fi
rm -rf "$out"
mv "$tmp" "$out"
echo "tekbot: controlplane built in $((SECONDS - start))s" >&2
echo "$out/bin"
