"""The trainer on unlike data: any size and layout, honest splits, one preprocessing (issue 12).

Each finding of the issue is reproduced here first:
- images smaller than the crop (117x281 with --crop 160) crashed inside tf.data;
- ``evaluate --data Class1`` with only ``Class1/Test`` said "no DAGM layout found";
- no test split: val chose the checkpoint and the threshold and reported the figures;
- training normalised with a hard-coded /255 and rounded 16-bit/colour images to 8 bits;
- the Keras "dice" was batch-global while the reported Dice is per image; ``>`` vs ``>=``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core.model_card import ModelCard, Normalisation
from inspector.core.preprocess import prepare
from trainer.config import TrainConfig
from trainer.data import DataError, load_samples
from trainer.data.loader import load, load_checked
from trainer.data.pipeline import sample_crops
from trainer.data.sample import Sample
from trainer.data.split import find_groups, make_split

# Keras 3 internals call np.array(tensor) the NumPy-1 way; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

CARD = ModelCard(resize="native", multiple=4, normalisation=Normalisation(scale=255.0, mean=0.4, std=0.25))


def _ellipse_mask(h: int, w: int, cy: int, cx: int, r: int = 6) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (cx, cy), (r, max(2, r // 2)), 0, 0, 360, 255, -1)
    return m


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(120, 20, (h, w)), 0, 255).astype(np.uint8)


def _mixed_set(root: Path, sizes: list[tuple[int, int]], seed: int = 0) -> Path:
    """images/ + masks/ with the given (h, w): every other image has a dark elliptical defect."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, (h, w) in enumerate(sizes):
        img = _texture(h, w, seed + i)
        if i % 2 == 0:
            m = _ellipse_mask(h, w, h // 2, w // 3, r=max(3, min(h, w) // 8))
            img[m > 0] = 40
            cv2.imwrite(str(root / "masks" / f"im{i:03d}.png"), m)
        cv2.imwrite(str(root / "images" / f"im{i:03d}.png"), img)
    return root


# --- 1. any size ------------------------------------------------------------------------------


def test_images_smaller_than_the_crop_are_reflect_padded(tmp_path: Path) -> None:
    """The issue's crash: 117x281 images with crop 160 now give 160x160 crops."""
    root = _mixed_set(tmp_path / "d", [(117, 281), (64, 70), (300, 200), (160, 160)])
    items = load(load_samples(root))
    crops = list(sample_crops(items, 24, 160, seed=1, defect_fraction=0.5, card=CARD, blur=1.0))
    assert all(x.shape == (160, 160, 1) and m.shape == (160, 160, 1) for x, m in crops)
    assert all(np.isfinite(x).all() for x, _ in crops)
    # defect-centred crops of the small images still hold their defect
    aware = list(sample_crops(items[:2], 8, 160, seed=2, defect_fraction=1.0, card=CARD))
    assert all(m.any() for _, m in aware)
    # the padding reflects the image and its mask alike, as the station pads for the model
    from trainer.data.pipeline import pad_to_at_least

    small = items[1]
    padded = pad_to_at_least(small.image, 160, 160)
    np.testing.assert_array_equal(padded[:64, :70], small.image)
    np.testing.assert_array_equal(padded[64 : 64 + 10, :70], small.image[62:52:-1])
    np.testing.assert_array_equal(
        pad_to_at_least(small.mask, 160, 160)[64 : 64 + 10, :70], small.mask[62:52:-1]
    )


def test_crop_and_batch_are_chosen_from_the_data() -> None:
    from trainer.auto import apply, choose

    cfg = TrainConfig(data="d", out="o")
    dagm = choose(cfg, [(512, 512)] * 205, [(512, 512)] * 70)
    assert (dagm.crop, dagm.batch) == (256, 8)
    assert 20 <= dagm.steps_per_epoch <= 100
    assert dagm.steps_per_epoch * dagm.epochs == 4000  # a cap: early stopping ends it sooner
    assert dagm.patience == 6
    neu = choose(cfg, [(200, 200)] * 536, [(200, 200)] * 179)
    assert neu.crop == 192
    assert neu.batch == 14
    assert neu.steps_per_epoch * neu.epochs * 14 * 192**2 >= 4000 * 8 * 256**2  # the same compute cap
    # mixed sizes: the median short side, on the model's grid; small images are padded to it
    mixed = choose(cfg, [(117, 281)] * 3 + [(400, 600)] * 4 + [(64, 64)] * 2)
    assert mixed.crop % cfg.multiple == 0
    assert 64 <= mixed.crop <= 256
    tiny = choose(cfg, [(40, 50)] * 10)
    assert tiny.crop == 64
    # given settings are kept, and ``auto`` names only what was chosen
    given = apply(
        cfg.model_copy(update={"crop": 96}), choose(cfg.model_copy(update={"crop": 96}), [(512, 512)])
    )
    assert given.crop == 96
    assert "crop" not in given.auto
    assert {"batch", "epochs", "steps_per_epoch", "patience"} <= set(given.auto)
    assert given.resolved()


def test_16bit_and_colour_images_are_not_rounded_to_8_bits(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    rng = np.random.default_rng(3)
    img16 = rng.integers(0, 65535, (40, 50), dtype=np.uint16)
    bgr = rng.integers(0, 255, (30, 45, 3), dtype=np.uint8)
    bgr16 = rng.integers(0, 65535, (33, 47, 3), dtype=np.uint16)
    for name, im in (("g16", img16), ("bgr", bgr), ("bgr16", bgr16)):
        cv2.imwrite(str(tmp_path / "images" / f"{name}.png"), im)
    items = {it.key: it for it in load(load_samples(tmp_path))}
    for name, im in (("g16", img16), ("bgr", bgr), ("bgr16", bgr16)):
        tensor, _ = prepare(im, ModelCard(resize="native", multiple=1))
        np.testing.assert_allclose(items[name].image, tensor[..., 0] * 255.0, rtol=0, atol=1e-3)
    assert items["g16"].image.dtype == np.float32
    assert items["g16"].kind == "16-bit gray"
    assert items["bgr16"].kind == "16-bit colour"
    # not rounded: a 16-bit level between two 8-bit levels stays between them
    assert np.any(np.abs(items["g16"].image - np.rint(items["g16"].image)) > 0.1)


# --- 4. one preprocessing ------------------------------------------------------------------------


def _identity_onnx(path: Path, card: ModelCard) -> Path:
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["mask"])],
        "identity",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", "H", "W", 1])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", "H", "W", 1])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    path.with_suffix(".json").write_text(card.model_dump_json())
    return path


