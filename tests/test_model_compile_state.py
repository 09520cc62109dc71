"""What a compiled model exposes as Keras 3 does: ``model.loss``, ``model.metrics``,
``model.metrics_names``, and what a second ``compile`` keeps; each checked against Keras."""

from __future__ import annotations

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations


def _dense(lib):
    return lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])


def _data(rng):
    return rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")


@pytest.mark.parametrize("loss", ["mse", "loss object", "function list"])
def test_model_loss_is_compiles_argument_as_given(loss):
    models = {}
    for lib in (keras, hl):
        with jax.numpy_rank_promotion("allow"):
            model = _dense(lib)
        given = {"mse": "mse", "loss object": lib.losses.MeanSquaredError(),
                 "function list": [lib.losses.mean_absolute_error]}[loss]
        assert model.loss is None
        model.compile(optimizer="sgd", loss=given)
        assert model.loss is given
        models[lib] = model
    if isinstance(models[keras].loss, str):
        assert models[hl].loss == models[keras].loss


def test_a_second_compile_keeps_the_loss_and_metrics_it_is_not_given(rng):
    x, y = _data(rng)
    with jax.numpy_rank_promotion("allow"):
        kmodel = _dense(keras)
    model = _dense(hl)
    model.set_weights(kmodel.get_weights())
    histories = {}
    for lib, m in ((keras, kmodel), (hl, model)):
        m.compile(optimizer="adam", loss="mae", loss_weights=[2.0], metrics=["mse"])
        m.compile(optimizer=lib.optimizers.SGD(0.1))   # Keras keeps the loss, its weights and the metrics
        assert m.loss == "mae"
        with jax.numpy_rank_promotion("allow"):
            histories[lib] = m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    theirs, ours = histories[keras], histories[hl]
    assert sorted(theirs) == sorted(k for k in ours if k != "learning_rate") == ["loss", "mse"]
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, err_msg=key)


def _two_outputs(lib):
    inputs = lib.Input((3,))
    return lib.Model(inputs, [lib.layers.Dense(2, name="a")(inputs), lib.layers.Dense(1, name="b")(inputs)])


def _names(model):
    return [(m.name, type(m).__name__) for m in model.metrics]


@pytest.mark.parametrize("outputs", [1, 2])
def test_model_metrics_list_keras_trackers_and_answer_with_the_last_values(rng, outputs):
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32") if outputs == 1 else [
        rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")]
    val = (x[:4], y[:4] if outputs == 1 else [t[:4] for t in y])
    metrics = ["mae", "mse"] if outputs == 1 else ["mae", ["mse", "mae"]]
    seen = {}
    for lib in (keras, hl):
        with jax.numpy_rank_promotion("allow"):
            model = _dense(lib) if outputs == 1 else _two_outputs(lib)
            if lib is hl:
                model.set_weights(seen[keras]["weights"])
            record = seen[lib] = {"weights": model.get_weights(), "uncompiled": _names(model)}
            model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse", metrics=metrics)
            record["compiled"] = _names(model)
            model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, validation_data=val)
            record["fitted"] = _names(model)
            record["names"] = model.metrics_names
            record["inner"] = [m.name for m in model.metrics[1].metrics]
            record["after fit"] = [m.result() for m in model.metrics]   # the last validation's, as Keras
            model.evaluate(x, y, verbose=0)
            record["after evaluate"] = [m.result() for m in model.metrics]
    ours, theirs = seen[hl], seen[keras]
    for what in ("uncompiled", "compiled", "fitted", "names", "inner"):
        assert ours[what] == theirs[what], what
    assert ours["names"][:2] == ["loss", "compile_metrics"]
    for what in ("after fit", "after evaluate"):
        for a, b in zip(ours[what], theirs[what]):
            if isinstance(b, dict):
                assert sorted(a) == sorted(b)
                a, b = [a[k] for k in sorted(b)], [b[k] for k in sorted(b)]
            np.testing.assert_allclose(a, b, rtol=1e-5, err_msg=what)


