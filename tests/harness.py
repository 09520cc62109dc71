"""The shared layer harness (keras ``testing/test_case.py`` ``run_layer_test``).

Every layer goes through ``run_layer_test``: built from an input shape, output
shape and weight counts checked, one training step taken, config round-tripped.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

from typing import Any

import numpy as np

import highlevel as hl


def _random_inputs(shape, dtype, rng):
    if isinstance(shape, list):
        return [_random_inputs(s, d, rng) for s, d in zip(shape, dtype if isinstance(dtype, list) else [dtype] * len(shape))]
    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(0, 10, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def run_layer_test(layer_cls: type, init_kwargs: dict[str, Any], input_shape, expected_output_shape,
                   expected_num_trainable_weights: int = 0, expected_num_non_trainable_weights: int = 0,
                   input_dtype: Any = "float32", run_training_step: bool = True) -> hl.layers.Layer:
    """Builds, calls, trains one step and round-trips the config of ``layer_cls(**init_kwargs)``.

    ``input_shape`` includes the batch dimension (a list of shapes for several inputs);
    ``expected_output_shape`` likewise (a list or tuple of shapes for several outputs).
    """
    rng = np.random.default_rng(0)
    layer = layer_cls(**init_kwargs)
    x = _random_inputs(input_shape, input_dtype, rng)
    y = layer(x)
    out_shapes = [tuple(o.shape) for o in y] if isinstance(y, (list, tuple)) else tuple(y.shape)
    if isinstance(expected_output_shape, list):
        expected_output_shape = [tuple(s) for s in expected_output_shape]
    assert out_shapes == expected_output_shape, (out_shapes, expected_output_shape)
    assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    # Config round trip: same class, same config, and the same outputs on the same weights.
    config = layer.get_config()
    clone = layer_cls.from_config(dict(config))
    assert type(clone) is layer_cls
    clone_config = clone.get_config()
    config.pop("name"), clone_config.pop("name")
    assert clone_config == config
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(_first(clone(x))), np.asarray(_first(layer(x))), rtol=1e-6, atol=1e-6)

    # Symbolic building gives the same output shape (batch None).
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    dtypes = input_dtype if isinstance(input_dtype, list) else [input_dtype] * len(shapes)
    sym = [hl.Input(batch_shape=(None,) + tuple(s[1:]), dtype=d) for s, d in zip(shapes, dtypes)]
    sym_out = layer_cls(**init_kwargs)(sym if isinstance(input_shape, list) else sym[0])
    sym_shape = _first(sym_out).shape
    expected_first = expected_output_shape[0] if isinstance(expected_output_shape, list) else expected_output_shape
    assert tuple(sym_shape) == (None,) + tuple(expected_first[1:]), (sym_shape, expected_first)

    if run_training_step:
        _one_training_step(layer_cls, init_kwargs, input_shape, input_dtype, x, rng)
    return layer


def _first(y):
    return y[0] if isinstance(y, (list, tuple)) else y


def _one_training_step(layer_cls, init_kwargs, input_shape, input_dtype, x, rng):
    """One compiled train step on a model made of the layer: the loss is finite and weights move."""
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    dtypes = input_dtype if isinstance(input_dtype, list) else [input_dtype] * len(shapes)
    inputs = [hl.Input(batch_shape=(None,) + tuple(s[1:]), dtype=d) for s, d in zip(shapes, dtypes)]
    layer = layer_cls(**init_kwargs)
    out = _first(layer(inputs if isinstance(input_shape, list) else inputs[0]))
    out = hl.layers.Flatten()(out) if len(out.shape) > 2 else out
    out = hl.layers.Dense(1)(out)
    model = hl.Model(inputs if isinstance(input_shape, list) else inputs[0], out)
    model.compile(optimizer=hl.optimizers.SGD(0.01), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    y = rng.standard_normal((shapes[0][0], 1)).astype("float32")
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    after = model.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
