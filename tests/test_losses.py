"""hl.losses against keras.losses (JAX backend) and hand-computed values."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from highlevel import losses

ATOL = 1e-6


def _data(rng, shape=(6, 4)):
    y_true = rng.uniform(0, 1, shape).astype("float32")
    y_pred = rng.uniform(0.01, 1, shape).astype("float32")
    return y_true, y_pred


@pytest.mark.parametrize("name", [
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "cosine_similarity",
    "binary_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
    "categorical_hinge"])
def test_functions_match_keras(name, rng):
    y_true, y_pred = _data(rng)
    ours = getattr(losses, name)(y_true, y_pred)
    assert ours.shape == (6,)
    np.testing.assert_allclose(ours, getattr(keras.losses, name)(y_true, y_pred), atol=ATOL)


def test_hand_computed_values():
    y_true, y_pred = jnp.array([[0.0, 1.0]]), jnp.array([[1.0, 3.0]])
    np.testing.assert_allclose(losses.mse(y_true, y_pred), [2.5])
    np.testing.assert_allclose(losses.mae(y_true, y_pred), [1.5])
    # Huber, delta=1: 0.5 * 1**2 and 1 * 2 - 0.5.
    np.testing.assert_allclose(losses.huber(y_true, y_pred), [(0.5 + 1.5) / 2])
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(
        jnp.array([0]), jnp.array([[0.25, 0.75]])), [-np.log(0.25)], rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"from_logits": True}, {"label_smoothing": 0.2},
                                    {"from_logits": True, "label_smoothing": 0.1}])
def test_crossentropy_classes_match_keras(kwargs, rng):
    logits = rng.normal(size=(8, 5)).astype("float32")
    y_pred = logits if kwargs.get("from_logits") else np.asarray(jax.nn.softmax(logits))
    labels = rng.integers(0, 5, 8)
    one_hot = np.eye(5, dtype="float32")[labels]
    weight = rng.uniform(0, 2, 8).astype("float32")
    for ours, theirs, y_true in [
            (losses.CategoricalCrossentropy(**kwargs), keras.losses.CategoricalCrossentropy(**kwargs),
             one_hot),
            (losses.BinaryCrossentropy(**kwargs), keras.losses.BinaryCrossentropy(**kwargs), one_hot)]:
        np.testing.assert_allclose(ours(y_true, y_pred, sample_weight=weight),
                                   theirs(y_true, y_pred, sample_weight=weight), atol=ATOL)
    sparse_kwargs = {k: v for k, v in kwargs.items() if k == "from_logits"}
    theirs = keras.losses.SparseCategoricalCrossentropy(**sparse_kwargs)
    for y_true in (labels, labels[:, None], labels.astype("float32"), labels[:, None].astype("float32")):
        ours = losses.SparseCategoricalCrossentropy(**sparse_kwargs)(y_true, y_pred, sample_weight=weight)
        np.testing.assert_allclose(ours, theirs(y_true, y_pred, sample_weight=weight), atol=ATOL)


def test_probabilities_are_clipped_and_logits_are_stable():
    # Probabilities of exactly 0 and 1 are clipped to epsilon = 1e-7, as Keras.
    bce = losses.binary_crossentropy(jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]]))
    np.testing.assert_allclose(bce, keras.losses.binary_crossentropy(np.array([[1.0, 0.0]]),
                                                                     np.array([[0.0, 1.0]])), rtol=1e-6)
    assert np.isfinite(bce).all()
    # With logits, 100 and -100 give softplus(100) = 100, not inf.
    bce = losses.binary_crossentropy(jnp.array([[0.0, 1.0]]), jnp.array([[100.0, -100.0]]), from_logits=True)
    np.testing.assert_allclose(bce, [100.0], rtol=1e-6)
    grad = jax.grad(lambda x: losses.BinaryCrossentropy(from_logits=True)(jnp.ones((1, 1)), x))(
        jnp.array([[-200.0]]))
    assert np.isfinite(grad).all()


def test_per_sample_shapes_and_temporal_losses(rng):
    y_true, y_pred = _data(rng, (3, 5, 4))
    assert losses.MeanSquaredError().call(y_true, y_pred).shape == (3, 5)
    labels = rng.integers(0, 4, (3, 5))
    assert losses.SparseCategoricalCrossentropy().call(labels, y_pred).shape == (3, 5)
    np.testing.assert_allclose(losses.SparseCategoricalCrossentropy()(labels, y_pred),
                               keras.losses.SparseCategoricalCrossentropy()(labels, y_pred), atol=ATOL)
    # A [B] weight applies to every time step of its sample.
    weight = np.array([1.0, 0.0, 2.0], "float32")
    expected = np.sum(np.mean((y_true - y_pred) ** 2, -1) * weight[:, None]) / 15
    np.testing.assert_allclose(losses.MeanSquaredError()(y_true, y_pred, sample_weight=weight),
                               expected, rtol=1e-6)


def test_binary_labels_of_rank_one_against_column_predictions(rng):
    y_true = rng.integers(0, 2, 7).astype("float32")
    y_pred = rng.uniform(0, 1, (7, 1)).astype("float32")
    loss = losses.BinaryCrossentropy()
    assert loss.call(y_true, y_pred).shape == (7,)
    np.testing.assert_allclose(loss(y_true, y_pred), keras.losses.BinaryCrossentropy()(y_true, y_pred),
                               atol=ATOL)


@pytest.mark.parametrize("reduction", ["sum", "sum_over_batch_size", "mean_with_sample_weight", None])
def test_reductions_match_keras(reduction, rng):
    y_true, y_pred = _data(rng)
    weight = rng.uniform(0, 2, 6).astype("float32")
    ours = losses.MeanSquaredError(reduction=reduction)(y_true, y_pred, sample_weight=weight)
    theirs = keras.losses.MeanSquaredError(reduction=reduction)(y_true, y_pred, sample_weight=weight)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_mask_makes_a_padded_batch_give_the_loss_of_its_real_rows(rng):
    y_true, y_pred = _data(rng)
    loss = losses.Huber(delta=0.3)
    padded_true = np.concatenate([y_true, np.zeros((2, 4), "float32")])
    padded_pred = np.concatenate([y_pred, np.full((2, 4), np.nan, "float32")])
    mask = np.arange(8) < 6
    np.testing.assert_allclose(loss(padded_true, padded_pred, mask=mask), loss(y_true, y_pred), rtol=1e-6)


def test_low_precision_predictions_are_computed_in_float32(rng):
    y_true, y_pred = _data(rng)
    low = jnp.asarray(y_pred, jnp.bfloat16)
    value = losses.BinaryCrossentropy()(y_true, low)
    assert value.dtype == jnp.float32
    expected = losses.BinaryCrossentropy()(y_true, np.asarray(low, "float32"))
    np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_jit_and_grad(rng):
    y_true, y_pred = _data(rng)
    loss = losses.get("categorical_crossentropy")
    value, grad = jax.jit(jax.value_and_grad(lambda p: loss(y_true, p)))(jnp.asarray(y_pred))
    np.testing.assert_allclose(value, loss(y_true, y_pred), rtol=1e-6)
    assert grad.shape == y_pred.shape and np.isfinite(grad).all()


def test_get_names_classes_dicts_and_callables():
    mse = losses.get("mse")
    assert isinstance(mse, losses.MeanSquaredError) and mse.name == "mse"
    assert losses.get("MeanSquaredError").name == "mean_squared_error"
    assert isinstance(losses.get("sparse_categorical_crossentropy"), losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get("huber"), losses.Huber)
    assert losses.get("binary_crossentropy").name == "binary_crossentropy"
    instance = losses.Huber(delta=2.0)
    assert losses.get(instance) is instance
    assert isinstance(losses.get(losses.MeanAbsoluteError), losses.MeanAbsoluteError)
    assert isinstance(losses.get(losses.mean_absolute_error), losses.MeanAbsoluteError)
    cce = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert cce.from_logits

    def my_loss(y_true, y_pred):
        return jnp.sum(jnp.abs(y_true - y_pred), axis=-1)

    wrapped = losses.get(my_loss)
    assert wrapped.name == "my_loss"
    np.testing.assert_allclose(wrapped(jnp.ones((2, 3)), jnp.zeros((2, 3))), 3.0)


def test_unknown_names_and_types_are_explained():
    with pytest.raises(ValueError, match=r"Unknown loss 'msee'\. Known losses: .*mean_squared_error"):
        losses.get("msee")
    with pytest.raises(ValueError, match="Unknown loss class 'Nope'"):
        losses.get({"class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="A loss must be a name"):
        losses.get(3)
    with pytest.raises(ValueError, match="Unknown reduction 'avg'"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match=r"y_true must have the shape of y_pred without its last"):
        losses.sparse_categorical_crossentropy(jnp.zeros((4, 3)), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match=r"same shape.*\(2, 3\).*\(2, 4\)"):
        losses.categorical_crossentropy(jnp.zeros((2, 3)), jnp.ones((2, 4)))


def _module_level_loss(y_true, y_pred):
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


@pytest.mark.parametrize("loss", [
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), losses.Huber(delta=0.5),
    losses.SparseCategoricalCrossentropy(from_logits=True, name="sce"),
    losses.MeanSquaredError(reduction="sum"), losses.LossFunctionWrapper(_module_level_loss)])
def test_serialize_round_trip(loss):
    config = losses.serialize(loss)
    restored = losses.get(config)
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()
