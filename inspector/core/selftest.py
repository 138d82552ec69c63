"""Golden-sample self-test: is the loaded model, with this backend and recipe, fit to inspect?

The station runs :func:`run_selftest` when it starts and whenever the model, the recipe or the
backend changes; when it fails, the station does not pass parts (``Pipeline.blocked``: every
part becomes a logged ERROR verdict with the reason).

Two kinds of checks, all through the real pipeline (the card's preprocess, the loaded backend,
``rules.decide`` with the active recipe):

- **Output sanity probes** (always, even without golden samples): a mid-grey and a noise image
  at the card's input size; the model output must be a probability map (finite, in [0, 1]).
  A NaN model or one exported without its sigmoid fails here.
- **Golden samples** from the model card (``ModelCard.golden``): reference images with their
  expected verdict and the sha256 of the file (a swapped or edited image fails). Semantics:
  expected **OK** passes only on exactly OK; expected **NG** passes on a flagged verdict (NG or
  REVIEW: either way the part does not pass unattended) with at least ``min_regions`` counted
  regions. A card without golden samples leaves the model **unverified**: the self-test fails
  ("no golden samples in the model card") unless the caller explicitly allows unverified models.

A card whose recorded sha256 is not the model file's fails too (see ``model_card.verify_card``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.model_card import GoldenSample, card_path_for
from inspector.core.pipeline import Pipeline, check_prob_map
from inspector.core.recipe import Recipe
from inspector.core.rules import decide
from inspector.core.types import Verdict

NO_GOLDEN = "no golden samples in the model card"
PROBE_SEED = 0
MAX_REASON_ITEMS = 3  # the one-line reason names the first few failures; the report has them all


@dataclass(frozen=True, slots=True)
class SampleCheck:
    """One line of the report: what was checked, what was expected and got, and why it failed."""

    name: str
    expected: str
    got: str
    passed: bool
    why: str = ""
    ms: float = 0.0

    @property
    def headline(self) -> str:
        """What went wrong, in one phrase: the verdict mismatch, or the cause when there was no
        verdict (broken output, unreadable or swapped image)."""
        verdict = self.got.split(",")[0]
        if verdict in (Verdict.OK, Verdict.NG, Verdict.REVIEW):
            return f"expected {self.expected}, got {verdict}"
        return self.why or f"expected {self.expected}, got {self.got}"


@dataclass(frozen=True, slots=True)
class SelfTestReport:
    passed: bool
    reason: str  # "" when passed; else one line, for Pipeline.blocked, banners and messages
    checks: tuple[SampleCheck, ...]
    duration_s: float
    model_name: str
    model_sha256: str
    recipe_name: str
    recipe_version: int
    backend: str
    unverified: bool = False  # the card has no golden samples
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> list[SampleCheck]:
        return [c for c in self.checks if not c.passed]

    def lines(self) -> list[str]:
        """A readable table: one row per check, then the outcome."""
        head = (
            f"self-test of model {self.model_name!r} ({self.model_sha256[:12]}) with recipe "
            f"{self.recipe_name!r} v{self.recipe_version} on {self.backend}"
        )
        rows = [("check", "expected", "got", "result")]
        rows += [(c.name, c.expected, c.got, "pass" if c.passed else "FAIL") for c in self.checks]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        out = [head]
        for r in rows:
            out.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
        for c in self.failed:
            if c.why:
                out.append(f"  {c.name}: {c.why}")
        out.extend(f"  note: {n}" for n in self.notes)
        outcome = "self-test PASSED"
        if not self.passed:
            outcome = self.reason.replace("self-test failed", "self-test FAILED", 1)
        out.append(f"{outcome} ({self.duration_s * 1e3:.0f} ms)")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reason": self.reason,
            "unverified": self.unverified,
            "duration_s": round(self.duration_s, 4),
            "model": {"name": self.model_name, "sha256": self.model_sha256},
            "recipe": {"name": self.recipe_name, "version": self.recipe_version},
            "backend": self.backend,
            "checks": [
                {
                    "name": c.name,
                    "expected": c.expected,
                    "got": c.got,
                    "passed": c.passed,
                    "why": c.why,
                    "ms": round(c.ms, 2),
                }
                for c in self.checks
            ],
            "notes": list(self.notes),
        }


def probe_images(height: int, width: int) -> list[tuple[str, np.ndarray]]:
    """The output-sanity probes: a mid-grey and a (seeded) noise image, 8-bit gray."""
    rng = np.random.default_rng(PROBE_SEED)
    return [
        (f"probe: mid-grey {width}x{height}", np.full((height, width), 128, np.uint8)),
        (f"probe: noise {width}x{height}", rng.integers(0, 256, (height, width), dtype=np.uint8)),
    ]


def _probe(pipeline: Pipeline, name: str, image: np.ndarray) -> SampleCheck:
    expected = "finite, in [0, 1]"
    t0 = time.perf_counter()
    try:
        prob, _ = pipeline.infer_prob(image)
        check_prob_map(prob)
    except Exception as exc:  # any failure of the model on a plain image: not fit to inspect
        ms = (time.perf_counter() - t0) * 1e3
        return SampleCheck(name, expected, "broken output", False, str(exc) or repr(exc), ms)
    ms = (time.perf_counter() - t0) * 1e3
    return SampleCheck(name, expected, f"in [{float(prob.min()):.3g}, {float(prob.max()):.3g}]", True, "", ms)


def _expected_text(g: GoldenSample) -> str:
    if g.expected == "OK":
        return "OK"
    return f"NG/REVIEW, >= {g.min_regions} region(s)" if g.min_regions else "NG/REVIEW"


def _golden(pipeline: Pipeline, recipe: Recipe, g: GoldenSample, base: Path) -> SampleCheck:
    from inspector.core.image_io import read_image

    expected = _expected_text(g)
    t0 = time.perf_counter()

    def fail(got: str, why: str) -> SampleCheck:
        return SampleCheck(g.image, expected, got, False, why, (time.perf_counter() - t0) * 1e3)

    path = base / g.image
    try:
        image, sha = read_image(path)
    except (OSError, ValueError) as exc:
        return fail("unreadable", str(exc))
    if sha != g.sha256:
        return fail(
            "other image",
            f"{path}: sha256 {sha[:12]}… is not the card's {g.sha256[:12]}… (a swapped or edited image)",
        )
    try:
        prob, _ = pipeline.infer_prob(image)
        check_prob_map(prob)
        decision = decide(prob, recipe)
    except Exception as exc:  # the same failures that make a part an ERROR
        return fail("ERROR", str(exc) or repr(exc))
    verdict = decision.verdict
    n = len(decision.regions)
    got = f"{verdict.value}, {n} region(s), max p {float(prob.max()):.2f}"
    if g.expected == "OK":
        ok = verdict is Verdict.OK
    else:
        ok = verdict in (Verdict.NG, Verdict.REVIEW) and n >= g.min_regions
    why = "" if ok else "; ".join(decision.reasons[:2])
    return SampleCheck(g.image, expected, got, ok, why, (time.perf_counter() - t0) * 1e3)


def run_selftest(
    pipeline: Pipeline,
    *,
    recipe: Recipe | None = None,
    allow_unverified: bool = False,
    card_dir: Path | None = None,
) -> SelfTestReport:
    """Self-test ``pipeline`` (its backend, card and ``recipe``, by default its active one).

    Golden images are found relative to ``card_dir``, by default the folder of the card beside
    the backend's model file. Runs regardless of ``pipeline.blocked`` (it decides it) and never
    raises for a model, image or card problem: those are failed checks in the report.
    """
    t0 = time.perf_counter()
    recipe = recipe or pipeline.recipe
    card = pipeline.card
    if card_dir is None:
        model_path = pipeline.backend.info().model_path
        card_dir = card_path_for(model_path).parent if model_path.name else Path()
    checks: list[SampleCheck] = []
    notes: list[str] = []
    mismatch = (card.model_extra or {}).get("card_sha_mismatch")
    if mismatch:
        checks.append(
            SampleCheck(
                "model card sha256",
                card.sha256[:12],
                str(mismatch)[:12],
                False,
                "the model card was written for another model file",
            )
        )
    checks += [_probe(pipeline, name, img) for name, img in probe_images(card.input_height, card.input_width)]
    checks += [_golden(pipeline, recipe, g, card_dir) for g in card.golden]
    unverified = not card.golden
    failed = [c for c in checks if not c.passed]
    reason = ""
    if failed:
        listed = "; ".join(f"{c.name}: {c.headline}" for c in failed[:MAX_REASON_ITEMS])
        more = f" (+{len(failed) - MAX_REASON_ITEMS} more)" if len(failed) > MAX_REASON_ITEMS else ""
        reason = f"self-test failed: {listed}{more}"
    elif unverified and not allow_unverified:
        reason = f"self-test failed: {NO_GOLDEN}: the model is unverified"
    if unverified:
        notes.append(
            f"{NO_GOLDEN}: only the output sanity probes ran"
            + ("; allowed explicitly" if allow_unverified and not failed else "")
        )
    elif not {"OK", "NG"} <= {g.expected for g in card.golden}:
        kinds = {g.expected for g in card.golden}
        notes.append(f"the golden samples are all expected {'/'.join(sorted(kinds))}: one side is not tested")
    return SelfTestReport(
        passed=not reason,
        reason=reason,
        checks=tuple(checks),
        duration_s=time.perf_counter() - t0,
        model_name=card.name,
        model_sha256=card.sha256,
        recipe_name=recipe.name,
        recipe_version=recipe.version,
        backend=pipeline.backend_name,
        unverified=unverified,
        notes=tuple(notes),
    )


def selftest_model(
    model_path: Path, recipe: Recipe | None = None, threads: int | None = None
) -> SelfTestReport:
    """The self-test of the model file ``model_path`` as any station can run it: its card (sha256
    checked), on ONNX Runtime, with ``recipe`` (default: the default recipe). Raises for a card
    or model that cannot be loaded; a failed check is in the report."""
    from inspector.core.backends.select import select_backend
    from inspector.core.model_card import load_card, verify_card

    card = verify_card(load_card(model_path), model_path)
    backend = select_backend("onnxruntime", model_path, threads=threads)
    try:
        return run_selftest(Pipeline(backend, card, recipe or Recipe()))
    finally:
        backend.close()
