"""hl.metrics against keras.metrics (JAX backend): functional state, jitted updates, padding."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
from keras.src.trainers import compile_utils

from highlevel import losses, metrics
from tests.compile_count import count_compilations

B, C = 24, 5


@pytest.fixture
def data(rng):
    probs = rng.uniform(0, 1, (B, C)).astype("float32")
    labels = rng.integers(0, C, B)
    return {
        "probs": probs, "labels": labels, "one_hot": np.eye(C, dtype="float32")[labels],
        "bin_true": rng.integers(0, 2, (B, 1)).astype("float32"),
        "bin_pred": rng.uniform(0, 1, (B, 1)).astype("float32"),
        "multi_true": rng.integers(0, 2, (B, C)).astype("float32"),
        "weight": rng.uniform(0, 2, B).astype("float32"),
    }


CASES = [
    ("BinaryAccuracy", {"threshold": 0.3}, "bin_true", "bin_pred"),
    ("CategoricalAccuracy", {}, "one_hot", "probs"),
    ("SparseCategoricalAccuracy", {}, "labels", "probs"),
    ("TopKCategoricalAccuracy", {"k": 2}, "one_hot", "probs"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "labels", "probs"),
    ("MeanSquaredError", {}, "one_hot", "probs"),
    ("MeanAbsoluteError", {}, "one_hot", "probs"),
    ("RootMeanSquaredError", {}, "one_hot", "probs"),
    ("BinaryCrossentropy", {}, "bin_true", "bin_pred"),
    ("CategoricalCrossentropy", {}, "one_hot", "probs"),
    ("SparseCategoricalCrossentropy", {}, "labels", "probs"),
    ("AUC", {}, "bin_true", "bin_pred"),
    ("AUC", {"curve": "PR"}, "bin_true", "bin_pred"),
    ("AUC", {"num_thresholds": 7, "summation_method": "majoring"}, "multi_true", "probs"),
    ("AUC", {"thresholds": [0.2, 0.5, 0.7]}, "bin_true", "bin_pred"),
    ("Precision", {}, "bin_true", "bin_pred"),
    ("Recall", {}, "bin_true", "bin_pred"),
    ("Precision", {"top_k": 2}, "one_hot", "probs"),
    ("Recall", {"thresholds": 0.3, "class_id": 2}, "one_hot", "probs"),
]


def _run(metric, batches):
    update = jax.jit(metric.update)
    state = metric.init()
    for y_true, y_pred, weight in batches:
        state = update(state, y_true, y_pred, weight)
    return metric.result(jax.device_get(state))


@pytest.mark.parametrize("name, kwargs, true_key, pred_key", CASES)
def test_matches_keras_over_padded_batches(name, kwargs, true_key, pred_key, data):
    y_true, y_pred, weight = data[true_key], data[pred_key], data["weight"]
    keras_metric = getattr(keras.metrics, name)(**kwargs)
    keras_metric.update_state(y_true, y_pred, sample_weight=weight)
    # The same rows in batches of 16, the last one padded with 8 rows of weight zero
    # (and made-up values): the padding must count for nothing.
    pad = 2 * 16 - B
    padded = [np.concatenate([a, np.full((pad,) + a.shape[1:], 0.7, a.dtype)]) for a in (y_true, y_pred)]
    padded_weight = np.concatenate([weight, np.zeros(pad, "float32")])
    batches = [(padded[0][s], padded[1][s], padded_weight[s]) for s in (slice(0, 16), slice(16, 32))]
    ours = getattr(metrics, name)(**kwargs)
    assert _run(ours, batches) == pytest.approx(float(keras_metric.result()), abs=1e-6)


def test_update_compiles_once_and_padding_with_nan_is_ignored(data):
    metric = metrics.MeanSquaredError()
    update = jax.jit(metric.update)
    y_true, y_pred = data["one_hot"][:8], data["probs"][:8]
    garbage = np.full((2, C), np.nan, "float32")
    weight = np.r_[np.ones(8), np.zeros(2)].astype("float32")
    state = metric.init()
    with count_compilations() as compiled:
        for _ in range(3):
            state = update(state, np.concatenate([y_true, garbage]), np.concatenate([y_pred, garbage]),
                           weight)
        value = metric.result(jax.device_get(state))  # NumPy on the host: no compilation
    assert len(compiled) == 1
    assert isinstance(value, float)
    assert value == pytest.approx(float(np.mean((y_true - y_pred) ** 2)), rel=1e-6)


def test_state_is_float32_zeros_and_result_reads_numpy():
    for metric in (metrics.Mean(), metrics.AUC(num_thresholds=5), metrics.Precision()):
        state = metric.init()
        assert all(leaf.dtype == jnp.float32 and not leaf.any() for leaf in jax.tree_util.tree_leaves(state))
        assert metric.result(jax.device_get(state)) == 0.0


def test_mean_weighted_values_and_scalar_loss():
    mean = metrics.Mean(name="loss")
    state = mean.update(mean.init(), jnp.array([1.0, 3.0, 5.0]), jnp.array([1.0, 1.0, 0.0]))
    assert mean.result(state) == pytest.approx(2.0)
    # The trainer's use: a batch's scalar loss weighted by its number of real samples.
    state = mean.update(state, jnp.float32(8.0), jnp.float32(2.0))
    assert mean.result(state) == pytest.approx((1 + 3 + 16) / 4)
    keras_mean = keras.metrics.Mean()
    keras_mean.update_state([1.0, 3.0, 5.0], sample_weight=[1.0, 1.0, 0.0])
    keras_mean.update_state([8.0], sample_weight=[2.0])
    assert mean.result(state) == pytest.approx(float(keras_mean.result()))


def test_auc_from_logits_equals_auc_of_probabilities(data, rng):
    logits = rng.normal(size=(B, 1)).astype("float32")
    with_logits = _run(metrics.AUC(from_logits=True), [(data["bin_true"], logits, data["weight"])])
    probs = np.asarray(jax.nn.sigmoid(logits))
    assert with_logits == pytest.approx(_run(metrics.AUC(), [(data["bin_true"], probs, data["weight"])]))


def test_hand_computed_accuracy_and_precision():
    y_true, y_pred = jnp.array([[1.0], [0.0], [1.0], [0.0]]), jnp.array([[0.9], [0.8], [0.2], [0.1]])
    weight = jnp.ones(4)
    assert _run(metrics.BinaryAccuracy(), [(y_true, y_pred, weight)]) == pytest.approx(0.5)
    assert _run(metrics.Precision(), [(y_true, y_pred, weight)]) == pytest.approx(0.5)
    assert _run(metrics.Recall(), [(y_true, y_pred, weight)]) == pytest.approx(0.5)


@pytest.mark.parametrize("loss, expected", [
    ("binary_crossentropy", metrics.BinaryAccuracy),
    (losses.BinaryCrossentropy(from_logits=True), metrics.BinaryAccuracy),
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    (losses.categorical_crossentropy, metrics.CategoricalAccuracy),
])
def test_accuracy_resolved_from_the_loss(loss, expected):
    for name in ("accuracy", "acc"):
        metric = metrics.get(name, loss=loss)
        assert type(metric) is expected and metric.name == name


@pytest.mark.parametrize("true_shape, pred_shape", [
    ((B, 1), (B, 1)), ((B,), (B, 1)), ((B,), (B, C)), ((B, 1), (B, C)), ((B, C), (B, C)),
    ((B, 7), (B, 7, C))])
def test_accuracy_resolved_from_shapes_as_keras(true_shape, pred_shape, rng):
    y_true = keras.KerasTensor(true_shape)
    y_pred = keras.KerasTensor(pred_shape)
    expected = type(compile_utils.get_metric("accuracy", y_true, y_pred)).__name__
    resolved = metrics.get("accuracy", loss="mse", output_shape=pred_shape, target_shape=true_shape)
    assert type(resolved).__name__ == expected
    # Without shapes the kind is picked from the traced shapes: same values as the resolved class.
    yt = rng.integers(0, 2, true_shape).astype("float32")
    yp = rng.uniform(0, 1, pred_shape).astype("float32")
    weight = np.ones(B, "float32")
    auto = metrics.get("accuracy")
    assert _run(auto, [(yt, yp, weight)]) == pytest.approx(_run(resolved, [(yt, yp, weight)]))


def test_names_follow_keras():
    assert metrics.get("mse").name == "mse"
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert metrics.get("mean_absolute_error").name == "mean_absolute_error"
    assert metrics.get("AUC").name == "AUC"
    assert metrics.get(metrics.AUC()).name == "auc"
    assert metrics.get(metrics.AUC).name == "auc"
    assert metrics.get("sparse_top_k_categorical_accuracy").name == "sparse_top_k_categorical_accuracy"
    assert metrics.Precision().name == "precision" and metrics.Recall().name == "recall"
    assert metrics.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.2}}).threshold == 0.2


def test_callables_and_losses_become_weighted_means(data):
    def abs_sum(y_true, y_pred):
        return jnp.sum(jnp.abs(y_true - y_pred), axis=-1)

    metric = metrics.get(abs_sum)
    assert metric.name == "abs_sum"
    batch = [(data["one_hot"], data["probs"], data["weight"])]
    per_sample = np.sum(np.abs(data["one_hot"] - data["probs"]), -1)
    expected = np.sum(per_sample * data["weight"]) / data["weight"].sum()
    assert _run(metric, batch) == pytest.approx(expected, rel=1e-6)
    from_loss = metrics.get(losses.MeanSquaredError())
    assert from_loss.name == "mean_squared_error" and from_loss.direction == "down"
    assert _run(from_loss, batch) == pytest.approx(_run(metrics.MeanSquaredError(), batch))


def test_errors_are_explained():
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'\. Known metrics: .*binary_accuracy"):
        metrics.get("acuracy")
    with pytest.raises(TypeError, match="A metric must be a name"):
        metrics.get(1.5)
    with pytest.raises(ValueError, match="takes one threshold.*one metric per threshold"):
        metrics.Precision(thresholds=[0.3, 0.6])
    with pytest.raises(ValueError, match=r"AUC curve must be 'ROC' or 'PR', got 'XY'"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match=r"one weight per sample, shape \(4,\)"):
        metrics.BinaryAccuracy().update(metrics.BinaryAccuracy().init(), jnp.ones((4, 1)),
                                        jnp.ones((4, 1)), jnp.ones(3))


@pytest.mark.parametrize("metric", [
    metrics.AUC(curve="PR", thresholds=[0.1, 0.4]), metrics.BinaryAccuracy(threshold=0.2, name="ba"),
    metrics.SparseTopKCategoricalAccuracy(k=2), metrics.Precision(top_k=1, class_id=0),
    metrics.get("acc"), metrics.get(losses.Huber(delta=0.5))])
def test_serialize_round_trip(metric):
    restored = metrics.get(metrics.serialize(metric))
    assert type(restored) is type(metric)
    assert restored.get_config() == metric.get_config()
