"""``auto`` without TensorRT: the faster of ONNX Runtime and OpenVINO, probed once and cached.

Timings are injected (no timed assertions); OpenVINO is a fake where the test is about the choice,
so most of these run without openvino installed. The tests at the end use the real OpenVINO.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest

from inspector.core.backends import openvino_backend, probe
from inspector.core.backends.base import Backend, BackendInfo, BackendUnavailable
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.backends.probe import ProbeCache, choose_cpu_backend, compare_outputs
from inspector.core.backends.select import ENV_AUTO_CPU, select_backend
from tests.fakes.support import block_modules
from tests.tiny_model import build_tiny_model


class FakeOpenVINO(Backend):
    """Runs ONNX Runtime underneath, optionally changing its output, failing, or crashing."""

    name = "openvino"

    def __init__(
        self, shift: float = 0.0, fail_load: bool = False, crash: bool = False, quantized: bool = False
    ) -> None:
        self.shift, self.fail_load, self.crash = shift, fail_load, crash
        self.quantized = quantized
        self.closed = False
        self.notice = ""
        self._ort = OnnxRuntimeBackend(threads=1)

    def load(self, model_path: Path) -> None:
        if self.fail_load:
            raise BackendUnavailable("OpenVINO cannot compile model.onnx: unsupported operation")
        self._ort.load(model_path)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        if self.crash:
            raise RuntimeError("Exception from src/inference: segfault in a kernel")
        return np.clip(self._ort.infer(batch) + self.shift, 0.0, 1.0)

    def info(self) -> BackendInfo:
        return BackendInfo("openvino", "fake OpenVINO", "CPU", Path(), self.notice)

    def close(self) -> None:
        self.closed = True


class Factory:
    def __init__(self, **kw: object) -> None:
        self.kw = kw
        self.made: list[FakeOpenVINO] = []

    def __call__(self) -> FakeOpenVINO:
        self.made.append(FakeOpenVINO(**self.kw))  # type: ignore[arg-type]
        return self.made[-1]


class FakeTimer:
    """Seconds per run by backend name; counts its calls (no clock involved)."""

    def __init__(self, onnxruntime: float, openvino: float) -> None:
        self.seconds = {"onnxruntime": onnxruntime, "openvino": openvino}
        self.calls = 0

    def __call__(self, backend: Backend, batch: np.ndarray) -> float:
        self.calls += 1
        self.shape = batch.shape
        return self.seconds[backend.name]


@pytest.fixture
def fake_ov_module(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """``import openvino`` answered by a stand-in whose version the test can change."""
    module = types.SimpleNamespace(__version__="2026.4.1-22982-e213a147257")
    monkeypatch.setattr(openvino_backend, "import_openvino", lambda: module)
    return module


@pytest.fixture
def ort(tiny_model: Path) -> OnnxRuntimeBackend:
    be = OnnxRuntimeBackend(threads=1)
    be.load(tiny_model)
    return be


def _choose(
    ort: Backend, model: Path, cache: Path, factory: Factory, timer: FakeTimer
) -> tuple[Backend, str]:
    return choose_cpu_backend(ort, model, threads=1, cache_path=cache, make_openvino=factory, timer=timer)


def test_auto_takes_openvino_when_the_probe_says_faster_and_caches_it(
    tiny_model: Path, ort: OnnxRuntimeBackend, tmp_path: Path, fake_ov_module: object
) -> None:
    cache = tmp_path / "probe.json"
    factory, timer = Factory(), FakeTimer(onnxruntime=0.030, openvino=0.010)
    backend, notice = _choose(ort, tiny_model, cache, factory, timer)
    assert backend is factory.made[0]
    assert "OpenVINO chosen" in notice
    assert "3.00x faster" in notice
    assert timer.calls == 2 * probe.PROBE_RUNS
    (entry,) = json.loads(cache.read_text())["entries"].values()
    assert entry["choice"] == "openvino"
    assert entry["seconds"] == {"onnxruntime": 0.030, "openvino": 0.010}
    # the next start: no probe, the cached choice (and OpenVINO loaded without a timing)
    again = FakeTimer(onnxruntime=0.001, openvino=1.0)
    backend2, notice2 = _choose(ort, tiny_model, cache, factory, again)
    assert backend2 is factory.made[1]
    assert again.calls == 0
    assert "cached" in notice2


def _record_openvino_eval(model: Path, meets: bool | None) -> None:
    card = json.loads(model.with_suffix(".json").read_text())
    card["precision"] = "int8"
    if meets is not None:
        card["compared"] = {
            "int8_openvino": {
                "vs_teacher": {"minus_teacher": {"dice_defective": -0.016}, "meets_target": meets}
            }
        }
    model.with_suffix(".json").write_text(json.dumps(card))


@pytest.mark.parametrize("meets", [None, False])
def test_a_quantised_model_not_validated_under_openvino_stays_on_onnxruntime(
    tiny_model: Path, ort: OnnxRuntimeBackend, tmp_path: Path, fake_ov_module: object, meets: bool | None
) -> None:
    """Probe parity cannot see a held-out accuracy loss: a quantised model runs on OpenVINO only
    when its card says it met its accuracy target there, however much faster OpenVINO is."""
    _record_openvino_eval(tiny_model, meets)
    factory, timer = Factory(quantized=True), FakeTimer(onnxruntime=0.030, openvino=0.001)
    backend, notice = _choose(ort, tiny_model, tmp_path / "probe.json", factory, timer)
    assert backend is ort
    assert factory.made[0].closed
    assert timer.calls == 0
    why = "no held-out evaluation under OpenVINO" if meets is None else "missed its accuracy target"
    assert why in notice
    if meets is False:
        assert "-0.016" in notice


def test_a_quantised_model_validated_under_openvino_may_run_there(
    tiny_model: Path, ort: OnnxRuntimeBackend, tmp_path: Path, fake_ov_module: object
) -> None:
    _record_openvino_eval(tiny_model, True)
    factory, timer = Factory(quantized=True), FakeTimer(onnxruntime=0.030, openvino=0.010)
    backend, notice = _choose(ort, tiny_model, tmp_path / "probe.json", factory, timer)
    assert backend is factory.made[0]
    assert "OpenVINO chosen" in notice


def test_auto_keeps_onnxruntime_when_it_is_as_fast_and_caches_that(
    tiny_model: Path, ort: OnnxRuntimeBackend, tmp_path: Path, fake_ov_module: object
) -> None:
    cache = tmp_path / "probe.json"
    factory = Factory()
    # 3 % faster is within the probe's noise: the reference runtime stays
    backend, notice = _choose(ort, tiny_model, cache, factory, FakeTimer(onnxruntime=0.0100, openvino=0.0097))
    assert backend is ort
    assert "ONNX Runtime chosen" in notice
    assert factory.made[0].closed
    backend, notice = _choose(ort, tiny_model, cache, factory, FakeTimer(onnxruntime=1.0, openvino=0.001))
    assert backend is ort  # cached: OpenVINO not even loaded
    assert len(factory.made) == 1
    assert "cached" in notice


def test_a_new_model_or_new_versions_probe_again(
    tiny_model: Path, ort: OnnxRuntimeBackend, tmp_path: Path, fake_ov_module: types.SimpleNamespace
) -> None:
    cache = tmp_path / "probe.json"
    factory = Factory()
    assert _choose(ort, tiny_model, cache, factory, FakeTimer(0.01, 0.02))[0] is ort
    # same model, versions and CPU: cached
    timer = FakeTimer(0.02, 0.01)
    assert _choose(ort, tiny_model, cache, factory, timer)[0] is ort
    assert timer.calls == 0
    # a new OpenVINO version: probed again, and the new answer stands
    fake_ov_module.__version__ = "2027.0.0"
    assert _choose(ort, tiny_model, cache, factory, timer)[0].name == "openvino"
    assert timer.calls > 0
    # another model file (another sha256): probed again
    other = build_tiny_model(tmp_path / "m2" / "other.onnx", gain=30.0)
    ort2 = OnnxRuntimeBackend(threads=1)
    ort2.load(other)
    timer2 = FakeTimer(0.01, 0.02)
    assert _choose(ort2, other, cache, factory, timer2)[0] is ort2
    assert timer2.calls > 0
    assert len(json.loads(cache.read_text())["entries"]) == 3


def test_the_probe_compares_on_golden_images_and_times_at_the_cards_size(
    tmp_path: Path, fake_ov_module: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = build_tiny_model(tmp_path / "m" / "big.onnx", card={"input_height": 96, "input_width": 128})
    ort = OnnxRuntimeBackend(threads=1)
    ort.load(model)
    seen: list[tuple[int, ...]] = []
    real_compare = probe.compare_outputs

    def spy(ref: np.ndarray, out: np.ndarray, threshold: float, quantized: bool) -> probe.Parity:
        seen.append(ref.shape)
        return real_compare(ref, out, threshold, quantized)

    monkeypatch.setattr(probe, "compare_outputs", spy)
    timer = FakeTimer(0.02, 0.01)
    _choose(ort, model, tmp_path / "probe.json", Factory(), timer)
    assert seen == [(1, 64, 64, 1)] * 2 + [(1, 96, 128, 1)]  # both golden images, then the card size
    assert timer.shape == (1, 96, 128, 1)


def test_another_thread_count_probes_again(
    tiny_model: Path, ort: OnnxRuntimeBackend, tmp_path: Path, fake_ov_module: object
) -> None:
    cache = tmp_path / "probe.json"
    factory = Factory()
    choose_cpu_backend(
        ort, tiny_model, threads=1, cache_path=cache, make_openvino=factory, timer=FakeTimer(0.01, 0.02)
    )
    timer = FakeTimer(0.01, 0.02)
    choose_cpu_backend(ort, tiny_model, threads=2, cache_path=cache, make_openvino=factory, timer=timer)
    assert timer.calls > 0


def test_an_output_mismatch_keeps_onnxruntime_with_a_notice(
    tiny_model: Path, ort: OnnxRuntimeBackend, tmp_path: Path, fake_ov_module: object
) -> None:
    cache = tmp_path / "probe.json"
    factory = Factory(shift=0.2)  # an FP32 model 0.2 off: wrong, however fast
    timer = FakeTimer(onnxruntime=0.1, openvino=0.001)
    backend, notice = _choose(ort, tiny_model, cache, factory, timer)
    assert backend is ort
    assert notice.startswith("OpenVINO not used")
    assert "differs" in notice
    assert "max |diff| 0.2" in notice
    assert factory.made[0].closed
    assert timer.calls == 0  # compared before it is timed
    # cached as such: the next start says the same without probing
    backend, notice = _choose(ort, tiny_model, cache, factory, timer)
    assert backend is ort
    assert "OpenVINO not used" in notice
    assert "differs" in notice


@pytest.mark.parametrize(
    ("factory", "said"),
    [
        (Factory(fail_load=True), "cannot compile"),
        (Factory(crash=True), "segfault in a kernel"),
    ],
)
def test_openvino_that_fails_to_load_or_crashes_keeps_onnxruntime(
    tiny_model: Path,
    ort: OnnxRuntimeBackend,
    tmp_path: Path,
    fake_ov_module: object,
    factory: Factory,
    said: str,
) -> None:
    cache = tmp_path / "probe.json"
    backend, notice = _choose(ort, tiny_model, cache, factory, FakeTimer(1.0, 0.001))
    assert backend is ort
    assert notice.startswith("OpenVINO not used")
    assert said in notice
    assert not cache.exists()  # not cached: the next start tries again


def test_an_unreadable_cache_means_probing_again(
    tiny_model: Path, ort: OnnxRuntimeBackend, tmp_path: Path, fake_ov_module: object
) -> None:
    cache = tmp_path / "probe.json"
    cache.write_text("{not json")
    timer = FakeTimer(0.03, 0.01)
    backend, _ = _choose(ort, tiny_model, cache, Factory(), timer)
    assert backend.name == "openvino"
    assert timer.calls > 0
    assert json.loads(cache.read_text())["schema"] == probe.CACHE_SCHEMA


def test_openvino_missing_keeps_onnxruntime_with_a_notice(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block_modules(monkeypatch, "openvino", "tensorrt")
    monkeypatch.setenv(ENV_AUTO_CPU, "probe")
    backend = select_backend("auto", tiny_model, threads=1, probe_cache=tmp_path / "probe.json")
    info = backend.info()
    assert info.name == "onnxruntime"
    assert "OpenVINO not used" in info.notice
    assert "not installed" in info.notice
    # TensorRT is not installed here: a CPU station is told nothing about engines to rebuild
    assert "TensorRT" not in info.notice
    assert "rebuild" not in info.notice
    # asked for explicitly: fails loudly
    with pytest.raises(BackendUnavailable, match="OpenVINO is not installed"):
        select_backend("openvino", tiny_model)


def test_auto_without_tensorrt_installed_says_nothing_about_engines(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: every start on a machine without TensorRT printed a "rebuild the TensorRT
    engine" hint. Without TensorRT, auto goes to the CPU quietly; with TensorRT installed and no
    engine, the hint is still given (tests/test_trt_firstcontact.py)."""
    block_modules(monkeypatch, "tensorrt")
    monkeypatch.setenv(ENV_AUTO_CPU, "onnxruntime")
    backend = select_backend("auto", tiny_model, threads=1, probe_cache=tmp_path / "probe.json")
    try:
        assert backend.info().name == "onnxruntime"
        assert "TensorRT" not in backend.info().notice
        assert "rebuild" not in backend.info().notice
    finally:
        backend.close()


