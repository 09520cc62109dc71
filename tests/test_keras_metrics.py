"""Metrics as Keras 3 writes them: custom ``Metric`` subclasses (add_variable/update_state/result) run on
the device inside ``fit``, Keras's eager API on every metric, and the metrics and losses Keras has,
each against ``keras.metrics``/``keras.losses`` on the same predictions over several weighted batches."""

from __future__ import annotations

import re
import types

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations

# -- a custom metric written once, for both frameworks ----------------------------------------------


def _error_rate_class(base, ops):
    """Keras's documented pattern: variables from add_variable, assign_add in update_state."""

    class WeightedErrorRate(base):
        def __init__(self, name="weighted_error_rate", **kwargs):
            super().__init__(name=name, **kwargs)
            self.errors = self.add_variable(shape=(), initializer="zeros", name="errors")
            self.weight = self.add_variable(shape=(), initializer="zeros", name="weight")
            self.rows = self.add_variable(shape=(), initializer="zeros", name="rows")   # ignores the weights

        def update_state(self, y_true, y_pred, sample_weight=None):
            labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
            wrong = ops.cast(ops.not_equal(ops.argmax(y_pred, axis=-1), labels), "float32")
            w = ops.ones_like(wrong) if sample_weight is None else ops.cast(ops.reshape(sample_weight, (-1,)),
                                                                            "float32")
            self.errors.assign_add(ops.sum(wrong * w))
            self.weight.assign_add(ops.sum(w))
            self.rows.assign_add(ops.cast(ops.shape(labels)[0], "float32"))

        def result(self):
            return self.errors / self.weight + 0.001 * self.rows

    return WeightedErrorRate


def _hl_ops():
    return types.SimpleNamespace(cast=lambda x, d: jnp.asarray(x).astype(d), reshape=jnp.reshape,
                                 not_equal=jnp.not_equal, argmax=jnp.argmax, ones_like=jnp.ones_like,
                                 sum=jnp.sum, shape=jnp.shape)


HLErrorRate = _error_rate_class(hl.metrics.Metric, _hl_ops())
KerasErrorRate = _error_rate_class(keras.metrics.Metric, keras.ops)


def _data(rng, n=50, features=6, classes=4):
    x = rng.normal(size=(n, features)).astype("float32")
    y = rng.integers(0, classes, size=(n,)).astype("int32")
    w = rng.uniform(0.0, 2.0, size=(n,)).astype("float32")
    return x, y, w


def _pair_models(rng, features=6, classes=4):
    with jax.numpy_rank_promotion("allow"):
        kmodel = keras.Sequential([keras.Input((features,)), keras.layers.Dense(8, activation="tanh"),
                                   keras.layers.Dense(classes)])
        weights = [rng.normal(size=w.shape).astype("float32") for w in kmodel.get_weights()]
        kmodel.set_weights(weights)
    model = hl.Sequential([hl.Input((features,)), hl.layers.Dense(8, activation="tanh"), hl.layers.Dense(classes)])
    model.set_weights(weights)
    return kmodel, model


def test_a_custom_metric_is_stateful_keras_style_and_works_eagerly():
    m = HLErrorRate()
    assert type(m).stateful and [v.name for v in m.variables] == ["errors", "weight", "rows"]
    y_true, y_pred = np.array([0, 1, 2]), np.eye(3, dtype="float32")[[0, 2, 2]]
    m.update_state(y_true, y_pred)
    assert float(m.result()) == pytest.approx(1 / 3 + 0.003)
    assert float(m(y_true, y_pred, sample_weight=np.array([0.0, 1.0, 1.0]))) == pytest.approx(2 / 5 + 0.006)
    m.reset_state()
    assert [float(v) for v in m.variables] == [0.0, 0.0, 0.0]
    # the functional form used inside the step
    state = m.init()
    state = m.update(state, jnp.asarray(y_true), jnp.asarray(y_pred), None)
    assert float(m.result(state)) == pytest.approx(1 / 3 + 0.003)
    assert [float(v) for v in m.variables] == [0.0, 0.0, 0.0]   # the binding left the variables alone


