"""``inspector-train compress``: the Concat split, INT8 quantisation and its sensitivity search,
distillation targets and loss, and the compressed model's card. Tiny hand-built ONNX models and
64 px synthetic images: seconds, no data set, no GPU."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core.model_card import load_card, sha256_file
from inspector.core.progress import SimpleState
from tests.tiny_model import build_tiny_model, synthetic_image
from trainer.data.loader import Loaded

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

GAIN, LEVEL = 25.0, 0.6


def _save(nodes: list, inits: dict[str, np.ndarray], path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes,
        "t",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", "H", "W", 1])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", "H", "W", 1])],
        initializer=[numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def concat_model(path: Path, seed: int = 0) -> Path:
    """A two-level U-Net in miniature: the decoder conv reads Concat(up-path x 50, skip)."""
    from onnx import helper

    rng = np.random.default_rng(seed)
    n = helper.make_node
    nodes = [
        n("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2]),
        n("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1], name="enc"),
        n("Relu", ["c0"], ["skip"]),
        n("MaxPool", ["skip"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="mid"),
        n("Relu", ["c1"], ["r1"]),
        n("ConvTranspose", ["r1", "wt", "bt"], ["up"], strides=[2, 2], kernel_shape=[2, 2], name="up"),
        n("Concat", ["up", "skip"], ["cat"], axis=1),
        n("Conv", ["cat", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], name="dec"),
        n("Relu", ["c2"], ["r2"]),
        n("Conv", ["r2", "w3", "b3"], ["logit"], name="head"),
        n("Sigmoid", ["logit"], ["prob"]),
        n("Transpose", ["prob"], ["mask"], perm=[0, 2, 3, 1]),
    ]
    inits = {
        "w0": rng.normal(0, 0.5, (3, 1, 3, 3)),
        "b0": rng.normal(0, 0.1, 3),
        "w1": rng.normal(0, 0.5, (4, 3, 3, 3)),
        "b1": rng.normal(0, 0.1, 4),
        "wt": rng.normal(0, 0.5, (4, 2, 2, 2)) * 50,
        "bt": rng.normal(0, 0.1, 2),
        "w2": rng.normal(0, 0.5, (3, 5, 3, 3)),
        "b2": rng.normal(0, 0.1, 3),
        "w3": rng.normal(0, 0.5, (1, 3, 1, 1)),
        "b3": np.zeros(1),
    }
    return _save(nodes, inits, path)


def outlier_model(path: Path, outlier: float) -> Path:
    """blur (3x3) -> wide (1 -> 2 channels: x * outlier, x) -> head (reads only the second):
    the same maps as the tiny model. With a large ``outlier`` the head's input, quantised as one
    tensor, rounds the channel it reads to ~0: quantising the head costs every defect."""
    from onnx import helper

    n = helper.make_node
    nodes = [
        n("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2]),
        n("Conv", ["x", "wb", "bb"], ["blur"], pads=[1, 1, 1, 1], name="blur"),
        n("Conv", ["blur", "ww", "bw"], ["wide"], name="wide"),
        n("Conv", ["wide", "wh", "bh"], ["logit"], name="head"),
        n("Sigmoid", ["logit"], ["prob"], name="sigmoid"),
        n("Transpose", ["prob"], ["mask"], perm=[0, 2, 3, 1]),
    ]
    inits = {
        "wb": np.full((1, 1, 3, 3), 1 / 9),  # the card feeds x / 255
        "bb": np.zeros(1),
        "ww": np.array([outlier, 1.0]).reshape(2, 1, 1, 1),
        "bw": np.zeros(2),
        "wh": np.array([0.0, GAIN]).reshape(1, 2, 1, 1),
        "bh": np.array([-GAIN * LEVEL]),
    }
    return _save(nodes, inits, path)


def with_card(model: Path, like: Path) -> Path:
    """``like``'s card (and golden images) beside ``model``: same preprocessing, same self-test."""
    import shutil

    card = json.loads(like.with_suffix(".json").read_text())
    card.pop("sha256", None)
    model.with_suffix(".json").write_text(json.dumps(card))
    if (like.parent / "golden").is_dir() and like.parent != model.parent:
        shutil.copytree(like.parent / "golden", model.parent / "golden", dirs_exist_ok=True)
    return model


