"""hl.metrics' SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall and RecallAtPrecision
against keras.metrics (JAX backend)."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import metrics

CLASSES = {"SensitivityAtSpecificity": "specificity", "SpecificityAtSensitivity": "sensitivity",
           "PrecisionAtRecall": "recall", "RecallAtPrecision": "precision"}


def _batches(rng, shape):
    for _ in range(3):
        y_true = rng.integers(0, 2, shape)
        y_pred = np.clip(0.3 * y_true + rng.uniform(0, 0.7, shape), 0, 1).astype("float32")
        y_pred[0] = 0.0   # a prediction of exactly 0
        yield y_true, y_pred, rng.uniform(0, 2, shape[0]).astype("float32")


@pytest.mark.parametrize("cls", sorted(CLASSES))
@pytest.mark.parametrize("kwargs, shape", [({}, (16, 1)), ({"num_thresholds": 7}, (16,)),
                                           ({"num_thresholds": 1}, (16, 1)),
                                           ({"class_id": 2, "num_thresholds": 50}, (16, 4))])
@pytest.mark.parametrize("value", [0.3, 0.8])
def test_accumulates_as_keras_over_weighted_batches(cls, kwargs, shape, value, rng):
    ours, theirs = getattr(metrics, cls)(value, **kwargs), getattr(keras.metrics, cls)(value, **kwargs)
    for y_true, y_pred, weight in _batches(rng, shape):
        ours.update_state(y_true, y_pred, sample_weight=weight)
        with jax.numpy_rank_promotion("allow"):
            theirs.update_state(y_true, y_pred, sample_weight=weight)
    assert ours.result() == pytest.approx(float(theirs.result()), abs=1e-6)
    ours.reset_state()
    assert ours.result() == 0.0
    config = metrics.serialize(ours)
    assert config["config"] == {k: v for k, v in theirs.get_config().items() if k != "dtype"} | {"name": ours.name}
    again = metrics.deserialize(config)
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    assert getattr(again, CLASSES[cls]) == value and again.direction == "up"


def test_hand_computed_values():
    y_true, y_pred = np.array([0, 0, 0, 1, 1]), np.array([0, 0.3, 0.8, 0.3, 0.8])
    # at a threshold just above 0.3: tp 1, fn 1, tn 2, fp 1; just above 0: tp 2, fp 2, tn 1
    m = metrics.SpecificityAtSensitivity(0.5)
    m.update_state(y_true, y_pred)
    assert m.result() == pytest.approx(2 / 3)
    m = metrics.SensitivityAtSpecificity(0.5)
    m.update_state(y_true, y_pred)
    assert m.result() == pytest.approx(0.5)   # specificity 2/3 needs a threshold above 0.3
    m = metrics.SensitivityAtSpecificity(0.3)
    m.update_state(y_true, y_pred)
    assert m.result() == pytest.approx(1.0)   # specificity 1/3 with both positives found
    m = metrics.RecallAtPrecision(1.0)
    m.update_state(np.array([0, 1, 1]), np.array([0.2, 0.3, 0.9]))
    assert m.result() == pytest.approx(1.0)   # any threshold in (0.2, 0.3) separates them


@pytest.mark.parametrize("cls", sorted(CLASSES))
def test_arguments_are_checked(cls):
    with pytest.raises(ValueError, match=f"{CLASSES[cls]} must be in \\[0, 1\\]"):
        getattr(metrics, cls)(1.5)
    with pytest.raises(ValueError, match="num_thresholds must be an integer > 0"):
        getattr(metrics, cls)(0.5, num_thresholds=0)


def test_in_compile_evaluate_as_keras(rng):
    x = rng.normal(size=(50, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * rng.normal(size=(50, 1)) > 0).astype("float32")
    w = rng.uniform(0, 2, 50).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
        weights = [rng.normal(size=v.shape).astype("float32") for v in kmodel.get_weights()]
        kmodel.set_weights(weights)
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(1, activation="sigmoid")])
    model.set_weights(weights)

    def built(module):
        m = module.metrics
        return ([m.SensitivityAtSpecificity(0.6, name="sens"), m.SpecificityAtSensitivity(0.7, name="spec")],
                [m.PrecisionAtRecall(0.5, num_thresholds=20, name="prec"), m.RecallAtPrecision(0.6, name="rec")])

    with jax.numpy_rank_promotion("allow"):
        plain, weighted = built(keras)
        kmodel.compile(loss="binary_crossentropy", metrics=plain, weighted_metrics=weighted)
        want = kmodel.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    plain, weighted = built(hl)
    model.compile(loss="binary_crossentropy", metrics=plain, weighted_metrics=weighted)
    got = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-4, abs=1e-6), key
