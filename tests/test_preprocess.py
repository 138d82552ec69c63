"""Image -> tensor -> probability map geometry and normalisation, per resize mode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspector.core.model_card import ModelCard, Normalisation
from inspector.core.preprocess import PrepInfo, prepare, prepare_batch, restore, to_gray_float


def _card(**kw: object) -> ModelCard:
    return ModelCard.model_validate({"input_height": 64, "input_width": 96, **kw})


def _ramp(h: int, w: int) -> np.ndarray:
    return (np.add.outer(np.arange(h), np.arange(w)) % 256).astype(np.uint8)


# --- to_gray_float -----------------------------------------------------------


def test_gray_uint8_is_float_copy() -> None:
    img = _ramp(10, 12)
    g = to_gray_float(img)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, img)
    g += 1
    assert img[0, 0] == 0  # never aliases the caller's image


def test_uint16_maps_to_8bit_scale() -> None:
    img = np.array([[0, 257, 65535, 32896]], np.uint16)
    np.testing.assert_allclose(to_gray_float(img), [[0, 1, 255, 128]], atol=1e-4)


def test_bgr_bgra_and_gray_alpha() -> None:
    b, gch, r = 10, 200, 50
    bgr = np.empty((4, 5, 3), np.uint8)
    bgr[:] = (b, gch, r)
    expected = 0.114 * b + 0.587 * gch + 0.299 * r
    np.testing.assert_allclose(to_gray_float(bgr), expected, atol=0.01)
    bgra = np.dstack([bgr, np.zeros((4, 5), np.uint8)])
    np.testing.assert_allclose(to_gray_float(bgra), expected, atol=0.01)
    ga = np.dstack([np.full((4, 5), 77, np.uint8), np.full((4, 5), 255, np.uint8)])
    np.testing.assert_array_equal(to_gray_float(ga), 77)
    bgr16 = bgr.astype(np.uint16) * 257
    np.testing.assert_allclose(to_gray_float(bgr16), expected, atol=0.01)


def test_unsupported_dtype() -> None:
    with pytest.raises(ValueError, match="int32"):
        to_gray_float(np.zeros((4, 4), np.int32))


# --- prepare / restore -------------------------------------------------------


def test_normalisation_formula() -> None:
    card = _card(resize="pad", normalisation=Normalisation(scale=255.0, mean=0.5, std=0.25))
    img = np.full((64, 96), 51, np.uint8)  # 51/255 = 0.2 -> (0.2 - 0.5) / 0.25 = -1.2
    t, _ = prepare(img, card)
    assert t.dtype == np.float32
    assert t.shape == (64, 96, 1)
    np.testing.assert_allclose(t, -1.2, atol=1e-5)


def test_default_normalisation_is_unit_scale() -> None:
    t, _ = prepare(np.full((64, 96), 255, np.uint8), _card())
    np.testing.assert_allclose(t, 1.0, atol=1e-6)


def test_resize_mode_roundtrip() -> None:
    img = _ramp(120, 150)
    t, info = prepare(img, _card(resize="resize"))
    assert t.shape == (64, 96, 1)
    assert info == PrepInfo(orig_hw=(120, 150), tensor_hw=(64, 96), mode="resize", content_hw=(64, 96))
    prob = np.full((64, 96, 1), 0.25, np.float32)
    prob[:32] = 0.75  # top half
    out = restore(prob, info)
    assert out.shape == (120, 150)
    assert out.dtype == np.float32
    assert out[:50].min() == pytest.approx(0.75)
    assert out[70:].max() == pytest.approx(0.25)


def test_resize_mode_same_size_is_identity() -> None:
    img = _ramp(64, 96)
    t, info = prepare(img, _card(resize="resize"))
    np.testing.assert_allclose(t[:, :, 0], img / 255.0, atol=1e-6)
    p = np.random.default_rng(0).random((64, 96), dtype=np.float32)
    out = restore(p, info)
    np.testing.assert_array_equal(out, p)
    assert out is not p


def test_pad_mode_reflects_and_restores_by_slicing() -> None:
    img = _ramp(50, 70)
    t, info = prepare(img, _card(resize="pad"))
    assert t.shape == (64, 96, 1)
    assert info.content_hw == (50, 70)
    # original pixels stay where they were
    np.testing.assert_allclose(t[:50, :70, 0], img / 255.0, atol=1e-6)
    # reflection (no repeated edge row): row 50 mirrors row 48
    np.testing.assert_allclose(t[50, :70, 0], img[48] / 255.0, atol=1e-6)
    np.testing.assert_allclose(t[:50, 70, 0], img[:, 68] / 255.0, atol=1e-6)
    p = np.random.default_rng(1).random((64, 96, 1), dtype=np.float32)
    out = restore(p, info)
    assert out.shape == (50, 70)
    np.testing.assert_array_equal(out, p[:50, :70, 0])


# An image larger than a pad card's input used to be cropped silently (the rest restored as
# probability 0, never inspected). prepare now refuses it; inspector.core.tiling tiles it
# (tests/failsafe/test_whole_image.py).
@pytest.mark.parametrize(("h", "w"), [(80, 100), (40, 200), (65, 96)])
def test_pad_mode_refuses_to_crop_larger_images(h: int, w: int) -> None:
    with pytest.raises(ValueError, match=rf"image {w}x{h} is larger than the 96x64 input.*tiled"):
        prepare(_ramp(h, w), _card(resize="pad"))


def test_restore_refuses_a_cropped_prep_info() -> None:
    info = PrepInfo(orig_hw=(80, 100), tensor_hw=(64, 96), mode="pad", content_hw=(64, 96))
    with pytest.raises(ValueError, match="only part of it was inspected"):
        restore(np.ones((64, 96), np.float32), info)


@pytest.mark.parametrize(("h", "w", "th", "tw"), [(50, 70, 64, 80), (64, 80, 64, 80), (1, 17, 16, 32)])
def test_native_mode_pads_to_multiple(h: int, w: int, th: int, tw: int) -> None:
    img = _ramp(h, w)
    t, info = prepare(img, _card(resize="native", multiple=16))
    assert t.shape == (th, tw, 1)
    np.testing.assert_allclose(t[:h, :w, 0], img / 255.0, atol=1e-6)
    out = restore(np.arange(th * tw, dtype=np.float32).reshape(th, tw), info)
    assert out.shape == (h, w)
    np.testing.assert_array_equal(out, np.arange(th * tw, dtype=np.float32).reshape(th, tw)[:h, :w])


def test_restore_rejects_wrong_shape() -> None:
    _, info = prepare(_ramp(50, 70), _card(resize="pad"))
    with pytest.raises(ValueError, match="does not match"):
        restore(np.zeros((32, 32), np.float32), info)


def test_defect_position_survives_resize_roundtrip() -> None:
    # a bright square at a known place must come back at (about) the same place
    img = np.zeros((256, 384), np.uint8)
    img[100:140, 200:260] = 255
    t, info = prepare(img, _card(resize="resize"))
    prob = (t[:, :, 0] > 0.5).astype(np.float32)  # an "ideal model"
    out = restore(prob, info)
    ys, xs = np.nonzero(out > 0.5)
    assert abs(ys.mean() - 119.5) < 2
    assert abs(xs.mean() - 229.5) < 2


def test_prepare_batch_stacks_nhwc() -> None:
    card = _card(resize="resize")
    batch, infos = prepare_batch([_ramp(120, 150), _ramp(64, 96), cv2.merge([_ramp(30, 30)] * 3)], card)
    assert batch.shape == (3, 64, 96, 1)
    assert batch.dtype == np.float32
    assert [i.orig_hw for i in infos] == [(120, 150), (64, 96), (30, 30)]


def test_prepare_batch_native_needs_same_size() -> None:
    card = _card(resize="native", multiple=16)
    with pytest.raises(ValueError, match="different tensor shapes"):
        prepare_batch([_ramp(50, 50), _ramp(70, 70)], card)
    with pytest.raises(ValueError, match="empty"):
        prepare_batch([], card)


def test_only_single_channel_models() -> None:
    with pytest.raises(ValueError, match="1-channel"):
        prepare(_ramp(64, 96), _card(channels=3))
