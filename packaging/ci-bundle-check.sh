#!/usr/bin/env bash
# CI: build the station bundle, unpack its archive in a clean folder outside the source tree
# and run it there, so a missing hidden import or data file fails CI.
#
#   packaging/ci-bundle-check.sh              # build (packaging/build.sh), then check
#   packaging/ci-bundle-check.sh --no-build   # check the archive already in dist/
#
# The bundle runs with an empty environment (env -i: no PYTHONPATH, no venv on PATH), from a
# temporary folder, so nothing of the checkout can be imported. What it runs:
#   selftest on both shipped models · inspect on generated images (one larger than the model
#   input, so tiling runs) with an export, every part logged and none ERROR · history and
#   replay on that log · a `-m` child (the tiling memory probe, as the station starts it) ·
#   inspect into PostgreSQL when INSPECTOR_TEST_PG_URL is set (CI) · export-triton and inspect
#   on the Triton backend against the KServe v2 test server of tests/fakes · the GUI offscreen
#   until it logs its first verdict · install.sh into a staging folder.
# Test images and the test server come from the project's .venv (HARNESS_PYTHON overrides):
# they are the harness, not the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
HARNESS_PY=${HARNESS_PYTHON:-$REPO/.venv/bin/python}
[ "${1:-}" = "--no-build" ] || packaging/build.sh

VERSION=$(cd packaging && "$HARNESS_PY" -c 'import bundle_common as b; print(b.version())')
NAME="defect-inspector-$VERSION-linux-x86_64"
ARCHIVE="$REPO/dist/$NAME.tar.gz"
[ -f "$ARCHIVE" ] || { echo "no archive at $ARCHIVE: run packaging/build.sh" >&2; exit 1; }

