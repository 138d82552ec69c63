"""U-Net shape/contract, Dice/IoU on hand-made masks (numpy and Keras versions)."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.losses import dice_np, iou_np


def _masks() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    z = np.zeros((8, 8), bool)
    a = z.copy()
    a[0:4, 0:4] = True  # 16 px
    b = z.copy()
    b[4:8, 4:8] = True  # 16 px, disjoint from a
    c = z.copy()
    c[0:4, 0:2] = True  # 8 px, inside a
    return {"empty": (z, z), "disjoint": (a, b), "identical": (a, a), "partial": (a, c), "missed": (a, z)}


EXPECTED = {  # (dice, iou)
    "empty": (1.0, 1.0),  # nothing to find, nothing found
    "disjoint": (0.0, 0.0),
    "identical": (1.0, 1.0),
    "partial": (2 * 8 / (16 + 8), 8 / 16),
    "missed": (0.0, 0.0),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_numpy_dice_iou(case: str) -> None:
    t, p = _masks()[case]
    assert dice_np(t, p) == pytest.approx(EXPECTED[case][0])
    assert iou_np(t, p) == pytest.approx(EXPECTED[case][1])


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_keras_metrics_and_losses_agree(case: str) -> None:
    import tensorflow as tf

    from trainer.losses import dice_bce_loss, dice_loss, dice_metric, iou_metric

    t, p = _masks()[case]
    yt = tf.constant(t[None, ..., None].astype("float32"))
    yp = tf.constant(p[None, ..., None].astype("float32"))
    assert float(dice_metric(yt, yp)) == pytest.approx(EXPECTED[case][0])
    assert float(iou_metric(yt, yp)) == pytest.approx(EXPECTED[case][1])
    # soft Dice loss is smoothed (+1) so that empty/empty gives 0 loss, not NaN
    loss = float(dice_loss(yt, yp))
    assert 0.0 <= loss <= 1.0
    if case in ("empty", "identical"):
        assert loss == pytest.approx(0.0, abs=1e-6)
    assert float(dice_bce_loss(yt, yp)) >= loss - 1e-6


@pytest.mark.slow
def test_seed_unet_contract() -> None:
    from trainer.model import build_unet

    m = build_unet()
    assert m.count_params() == 1_940_817  # the seed slide's ~1.94 M
    assert m.inputs[0].name == "image"
    assert tuple(m.inputs[0].shape) == (None, None, None, 1)
    assert tuple(m.outputs[0].shape) == (None, None, None, 1)
    assert m.layers[-1].name == "mask"
    small = build_unet(base_filters=4, depth=3)
    out = small.predict_on_batch(np.random.default_rng(0).random((2, 48, 32, 1), dtype=np.float32))
    assert out.shape == (2, 48, 32, 1)
    assert float(out.min()) >= 0.0
    assert float(out.max()) <= 1.0
    bn = build_unet(base_filters=4, depth=3, batchnorm=True)
    assert any(layer.__class__.__name__ == "BatchNormalization" for layer in bn.layers)
    with pytest.raises(ValueError, match="depth"):
        build_unet(depth=1)
