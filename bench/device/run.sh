#!/usr/bin/env bash
# Runs the WebGPU benchmark on the device machine from what bench/device/pack.sh packed; results land in $OUT.
#
# Usage: bash bench/device/run.sh [extra options for the benchmark, e.g. --quick]
#   SINTER_DEVICE_CASES  cases (default: matmul-4096, matmul-1024, the CNN train step and inference)
#   SINTER_DEVICE_IMPLS  implementations (default: sinter-webgpu, tfjs-webgpu, ort-webgpu, sinter-webgpu-f16s)
# Writes $OUT/results.json (the benchmark's JSON), $OUT/bench.log (its table and notes) and
# $OUT/gpu.txt (nvidia-smi's view). Tried on lavapipe here: OUT=/tmp/x bash bench/device/run.sh --quick
set -uo pipefail
cd "$(dirname "$0")/../.."

OUT="${OUT:-/tmp/sinter-device-out}"
CASES="${SINTER_DEVICE_CASES:-matmul-4096,matmul-1024,cnn-train,cnn-infer}"
IMPLS="${SINTER_DEVICE_IMPLS:-sinter-webgpu,tfjs-webgpu,ort-webgpu,sinter-webgpu-f16s}"
PACK=.devpack
mkdir -p "$OUT"
started=$SECONDS

if [ ! -f "$PACK/node.xz" ] || [ ! -f "$PACK/main.mjs" ]; then
  echo "no $PACK/: run bench/device/pack.sh here and carry .devpack and .gl" >&2
  exit 2
fi

# The Vulkan loader: the machine's own when it has one (unpacking over / can break it).
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
# The NVIDIA driver's Vulkan ICD sits outside the loader's search path on those machines.
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then export VK_DRIVER_FILES="$nvidia_icd"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

# xz there, or Python's lzma where the xz tool is missing.
unxz_to() {
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
bin=/tmp/sinter-device
mkdir -p "$bin"
unxz_to "$PACK/node.xz" "$bin/node" && chmod +x "$bin/node" || exit 1
unxz_to "$PACK/modules.tar.xz" "$bin/modules.tar" && tar -xf "$bin/modules.tar" -C "$PACK" || exit 1
echo "unpacked in $((SECONDS - started)) s: node $("$bin/node" --version)"

nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv 2>&1 | tee "$OUT/gpu.txt" || true
# The GPU's name for its fp32 peak (bench/impls/webgpu.ts), where the Vulkan adapter strings lack it.
SINTER_GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)"
export SINTER_GPU_NAME

SINTER_BENCH_BUNDLED=1 "$bin/node" "$PACK/main.mjs" --cases "$CASES" --impl "$IMPLS" --out "$OUT/results.json" "$@" 2>&1 | tee "$OUT/bench.log"
status=${PIPESTATUS[0]}
echo "done in $((SECONDS - started)) s (exit $status)"
exit "$status"
