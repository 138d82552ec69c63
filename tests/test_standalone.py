"""The repository stands on its own: no code, comment or document points at files outside it
(the starting design document that lived beside the repository, the data folder beside it, a
development machine's paths). Data sets are named through ``$DATASETS`` only; the design lives
in docs/architecture.md.

The patterns are assembled from parts, so that this file does not itself hold what it looks for.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = {".py", ".md", ".toml", ".cfg", ".ini", ".sh", ".txt", ".json", ".yaml", ".yml", ".spec", ""}
_DESIGN = "DES" + "IGN"
_UP = "." + "."
_BESIDE = "sha" + "red"
_WORK = "/" + "wo" + "rk" + "/"
OUTSIDE = re.compile(
    "|".join(
        [
            re.escape(_DESIGN + ".md"),  # the starting design document
            re.escape(_DESIGN) + " rule",  # its numbered rules
            re.escape(_UP + "/" + _BESIDE) + r"\b",  # the folder beside the repository
            r"parents?\b(?:\[\d+\])?\s*/\s*[\"']" + _BESIDE + r"[\"']",  # ... as a Python path
            re.escape(_WORK) + f"(?:{_BESIDE}|main)" + r"\b",  # the development machine's paths
        ]
    )
)


def tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout.decode()
        paths = [ROOT / p for p in out.split("\0") if p]
    except (OSError, subprocess.SubprocessError):  # not a git checkout (an unpacked source archive)
        skip = {".git", ".venv", "build", "dist", "node_modules"}
        paths = [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]
    return [p for p in paths if p.suffix in TEXT and p.is_file() and p.stat().st_size < 2_000_000]


def test_no_file_points_outside_the_repository() -> None:
    hits = []
    for path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not hits, "references outside the repository:\n" + "\n".join(hits)


def test_the_check_finds_a_reference() -> None:
    assert OUTSIDE.search(f"see {_UP}/{_BESIDE}/{_DESIGN}.md for the schema")
    assert OUTSIDE.search(f"(TensorFlow never loads, {_DESIGN} rule 2)")
    assert OUTSIDE.search(f"DATASETS={_WORK}{_BESIDE}/datasets python bench/x.py")
    assert OUTSIDE.search(f"cd {_WORK}main && make")
    assert OUTSIDE.search(f'DATA = REPO.parent / "{_BESIDE}" / "datasets"')
    assert OUTSIDE.search(f"ROOT.parents[1] / '{_BESIDE}'")
    assert not OUTSIDE.search("docker run -v $PWD/data:/data img train --data /data/runs")
    assert not OUTSIDE.search("images under $DATASETS/dagm2007-class1; design in docs/architecture.md")
