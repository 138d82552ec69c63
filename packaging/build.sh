#!/usr/bin/env bash
# Build the station's desktop bundle (PyInstaller, one folder) and its versioned archive:
#
#   packaging/build.sh
#     -> dist/defect-inspector-<version>-linux-x86_64/          the bundle (run ./inspector)
#     -> dist/defect-inspector-<version>-linux-x86_64.tar.gz    the archive to ship
#
# It makes (or reuses) a separate build venv, build/venv-bundle (git-ignored), with the
# station's pinned dependencies and PyInstaller; the project's .venv is not touched.
# TensorFlow is not installed there and is excluded from the bundle.
# Env: PYTHON (interpreter for the build venv, default python3; 3.11 is the tested one),
#      BUNDLE_VENV (default build/venv-bundle), CLEAN=1 (drop PyInstaller's cache first).
set -euo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
PY=${PYTHON:-python3}
VENV=${BUNDLE_VENV:-build/venv-bundle}
mkdir -p build dist

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" - <<'PYV'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"python {sys.version.split()[0]} is too old for the bundle (needs >= 3.11): set PYTHON")
PYV
echo "== build venv: $VENV"
"$VENV/bin/python" packaging/station_requirements.py > build/requirements-station.txt
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt \
  -r build/requirements-station.txt -r packaging/requirements-bundle.txt
if "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(0 if u.find_spec('tensorflow') else 1)"; then
  echo "error: tensorflow is installed in $VENV; the station bundle must not carry it" >&2
  exit 1
fi

VERSION=$(cd packaging && "../$VENV/bin/python" -c 'import bundle_common as b; print(b.version())')
NAME="defect-inspector-$VERSION-linux-x86_64"
BUNDLE="dist/$NAME"
rm -rf "$BUNDLE" "$BUNDLE.tar.gz"

echo "== PyInstaller -> $BUNDLE"
CLEAN_ARG=()
[ -n "${CLEAN:-}" ] && CLEAN_ARG=(--clean)
"$VENV/bin/pyinstaller" --noconfirm "${CLEAN_ARG[@]}" --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/inspector-linux.spec

# desktop entry, icons, kiosk unit and installer travel with the bundle
mkdir -p "$BUNDLE/share"
cp packaging/linux/defect-inspector.desktop packaging/linux/defect-inspector-kiosk.service "$BUNDLE/share/"
cp packaging/icons/defect-inspector.svg packaging/icons/defect-inspector-*.png "$BUNDLE/share/"
cp packaging/linux/install.sh "$BUNDLE/install.sh"
chmod +x "$BUNDLE/install.sh" "$BUNDLE/inspector"
echo "$VERSION" > "$BUNDLE/VERSION"

echo "== smoke test"
"$BUNDLE/inspector" --help >/dev/null

echo "== archive"
tar -C dist -czf "$BUNDLE.tar.gz" "$NAME"
(cd dist && sha256sum "$NAME.tar.gz" > "$NAME.tar.gz.sha256")

END=$(date +%s)
echo "bundle:  $BUNDLE ($(du -sh "$BUNDLE" | cut -f1) unpacked)"
echo "archive: $BUNDLE.tar.gz ($(du -h "$BUNDLE.tar.gz" | cut -f1))"
echo "built in $((END - START)) s"