def _dihedral(x: np.ndarray) -> list[np.ndarray]:
    out = []
    for k in range(4):
        r = np.rot90(x, k)
        out += [r, r[:, ::-1], r[::-1], r[::-1, ::-1]]
    return out


def test_training_validation_evaluation_and_station_feed_the_model_the_same(tmp_path: Path) -> None:
    """The one-preprocessing test: fails if any path computes the model input differently.

    A 16-bit colour image of odd size, a card with a non-trivial normalisation:
    the station's ``prepare``, the trainer's training crops, its whole-image
    validation (Keras) and evaluation / export parity (ONNX Runtime) must all
    give the same tensor.
    """
    from trainer.evaluate import OnnxPredictor
    from trainer.validate import keras_predictor

    rng = np.random.default_rng(7)
    raw = rng.integers(0, 65535, (37, 53, 3), dtype=np.uint16)
    (tmp_path / "d" / "images").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "d" / "images" / "x.png"), raw)
    (item,) = load(load_samples(tmp_path / "d"))
    station, _ = prepare(raw, CARD)  # what the station feeds (padded to the grid)
    want = station[:37, :53, 0]

    # training: a crop the size of the image, no photometric augmentation -> one of the
    # 8 flips/rotations of the station's tensor
    ((x, _),) = sample_crops([item], 1, 37, seed=0, brightness=0, contrast=0, card=CARD, blur=0)
    windows = [want[:, x0 : x0 + 37] for x0 in range(53 - 37 + 1)]
    assert any(np.allclose(x[..., 0], t, atol=1e-5) for w in windows for t in _dihedral(w))

    # evaluation and export parity: ONNX Runtime through the station's tiler
    ort_map = OnnxPredictor(_identity_onnx(tmp_path / "id.onnx", CARD), CARD)(raw)
    np.testing.assert_allclose(ort_map, want, atol=1e-5)

    # per-epoch validation and the final evaluation: Keras through the same tiler
    import keras

    inp = keras.Input((None, None, 1))
    model = keras.Model(inp, keras.layers.Identity()(inp))
    keras_map = keras_predictor(model, CARD)(raw)
    np.testing.assert_allclose(keras_map, want, atol=1e-5)
    keras_from_loaded = keras_predictor(model, CARD)(item.image)
    np.testing.assert_allclose(keras_from_loaded, want, atol=1e-4)


