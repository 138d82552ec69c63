"""OpenVINO's THROUGHPUT streams (overlapped calls when frames queue up) keep the fail-safe
property end to end: every part of the run gets exactly one row in the verdict log, in order;
an unreadable file is an ERROR row; a frame whose call on the streams fails is run again alone
and logged with the verdict a plain run gives it, and a frame that cannot be inspected at all
is ERROR, never OK. Skipped when openvino is not importable."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

pytest.importorskip("openvino")

from db.models import Inspection
from db.session import open_db
from db.writer import VerdictWriter
from inspector.core.backends.openvino_backend import OpenVINOBackend
from inspector.core.model_card import load_card
from inspector.core.pipeline import Pipeline, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.sources.folder import FolderSource
from tests.tiny_model import synthetic_image


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(16):
        cv2.imwrite(str(folder / f"{i:02d}.png"), synthetic_image(64, defect=i % 4 == 0, seed=i)[0])
    (folder / "07.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png")  # unreadable: ERROR
    return folder


def _loaded(tiny_model: Path, threads: int) -> OpenVINOBackend:
    backend = OpenVINOBackend(threads=threads, warm_size=(64, 64))
    backend.load(tiny_model)
    return backend


def _run(tiny_model: Path, folder: Path, db_url: str, backend: OpenVINOBackend) -> dict[str, str]:
    pipeline = Pipeline(backend, load_card(tiny_model), Recipe())
    database = open_db(db_url)
    try:
        with VerdictWriter(database, "st", flush_interval_s=0.0) as writer:
            futures = []
            summary = run_source(
                FolderSource(folder), pipeline, lambda r: futures.append(writer.submit(r)), SimpleState()
            )
            for f in futures:
                f.result(timeout=60)
        assert summary.inspected == 16
        with database.read() as s:
            rows = s.scalars(select(Inspection).order_by(Inspection.id)).all()
            logged = [(Path(r.source_key).name, r.verdict) for r in rows]
    finally:
        database.dispose()
        backend.close()
    assert [k for k, _ in logged] == sorted(p.name for p in folder.iterdir())  # each once, in order
    return dict(logged)


def test_a_run_on_the_throughput_streams_logs_every_part_once(tiny_model: Path, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    plain = _loaded(tiny_model, 1)  # LATENCY only: the reference verdicts
    expected = _run(tiny_model, folder, f"sqlite:///{tmp_path / 'plain.db'}", plain)
    assert expected["07.png"] == "ERROR"
    assert {v for k, v in expected.items() if k != "07.png"} == {"OK", "NG"}

    streams = _loaded(tiny_model, 2)
    calls: list[bool] = []
    start = streams.infer_async

    def queued(batch, backlog=False):  # type: ignore[no-untyped-def]
        calls.append(backlog)
        return start(batch, backlog=True)  # every call as if frames queue up: the streams

    streams.infer_async = queued  # type: ignore[method-assign]
    assert _run(tiny_model, folder, f"sqlite:///{tmp_path / 'streams.db'}", streams) == expected
    assert len(calls) == 15  # every readable part went through an overlapped call


def test_a_failing_call_on_the_streams_is_run_again_alone_and_a_dead_model_is_error(
    tiny_model: Path, tmp_path: Path
) -> None:
    folder = _folder(tmp_path)
    expected = _run(
        tiny_model,
        folder,
        f"sqlite:///{tmp_path / 'plain.db'}",
        _loaded(tiny_model, 1),
    )
    # the THROUGHPUT model cannot run: each frame is run again alone (LATENCY), same verdicts
    flaky = _loaded(tiny_model, 2)
    flaky._compiled.clear()  # compiled again on first use, through the patched method
    requests = flaky._requests

    def no_streams(h: int, w: int, streams: int) -> list:  # type: ignore[type-arg]
        if streams > 1:
            raise RuntimeError("Exception from src/plugins/intel_cpu: cannot create a stream")
        return requests(h, w, streams)

    flaky._requests = no_streams  # type: ignore[method-assign]
    start = flaky.infer_async
    flaky.infer_async = lambda batch, backlog=False: start(batch, backlog=True)  # type: ignore[method-assign]
    assert _run(tiny_model, folder, f"sqlite:///{tmp_path / 'flaky.db'}", flaky) == expected
    # no model call succeeds at all: every part ERROR, none OK, none missing
    dead = _loaded(tiny_model, 2)
    dead._compiled.clear()

    def broken(h: int, w: int, streams: int) -> list:  # type: ignore[type-arg]
        raise RuntimeError("Exception from src/plugins/intel_cpu: out of memory")

    dead._requests = broken  # type: ignore[method-assign]
    logged = _run(tiny_model, folder, f"sqlite:///{tmp_path / 'dead.db'}", dead)
    assert set(logged.values()) == {"ERROR"}
