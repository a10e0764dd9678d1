#!/usr/bin/env bash
# Runs a command (by default the test suite's SQLite pass) on the newest Node LTS line Onggi supports, beside the
# machine's own Node, which keeps its own build of every native module.
#
#   bash scripts/node-lts.sh                                  # node --import tsx test/run.ts on Node 26
#   bash scripts/node-lts.sh node --import tsx test/run.ts api/swift-
#   ONGGI_NODE_LTS=24 bash scripts/node-lts.sh node --version  # another line, or an exact version (24.22.3)
#
# Node comes from the npm registry: the package node-<platform>-<arch> is the official release with its headers
# (include/node). It is unpacked once into a cache outside the checkout. The one native module, better-sqlite3, is
# compiled offline against those headers (node-gyp --nodedir) in a scratch copy of the package, so that its own
# build/Release (the machine's Node) stays as it is; the result goes to
# node_modules/better-sqlite3/lib/binding/node-v<ABI>-<platform>-<arch>/, where src/store/meta/sqlite/open-database.ts
# picks it for that ABI. Both are cached (`npm ci` empties node_modules: the next run copies the addon back).
# pkcs11js, built on Node-API, needs no second build: its addon is only checked to load in that Node.
set -euo pipefail
cd "$(dirname "$0")/.."

line="${ONGGI_NODE_LTS:-26}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/onggi-test/node"
platform="$(node -p 'process.platform + "-" + process.arch')"
package="node-$platform"
mkdir -p "$cache"

log() { echo "node-lts: $*" >&2; }

# The newest release of the line the registry has; offline, the newest one already in the cache.
newest_release() {
  local listed
  if listed="$(npm view --fetch-retries=1 "$package@$line" version --json 2>/dev/null)" && [ -n "$listed" ]; then
    node -e 'for (const v of [JSON.parse(process.argv[1])].flat()) console.log(v);' "$listed" | sort -V | tail -n 1
  else
    find "$cache" -maxdepth 1 -type d -name "$package-$line*" -printf '%f\n' | sed "s/^$package-//" | sort -V | tail -n 1
  fi
}

version="$(newest_release)"
[ -n "$version" ] || { log "no release of $package@$line in the npm registry nor in $cache"; exit 1; }
nodedir="$cache/$package-$version"

if [ ! -x "$nodedir/bin/node" ] || [ ! -f "$nodedir/include/node/node.h" ]; then
  log "fetching $package@$version from the npm registry"
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  (cd "$scratch" && npm pack --silent "$package@$version" >/dev/null)
  mkdir -p "$scratch/unpacked"
  tar -xzf "$scratch"/*.tgz -C "$scratch/unpacked" --strip-components=1
  [ -f "$scratch/unpacked/include/node/node.h" ] || { log "$package@$version has no headers (include/node)"; exit 1; }
  rm -rf "$nodedir"
  mv "$scratch/unpacked" "$nodedir"
fi
node_bin="$nodedir/bin/node"

abi="$("$node_bin" -p process.versions.modules)"
sqlite_dir="node_modules/better-sqlite3"
sqlite_version="$(node -p "require('./$sqlite_dir/package.json').version")"
addon="$sqlite_dir/lib/binding/node-v$abi-$platform/better_sqlite3.node"
cached_addon="$cache/better-sqlite3-$sqlite_version-node-v$abi-$platform.node"

if [ ! -f "$cached_addon" ]; then
  # node-gyp as npm ships it: the new Node's own npm, else the machine's.
  gyp="$nodedir/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$gyp" ] || gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  log "compiling better-sqlite3 $sqlite_version for Node $version (ABI $abi) against its headers"
  build="$(mktemp -d)"
  cp -r "$sqlite_dir/package.json" "$sqlite_dir/binding.gyp" "$sqlite_dir/src" "$sqlite_dir/deps" "$build/"
  (cd "$build" && "$node_bin" "$gyp" rebuild --release --nodedir="$nodedir" --jobs="$(nproc)" >build.log 2>&1) || {
    tail -n 40 "$build/build.log" >&2
    rm -rf "$build"
    exit 1
  }
  # The addon must load in that Node before it is cached.
  "$node_bin" -e 'process.dlopen({ exports: {} }, process.argv[1])' "$build/build/Release/better_sqlite3.node"
  cp "$build/build/Release/better_sqlite3.node" "$cached_addon.partial"
  mv "$cached_addon.partial" "$cached_addon"
  rm -rf "$build"
fi
if ! cmp -s "$cached_addon" "$addon"; then
  mkdir -p "$(dirname "$addon")"
  cp "$cached_addon" "$addon"
fi

# pkcs11js (optional: the PKCS#11 key wrapping) is a Node-API addon, stable across Node lines: its one build must
# load in this Node as it is. Checked here so that a failure names the addon rather than a test.
pkcs11_addon="node_modules/pkcs11js/build/Release/pkcs11.node"
if [ -f "$pkcs11_addon" ] && ! "$node_bin" -e 'process.dlopen({ exports: {} }, process.argv[1])' "$pkcs11_addon" 2>/dev/null; then
  log "$pkcs11_addon (Node-API) does not load in Node $version: the PKCS#11 tests will fail (npm rebuild pkcs11js)"
fi

[ $# -gt 0 ] || set -- node --import tsx test/run.ts
log "Node $("$node_bin" --version) (${package}, ABI $abi): $*"
PATH="$nodedir/bin:$PATH" exec "$@"
