"""Keras 3 (JAX backend) as the oracle: the same layer, the same weights, the same outputs.

Shared by the test files of the layer families added for issue #16.
"""

from __future__ import annotations

import jax
import numpy as np


def leaves(out) -> list[np.ndarray]:
    """Every array of a layer's output (a tensor, a tuple, nested lists), as NumPy."""
    return [np.asarray(o) for o in jax.tree_util.tree_leaves(out)]


def keras_call(layer, *args, **kwargs) -> list[np.ndarray]:
    # Keras itself relies on implicit rank promotion (its initializers, some ops).
    with jax.numpy_rank_promotion("allow"):
        return leaves(layer(*args, **kwargs))


def keras_build(layer, *args, **kwargs) -> None:
    """Builds a Keras layer by calling it once."""
    keras_call(layer, *args, **kwargs)


def random_weights(keras_layer, seed: int = 2, scale: float = 0.5) -> list[np.ndarray]:
    """Random values for every weight (biases too), so that every entry is checked."""
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(w.shape).astype(w.dtype) for w in keras_layer.get_weights()]


def assert_same(keras_layer, hl_layer, *args, tol: float = 1e-5, weights: str = "random", **kwargs) -> None:
    """Builds both on ``args``, gives them Keras's (randomized) weights, and compares outputs."""
    keras_build(keras_layer, *args, **kwargs)
    hl_layer(*args, **kwargs)
    if keras_layer.get_weights():
        ws = random_weights(keras_layer) if weights == "random" else keras_layer.get_weights()
        keras_layer.set_weights(ws)
        hl_layer.set_weights(ws)
    assert [w.shape for w in hl_layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    expected = keras_call(keras_layer, *args, **kwargs)
    got = leaves(hl_layer(*args, **kwargs))
    assert len(got) == len(expected), (len(got), len(expected))
    for g, e in zip(got, expected):
        assert g.shape == e.shape, (g.shape, e.shape)
        np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=tol, atol=tol)
