#!/usr/bin/env bash
# Makes Node.js 24 available and prints the folder holding its `node` binary.
# Uses the running node when it is already 24 or newer; otherwise installs the npm registry's
# node-linux-<arch> package (the binary the `node` package installs) into a cache outside the repo.
set -euo pipefail
NODE_VERSION="${NODE_VERSION:-24.21.0}"
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ]; then
  dirname "$(command -v node)"; exit 0
fi
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "unsupported arch $(uname -m)" >&2; exit 1 ;; esac
dir="${AIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/attested-inference-operator}/node-$NODE_VERSION"
bin="$dir/node_modules/node-linux-$arch/bin"
if [ ! -x "$bin/node" ]; then
  echo "[node24] installing Node.js $NODE_VERSION from the npm registry into $dir" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-$arch@$NODE_VERSION" >&2
fi
echo "$bin"
