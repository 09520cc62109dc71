"""OrbaxCheckpoint: the steps Keras 3.15's callback saves, loading them back, exact resumption."""

import os
import warnings

import jax
import numpy as np
import pytest

import highlevel as hl
from highlevel.callbacks.orbax_checkpoint import OrbaxCheckpoint
from highlevel.config.build import build_callbacks
from highlevel.config.check import callback_classes

_RNG = np.random.default_rng(0)
X = _RNG.standard_normal((40, 4)).astype(np.float32)
Y = (2 * X[:, :1] + 0.3 * _RNG.standard_normal((40, 1))).astype(np.float32)
VAL_LOSSES = [0.5, 0.7, 0.4, 0.4, 0.1]  # improvements (min) at epochs 0, 2 and 4


def _model(seed=0):
    hl.utils.set_random_seed(seed)
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(8, activation="relu"), hl.layers.Dense(1)])
    model.compile(optimizer=hl.optimizers.Adam(0.01), loss="mse")
    return model


def _steps(directory):
    return sorted(int(n) for n in os.listdir(directory) if n.isdigit())


def _keras_steps(directory, epochs_logs=None, **kwargs):
    """The steps Keras 3.15's OrbaxCheckpoint leaves in ``directory``: fed ``epochs_logs`` by hand,
    or (without them) through a fit of 2 epochs of 5 batches."""
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    cb = keras.callbacks.OrbaxCheckpoint(str(directory), **kwargs)
    with warnings.catch_warnings(), jax.numpy_rank_promotion("allow"):  # Keras's Dense broadcasts its bias
        warnings.simplefilter("ignore")
        if epochs_logs is None:
            model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
        else:
            cb.set_model(model)
            cb.on_train_begin()
            for epoch, logs in enumerate(epochs_logs):
                cb.on_epoch_end(epoch, logs)
            cb.on_train_end()
    return _steps(directory)


def _hl_steps_by_hand(directory, epochs_logs, **kwargs):
    model = _model()
    model.build((None, 4))
    cb = OrbaxCheckpoint(directory, **kwargs)
    cb.set_model(model)
    cb.on_train_begin()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch, logs in enumerate(epochs_logs):
            cb.on_epoch_end(epoch, logs)
    cb.on_train_end()
    return _steps(directory)


def test_steps_saved_match_keras_for_best_only_max_to_keep_and_batch_frequency(tmp_path):
    logs = [{"val_loss": v} for v in VAL_LOSSES]
    cases = [dict(save_best_only=True, max_to_keep=None), dict(save_best_only=True),
             dict(max_to_keep=3), dict(save_best_only=True, mode="max", initial_value_threshold=0.45,
                                       max_to_keep=None),
             # not in the logs: warns, saves nothing
             dict(save_best_only=True, monitor="val_accuracy", mode="max", max_to_keep=None)]
    for i, kwargs in enumerate(cases):
        expected = _keras_steps(tmp_path / f"keras{i}", logs, **kwargs)
        assert _hl_steps_by_hand(tmp_path / f"hl{i}", logs, **kwargs) == expected, kwargs
    assert _steps(tmp_path / "hl0") == [0, 2, 4]
    with pytest.warns(UserWarning, match="only with val_accuracy available"):
        cb = OrbaxCheckpoint(tmp_path / "warn", save_best_only=True, monitor="val_accuracy", mode="max")
        cb.set_model(_model())
        cb.on_epoch_end(0, {"val_loss": 1.0})
    # every 2 batches over 2 epochs of 5 batches: the step is the number of batches trained
    expected = _keras_steps(tmp_path / "keras_batches", save_freq=2, max_to_keep=None)
    model = _model()
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0,
              callbacks=[OrbaxCheckpoint(tmp_path / "hl_batches", save_freq=2, max_to_keep=None)])
    assert _steps(tmp_path / "hl_batches") == expected == [2, 4, 6, 8, 10]


