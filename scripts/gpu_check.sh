#!/usr/bin/env bash
# TensorRT on a real NVIDIA GPU, first contact: build the engine (parity on real images), check it,
# benchmark it against ONNX Runtime, then run the station end to end on the DAGM folder with
# `inspector inspect --backend tensorrt` and with ONNX Runtime and compare every verdict.
#
#   docker run --gpus all -it --rm -v "$PWD":/w -w /w nvcr.io/nvidia/tensorrt:<yy.mm>-py3 \
#       bash scripts/gpu_check.sh [model.onnx]
#
#   DRY_RUN=1 bash scripts/gpu_check.sh      # no GPU: tests/fakes stand in for tensorrt + pycuda
#
# Env: PRECISION=fp16|fp32 (default fp16)
#      DAGM=<folder>        images for the end-to-end run
#                           (default ${DATASETS:-datasets}/dagm2007-class1/Class1/Train)
#      IMAGES=<folder>      real images for the parity check (default: $DAGM)
#      INSPECT_LIMIT=N      inspect only the first N images (default: all; 6 in a dry run)
#      PARITY_COUNT=N       parity images (default 16; 4 in a dry run)
#      ITERATIONS=N         benchmark iterations (default 50; 3 in a dry run)
#      BENCH_BATCHES="1 8"  benchmark batch sizes ("1 2" in a dry run)
#      INSPECT_ARGS="..."   more `inspector inspect` options for both runs (e.g. --allow-unverified)
#      WORK=<dir>           databases, exports (and in a dry run the model copy and its engine)
#      SKIP_INSTALL=1       the project is already installed (implied by DRY_RUN)
#      PYTHON=<python>      default python3 (.venv/bin/python in a dry run when it exists)
set -euo pipefail
cd "$(dirname "$0")/.."
ONNX="${1:-resources/models/dagm-class1/model.onnx}"
DRY_RUN="${DRY_RUN:-}"
PRECISION="${PRECISION:-fp16}"
DAGM="${DAGM:-${DATASETS:-datasets}/dagm2007-class1/Class1/Train}"
IMAGES="${IMAGES:-$DAGM}"
WORK="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")}"
mkdir -p "$WORK"

[ -f "$ONNX" ] || { echo "model not found: $ONNX" >&2; exit 2; }
[ -d "$DAGM" ] || { echo "image folder not found: $DAGM (set DAGM=...)" >&2; exit 2; }

if [ -n "$DRY_RUN" ]; then
    echo "== DRY RUN: fake tensorrt + pycuda from tests/fakes (no GPU; numbers come from ONNX Runtime)"
    export PYTHONPATH="$PWD/tests/fakes:$PWD${PYTHONPATH:+:$PYTHONPATH}"
    export INSPECTOR_DATA_DIR="${INSPECTOR_DATA_DIR:-$WORK/data}"
    SKIP_INSTALL=1
    if [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; fi
    INSPECT_LIMIT="${INSPECT_LIMIT:-6}"
    PARITY_COUNT="${PARITY_COUNT:-4}"
    ITERATIONS="${ITERATIONS:-3}"
    BENCH_BATCHES="${BENCH_BATCHES:-1 2}"
    # the fake engine must not land beside the shipped model: work on a copy
    mkdir -p "$WORK/model"
    cp -r "$(dirname "$ONNX")/." "$WORK/model/"
    rm -f "$WORK/model/"*.engine "$WORK/model/"*.engine.json
    ONNX="$WORK/model/$(basename "$ONNX")"
else
    echo "== GPU"; nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader || true
fi
PY="${PYTHON:-python3}"
INSPECT_LIMIT="${INSPECT_LIMIT:-}"
PARITY_COUNT="${PARITY_COUNT:-16}"
ITERATIONS="${ITERATIONS:-50}"
read -r -a BATCHES <<< "${BENCH_BATCHES:-1 8}"
echo "work folder: $WORK"

"$PY" - <<'PYV'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"python {sys.version.split()[0]} is too old (project needs >= 3.11): use a newer TensorRT container")
PYV

if [ -z "${SKIP_INSTALL:-}" ]; then
    echo "== install (tensorrt comes with the container; not reinstalled)"
    "$PY" -m pip install -q -e ".[dev]" pycuda
    # TensorRT 11 has no FP16 builder flag: FP16 needs an FP16 ONNX. NVIDIA prescribes ModelOpt
    # AutoCast; onnxconverter-common is the fallback. Both optional: fp32 needs neither.
    "$PY" -m pip install -q "nvidia-modelopt[onnx]" || echo "nvidia-modelopt not installed (TRT 11 FP16 tries onnxconverter-common)"
    "$PY" -m pip install -q onnxconverter-common || echo "onnxconverter-common not installed"
