#!/usr/bin/env bash
# The GPU device check, run THERE: on a bare Linux x64 machine with an NVIDIA GPU, its driver and
# Vulkan ICD (CUDA and Python may be there; Node, npm and network are not needed). Unpacks the
# archive of bench/gpu/pack.sh, puts its libvulkan.so.1 on LD_LIBRARY_PATH and runs the bundled
# bench/gpu/check.mjs with the packed node, which prints one JSON line per finding (adapter,
# node placement, correctness GPU vs CPU, paired step, 16-configuration grid, paper-scale
# estimate, Fig. 4 wall time). Without a GPU it says "no adapter" and still prints the CPU figures.
#
#   bash bench/gpu/run.sh [archive (default bench/gpu/out/gpu-check.tar.xz)] [check.mjs flags…]
#   e.g. bash bench/gpu/run.sh bench/gpu/out/gpu-check.tar.xz --parts adapter,correctness,step
set -uo pipefail
archive=${1:-bench/gpu/out/gpu-check.tar.xz}
[ $# -gt 0 ] && shift
if [ ! -s "$archive" ]; then
  echo "{\"part\":\"unpack\",\"error\":\"archive $archive not found: run bash bench/gpu/pack.sh where npm and apt are reachable, and carry it\"}"
  exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/narrownet-gpu.XXXXXX")
t0=$(date +%s.%N)
if command -v xz >/dev/null 2>&1; then
  tar -xJf "$archive" -C "$work"
else
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$archive" "$work"
fi || {
  echo "{\"part\":\"unpack\",\"error\":\"could not unpack $archive (needs xz or python3)\"}"
  exit 2
}
t1=$(date +%s.%N)
echo "{\"part\":\"unpack\",\"dir\":\"$work\",\"seconds\":$(awk "BEGIN{printf \"%.1f\", $t1-$t0}"),\"manifest\":$(cat "$work/MANIFEST.json")}"
export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The NVIDIA Vulkan ICD of the lent machines lives outside the loader's default search path
# (the device tool's notes): name it when it is there and nobody chose another.
nv_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nv_icd" ]; then
  export VK_DRIVER_FILES="$nv_icd"
fi
cd "$work" || exit 2
# Under the device tool, $OUT is a folder whose files come back: keep the JSON lines there too.
if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
  "$work/bin/node" "$work/check.mjs" --cli "$work/cli.mjs" "$@" 2> >(tail -c 200000 >"$OUT/gpu-check.stderr") | tee "$OUT/gpu-check.jsonl"
  rc=${PIPESTATUS[0]}
else
  "$work/bin/node" "$work/check.mjs" --cli "$work/cli.mjs" "$@"
  rc=$?
fi
rm -rf "$work"
exit $rc
