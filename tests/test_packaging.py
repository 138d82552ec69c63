"""packaging/: the bundle's definition, the containers, the desktop entry and the kiosk unit.

Checked here without Docker, PyInstaller or a GPU: the Dockerfiles parse and copy only files
that exist, compose.yaml has the services, health checks and volumes it promises, and the
commands the images and compose run work against this checkout. Building and running the
bundle itself is packaging/ci-bundle-check.sh (called by .ci/run).
"""

from __future__ import annotations

import configparser
import fnmatch
import importlib.util
import json
import os
import re
import shlex
import shutil
import sqlite3
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "packaging"
DOCKER = PKG / "docker"
IMAGES = ("station-cpu", "station-gpu", "trainer")
BIN = Path(sys.executable).parent
INSTRUCTIONS = frozenset(
    {
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    }
)
JSON_FORM = frozenset({"CMD", "ENTRYPOINT", "VOLUME", "SHELL"})


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle = _load("bundle_common", PKG / "bundle_common.py")


def _pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _constraint(dist: str) -> str:
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower().replace("-", "_") == dist.lower().replace("-", "_"):
            return version.strip()
    raise AssertionError(f"{dist} is not pinned in constraints.txt")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPECTOR_")}
    env.update(INSPECTOR_DATA_DIR=str(tmp_path / "data"), QT_QPA_PLATFORM="offscreen")
    return env


# --- Dockerfiles: a small parser ------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their continuation lines joined; comments and blank lines dropped.
    Heredocs are not supported (and not used)."""
    out: list[Instruction] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):  # comments (and parser directives), also mid-continuation
            continue
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1].rstrip() + " "
            continue
        buf += line
        keyword, _, args = buf.partition(" ")
        if "<<" in args and keyword.upper() in ("RUN", "COPY"):
            raise ValueError(f"line {start}: heredocs are not supported by this parser")
        out.append(Instruction(keyword, args.strip(), start))
        buf = ""
    if buf:
        raise ValueError(f"line {start}: a continuation runs past the end of the file")
    return out


def _dockerfile(name: str) -> list[Instruction]:
    return parse_dockerfile((DOCKER / name / "Dockerfile").read_text(encoding="utf-8"))


def _base_image(instructions: list[Instruction]) -> str:
    args: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "ARG":
            name, _, default = ins.args.partition("=")
            args[name] = default
        elif ins.keyword == "FROM":
            image = ins.args.split()[0]
            return re.sub(r"\$\{?(\w+)\}?", lambda m: args[m.group(1)], image)
    raise AssertionError("no FROM")


def _json_form(ins: Instruction) -> list[str]:
    value = json.loads(ins.args)
    assert isinstance(value, list), ins
    assert all(isinstance(v, str) for v in value), ins
    return value


def _last(instructions: list[Instruction], keyword: str) -> list[str]:
    found = [i for i in instructions if i.keyword == keyword]
    return _json_form(found[-1]) if found else []


def _pip_lines(instructions: list[Instruction]) -> list[str]:
    """The ``pip install`` commands of the RUN instructions (without the rest of their RUN)."""
    return [
        part.strip()
        for i in instructions
        if i.keyword == "RUN"
        for part in i.args.split("&&")
        if "pip install" in part
    ]


def _extras(pip: str) -> set[str]:
    """The project's extras a pip line installs (``-e ".[a,b]"``)."""
    found = re.search(r"\.\[([\w,-]+)\]", pip)
    return set(found.group(1).split(",")) if found else set()


def _ignored(name: str) -> list[str]:
    path = DOCKER / name / "Dockerfile.dockerignore"
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_parser_joins_continuations_and_drops_comments() -> None:
    text = '# syntax=docker/dockerfile:1\nFROM a:1\nRUN x \\\n  # note\n  && y\nCMD ["z"]\n'
    assert parse_dockerfile(text) == [
        Instruction("FROM", "a:1", 2),
        Instruction("RUN", "x && y", 3),
        Instruction("CMD", '["z"]', 6),
    ]
    with pytest.raises(ValueError, match="past the end"):
        parse_dockerfile("FROM a:1\nRUN x \\\n")


