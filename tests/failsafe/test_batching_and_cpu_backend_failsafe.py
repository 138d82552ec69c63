"""The paths issue 9 added keep the fail-safe property end to end: every part of a batched,
overlapped run gets exactly one row in the verdict log, a part whose batch failed or whose map
is broken is logged ERROR (never OK), and a quantised model whose card does not show it was
validated under OpenVINO is inspected on ONNX Runtime, with verdicts logged as usual."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from db.models import Inspection
from db.session import open_db
from db.writer import VerdictWriter
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.backends.probe import choose_cpu_backend
from inspector.core.batching import BatchPolicy
from inspector.core.model_card import load_card
from inspector.core.pipeline import Pipeline, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from tests.fakes.batch_backend import (
    NAN_MARK,
    POISON,
    ListSource,
    OverlappingBackend,
    RecordingBackend,
    fake_card,
    frame,
    make_image,
)
from tests.tiny_model import build_tiny_model


def _logged(db_url: str) -> dict[str, str]:
    database = open_db(db_url)
    try:
        with database.read() as s:
            return {row.source_key: row.verdict for row in s.scalars(select(Inspection))}
    finally:
        database.dispose()


def test_a_batched_run_logs_every_part_once_and_bad_parts_as_error(tmp_path: Path) -> None:
    marks = {3: POISON, 6: NAN_MARK}  # a model call that raises; a frame whose map is NaN
    frames = [frame(i, make_image(64, defect=False, mark=marks.get(i, 60), seed=i)) for i in range(12)]
    url = f"sqlite:///{tmp_path / 'log.db'}"
    database = open_db(url)
    with VerdictWriter(database, "st", flush_interval_s=0.0) as writer:
        futures = []
        pipeline = Pipeline(RecordingBackend(), fake_card(), Recipe())  # type: ignore[arg-type]
        policy = BatchPolicy("throughput", max_batch=4, fill_ms=60_000)
        run_source(
            ListSource(frames),
            pipeline,
            lambda r: futures.append(writer.submit(r)),
            SimpleState(),
            batching=policy,
        )
        assert all(f.result(timeout=30) for f in futures)
    database.dispose()
    logged = _logged(url)
    assert sorted(logged) == sorted(f.key for f in frames)  # every part, once
    assert {k: v for k, v in logged.items() if v == "ERROR"} == {
        frames[3].key: "ERROR",
        frames[6].key: "ERROR",
    }
    assert all(v == "OK" for k, v in logged.items() if k not in (frames[3].key, frames[6].key))


def test_an_overlapped_run_logs_every_part_once_and_bad_parts_as_error(tmp_path: Path) -> None:
    """Model calls started before the previous one is waited for (OpenVINO's infer_async): a call
    that raises, or a frame whose map is NaN, is run again alone and logged ERROR; every other
    part OK; each part exactly once."""
    marks = {2: POISON, 9: NAN_MARK}
    frames = [frame(i, make_image(64, defect=False, mark=marks.get(i, 60), seed=i)) for i in range(14)]
    url = f"sqlite:///{tmp_path / 'log.db'}"
    database = open_db(url)
    backend = OverlappingBackend(delay_s=0.005)
    with VerdictWriter(database, "st", flush_interval_s=0.0) as writer:
        futures = []
        pipeline = Pipeline(backend, fake_card(), Recipe())  # type: ignore[arg-type]
        run_source(ListSource(frames), pipeline, lambda r: futures.append(writer.submit(r)), SimpleState())
        assert all(f.result(timeout=30) for f in futures)
    backend.close()
    database.dispose()
    assert backend.max_in_flight == 2  # the calls did overlap
    logged = _logged(url)
    assert sorted(logged) == sorted(f.key for f in frames)
    bad = {frames[2].key, frames[9].key}
    assert {k for k, v in logged.items() if v == "ERROR"} == bad
    assert all(v == "OK" for k, v in logged.items() if k not in bad)


def test_an_unvalidated_quantised_model_is_inspected_on_onnxruntime(tmp_path: Path) -> None:
    """However much faster OpenVINO is, a quantised model without a passing held-out record under
    OpenVINO runs on ONNX Runtime; its parts are inspected and logged as usual."""
    model = build_tiny_model(tmp_path / "m" / "tiny.onnx")
    card = json.loads(model.with_suffix(".json").read_text())
    card["precision"] = "int8"  # no `compared.int8_openvino` record
    model.with_suffix(".json").write_text(json.dumps(card))

    class FastQuantisedOpenVINO(OnnxRuntimeBackend):
        name = "openvino"
        quantized = True

    ort = OnnxRuntimeBackend(threads=1)
    ort.load(model)
    backend, notice = choose_cpu_backend(
        ort,
        model,
        threads=1,
        cache_path=tmp_path / "probe.json",
        make_openvino=lambda: FastQuantisedOpenVINO(threads=1),
        timer=lambda b, _x: 0.001 if b.name == "openvino" else 1.0,
    )
    assert backend is ort
    assert "no held-out evaluation under OpenVINO" in notice
    url = f"sqlite:///{tmp_path / 'log.db'}"
    database = open_db(url)
    frames = [frame(i, make_image(64, defect=bool(i % 2), seed=i)) for i in range(4)]
    with VerdictWriter(database, "st", flush_interval_s=0.0) as writer:
        futures = []
        run_source(
            ListSource(frames),
            Pipeline(backend, load_card(model), Recipe()),
            lambda r: futures.append(writer.submit(r)),
            SimpleState(),
        )
        assert all(f.result(timeout=30) for f in futures)
    database.dispose()
    assert sorted(_logged(url)) == sorted(f.key for f in frames)
