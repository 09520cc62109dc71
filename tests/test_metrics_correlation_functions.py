"""hl.metrics' correlation metrics and the loss functions keras.metrics exports, against Keras."""

import subprocess
import sys

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import metrics


def _k(fn, *args, **kwargs):
    with jax.numpy_rank_promotion("allow"):
        return fn(*args, **kwargs)


@pytest.mark.parametrize("cls, kwargs", [("PearsonCorrelation", {}), ("ConcordanceCorrelation", {}),
                                         ("PearsonCorrelation", {"axis": 0}),
                                         ("ConcordanceCorrelation", {"axis": 0})])
def test_correlation_metrics_accumulate_as_keras(cls, kwargs, rng):
    ours, theirs = getattr(metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs)
    for _ in range(3):
        y_true = rng.normal(size=(6, 5)).astype("float32")
        y_pred = (y_true + rng.normal(size=(6, 5))).astype("float32")
        weight = rng.uniform(0, 2, 6 if kwargs.get("axis") is None else 5).astype("float32")
        ours.update_state(y_true, y_pred, sample_weight=weight)
        _k(theirs.update_state, y_true, y_pred, sample_weight=weight)
    assert ours.result() == pytest.approx(float(theirs.result()), rel=1e-5)
    ours.reset_state()
    ours.update_state(y_true, y_pred)
    assert ours.result() == pytest.approx(float(np.mean(_k(getattr(keras.metrics, ours.name), y_true,
                                                            y_pred, **kwargs))), rel=1e-5)
    config = metrics.serialize(ours)
    assert config["config"] == {"name": ours.name, "axis": kwargs.get("axis", -1)}
    again = metrics.deserialize(config)
    assert type(again) is type(ours) and again.axis == ours.axis and again.direction == "up"


def test_correlation_functions_match_keras_and_hand_values(rng):
    y_true = rng.normal(size=(4, 7)).astype("float32")
    y_pred = rng.normal(size=(4, 7)).astype("float32")
    for name in ("pearson_correlation", "concordance_correlation"):
        np.testing.assert_allclose(getattr(metrics, name)(y_true, y_pred),
                                   _k(getattr(keras.metrics, name), y_true, y_pred), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(metrics.pearson_correlation([[1., 2., 3.]], [[3., 2., 1.]]), [-1.0], rtol=1e-6)
    # equal means: 2 cov / (var_t + var_p) = 2 * (2/3) / (2/3 + 8/3)
    np.testing.assert_allclose(metrics.concordance_correlation([[1., 2., 3.]], [[0., 2., 4.]]), [0.8], rtol=1e-5)


FUNCTIONS = ["binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
             "categorical_focal_crossentropy", "categorical_hinge", "hinge", "huber", "kl_divergence",
             "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
             "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy", "squared_hinge"]


def test_metrics_export_keras_metric_functions():
    keras_names = {n for n in dir(keras.metrics) if not n.startswith("_")}
    assert keras_names <= set(dir(metrics))
    for name in FUNCTIONS:
        assert getattr(metrics, name) is getattr(hl.losses, name) and name in metrics.__all__


@pytest.mark.parametrize("name", ["huber", "log_cosh", "binary_focal_crossentropy",
                                  "categorical_focal_crossentropy"])
def test_function_names_give_their_weighted_mean_and_round_trip(name, rng):
    m = metrics.get(name)
    assert m.name == name and m.direction == "down"
    probs = np.asarray(jax.nn.softmax(rng.normal(size=(6, 3)))).astype("float32")
    y_true = np.eye(3, dtype="float32")[rng.integers(0, 3, 6)]
    weight = rng.uniform(0, 2, 6).astype("float32")
    m.update_state(y_true, probs, sample_weight=weight)
    want = np.sum(getattr(keras.losses, name)(y_true, probs) * weight) / np.sum(weight)
    assert m.result() == pytest.approx(float(want), rel=1e-5)
    config = metrics.serialize(m)
    assert config["config"]["fn"] == name
    # another process reads the config back: the name is Keras's, not a registration
    code = f"import highlevel as hl; print(hl.metrics.deserialize({config!r}).fn.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == name


def _models(rng, features, units, activation):
    with jax.numpy_rank_promotion("allow"):
        kmodel = keras.Sequential([keras.Input((features,)), keras.layers.Dense(units, activation=activation)])
        weights = [rng.normal(size=w.shape).astype("float32") for w in kmodel.get_weights()]
        kmodel.set_weights(weights)
    model = hl.Sequential([hl.Input((features,)), hl.layers.Dense(units, activation=activation)])
    model.set_weights(weights)
    return kmodel, model


@pytest.mark.parametrize("activation, names", [
    ("softmax", ["categorical_focal_crossentropy", "categorical_crossentropy", "kl_divergence"]),
    ("sigmoid", ["binary_focal_crossentropy", "binary_crossentropy", "hinge", "squared_hinge"]),
    (None, ["huber", "log_cosh", "mean_squared_error", "pearson_correlation", "concordance_correlation"]),
])
def test_metric_names_in_compile_evaluate_as_keras(activation, names, rng):
    x = rng.normal(size=(50, 4)).astype("float32")
    if activation == "softmax":
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, 50)]
    elif activation == "sigmoid":
        y = rng.integers(0, 2, (50, 3)).astype("float32")
    else:
        y = rng.normal(size=(50, 3)).astype("float32")
    w = rng.uniform(0, 2, 50).astype("float32")
    kmodel, model = _models(rng, 4, 3, activation)
    # Keras 3.15's compile refuses these four names (only its functions); hl takes both.
    knames = [getattr(keras.metrics, n) if n in ("huber", "log_cosh", "binary_focal_crossentropy",
                                                  "categorical_focal_crossentropy") else n for n in names]
    with jax.numpy_rank_promotion("allow"):
        kmodel.compile(loss="mse", metrics=knames, weighted_metrics=knames[:1])
        want = kmodel.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    model.compile(loss="mse", metrics=names, weighted_metrics=[names[0]])
    got = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-4, abs=1e-6), key


def test_losses_export_all_keras_has():
    assert {n for n in dir(keras.losses) if not n.startswith("_")} <= set(dir(hl.losses))
