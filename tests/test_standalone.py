"""The repository stands on its own: no code, comment or document points at files outside it
(the starting design, the shared data folder, a machine's paths). Data sets are named through
``$DATASETS`` only."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = {".py", ".md", ".toml", ".cfg", ".ini", ".sh", ".txt", ".json", ".yaml", ".yml", ".spec", ""}
# "DESIGN.md" / "DESIGN rule 2": the starting design that lived beside the repository;
# "../shared", "/work/shared", "/work/main": the machine this was written on (a container's own
# /work mount, as in packaging/docker, is fine).
OUTSIDE = re.compile(r"DESIGN\.md|DESIGN rule|\.\./shared\b|/work/(?:shared|main)\b")


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
    here = Path(__file__).resolve()
    hits = []
    for path in tracked_text_files():
        if path.resolve() == here:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not hits, "references outside the repository:\n" + "\n".join(hits)


def test_the_check_finds_a_reference() -> None:
    assert OUTSIDE.search("see ../shared/DESIGN.md for the schema")
    assert OUTSIDE.search("(TensorFlow never loads, DESIGN rule 2)")
    assert OUTSIDE.search("DATASETS=/work/shared/datasets python bench/x.py")
    assert not OUTSIDE.search("docker run -v $PWD/work:/work img train --data /work/data")
    assert not OUTSIDE.search("images under $DATASETS/dagm2007-class1; design in docs/architecture.md")