def test_a_broken_openvino_install_is_unavailable_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def broken(name: str, *a: object, **k: object) -> object:
        if name == "openvino":
            raise OSError("libopenvino.so.2026: cannot open shared object file")
        return real_import(name, *a, **k)

    monkeypatch.delitem(__import__("sys").modules, "openvino", raising=False)
    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(BackendUnavailable, match="cannot be imported: libopenvino"):
        openvino_backend.import_openvino()
    assert openvino_backend.openvino_version() == ""


def test_auto_cpu_onnxruntime_setting_skips_the_probe(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_AUTO_CPU, "onnxruntime")
    cache = tmp_path / "probe.json"
    backend = select_backend("auto", tiny_model, threads=1, probe_cache=cache)
    assert backend.info().name == "onnxruntime"
    assert not cache.exists()


# ------------------------------------------------------------------ the parity rule
def _blob(shift: tuple[int, int] = (0, 0), size: int = 64) -> np.ndarray:
    p = np.full((size, size), 0.02, np.float32)
    y, x = 20 + shift[0], 20 + shift[1]
    p[y : y + 16, x : x + 16] = 0.95
    return p


def test_fp32_parity_allows_rounding_only() -> None:
    ref = _blob()
    assert compare_outputs(ref, ref + 1e-6, 0.5, quantized=False).passed
    bad = compare_outputs(ref, ref + 0.01, 0.5, quantized=False)
    assert not bad.passed
    assert "max |diff| 0.01" in bad.detail


