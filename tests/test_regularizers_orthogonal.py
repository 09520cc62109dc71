"""OrthogonalRegularizer and regularizers.deserialize against keras.regularizers."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import regularizers


@pytest.mark.parametrize("factor, mode, shape", [(0.01, "rows", (4, 6)), (0.5, "columns", (5, 3)),
                                                 (2.0, "rows", (3, 3))])
def test_orthogonal_penalty_matches_keras(factor, mode, shape, rng):
    w = rng.normal(size=shape).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        expected = float(keras.regularizers.OrthogonalRegularizer(factor, mode)(keras.ops.convert_to_tensor(w)))
    ours = regularizers.OrthogonalRegularizer(factor, mode)(jnp.asarray(w))
    assert ours.dtype == jnp.float32 and ours.shape == ()
    np.testing.assert_allclose(float(ours), expected, rtol=1e-6)


def test_orthogonal_penalty_by_hand():
    # Rows (1, 0) and (1, 1)/sqrt(2): one pair, cosine 1/sqrt(2); the sum counts it twice.
    w = jnp.array([[2.0, 0.0], [3.0, 3.0]])
    np.testing.assert_allclose(float(regularizers.OrthogonalRegularizer(1.0)(w)), 2 ** -0.5 * 2 * 0.5, rtol=1e-6)
    assert float(regularizers.OrthogonalRegularizer(1.0)(jnp.eye(3))) == 0.0
    assert float(regularizers.OrthogonalRegularizer(1.0, "columns")(jnp.array([[1.0, 1.0], [0.0, 0.0]]))) \
        == pytest.approx(1.0)


def test_alias_config_and_deserialize_as_keras():
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    keras_config = keras.regularizers.serialize(keras.regularizers.OrthogonalRegularizer(0.25, "columns"))
    ours = regularizers.deserialize(keras_config)
    assert isinstance(ours, regularizers.OrthogonalRegularizer) and (ours.factor, ours.mode) == (0.25, "columns")
    assert ours.get_config() == keras_config["config"]
    again = regularizers.deserialize(regularizers.serialize(ours))
    assert again.get_config() == ours.get_config()
    assert isinstance(regularizers.deserialize("orthogonal_regularizer"), regularizers.OrthogonalRegularizer)
    assert regularizers.deserialize({"class_name": "L1", "config": {"l1": 0.3}}).l1 == 0.3
    assert regularizers.deserialize(None) is None


def test_deserialize_takes_custom_objects():
    class Twice(regularizers.Regularizer):
        def __call__(self, x):
            return 2 * jnp.sum(x)

        def get_config(self):
            return {}

    found = regularizers.deserialize({"class_name": "Twice", "config": {}}, custom_objects={"Twice": Twice})
    assert isinstance(found, Twice)
    with pytest.raises(ValueError, match="Twice"):
        regularizers.deserialize({"class_name": "Twice", "config": {}})


def test_orthogonal_regularizer_by_name_in_a_layer_adds_its_penalty(rng):
    layer = hl.layers.Dense(4, kernel_regularizer="orthogonal_regularizer")
    model = hl.Sequential([hl.Input((3,)), layer])
    kernel = np.asarray(layer.get_weights()[0])
    expected = float(regularizers.OrthogonalRegularizer()(jnp.asarray(kernel)))
    assert expected > 0
    np.testing.assert_allclose([float(v) for v in model.losses], [expected], rtol=1e-6)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="mode must be 'rows' or 'columns', got mode='diag'"):
        regularizers.OrthogonalRegularizer(mode="diag")
    with pytest.raises(ValueError, match="factor must be a non-negative number"):
        regularizers.OrthogonalRegularizer(-1.0)
    with pytest.raises(ValueError, match=r"needs a rank-2 weight.*got shape \(2, 2, 2\)"):
        regularizers.OrthogonalRegularizer()(jnp.ones((2, 2, 2)))
