"""``train --init-from``: start a run from an existing model instead of fresh weights.

Two sources:
- an exported ``.onnx`` with its model card (``model.json`` beside it): the card's
  ``config`` says which U-Net it is; the net is rebuilt in Keras and the ONNX
  initializers are copied into its layers, then Keras and ONNX Runtime must agree
  on a few images within ``VERIFY_TOL`` before a single training step runs;
- a ``.keras`` checkpoint (a run's ``best.keras``): loaded and its weights copied.

TensorFlow / Keras / ONNX load lazily inside the functions (the CLI's other
commands and the card checks stay light).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.contract import INPUT_NAME, OUTPUT_NAME
from inspector.core.model_card import card_path_for, sha256_file

# The config fields that fix the network's shape; everything else (lr, crop...) may differ.
ARCH_KEYS = ("base_filters", "depth", "batchnorm")
# Same bound as the export parity check: an init that loses more than this is not "the same model".
VERIFY_TOL = 1e-4


class InitFromError(ValueError):
    """The source model cannot be used as a start (no card, other architecture, mismatch)."""


def source_kind(path: Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix == ".keras":
        return "keras"
    raise InitFromError(f"{path}: --init-from takes an .onnx model (with its card) or a .keras checkpoint")


def architecture_of(path: Path) -> dict[str, Any]:
    """base_filters / depth / batchnorm of the source model."""
    path = Path(path)
    if not path.is_file():
        raise InitFromError(f"{path}: --init-from model not found")
    if source_kind(path) == "onnx":
        return _card_architecture(path)
    return _keras_architecture(path)


def _card_architecture(path: Path) -> dict[str, Any]:
    # The ONNX graph alone does not say base filters / depth reliably (BatchNorm is folded
    # away), so the card's training config is the source of truth; the weight copy and
    # the numeric check below catch a card that lies.
    cpath = card_path_for(path)
    if not cpath.is_file():
        raise InitFromError(f"{path}: no model card ({cpath.name}) beside it; cannot tell its architecture")
    try:
        card = json.loads(cpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InitFromError(f"{cpath}: model card is not valid JSON: {exc}") from exc
    config = card.get("config") if isinstance(card, dict) else None
    if not isinstance(config, dict) or not config:
        raise InitFromError(
            f"{cpath}: the model card has no training config; cannot rebuild the network to fine-tune it"
        )
    missing = [k for k in ("base_filters", "depth") if k not in config]
    if missing:
        raise InitFromError(
            f"{cpath}: the card's config lacks {', '.join(missing)}; cannot rebuild the network"
        )
    # cards written before BatchNorm existed had no flag: those nets had none
    return {
        "base_filters": int(config["base_filters"]),
        "depth": int(config["depth"]),
        "batchnorm": bool(config.get("batchnorm", False)),
    }


def _keras_architecture(path: Path) -> dict[str, Any]:
    from keras import layers

    from trainer.train import load_keras

    model = load_keras(path)
    convs = [ly for ly in model.layers if isinstance(ly, layers.Conv2D)]
    pools = [ly for ly in model.layers if isinstance(ly, layers.MaxPooling2D)]
    if not convs:
        raise InitFromError(f"{path}: not a U-Net checkpoint (no Conv2D layers)")
    return {
        "base_filters": int(convs[0].filters),
        "depth": len(pools) + 1,
        "batchnorm": any(isinstance(ly, layers.BatchNormalization) for ly in model.layers),
    }


def merge_architecture(path: Path, explicit: dict[str, Any]) -> dict[str, Any]:
    """The source's architecture, refusing explicit options that contradict it.

    ``explicit`` holds the options the user actually gave (None = not given).
    """
    arch = architecture_of(path)
    clashes = [
        f"--{k.replace('_', '-')} {explicit[k]} (the model has {arch[k]})"
        for k in ARCH_KEYS
        if explicit.get(k) is not None and explicit[k] != arch[k]
    ]
    if clashes:
        raise InitFromError(
            f"{path}: architecture differs from the options given: {'; '.join(clashes)}. "
            "Fine-tuning keeps the model's architecture; drop these options or train a fresh net."
        )
    return arch


def source_normalisation(path: Path) -> dict[str, float] | None:
    """The card's normalisation of an .onnx source (the fine-tuned run must feed the same), else None."""
    if source_kind(path) != "onnx":
        return None
    from inspector.core.model_card import load_card

    return load_card(Path(path)).normalisation.model_dump()


def init_record(path: Path) -> dict[str, str]:
    """What the run config and the card keep: where the start came from, and which bytes."""
    path = Path(path)
    return {"path": str(path.resolve()), "sha256": sha256_file(path)}


# -- weights ---------------------------------------------------------------------------------


def _initializer(graph: Any, name: str, inits: dict[str, np.ndarray]) -> np.ndarray:
    """An initializer, following Identity / Transpose nodes tf2onnx may leave in front."""
    if name in inits:
        return inits[name]
    producer = next((n for n in graph.node if name in n.output), None)
    if producer is not None and producer.op_type == "Identity":
        return _initializer(graph, producer.input[0], inits)
    if producer is not None and producer.op_type == "Transpose":
        perm = next((list(a.ints) for a in producer.attribute if a.name == "perm"), None)
        return np.transpose(_initializer(graph, producer.input[0], inits), perm)
    raise InitFromError(f"weight {name!r} is not a constant in the ONNX graph; cannot read it")