@pytest.mark.parametrize("name", IMAGES)
def test_dockerfile_parses(name: str) -> None:
    instructions = _dockerfile(name)
    assert instructions, name
    for ins in instructions:
        assert ins.keyword in INSTRUCTIONS, f"{name}:{ins.line}: unknown instruction {ins.keyword}"
        if ins.keyword in JSON_FORM:
            _json_form(ins)  # exec form: a JSON list of strings
        if ins.keyword == "ENV":
            for pair in shlex.split(ins.args):
                assert re.fullmatch(r"[A-Za-z_]\w*=.*", pair), f"{name}:{ins.line}: {pair}"
    firsts = [i.keyword for i in instructions if i.keyword != "ARG"]
    assert firsts[0] == "FROM", f"{name}: the first instruction after ARGs must be FROM"
    image = _base_image(instructions)
    assert ":" in image.rsplit("/", 1)[-1], f"{name}: pin a tag ({image})"
    assert not image.endswith(":latest"), f"{name}: pin a tag ({image})"
    assert _last(instructions, "CMD") or _last(instructions, "ENTRYPOINT"), f"{name}: runs nothing"
    users = [i.args for i in instructions if i.keyword == "USER"]
    assert users, f"{name}: runs as root"
    assert users[-1] not in ("root", "0"), f"{name}: runs as root"


@pytest.mark.parametrize("name", IMAGES)
def test_dockerfile_copies_only_files_that_exist(name: str) -> None:
    ignored = _ignored(name)
    for ins in _dockerfile(name):
        if ins.keyword not in ("COPY", "ADD"):
            continue
        tokens = shlex.split(ins.args)
        if any(t.startswith("--from") for t in tokens):
            continue
        paths = [t for t in tokens if not t.startswith("--")]
        assert len(paths) >= 2, f"{name}:{ins.line}: COPY needs a source and a destination"
        for src in paths[:-1]:
            matches = list(ROOT.glob(src))
            assert matches, f"{name}:{ins.line}: COPY {src}: not in the repository (the build context)"
            for pattern in ignored:
                assert not fnmatch.fnmatch(src, pattern), f"{name}: {src} is excluded by {pattern}"


@pytest.mark.parametrize("name", IMAGES)
def test_build_context_leaves_local_state_out(name: str) -> None:
    ignored = _ignored(name)
    for entry in (".git", ".venv", "build", "dist", "runs", "**/*.db", "**/__pycache__", "**/*.engine"):
        assert entry in ignored, f"{name}: Dockerfile.dockerignore should exclude {entry}"


def test_station_cpu_image() -> None:
    instructions = _dockerfile("station-cpu")
    assert re.fullmatch(r"python:3\.11-slim-\w+", _base_image(instructions)), "the tested Python, slim"
    assert _last(instructions, "ENTRYPOINT") == ["inspector"]
    assert any("install-qt-runtime.sh" in i.args for i in instructions if i.keyword == "RUN")
    (pip,) = _pip_lines(instructions)
    assert "-c constraints.txt" in pip
    assert _extras(pip) == {"postgres", "triton"}
    assert "tensorflow" not in pip


def test_station_gpu_image() -> None:
    instructions = _dockerfile("station-gpu")
    assert re.fullmatch(r"nvcr\.io/nvidia/tensorrt:\d\d\.\d\d-py3", _base_image(instructions))
    assert _last(instructions, "CMD") == ["bash", "scripts/gpu_check.sh"]
    env = " ".join(i.args for i in instructions if i.keyword == "ENV")
    assert "SKIP_INSTALL=1" in env, "gpu_check.sh must not reinstall what the image installed"
    (pip,) = _pip_lines(instructions)
    assert re.search(r"pycuda==\d", pip)
    assert "-c constraints.txt" in pip
    assert _extras(pip) == {"postgres", "triton", "dev"}
    assert "tensorrt" not in pip.split("-e", 1)[1], "TensorRT comes with the container"
    assert "tensorflow" not in pip
    assert (ROOT / "scripts" / "gpu_check.sh").is_file()
    assert (ROOT / "tests" / "test_trt_gpu.py").is_file()