@pytest.mark.parametrize("weighted", [False, True])
def test_a_custom_metric_through_fit_equals_keras(rng, weighted):
    """fit with sample weights: a metric of ``metrics=`` ignores them, one of ``weighted_metrics=`` gets them
    (Keras's rule); 50 rows in batches of 16, so the padded last batch is fed row by row."""
    x, y, w = _data(rng)
    kmodel, model = _pair_models(rng)
    where = "weighted_metrics" if weighted else "metrics"
    with jax.numpy_rank_promotion("allow"):
        kmodel.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                       **{where: [KerasErrorRate()]})
        khist = kmodel.fit(x, y, sample_weight=w, batch_size=16, epochs=1, shuffle=False, verbose=0)
        kval = kmodel.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    model.compile(optimizer=hl.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                  **{where: [HLErrorRate()]})
    hist = model.fit(x, y, sample_weight=w, batch_size=16, epochs=3, shuffle=False, verbose=0)
    ours = hist.history["weighted_error_rate"]
    assert ours[0] == pytest.approx(khist.history["weighted_error_rate"][0], rel=1e-5)
    assert ours[0] == ours[1] == ours[2]   # the state is reset each epoch
    assert ours[0] == pytest.approx(_reference(model, x, y, w if weighted else None), rel=1e-5)
    val = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert val["weighted_error_rate"] == pytest.approx(kval["weighted_error_rate"], rel=1e-5)


def test_builtin_metrics_follow_the_weighted_metrics_rule(rng):
    x, y, w = _data(rng)
    kmodel, model = _pair_models(rng)
    with jax.numpy_rank_promotion("allow"):
        kmodel.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"], weighted_metrics=["accuracy"])
        expected = kmodel.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    model.compile(optimizer=hl.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    got = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    assert sorted(got) == sorted(expected) == ["accuracy", "loss", "weighted_accuracy"]
    for key in got:
        assert got[key] == pytest.approx(expected[key], rel=1e-5), key


def _reference(model, x, y, sample_weight):
    wrong = (np.argmax(model.predict(x, verbose=0), -1) != y).astype("float64")
    w = np.ones(len(y)) if sample_weight is None else sample_weight.astype("float64")
    return float(np.sum(wrong * w) / np.sum(w) + 0.001 * len(y))


def test_no_compilation_after_the_first_epoch_with_a_custom_metric(rng):
    x, y, w = _data(rng)
    _, model = _pair_models(rng)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=[HLErrorRate(), "accuracy"])
    seen: list[list] = []

    def begin(epoch, logs=None):
        ctx = count_compilations()
        seen.append((ctx, ctx.__enter__()))

    def end(epoch, logs=None):
        ctx, _ = seen[-1]
        ctx.__exit__(None, None, None)

    model.fit(x, y, sample_weight=w, batch_size=16, epochs=3, verbose=0, validation_data=(x, y),
              callbacks=[hl.callbacks.LambdaCallback(on_epoch_begin=begin, on_epoch_end=end)])
    assert seen[0][1], "the first epoch compiles the steps"
    assert [names for _, names in seen[1:]] == [[], []], seen


# -- Keras's metrics, eagerly, over several weighted batches --------------------------------------------

B, C = 12, 4


def _batches(rng, kind, n=3):
    out = []
    for _ in range(n):
        w = rng.uniform(0.0, 2.0, size=(B,)).astype("float32")
        w[0] = 0.0
        if kind.startswith("regression"):
            yt = rng.uniform(0.5, 3.0, size=(B, C)).astype("float32")
            yp = rng.uniform(0.5, 3.0, size=(B, C)).astype("float32")
            if kind == "regression_unmasked":
                w[0] = 0.5   # R2Score's num_samples counts rows of nonzero weight; Keras counts every row
        elif kind == "probabilities":
            yt = rng.dirichlet(np.ones(C), size=B).astype("float32")
            yp = rng.dirichlet(np.ones(C), size=B).astype("float32")
        elif kind == "binary":
            yt = rng.integers(0, 2, size=(B, C)).astype("float32")
            yp = rng.uniform(0, 1, size=(B, C)).astype("float32")
        elif kind == "binary1d":
            yt = rng.integers(0, 2, size=(B,)).astype("int32")
            yp = rng.uniform(0, 1, size=(B,)).astype("float32")
            w = np.round(w + 0.5)
        elif kind == "onehot":
            yt = np.eye(C, dtype="float32")[rng.integers(0, C, size=B)]
            yp = rng.uniform(0, 1, size=(B, C)).astype("float32")
        elif kind == "sparse":
            yt = rng.integers(0, C, size=(B,)).astype("int32")
            yp = rng.integers(0, C, size=(B,)).astype("int32")
            w = np.round(w + 0.5)   # integer weights: the IoU matrices are int32, as Keras's
        out.append((yt, yp, w))
    return out


