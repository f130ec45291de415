#!/usr/bin/env bash
# Installs GitHub's published test fixtures from the npm registry, once, into
# the cache directory, and prints the directory that holds node_modules on its
# last stdout line.
#
#   cache: ${TEKBOT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tekbot}/npm-<hash>/
#            node_modules/@octokit/webhooks-examples/api.github.com/index.json
#            node_modules/@octokit/openapi/generated/api.github.com.json
#            node_modules/@octokit/graphql-schema/schema.graphql
#
# The hash covers the pinned package versions, so bumping one installs afresh
# beside the old directory; a warm call only tests for two files (no npm call).
# A cold install downloads ~25 MB (unpacks to ~400 MB: @octokit/openapi ships
# every GHES description too) and takes a few seconds; progress goes to stderr.
# Safe to run concurrently: parallel test packages may all ask at once.
set -euo pipefail

# Pinned exactly; bump both here and in the Go package's docs.
packages=(
  "@octokit/webhooks-examples@7.6.1"
  "@octokit/openapi@23.0.2"
  "@octokit/graphql-schema@15.26.1"
)

cache_root=${TEKBOT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tekbot}
key=$(printf '%s\n' "${packages[@]}" | sha256sum | cut -c1-12)
out="$cache_root/npm-$key"
# The files the Go package reads; both present means the install finished
# (it is renamed into place only when complete).
want=(
  "node_modules/@octokit/webhooks-examples/api.github.com/index.json"
  "node_modules/@octokit/openapi/generated/api.github.com.json"
  "node_modules/@octokit/graphql-schema/schema.graphql"
)

ready() {
  local f
  for f in "${want[@]}"; do
    [[ -s "$1/$f" ]] || return 1
  done
}

if ready "$out"; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache_root"
# One installer at a time; the others wait here and then find it done.
exec 9>"$cache_root/npm.lock"
flock 9
if ready "$out"; then
  echo "$out"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "tekbot: npm not found; install Node.js/npm (Debian: apt-get install npm) to get the GitHub fixtures" >&2
  exit 1
fi

tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
start=$SECONDS
echo "tekbot: installing ${packages[*]} into $out (once)" >&2
# A package.json of our own keeps npm from walking up into another project.
printf '{"name":"tekbot-github-fixtures","private":true}\n' >"$tmp/package.json"
if ! npm install --prefix "$tmp" --no-audit --no-fund --ignore-scripts \
  --no-package-lock --loglevel=error "${packages[@]}" >&2; then
  echo "tekbot: npm install of the GitHub fixtures failed" >&2
  rm -rf "$tmp"
  exit 1
fi
if ! ready "$tmp"; then
  echo "tekbot: npm install finished but these files are missing under $tmp: ${want[*]}" >&2
  exit 1
fi
rm -rf "$out"
mv "$tmp" "$out"
echo "tekbot: GitHub fixtures installed in $((SECONDS - start))s" >&2
echo "$out"