def test_int8_parity_allows_edge_pixels_but_not_a_moved_or_missing_defect() -> None:
    ref = _blob()
    edge = ref.copy()
    edge[20, 20:36] = 0.3  # one edge row of the 16x16 defect flips, and 0.65 max |diff|
    assert compare_outputs(ref, edge, 0.5, quantized=True).passed
    moved = compare_outputs(ref, _blob(shift=(8, 8)), 0.5, quantized=True)
    assert not moved.passed  # Dice 0.25
    gone = np.full_like(ref, 0.02)
    assert not compare_outputs(ref, gone, 0.5, quantized=True).passed
    assert not compare_outputs(ref, np.clip(ref + 0.05, 0, 1), 0.5, quantized=True).passed  # shifted map
    # both (nearly) empty: nothing a recipe would count, however the few pixels fall
    a, b = np.zeros((64, 64), np.float32), np.zeros((64, 64), np.float32)
    a[0, :5], b[5, :5] = 0.9, 0.9
    assert compare_outputs(a, b, 0.5, quantized=True).passed
    assert not compare_outputs(ref, ref[:32], 0.5, quantized=True).passed  # shape
    nan = ref.copy()
    nan[0, 0] = np.nan
    assert not compare_outputs(ref, nan, 0.5, quantized=True).passed


