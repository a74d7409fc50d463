#!/usr/bin/env bash
# Compiles the fused kernels into one fatbin (sm_80 and sm_90a machine code plus compute_80 PTX) as a
# class-path resource: <out>/ai/natten/cuda/natten.fatbin. Run by Maven at generate-resources.
# Without nvcc it warns and exits 0: the build goes on and the fused backend reports itself
# unavailable. Skips the compile when the fatbin is newer than every source.
set -euo pipefail
src_dir="$(cd "$(dirname "$0")" && pwd)"
out_dir="${1:?usage: build.sh <resource output dir>}/ai/natten/cuda"
fatbin="$out_dir/natten.fatbin"
nvcc="${NVCC:-$(command -v nvcc || true)}"
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
if [ -z "$nvcc" ]; then
    echo "[WARNING] nvcc not found: building without the fused CUDA kernels (natten.fatbin)" >&2
    exit 0
fi
mkdir -p "$out_dir"
if [ -f "$fatbin" ] && [ -z "$(find "$src_dir" -newer "$fatbin" \( -name '*.cu' -o -name '*.cuh' \))" ]; then
    echo "natten.fatbin is up to date"
    exit 0
fi
echo "nvcc: compiling natten.fatbin (sm_80, sm_90a, compute_80 PTX)"
"$nvcc" -fatbin -O3 -std=c++17 -t 2 \
    -gencode=arch=compute_80,code=sm_80 \
    -gencode=arch=compute_90a,code=sm_90a \
    -gencode=arch=compute_80,code=compute_80 \
    -o "$fatbin.tmp" "$src_dir/natten.cu"
mv "$fatbin.tmp" "$fatbin"
