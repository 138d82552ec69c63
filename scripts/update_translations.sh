#!/usr/bin/env bash
# Regenerate the GUI's translation sources (resources/i18n/*.ts) from inspector/ui/*.py and compile
# them to the .qm files the station loads (inspector/ui/i18n.py).
#
#   scripts/update_translations.sh            # lupdate + lrelease
#   scripts/update_translations.sh --check    # also fail when a German entry is unfinished
#
# Translate new or changed strings in resources/i18n/inspector_de.ts (Qt Linguist:
# .venv/bin/pyside6-linguist, or any editor), then run this again. inspector_en.ts holds only the
# English plural forms ("%n message(s)" -> "1 message" / "2 messages").
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${PYSIDE6_BIN:-.venv/bin}"
LUPDATE="$BIN/pyside6-lupdate"
LRELEASE="$BIN/pyside6-lrelease"
for tool in "$LUPDATE" "$LRELEASE"; do
    [[ -x "$tool" ]] || { echo "missing $tool (pip install PySide6, or set PYSIDE6_BIN)" >&2; exit 2; }
done
OUT=resources/i18n
mkdir -p "$OUT"
SOURCES=(inspector/ui/*.py)
OPTS=(-silent -locations none -no-obsolete -source-language en)
"$LUPDATE" "${OPTS[@]}" -target-language de "${SOURCES[@]}" -ts "$OUT/inspector_de.ts"
"$LUPDATE" "${OPTS[@]}" -target-language en -pluralonly "${SOURCES[@]}" -ts "$OUT/inspector_en.ts"
for ts in "$OUT"/inspector_*.ts; do
    "$LRELEASE" -silent "$ts" -qm "${ts%.ts}.qm"
done
if [[ "${1:-}" == "--check" ]]; then
    if grep -q 'type="unfinished"' "$OUT/inspector_de.ts"; then
        echo "unfinished German translations in $OUT/inspector_de.ts:" >&2
        grep -c 'type="unfinished"' "$OUT/inspector_de.ts" >&2
        exit 1
    fi
fi
echo "updated $(ls "$OUT"/*.ts | wc -l) .ts and $(ls "$OUT"/*.qm | wc -l) .qm files in $OUT"
