"""The seed U-Net (the model contract in docs/architecture.md), fully convolutional.

Input ``image`` [N, H, W, 1] float32, output ``mask`` [N, H, W, 1] sigmoid
probabilities; N, H and W are dynamic (H, W must be multiples of 2**(depth-1)).
"""

from __future__ import annotations

from typing import Any

from inspector.core.contract import INPUT_NAME, OUTPUT_NAME


def build_unet(
    base_filters: int = 16,
    depth: int = 5,
    batchnorm: bool = False,
    name: str = "unet",
    dtype: str | None = None,
) -> Any:
    """A Keras U-Net: 3x3 Conv+ReLU pairs at base*2**i filters for i < depth.

    With the defaults (16..256 filters, 4 poolings) this is the seed slide's
    network, ~1.94 M parameters. ``batchnorm`` puts BatchNorm between each conv
    and its ReLU (optional: steadier training of small nets; folds away in ONNX).
    ``dtype``: the layers' dtype policy ("mixed_bfloat16" computes in bfloat16 with
    float32 weights); the input and the sigmoid head stay float32. The weights are
    the same either way, so :func:`float32_twin` gives the float32 net to export.
    """
    if depth < 2:
        raise ValueError(f"depth must be >= 2 (got {depth})")
    if base_filters < 1:
        raise ValueError(f"base_filters must be >= 1 (got {base_filters})")
    import keras
    from keras import layers

    def conv_pair(x: Any, filters: int, tag: str) -> Any:
        for k in (1, 2):
            if batchnorm:
                x = layers.Conv2D(
                    filters, 3, padding="same", use_bias=False, name=f"{tag}_conv{k}", dtype=dtype
                )(x)
                x = layers.BatchNormalization(name=f"{tag}_bn{k}", dtype=dtype)(x)
                x = layers.ReLU(name=f"{tag}_relu{k}", dtype=dtype)(x)
            else:
                x = layers.Conv2D(
                    filters, 3, padding="same", activation="relu", name=f"{tag}_conv{k}", dtype=dtype
                )(x)
        return x

    inp = keras.Input(shape=(None, None, 1), name=INPUT_NAME, dtype="float32")
    x = inp
    skips = []
    for level in range(depth - 1):
        x = conv_pair(x, base_filters * 2**level, f"down{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level}", dtype=dtype)(x)
    x = conv_pair(x, base_filters * 2 ** (depth - 1), "bottom")
    for level in reversed(range(depth - 1)):
        filters = base_filters * 2**level
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"up{level}", dtype=dtype)(x)
        x = layers.Concatenate(name=f"skip{level}", dtype=dtype)([x, skips[level]])
        x = conv_pair(x, filters, f"dec{level}")
    # float32 head even under mixed precision, so probabilities stay exact-ish
    out = layers.Conv2D(1, 1, activation="sigmoid", name=OUTPUT_NAME, dtype="float32")(x)
    return keras.Model(inp, out, name=name)


def size_multiple(depth: int) -> int:
    """H and W must be divisible by this for the skips to line up."""
    return 2 ** (depth - 1)


def compute_dtype(model: Any) -> str:
    """The compute dtype of the net's first conv ("float32" or "bfloat16")."""
    for layer in model.layers:
        if layer.__class__.__name__ == "Conv2D":
            return str(layer.dtype_policy.compute_dtype)
    return "float32"


def float32_twin(model: Any, base_filters: int, depth: int, batchnorm: bool) -> Any:
    """``model`` itself when it computes in float32, else a float32 net with its weights
    (what export, validation and the station's parity see)."""
    if compute_dtype(model) == "float32":
        return model
    twin = build_unet(base_filters, depth, batchnorm, name=model.name)
    twin.set_weights(model.get_weights())
    return twin