def test_the_trainer_calls_the_stations_preprocessing_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same code path, not a copy: the crops go through inspector.core.preprocess.normalise."""
    import inspector.core.preprocess as pre

    calls: list[tuple[int, ...]] = []
    real = pre.normalise

    def spy(gray: np.ndarray, norm: Normalisation) -> np.ndarray:
        calls.append(gray.shape)
        return real(gray, norm)

    monkeypatch.setattr(pre, "normalise", spy)
    from trainer.data.loader import Loaded

    it = Loaded("k", _texture(40, 40, 0), np.zeros((40, 40), np.uint8))
    list(sample_crops([it], 3, 32, seed=0, card=CARD))
    assert calls == [(32, 32)] * 3
    from trainer.data import pipeline

    assert pipeline.model_input is pre.model_input


# --- 1. checks before TensorFlow, naming the file -------------------------------------------------


def test_bad_files_are_refused_by_name_before_tensorflow_loads(tmp_path: Path) -> None:
    root = _mixed_set(tmp_path / "d", [(64, 64)] * 8)
    (root / "images" / "broken.png").write_bytes(b"not a png")
    cv2.imwrite(str(root / "images" / "odd.png"), _texture(50, 60, 9))
    cv2.imwrite(str(root / "masks" / "odd.png"), np.zeros((20, 20), np.uint8))
    cv2.imwrite(str(root / "images" / "speck.png"), _texture(4, 90, 9))
    code = (
        "import sys; from pathlib import Path; from trainer.config import TrainConfig; "
        "from trainer.train import prepare_data; "
        f"d = prepare_data(TrainConfig(data={str(root)!r}, out='o'), Path({str(tmp_path / 'r')!r})); "
        "print(sorted(r['key'] for r in d.summary.refused)); "
        "print([m for m in ('tensorflow', 'keras') if m in sys.modules])"
    )
    (tmp_path / "r").mkdir()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    refused, loaded_tf = r.stdout.strip().splitlines()
    assert refused == "['broken', 'odd', 'speck']"
    assert loaded_tf == "[]"
    items, why = load_checked(load_samples(root))
    reasons = {w.key: w.reason for w in why}
    assert "not a readable image" in reasons["broken"]
    assert "mask is 20x20" in reasons["odd"]
    assert "smaller than 8 px" in reasons["speck"]
    assert len(items) == 8


def test_a_folder_with_nothing_to_learn_fails_fast_naming_why(tmp_path: Path) -> None:
    root = _mixed_set(tmp_path / "d", [(64, 64)] * 2)
    (root / "images" / "junk.png").write_bytes(b"junk")
    r = subprocess.run(
        [sys.executable, "-m", "trainer", "train", "--data", str(root), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    assert "2 usable images (1 refused)" in r.stderr
    assert "junk.png: not a readable image" in r.stderr
    assert "Traceback" not in r.stderr
    clean = tmp_path / "clean"
    (clean / "images").mkdir(parents=True)
    for i in range(5):
        cv2.imwrite(str(clean / "images" / f"c{i}.png"), _texture(32, 32, i))
    r = subprocess.run(
        [sys.executable, "-m", "trainer", "train", "--data", str(clean), "--out", str(tmp_path / "r2")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    assert "no image has a defect" in r.stderr


def test_check_command_prints_the_summary(tmp_path: Path) -> None:
    root = _mixed_set(tmp_path / "d", [(117, 281), (64, 70), (300, 200), (160, 160), (100, 100)])
    cv2.imwrite(str(root / "images" / "c16.png"), (_texture(80, 90, 1).astype(np.uint16) * 257))
    (root / "images" / "bad.png").write_bytes(b"x")
    r = subprocess.run(
        [sys.executable, "-m", "trainer", "check", "--data", str(root), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    s = json.loads(r.stdout)
    assert (s["n_images"], s["n_defective"], s["n_refused"]) == (6, 3, 1)
    assert s["refused"][0]["key"] == "bad"
    assert s["min_hw"] == [64, 70]
    assert s["max_hw"] == [300, 281]  # per side
    assert s["pixel_types"] == {"8-bit gray": 5, "16-bit gray": 1}
    assert 0 < s["defect_share"] < 0.2
    assert {"crop", "batch", "epochs", "steps_per_epoch", "split"} <= set(s["settings"])
    text = subprocess.run(
        [sys.executable, "-m", "trainer", "check", "--data", str(root)], capture_output=True, text=True
    ).stdout
    assert "1 files refused" in text
    assert "bad.png: not a readable image" in text


# --- 3. honest evaluation: splits, DAGM Test/ -------------------------------------------------------


def _samples(keys: list[str], defective: set[str]) -> list[Sample]:
    return [Sample(k, Path(f"{k}.png"), None, k in defective) for k in keys]


def test_split_is_three_way_stratified_seeded_and_grouped_by_part() -> None:
    keys = [f"part{p:03d}_view{v}" for p in range(40) for v in range(3)]
    defective = {k for k in keys if int(k[4:7]) % 4 == 0}  # 10 defective parts, 30 views
    samples = _samples(keys, defective)
    a = make_split(samples, 0.2, seed=1, test_fraction=0.2)
    b = make_split(samples, 0.2, seed=1, test_fraction=0.2)
    c = make_split(samples, 0.2, seed=2, test_fraction=0.2)
    assert (a.train, a.val, a.test) == (b.train, b.val, b.test)
    assert a.test != c.test
    assert a.grouping.startswith("name prefix")
    parts = {name: {k.split("_")[0] for k in getattr(a, name)} for name in ("train", "val", "test")}
    assert not parts["train"] & parts["val"]
    assert not parts["train"] & parts["test"]
    assert not parts["val"] & parts["test"]
    assert len(a.train) + len(a.val) + len(a.test) == len(keys)
    assert len(a.test) >= 0.2 * len(keys)
    assert len(a.val) >= 0.2 * len(keys)
    for name in ("val", "test"):
        assert a.counts[f"{name}_defective"] >= 0.2 * len(defective)
        assert a.counts[f"{name}_defective"] < a.counts[name]  # defect-free ones too
    # a regex names the part when the names need it
    keys2 = [f"L{lot}-{p:02d}-{cam}" for lot in range(2) for p in range(15) for cam in ("a", "b")]
    groups, how = find_groups(keys2, r"^(L\d+-\d+)")
    assert how.startswith("regex")
    assert groups["L1-07-a"] == groups["L1-07-b"] == "L1-07"


@pytest.mark.parametrize(
    "names",
    [
        [f"{i:06d}" for i in range(50)],  # NEU: plain numbers
        [f"img_{i:04d}" for i in range(50)],  # one prefix for all: not parts
        [f"{c}_{i}" for c in ("scratch", "patch", "inclusion") for i in range(20)],  # classes
        [f"Class1/Train/{i:04d}" for i in range(50)],  # DAGM keys
    ],
)
def test_names_without_part_ids_are_not_grouped(names: list[str]) -> None:
    groups, how = find_groups(names)
    assert how == "none"
    assert len(set(groups.values())) == len(names)


def _write_dagm_part(folder: Path, n: int, seed: int) -> None:
    (folder / "Label").mkdir(parents=True)
    lines = ["1"]
    for i in range(1, n + 1):
        ident = f"{seed * 100 + i:04d}"
        img = _texture(48, 48, seed * 100 + i)
        if i % 2:
            m = _ellipse_mask(48, 48, 24, 20)
            img[m > 0] = 30
            cv2.imwrite(str(folder / "Label" / f"{ident}_label.PNG"), m)
            lines.append(f"{ident}\t1\t{ident}.PNG\t0\t{ident}_label.PNG")
        else:
            lines.append(f"{ident}\t0\t{ident}.PNG\t0\t0")
        cv2.imwrite(str(folder / f"{ident}.PNG"), img)
    (folder / "Label" / "Labels.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())


def test_evaluate_a_dagm_class_folder_with_only_test(tmp_path: Path) -> None:
    """The issue's 'no DAGM layout found': a class folder holding only Test/ is scored."""
    from trainer.evaluate import evaluate_cli

    _write_dagm_part(tmp_path / "Class1" / "Test", 6, seed=1)
    samples = load_samples(tmp_path / "Class1")
    assert [s.key for s in samples][:2] == ["Class1/Test/0101", "Class1/Test/0102"]
    model = _identity_onnx(tmp_path / "id.onnx", ModelCard(resize="native", multiple=1))
    m = evaluate_cli(model, tmp_path / "Class1", tmp_path / "eval")
    assert m["n_images"] == 6
    assert m["split"] == "all"
    assert all(r["key"].startswith("Class1/Test/") for r in m["per_image"])
    # with Train/ beside it, evaluate still scores Test/ (the test set), and training
    # takes Test/ as its test split
    _write_dagm_part(tmp_path / "Class1" / "Train", 10, seed=2)
    m = evaluate_cli(model, tmp_path / "Class1", tmp_path / "eval2")
    assert all(r["key"].startswith("Class1/Test/") for r in m["per_image"])
    from trainer.train import prepare_data

    (tmp_path / "run").mkdir()
    d = prepare_data(TrainConfig(data=str(tmp_path / "Class1"), out="o"), tmp_path / "run")
    assert d.split.test_source == "DAGM Test/ folder"
    assert d.split.test == [f"Class1/Test/{101 + i:04d}" for i in range(6)]
    assert all(k.startswith("Class1/Train/") for k in d.split.train + d.split.val)
    assert len(d.test_samples) == 6
    with pytest.raises(DataError, match="no DAGM layout found"):
        load_samples(tmp_path / "run")


