"""Rewrite ``Conv(Concat(a, b), W)`` as ``Conv(a, W[:, :Ca]) + Conv(b, W[:, Ca:])``: the same float
maths, but each branch gets its own activation scale when the model is quantised.

Why: in the U-Net's decoder each conv reads the concatenation of the up-path (a ConvTranspose
output spanning about +-40..80 on DAGM) and the encoder skip (peaking near 0.3). Quantised as one
tensor, under one scale, the skip rounds to about zero and the decoder loses it. After the split
the two are quantised apart. A pure graph function (ONNX protos in, out); nothing runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

# ops that keep the channel count of their first input (NCHW); a Pad or Slice here never touches
# channels in tf2onnx's U-Net, and a wrong guess is refused (the halves must add up to W's inputs)
_SAME_CHANNELS = {
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Clip",
    "Identity",
    "Pad",
    "Slice",
    "MaxPool",
    "AveragePool",
    "BatchNormalization",
    "Dropout",
    "Cast",
}


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _channels_from_shapes(model: Any) -> dict[str, int]:
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # shape inference helps here; never required
        return {}
    out: dict[str, int] = {}
    for vi in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[1].HasField("dim_value"):
            out[vi.name] = int(dims[1].dim_value)
    return out


def _channels(
    name: str, producers: dict[str, Any], inits: dict[str, np.ndarray], known: dict[str, int]
) -> int | None:
    """Channels of the NCHW tensor ``name``: from shape inference, else traced back through
    channel-keeping ops to the Conv / ConvTranspose / Concat that made it."""
    seen = 0
    while name not in known and seen < 64:
        seen += 1
        node = producers.get(name)
        if node is None:
            return None
        if node.op_type == "Conv" and node.input[1] in inits:
            return int(inits[node.input[1]].shape[0])
        if node.op_type == "ConvTranspose" and node.input[1] in inits:
            return int(inits[node.input[1]].shape[1]) * int(_attrs(node).get("group", 1))
        if node.op_type == "Concat" and _attrs(node).get("axis") in (1, -3):
            parts = [_channels(x, producers, inits, known) for x in node.input]
            return None if any(p is None for p in parts) else int(sum(p for p in parts if p is not None))
        if node.op_type not in _SAME_CHANNELS:
            return None
        name = node.input[0]
    return known.get(name)


def split_concat_convs(model: Any, only: Iterable[str] | None = None) -> tuple[Any, list[str]]:
    """A copy of ``model`` with every ``Conv(Concat(x1..xk, axis=1), W, B)`` (group 1, W a
    constant) replaced by ``Conv(x1, W1, B) + Conv(x2, W2) + ...``, W cut along its input
    channels. The conv's output keeps its name, so consumers and graph outputs are unchanged;
    a Concat left without consumers is removed. ``only``: the conv node names to rewrite
    (default all). Returns (model, names of the rewritten convs)."""
    import onnx
    from onnx import helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    producers = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list[Any]] = {}
    for n in g.node:
        for x in n.input:
            consumers.setdefault(x, []).append(n)
    graph_outputs = {o.name for o in g.output}
    known = _channels_from_shapes(model)
    wanted = set(only) if only is not None else None
    used_names = {n.name for n in g.node} | {t.name for t in g.initializer}
    used_names |= {x for n in g.node for x in (*n.input, *n.output)}

    def fresh(base: str) -> str:
        k, name = 0, base
        while name in used_names:
            k += 1
            name = f"{base}_{k}"
        used_names.add(name)
        return name

    new_nodes: list[Any] = []
    new_inits: list[Any] = []
    rewritten: list[str] = []
    for node in g.node:
        cat = producers.get(node.input[0]) if node.op_type == "Conv" else None
        ok = (
            cat is not None
            and cat.op_type == "Concat"
            and _attrs(cat).get("axis") in (1, -3)
            and int(_attrs(node).get("group", 1)) == 1
            and node.input[1] in inits
            and (len(node.input) < 3 or not node.input[2] or node.input[2] in inits)
            and (wanted is None or node.name in wanted)
        )
        widths = [_channels(x, producers, inits, known) for x in cat.input] if ok and cat is not None else []
        w = inits[node.input[1]] if ok else None
        if not ok or w is None or any(c is None for c in widths) or sum(c or 0 for c in widths) != w.shape[1]:
            new_nodes.append(node)
            continue
        attrs = _attrs(node)
        partial: list[str] = []
        start = 0
        for i, (x, c) in enumerate(zip(cat.input, widths, strict=True)):
            assert c is not None
            w_name = fresh(f"{node.input[1]}_part{i}")
            new_inits.append(numpy_helper.from_array(np.ascontiguousarray(w[:, start : start + c]), w_name))
            start += c
            inputs = [x, w_name]
            if i == 0 and len(node.input) > 2 and node.input[2]:
                inputs.append(node.input[2])  # the bias once, on the first branch
            y = fresh(f"{node.output[0]}_part{i}")
            new_nodes.append(
                helper.make_node("Conv", inputs, [y], name=fresh(f"{node.name}_part{i}"), **attrs)
            )
            partial.append(y)
        acc = partial[0]
        for i, y in enumerate(partial[1:], start=1):
            last = i == len(partial) - 1
            target = node.output[0] if last else fresh(f"{node.output[0]}_sum{i}")
            new_nodes.append(helper.make_node("Add", [acc, y], [target], name=fresh(f"{node.name}_sum{i}")))
            acc = target
        rewritten.append(node.name)
    # a Concat that nothing reads any more goes (one feeding two convs: once both were rewritten)
    read = {x for n in new_nodes for x in n.input} | graph_outputs
    kept = [n for n in new_nodes if n.op_type != "Concat" or any(o in read for o in n.output)]
    del g.node[:]
    g.node.extend(kept)
    g.initializer.extend(new_inits)
    still_used = {x for n in g.node for x in n.input}
    unused = [t for t in g.initializer if t.name not in still_used]
    for t in unused:
        g.initializer.remove(t)
    produced = {o for n in g.node for o in n.output}
    stale = [vi for vi in g.value_info if vi.name not in produced]
    for vi in stale:
        g.value_info.remove(vi)
    onnx.checker.check_model(out)
    return out, rewritten