def _flat_results(model):
    out = {}
    for m in model.metrics:
        value = m.result()
        out.update({k: float(v) for k, v in value.items()} if isinstance(value, dict) else {m.name: float(value)})
    return out


def test_a_callback_reads_the_running_metrics_as_keras_and_nothing_recompiles(rng):
    x, y = _data(rng)
    read = {}
    for lib in (keras, hl):
        with jax.numpy_rank_promotion("allow"):
            model = _dense(lib)
        if lib is hl:
            model.set_weights(seen_weights)
        seen_weights = model.get_weights()
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
        rows = read[lib] = []

        class ReadMetrics(lib.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                rows.append(("train", _flat_results(self.model)))

            def on_test_batch_end(self, batch, logs=None):
                rows.append(("test", _flat_results(self.model)))

        with jax.numpy_rank_promotion("allow"), count_compilations() as compiled:
            model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, validation_data=(x, y),
                      callbacks=[ReadMetrics()])
            warm = len(compiled)
            model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, validation_data=(x, y),
                      callbacks=[ReadMetrics()])
        if lib is hl:
            assert len(compiled) == warm   # the second fit, read by the callback, compiled nothing
    assert [phase for phase, _ in read[hl]] == [phase for phase, _ in read[keras]]
    for (_, ours), (_, theirs) in zip(read[hl], read[keras]):
        assert sorted(ours) == sorted(theirs) == ["loss", "mae"]
        np.testing.assert_allclose([ours[k] for k in theirs], list(theirs.values()), rtol=1e-5)


def test_a_models_own_metrics_property_is_still_refused():
    class Tracked(hl.Model):
        @property
        def metrics(self):
            return []

    inputs = hl.Input((3,))
    with pytest.raises(ValueError, match="Tracked defines metrics, which highlevel never calls"):
        Tracked(inputs, hl.layers.Dense(1)(inputs)).compile(optimizer="sgd", loss="mse")


def test_a_tracker_updated_inside_the_compiled_step_is_refused_with_the_way_out(rng):
    """Keras's pattern of a Mean updated in compute_loss needs its own train step; here the step is
    compiled, so the update is refused with one sentence instead of leaking a tracer."""
    x, y = _data(rng)

    class Tracked(hl.Model):
        def __init__(self):
            super().__init__()
            self.dense = hl.layers.Dense(1)
            self.tracker = hl.metrics.Mean(name="tracker")

        def call(self, inputs):
            return self.dense(inputs)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            loss = super().compute_loss(x, y, y_pred, sample_weight, training)
            self.tracker.update_state(loss)
            return loss

    model = Tracked()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"Mean 'tracker': update_state\(\) was called inside a compiled step .*"
                                         r"compile\(metrics=\[\.\.\.\]\) updates metrics inside the step"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)


def test_compile_metrics_updates_eagerly_as_keras(rng):
    x = rng.normal(size=(8, 3)).astype("float32")
    y = [rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")]
    w = rng.uniform(0.5, 2.0, 8).astype("float32")
    results = {}
    for lib in (keras, hl):
        with jax.numpy_rank_promotion("allow"):
            model = _two_outputs(lib)
            if lib is hl:
                model.set_weights(weights)
            weights = model.get_weights()
            model.compile(optimizer="sgd", loss="mse", metrics=["mae", None], weighted_metrics=[None, ["mse"]])
            container = model.metrics[1]
            model.evaluate(x, y, verbose=0)
            container.reset_state()
            container.update_state(y, model.predict(x, verbose=0), sample_weight=w)
            results[lib] = {k: float(v) for k, v in container.result().items()}
    assert sorted(results[hl]) == sorted(results[keras]) == ["a_mae", "b_mse"]
    for key, value in results[keras].items():
        np.testing.assert_allclose(results[hl][key], value, rtol=1e-5, err_msg=key)