# --- one definition per name, one comparison --------------------------------------------------------


def test_threshold_is_inclusive_everywhere() -> None:
    from inspector.core.postprocess import extract_regions
    from trainer.data.loader import Loaded
    from trainer.evaluate import defect_pixels
    from trainer.validate import score

    prob = np.zeros((20, 20), np.float32)
    prob[5:15, 5:15] = 0.5  # exactly at the threshold
    mask = (prob > 0).astype(np.uint8)
    assert len(extract_regions(prob, 0.5)) == 1  # the station's rules
    assert defect_pixels(prob, 0.5).sum() == 100  # evaluation
    assert score([Loaded("k", mask, mask)], [prob], 0.5)["val_dice_defective"] == 1.0  # validation


@pytest.mark.slow
def test_keras_dice_is_the_per_image_dice_at_the_same_threshold() -> None:
    import tensorflow as tf

    from trainer.losses import dice_metric, dice_np, iou_metric, iou_np

    t = np.zeros((3, 8, 8, 1), np.float32)
    p = np.zeros((3, 8, 8, 1), np.float32)
    t[1, :4, :4] = 1  # crop 1: half found
    p[1, :4, :2] = 0.5  # exactly at the threshold counts
    t[2, :2, :2] = 1  # crop 2: missed; crop 0: both empty
    want = np.mean([dice_np(t[i, ..., 0], p[i, ..., 0] >= 0.5) for i in range(3)])
    assert want == pytest.approx((1 + 2 * 8 / 24 + 0) / 3)
    assert float(dice_metric(tf.constant(t), tf.constant(p))) == pytest.approx(want)
    want_iou = np.mean([iou_np(t[i, ..., 0], p[i, ..., 0] >= 0.5) for i in range(3)])
    assert float(iou_metric(tf.constant(t), tf.constant(p))) == pytest.approx(want_iou)


