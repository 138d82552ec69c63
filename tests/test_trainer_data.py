"""Trainer data: DAGM Labels.txt, images/+masks/ reader, synth generator, split, crops.

No TensorFlow here: these readers must stay importable by the station.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from trainer.data import DataError, load_samples, load_split, make_split, parse_labels, save_split
from trainer.data.loader import load
from trainer.data.pipeline import pad_to_multiple, sample_crops
from trainer.data.synth import make_image, write_synthetic


def _write_dagm(folder: Path, rows: list[tuple[str, int, bool]], labels: bool = True) -> None:
    """rows: (id, defective, has_mask_file); CRLF and trailing tabs like the real files."""
    (folder / "Label").mkdir(parents=True)
    lines = ["1"]
    for ident, defective, has_mask in rows:
        img = np.full((32, 32), 100, np.uint8)
        cv2.imwrite(str(folder / f"{ident}.PNG"), img)
        if has_mask:
            m = np.zeros((32, 32), np.uint8)
            m[8:16, 8:16] = 255
            cv2.imwrite(str(folder / "Label" / f"{ident}_label.PNG"), m)
            lines.append(f"{ident}\t{defective}\t{ident}.PNG\t0\t{ident}_label.PNG")
        else:
            lines.append(f"{ident}\t{defective}\t{ident}.PNG\t0\t0\t")
    if labels:
        (folder / "Label" / "Labels.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())


def test_parse_labels_crlf_trailing_tabs_and_missing_mask() -> None:
    text = (
        "1\r\n0001\t0\t0001.PNG\t0\t0\t\r\n0002\t1\t0002.PNG\t0\t0002_label.PNG\r\n"
        "\r\n0003\t0\t0003.PNG\t0\t0\t\t"
    )
    rows = parse_labels(text)
    assert [(r.id, r.defective, r.image, r.mask) for r in rows] == [
        ("0001", False, "0001.PNG", None),
        ("0002", True, "0002.PNG", "0002_label.PNG"),
        ("0003", False, "0003.PNG", None),
    ]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("1\r\n0001\t1\t0001.PNG\t0\t0\r\n", "marked defective but names no mask"),
        ("1\r\n0001\t2\t0001.PNG\t0\t0\r\n", "defective flag must be 0 or 1"),
        ("1\r\n0001\t0\r\n", "expected"),
    ],
)
def test_parse_labels_errors_name_file_and_line(text: str, needle: str) -> None:
    with pytest.raises(DataError, match=needle) as exc:
        parse_labels(text, "Class9/Train/Label/Labels.txt")
    assert "Labels.txt:2" in str(exc.value)


def test_dagm_layout_at_every_level(tmp_path: Path) -> None:
    for cls in ("Class1", "Class10"):
        _write_dagm(tmp_path / cls / "Train", [("0001", 0, False), ("0002", 1, True)])
        _write_dagm(tmp_path / cls / "Test", [("0001", 0, False)])
    everything = load_samples(tmp_path)
    assert [s.key for s in everything] == [
        "Class1/Train/0001",
        "Class1/Train/0002",
        "Class10/Train/0001",
        "Class10/Train/0002",
    ]
    assert len(load_samples(tmp_path, parts=("Train", "Test"))) == 6
    one_class = load_samples(tmp_path / "Class1")
    one_folder = load_samples(tmp_path / "Class1" / "Train")
    # same keys whatever level was given, so a split file works with either
    assert [s.key for s in one_class] == [s.key for s in one_folder] == [s.key for s in everything[:2]]
    assert [s.key for s in one_folder] == ["Class1/Train/0001", "Class1/Train/0002"]
    s = one_folder[1]
    assert s.defective
    assert s.mask is not None
    assert s.mask.name == "0002_label.PNG"
    assert one_folder[0].mask is None
    assert not one_folder[0].defective


def test_dagm_without_labels_file_uses_mask_files(tmp_path: Path) -> None:
    _write_dagm(tmp_path / "Train", [("0001", 0, False), ("0002", 1, True)], labels=False)
    samples = load_samples(tmp_path / "Train")
    assert [(s.key, s.defective) for s in samples] == [("Train/0001", False), ("Train/0002", True)]


def test_dagm_missing_mask_file_is_a_clear_error(tmp_path: Path) -> None:
    _write_dagm(tmp_path / "Train", [("0002", 1, True)])
    (tmp_path / "Train" / "Label" / "0002_label.PNG").unlink()
    with pytest.raises(DataError, match=r"Labels.txt: row 0002 names mask 0002_label.PNG"):
        load_samples(tmp_path / "Train")


def test_images_masks_reader_mixed_sizes_and_formats(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    shapes = {"a": (40, 60), "b": (64, 64), "c": (33, 47), "d": (50, 50)}
    exts = {"a": ".png", "b": ".jpg", "c": ".bmp", "d": ".tiff"}
    for stem, (h, w) in shapes.items():
        cv2.imwrite(str(tmp_path / "images" / f"{stem}{exts[stem]}"), np.full((h, w, 3), 90, np.uint8))
    m = np.zeros(shapes["a"], np.uint8)
    m[5:10, 5:10] = 1  # nonzero (not just 255) counts as defect
    cv2.imwrite(str(tmp_path / "masks" / "a.bmp"), m)
    cv2.imwrite(str(tmp_path / "masks" / "d.png"), np.zeros(shapes["d"], np.uint8))  # empty mask
    c16 = np.full(shapes["c"], 40000, np.uint16)
    cv2.imwrite(str(tmp_path / "images" / "c.png"), c16)  # 16-bit PNG beside the BMP -> duplicate stem
    with pytest.raises(DataError, match="share the stem 'c'"):
        load_samples(tmp_path)
    (tmp_path / "images" / "c.png").unlink()

    cv2.imwrite(str(tmp_path / "images" / "e.tif"), np.full((20, 24), 40000, np.uint16))  # 16-bit
    samples = load_samples(tmp_path)
    assert [s.key for s in samples] == ["a", "b", "c", "d", "e"]
    loaded = load(samples)
    for it in loaded:
        assert it.image.shape == shapes.get(it.key, (20, 24))
    assert [it.defective for it in loaded] == [True, False, False, False, False]
    # the station's gray levels: 16-bit and colour are not rounded to 8 bits (float32, 0..255)
    assert loaded[4].image.dtype == np.float32
    assert float(loaded[4].image[0, 0]) == pytest.approx(40000 / 257, abs=1e-3)
    assert int(loaded[0].mask.sum()) == 25


def test_images_masks_reader_errors_name_files(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "x.png"), np.zeros((20, 30), np.uint8))
    cv2.imwrite(str(tmp_path / "masks" / "x.png"), np.zeros((20, 20), np.uint8))
    with pytest.raises(DataError, match=r"masks/x.png: mask is 20x20 but its image .*x.png is 30x20"):
        load(load_samples(tmp_path))
    (tmp_path / "images" / "y.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"y.png: not a readable image"):
        load(load_samples(tmp_path)[1:])
    cv2.imwrite(str(tmp_path / "masks" / "orphan.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(DataError, match="masks without an image: orphan"):
        load_samples(tmp_path)
    with pytest.raises(DataError, match="data folder not found"):
        load_samples(tmp_path / "nope")


def test_synth_is_deterministic_per_seed(tmp_path: Path) -> None:
    a1, m1 = make_image(7, 3, 64, defective=True)
    a2, m2 = make_image(7, 3, 64, defective=True)
    b, _ = make_image(8, 3, 64, defective=True)
    assert np.array_equal(a1, a2)
    assert np.array_equal(m1, m2)
    assert not np.array_equal(a1, b)
    assert m1.any()
    assert set(np.unique(m1)) <= {0, 255}
    n1 = write_synthetic(tmp_path / "one", 6, seed=5, size=64)
    n2 = write_synthetic(tmp_path / "two", 6, seed=5, size=64)
    assert n1 == n2 == len(list((tmp_path / "one" / "masks").iterdir()))
    for f in sorted((tmp_path / "one").rglob("*.png")):
        assert f.read_bytes() == (tmp_path / "two" / f.relative_to(tmp_path / "one")).read_bytes()
    # image i does not depend on how many were made
    write_synthetic(tmp_path / "three", 3, seed=5, size=64)
    assert (tmp_path / "three/images/synth_00002.png").read_bytes() == (
        tmp_path / "one/images/synth_00002.png"
    ).read_bytes()


def test_synth_cli_writes_images_masks_layout(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainer",
            "synth",
            "--out",
            str(out),
            "--n",
            "5",
            "--seed",
            "1",
            "--size",
            "64",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote 5 images" in r.stderr
    samples = load_samples(out)
    assert len(samples) == 5
    assert all(s.image.suffix == ".png" for s in samples)


def test_split_is_stratified_seeded_and_round_trips(tmp_path: Path) -> None:
    write_synthetic(tmp_path / "d", 40, seed=2, size=32, p_defective=0.3)
    samples = load_samples(tmp_path / "d")
    n_def = sum(s.defective for s in samples)
    a = make_split(samples, 0.3, seed=1)
    b = make_split(samples, 0.3, seed=1)
    c = make_split(samples, 0.3, seed=2)
    assert a.train == b.train
    assert a.val == b.val
    assert a.val != c.val
    assert not set(a.train) & set(a.val)
    assert len(a.train) + len(a.val) == 40
    assert len(a.val) >= 0.3 * 40
    assert a.counts["val_defective"] >= 0.3 * n_def
    save_split(a, tmp_path / "split.json")
    assert json.loads((tmp_path / "split.json").read_text())["val"] == a.val
    assert load_split(tmp_path / "split.json").train == a.train
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataError, match=r"bad\.json: not a valid split file"):
        load_split(tmp_path / "bad.json")


def test_crops_are_defect_aware_augmented_and_deterministic(tmp_path: Path) -> None:
    write_synthetic(tmp_path / "d", 8, seed=3, size=128, p_defective=0.5)
    items = load(load_samples(tmp_path / "d"))
    crops = list(sample_crops(items, 40, 64, seed=9, defect_fraction=1.0))
    again = list(sample_crops(items, 40, 64, seed=9, defect_fraction=1.0))
    assert all(np.array_equal(x, y) for (x, _), (y, _) in zip(crops, again, strict=True))
    assert crops[0][0].shape == (64, 64, 1)
    assert crops[0][0].dtype == np.float32
    assert min(float(x.min()) for x, _ in crops) >= 0.0
    assert max(float(x.max()) for x, _ in crops) <= 1.0
    # defect-aware sampling: (nearly) every crop holds defect pixels
    assert sum(bool(m.any()) for _, m in crops) >= 36
    uniform = list(sample_crops(items, 40, 64, seed=9, defect_fraction=0.0))
    assert sum(bool(m.any()) for _, m in uniform) < 36


def test_pad_to_multiple_reflects() -> None:
    x = np.arange(30, dtype=np.float32).reshape(5, 6)
    y, hw = pad_to_multiple(x, 4)
    assert y.shape == (8, 8)
    assert hw == (5, 6)
    assert np.array_equal(y[:5, :6], x)


def test_data_modules_do_not_import_tensorflow() -> None:
    code = (
        "import sys, trainer, trainer.data, trainer.data.synth, trainer.data.pipeline, trainer.losses, "
        "trainer.model, trainer.evaluate, trainer.export, trainer.cli, trainer.train, trainer.validate; "
        "bad = [m for m in ('tensorflow', 'keras', 'tf2onnx') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_train_cli_bad_data_fails_fast_naming_the_file(tmp_path: Path) -> None:
    _write_dagm(tmp_path / "Train", [("0002", 1, True)])
    (tmp_path / "Train" / "Label" / "Labels.txt").write_text("1\r\n0002\t7\t0002.PNG\t0\t0\r\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainer",
            "train",
            "--data",
            str(tmp_path / "Train"),
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    assert "Labels.txt:2: defective flag must be 0 or 1" in r.stderr
    assert "Traceback" not in r.stderr


def test_suggest_threshold_prefers_recall_then_specificity() -> None:
    from trainer.evaluate import suggest_threshold

    def row(t: float, tpr: float, tnr: float, d: float = 0.5) -> dict:
        return {"threshold": t, "image_recall": tpr, "image_tnr": tnr, "dice_defective": d, "dice_all": d}

    curve = [row(0.3, 1.0, 0.7), row(0.5, 1.0, 0.9), row(0.7, 1.0, 0.9), row(0.9, 0.8, 1.0)]
    assert suggest_threshold(curve) == 0.5  # ties broken towards 0.5
    curve[2] = row(0.7, 1.0, 0.9, d=0.8)
    assert suggest_threshold(curve) == 0.7
