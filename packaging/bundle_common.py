"""What goes into the station bundle: shared by the Linux and the Windows PyInstaller spec.

The bundle is the station (``inspector``: GUI and headless CLI) with ONNX Runtime, the
shipped models (card, ONNX file, golden samples), the recipes, the Alembic migrations
and the Qt plugins PyInstaller's PySide6 hooks collect. TensorFlow, Keras and tf2onnx
stay out: the trainer runs from its own environment or container.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = "defect-inspector"

# never in the station bundle (the trainer's stack, GPU-only or optional extras, dev tools)
EXCLUDES = [
    "tensorflow",
    "tensorflow_cpu",
    "tensorboard",
    "keras",
    "tf_keras",
    "tf2onnx",
    "tensorrt",
    "pycuda",
    "onnxconverter_common",
    "harvesters",
    "matplotlib",
    "torch",
    "tkinter",
    "IPython",
    "pytest",
    "pytestqt",
    "importlinter",
    "pyqtgraph.examples",
    "pyqtgraph.opengl",
    "pyqtgraph.jupyter",
    "OpenGL",
    "PyQt5",
    "PyQt6",
    "PySide2",
    # OpenVINO reads the station's ONNX models only: its other model readers stay out
    "openvino.frontend.tensorflow",
    "openvino.frontend.tensorflow_lite",
    "openvino.frontend.pytorch",
    "openvino.frontend.jax",
    "openvino.frontend.paddle",
]

# the native libraries of those OpenVINO readers (PyInstaller's openvino hook collects them all)
_UNUSED_OPENVINO_FRONTENDS = ("tensorflow", "tensorflow_lite", "pytorch", "jax", "paddle")


def unused_binary(dest_name: str) -> bool:
    """True for a collected native library the station never loads (OpenVINO's non-ONNX readers)."""
    name = Path(dest_name).name
    return any(
        name.startswith(f"libopenvino_{f}_frontend") or name.startswith(f"openvino_{f}_frontend")
        for f in _UNUSED_OPENVINO_FRONTENDS
    )


# generated or machine-specific files next to a shipped model (TensorRT engines are built
# per GPU on the station; timing caches likewise)
_MODEL_SKIP_SUFFIXES = (".engine", ".plan", ".cache", ".trt")


def version() -> str:
    with (REPO / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def _files(root: Path, pattern: str = "**/*") -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts)


def datas() -> list[tuple[str, str]]:
    """(source file, destination folder inside the bundle) for every data file."""
    out: list[tuple[str, str]] = []
    resources = REPO / "resources"
    for path in _files(resources):
        if path.suffix in _MODEL_SKIP_SUFFIXES or path.name.endswith(".engine.json"):
            continue
        out.append((str(path), str(path.parent.relative_to(REPO))))
    db = REPO / "db"
    out.append((str(db / "alembic.ini"), "db"))
    for path in _files(db / "migrations"):
        if path.suffix in (".py", ".mako"):
            out.append((str(path), str(path.parent.relative_to(REPO))))
    return out


def migration_imports() -> list[str]:
    """Modules the Alembic migrations import: they are loaded from files at run time, so
    PyInstaller's analysis never sees them."""
    names: set[str] = set()
    for path in _files(REPO / "db" / "migrations", "**/*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    names.discard("__future__")
    return sorted(names)


def _package_modules(folder: Path) -> list[str]:
    """Every module of one of our packages, found on disk (sub-folders without an
    ``__init__.py``, like db/migrations, are data, not packages)."""
    out: list[str] = []
    for path in _files(folder, "**/*.py"):
        rel = path.relative_to(REPO).with_suffix("")
        if not all((REPO / Path(*rel.parts[:i]) / "__init__.py").is_file() for i in range(1, len(rel.parts))):
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.append(".".join(parts))
    return out


def _installed_submodules(package: str) -> list[str]:
    """The sub-modules of an installed package, listed without importing them."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules(list(spec.submodule_search_locations))]


def hiddenimports() -> list[str]:
    """Modules imported by name at run time (``-m`` children, SQLAlchemy dialects, watchdog's
    platform observer, the migrations)."""
    mods = [
        # children started as `sys.executable -m MODULE` (see entry_inspector.py)
        "inspector.core.tiling",
        "inspector.services.engine.__main__",
        # SQLAlchemy picks its dialect from the URL
        "sqlalchemy.dialects.sqlite.pysqlite",
        "sqlalchemy.dialects.postgresql.psycopg",
        "psycopg",
        "psycopg_binary",
        "logging.config",
        "alembic.runtime.migration",
        "alembic.script",
        *migration_imports(),
    ]
    for package in ("inspector", "db", "trainer/data"):  # trainer.data: the demo source, data readers
        mods += _package_modules(REPO / package)
    mods += _installed_submodules("watchdog.observers")  # it picks the platform's observer at run time
    return sorted(set(mods))


def metadata() -> list[tuple[str, str]]:
    """dist-info some code reads at run time (the tiling cache keys on the ONNX Runtime version)."""
    from PyInstaller.utils.hooks import copy_metadata

    out: list[tuple[str, str]] = []
    for dist in ("onnxruntime", "alembic", "sqlalchemy", "psycopg", "PySide6_Essentials", "shiboken6"):
        try:
            out += copy_metadata(dist)
        except Exception:  # an optional dist that is not installed
            continue
    return out


# OpenVINO loads its CPU plugin and its ONNX/IR readers with dlopen, next to the libopenvino
# that is loaded: PyInstaller's analysis never sees them, so they are listed here
_OPENVINO_RUNTIME_LIBS = (
    "libopenvino_intel_cpu_plugin.so",
    "libopenvino_auto_plugin.so",
    "libopenvino_onnx_frontend.so*",
    "libopenvino_ir_frontend.so*",
    "openvino_intel_cpu_plugin.dll",
    "openvino_auto_plugin.dll",
    "openvino_onnx_frontend.dll",
    "openvino_ir_frontend.dll",
)


def binaries() -> list[tuple[str, str]]:
    """(native library, destination folder) the analysis cannot find: OpenVINO's plugins and
    readers, in its package's libs/ as in the wheel (the core library there finds them)."""
    spec = importlib.util.find_spec("openvino")
    if spec is None or spec.origin is None:
        return []
    pkg = Path(spec.origin).parent
    libs = pkg / "libs" if (pkg / "libs").is_dir() else pkg
    out: list[tuple[str, str]] = []
    for pattern in _OPENVINO_RUNTIME_LIBS:
        for lib in sorted(libs.glob(pattern)):
            out.append((str(lib), str(Path("openvino") / libs.relative_to(pkg))))
    return out