def test_trainer_image_matches_the_pinned_tensorflow() -> None:
    instructions = _dockerfile("trainer")
    image = _base_image(instructions)
    assert image == f"tensorflow/tensorflow:{_constraint('tensorflow_cpu')}-gpu", image
    assert _last(instructions, "ENTRYPOINT") == ["inspector-train"]
    (pip,) = _pip_lines(instructions)
    assert "tensorflow" not in pip, "the image's TensorFlow (GPU) must stay"
    assert not _extras(pip), "no extra: `train` would install tensorflow-cpu over the GPU build"
    for req in _pyproject()["project"]["optional-dependencies"]["train"]:
        if req.startswith("tensorflow"):
            continue
        assert f'"{req}"' in pip, f"the trainer image misses {req} of the train extra"


def test_one_ngc_release_for_tensorrt_and_triton() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with the dev extra")
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    trt = _base_image(_dockerfile("station-gpu")).rsplit(":", 1)[1]
    triton = compose["services"]["triton"]["image"]
    assert triton == f"nvcr.io/nvidia/tritonserver:{trt}", "station-gpu and Triton: same NGC release"


def test_qt_runtime_script_names_real_packages() -> None:
    script = DOCKER / "install-qt-runtime.sh"
    assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0
    release = Path("/etc/os-release")
    if not shutil.which("apt-cache") or not release.is_file() or "bookworm" not in release.read_text():
        pytest.skip("package names are checked on Debian 12 (the station-cpu base)")
    text = script.read_text(encoding="utf-8")
    names = re.findall(r"\b(lib[\w.+-]+|fonts-[\w-]+)\b", text.split("apt-get install", 1)[1])
    names = [n for n in names if n != "libglib2.0-0t64"]
    for name in names:
        shown = subprocess.run(["apt-cache", "show", name], capture_output=True, check=False)
        if shown.returncode and b"No packages found" not in shown.stderr + shown.stdout:
            pytest.skip("apt-cache has no package lists here")
        assert shown.returncode == 0, f"no Debian 12 package {name}"