def test_image_score_auroc_and_ap_follow_the_rules() -> None:
    from inspector.core.recipe import Recipe
    from trainer.evaluate import auroc, average_precision, rule_score, score_maps

    recipe = Recipe()  # threshold 0.5, min area 20, max_count 0
    speck = np.zeros((40, 40), np.float32)
    speck[3:6, 3:6] = 0.99  # 9 px: below the min area at any threshold -> never defective
    blob = np.zeros((40, 40), np.float32)
    blob[10:20, 10:20] = 0.7
    faint = np.zeros((40, 40), np.float32)
    faint[10:20, 10:20] = 0.3
    assert rule_score(speck, recipe) == 0.0
    assert rule_score(blob, recipe) == pytest.approx(0.7, abs=1e-3)
    assert rule_score(faint, recipe) == pytest.approx(0.3, abs=1e-3)
    assert auroc([True, False], [0.7, 0.0]) == 1.0
    assert auroc([True, False, True, False], [0.3, 0.3, 0.7, 0.0]) == pytest.approx(0.875)
    assert average_precision([True, False, True], [0.9, 0.8, 0.1]) == pytest.approx((1 + 2 / 3) / 2)
    truth = np.zeros((40, 40), np.uint8)
    truth[10:20, 10:20] = 1
    z = np.zeros((40, 40), np.uint8)
    s = score_maps(["a", "b", "c"], [truth, z, truth], [blob, speck, faint], recipe)["summary"]
    assert s["auroc"] == 1.0  # the speck's max pixel (0.99) would have ranked it first
    assert s["average_precision"] == 1.0


