"""``inspector export-triton MODEL --repo DIR``: a Triton Inference Server model repository.

Writes ``DIR/NAME/config.pbtxt`` and ``DIR/NAME/1/model.onnx`` (platform ``onnxruntime_onnx``),
and, for each TensorRT engine built beside the model whose parity check against ONNX Runtime
passed (``model.fp16.engine`` / ``model.fp32.engine`` with their sidecars), ``DIR/NAME_trt_fp16/``
with ``1/model.plan`` (platform ``tensorrt_plan``; it runs only on the GPU model and TensorRT
version the sidecar names). The configuration names the tensors ``image`` and ``mask`` (FP32,
NHWC, ``-1`` for a dynamic H or W), sets ``max_batch_size``, dynamic batching and the instance
groups, and records the ONNX file's sha256 as the parameter ``onnx_sha256``: the station's
Triton backend refuses a served model whose recorded sha256 is not the card's.

Exit codes: 0 written · 2 bad arguments, model, card or an existing model folder (``--force``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inspector.cli import exitcodes
from inspector.core.contract import INPUT_NAME, OUTPUT_NAME

if TYPE_CHECKING:
    from inspector.core.backends.trt_engine_file import Precision

KINDS = {"auto": "KIND_AUTO", "gpu": "KIND_GPU", "cpu": "KIND_CPU"}


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``export-triton`` subcommand (``sub``: the main parser's subparsers)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "export-triton", help="write a Triton Inference Server model repository for a model"
    )
    p.add_argument("model", type=Path, help="the ONNX model (its card beside it)")
    p.add_argument(
        "--repo", type=Path, required=True, help="the model repository folder (created if missing)"
    )
    p.add_argument("--name", help="model name on the server (default: the card's name)")
    p.add_argument("--max-batch", type=int, default=8, help="max_batch_size (default 8; 0: no batching)")
    p.add_argument("--instances", type=int, default=1, help="model instances per device (default 1)")
    p.add_argument(
        "--kind",
        choices=sorted(KINDS),
        default="auto",
        help="where the ONNX model's instances run (default: auto, GPU when the server has one)",
    )
    p.add_argument("--gpus", help="comma-separated GPU indices for the instances, e.g. 0,1 (default: all)")
    p.add_argument(
        "--queue-delay-us",
        type=int,
        default=1000,
        help="dynamic batching: how long a request may wait for others (µs, default 1000)",
    )
    p.add_argument(
        "--no-plan", action="store_true", help="do not export TensorRT engines built beside the model"
    )
    p.add_argument("--force", action="store_true", help="replace a model folder of the same name")
    return p


@dataclass(frozen=True, slots=True)
class Exported:
    name: str
    folder: Path
    platform: str


class ExportError(ValueError):
    pass


def model_name(text: str) -> str:
    """A Triton model (folder) name from ``text``: letters, digits, ``_ . -``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._-")
    if not name:
        raise ExportError(f"cannot make a model name from {text!r}: give --name")
    return name


