"""Print the station's requirements (pyproject dependencies + the postgres and triton extras), one a line.

The bundle's build venv installs these (with constraints.txt), not the project itself:
PyInstaller takes the station's code from the source tree. No training extra: TensorFlow
stays out of the bundle.
    python packaging/station_requirements.py > build/requirements-station.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

EXTRAS = ("postgres", "triton")  # PostgreSQL logging; the Triton backend (tritonclient)


def requirements(pyproject: Path) -> list[str]:
    with pyproject.open("rb") as f:
        project = tomllib.load(f)["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return reqs


def main() -> int:
    print("\n".join(requirements(Path(__file__).resolve().parents[1] / "pyproject.toml")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