# --- end to end with the defaults -------------------------------------------------------------------


@pytest.mark.slow
def test_default_training_on_mixed_sizes_reports_test_figures(tmp_path: Path) -> None:
    """Mixed sizes with images smaller than the crop, defaults for everything the data decides;
    the run ends with a val-chosen threshold and test-split figures, and the export says so."""
    from inspector.core.model_card import load_card
    from trainer.cli import main
    from trainer.export import export_run

    sizes = [(117, 281), (64, 70), (200, 150), (96, 96), (150, 90), (81, 130)] * 3
    root = _mixed_set(tmp_path / "d", sizes)
    run = tmp_path / "run"
    rc = main(
        [
            "train", "--data", str(root), "--out", str(run), "--crop", "160",
            "--base-filters", "4", "--depth", "3", "--epochs", "2", "--steps-per-epoch", "2",
            "--threads", "2",
        ]
    )  # fmt: skip
    assert rc == 0
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["crop"] == 160
    assert {"batch", "patience"} <= set(cfg["auto"])
    result = json.loads((run / "result.json").read_text())
    assert result["report_split"] == "test"
    assert result["test"]["n_images"] == len(json.loads((run / "split.json").read_text())["test"]) > 0
    assert 0 < result["threshold"] < 1
    for d in ("eval_val", "eval_test"):
        assert (run / d / "metrics.json").is_file()
        assert (run / d / "pr_curve.png").stat().st_size > 1000
    summary = json.loads((run / "data_summary.json").read_text())
    assert summary["n_images"] == len(sizes)
    onnx_path = export_run(run, tmp_path / "out")
    card = load_card(onnx_path)
    assert card.metrics["split"] == "test"
    assert card.metrics["threshold_from"] == "val"
    assert card.metrics_val["split"] == "val"
    assert card.threshold == result["threshold"]
    assert card.normalisation == Normalisation()


