"""The Triton backend against a KServe v2 test server (tests/fakes/kserve_v2_server.py, ONNX Runtime
behind the real v2 HTTP protocol with binary tensors), and ``inspector export-triton``.

Loopback only; no Triton, GPU or network needed. The server serves the repository that
``export-triton`` wrote, so the exported config.pbtxt is what the server (and the backend) read.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("tritonclient.http", reason="the Triton backend needs tritonclient[http] (dev extra)")

from inspector.cli import exitcodes
from inspector.cli.main import main
from inspector.core.backends.base import BackendUnavailable, ModelLoadError
from inspector.core.backends.select import select_backend
from inspector.core.backends.triton_backend import (
    SHA_PARAMETER,
    TritonBackend,
    TritonRequestError,
    parse_triton_spec,
)
from inspector.core.batching import BatchPolicy
from inspector.core.model_card import load_card
from inspector.core.pipeline import Pipeline, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.types import Frame, InspectionResult, Verdict
from tests.fakes.kserve_v2_server import KServeV2Server, config_json, parse_pbtxt
from tests.tiny_model import synthetic_image

REPO_ROOT = Path(__file__).resolve().parents[1]
NAME = "tiny-test"  # the tiny model card's name: export-triton's default model name
RECIPE = Recipe(threshold=0.5, min_area_px=4, max_count=0)


# -- fixtures --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def repo(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("triton") / "models"
    assert main(["export-triton", str(tiny_model), "--repo", str(folder)]) == exitcodes.OK
    return folder


@pytest.fixture
def server(repo: Path) -> Iterator[KServeV2Server]:
    with KServeV2Server(repo) as s:
        yield s


def _spec(url: str, model: str = NAME, **opts: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in opts.items())
    return f"triton:{url}/{model}" + (f"?{query}" if query else "")


def _images(n: int) -> list[np.ndarray]:
    """Clean and defective parts of several sizes (the tiny model's input is native: any size)."""
    sizes = [(64, 64), (96, 128), (200, 150), (256, 256)]
    out = []
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        img, _ = synthetic_image(max(h, w), defect=bool(i % 3), seed=i, center=None)
        out.append(np.ascontiguousarray(img[:h, :w]))
    return out


def _frame(i: int, image: np.ndarray) -> Frame:
    return Frame(
        key=f"/parts/{i:03d}.png",
        image=image,
        source="test",
        captured_at=datetime.now(UTC),
        sha256=f"{i:064x}",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """The test server in its own process, so it can be killed like a crashed Triton."""

    def __init__(self, repo: Path, port: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.kserve_v2_server", "--repo", str(repo), "--port", str(port)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("listening "), line
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:  # else a later test's setup meets the unclosed pipe
            self.proc.stdout.close()


# -- export-triton -------------------------------------------------------------------------------------
def test_export_triton_writes_a_repository_whose_config_parses(repo: Path, tiny_model: Path) -> None:
    folder = repo / NAME
    assert (folder / "1" / "model.onnx").read_bytes() == tiny_model.read_bytes()
    cfg = config_json(parse_pbtxt((folder / "config.pbtxt").read_text(encoding="utf-8")))
    assert cfg["name"] == NAME
    assert cfg["platform"] == "onnxruntime_onnx"
    assert cfg["max_batch_size"] == 8
    assert [(t["name"], t["data_type"], t["dims"]) for t in cfg["input"]] == [
        ("image", "TYPE_FP32", [-1, -1, 1])
    ]
    assert [(t["name"], t["data_type"], t["dims"]) for t in cfg["output"]] == [
        ("mask", "TYPE_FP32", [-1, -1, 1])
    ]
    assert cfg["dynamic_batching"] == {"max_queue_delay_microseconds": 1000}
    assert cfg["instance_group"] == [{"count": 1, "kind": "KIND_AUTO"}]
    assert cfg["parameters"][SHA_PARAMETER] == {"string_value": load_card(tiny_model).sha256}
    assert not [p for p in repo.iterdir() if p.name.startswith(".")]  # no temp folder left behind


def test_export_triton_options_and_refusals(tiny_model: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "repo"
    args = [
        "export-triton",
        str(tiny_model),
        "--repo",
        str(out),
        "--name",
        "line model",
        "--max-batch",
        "4",
        "--instances",
        "2",
        "--kind",
        "gpu",
        "--gpus",
        "0,1",
    ]
    assert main(args) == exitcodes.OK
    cfg = config_json(parse_pbtxt((out / "line_model" / "config.pbtxt").read_text(encoding="utf-8")))
    assert cfg["max_batch_size"] == 4
    assert cfg["instance_group"] == [{"count": 2, "kind": "KIND_GPU", "gpus": [0, 1]}]
    assert main(args) == exitcodes.USAGE  # exists: not replaced without --force
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force", "--max-batch", "0"]) == exitcodes.OK
    cfg = config_json(parse_pbtxt((out / "line_model" / "config.pbtxt").read_text(encoding="utf-8")))
    assert cfg["max_batch_size"] == 0
    assert "dynamic_batching" not in cfg
    other = tmp_path / "other.onnx"
    other.write_bytes(tiny_model.read_bytes())
    card = json.loads(tiny_model.with_suffix(".json").read_text(encoding="utf-8"))
    other.with_suffix(".json").write_text(json.dumps(card | {"sha256": "0" * 64}), encoding="utf-8")
    assert main(["export-triton", str(other), "--repo", str(out)]) == exitcodes.USAGE  # card of another file
    assert "another model file" in capsys.readouterr().err


def test_export_triton_adds_a_parity_verified_tensorrt_plan(tiny_model: Path, tmp_path: Path, capsys) -> None:
    import shutil

    from inspector.core.backends.trt_engine_file import EngineSidecar, engine_path_for, write_sidecar

    model = tmp_path / "m" / "tiny.onnx"
    model.parent.mkdir()
    shutil.copy(tiny_model, model)
    shutil.copy(tiny_model.with_suffix(".json"), model.with_suffix(".json"))
    sha = load_card(model).sha256
    common = {
        "tensorrt_version": "10.3.0",
        "gpu_name": "NVIDIA L4",
        "compute_capability": "8.9",
        "max_batch": 4,
        "input_height": 64,
        "input_width": 64,
        "min_height": 32,
        "min_width": 32,
        "max_height": 1024,
        "max_width": 2048,
    }
    for precision, status, onnx_sha in (("fp16", "verified", sha), ("fp32", "verified", "f" * 64)):
        engine = engine_path_for(model, precision)
        engine.write_bytes(b"plan-" + precision.encode())
        sc = EngineSidecar(
            onnx_sha256=onnx_sha, precision=precision, status=status, parity={"passed": True}, **common
        )
        write_sidecar(sc, engine)
    out = tmp_path / "repo"
    assert main(["export-triton", str(model), "--repo", str(out)]) == exitcodes.OK
    captured = capsys.readouterr()
    assert "tiny.fp32.engine not exported: it was built from another ONNX file" in captured.err
    plan = out / f"{NAME}_trt_fp16"
    assert (plan / "1" / "model.plan").read_bytes() == b"plan-fp16"
    assert not (out / f"{NAME}_trt_fp32").exists()
    cfg = config_json(parse_pbtxt((plan / "config.pbtxt").read_text(encoding="utf-8")))
    assert cfg["platform"] == "tensorrt_plan"
    assert cfg["max_batch_size"] == 4  # the engine's profile allows no more
    assert cfg["instance_group"] == [{"count": 1, "kind": "KIND_GPU"}]
    params = {k: v["string_value"] for k, v in cfg["parameters"].items()}
    assert params[SHA_PARAMETER] == sha
    assert params["tensorrt_version"] == "10.3.0"
    assert (params["input_max_height"], params["input_max_width"]) == ("1024", "2048")


# -- the same contract as ONNX Runtime -------------------------------------------------------------------
def test_same_verdicts_as_onnxruntime(server: KServeV2Server, tiny_model: Path) -> None:
    card = load_card(tiny_model)
    ort = select_backend("onnxruntime", tiny_model, threads=1)
    triton = select_backend(_spec(server.url), tiny_model)
    assert isinstance(triton, TritonBackend)
    assert triton.info().name == "triton"
    assert triton.max_batch == 8
    images = _images(24)
    local, remote = Pipeline(ort, card, RECIPE), Pipeline(triton, card, RECIPE)
    agree, worst = 0, 0.0
    for i, img in enumerate(images):
        a, b = local.inspect(_frame(i, img)), remote.inspect(_frame(i, img))
        assert b.decision.verdict is not Verdict.ERROR, b.decision.reasons
        assert b.model_sha256 == card.sha256
        assert b.backend == "triton"
        agree += a.decision.verdict == b.decision.verdict and len(a.decision.regions) == len(
            b.decision.regions
        )
        worst = max(worst, float(np.abs(a.prob_map - b.prob_map).max()))
    assert agree == len(images)
    assert worst < 1e-5
    assert {r.decision.verdict for r in (local.inspect(_frame(0, img)) for img in images)} >= {
        Verdict.OK,
        Verdict.NG,
    }

    # per-image latency over loopback, for the record (pytest -s)
    timings = {}
    for size in (64, 512):
        img = synthetic_image(size, defect=True, seed=7)[0]
        for name, pipe in (("onnxruntime", local), ("triton", remote)):
            pipe.inspect(_frame(0, img))  # warm
            t0 = time.perf_counter()
            for _ in range(20):
                pipe.inspect(_frame(0, img))
            timings[(name, size)] = (time.perf_counter() - t0) / 20 * 1e3
    print(
        "\nper-image ms (inspect, 1 thread ORT / loopback Triton): "
        + ", ".join(f"{n} {s}x{s}: {ms:.2f}" for (n, s), ms in timings.items())
    )
    ort.close()
    triton.close()


def test_cli_inspect_and_selftest_run_through_the_server(
    server: KServeV2Server, tiny_model: Path, image_folder: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("INSPECTOR_BATCHING", "latency")  # one request per part
    db = tmp_path / "log.db"
    code = main(
        [
            "inspect",
            str(image_folder),
            "--model",
            str(tiny_model),
            "--backend",
            _spec(server.url),
            "--db",
            f"sqlite:///{db}",
            "--archive",
            str(tmp_path / "archive"),
            "--station",
            "st-t",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == exitcodes.DEFECTS, out
    assert "OK 3  NG 3  REVIEW 0  ERROR 0" in out
    assert "Triton" in out
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "select i.verdict, i.backend, m.sha256 from inspection i join model m on m.id = i.model_id"
        ).fetchall()
    assert len(rows) == 6
    assert {(b, s) for _, b, s in rows} == {("triton", load_card(tiny_model).sha256)}
    # the golden-sample self-test (2 samples + 2 output probes) and the 6 parts went through the server
    assert server.infer_count >= 6 + 2


# -- refused at load ---------------------------------------------------------------------------------------
def test_server_down_at_load_is_refused(tiny_model: Path, image_folder: Path, tmp_path: Path, capsys) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(BackendUnavailable, match="is not reachable"):
        select_backend(_spec(url), tiny_model)
    code = main(
        [
            "inspect",
            str(image_folder),
            "--model",
            str(tiny_model),
            "--backend",
            _spec(url),
            "--db",
            f"sqlite:///{tmp_path / 'l.db'}",
            "--no-progress",
        ]
    )
    assert code == exitcodes.USAGE
    err = capsys.readouterr().err
    assert f"Triton server {url}/{NAME} is not reachable" in err
    assert not (tmp_path / "l.db").exists()  # refused before anything was logged


def test_server_or_model_not_ready_is_refused(server: KServeV2Server, tiny_model: Path) -> None:
    server.ready = False
    with pytest.raises(BackendUnavailable, match="up but not ready"):
        select_backend(_spec(server.url), tiny_model)
    server.ready = True
    server.unready.add(NAME)
    with pytest.raises(BackendUnavailable, match=f"model '{NAME}' is not ready"):
        select_backend(_spec(server.url), tiny_model)
    server.unready.clear()
    with pytest.raises(BackendUnavailable, match="model 'nope' is not ready"):
        select_backend(_spec(server.url, "nope"), tiny_model)
    with pytest.raises(BackendUnavailable, match="the model name is missing"):
        select_backend(f"triton:{server.url}", tiny_model)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.replace('name: "image"', 'name: "input_1"'), "expected input 'image' and output 'mask'"),
        (lambda c: c.replace("data_type: TYPE_FP32", "data_type: TYPE_FP16", 1), "must be FP32 NHWC"),
        (lambda c: c.replace("dims: [ -1, -1, 1 ]", "dims: [ -1, -1, 3 ]", 1), "must be FP32 NHWC"),
        (lambda c: c.replace("dims: [ -1, -1, 1 ]", "dims: [ 32, -1, 1 ]", 1), "both fixed or both dynamic"),
        (lambda c: c.replace('string_value: "', 'string_value: "0', 1), "is not tiny.onnx"),
        (lambda c: c.replace('key: "onnx_sha256"', 'key: "note"'), "does not say which model file it is"),
    ],
    ids=["input-name", "dtype", "channels", "half-fixed", "sha256", "no-sha256"],
)
def test_metadata_mismatch_is_refused(
    tiny_model: Path, repo: Path, tmp_path: Path, edit, message: str
) -> None:
    import shutil

    bad = tmp_path / "repo"
    shutil.copytree(repo / NAME, bad / NAME)
    cfg = bad / NAME / "config.pbtxt"
    cfg.write_text(edit(cfg.read_text(encoding="utf-8")), encoding="utf-8")
    with KServeV2Server(bad) as s, pytest.raises(ModelLoadError, match=message):
        select_backend(_spec(s.url), tiny_model)


def test_spec_parsing() -> None:
    t = parse_triton_spec("triton:https://gpu-box:8443/triton/line_model?timeout=2.5&version=3")
    assert (t.address, t.ssl, t.model, t.version, t.timeout_s) == (
        "gpu-box:8443/triton",
        True,
        "line_model",
        "3",
        2.5,
    )
    for bad in ("triton:grpc://h:8001/m", "triton:http://h:8000/m?timeout=0", "triton:http://h:8000/m?x=1"):
        with pytest.raises(ValueError, match=bad.split("?")[0].split(":", 1)[1][:4]):
            parse_triton_spec(bad)
    with pytest.raises(SystemExit):
        main(["inspect", "demo", "--backend", "triton:http://h:8000/"])


def test_without_tritonclient_the_backend_says_what_to_install(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tritonclient.http", None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'tritonclient\[http\]'"):
        select_backend("triton:http://127.0.0.1:9/m", tiny_model)


# -- during the run: the server goes away, a request times out -------------------------------------------
def test_server_killed_mid_run_gives_error_rows_and_the_run_goes_on(
    repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    from db.session import open_db
    from db.writer import VerdictWriter
    from inspector.core.demo import make_source

    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(12):
        cv2.imwrite(str(folder / f"part_{i:02d}.png"), synthetic_image(64, defect=bool(i % 2), seed=i)[0])
    card = load_card(tiny_model)
    first = ServerProcess(repo)
    server = first
    backend = select_backend(_spec(first.url, timeout=5), tiny_model)
    pipeline = Pipeline(backend, card, RECIPE)
    expected = {
        f"part_{i:02d}.png": Pipeline(select_backend("onnxruntime", tiny_model, threads=1), card, RECIPE)
        .inspect(_frame(i, synthetic_image(64, defect=bool(i % 2), seed=i)[0]))
        .decision.verdict
        for i in range(12)
    }
    db = open_db(f"sqlite:///{tmp_path / 'log.db'}")
    writer = VerdictWriter(db, "st-t", flush_interval_s=0.0, recipes=[RECIPE])
    results: list[InspectionResult] = []

    def sink(result: InspectionResult) -> None:
        results.append(result)
        writer.submit(result)

    def turn(item: object) -> bool:  # called as each part is taken, before the model sees it
        nonlocal server
        k = int(Path(item.key).stem.split("_")[1])  # type: ignore[attr-defined]
        if k == 4:  # the server dies: parts 5 to 8 cannot be inspected
            first.kill()
        if k == 8:  # it is back (same address): parts 9 to 12 are inspected again
            server = ServerProcess(repo, first.port)
        return False

    try:
        t0 = time.perf_counter()
        summary = run_source(
            make_source(str(folder)),
            pipeline,
            sink,
            SimpleState(),
            already_done=turn,
            batching=BatchPolicy("latency"),
        )
        elapsed = time.perf_counter() - t0
    finally:
        server.kill()
        first.kill()
        writer.close()
        backend.close()
    names = [Path(r.frame.key).name for r in results]
    assert names == sorted(expected)  # every part has its one result, in order: the run went on
    assert summary.n_errors == 4
    for k, r in enumerate(results):
        if 4 <= k < 8:
            assert r.decision.verdict is Verdict.ERROR
            assert r.error_stage == "infer"
            assert any(f"Triton server {first.url}/{NAME}" in x for x in r.decision.reasons), (
                r.decision.reasons
            )
        else:
            assert r.decision.verdict is expected[names[k]], (k, r.decision.reasons)
    assert elapsed < 30  # a dead server is an immediate refusal, not a wait per part
    from db.history import count_history

    assert count_history(db) == 12
    assert count_history(db, verdict=Verdict.ERROR) == 4
    db.dispose()


def test_a_slow_server_times_out_into_an_error_verdict(repo: Path, tiny_model: Path) -> None:
    card = load_card(tiny_model)
    with KServeV2Server(repo) as s:
        backend = select_backend(_spec(s.url, timeout=0.5), tiny_model)  # load: no inference yet
        s.infer_delay_s = 2.0
        pipeline = Pipeline(backend, card, RECIPE)
        t0 = time.perf_counter()
        result = pipeline.inspect(_frame(0, synthetic_image(64, seed=1)[0]))
        waited = time.perf_counter() - t0
        assert result.decision.verdict is Verdict.ERROR
        assert result.error_stage == "infer"
        assert "timed out" in " ".join(result.decision.reasons)
        assert waited < 1.9  # the request's timeout, not the server's delay
        s.infer_delay_s = 0.0
        clean = synthetic_image(64, defect=False, seed=1)[0]
        assert pipeline.inspect(_frame(1, clean)).decision.verdict is Verdict.OK  # the next part: inspected
        s.unready.add(NAME)  # unloaded on the server: an error answer, not a mask
        with pytest.raises(TritonRequestError, match="is not ready"):
            backend.infer(np.zeros((1, 64, 64, 1), np.float32))
        backend.close()