CASES = [
    ("MeanAbsolutePercentageError", {}, "regression"), ("MeanSquaredLogarithmicError", {}, "regression"),
    ("LogCoshError", {}, "regression"), ("CosineSimilarity", {}, "regression"),
    ("KLDivergence", {}, "probabilities"), ("Poisson", {}, "regression"), ("Hinge", {}, "binary"),
    ("SquaredHinge", {}, "binary"), ("CategoricalHinge", {}, "onehot"), ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "regression"),
    ("R2Score", {"class_aggregation": None}, "regression"), ("R2Score", {"num_regressors": 2}, "regression_unmasked"),
    ("F1Score", {}, "onehot"), ("F1Score", {"average": "macro"}, "onehot"),
    ("F1Score", {"average": "weighted", "threshold": 0.5}, "binary"), ("F1Score", {"average": "micro"}, "onehot"),
    ("FBetaScore", {"beta": 2.0, "average": "macro", "threshold": 0.4}, "binary"),
    ("IoU", {"num_classes": C, "target_class_ids": [0, 2]}, "sparse"), ("MeanIoU", {"num_classes": C}, "sparse"),
    ("MeanIoU", {"num_classes": C, "ignore_class": 1}, "sparse"),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [1, 3]}, "onehot"),
    ("OneHotMeanIoU", {"num_classes": C}, "onehot"), ("BinaryIoU", {"threshold": 0.3}, "binary1d"),
    ("TruePositives", {}, "binary"), ("FalsePositives", {"thresholds": 0.3}, "binary"),
    ("TrueNegatives", {"thresholds": [0.2, 0.7]}, "binary"), ("FalseNegatives", {}, "binary"),
    ("MeanSquaredError", {}, "regression"), ("RootMeanSquaredError", {}, "regression"),
    ("BinaryCrossentropy", {}, "binary"), ("CategoricalAccuracy", {}, "onehot"), ("AUC", {}, "binary"),
]


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_metric_equals_keras_over_weighted_batches(rng, name, kwargs, kind):
    ours, theirs = getattr(hl.metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)   # Keras numbers a second auto-named IoU
    with jax.numpy_rank_promotion("allow"):
        for yt, yp, w in _batches(rng, kind):
            ours.update_state(yt, yp, sample_weight=w)
            theirs.update_state(yt, yp, sample_weight=w)
        expected = np.asarray(theirs.result())
    np.testing.assert_allclose(np.asarray(ours.result()), expected, rtol=2e-5, atol=2e-6)
    ours.reset_state()
    theirs.reset_state()
    yt, yp, _ = _batches(rng, kind, 1)[0]
    with jax.numpy_rank_promotion("allow"):
        theirs.update_state(yt, yp)
        expected = np.asarray(theirs.result())
    ours.update_state(yt, yp)
    np.testing.assert_allclose(np.asarray(ours.result()), expected, rtol=2e-5, atol=2e-6)
    assert hl.metrics.deserialize(hl.metrics.serialize(ours)).get_config() == ours.get_config()


@pytest.mark.parametrize("name", ["Mean", "Sum"])
def test_mean_and_sum_take_values(name):
    values, w = np.array([1.0, 3.0, 5.0, 7.0], "float32"), np.array([1.0, 1.0, 0.0, 0.5], "float32")
    ours, theirs = getattr(hl.metrics, name)(), getattr(keras.metrics, name)()
    ours.update_state(values, sample_weight=w)
    ours.update_state(values[:2])
    theirs.update_state(values, sample_weight=w)
    theirs.update_state(values[:2])
    assert ours.result() == pytest.approx(float(theirs.result()))
    assert ours.name == theirs.name and len(ours.variables) == len(theirs.variables)


def test_mean_metric_wrapper_and_string_names_match_keras():
    def bias(y_true, y_pred):
        return jnp.mean(y_pred - y_true, axis=-1)

    m = hl.metrics.MeanMetricWrapper(bias, name="bias", dtype="float32")
    m.update_state(np.zeros((2, 3)), np.ones((2, 3)))
    assert m.result() == 1.0 and m.get_config()["name"] == "bias"
    for alias in ["mape", "msle", "MAPE", "logcosh", "log_cosh_error", "kl_divergence", "poisson", "hinge",
                  "squared_hinge", "categorical_hinge", "cosine_similarity", "r2_score", "f1_score",
                  "true_positives", "sum", "mean"]:
        theirs = keras.metrics.get(alias) if alias != "logcosh" else keras.metrics.LogCoshError
        theirs = theirs if isinstance(theirs, type) else type(theirs)
        assert type(hl.metrics.get(alias)).__name__ == theirs.__name__, alias