def test_image_commands_run_here(tmp_path: Path) -> None:
    """What the images run, against this checkout: the CPU station's default (the demo model's
    self-test), the trainer's, and the module gpu_check.sh drives (its TensorRT part needs a GPU)."""
    env = _env(tmp_path)
    cpu = _last(_dockerfile("station-cpu"), "ENTRYPOINT") + _last(_dockerfile("station-cpu"), "CMD")
    trainer = _last(_dockerfile("trainer"), "ENTRYPOINT") + _last(_dockerfile("trainer"), "CMD")
    for cmd in (cpu, trainer):
        proc = subprocess.run(
            [str(BIN / cmd[0]), *cmd[1:]], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert proc.returncode == 0, f"{cmd}: {proc.stdout}{proc.stderr}"
    assert subprocess.run(["bash", "-n", str(ROOT / "scripts" / "gpu_check.sh")], check=False).returncode == 0
    proc = subprocess.run(
        [sys.executable, "-m", "inspector.services.engine", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


# --- compose.yaml ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with the dev extra")
    return yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))


STATIONS = ("station-1", "station-2")
PG_URL = "postgresql+psycopg://inspector@db:5432/inspections"


def test_compose_services_volumes_and_health(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"db", "migrate", *STATIONS, "triton"}
    assert {"db-data", "archive"} <= set(compose["volumes"])
    db = services["db"]
    assert db["image"].startswith("postgres:")
    assert db["image"] != "postgres:latest"
    assert "db-data:/var/lib/postgresql/data" in db["volumes"]
    assert "pg_isready" in db["healthcheck"]["test"]
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?"), "no default password"
    triton = services["triton"]
    assert triton["profiles"] == ["triton"], "Triton is optional"
    assert any("/v2/health/ready" in part for part in triton["healthcheck"]["test"])
    assert triton["volumes"][0].endswith(":/models:ro")
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_compose_stations(compose: dict) -> None:
    from inspector.cli.main import build_parser

    services = compose["services"]
    names, archives = set(), set()
    for name in STATIONS:
        svc = services[name]
        build = svc["build"]
        context = (DOCKER / build["context"]).resolve()
        assert context == ROOT
        assert (context / build["dockerfile"]).is_file()
        assert svc["depends_on"]["db"]["condition"] == "service_healthy"
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert svc["restart"] == "unless-stopped"
        assert svc["healthcheck"]["test"][0] == "CMD"
        assert build_parser().parse_args(svc["healthcheck"]["test"][2:]).command == "history"
        assert any(v.endswith(":/line/in") for v in svc["volumes"]), "hot folder"
        assert "archive:/data/archive" in svc["volumes"]
        assert "PGPASSWORD" in svc["environment"]
        assert PG_URL in svc["command"]
        args = build_parser().parse_args(svc["command"])
        assert args.command == "inspect"
        assert args.source == "hot:/line/in"
        assert args.db == PG_URL
        names.add(args.station)
        archives.add(str(args.archive))
    assert len(names) == len(archives) == len(STATIONS), "each station: its own name and archive folder"


def test_compose_commands_run_here(compose: dict, tmp_path: Path, image_folder: Path) -> None:
    """The migrate, station and health-check commands of compose.yaml against SQLite, with a
    folder instead of the hot folder (a hot folder runs until stopped)."""
    db = f"sqlite:///{tmp_path / 'compose.db'}"
    services = compose["services"]

    def run(cmd: list[str], ok: tuple[int, ...] = (0,)) -> None:
        cmd = [db if c == PG_URL else c for c in cmd]
        proc = subprocess.run(
            [str(BIN / "inspector"), *cmd],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode in ok, f"{cmd}: {proc.returncode}\n{proc.stdout}{proc.stderr}"

    run(services["migrate"]["command"])
    station = [str(image_folder) if c == "hot:/line/in" else c for c in services["station-1"]["command"]]
    archive = str(tmp_path / "archive" / "station-1")
    station = [archive if c == "/data/archive/station-1" else c for c in station]
    run(station, ok=(0, 1))
    run(services["station-1"]["healthcheck"]["test"][2:])
    with sqlite3.connect(tmp_path / "compose.db") as con:
        (n,) = con.execute("SELECT count(*) FROM inspection").fetchone()
    assert n == len(list(image_folder.glob("*.png")))


# --- desktop entry, kiosk unit, installer ---------------------------------------------------


def _unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd's INI dialect: repeated keys add values."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"{path}: {line} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not a key=value line: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


UNIT = PKG / "linux" / "defect-inspector-kiosk.service"
DESKTOP = PKG / "linux" / "defect-inspector.desktop"


def test_kiosk_unit_starts_on_boot_and_restarts() -> None:
    unit = _unit(UNIT)
    assert unit["Unit"]["Description"]
    assert unit["Unit"]["StartLimitIntervalSec"] == ["0"], "never stop restarting"
    service = unit["Service"]
    (exec_start,) = service["ExecStart"]
    assert exec_start.split()[0].startswith("/")
    assert exec_start.endswith("/opt/defect-inspector/inspector gui")
    assert service["Restart"] == ["always"]
    assert int(service["RestartSec"][0]) > 0
    assert service["User"][0] not in ("root", "0")
    assert "INSPECTOR_DATA_DIR=/var/lib/defect-inspector" in service["Environment"]
    assert service["StateDirectory"] == ["defect-inspector"]
    assert unit["Install"]["WantedBy"] == ["graphical.target"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_kiosk_unit_verifies(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8")
    text = re.sub(r"^ExecStart=.*$", "ExecStart=/bin/true", text, flags=re.M)  # cage is not installed here
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_desktop_entry() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    for key in ("Type", "Name", "Comment", "Exec", "Icon", "Categories", "Terminal"):
        assert entry.get(key), f"missing {key}"
    assert entry["Type"] == "Application"
    assert entry["Terminal"] == "false"
    assert entry["Exec"] == "/opt/defect-inspector/inspector gui"
    assert entry["Categories"].endswith(";")
    assert (PKG / "icons" / f"{entry['Icon']}.svg").is_file()
    if shutil.which("desktop-file-validate"):
        proc = subprocess.run(
            ["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_icons() -> None:
    root = ET.parse(PKG / "icons" / "defect-inspector.svg").getroot()
    assert root.tag.endswith("svg")
    for size in (48, 128, 256):
        head = (PKG / "icons" / f"defect-inspector-{size}.png").read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", head[16:24]) == (size, size)
    ico = (PKG / "icons" / "defect-inspector.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1)
    assert count >= 3


@pytest.mark.parametrize("prefix", [None, "/opt/lines/inspector"])
def test_install_sh_stages_bundle_desktop_entry_and_unit(tmp_path: Path, prefix: str | None) -> None:
    fake = tmp_path / "defect-inspector-0.0.0-linux-x86_64"
    (fake / "share").mkdir(parents=True)
    shutil.copy(PKG / "linux" / "install.sh", fake / "install.sh")
    for f in (DESKTOP, UNIT, PKG / "icons" / "defect-inspector.svg", *(PKG / "icons").glob("*.png")):
        shutil.copy(f, fake / "share" / f.name)
    (fake / "inspector").write_text("#!/bin/sh\necho fake\n", encoding="utf-8")
    (fake / "inspector").chmod(0o755)
    (fake / "VERSION").write_text("0.0.0\n", encoding="utf-8")
    stage = tmp_path / "stage"
    env = {**os.environ, "DESTDIR": str(stage)}
    if prefix:
        env["PREFIX"] = prefix
    proc = subprocess.run(
        ["bash", str(fake / "install.sh"), "--kiosk"], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    where = prefix or "/opt/defect-inspector"
    assert os.access(stage / where.lstrip("/") / "inspector", os.X_OK)
    assert os.readlink(stage / "usr/local/bin/inspector") == f"{where}/inspector"
    desktop = (stage / "usr/share/applications/defect-inspector.desktop").read_text(encoding="utf-8")
    assert f"Exec={where}/inspector gui" in desktop
    unit = (stage / "etc/systemd/system/defect-inspector-kiosk.service").read_text(encoding="utf-8")
    assert f"{where}/inspector gui" in unit
    assert (stage / "usr/share/icons/hicolor/256x256/apps/defect-inspector.png").is_file()
    assert (stage / "usr/share/icons/hicolor/scalable/apps/defect-inspector.svg").is_file()


# --- the bundle's definition ----------------------------------------------------------------


def test_bundle_carries_models_recipes_and_migrations() -> None:
    datas = {Path(src).resolve(): dest for src, dest in bundle.datas()}
    wanted = [
        *(ROOT / "resources" / "models").glob("*/model.onnx"),
        *(ROOT / "resources" / "models").glob("*/model.json"),
        *(ROOT / "resources" / "models").glob("*/golden/*"),
        *(ROOT / "resources" / "recipes").glob("*.json"),
        ROOT / "db" / "alembic.ini",
        ROOT / "db" / "migrations" / "env.py",
        ROOT / "db" / "migrations" / "script.py.mako",
        *(ROOT / "db" / "migrations" / "versions").glob("*.py"),
    ]
    assert len([w for w in wanted if "golden" in w.parts]) >= 8
    for path in wanted:
        where = str(path.parent.relative_to(ROOT))
        assert datas.get(path.resolve()) == where, f"{path} is not bundled in place"


def test_bundle_keeps_tensorflow_out_and_finds_runtime_imports() -> None:
    for name in ("tensorflow", "keras", "tf2onnx"):
        assert name in bundle.EXCLUDES
    hidden = set(bundle.hiddenimports())
    for name in (
        "inspector.services.engine.__main__",
        "inspector.core.tiling",
        "inspector.ui.app",
        "inspector.cli.main",
        "db.session",
        "inspector.core.synth",
        "sqlalchemy.dialects.sqlite.pysqlite",
        "sqlalchemy.dialects.postgresql.psycopg",
        "watchdog.observers.inotify",
        "alembic",
        "logging.config",
    ):
        assert name in hidden, name
    assert not any(h == "trainer.train" or h.startswith(("tensorflow", "keras")) for h in hidden)
    for name in hidden:
        if name.split(".")[0] in ("inspector", "db", "trainer"):
            assert importlib.util.find_spec(name) is not None, name
    assert bundle.version() == _pyproject()["project"]["version"]


def test_specs() -> None:
    import ast

    linux = (PKG / "inspector-linux.spec").read_text(encoding="utf-8")
    windows = (PKG / "inspector-windows.spec").read_text(encoding="utf-8")
    ast.parse(linux)
    ast.parse(windows)
    assert "linux-x86_64" in linux
    assert "windows-x64" in windows
    for spec in (linux, windows):
        assert "entry_inspector.py" in spec
        assert "bc.EXCLUDES" in spec
        assert "bc.datas()" in spec
    assert windows.count("EXE(") == 2
    assert "console=False" in windows
    assert "console=True" in windows
    assert (PKG / "icons" / "defect-inspector.ico").is_file()


def test_entry_runs_bundled_modules_as_children() -> None:
    """In the bundle sys.executable is the station: ``inspector -m MODULE`` runs the module."""
    entry = PKG / "entry_inspector.py"
    proc = subprocess.run(
        [sys.executable, str(entry), "-m", "inspector.services.engine", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "build" in proc.stdout
    proc = subprocess.run(
        [sys.executable, str(entry), "-m", "inspector.core.tiling"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, "argparse's exit code comes back"
    proc = subprocess.run(
        [sys.executable, str(entry), "-m", "no_such_module_here"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "not in this bundle" in proc.stderr


def test_entry_says_where_the_trainer_is(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    entry = _load("entry_inspector", PKG / "entry_inspector.py")

    def missing(*_a: object, **_k: object) -> None:
        raise ImportError("No module named trainer.__main__")

    monkeypatch.setattr(entry.runpy, "run_module", missing)
    monkeypatch.setattr(sys, "argv", ["inspector", "-m", "trainer", "train"])
    assert entry.main() == 2
    assert "packaging/docker/trainer" in capsys.readouterr().err


def test_resources_dir_in_a_frozen_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from inspector.core import paths

    monkeypatch.delenv("INSPECTOR_RESOURCES", raising=False)
    assert paths.resources_dir() == ROOT / "resources"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / "resources"
    assert paths.default_model() == tmp_path / "resources" / "models" / "demo" / "model.onnx"
    monkeypatch.setenv("INSPECTOR_RESOURCES", str(tmp_path / "elsewhere"))
    assert paths.resources_dir() == tmp_path / "elsewhere"


def test_station_requirements_are_the_station_deps() -> None:
    module = _load("station_requirements", PKG / "station_requirements.py")
    reqs = module.requirements(ROOT / "pyproject.toml")
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    assert reqs == project["dependencies"] + extras["postgres"] + extras["triton"]
    assert not any(r.startswith(("tensorflow", "tf2onnx", "keras")) for r in reqs)


@pytest.mark.parametrize(
    "script", ["build.sh", "ci-bundle-check.sh", "linux/install.sh", "docker/install-qt-runtime.sh"]
)
def test_scripts_parse_and_are_executable(script: str) -> None:
    path = PKG / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0


def test_ci_runs_the_bundle_check_after_the_tests() -> None:
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    tests = next(i for i, line in enumerate(lines) if "run-tests.sh" in line)
    check = next(i for i, line in enumerate(lines) if line.startswith("./packaging/ci-bundle-check.sh"))
    assert check > tests
