"""Weight constraints and activity regularization: Keras's formulas, and Keras's update/loss on the same weights."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations

RNG = np.random.default_rng(7)
W = RNG.standard_normal((5, 3)).astype("float32")


@pytest.mark.parametrize("name, kwargs", [("MaxNorm", {"max_value": 1.5}), ("MaxNorm", {"axis": [0, 1]}),
                                          ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.0, "rate": 0.7}),
                                          ("NonNeg", {}), ("UnitNorm", {"axis": 1})])
def test_constraints_match_keras_and_round_trip(name, kwargs):
    ours, theirs = getattr(hl.constraints, name)(**kwargs), getattr(keras.constraints, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(W)), np.asarray(theirs(W)), rtol=1e-6, atol=1e-7)
    config = hl.constraints.serialize(ours)
    assert config == {"class_name": name, "config": {**ours.get_config()}}
    again = hl.constraints.deserialize(config)
    np.testing.assert_array_equal(np.asarray(again(W)), np.asarray(ours(W)))
    assert type(hl.constraints.get(config)) is type(ours)


def test_get_serialize_names_and_errors():
    assert isinstance(hl.constraints.get("non_neg"), hl.constraints.NonNeg)
    assert isinstance(hl.constraints.get("MinMaxNorm"), hl.constraints.MinMaxNorm)
    assert isinstance(hl.constraints.get(hl.constraints.UnitNorm), hl.constraints.UnitNorm)
    assert hl.constraints.get(None) is None and hl.constraints.serialize(None) is None
    clip = lambda w: w   # noqa: E731  (any callable works in Python)
    assert hl.constraints.get(clip) is clip
    with pytest.raises(ValueError, match=r"Unknown constraint 'max_nrom'. Known constraints: MaxNorm"):
        hl.constraints.get("max_nrom")
    with pytest.raises(ValueError, match=r"Cannot serialize the constraint .*: only hl.constraints' MaxNorm"):
        hl.constraints.serialize(clip)


def _keras_and_ours(build):
    with jax.numpy_rank_promotion("allow"):   # Keras's orthogonal initializer relies on it
        k = build(keras)
    h = build(hl)
    weights = [0.6 * RNG.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    h.set_weights(weights)
    return k, h


def _step_both(k, h, x, y):
    """One SGD step in each (plain SGD: the update is -lr * gradient), then the constraints."""
    k.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    h.compile(optimizer=hl.optimizers.SGD(0.5), loss="mse")
    with jax.numpy_rank_promotion("allow"):
        k.train_on_batch(x, y)
    h.train_on_batch(x, y)
    for a, b in zip(h.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_constrained_update_equals_keras_dense_and_conv():
    def build(lib):
        c = lib.constraints
        return lib.Sequential([
            lib.Input((6, 6, 2)),
            lib.layers.Conv2D(3, 3, kernel_constraint=c.MaxNorm(0.4, axis=[0, 1, 2]), bias_constraint=c.NonNeg()),
            lib.layers.BatchNormalization(gamma_constraint=c.UnitNorm(), beta_constraint=c.NonNeg()),
            lib.layers.PReLU(alpha_constraint=c.NonNeg()),
            lib.layers.Flatten(),
            lib.layers.Dense(4, kernel_constraint=c.MinMaxNorm(0.2, 0.5), bias_constraint=c.MaxNorm(0.1)),
            lib.layers.Dense(1, kernel_constraint=c.UnitNorm())])

    k, h = _keras_and_ours(build)
    x, y = RNG.standard_normal((4, 6, 6, 2)).astype("float32"), RNG.standard_normal((4, 1)).astype("float32")
    _step_both(k, h, x, y)
    kernel, bias = h.layers[0].get_weights()
    assert np.all(np.linalg.norm(kernel.reshape(-1, 3), axis=0) <= 0.4 + 1e-6) and np.all(bias >= 0)
    norms = np.linalg.norm(h.layers[4].get_weights()[0], axis=0)
    assert np.all((norms >= 0.2 - 1e-6) & (norms <= 0.5 + 1e-6))


def test_constrained_update_equals_keras_embedding_and_recurrent():
    def build(lib):
        c = lib.constraints
        return lib.Sequential([
            lib.Input((5,), dtype="int32"),
            lib.layers.Embedding(10, 4, embeddings_constraint=c.UnitNorm(axis=1)),
            lib.layers.LSTM(3, kernel_constraint=c.MaxNorm(0.3), recurrent_constraint=c.NonNeg(),
                            bias_constraint=c.MaxNorm(1.0, axis=0), return_sequences=True),
            lib.layers.Flatten(),
            lib.layers.Dense(1)])

    k, h = _keras_and_ours(build)
    x, y = RNG.integers(0, 10, (4, 5)).astype("int32"), RNG.standard_normal((4, 1)).astype("float32")
    _step_both(k, h, x, y)
    assert np.allclose(np.linalg.norm(h.layers[0].get_weights()[0], axis=1), 1.0, atol=1e-5)
    assert np.all(h.layers[1].get_weights()[1] >= 0)


def test_constraints_are_applied_inside_the_compiled_step_and_kept_in_configs():
    layer = hl.layers.Dense(3, kernel_constraint="non_neg", bias_constraint=hl.constraints.MaxNorm(0.1))
    model = hl.Sequential([hl.Input((4,)), layer])
    model.compile(optimizer=hl.optimizers.SGD(1.0), loss="mse")
    x, y = RNG.standard_normal((8, 4)).astype("float32"), RNG.standard_normal((8, 3)).astype("float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    with count_compilations() as compiled:
        model.fit(x, y, batch_size=4, epochs=3, verbose=0)
    assert not compiled, compiled
    kernel, bias = model.get_weights()
    assert np.all(kernel >= 0) and np.all(np.abs(bias) <= 0.1 + 1e-6)
    config = layer.get_config()
    assert config["kernel_constraint"] == {"class_name": "NonNeg", "config": {}}
    clone = hl.layers.Dense.from_config(config)
    assert isinstance(clone.bias_constraint, hl.constraints.MaxNorm) and clone.bias_constraint.max_value == 0.1
    assert layer.weight_constraints().keys() == {"kernel", "bias"}
    # A frozen layer is not updated, so its constraint is not applied either (as Keras).
    frozen = hl.Sequential([hl.Input((4,)), hl.layers.Dense(3, kernel_constraint="non_neg", trainable=False),
                            hl.layers.Dense(1)])
    before = frozen.get_weights()[0]
    frozen.compile(optimizer="sgd", loss="mse")
    frozen.fit(x, y[:, :1], verbose=0)
    np.testing.assert_array_equal(frozen.get_weights()[0], before)


# -- activity regularization -------------------------------------------------------------------

def _activity_models():
    def build(lib):
        return lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activity_regularizer=lib.regularizers.L2(0.1)),
                               lib.layers.ActivityRegularization(l1=0.05), lib.layers.Dense(1)])
    return _keras_and_ours(build)


def test_activity_penalties_match_keras_losses():
    k, h = _activity_models()
    x, y = RNG.standard_normal((4, 4)).astype("float32"), RNG.standard_normal((4, 1)).astype("float32")
    k.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    h.compile(optimizer=hl.optimizers.SGD(0.1), loss="mse")
    with jax.numpy_rank_promotion("allow"):
        expected = [float(k.evaluate(x, y, verbose=0)), float(k.train_on_batch(x, y))]
    got = [float(h.evaluate(x, y, verbose=0)), float(h.train_on_batch(x, y))]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    clean = float(np.mean((h.predict(x, verbose=0) - y) ** 2))
    assert got[0] > clean + 1e-3   # the penalty is in the loss
    for a, b in zip(h.get_weights(), k.get_weights()):   # and in the gradient
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_activity_penalty_ignores_the_padding_of_a_partial_batch():
    k, h = _activity_models()
    x, y = RNG.standard_normal((5, 4)).astype("float32"), RNG.standard_normal((5, 1)).astype("float32")
    k.compile(optimizer="sgd", loss="mse")
    h.compile(optimizer="sgd", loss="mse")
    with jax.numpy_rank_promotion("allow"):
        expected = float(k.evaluate(x, y, batch_size=3, verbose=0))   # batches of 3 and 2
    assert float(h.evaluate(x, y, batch_size=3, verbose=0)) == pytest.approx(expected, rel=1e-5)
    config = h.layers[0].get_config()
    assert config["activity_regularizer"] == {"class_name": "L2", "config": {"l2": 0.1}}
    assert hl.layers.Dense.from_config(config).activity_regularizer.l2 == pytest.approx(0.1)
    assert h.layers[1].get_config()["l1"] == 0.05