WORK=$(mktemp -d /tmp/inspector-bundle-check.XXXXXX)
GUI_PID=""
KSERVE_PID=""
cleanup() {
  [ -n "$GUI_PID" ] && kill "$GUI_PID" 2>/dev/null || true
  [ -n "$KSERVE_PID" ] && kill "$KSERVE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "BUNDLE CHECK FAILED: $*" >&2; exit 1; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "== unpack $ARCHIVE -> $WORK"
tar -C "$WORK" -xzf "$ARCHIVE"
BUNDLE="$WORK/$NAME"
INSPECTOR="$BUNDLE/inspector"
case "$BUNDLE" in "$REPO"/*) fail "the check folder lies inside the source tree" ;; esac

# the bundle, with nothing of this machine's Python set-up around it
CLEAN_ENV=(env -i PATH=/usr/bin:/bin HOME="$WORK/home" LANG=C.UTF-8
           INSPECTOR_DATA_DIR="$WORK/data" INSPECTOR_SETTINGS="$WORK/settings.ini")
run() { (cd "$WORK" && exec "${CLEAN_ENV[@]}" "$@"); }

echo "== contents"
if find "$BUNDLE" -iname '*tensorflow*' -o -iname 'keras' -o -iname 'tf2onnx' | grep -q .; then
  fail "TensorFlow, Keras or tf2onnx is in the bundle"
fi
for f in resources/models/demo/model.onnx resources/models/demo/golden \
         resources/models/dagm-class1/model.onnx resources/recipes/default.json \
         db/alembic.ini db/migrations/env.py; do
  [ -e "$BUNDLE/_internal/$f" ] || fail "missing from the bundle: $f"
done
run "$INSPECTOR" --help >/dev/null || fail "inspector --help"

echo "== selftest (shipped models)"
run "$INSPECTOR" selftest || fail "selftest of the demo model"
run "$INSPECTOR" selftest --model "$BUNDLE/_internal/resources/models/dagm-class1/model.onnx" >/dev/null \
  || fail "selftest of the dagm-class1 model"

echo "== inspect generated images"
(cd "$REPO" && "$HARNESS_PY" - "$WORK/images" <<'PYGEN'
import sys
from pathlib import Path

import cv2

from inspector.core.synth import make_image

out = Path(sys.argv[1])
out.mkdir(parents=True)
for i in range(6):  # 3 clean, 3 defective, like the demo model's training data
    img, _ = make_image(seed=11, index=i, defective=bool(i % 2))
    cv2.imwrite(str(out / f"{'ng' if i % 2 else 'ok'}_{i}.png"), img)
big, _ = make_image(seed=11, index=99, size=768, defective=True)  # larger than the input: tiled
cv2.imwrite(str(out / "ng_large.png"), big)
PYGEN
)
N_IMAGES=$(find "$WORK/images" -name '*.png' | wc -l)
# an export of one run: every image logged, none ERROR, a clean part passed, a defect found
check_verdicts() {
  "$HARNESS_PY" - "$1" "$N_IMAGES" <<'PYCHK'
import json
import sys

rows = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
verdicts = {r["key"].rsplit("/", 1)[-1]: r["verdict"] for r in rows}
print("verdicts:", dict(sorted(verdicts.items())))
assert len(verdicts) == want, f"{len(verdicts)} verdicts logged for {want} images"
assert "ERROR" not in verdicts.values(), "a part came out ERROR"
assert any(v == "OK" for k, v in verdicts.items() if k.startswith("ok_")), "no clean part passed"
assert any(v in ("NG", "REVIEW") for k, v in verdicts.items() if k.startswith("ng_")), "no defect found"
PYCHK
}
DB="sqlite:///$WORK/check.db"
T0=$(date +%s.%N)
set +e
run "$INSPECTOR" inspect "$WORK/images" --db "$DB" --no-progress --export "$WORK/verdicts.json"
RC=$?
set -e
T1=$(date +%s.%N)
[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "inspect exited $RC (0 or 1 expected)"
check_verdicts "$WORK/verdicts.json" || fail "inspect verdicts"
echo "inspect: $N_IMAGES images, start to exit $(elapsed "$T0" "$T1") s"

echo "== history, replay"
run "$INSPECTOR" history --db "$DB" --limit 3 >/dev/null || fail "history"
run "$INSPECTOR" replay --db "$DB" --recipe "$BUNDLE/_internal/resources/recipes/default.json" >/dev/null \
  || fail "replay"

echo "== a -m child (the tiling memory probe)"
run "$INSPECTOR" -m inspector.core.tiling measure --fresh "$BUNDLE/_internal/resources/models/demo/model.onnx" \
  >/dev/null || fail "inspector -m inspector.core.tiling measure"

if [ -n "${INSPECTOR_TEST_PG_URL:-}" ]; then
  echo "== inspect into PostgreSQL"
  set +e
  run "$INSPECTOR" inspect "$WORK/images" --db "$INSPECTOR_TEST_PG_URL" --station bundle-check \
    --rerun --no-progress >/dev/null
  RC=$?
  set -e
  [ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "inspect into PostgreSQL exited $RC"
  run "$INSPECTOR" history --db "$INSPECTOR_TEST_PG_URL" --station bundle-check --limit 1 --json \
    | grep -q '"verdict"' || fail "no verdict in PostgreSQL"
fi

echo "== Triton backend (export-triton, a KServe v2 test server from tests/fakes)"
DEMO="$BUNDLE/_internal/resources/models/demo/model.onnx"
run "$INSPECTOR" export-triton "$DEMO" --repo "$WORK/triton" --no-plan >/dev/null || fail "export-triton"
(cd "$REPO" && exec "$HARNESS_PY" -m tests.fakes.kserve_v2_server --repo "$WORK/triton") >"$WORK/kserve.log" 2>&1 &
KSERVE_PID=$!
PORT=""
for _ in $(seq 1 100); do
  PORT=$(awk '/^listening/ { print $2 }' "$WORK/kserve.log")
  [ -n "$PORT" ] && break
  kill -0 "$KSERVE_PID" 2>/dev/null || { cat "$WORK/kserve.log" >&2; fail "the KServe v2 test server exited"; }
  sleep 0.1
done
[ -n "$PORT" ] || fail "the KServe v2 test server did not start"
set +e
run "$INSPECTOR" inspect "$WORK/images" --db "sqlite:///$WORK/triton.db" --model "$DEMO" \
  --backend "triton:http://127.0.0.1:$PORT/demo" --no-progress --export "$WORK/triton.json"
RC=$?
set -e
kill "$KSERVE_PID"
wait "$KSERVE_PID" 2>/dev/null || true
KSERVE_PID=""
[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "inspect on the Triton backend exited $RC"
check_verdicts "$WORK/triton.json" || fail "verdicts on the Triton backend"

echo "== GUI (offscreen) until its first verdict"
# polled read-only by the harness (a second station process would migrate the file too)
logged() {
  "$HARNESS_PY" - "$WORK/data/inspections.db" <<'PYPOLL' 2>/dev/null
import sqlite3
import sys

try:
    con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    n = con.execute("SELECT count(*) FROM inspection").fetchone()[0]
except sqlite3.Error:
    n = 0
sys.exit(0 if n else 1)
PYPOLL
}
T0=$(date +%s.%N)
# a subshell that execs: $! is the station's own process id
(cd "$WORK" && exec "${CLEAN_ENV[@]}" QT_QPA_PLATFORM=offscreen "$INSPECTOR" gui) >"$WORK/gui.log" 2>&1 &
GUI_PID=$!
FIRST=""
for _ in $(seq 1 600); do
  kill -0 "$GUI_PID" 2>/dev/null || { tail -20 "$WORK/gui.log" >&2; fail "the GUI exited"; }
  if [ -f "$WORK/data/inspections.db" ] && logged; then
    FIRST=$(date +%s.%N)
    break
  fi
  sleep 0.1
done
[ -n "$FIRST" ] || { tail -20 "$WORK/gui.log" >&2; fail "the GUI logged no verdict within 60 s"; }
kill "$GUI_PID"
wait "$GUI_PID" 2>/dev/null || true
GUI_PID=""
if grep -q "Traceback" "$WORK/gui.log"; then
  tail -30 "$WORK/gui.log" >&2
  fail "the GUI logged a traceback"
fi
echo "GUI: first verdict logged $(elapsed "$T0" "$FIRST") s after start"

echo "== install.sh (staged)"
run DESTDIR="$WORK/stage" "$BUNDLE/install.sh" >/dev/null || fail "install.sh"
[ -x "$WORK/stage/opt/defect-inspector/inspector" ] || fail "install.sh: no inspector in /opt/defect-inspector"
grep -q '^Exec=/opt/defect-inspector/inspector gui$' "$WORK/stage/usr/share/applications/defect-inspector.desktop" \
  || fail "install.sh: desktop entry"
run "$WORK/stage/opt/defect-inspector/inspector" --help >/dev/null || fail "installed inspector --help"

echo "bundle check passed ($NAME, $(du -sh "$BUNDLE" | cut -f1) unpacked)"
