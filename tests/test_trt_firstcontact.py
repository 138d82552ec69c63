"""Issue 14: the TensorRT path, ready for its first contact with a GPU.

One section per finding; the fake tensorrt / pycuda behave like the real bindings where it
matters (each such test names the header or binding source it pins).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core.backends.base import BackendUnavailable, ModelLoadError
from tests.fakes import support as S

REPO = Path(__file__).resolve().parents[1]


def _events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def _sensitive_model(path: Path, card_hw: tuple[int, int] = (32, 48)) -> Path:
    """A model whose activations carry a large offset: 1024 + image, then a 3x3 mean with bias -1024.5,
    x64, sigmoid. In float32 the image survives (ulp at 1024 is 2^-13); in float16 or TF32 the ulp at
    1024 is 1.0 and the image is rounded away, so its masks change: the case parity must catch."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dims = ["N", "H", "W", 1]
    inits = [
        numpy_helper.from_array(np.array(1024.0, np.float32), "offset"),
        numpy_helper.from_array(np.full((1, 1, 3, 3), 1.0 / 9.0, np.float32), "w"),
        numpy_helper.from_array(np.array([-1024.5], np.float32), "b"),
        numpy_helper.from_array(np.array(64.0, np.float32), "gain"),
    ]
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Add", ["nchw", "offset"], ["shifted"]),
        helper.make_node("Conv", ["shifted", "w", "b"], ["mean"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Mul", ["mean", "gain"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["prob"]),
        helper.make_node("Transpose", ["prob"], ["mask"], perm=[0, 2, 3, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "sensitive",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, dims)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    card = {"name": path.stem, "input_height": card_hw[0], "input_width": card_hw[1], "threshold": 0.5}
    path.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    return path


def _set_card(model: Path, **fields: object) -> None:
    card_path = model.with_suffix(".json")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card.update(fields)
    card_path.write_text(json.dumps(card), encoding="utf-8")


def _write_images(folder: Path, n: int, hw: tuple[int, int] = (32, 48), seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, img in enumerate(S.images(n, *hw, seed=seed)):
        p = folder / f"part_{i:03d}.png"
        cv2.imwrite(str(p), (img[..., 0] * 255).astype(np.uint8))
        out.append(p)
    return out


# ================================================================ 1. CLI: every failure has its exit code
def _boom(*_a: object, **_k: object) -> None:
    raise RuntimeError("IBuilderConfig::setMemoryPoolLimit: Error Code 3: API Usage Error")


def test_build_runtime_error_from_the_bindings_is_exit_4_with_an_error_event(tmp_path, monkeypatch, capsys):
    from inspector.services.engine.__main__ import main

    trt, _ = S.install_fakes(monkeypatch)
    monkeypatch.setattr(trt.IBuilderConfig, "set_memory_pool_limit", _boom)
    model = S.make_model(tmp_path / "m.onnx")
    assert main(["build", "--onnx", str(model), "--progress", "json"]) == 4  # not 1 ("not usable")
    err = _events(capsys.readouterr().out)[-1]
    assert (err["event"], err["code"], err["error_type"]) == ("error", "build_failed", "RuntimeError")
    assert "setMemoryPoolLimit" in err["message"]


def test_build_type_error_from_the_bindings_is_exit_4(tmp_path, monkeypatch, capsys):
    """pybind11 raises TypeError for a binding that got the wrong arguments."""
    from inspector.services.engine.__main__ import main

    trt, _ = S.install_fakes(monkeypatch)

    def incompatible(*_a, **_k):
        raise TypeError("create_network(): incompatible function arguments")

    monkeypatch.setattr(trt.Builder, "create_network", incompatible)
    model = S.make_model(tmp_path / "m.onnx")
    assert main(["build", "--onnx", str(model), "--progress", "json"]) == 4
    assert _events(capsys.readouterr().out)[-1]["error_type"] == "TypeError"


def test_build_child_process_never_ends_in_a_traceback(tmp_path):
    """As the GUI runs it: a RuntimeError from the bindings gives exit 4 and a JSON error event."""
    model = S.make_model(tmp_path / "m.onnx")
    code = (
        "import sys, tensorrt\n"
        "def boom(*a, **k):\n"
        "    raise RuntimeError('binding failed')\n"
        "tensorrt.IBuilderConfig.set_memory_pool_limit = boom\n"
        "from inspector.services.engine.__main__ import main\n"
        f"sys.exit(main(['build', '--onnx', {str(model)!r}, '--progress', 'json']))\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{S.FAKES}{os.pathsep}{REPO}", "FAKE_TENSORRT_VERSION": "10.3.0"}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 4, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    last = _events(res.stdout)[-1]
    assert (last["event"], last["code"], last["message"]) == ("error", "build_failed", "binding failed")


def test_bench_maps_binding_errors_and_refusals_to_exit_codes(tmp_path, monkeypatch, capsys):
    from inspector.services.engine.__main__ import main

    trt, _ = S.install_fakes(monkeypatch)
    model = S.make_model(tmp_path / "m.onnx")
    bench = ["bench", "--onnx", str(model), "--precision", "fp32", "--batches", "1", "--iterations", "1"]
    # no engine: check_engine refuses, as the station would -> 1 "not usable", with its reason
    assert main(bench) == 1
    err = _events(capsys.readouterr().out)[-1]
    assert (err["event"], err["code"]) == ("error", "not_usable")
    assert "no TensorRT engine" in err["message"]
    # an engine built without its parity check is not usable either
    assert main(["build", "--onnx", str(model), "--precision", "fp32", "--skip-parity"]) == 0
    capsys.readouterr()
    assert main(bench) == 1
    assert "no passed parity check" in _events(capsys.readouterr().out)[-1]["message"]
    assert main(["build", "--onnx", str(model), "--precision", "fp32", "--parity-count", "2"]) == 0
    capsys.readouterr()

    def failing_execute(self, stream_handle):
        raise RuntimeError("Cuda Runtime (an illegal memory access was encountered)")

    monkeypatch.setattr(trt.IExecutionContext, "execute_async_v3", failing_execute)
    assert main(bench) == 4  # a bare RuntimeError escaped as a traceback before
    err = _events(capsys.readouterr().out)[-1]
    assert (err["code"], err["error_type"]) == ("bench_failed", "RuntimeError")
    assert "illegal memory access" in err["message"]
    S.install_fakes(monkeypatch, devices=0)
    assert main(bench) == 3
    assert _events(capsys.readouterr().out)[-1]["code"] == "unavailable"


# ================================================================ 2. parity on real images, or not used
def test_engine_without_a_passed_parity_check_is_refused_and_the_station_falls_back(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.core.backends.select import select_backend
    from inspector.core.backends.trt_engine_file import check_engine, read_sidecar, write_sidecar
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    sc = build_engine(model, precision="fp16", skip_parity=True)
    assert (sc.status, sc.parity) == ("built", None)
    st = check_engine(model, "fp16")
    assert (st.ok, st.problem) == (False, "not_verified")
    assert "no passed parity check" in st.reason
    be = select_backend("auto", model)
    try:
        assert be.info().name == "onnxruntime"
        assert "TensorRT not used" in be.info().notice
        assert "parity" in be.info().notice
    finally:
        be.close()
    with pytest.raises(BackendUnavailable, match="parity"):
        select_backend("tensorrt", model)
    # a hand-edited "verified" without a passed check is still refused
    engine = model.with_name("m.fp16.engine")
    write_sidecar(sc.model_copy(update={"status": "verified"}), engine)
    assert check_engine(model, "fp16").problem == "not_verified"
    failed = {"passed": False, "reason": "mask Dice 0.5 < 0.99"}
    write_sidecar(sc.model_copy(update={"status": "verified", "parity": failed}), engine)
    assert check_engine(model, "fp16").problem == "not_verified"
    # the parity check itself may run it (that is how an engine gets verified)
    assert check_engine(model, "fp16", require_parity=False).ok
    assert read_sidecar(engine).status == "verified"


def test_build_checks_parity_on_the_images_given_and_records_them(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    shots = _write_images(tmp_path / "line", 5, (40, 60))  # other size than the card: resized as it says
    sc = build_engine(
        model, precision="fp16", parity_images=[*shots[:3], tmp_path / "line"], parity_source="logged"
    )
    assert sc.status == "verified"
    assert sc.parity["n_images"] == 5  # the folder adds the two files not named yet, each once
    assert sc.parity["images"] == "5 images (logged)"
    with pytest.raises(ValueError, match="neither an image file nor a folder"):
        build_engine(model, precision="fp16", parity_images=[tmp_path / "nope.png"])


def test_parity_inputs_cut_the_engine_size_from_larger_images_for_native_cards(tmp_path):
    from inspector.core.model_card import load_card
    from inspector.services.engine.parity import parity_inputs

    model = S.make_model(tmp_path / "m.onnx", card_hw=(32, 48))
    _set_card(model, resize="native", multiple=16)
    shots = _write_images(tmp_path / "big", 2, (100, 120)) + _write_images(tmp_path / "small", 1, (20, 30))
    x, what = parity_inputs(load_card(model), (32, 48), shots, 8)
    assert x.shape == (3, 32, 48, 1)
    assert what == "3 images"


def test_a_too_perturbed_fp16_engine_fails_parity_and_is_never_used(tmp_path, monkeypatch):
    """The fake FP16 engine stores activations as float16: on a model whose activations carry a
    large offset, that changes the masks, the parity gate sees it, deletes the engine, and the
    station refuses it with the reason and runs ONNX Runtime."""
    S.install_fakes(monkeypatch)
    from inspector.core.backends.select import select_backend
    from inspector.core.backends.trt_engine_file import check_engine, read_sidecar
    from inspector.services.engine.build import build_engine
    from inspector.services.engine.parity import ParityFailed

    model = _sensitive_model(tmp_path / "m.onnx")
    shots = _write_images(tmp_path / "line", 8)
    with pytest.raises(ParityFailed) as info:
        build_engine(model, precision="fp16", parity_images=shots)
    report = info.value.report
    assert not report.passed
    assert report.dice_agreement < 0.9
    engine = model.with_name("m.fp16.engine")
    assert not engine.exists(), "an engine that failed parity is deleted"
    assert read_sidecar(engine).status == "parity_failed"
    st = check_engine(model, "fp16")
    assert (st.ok, st.problem) == (False, "parity_failed")
    be = select_backend("auto", model, precision="fp16")
    try:
        assert be.info().name == "onnxruntime"
        assert "failed its parity check" in be.info().notice
    finally:
        be.close()
    # the same model in true FP32 passes: the gate measures precision, not the model
    sc = build_engine(model, precision="fp32", parity_images=shots)
    assert sc.parity["dice_agreement"] == 1.0
    assert sc.parity["max_abs_diff"] < 1e-5


def test_cli_build_of_a_too_perturbed_engine_exits_5(tmp_path, monkeypatch, capsys):
    from inspector.services.engine.__main__ import main

    S.install_fakes(monkeypatch)
    model = _sensitive_model(tmp_path / "m.onnx")
    folder = tmp_path / "line"
    _write_images(folder, 6)
    assert main(["build", "--onnx", str(model), "--images", str(folder), "--progress", "json"]) == 5
    err = _events(capsys.readouterr().out)[-1]
    assert err["code"] == "parity_failed"
    assert err["parity"]["images"] == "6 images"
    assert not (tmp_path / "m.fp16.engine").exists()


@pytest.mark.parametrize("resize", ["resize", "pad", "native"])
def test_an_engine_matches_the_card_it_was_built_for(tmp_path, monkeypatch, resize):
    S.install_fakes(monkeypatch)
    from inspector.core.backends.trt_engine_file import check_engine
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx", card_hw=(32, 48))
    _set_card(model, resize=resize, multiple=16)
    build_engine(model, precision="fp32", max_side=96, parity_count=2)
    st = check_engine(model, "fp32")
    assert st.ok, st.reason


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"input_height": 64, "input_width": 64}, "not what the model card asks for"),
        ({"resize": "pad"}, "made for a 'native' card, the card now says 'pad'"),
        ({"multiple": 8}, "not what the model card asks for"),
    ],
)
def test_card_changed_since_the_build_is_a_profile_mismatch(tmp_path, monkeypatch, change, why):
    S.install_fakes(monkeypatch)
    from inspector.core.backends.select import select_backend
    from inspector.core.backends.trt_engine_file import check_engine
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx", card_hw=(32, 48))
    _set_card(model, resize="native", multiple=16)
    build_engine(model, precision="fp32", max_side=96, parity_count=2)
    _set_card(model, **change)
    st = check_engine(model, "fp32")
    assert (st.ok, st.problem) == (False, "profile_mismatch")
    assert why in st.reason
    assert "rebuild needed" in st.reason
    be = select_backend("auto", model, precision="fp32")
    try:
        assert be.info().name == "onnxruntime"
        assert why in be.info().notice
    finally:
        be.close()


def test_dims_fixed_in_the_onnx_still_win_over_the_card(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.core.backends.trt_engine_file import check_engine
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx", hw=(16, 24), card_hw=(512, 512))
    sc = build_engine(model, precision="fp32", max_batch=4, parity_count=2)
    assert sc.onnx_hw == (16, 24)
    assert check_engine(model, "fp32").ok


def test_sidecar_from_before_ranges_is_refused_for_a_native_card(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.core.backends.trt_engine_file import check_engine, read_sidecar, sidecar_path_for
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx", card_hw=(32, 48))
    _set_card(model, resize="native", multiple=16)
    build_engine(model, precision="fp32", max_side=96, parity_count=2)
    engine = model.with_name("m.fp32.engine")
    old = json.loads(sidecar_path_for(engine).read_text())
    for k in ("min_height", "min_width", "max_height", "max_width", "resize", "onnx_hw", "compute_precision"):
        old.pop(k)
    sidecar_path_for(engine).write_text(json.dumps(old))
    assert read_sidecar(engine).max_hw == (32, 48)
    assert check_engine(model, "fp32").problem == "profile_mismatch"


def test_unreadable_card_is_said(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.core.backends.trt_engine_file import check_engine
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    build_engine(model, precision="fp32", parity_count=2)
    model.with_suffix(".json").write_text("{broken")
    st = check_engine(model, "fp32")
    assert (st.ok, st.problem) == (False, "card_invalid")
    assert "not valid JSON" in st.reason


# ---------------------------------------------------------------- the GUI's rebuild: real images
def _log_rows(db, folder: Path, n: int) -> list[Path]:
    from tests.review_helpers import log_inspection

    paths = []
    for i in range(n):
        prob = np.zeros((32, 48), np.float32)
        if i % 2 == 0:
            prob[4:12, 4:12] = 0.95  # NG
        img = (S.images(1, 32, 48, seed=i)[0, ..., 0] * 255).astype(np.uint8)
        log_inspection(db, img, prob, folder, i, archive=i % 3 == 0)
        paths.append(folder / f"part_{i:03d}.png")
    return paths


@pytest.fixture
def station_db(tmp_path):
    from db.session import open_db

    d = open_db(f"sqlite:///{tmp_path}/t.db")
    yield d
    d.dispose()


def test_logged_images_of_the_product_newest_first_defective_and_clean_in_turn(tmp_path, station_db):
    from inspector.services.parity_images import logged_images, rebuild_parity_images
    from tests.review_helpers import RECIPE

    paths = _log_rows(station_db, tmp_path / "line", 6)
    paths[5].unlink()  # gone from disk: skipped
    got = logged_images(station_db, "test", RECIPE.name, limit=16)
    assert got == [paths[4], paths[3], paths[2], paths[1], paths[0]]
    assert logged_images(station_db, "test", "other-product") == []
    assert logged_images(station_db, "other-station", RECIPE.name) == []
    images, what = rebuild_parity_images(station_db, "test", RECIPE.name, limit=3)
    assert images == [paths[4], paths[3], paths[2]]
    assert what == f"3 recent logged images of recipe '{RECIPE.name}' on station 'test'"


def test_validation_images_top_up_the_logged_ones(tmp_path, station_db):
    from inspector.services.parity_images import rebuild_parity_images
    from tests.review_helpers import RECIPE
    from trainer.data.synth import write_synthetic

    write_synthetic(tmp_path / "data", 6, seed=3, size=32, p_defective=0.5)
    logged = _log_rows(station_db, tmp_path / "line", 2)
    images, what = rebuild_parity_images(station_db, "test", RECIPE.name, (tmp_path / "data", None), 5)
    assert images[:2] == [logged[0], logged[1]]
    assert len(images) == 5
    assert all(p.is_relative_to(tmp_path / "data") for p in images[2:])
    assert what.endswith("+ 3 validation images")
    images, what = rebuild_parity_images(station_db, "nobody", RECIPE.name, (tmp_path / "nope", None), 5)
    assert images == []
    assert "validation images unavailable" in what


def test_gui_rebuild_passes_the_products_logged_images_to_the_build(qtbot, tmp_path, station_db, monkeypatch):
    """The real child process (fake TensorRT on its path) verifies the engine on the logged images."""
    from PySide6.QtCore import QSettings

    from inspector.core.backends.trt_engine_file import read_sidecar
    from inspector.core.model_card import load_card
    from inspector.ui.context import AppContext, ModelState
    from inspector.ui.release_panel import ReleasePanel
    from tests.review_helpers import RECIPE

    monkeypatch.setenv("PYTHONPATH", f"{S.FAKES}{os.pathsep}{REPO}")
    monkeypatch.setenv("FAKE_TENSORRT_VERSION", "10.3.0")
    model = S.make_model(tmp_path / "prod" / "model.onnx")
    logged = _log_rows(station_db, tmp_path / "line", 4)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    ctx = AppContext(station_db, "test", settings, RECIPE, ModelState(model, load_card(model)))
    rel = ReleasePanel(ctx)
    qtbot.addWidget(rel)
    commands: list[list[str]] = []
    real_start = rel.proc.start
    monkeypatch.setattr(rel.proc, "start", lambda cmd, cwd=None: (commands.append(cmd), real_start(cmd, cwd)))
    rel.build_engine(model)
    assert rel.engine_status == "building"
    qtbot.waitUntil(lambda: rel.engine_status not in ("", "building"), timeout=60000)
    assert rel.engine_status == "built", rel.state_label.text()
    cmd = commands[0]
    images = cmd[cmd.index("--images") + 1 : cmd.index("--images-source")]
    assert images == [str(p) for p in (logged[2], logged[3], logged[0], logged[1])]
    sc = read_sidecar(model.with_name("model.fp16.engine"))
    assert sc.parity_passed
    assert sc.parity["images"].startswith("4 images (4 recent logged images of recipe")


def test_gui_rebuild_without_real_images_says_synthetic(qtbot, tmp_path, station_db, monkeypatch):
    from PySide6.QtCore import QSettings

    from inspector.core.model_card import load_card
    from inspector.ui.context import AppContext, ModelState
    from inspector.ui.release_panel import ReleasePanel
    from tests.review_helpers import RECIPE

    model = S.make_model(tmp_path / "prod" / "model.onnx")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    ctx = AppContext(station_db, "test", settings, RECIPE, ModelState(model, load_card(model)))
    rel = ReleasePanel(ctx)
    qtbot.addWidget(rel)
    commands: list[list[str]] = []
    logs: list[str] = []
    rel.log.connect(logs.append)
    monkeypatch.setattr(rel.proc, "start", lambda cmd, cwd=None: commands.append(cmd))
    rel.build_engine(model)
    qtbot.waitUntil(lambda: bool(commands), timeout=10000)
    assert "--images" not in commands[0]
    assert any("synthetic textures" in line for line in logs)


# ================================================================ 3. fp32 means fp32: TF32 cleared
@pytest.mark.parametrize("version", ["10.3.0", "11.1.0"])
def test_fp32_build_clears_tf32_and_records_the_real_precision(tmp_path, monkeypatch, version):
    S.install_fakes(monkeypatch, version)
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    sc = build_engine(model, precision="fp32", parity_count=2)
    assert (sc.precision, sc.compute_precision, sc.builder["tf32"]) == ("fp32", "fp32", "cleared")
    with TensorRTBackend(precision="fp32") as be:
        be.load(model)
        x = S.images(3)
        np.testing.assert_array_equal(be.infer(x), S.ort_run(model, x))  # bit-exact: no TF32 anywhere
        assert " FP32 on " in be.info().display


def test_tf32_that_cannot_be_cleared_is_recorded_as_tf32(tmp_path, monkeypatch):
    trt, _ = S.install_fakes(monkeypatch)
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.core.backends.trt_engine_file import check_engine
    from inspector.services.engine.build import build_engine

    monkeypatch.setattr(trt.IBuilderConfig, "clear_flag", lambda self, flag: None)
    model = S.make_model(tmp_path / "m.onnx")
    sc = build_engine(model, precision="fp32", parity_count=4)
    assert (sc.precision, sc.compute_precision) == ("fp32", "tf32")
    assert sc.builder["tf32"] == "on (could not be cleared)"
    assert 0 < sc.parity["max_abs_diff"] < 1e-2  # TF32 shows, and stays within the gate here
    assert "TensorRT 10.3.0 TF32 on" in check_engine(model, "fp32").reason
    with TensorRTBackend(precision="fp32") as be:
        be.load(model)
        assert be.info().display == "TensorRT 10.3 TF32 on NVIDIA L4 (sm_89)"


def test_tf32_left_on_fails_parity_on_a_sensitive_model(tmp_path, monkeypatch):
    trt, _ = S.install_fakes(monkeypatch)
    from inspector.services.engine.build import build_engine
    from inspector.services.engine.parity import ParityFailed

    model = _sensitive_model(tmp_path / "m.onnx")
    shots = _write_images(tmp_path / "line", 6)
    assert build_engine(model, precision="fp32", parity_images=shots).parity_passed  # TF32 cleared
    monkeypatch.setattr(trt.IBuilderConfig, "clear_flag", lambda self, flag: None)
    with pytest.raises(ParityFailed, match="mask Dice"):
        build_engine(model, precision="fp32", parity_images=shots)


# ============================================================= 4. TensorRT 11 FP16: ModelOpt AutoCast first
def _stand_in_converters(monkeypatch, calls: list[tuple[str, dict]], autocast: bool, converter: bool):
    import onnx

    def convert_to_mixed_precision(**kwargs):
        calls.append(("modelopt", kwargs))
        return onnx.load(kwargs["onnx_path"])

    def convert_float_to_float16(model, keep_io_types=False):
        calls.append(("onnxconverter", {"keep_io_types": keep_io_types}))
        return model

    names = ("modelopt", "modelopt.onnx", "modelopt.onnx.autocast")
    if autocast:
        for name in names:
            mod = types.ModuleType(name)
            monkeypatch.setitem(sys.modules, name, mod)
        sys.modules["modelopt.onnx.autocast"].convert_to_mixed_precision = convert_to_mixed_precision
    else:
        S.block_modules(monkeypatch, *names)
    if converter:
        fake = types.ModuleType("onnxconverter_common")
        fake.float16 = types.SimpleNamespace(convert_float_to_float16=convert_float_to_float16)
        monkeypatch.setitem(sys.modules, "onnxconverter_common", fake)
    else:
        S.block_modules(monkeypatch, "onnxconverter_common")


def test_trt11_fp16_tries_modelopt_autocast_first(tmp_path, monkeypatch):
    from inspector.services.engine.fp16 import convert_to_fp16

    calls: list[tuple[str, dict]] = []
    _stand_in_converters(monkeypatch, calls, autocast=True, converter=True)
    model = S.make_model(tmp_path / "m.onnx")
    _, how = convert_to_fp16(model)
    assert how == "modelopt-autocast"
    # the call NVIDIA's migration guide shows: path, fp16, float32 I/O kept
    assert calls == [
        ("modelopt", {"onnx_path": str(model), "low_precision_type": "fp16", "keep_io_types": True})
    ]


def test_trt11_fp16_falls_back_to_onnxconverter_common(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch, "11.1.0")
    from inspector.services.engine.build import build_engine

    calls: list[tuple[str, dict]] = []
    _stand_in_converters(monkeypatch, calls, autocast=False, converter=True)
    sc = build_engine(S.make_model(tmp_path / "m.onnx"), precision="fp16", parity_count=2)
    assert calls == [("onnxconverter", {"keep_io_types": True})]
    assert sc.builder["fp16"] == "fp16 ONNX via onnxconverter-common"


def test_trt11_fp16_without_either_names_both_with_install_hints(tmp_path, monkeypatch):
    from inspector.services.engine.fp16 import Fp16ConversionUnavailable, convert_to_fp16

    _stand_in_converters(monkeypatch, [], autocast=False, converter=False)
    with pytest.raises(Fp16ConversionUnavailable) as info:
        convert_to_fp16(S.make_model(tmp_path / "m.onnx"))
    msg = str(info.value)
    assert msg.index("ModelOpt AutoCast") < msg.index("onnxconverter-common")
    assert "pip install nvidia-modelopt" in msg
    assert "pip install onnxconverter-common" in msg
    assert "--precision fp32" in msg


# ================================================================ 5. the fakes behave like the real bindings
def test_strongly_typed_flag_values_like_the_real_headers(monkeypatch):
    """NvInfer.h NetworkDefinitionCreationFlag: 10.x has kEXPLICIT_BATCH = 0, kSTRONGLY_TYPED = 1;
    11.x dropped kEXPLICIT_BATCH and has kSTRONGLY_TYPED = 0 (deprecated: always strongly typed)."""
    trt, _ = S.install_fakes(monkeypatch, "10.3.0")
    assert (
        int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH),
        int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED),
    ) == (0, 1)
    trt, _ = S.install_fakes(monkeypatch, "11.1.0")
    assert int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) == 0
    assert not hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH")
    from inspector.services.engine.build import _network_flags

    assert _network_flags(trt, "fp32") == 1  # 1 << kSTRONGLY_TYPED, not 2


@pytest.mark.parametrize("name", ["BF16", "FP8", "INT4", "FP4", "E8M0"])
def test_nptype_raises_type_error_like_the_wheel(monkeypatch, name):
    """tensorrt/__init__.py (python/packaging/bindings_wheel) nptype: no numpy equivalent ->
    TypeError("Could not resolve TensorRT datatype to an equivalent numpy datatype.")."""
    trt, _ = S.install_fakes(monkeypatch)
    with pytest.raises(TypeError, match="Could not resolve TensorRT datatype"):
        trt.nptype(trt.DataType[name])


def test_datatype_values_and_numpy_mapping_like_the_real_headers(monkeypatch):
    """NvInferRuntimeBase.h enum class DataType: kFLOAT 0 ... kINT64 8, kINT4 9, kFP4 10, kE8M0 11;
    the wheel's nptype maps float32/float16/int8/int32/int64/bool/uint8."""
    trt, _ = S.install_fakes(monkeypatch, "11.1.0")
    assert [(d.name, int(d)) for d in trt.DataType][-4:] == [
        ("INT64", 8),
        ("INT4", 9),
        ("FP4", 10),
        ("E8M0", 11),
    ]
    assert trt.nptype(trt.float32) is np.float32
    assert trt.nptype(trt.DataType.HALF) is np.float16
    assert trt.nptype(trt.DataType.BOOL) is np.bool_
    assert trt.nptype(trt.DataType.INT64) is np.int64
    assert trt.bfloat16 is trt.DataType.BF16


def test_no_platform_has_attributes_on_tensorrt_11(monkeypatch):
    """TensorRT 11 removed IBuilder::platformHasFastFp16 / platformHasFastInt8 / platformHasTf32
    (10.x-to-11.x migration guide, removed APIs); 10.x still has them."""
    trt, _ = S.install_fakes(monkeypatch, "11.1.0")
    assert [a for a in dir(trt.Builder) if a.startswith("platform_has")] == []
    trt, _ = S.install_fakes(monkeypatch, "10.3.0")
    assert {"platform_has_fast_fp16", "platform_has_tf32"} <= set(dir(trt.Builder))


@pytest.mark.parametrize("version", ["10.3.0", "11.1.0"])
def test_tf32_flag_is_on_by_default_like_the_real_builder(monkeypatch, version):
    """NvInfer.h BuilderFlag::kTF32 (= 6 in 10.x): "Allow (but not require) computations on tensors of
    type DataType::kFLOAT to use TF32 ... Enabled by default."; not among the flags 11.x removed."""
    trt, _ = S.install_fakes(monkeypatch, version)
    config = trt.Builder(trt.Logger()).create_builder_config()
    assert config.get_flag(trt.BuilderFlag.TF32)
    if version.startswith("10"):
        assert int(trt.BuilderFlag.TF32) == 6
    config.clear_flag(trt.BuilderFlag.TF32)
    assert not config.get_flag(trt.BuilderFlag.TF32)


def test_fake_fp16_and_tf32_perturb_like_reduced_precision(tmp_path, monkeypatch):
    """FP16 rounds activations to float16 (relative error ~2^-11), TF32 rounds Conv inputs to a
    10-bit mantissa; FP32 is bit-exact. Measured on the logits (no sigmoid saturation)."""
    import onnx

    trt, _ = S.install_fakes(monkeypatch)
    _reduced_precision, tf32_round = trt._reduced_precision, trt.tf32_round

    x = np.linspace(-3, 3, 1001, dtype=np.float32)
    assert np.array_equal(tf32_round(x), tf32_round(tf32_round(x)))
    assert 0 < np.abs(tf32_round(x) - x).max() <= 2.0**-11 * 4
    model = S.make_model(tmp_path / "m.onnx")
    proto = onnx.load(str(model))
    proto.graph.node[2].op_type = "Identity"  # sigmoid off: compare logits
    raw = proto.SerializeToString()
    import onnxruntime as ort

    imgs = S.images(4)

    def run(data: bytes) -> np.ndarray:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        return session.run(["mask"], {"image": imgs})[0]

    ref = run(raw)
    assert np.array_equal(run(_reduced_precision(raw, "fp32")), ref)
    scale = np.abs(ref).max()
    for math in ("tf32", "fp16"):  # both keep an 11-bit significand: a few ulps of 2^-11 relative
        err = np.abs(run(_reduced_precision(raw, math)) - ref).max()
        assert 2.0**-16 * scale < err < 2.0**-8 * scale, (math, err, scale)


def test_engine_with_bf16_io_is_a_model_error_not_a_type_error(tmp_path, monkeypatch):
    import onnx
    from onnx import TensorProto, helper

    S.install_fakes(monkeypatch)
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.core.backends.trt_engine_file import read_sidecar, write_sidecar
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    proto = onnx.load(str(model))
    proto.graph.node[-1].output[0] = "mask32"
    proto.graph.node.append(helper.make_node("Cast", ["mask32"], ["mask"], to=TensorProto.BFLOAT16))
    proto.graph.output[0].type.tensor_type.elem_type = TensorProto.BFLOAT16
    onnx.save(proto, str(model))
    sc = build_engine(model, precision="fp32", skip_parity=True)
    engine = model.with_name("m.fp32.engine")
    write_sidecar(sc.model_copy(update={"status": "verified", "parity": {"passed": True}}), engine)
    assert read_sidecar(engine).parity_passed
    with pytest.raises(ModelLoadError, match="'mask' is BF16, which has no numpy equivalent"):
        TensorRTBackend(precision="fp32").load(model)


def test_large_device_buffers_do_not_alias_their_neighbours(monkeypatch):
    """cuMemAlloc never hands out overlapping ranges; the fake's fixed 1 MiB stride did, so a 4 MiB
    batch (4 x 512 x 512 float32) was read from the next buffer (the dry run found it)."""
    _, cuda = S.install_fakes(monkeypatch)
    cuda.init()
    ctx = cuda.Device(0).make_context()
    try:
        a, b = cuda.mem_alloc(4 << 20), cuda.mem_alloc(16)
        assert int(b) >= int(a) + (4 << 20)
        assert int(a) % 256 == int(b) % 256 == 0
        cuda.memcpy_htod(a, np.full(1 << 20, 7, np.float32))
        cuda.memcpy_htod(b, np.ones(4, np.float32))
        out = np.empty(1 << 20, np.float32)
        cuda.memcpy_dtoh(out, a)
        assert (out == 7).all()
        a.free()
        b.free()
    finally:
        ctx.pop()


def test_fake_parser_imports_the_ops_of_the_shipped_model(tmp_path, monkeypatch):
    """tf2onnx exports Shape/Gather/Slice/Split/Max/Neg/Squeeze/Unsqueeze; TensorRT's ONNX parser
    imports all of them (onnx-tensorrt docs/operators.md), so the fake must too."""
    trt, _ = S.install_fakes(monkeypatch)
    shipped = REPO / "resources" / "models" / "dagm-class1" / "model.onnx"
    if not shipped.is_file():
        pytest.skip("shipped model not present")
    logger = trt.Logger()
    network = trt.Builder(logger).create_network(0)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(shipped.read_bytes(), str(shipped)), [
        str(parser.get_error(i)) for i in range(parser.num_errors)
    ]


# ================================================================ 6. scripts/gpu_check.sh, dry run
def test_gpu_check_dry_run_end_to_end(tmp_path):
    """The first-contact script on the fakes: build with parity on real images, check, bench, then the
    station on a folder with both backends and the verdict comparison."""
    model = S.make_model(tmp_path / "model" / "m.onnx", card_hw=(32, 48))
    folder = tmp_path / "parts"
    _write_images(folder, 4)
    env = {
        **os.environ,
        "DRY_RUN": "1",
        "DAGM": str(folder),
        "WORK": str(tmp_path / "work"),
        "PYTHON": sys.executable,
        "PRECISION": "fp32",
        "ITERATIONS": "1",
        "BENCH_BATCHES": "1",
        "INSPECTOR_DATA_DIR": str(tmp_path / "data"),
        "INSPECT_ARGS": "--allow-unverified",  # the tiny model has no golden samples
    }
    res = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_check.sh"), str(model)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "verified against ONNX Runtime" in out
    assert '"ok": true' in out
    assert "all 4 verdicts equal" in out
    assert "ERROR" not in out.split("TensorRT verdicts")[1].splitlines()[0]
    assert not list(model.parent.glob("*.engine")), "a dry run works on a copy of the model"


def test_station_uses_a_verified_fp32_engine_when_there_is_no_fp16_one(tmp_path, monkeypatch):
    """`inspector inspect --backend tensorrt` has no precision option: "auto" takes the FP16 engine
    when it is usable, else the FP32 one (the dry run found an FP32-only station refused)."""
    S.install_fakes(monkeypatch)
    from inspector.core.backends.select import select_backend
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    build_engine(model, precision="fp32", parity_count=2)
    for kind in ("auto", "tensorrt"):
        be = select_backend(kind, model)
        try:
            assert be.info().display.startswith("TensorRT 10.3 FP32")
        finally:
            be.close()
    build_engine(model, precision="fp16", parity_count=2)
    be = select_backend("auto", model)
    try:
        assert be.info().display.startswith("TensorRT 10.3 FP16")
    finally:
        be.close()
    S.make_model(model, sign=-1.0)  # both stale now: both reasons are said
    with pytest.raises(
        BackendUnavailable, match=r"FP16 engine: engine is stale.*; FP32 engine: engine is stale"
    ):
        select_backend("tensorrt", model)
    with pytest.raises(ValueError, match="precision"):
        select_backend("tensorrt", model, precision="int8")