def _gpus(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        gpus = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ExportError(f"--gpus: expected comma-separated GPU indices, not {text!r}") from None
    if any(g < 0 for g in gpus):
        raise ExportError(f"--gpus: indices are 0 or more, not {text!r}")
    return gpus


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dims(values: list[int]) -> str:
    return "[ " + ", ".join(str(v) for v in values) + " ]"


def config_pbtxt(
    name: str,
    platform: str,
    *,
    max_batch: int,
    dims: list[int],
    instances: int,
    kind: str,
    gpus: list[int],
    queue_delay_us: int,
    parameters: dict[str, str],
    filename: str,
) -> str:
    """The model configuration (protobuf text format) Triton reads from ``config.pbtxt``."""
    lines = [
        f"name: {_q(name)}",
        f"platform: {_q(platform)}",
        f"default_model_filename: {_q(filename)}",
        f"max_batch_size: {max_batch}",
    ]
    for section, tensor in (("input", INPUT_NAME), ("output", OUTPUT_NAME)):
        lines += [
            f"{section} [",
            "  {",
            f"    name: {_q(tensor)}",
            "    data_type: TYPE_FP32",
            f"    dims: {_dims(dims)}",
            "  }",
            "]",
        ]
    if max_batch > 0:
        lines += ["dynamic_batching {", f"  max_queue_delay_microseconds: {queue_delay_us}", "}"]
    group = [f"    count: {instances}", f"    kind: {kind}"]
    if gpus and kind != "KIND_CPU":
        group.append(f"    gpus: {_dims(gpus)}")
    lines += ["instance_group [", "  {", *group, "  }", "]"]
    lines += ["version_policy: { latest: { num_versions: 1 } }"]
    for key, value in parameters.items():
        lines += ["parameters {", f"  key: {_q(key)}", f"  value: {{ string_value: {_q(value)} }}", "}"]
    return "\n".join(lines) + "\n"


def _write_model(repo: Path, name: str, config: str, source: Path, filename: str, force: bool) -> Path:
    """``repo/name`` with config.pbtxt and 1/<filename>, put in place whole (a polling server never
    sees half a model)."""
    final = repo / name
    if final.exists() and not force:
        raise ExportError(f"{final} exists: give --force to replace it, or another --name")
    tmp = repo / f".{name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "1").mkdir(parents=True)
    try:
        shutil.copyfile(source, tmp / "1" / filename)
        (tmp / "config.pbtxt").write_text(config, encoding="utf-8")
        if final.exists():
            old = repo / f".{name}.old-{os.getpid()}"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def export_triton(
    model_path: Path,
    repo: Path,
    *,
    name: str | None = None,
    max_batch: int = 8,
    instances: int = 1,
    kind: str = "auto",
    gpus: list[int] | None = None,
    queue_delay_us: int = 1000,
    plans: bool = True,
    force: bool = False,
) -> tuple[list[Exported], list[str]]:
    """Write the repository entries for ``model_path``; returns what was written and notes on
    engines that were not (stale, not parity-verified). Raises ExportError / ModelLoadError /
    OSError / ValueError with a message naming the file."""
    from inspector.core.backends.triton_backend import SHA_PARAMETER, onnx_io_dims
    from inspector.core.model_card import load_card, verify_card

    if max_batch < 0 or instances < 1 or queue_delay_us < 0:
        raise ExportError("--max-batch must be 0 or more, --instances 1 or more, --queue-delay-us 0 or more")
    card = verify_card(load_card(model_path), model_path)
    in_dims, _ = onnx_io_dims(model_path)
    name = model_name(name or card.name)
    n_dim, hwc = in_dims[0], [d if d is not None else -1 for d in in_dims[1:]]
    if n_dim is None:  # a dynamic batch dimension: Triton batches requests along it
        dims, batch = hwc, max_batch
    else:  # a fixed batch in the file: no Triton batching, the batch is part of the dims
        dims, batch = [n_dim, *hwc], 0
    gpus = gpus or []
    identity = {
        SHA_PARAMETER: card.sha256,
        "model_card_name": card.name,
        "exported_by": "inspector export-triton",
    }
    repo.mkdir(parents=True, exist_ok=True)
    written = [
        Exported(
            name,
            _write_model(
                repo,
                name,
                config_pbtxt(
                    name,
                    "onnxruntime_onnx",
                    max_batch=batch,
                    dims=dims,
                    instances=instances,
                    kind=KINDS[kind],
                    gpus=gpus,
                    queue_delay_us=queue_delay_us,
                    parameters=identity,
                    filename="model.onnx",
                ),
                model_path,
                "model.onnx",
                force,
            ),
            "onnxruntime_onnx",
        )
    ]
    notes: list[str] = []
    if plans:
        precisions: tuple[Precision, ...] = ("fp16", "fp32")
        for precision in precisions:
            entry, note = _export_plan(
                model_path,
                card.sha256,
                repo,
                name,
                precision,
                batch=batch,
                dims=dims,
                instances=instances,
                gpus=gpus,
                queue_delay_us=queue_delay_us,
                identity=identity,
                force=force,
            )
            if entry is not None:
                written.append(entry)
            if note:
                notes.append(note)
    return written, notes


def _export_plan(
    model_path: Path,
    sha256: str,
    repo: Path,
    name: str,
    precision: Precision,
    *,
    batch: int,
    dims: list[int],
    instances: int,
    gpus: list[int],
    queue_delay_us: int,
    identity: dict[str, str],
    force: bool,
) -> tuple[Exported | None, str]:
    from inspector.core.backends.trt_engine_file import engine_path_for, read_sidecar

    engine = engine_path_for(model_path, precision)
    if not engine.is_file():
        return None, ""
    try:
        sc = read_sidecar(engine)
    except (OSError, ValueError) as exc:
        return None, f"{engine.name} not exported: its sidecar cannot be read ({exc})"
    if sc.onnx_sha256 != sha256:
        return None, f"{engine.name} not exported: it was built from another ONNX file (rebuild it)"
    if not sc.parity_passed:
        return None, f"{engine.name} not exported: no passed parity check against ONNX Runtime is recorded"
    (min_h, min_w), (max_h, max_w) = sc.min_hw, sc.max_hw
    params = identity | {
        "precision": precision,
        "tensorrt_version": sc.tensorrt_version,
        "gpu_name": sc.gpu_name,
        "compute_capability": sc.compute_capability,
        # the engine's optimisation profile: the station's Triton backend keeps requests inside it
        "input_min_height": str(min_h),
        "input_min_width": str(min_w),
        "input_max_height": str(max_h),
        "input_max_width": str(max_w),
    }
    plan_batch = min(batch, sc.max_batch) if batch > 0 else 0
    plan_name = f"{name}_trt_{precision}"
    config = config_pbtxt(
        plan_name,
        "tensorrt_plan",
        max_batch=plan_batch,
        dims=dims,
        instances=instances,
        kind="KIND_GPU",
        gpus=gpus,
        queue_delay_us=queue_delay_us,
        parameters=params,
        filename="model.plan",
    )
    folder = _write_model(repo, plan_name, config, engine, "model.plan", force)
    return Exported(plan_name, folder, "tensorrt_plan"), ""


def run_export_triton(args: argparse.Namespace) -> int:
    from inspector.core.backends.base import ModelLoadError

    try:
        written, notes = export_triton(
            args.model,
            args.repo,
            name=args.name,
            max_batch=args.max_batch,
            instances=args.instances,
            kind=args.kind,
            gpus=_gpus(args.gpus),
            queue_delay_us=args.queue_delay_us,
            plans=not args.no_plan,
            force=args.force,
        )
    except (ExportError, ModelLoadError, OSError, ValueError) as exc:
        print(f"inspector: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    for e in written:
        print(f"wrote {e.folder} ({e.platform})")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        "serve it with: tritonserver --model-repository "
        f"{args.repo.resolve()}\n"
        f"inspect with:  inspector inspect SOURCE --model {args.model} --backend triton:http://HOST:8000/{written[0].name}"
    )
    return exitcodes.OK
