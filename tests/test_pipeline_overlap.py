"""Overlapped model calls (issue 9 item 4): where the backend can start a call without waiting
(``Backend.infer_async``, OpenVINO), the run starts the next frame's call while one runs, and the
post thread waits for each map in order. Order, exactly-once and per-frame failures are kept."""

from __future__ import annotations

import pytest

from inspector.core.pipeline import Pipeline, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.types import InspectionResult, Verdict
from tests.fakes.batch_backend import NAN_MARK, ListSource, OverlappingBackend, fake_card, frame, make_image


def _run(backend: OverlappingBackend, n: int, marks: dict[int, int] | None = None) -> list[InspectionResult]:
    marks = marks or {}
    frames = [frame(i, make_image(64, mark=marks.get(i, 60), seed=i)) for i in range(n)]
    results: list[InspectionResult] = []
    try:
        run_source(
            ListSource(frames), Pipeline(backend, fake_card(), Recipe()), results.append, SimpleState()
        )
    finally:
        backend.close()
    assert [r.frame.key for r in results] == [f.key for f in frames]  # every frame once, in order
    return results


def test_calls_overlap_and_results_keep_their_order() -> None:
    backend = OverlappingBackend(delay_s=0.01)
    results = _run(backend, 20)
    assert {r.decision.verdict for r in results} == {Verdict.OK}
    assert backend.async_calls == 20
    assert backend.sync_calls == 0
    assert backend.max_in_flight == 2  # the next call was queued while one ran


def test_a_failed_overlapped_call_is_run_again_alone_and_can_pass() -> None:
    backend = OverlappingBackend(fail_async=frozenset({33}))
    results = _run(backend, 8, {5: 33})
    assert backend.sync_calls == 1  # frame 5, once more through infer
    assert all(r.decision.verdict is Verdict.OK for r in results)


def test_a_broken_map_from_an_overlapped_call_is_an_error_never_ok() -> None:
    backend = OverlappingBackend()
    results = _run(backend, 6, {2: NAN_MARK})
    verdicts = [r.decision.verdict for r in results]
    assert verdicts[2] is Verdict.ERROR  # rerun alone, still NaN: this frame only
    assert [v for i, v in enumerate(verdicts) if i != 2] == [Verdict.OK] * 5
    assert results[2].error_stage == "output"


def test_overlap_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECTOR_OVERLAP", "0")
    backend = OverlappingBackend()
    _run(backend, 5)
    assert (backend.async_calls, backend.sync_calls) == (0, 5)


def test_frames_that_queue_up_are_started_with_a_backlog() -> None:
    """The run tells the backend when frames queue up (it may then run for throughput):
    prefetched frames waiting, or a live camera whose frame was there when asked; a camera the
    run waits for gives no backlog."""
    import time

    frames = [frame(i, make_image(64, seed=i)) for i in range(12)]
    queued = OverlappingBackend(delay_s=0.02)  # slower than the source: frames queue up
    run_source(ListSource(frames), Pipeline(queued, fake_card(), Recipe()), lambda r: None, SimpleState())
    queued.close()
    assert len(queued.backlogs) == 12
    assert sum(queued.backlogs) >= 6  # most calls saw frames waiting

    def run_live(backend: OverlappingBackend, after_yield=None) -> list[bool]:  # type: ignore[no-untyped-def]
        live = ListSource(
            [frame(i, make_image(64, seed=i)) for i in range(6)], live=True, after_yield=after_yield
        )
        run_source(live, Pipeline(backend, fake_card(), Recipe()), lambda r: None, SimpleState())
        backend.close()
        return backend.backlogs

    assert run_live(OverlappingBackend()) == [True] * 6  # a fast camera: each frame was there
    slow = run_live(OverlappingBackend(), after_yield=lambda i: time.sleep(0.02))  # the run waits
    assert slow[1:] == [False] * 5


def test_the_run_queues_enough_frames_for_every_call_the_backend_keeps_in_flight() -> None:
    """A backend that keeps more calls in flight than the run's default queue depth (OpenVINO: two
    per stream) gets them all: the run's queues follow ``Backend.in_flight_max``."""
    backend = OverlappingBackend(depth=7, delay_s=0.02)
    _run(backend, 24)
    assert backend.max_in_flight == 7
