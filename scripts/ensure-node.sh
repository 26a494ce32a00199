#!/usr/bin/env bash
# Makes sure Node.js >= 24 is available: the machine's own if new enough, else a copy from the
# npm registry (package node-<os>-<arch>) installed under .tools/. Prints nothing on success.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION="${DROVER_NODE_VERSION:-24.21.0}"
major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "unsupported OS $(uname -s)" >&2; exit 1 ;; esac
case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) echo "unsupported CPU $(uname -m)" >&2; exit 1 ;; esac
local_node=".tools/node_modules/node-$os-$arch/bin/node"
if [ -x "$local_node" ] && [ "$(major "$local_node")" -ge 24 ]; then exit 0; fi
sys_node=$(command -v node || true)
if [ -n "$sys_node" ] && [ "$sys_node" != "$PWD/$local_node" ] && [ "$(major "$sys_node")" -ge 24 ]; then exit 0; fi
command -v npm >/dev/null || { echo "drover needs Node.js >= 24 or npm to fetch it; install npm (apt-get install -y npm)" >&2; exit 1; }
echo "installing Node.js $NODE_VERSION into .tools/ (the machine has $(${sys_node:-false} --version 2>/dev/null || echo none))" >&2
mkdir -p .tools
npm install --prefix .tools --no-audit --no-fund --no-save "node-$os-$arch@$NODE_VERSION" >&2
"$local_node" --version >/dev/null