def test_cache_keeps_a_bounded_number_of_entries(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "p.json")
    for i in range(probe.CACHE_ENTRIES_KEPT + 5):
        key = probe.ProbeKey(f"{i:064d}", "cpu", (("onnxruntime", "1"),), 2)
        cache.put(key, probe.ProbeResult("onnxruntime", "test"))
    assert len(json.loads(cache.path.read_text())["entries"]) == probe.CACHE_ENTRIES_KEPT
    newest = probe.ProbeKey(f"{probe.CACHE_ENTRIES_KEPT + 4:064d}", "cpu", (("onnxruntime", "1"),), 2)
    assert cache.get(newest) is not None
    assert cache.get(probe.ProbeKey(f"{0:064d}", "cpu", (("onnxruntime", "1"),), 2)) is None


# ------------------------------------------------------------------ with the real OpenVINO
def test_auto_with_real_openvino_chosen_then_self_tested_on_it(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openvino")
    from inspector.core.model_card import load_card
    from inspector.core.pipeline import Pipeline
    from inspector.core.recipe import Recipe
    from inspector.core.selftest import run_selftest

    monkeypatch.setenv(ENV_AUTO_CPU, "probe")
    monkeypatch.setattr(probe, "time_once", FakeTimer(onnxruntime=0.02, openvino=0.01))
    backend = select_backend("auto", tiny_model, threads=1, probe_cache=tmp_path / "probe.json")
    try:
        info = backend.info()
        assert info.name == "openvino"
        assert "OpenVINO chosen" in info.notice
        (entry,) = json.loads((tmp_path / "probe.json").read_text())["entries"].values()
        assert entry["parity"].startswith("max |diff| ")
        assert "FP32 limit" in entry["parity"]
        report = run_selftest(Pipeline(backend, load_card(tiny_model), Recipe()))
        assert report.passed, report.reason
        assert report.backend == "openvino"
    finally:
        backend.close()


def test_cli_selftest_runs_on_openvino_or_refuses_it_loudly(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("openvino")
    from inspector.cli import exitcodes
    from inspector.cli.main import main

    assert main(["selftest", "--model", str(tiny_model), "--backend", "openvino"]) == exitcodes.OK
    assert "on openvino" in capsys.readouterr().out
    block_modules(monkeypatch, "openvino")
    assert main(["selftest", "--model", str(tiny_model), "--backend", "openvino"]) == exitcodes.USAGE
    assert "OpenVINO is not installed" in capsys.readouterr().err