def test_vector_results_log_one_entry_per_class_in_fit(rng):
    x = rng.normal(size=(20, 3)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=20)]
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[hl.metrics.F1Score(), hl.metrics.F1Score(average="macro", name="f1_macro")])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert {"f1_score_0", "f1_score_1", "f1_score_2", "f1_macro"} <= set(history.history)
    per_class = [history.history[f"f1_score_{i}"][-1] for i in range(3)]
    assert history.history["f1_macro"][-1] == pytest.approx(np.mean(per_class), abs=1e-6)


def test_metric_errors_name_the_fix():
    with pytest.raises(ValueError, match="average must be None, 'micro', 'macro' or 'weighted'"):
        hl.metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match="beta must be a Python float > 0"):
        hl.metrics.FBetaScore(beta=2)
    with pytest.raises(ValueError, match=r"target class id 5 is out of range \[0, 3\)"):
        hl.metrics.IoU(num_classes=3, target_class_ids=[5])
    with pytest.raises(ValueError, match="does not know the number of classes yet"):
        hl.metrics.F1Score().result()
    m = HLErrorRate()
    with pytest.raises(ValueError, match=r"Cannot assign a value of shape \(2,\) to the metric variable 'errors'"):
        m.errors.assign(np.zeros(2))

    class Forgot(hl.metrics.Metric):
        def __init__(self):
            self.v = self.add_variable((), "zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            pass

        def result(self):
            return 0.0

    with pytest.raises(RuntimeError, match=r"must call super\(\).__init__"):
        Forgot()


# -- losses ----------------------------------------------------------------------------------------

LOSSES = ["MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "LogCosh", "KLDivergence", "Poisson",
          "CosineSimilarity", "Hinge", "SquaredHinge", "CategoricalHinge", "Huber", "MeanSquaredError",
          "MeanAbsoluteError"]


@pytest.mark.parametrize("name", LOSSES)
def test_losses_equal_keras_with_sample_weights(rng, name):
    kind = {"KLDivergence": "probabilities", "Hinge": "binary", "SquaredHinge": "binary",
            "CategoricalHinge": "onehot"}.get(name, "regression")
    ours, theirs = getattr(hl.losses, name)(), getattr(keras.losses, name)()
    assert ours.name == theirs.name
    for yt, yp, w in _batches(rng, kind, 2):
        with jax.numpy_rank_promotion("allow"):
            expected = float(theirs(yt, yp, sample_weight=w))
        assert float(ours(yt, yp, sample_weight=w)) == pytest.approx(expected, rel=2e-5, abs=1e-6)


# -- the order of results --------------------------------------------------------------------------

def _two_outputs(lib, dict_out=False, single=False):
    inputs = lib.Input((4,))
    cls, reg = lib.layers.Dense(3, name="cls")(inputs), lib.layers.Dense(1, name="reg")(inputs)
    return lib.Model(inputs, cls if single else {"cls": cls, "reg": reg} if dict_out else [cls, reg])


def _sce(lib):
    return lib.losses.SparseCategoricalCrossentropy(from_logits=True)


ORDER_CASES = {   # (model kind, compile arguments); "lib" stands for keras or highlevel
    "one output, no metrics": ("single", lambda lib: dict(loss=_sce(lib))),
    "one output, metrics in compile order": ("single", lambda lib: dict(
        loss=_sce(lib), metrics=["sparse_categorical_crossentropy", "accuracy"])),
    "one output, a metric also weighted": ("single", lambda lib: dict(
        loss=_sce(lib), metrics=["accuracy"], weighted_metrics=["accuracy", "sparse_categorical_crossentropy"])),
    "two outputs, metrics": ("list", lambda lib: dict(loss=[_sce(lib), "mse"], metrics=[["accuracy"], ["mae"]])),
    "two outputs, no metrics": ("list", lambda lib: dict(loss=[_sce(lib), "mse"])),
    "a loss on one of two outputs": ("list", lambda lib: dict(loss=[_sce(lib), None])),
    "a loss on one of two, metrics": ("list", lambda lib: dict(loss=[_sce(lib), None], metrics=[["accuracy"], ["mae"]])),
    "dict outputs, weighted metrics": ("dict", lambda lib: dict(
        loss={"cls": _sce(lib), "reg": "mse"}, metrics={"reg": ["mae", "mse"], "cls": ["accuracy"]},
        weighted_metrics={"cls": ["accuracy"], "reg": ["mae"]})),
    # Keras 3 pairs a list of one entry per output with the outputs (not every metric with every output).
    "two outputs, a flat list of one metric per output": ("list", lambda lib: dict(
        loss=[_sce(lib), "mse"], metrics=["accuracy", "mae"])),
    "two outputs, None and a list per output, flat weighted": ("list", lambda lib: dict(
        loss=[_sce(lib), "mse"], metrics=(None, ["mae", "mse"]), weighted_metrics=["accuracy", "mae"])),
}


@pytest.mark.parametrize("metrics", [["mae"], ["mae", "mse", "mape"]])
def test_a_list_of_metrics_not_one_per_output_is_refused_as_keras(metrics):
    x, y = np.ones((4, 4), "float32"), [np.zeros(4, "int32"), np.ones((4, 1), "float32")]
    with jax.numpy_rank_promotion("allow"):
        kmodel = _two_outputs(keras)
        kmodel.compile(optimizer="sgd", loss=[_sce(keras), "mse"], metrics=metrics)
        with pytest.raises(ValueError, match="Invalid `metrics`"):
            kmodel.fit(x, y, verbose=0)
    model = _two_outputs(hl)
    model.compile(optimizer="sgd", loss=[_sce(hl), "mse"], metrics=metrics)
    with pytest.raises(ValueError, match=rf"compile\(metrics=...\) has {len(metrics)} entr.* but the model has 2 "
                                         r"outputs \['cls', 'reg'\]: as in Keras 3, pass one entry per output"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="sgd", loss=[_sce(hl), "mse"], metrics={"cls": ["accuracy"], "other": ["mae"]})
    with pytest.raises(ValueError, match=r"compile\(metrics=...\) names outputs \['other'\] that the model"):
        model.fit(x, y, verbose=0)


@pytest.mark.parametrize("case", list(ORDER_CASES))
def test_results_come_in_keras_order(rng, case):
    """evaluate/test_on_batch/train_on_batch list Keras 3's order (the loss, each output's loss when more
    than one output has one, the metrics; one value alone as a scalar); return_dict and History are
    sorted by name as Keras's; metrics_names names the list's entries."""
    kind, arguments = ORDER_CASES[case]
    x = rng.normal(size=(16, 4)).astype("float32")
    ya, yb, w = rng.integers(0, 3, 16), rng.normal(size=(16, 1)).astype("float32"), rng.uniform(0, 2, 16)
    y = ya if kind == "single" else {"cls": ya, "reg": yb} if kind == "dict" else [ya, yb]
    with jax.numpy_rank_promotion("allow"):
        kmodel = _two_outputs(keras, kind == "dict", kind == "single")
    model = _two_outputs(hl, kind == "dict", kind == "single")
    model.set_weights(kmodel.get_weights())
    results = {}
    for lib, m in ((keras, kmodel), (hl, model)):
        m.compile(optimizer=lib.optimizers.SGD(0.0), **arguments(lib))
        with jax.numpy_rank_promotion("allow"):
            history = m.fit(x, y, sample_weight=w, batch_size=8, epochs=1, verbose=0, validation_data=(x, y))
            logs = m.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
            results[lib] = dict(history=[k for k in history.history if k != "learning_rate"], keys=list(logs),
                                evaluate=m.evaluate(x, y, sample_weight=w, verbose=0),
                                test=m.test_on_batch(x, y, sample_weight=w),
                                train=m.train_on_batch(x, y, sample_weight=w))
    ours, theirs = results[hl], results[keras]
    assert ours["history"] == theirs["history"]
    assert ours["keys"] == theirs["keys"]
    for what in ("evaluate", "test", "train"):
        assert np.ndim(ours[what]) == np.ndim(theirs[what]), what   # a scalar where Keras gives one
        np.testing.assert_allclose(ours[what], theirs[what], rtol=1e-5, err_msg=what)
    # The list's entries, by name, in Keras's order; metrics_names lists model.metrics, as Keras 3's.
    named = kmodel._flatten_metrics_in_order({k: k for k in theirs["keys"]})
    assert model.trainer.program.result_values({k: k for k in ours["keys"]}) == named
    assert model.metrics_names == kmodel.metrics_names