def onnx_conv_weights(path: Path) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(op, Keras-layout kernel, bias or None) for each Conv / ConvTranspose, in graph order."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path))
    graph = proto.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    out: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    for node in graph.node:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        w = _initializer(graph, node.input[1], inits).astype(np.float32)
        b = (
            _initializer(graph, node.input[2], inits).astype(np.float32)
            if len(node.input) > 2 and node.input[2]
            else None  # tf2onnx drops an all-zero bias
        )
        if w.ndim != 4:
            raise InitFromError(f"{path}: {node.name} has a {w.ndim}-D kernel, expected 4-D")
        # ONNX Conv is OIHW, Keras Conv2D HWIO; ONNX ConvTranspose is (in, out, H, W),
        # Keras Conv2DTranspose (H, W, out, in): the same (2, 3, 1, 0) permutation for both.
        out.append((node.op_type, np.ascontiguousarray(w.transpose(2, 3, 1, 0)), b))
    return out


def load_onnx_weights(model: Any, path: Path) -> None:
    """Copy the ONNX model's weights into ``model`` (a build_unet net of the same architecture).

    Matched by order and checked by shape. With ``batchnorm`` the export folded each
    BatchNorm into its conv, so the conv gets the folded kernel and the BatchNorm an
    identity transform that adds the folded bias (exact at inference).
    """
    from keras import layers

    convs = onnx_conv_weights(path)
    slots: list[tuple[Any, Any | None]] = []  # (conv layer, its BatchNorm or None)
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D | layers.Conv2DTranspose):
            slots.append((layer, None))
        elif isinstance(layer, layers.BatchNormalization):
            if not slots or slots[-1][1] is not None:
                raise InitFromError(f"{model.name}: BatchNorm {layer.name} does not follow a conv")
            slots[-1] = (slots[-1][0], layer)
    if len(convs) != len(slots):
        raise InitFromError(
            f"{path}: has {len(convs)} conv layers, the network built from its card has {len(slots)}; "
            "the card's config does not describe this model"
        )
    for (op, kernel, bias), (layer, bn) in zip(convs, slots, strict=True):
        want = "ConvTranspose" if isinstance(layer, layers.Conv2DTranspose) else "Conv"
        expected = tuple(layer.kernel.shape)
        if op != want or kernel.shape != expected:
            raise InitFromError(
                f"{path}: {op} weights {kernel.shape} do not fit layer {layer.name} ({want} {expected}); "
                "the card's config does not describe this model"
            )
        # Keras Conv2D is HWIO (outputs last), Conv2DTranspose H-W-out-in (outputs third)
        n_out = kernel.shape[3] if want == "Conv" else kernel.shape[2]
        b = bias if bias is not None else np.zeros(n_out, np.float32)
        if b.shape != (n_out,):
            raise InitFromError(f"{path}: bias {b.shape} does not fit layer {layer.name} ({n_out} outputs)")
        if layer.use_bias:
            layer.set_weights([kernel, b])
            continue
        if bn is None:
            raise InitFromError(f"{path}: layer {layer.name} has neither a bias nor a BatchNorm to hold one")
        layer.set_weights([kernel])
        # gamma 1, beta = folded bias, mean 0, var = 1 - eps  ->  y = x + bias exactly
        eps = float(bn.epsilon)
        ones = np.ones(n_out, np.float32)
        bn.set_weights([ones, b, np.zeros(n_out, np.float32), np.full(n_out, 1.0 - eps, np.float32)])


def verify_against_onnx(model: Any, path: Path, images: list[np.ndarray], multiple: int) -> float:
    """Max |Keras - ONNX Runtime| on a random tensor and ``images`` (HxW uint8, cropped to fit).

    Raises InitFromError above VERIFY_TOL: fine-tuning must start from the very model
    that runs in production, not from a near miss.
    """
    from inspector.core.backends.onnxruntime_backend import make_session
    from inspector.core.model_card import load_card
    from inspector.core.preprocess import model_input

    card = load_card(path)  # its normalisation: the input the model was trained on
    rng = np.random.default_rng(0)
    side = 4 * multiple if multiple <= 16 else multiple
    tensors = [rng.random((side, side, 1), dtype=np.float32)]
    for img in images:
        h, w = (img.shape[0] // multiple) * multiple, (img.shape[1] // multiple) * multiple
        if h and w:  # crop, not pad: the data's own pixels, no padding edge
            tensors.append(model_input(img[:h, :w], card)[..., None])
    sess = make_session(path)
    worst = 0.0
    for x in tensors:
        ref = np.asarray(model(x[None], training=False))
        (got,) = sess.run([OUTPUT_NAME], {INPUT_NAME: x[None]})
        worst = max(worst, float(np.max(np.abs(got - ref))))
    if not worst <= VERIFY_TOL:
        raise InitFromError(
            f"{path}: the Keras net rebuilt from it differs from ONNX Runtime by {worst:.3g} "
            f"> {VERIFY_TOL} on {len(tensors)} images; refusing to fine-tune from it"
        )
    return worst


def initialise(model: Any, path: Path, images: list[np.ndarray], multiple: int) -> dict[str, Any]:
    """Load ``path``'s weights into ``model`` (already built and compiled); returns a log record."""
    path = Path(path)
    if source_kind(path) == "keras":
        from trainer.train import load_keras

        src = load_keras(path)
        try:
            model.set_weights(src.get_weights())
        except ValueError as exc:
            raise InitFromError(f"{path}: weights do not fit the network: {exc}") from exc
        return {"source": "keras"}
    load_onnx_weights(model, path)
    diff = verify_against_onnx(model, path, images, multiple)
    return {"source": "onnx", "verify_max_abs_diff": diff}