@pytest.mark.parametrize("save_on_background", [True, False])
def test_a_loaded_step_predicts_identically_and_resumes_to_the_uninterrupted_weights(tmp_path, save_on_background):
    uninterrupted = _model()
    uninterrupted.fit(X, Y, batch_size=8, epochs=4, verbose=0)
    model = _model()
    cb = OrbaxCheckpoint(tmp_path / "ckpt", max_to_keep=2, save_on_background=save_on_background)
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    assert _steps(tmp_path / "ckpt") == [0, 1]
    assert not [n for n in os.listdir(tmp_path / "ckpt") if not n.isdigit()]  # nothing half-written

    hl.utils.set_random_seed(0)  # the run's seed: the same data order and random keys
    restored = hl.models.load_model(tmp_path / "ckpt")
    np.testing.assert_array_equal(restored.predict(X, verbose=0), model.predict(X, verbose=0))
    assert restored.trainer.step == model.trainer.step == 10
    restored.fit(X, Y, batch_size=8, epochs=4, initial_epoch=2, verbose=0)
    for a, b in zip(restored.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_array_equal(a, b)

    fresh = _model(seed=1)
    fresh.load_weights(tmp_path / "ckpt" / "0")  # an earlier step, named
    first_epoch = _model()
    first_epoch.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    for a, b in zip(fresh.get_weights(), first_epoch.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_only_steps_load_into_a_model_but_not_as_one(tmp_path):
    model = _model()
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0,
              callbacks=[OrbaxCheckpoint(tmp_path / "w", save_weights_only=True)])
    other = _model(seed=1)
    other.load_weights(tmp_path / "w")
    np.testing.assert_array_equal(other.predict(X, verbose=0), model.predict(X, verbose=0))
    with pytest.raises(ValueError, match="holds weights only .* model.load_weights"):
        hl.models.load_model(tmp_path / "w")


def test_an_error_in_fit_leaves_whole_steps_and_a_new_run_needs_a_new_directory(tmp_path):
    class Fail(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("boom")

    model = _model()
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, Y, batch_size=8, epochs=3, verbose=0,
                  callbacks=[OrbaxCheckpoint(tmp_path / "c", max_to_keep=None), Fail()])
    assert sorted(os.listdir(tmp_path / "c")) == ["0", "1"]
    np.testing.assert_array_equal(hl.models.load_model(tmp_path / "c").predict(X, verbose=0),
                                  model.predict(X, verbose=0))
    with pytest.raises(ValueError, match="already holds step 1, and steps must increase"):
        model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[OrbaxCheckpoint(tmp_path / "c")])


def test_verbose_prints_each_save_and_skip_as_keras_docs_say(tmp_path, capsys):
    cb = OrbaxCheckpoint(tmp_path / "v", save_best_only=True, verbose=1)
    cb.set_model(_model())
    cb.model.build((None, 4))
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.on_epoch_end(1, {"val_loss": 2.0})
    cb.on_train_end()
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from None to 1.00000" in out
    assert "Epoch 2: val_loss did not improve from 1.00000" in out and _steps(tmp_path / "v") == [0]


def test_bad_arguments_are_refused_and_configs_can_name_it(tmp_path):
    for kwargs, match in [(dict(save_freq=0), "save_freq=0"), (dict(save_freq="batch"), "save_freq='batch'"),
                          (dict(max_to_keep=0), "max_to_keep=0"), (dict(mode="up"), "mode must be one of")]:
        with pytest.raises(ValueError, match=match):
            OrbaxCheckpoint(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()  # constructing writes nothing
    assert callback_classes()["OrbaxCheckpoint"] is OrbaxCheckpoint
    (cb,) = build_callbacks([{"OrbaxCheckpoint": {"directory": "orbax", "save_freq": 5}}], tmp_path)
    assert cb.directory == str(tmp_path / "orbax") and cb.save_freq == 5