fi
"$PY" -c "import tensorrt, pycuda, onnxruntime; print('TensorRT', tensorrt.__version__, '| pycuda', pycuda.VERSION_TEXT, '| ONNX Runtime', onnxruntime.__version__, '|', tensorrt.__file__)"

echo "== check before build"
"$PY" -m inspector.services.engine check --onnx "$ONNX" --precision "$PRECISION" || true

echo "== build + parity ($PRECISION) on $PARITY_COUNT images of $IMAGES"
BUILD_ARGS=(build --onnx "$ONNX" --precision "$PRECISION" --max-batch 8 --opt-batch 8 --progress text
            --timing-cache "${ONNX%.onnx}.timing.cache" --images "$IMAGES" --parity-count "$PARITY_COUNT"
            --images-source "gpu_check: $IMAGES")
"$PY" -m inspector.services.engine "${BUILD_ARGS[@]}"

echo "== check after build"
"$PY" -m inspector.services.engine check --onnx "$ONNX" --precision "$PRECISION"

echo "== benchmark TensorRT vs ONNX Runtime (CPU), same run"
"$PY" -m inspector.services.engine bench --onnx "$ONNX" --precision "$PRECISION" --batches "${BATCHES[@]}" \
    --iterations "$ITERATIONS" --format table

echo "== station end to end on $DAGM${INSPECT_LIMIT:+ (first $INSPECT_LIMIT images)}: TensorRT vs ONNX Runtime verdicts"
for BACKEND in onnxruntime tensorrt; do
    ARGS=(inspect "$DAGM" --model "$ONNX" --backend "$BACKEND" --db "sqlite:///$WORK/$BACKEND.db"
          --station gpu-check --archive "$WORK/archive-$BACKEND" --export "$WORK/verdicts-$BACKEND.json"
          --no-progress)
    [ -n "$INSPECT_LIMIT" ] && ARGS+=(--limit "$INSPECT_LIMIT")
    read -r -a MORE <<< "${INSPECT_ARGS:-}"
    ARGS+=("${MORE[@]}")
    echo "-- inspector ${ARGS[*]}"
    set +e
    "$PY" -c "import sys; from inspector.cli.main import main; sys.exit(main())" "${ARGS[@]}"
    CODE=$?
    set -e
    # 0 all OK, 1 defects found, 4 some parts ERROR: the run completed; anything else did not
    case "$CODE" in 0|1|4) ;; *) echo "inspect --backend $BACKEND failed (exit $CODE)" >&2; exit 1 ;; esac
done
"$PY" - "$WORK/verdicts-onnxruntime.json" "$WORK/verdicts-tensorrt.json" <<'PYC'
import json
import sys

ort = {r["key"]: r for r in json.load(open(sys.argv[1], encoding="utf-8"))}
trt = {r["key"]: r for r in json.load(open(sys.argv[2], encoding="utf-8"))}
backends = sorted({r["backend"] for r in trt.values()})
print(f"backends: ONNX Runtime run {sorted({r['backend'] for r in ort.values()})}, TensorRT run {backends}")
if not all("tensorrt" in b.lower() for b in backends):
    sys.exit("the TensorRT run did not run on TensorRT")
missing = sorted(set(ort) ^ set(trt))
differ = sorted(k for k in set(ort) & set(trt) if ort[k]["verdict"] != trt[k]["verdict"])
counts = {}
for r in trt.values():
    counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
print(f"{len(trt)} images, TensorRT verdicts {dict(sorted(counts.items()))}")
for k in missing:
    print(f"  only in one run: {k}")
for k in differ:
    print(f"  {k}: ONNX Runtime {ort[k]['verdict']} (score {ort[k]['score']}), "
          f"TensorRT {trt[k]['verdict']} (score {trt[k]['score']})")
if missing or differ:
    sys.exit(f"verdicts differ on {len(differ)} images, {len(missing)} inspected by one backend only")
print(f"all {len(trt)} verdicts equal")
PYC

echo "== pytest -m gpu"
if [ -n "$DRY_RUN" ]; then
    echo "(skipped in a dry run: the gpu tests need the real libraries)"
else
    "$PY" -m pytest -q -m gpu tests/test_trt_gpu.py
fi
echo "== done (work folder $WORK)"