# --- 6. the Trainer tab ------------------------------------------------------------------------------


def test_trainer_tab_offers_the_defaults_shows_the_data_and_the_test_figures(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from db.session import open_db
    from inspector.core.model_card import load_card
    from inspector.ui.context import AppContext, ModelState
    from inspector.ui.trainer_panel import TrainerPanel
    from tests.review_helpers import RECIPE
    from tests.tiny_model import build_tiny_model

    db = open_db(f"sqlite:///{tmp_path}/t.db")
    try:
        settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        settings.setValue("trainer/runs_dir", str(tmp_path / "runs"))
        model = build_tiny_model(tmp_path / "prod" / "model.onnx")
        ctx = AppContext(db, "test", settings, RECIPE, ModelState(model, load_card(model)))
        panel = TrainerPanel(ctx)
        qtbot.addWidget(panel)
        # every data-driven setting starts at "auto": no flag, the trainer chooses (as on the CLI)
        args = panel.train_args(tmp_path / "d", tmp_path / "r")
        for flag in ("--epochs", "--steps-per-epoch", "--batch", "--crop"):
            assert flag not in args
            assert panel.params[flag].text().startswith("auto")
        panel.params["--crop"].setValue(160)
        assert args != panel.train_args(tmp_path / "d", tmp_path / "r")
        assert panel.train_args(tmp_path / "d", tmp_path / "r")[-4:-2] == ["--crop", "160"]

        root = _mixed_set(tmp_path / "d", [(117, 281), (64, 70), (300, 200), (160, 160), (90, 90)])
        (root / "images" / "bad.png").write_bytes(b"x")
        panel.data_edit.setText(str(root))
        assert panel.check_data()
        qtbot.waitUntil(lambda: "refused" in panel.summary_label.text(), timeout=20000)
        text = panel.summary_label.text()
        assert "5 usable images: 3 defective, 2 defect-free" in text
        assert "crop 160" in text  # the given crop; the rest chosen from the data
        assert any("bad.png: not a readable image" in ln for ln in panel.summary_lines)

        panel._on_event(
            {
                "event": "evaluation",
                "threshold": 0.55,
                "report_split": "test",
                "test": {
                    "n_images": 70, "n_defective": 9, "tp": 9, "fn": 0, "tn": 61, "fp": 0, "tpr": 1.0,
                    "tnr": 1.0, "dice_defective": 0.84, "dice_all": 0.97, "auroc": 1.0,
                    "average_precision": 1.0,
                },
                "eval_dirs": [],
            }
        )  # fmt: skip
        shown = panel.result_label.text()
        assert "Test split: 70 images, 9 defective; threshold 0.55 chosen on val" in shown
        assert "image TPR 100.0 % (9/9), TNR 100.0 % (61/61)" in shown
        assert "Dice defective 0.840" in shown
    finally:
        db.dispose()


def test_threshold_without_defect_free_images_is_chosen_by_dice() -> None:
    """An all-defective val split (NEU) has no TNR: TPR alone would pick the lowest threshold."""
    from trainer.evaluate import suggest_threshold

    nan = float("nan")
    curve = [
        {"threshold": t, "image_recall": r, "image_tnr": nan, "dice_defective": d, "dice_all": d}
        for t, r, d in ((0.05, 1.0, 0.60), (0.3, 0.99, 0.71), (0.5, 0.98, 0.72), (0.7, 0.95, 0.70))
    ]
    assert suggest_threshold(curve) == 0.5
    for r, tnr in zip(curve, (0.9, 1.0, 1.0, 1.0), strict=True):
        r["image_tnr"] = tnr
    assert suggest_threshold(curve) == 0.05  # with good images: a missed defect costs most
