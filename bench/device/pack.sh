#!/usr/bin/env bash
# Packs the WebGPU benchmark for the device machine (no Node, no network there) into .devpack/ and .gl/.
#
# Usage (here, from any directory): bash bench/device/pack.sh
# Then, with the device tool: run(command="bash bench/device/run.sh", carry=[".devpack", ".gl"]).
#
# What it makes, all git-ignored through .git/info/exclude:
#   .devpack/main.mjs, child.mjs   the benchmark bundled by esbuild (Sinter, TF.js core and its
#                                  webgpu backend inside; built from the working tree now, so
#                                  re-pack after the code changes)
#   .devpack/node.xz               this machine's `node` binary (needs glibc >= 2.28 there)
#   .devpack/modules.tar.xz        the native packages the bundles load from disk: webgpu (Dawn,
#                                  linux-x64 only) and onnxruntime-node (linux-x64 only)
#   .gl/libvulkan1_*.deb           the Vulkan loader, unpacked there only if it has none
# The tool carries the working tree and these within 64 MiB; the script stops above 60.
set -euo pipefail
cd "$(dirname "$0")/../.."

PACK=.devpack
LIMIT_MIB=60
mkdir -p "$PACK" .gl
exclude="$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$exclude")"
for p in /.devpack/ /.gl/; do grep -qxF "$p" "$exclude" 2>/dev/null || echo "$p" >>"$exclude"; done

echo "bundling the benchmark …"
# The ES module build of TF.js (the one with gradients) resolves under esbuild as it does under
# the benchmark's Node hooks, which the bundle skips (SINTER_BENCH_BUNDLED=1). The wasm peers and
# jax-js stay out: the device run is WebGPU only.
npx esbuild bench/main.ts bench/child.ts --bundle --platform=node --format=esm --target=node20 \
  --outdir="$PACK" --out-extension:.js=.mjs --log-level=warning \
  --external:webgpu --external:onnxruntime-node --external:tsx \
  --external:@jax-js/jax --external:@tensorflow/tfjs-backend-wasm \
  --banner:js="import { createRequire as __sinterRequire } from 'node:module'; const require = __sinterRequire(import.meta.url);"

# The binaries take minutes to compress; each is rebuilt only when what it packs changed.
stamp() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

node_stamp="$(node --version)-$(stamp "$(command -v node)")"
if [ "$(cat "$PACK/node.stamp" 2>/dev/null)" != "$node_stamp" ]; then
  echo "compressing node $(node --version) …"
  xz -T0 -c "$(command -v node)" >"$PACK/node.xz.tmp"
  mv "$PACK/node.xz.tmp" "$PACK/node.xz"
  echo "$node_stamp" >"$PACK/node.stamp"
fi

M=node_modules
modules_stamp="$(stamp $M/webgpu/package.json $M/onnxruntime-node/package.json $M/onnxruntime-common/package.json)"
if [ "$(cat "$PACK/modules.stamp" 2>/dev/null)" != "$modules_stamp" ]; then
  echo "packing webgpu and onnxruntime-node (linux-x64) …"
  stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/node_modules/webgpu/dist" "$stage/node_modules/onnxruntime-node/bin/napi-v6/linux"
  cp $M/webgpu/index.js $M/webgpu/package.json "$stage/node_modules/webgpu/"
  cp -r $M/webgpu/dist/linux-x64 "$stage/node_modules/webgpu/dist/"
  cp -r $M/onnxruntime-node/dist $M/onnxruntime-node/package.json "$stage/node_modules/onnxruntime-node/"
  cp -r $M/onnxruntime-node/bin/napi-v6/linux/x64 "$stage/node_modules/onnxruntime-node/bin/napi-v6/linux/"
  cp -r $M/onnxruntime-common "$stage/node_modules/"
  tar -C "$stage" -cf - node_modules | xz -T0 >"$PACK/modules.tar.xz.tmp"
  mv "$PACK/modules.tar.xz.tmp" "$PACK/modules.tar.xz"
  echo "$modules_stamp" >"$PACK/modules.stamp"
fi

if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  echo "downloading the Vulkan loader …"
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1)
fi

tree_bytes="$(git ls-files -co --exclude-standard -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)"
pack_bytes="$(du -cb "$PACK"/main.mjs "$PACK"/child.mjs "$PACK"/node.xz "$PACK"/modules.tar.xz "$PACK"/*.stamp .gl | tail -1 | cut -f1)"
total_mib=$(((tree_bytes + pack_bytes) / 1048576))
echo "working tree $((tree_bytes / 1048576)) MiB + pack $((pack_bytes / 1048576)) MiB = ${total_mib} MiB (the tool carries 64)"
if [ "$total_mib" -gt "$LIMIT_MIB" ]; then
  echo "too large to carry: over ${LIMIT_MIB} MiB" >&2
  exit 1
fi
echo 'ready: run(command="bash bench/device/run.sh", carry=[".devpack", ".gl"], timeout_s=420)'