def run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(["mask"], {"image": x})[0])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """24 images (images/ + masks/), every other one with a bright defect; split.json: a third val."""
    root = tmp_path_factory.mktemp("data")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    rng = np.random.default_rng(5)
    for i in range(24):
        defect = i % 2 == 1
        c = (int(rng.integers(16, 48)), int(rng.integers(16, 48)))
        img, mask = synthetic_image(64, defect=defect, seed=100 + i, center=c)
        cv2.imwrite(str(root / "images" / f"p{i:03d}.png"), img)
        if defect:
            cv2.imwrite(str(root / "masks" / f"p{i:03d}.png"), mask)
    from trainer.data import load_samples, make_split, save_split

    split = make_split(load_samples(root), 0.34, 0, str(root), 0.0, None)
    save_split(split, root / "split.json")
    return root, root / "split.json"


# -- the Concat split ---------------------------------------------------------------------------


def test_concat_split_keeps_the_outputs_and_removes_the_concat(tmp_path: Path) -> None:
    import onnx

    from trainer.onnx_split import split_concat_convs

    src = concat_model(tmp_path / "m.onnx")
    out, rewritten = split_concat_convs(onnx.load(str(src)))
    assert rewritten == ["dec"]
    ops = [nd.op_type for nd in out.graph.node]
    assert "Concat" not in ops
    assert ops.count("Conv") == 5
    assert ops.count("Add") == 1
    onnx.save(out, str(tmp_path / "s.onnx"))
    x = np.random.default_rng(1).random((2, 32, 48, 1), dtype=np.float32)
    a, b = run(src, x), run(tmp_path / "s.onnx", x)
    assert np.abs(a - b).max() < 1e-5
    assert np.abs(a - 0.5).max() > 0.05  # the model is not a constant: the check could fail


def test_concat_split_leaves_a_concat_that_something_else_reads(tmp_path: Path) -> None:
    import onnx
    from onnx import helper

    from trainer.onnx_split import split_concat_convs

    m = onnx.load(str(concat_model(tmp_path / "m.onnx")))
    m.graph.output.append(helper.make_tensor_value_info("cat", onnx.TensorProto.FLOAT, ["N", 5, "H", "W"]))
    out, rewritten = split_concat_convs(m)
    assert rewritten == ["dec"]
    assert [nd.op_type for nd in out.graph.node].count("Concat") == 1  # still a graph output
    assert split_concat_convs(m, only=["head"])[1] == []


# -- quantisation --------------------------------------------------------------------------------


def _calib(n: int = 6) -> list[np.ndarray]:
    return [
        synthetic_image(64, defect=bool(i % 2), seed=i)[0][..., None].astype(np.float32) / 255
        for i in range(n)
    ]


