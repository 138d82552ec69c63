"""``python -m inspector.services.engine``: JSON-lines protocol and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes import support as S

REPO = Path(__file__).resolve().parents[1]


def _events(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_build_as_child_process_reports_json_lines(tmp_path):
    model = S.make_model(tmp_path / "m.onnx")
    env = {**os.environ, "PYTHONPATH": f"{S.FAKES}{os.pathsep}{REPO}", "FAKE_TENSORRT_VERSION": "10.3.0"}
    cmd = [
        sys.executable,
        "-m",
        "inspector.services.engine",
        "build",
        "--onnx",
        str(model),
        "--progress",
        "json",
        "--max-batch",
        "4",
        "--parity-count",
        "4",
    ]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    events = _events(res.stdout)
    assert events[0]["event"] == "progress"
    assert {e["event"] for e in events[:-1]} == {"progress"}
    done = events[-1]
    assert done["event"] == "done"
    assert done["sidecar"]["precision"] == "fp16"
    assert done["parity"]["passed"] is True
    assert json.loads((tmp_path / "m.fp16.engine.json").read_text())["status"] == "verified"
    check = subprocess.run(
        [sys.executable, "-m", "inspector.services.engine", "check", "--onnx", str(model)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0
    assert json.loads(check.stdout)["ok"] is True


def test_check_exit_code_and_reason(tmp_path, monkeypatch, capsys):
    from inspector.services.engine.__main__ import main

    S.install_fakes(monkeypatch)
    model = S.make_model(tmp_path / "m.onnx")
    assert main(["check", "--onnx", str(model)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "ok": False,
        "problem": "engine_missing",
        "reason": out["reason"],
        "engine": str(tmp_path / "m.fp16.engine"),
    }


def test_build_errors_give_exit_codes(tmp_path, monkeypatch, capsys):
    from inspector.services.engine.__main__ import main

    S.install_fakes(monkeypatch)
    bad = S.make_model(tmp_path / "bad.onnx", bad_ops=("FancyOp",))
    assert main(["build", "--onnx", str(bad), "--progress", "json"]) == 4
    err = _events(capsys.readouterr().out)[-1]
    assert err["event"] == "error"
    assert err["code"] == "build_failed"
    assert "FancyOp" in err["message"]

    S.install_fakes(monkeypatch, devices=0)
    assert main(["build", "--onnx", str(bad), "--progress", "json"]) == 3
    assert _events(capsys.readouterr().out)[-1]["code"] == "unavailable"


def test_trt11_fp16_refusal_through_cli(tmp_path, monkeypatch, capsys):
    from inspector.services.engine.__main__ import main

    S.install_fakes(monkeypatch, "11.0.0")
    S.block_modules(
        monkeypatch, "onnxconverter_common", "modelopt", "modelopt.onnx", "modelopt.onnx.autocast"
    )
    model = S.make_model(tmp_path / "m.onnx")
    assert main(["build", "--onnx", str(model), "--progress", "json"]) == 4
    assert "needs an FP16 ONNX" in _events(capsys.readouterr().out)[-1]["message"]
    assert main(["build", "--onnx", str(model), "--precision", "fp32", "--progress", "json"]) == 0


def test_parity_failure_exit_code(tmp_path, monkeypatch, capsys):
    import inspector.services.engine.parity as parity
    from inspector.services.engine.__main__ import main

    S.install_fakes(monkeypatch)
    model = S.make_model(tmp_path / "m.onnx")
    inverse = S.make_model(tmp_path / "inv.onnx", sign=-1.0)
    real_ref = parity.onnxruntime_reference
    # the reference comes from another model, as if the engine computed something else
    monkeypatch.setattr(parity, "onnxruntime_reference", lambda p, x, batch=8: real_ref(inverse, x, batch))
    assert main(["build", "--onnx", str(model), "--progress", "json", "--parity-count", "4"]) == 5
    assert _events(capsys.readouterr().out)[-1]["code"] == "parity_failed"
    assert not (tmp_path / "m.fp16.engine").exists()


def test_bench_prints_both_backends(tmp_path, monkeypatch, capsys):
    from inspector.services.engine.__main__ import main

    S.install_fakes(monkeypatch)
    model = S.make_model(tmp_path / "m.onnx")
    assert main(["build", "--onnx", str(model), "--parity-count", "2"]) == 0
    capsys.readouterr()
    assert main(["bench", "--onnx", str(model), "--batches", "1", "2", "--iterations", "5"]) == 0
    rows = [e for e in _events(capsys.readouterr().out) if e["event"] == "bench"]
    assert [r["batch"] for r in rows] == [1, 2]
    assert rows[0]["tensorrt"]["name"].startswith("TensorRT 10.3 FP16")
    assert rows[0]["onnxruntime"]["images_per_s"] > 0


def test_bench_table_format(tmp_path, monkeypatch, capsys):
    from inspector.services.engine.__main__ import main

    S.install_fakes(monkeypatch)
    model = S.make_model(tmp_path / "m.onnx")
    assert main(["build", "--onnx", str(model), "--precision", "fp32", "--parity-count", "2"]) == 0
    capsys.readouterr()
    args = ["bench", "--onnx", str(model), "--precision", "fp32", "--batches", "1", "8", "--iterations", "3"]
    assert main([*args, "--format", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["backend", "batch", "median", "ms", "p90", "ms", "images/s"]
    assert len(lines) == 1 + 2 * 3
    assert lines[1].startswith("TensorRT 10.3 FP32 on NVIDIA L4 (sm_89)")
    assert lines[3].rstrip().endswith("x")
