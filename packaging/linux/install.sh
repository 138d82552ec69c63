#!/usr/bin/env bash
# Install this station bundle (run from the unpacked archive, as root):
#
#   sudo ./install.sh                  # /opt/defect-inspector, `inspector` on PATH, desktop entry + icon
#   sudo ./install.sh --kiosk          # the same, plus the kiosk unit (station on tty1 from boot)
#
# Env: PREFIX (default /opt/defect-inspector; the desktop entry and the unit name that path),
#      DESTDIR (stage everything under this folder instead of /, e.g. for a package; no systemctl).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-/opt/defect-inspector}
DESTDIR=${DESTDIR:-}
KIOSK=0
for arg in "$@"; do
  case "$arg" in
    --kiosk) KIOSK=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
[ -x "$HERE/inspector" ] || { echo "run install.sh from the unpacked bundle" >&2; exit 2; }
if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
  echo "run as root (or set DESTDIR to stage the files)" >&2
  exit 2
fi

# the bundle itself, replaced as a whole (an old version's files never linger)
mkdir -p "$DESTDIR$(dirname "$PREFIX")"
rm -rf "$DESTDIR$PREFIX.new"
cp -a "$HERE" "$DESTDIR$PREFIX.new"
rm -rf "$DESTDIR$PREFIX"
mv "$DESTDIR$PREFIX.new" "$DESTDIR$PREFIX"

mkdir -p "$DESTDIR/usr/local/bin" "$DESTDIR/usr/share/applications" \
  "$DESTDIR/usr/share/icons/hicolor/scalable/apps"
ln -sfn "$PREFIX/inspector" "$DESTDIR/usr/local/bin/inspector"
sed "s#/opt/defect-inspector#$PREFIX#g" "$HERE/share/defect-inspector.desktop" \
  > "$DESTDIR/usr/share/applications/defect-inspector.desktop"
cp "$HERE/share/defect-inspector.svg" "$DESTDIR/usr/share/icons/hicolor/scalable/apps/"
for size in 48 128 256; do
  mkdir -p "$DESTDIR/usr/share/icons/hicolor/${size}x${size}/apps"
  cp "$HERE/share/defect-inspector-$size.png" \
    "$DESTDIR/usr/share/icons/hicolor/${size}x${size}/apps/defect-inspector.png"
done

if [ "$KIOSK" = 1 ]; then
  mkdir -p "$DESTDIR/etc/systemd/system"
  sed "s#/opt/defect-inspector#$PREFIX#g" "$HERE/share/defect-inspector-kiosk.service" \
    > "$DESTDIR/etc/systemd/system/defect-inspector-kiosk.service"
  if [ -z "$DESTDIR" ]; then
    id -u inspector >/dev/null 2>&1 || useradd --system --create-home --groups video,input,render inspector \
      || useradd --system --create-home inspector
    command -v cage >/dev/null || echo "note: the kiosk unit needs cage (apt-get install cage)" >&2
    systemctl daemon-reload
    systemctl enable defect-inspector-kiosk.service
    echo "kiosk enabled: it starts on the next boot (or now: systemctl start defect-inspector-kiosk)"
  fi
fi
echo "installed defect-inspector $(cat "$DESTDIR$PREFIX/VERSION") in $DESTDIR$PREFIX"