def test_quantize_gives_a_qdq_model_that_runs_and_keeps_excluded_layers_in_fp32(tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    from trainer.quantize import QuantSettings, quantize

    src = outlier_model(tmp_path / "m.onnx", 1.0)
    s = QuantSettings(calib_max_outputs=3)
    cache = tmp_path / "calib.json"
    q = quantize(src, tmp_path / "q.onnx", _calib(), cache, s, exclude=["head", "sigmoid"])
    assert cache.is_file()
    m = onnx.load(str(q))
    ops = [nd.op_type for nd in m.graph.node]
    assert "QuantizeLinear" in ops
    assert "DequantizeLinear" in ops
    inits = {t.name: t for t in m.graph.initializer}
    producers = {o: nd for nd in m.graph.node for o in nd.output}
    convs = {nd.name: nd for nd in m.graph.node if nd.op_type == "Conv"}
    # the excluded head keeps float weights and a float output; the others read dequantised ones
    head = convs["head"]
    assert head.input[1] in inits
    assert numpy_helper.to_array(inits[head.input[1]]).dtype == np.float32
    readers = [nd for nd in m.graph.node if head.output[0] in nd.input]
    assert [nd.op_type for nd in readers] == ["Sigmoid"]
    for name in ("blur", "wide"):
        assert producers[convs[name].input[1]].op_type == "DequantizeLinear"
    x = _calib(2)[1][None]
    y = run(q, x)
    assert y.shape == x.shape
    assert y.min() >= 0.0
    assert y.max() <= 1.0
    assert np.abs(y - run(src, x)).max() < 0.05


def _samples(root: Path) -> list:
    from trainer.data import load_samples, load_split
    from trainer.data.split import select

    return select(load_samples(root), load_split(root / "split.json").train)


def test_the_search_keeps_the_layer_that_costs_accuracy_in_fp32(
    tmp_path: Path, data: tuple[Path, Path]
) -> None:
    from trainer.quantize import QuantSettings, quantize_model

    root, _ = data
    tiny = build_tiny_model(tmp_path / "tiny" / "model.onnx")
    student = with_card(outlier_model(tmp_path / "s" / "model.onnx", 1000.0), tiny)
    s = QuantSettings(calib_images=6, check_images=8, calib_max_outputs=3)
    out = quantize_model(student, _samples(root), tmp_path / "q", s, SimpleState())
    rec = json.loads((tmp_path / "q" / "sensitivity.json").read_text())
    first = rec["candidates"][0]
    assert first["excluded"] == []
    assert not first["accepted"]  # all INT8: the head loses the defects
    assert first["tpr"] < rec["fp32"]["tpr"]
    # the tensor that loses the defects is wide's output, head's input: both nodes stay FP32
    assert sorted(rec["excluded"]) == ["head", "wide"]
    worst = sorted(rec["layer_error"], key=lambda k: -rec["layer_error"][k]["flips"])
    assert sorted(worst[:2]) == ["head", "wide"]
    assert rec["layer_error"]["blur"]["flips"] < 0.05  # quantising the blur costs nothing: INT8
    assert rec["int8"]["tpr"] == rec["fp32"]["tpr"] == 1.0
    card = load_card(out)
    extra = card.model_extra or {}
    assert extra["precision"] == "int8"
    assert sorted(extra["quantization"]["fp32_layers"]) == ["head", "wide"]
    assert card.sha256 == sha256_file(out)


def test_the_search_keeps_everything_int8_when_nothing_costs(tmp_path: Path, data: tuple[Path, Path]) -> None:
    from trainer.quantize import QuantSettings, quantize_model

    root, _ = data
    tiny = build_tiny_model(tmp_path / "tiny" / "model.onnx")
    student = with_card(outlier_model(tmp_path / "s" / "model.onnx", 1.0), tiny)
    s = QuantSettings(calib_images=6, check_images=8, calib_max_outputs=3)
    quantize_model(student, _samples(root), tmp_path / "q", s, SimpleState())
    rec = json.loads((tmp_path / "q" / "sensitivity.json").read_text())
    assert rec["excluded"] == []
    assert rec["candidates"][0]["accepted"]
    assert set(rec["calibration_keys"]).isdisjoint(rec["check_keys"])


def test_subsets_are_disjoint_seeded_and_hold_defects() -> None:
    from trainer.data.sample import Sample
    from trainer.quantize import pick_subsets

    samples = [Sample(f"k{i}", Path(f"{i}.png"), None, i % 5 == 0) for i in range(100)]
    calib, check = pick_subsets(samples, 50, 40, seed=3)
    assert len(calib) == 50
    assert len(check) == 40
    assert not {s.key for s in calib} & {s.key for s in check}
    assert sum(s.defective for s in calib) == 10  # the set's share
    assert sum(s.defective for s in check) == 10  # every defective image left
    assert pick_subsets(samples, 50, 40, seed=3) == (calib, check)


# -- distillation --------------------------------------------------------------------------------


def _items(n: int = 6, size: int = 48) -> tuple[list[Loaded], dict[str, np.ndarray]]:
    items, soft = [], {}
    for i in range(n):
        img, mask = synthetic_image(size, defect=True, seed=i)
        items.append(Loaded(f"k{i}", img, (mask > 0).astype(np.uint8)))
        soft[f"k{i}"] = img.astype(np.float32) / 255.0  # a "teacher" that is the image itself
    return items, soft


def test_distill_crops_are_the_plain_crops_with_the_teacher_cut_alike() -> None:
    from trainer.data.pipeline import sample_crops
    from trainer.distill import sample_distill_crops

    items, soft = _items()
    plain = list(sample_crops(items, 12, 32, seed=4, brightness=0.0, contrast=0.0))
    dist = list(sample_distill_crops(items, soft, 12, 32, seed=4, brightness=0.0, contrast=0.0))
    for (x0, y0), (x1, y1) in zip(plain, dist, strict=True):
        assert np.array_equal(x0, x1)  # same draws, same input crops
        assert np.array_equal(y0[..., 0], y1[..., 0])  # same labels
        assert np.allclose(y1[..., 1], x1[..., 0], atol=1e-6)  # teacher turned with the image


def test_distill_loss_reads_the_teacher_channel() -> None:
    import tensorflow as tf

    from trainer.distill import distill_loss

    label = np.zeros((1, 8, 8, 1), np.float32)
    teacher = np.zeros((1, 8, 8, 1), np.float32)
    teacher[:, 2:6, 2:6] = 1.0
    y = tf.constant(np.concatenate([label, teacher], axis=-1))
    follows = tf.constant(np.clip(teacher, 0.02, 0.98))
    ignores = tf.constant(np.full_like(teacher, 0.02))
    plain = distill_loss(0.0, "bce")
    assert float(plain(y, follows)) > float(plain(y, ignores))  # labels alone: predict nothing
    for kind in ("bce", "mse"):
        loss = distill_loss(20.0, kind)  # type: ignore[arg-type]
        assert float(loss(y, follows)) < float(loss(y, ignores))  # the teacher term wins
    with pytest.raises(ValueError, match="unknown distillation loss"):
        distill_loss(1.0, "kl")  # type: ignore[arg-type]


@pytest.mark.slow
def test_with_empty_labels_a_student_learns_the_teacher() -> None:
    """Training on empty labels plus the teacher's maps: the student marks what the teacher marks;
    with the teacher's weight at 0 it marks nothing."""
    import keras

    from trainer.distill import dataset_maker, hooks
    from trainer.model import build_unet

    items, _ = _items(8, 48)
    soft = {it.key: it.mask.astype(np.float32) for it in items}  # the teacher sees the defects
    empty = [Loaded(it.key, it.image, np.zeros_like(it.mask)) for it in items]
    for it in empty:  # defect-aware crops need a defect somewhere: one pixel, far off the blob
        it.mask[0, 0] = 1
    means = {}
    for weight in (0.0, 10.0):
        keras.utils.set_random_seed(0)
        model = build_unet(4, 2)
        h = hooks(soft, weight, "bce")
        model.compile(keras.optimizers.Adam(1e-2), loss=h.loss, metrics=h.metrics)
        ds = dataset_maker(soft)(empty, 40, 4, 32, 1, 0.5, 0.0, 0.0)
        model.fit(ds, epochs=1, verbose=0)
        x = np.stack([it.image for it in items])[..., None].astype(np.float32) / 255.0
        p = np.asarray(model.predict_on_batch(x))[..., 0]
        on = np.stack([it.mask for it in items]) > 0
        means[weight] = (float(p[on].mean()), float(p[~on].mean()))
    # the labels alone pull to 0 everywhere; the teacher's term lifts what the teacher marks
    # (to ~0.4 here, against the empty labels' pull) and nothing else
    assert means[10.0][0] > 0.25
    assert means[10.0][1] < 0.02
    assert means[0.0][0] < 0.01


# -- evaluate: the card --------------------------------------------------------------------------


def test_compress_quantize_and_evaluate_write_a_checked_card(tmp_path: Path, data: tuple[Path, Path]) -> None:
    from trainer.cli import main

    root, split = data
    teacher = build_tiny_model(tmp_path / "teacher" / "model.onnx")
    student = with_card(outlier_model(tmp_path / "student" / "model.onnx", 1.0), teacher)
    out = tmp_path / "out"
    argv = [
        "compress",
        "--teacher",
        str(teacher),
        "--data",
        str(root),
        "--split",
        str(split),
        "--out",
        str(out),
        "--steps",
        "quantize,evaluate",
        "--student",
        str(student),
        "--calib-images",
        "6",
        "--check-images",
        "8",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    final = out / "final" / "model.onnx"
    card = load_card(final)
    extra = card.model_extra or {}
    assert card.sha256 == sha256_file(final) == sha256_file(out / "quant" / "model.onnx")
    assert extra["precision"] == "int8"
    assert extra["teacher"]["sha256"] == sha256_file(teacher)
    from trainer.data import load_split

    assert extra["teacher"]["metrics"]["n_images"] == len(load_split(split).val)
    assert {"teacher", "fp32", "int8"} <= set(extra["compared"])
    if "int8_openvino" in extra["compared"]:  # OpenVINO installed: the same file as it reads it
        assert extra["compared"]["int8_openvino"]["vs_teacher"]["meets_target"] is True
    assert extra["vs_teacher"]["meets_target"] is True  # same function as the teacher
    assert extra["compression"]["quantization"]["fp32_layers"] == []
    assert extra["reproduce"].startswith("inspector-train compress --teacher")
    assert "--steps quantize,evaluate" in extra["reproduce"]
    kinds = {g.expected for g in card.golden}
    assert kinds == {"OK", "NG"}
    assert all(g.image.startswith("golden/") and (final.parent / g.image).is_file() for g in card.golden)
    from inspector.core.recipe import Recipe
    from trainer.compress_card import selftest

    assert selftest(final, Recipe(), 1).passed


def test_evaluate_refuses_a_model_that_finds_nothing(tmp_path: Path, data: tuple[Path, Path]) -> None:
    """A student that flags no defect cannot be verified (no NG golden sample): no final model."""
    from trainer.compress import CompressConfig, CompressError, compress
    from trainer.quantize import QuantSettings, quantize_model

    root, split = data
    teacher = build_tiny_model(tmp_path / "teacher" / "model.onnx")
    blind = build_tiny_model(tmp_path / "student" / "model.onnx", level=2.0)  # never above 0.5
    quantize_model(blind, _samples(root), tmp_path / "out" / "quant", QuantSettings(6, 8), SimpleState())
    cc = CompressConfig(
        teacher=str(teacher),
        data=str(root),
        split=str(split),
        out=str(tmp_path / "out"),
        steps=["evaluate"],
        student=str(blind),
    )
    with pytest.raises(CompressError, match="NG"):
        compress(cc, SimpleState())
    compare = json.loads((tmp_path / "out" / "eval" / "compare.json").read_text())
    assert compare["int8"]["tpr"] == 0.0
    assert compare["int8"]["vs_teacher"]["meets_target"] is False


def test_reproduce_names_the_settings_and_no_machine_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from trainer.compress import CompressConfig, reproduce

    monkeypatch.setenv("DATASETS", "/mnt/sets")
    cc = CompressConfig(
        teacher="m/model.onnx",
        data="/mnt/sets/dagm/Train",
        split="m/split.json",
        out="runs/c",
        base_filters=10,
        train={"epochs": 60},
        distill_weight=2.0,
    )
    cmd = reproduce(cc)
    assert cmd.startswith("inspector-train compress --teacher m/model.onnx --data $DATASETS/dagm/Train")
    for part in ("--base-filters 10", "--epochs 60", "--distill-weight 2.0"):
        assert part in cmd
    assert "/mnt/sets" not in cmd
    assert "--steps" not in cmd


def test_a_student_started_from_another_run_names_that_run_first(tmp_path: Path) -> None:
    from trainer.compress import CompressConfig
    from trainer.compress_card import commands

    first = CompressConfig(
        teacher="t.onnx", data="d", split="s.json", out=str(tmp_path / "a"), steps=["distill"]
    )
    second = CompressConfig(
        teacher="t.onnx",
        data="d",
        split="s.json",
        out=str(tmp_path / "b"),
        init_from=str(tmp_path / "a" / "student" / "best.keras"),
        train={"epochs": 30},
    )
    for cc in (first, second):
        Path(cc.out).mkdir()
        (Path(cc.out) / "compress.json").write_text(json.dumps([cc.model_dump(mode="json")]))
    cmd = commands(Path(second.out))
    a, b = cmd.split(" && ")
    assert f"--out {first.out} --steps distill" in a
    assert f"--out {second.out} --init-from" in b
    assert "--epochs 30" in b
