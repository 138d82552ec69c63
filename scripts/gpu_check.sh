#!/usr/bin/env bash
# TensorRT on a real NVIDIA GPU: build the engine, check parity, benchmark against ONNX Runtime.
#
#   docker run --gpus all -it --rm -v "$PWD":/w -w /w nvcr.io/nvidia/tensorrt:<yy.mm>-py3 \
#       bash scripts/gpu_check.sh [model.onnx]
#
# Env: PRECISION=fp16|fp32 (default fp16), IMAGES=<folder> real images for parity,
#      ITERATIONS=50, SKIP_INSTALL=1 when the project is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
ONNX="${1:-resources/models/dagm-class1/model.onnx}"
PRECISION="${PRECISION:-fp16}"
ITERATIONS="${ITERATIONS:-50}"
PY="${PYTHON:-python3}"

[ -f "$ONNX" ] || { echo "model not found: $ONNX" >&2; exit 2; }
echo "== GPU"; nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader || true
"$PY" - <<'PYV'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"python {sys.version.split()[0]} is too old (project needs >= 3.11): use a newer TensorRT container")
PYV

if [ -z "${SKIP_INSTALL:-}" ]; then
    echo "== install (tensorrt comes with the container; not reinstalled)"
    "$PY" -m pip install -q -e ".[dev]" pycuda
    # TensorRT 11 has no FP16 builder flag: FP16 needs an FP16 ONNX (optional converter)
    "$PY" -m pip install -q onnxconverter-common || echo "onnxconverter-common not installed (TRT 11 FP16 unavailable)"
fi
"$PY" -c "import tensorrt, pycuda, onnxruntime; print('TensorRT', tensorrt.__version__, '| pycuda', pycuda.VERSION_TEXT, '| ONNX Runtime', onnxruntime.__version__)"

echo "== check before build"
"$PY" -m inspector.core.engine check --onnx "$ONNX" --precision "$PRECISION" || true

echo "== build + parity ($PRECISION)"
BUILD_ARGS=(build --onnx "$ONNX" --precision "$PRECISION" --max-batch 8 --opt-batch 8 --progress text
            --timing-cache "${ONNX%.onnx}.timing.cache")
[ -n "${IMAGES:-}" ] && BUILD_ARGS+=(--images "$IMAGES")
"$PY" -m inspector.core.engine "${BUILD_ARGS[@]}"

echo "== check after build"
"$PY" -m inspector.core.engine check --onnx "$ONNX" --precision "$PRECISION"

echo "== benchmark TensorRT vs ONNX Runtime (CPU), same run"
"$PY" -m inspector.core.engine bench --onnx "$ONNX" --precision "$PRECISION" --batches 1 8 \
    --iterations "$ITERATIONS" --format table

echo "== pytest -m gpu"
"$PY" -m pytest -q -m gpu tests/test_trt_gpu.py
