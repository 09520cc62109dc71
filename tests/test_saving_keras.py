"""Keras's files and ``hl.saving``: ``.weights.h5`` both ways with Keras 3, the ``.keras`` zip,
registered custom objects, ``custom_objects=``, and refusals (unregistered names, damaged files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
import zipfile
from pathlib import Path

import jax
import keras
import numpy as np
import pytest

import highlevel as hl

ROOT = Path(__file__).resolve().parents[1]


def _ns(lib):
    return types.SimpleNamespace(Input=lib.Input, Sequential=lib.Sequential, Model=lib.Model, layers=lib.layers)


def _recurrent(ns):
    """Functional: stacked LSTM, Bidirectional GRU, a nested Sequential with batch norm, two heads."""
    x = ns.Input((6, 5))
    h = ns.layers.LSTM(4, return_sequences=True)(x)
    h = ns.layers.Bidirectional(ns.layers.GRU(3))(h)
    h = ns.layers.Dense(4, activation="relu")(h)
    inner = ns.Sequential([ns.Input((30,)), ns.layers.Dense(3), ns.layers.BatchNormalization(), ns.layers.Dense(3)])
    g = inner(ns.layers.Flatten()(x))
    y = ns.layers.Dense(2)(ns.layers.Concatenate()([h, g]))
    s = ns.layers.SimpleRNN(2)(x)
    return ns.Model(x, [y, s])


def _convolutional(ns):
    return ns.Sequential([
        ns.Input((8, 8, 3)), ns.layers.Conv2D(4, 3, activation="relu"), ns.layers.BatchNormalization(),
        ns.layers.DepthwiseConv2D(3, padding="same"), ns.layers.SeparableConv2D(4, 3),
        ns.layers.Conv2DTranspose(2, 3), ns.layers.MaxPooling2D(2), ns.layers.Flatten(), ns.layers.Dropout(0.5),
        ns.layers.LayerNormalization(), ns.layers.Dense(3)])


def _sequence(ns):
    x = ns.Input((7,), dtype="int32")
    h = ns.layers.Embedding(10, 4)(x)
    h = ns.layers.Conv1D(3, 2)(h)
    h = ns.layers.GlobalAveragePooling1D()(h)
    return ns.Model(x, ns.layers.Dense(1)(h))


ARCHITECTURES = {"recurrent": (_recurrent, (6, 5)), "convolutional": (_convolutional, (8, 8, 3)),
                 "sequence": (_sequence, (7,))}


def _inputs(name, rng):
    shape = ARCHITECTURES[name][1]
    if name == "sequence":
        return rng.integers(0, 10, size=(4,) + shape).astype("int32")
    return rng.normal(size=(4,) + shape).astype("float32")


def _outputs(model, x, predict):
    out = predict(x)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def _keras_pair(name, rng):
    build = ARCHITECTURES[name][0]
    with jax.numpy_rank_promotion("allow"):
        kmodel = build(_ns(keras))
        kmodel.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(w.dtype) if w.dtype.kind == "f"
                            else w for w in kmodel.get_weights()])
    model = build(_ns(hl))
    return kmodel, model


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_a_keras_weights_file_loads_here_with_keras_outputs(tmp_path, rng, name):
    kmodel, model = _keras_pair(name, rng)
    x = _inputs(name, rng)
    with jax.numpy_rank_promotion("allow"):
        kmodel.save_weights(tmp_path / "k.weights.h5")
        expected = _outputs(kmodel, x, lambda a: kmodel.predict(a, verbose=0))
    report = model.load_weights(tmp_path / "k.weights.h5")
    assert report.complete, str(report)
    for got, want in zip(_outputs(model, x, lambda a: model.predict(a, verbose=0)), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_our_weights_file_loads_in_keras_with_equal_outputs(tmp_path, rng, name):
    kmodel, model = _keras_pair(name, rng)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(w.dtype) if w.dtype.kind == "f" else w
                       for w in model.get_weights()])
    x = _inputs(name, rng)
    path = tmp_path / "ours.weights.h5"
    model.save_weights(path)
    assert path.is_file()
    expected = _outputs(model, x, lambda a: model.predict(a, verbose=0))
    with jax.numpy_rank_promotion("allow"):
        kmodel.load_weights(path)
        got = _outputs(kmodel, x, lambda a: kmodel.predict(a, verbose=0))
        for ours, theirs in zip(model.get_weights(), kmodel.get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    for g, want in zip(got, expected):
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-5)
    # ... and the same file reads back here.
    fresh = ARCHITECTURES[name][0](_ns(hl))
    assert fresh.load_weights(path).complete
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _trained(rng):
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(8, activation="relu"), hl.layers.BatchNormalization(),
                           hl.layers.Dense(3)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", hl.metrics.SparseTopKCategoricalAccuracy(k=2)])
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.integers(0, 3, size=(32,))
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return model, x, y


def test_the_keras_zip_round_trips_model_optimizer_and_compile_arguments(tmp_path, rng):
    model, x, y = _trained(rng)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert json.loads(z.read("metadata.json"))["format"] == "highlevel.keras/1"
    restored = hl.models.load_model(path)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert restored.trainer.step == model.trainer.step == 8
    for a, b in zip(jax.tree_util.tree_leaves(restored.trainer.optimizer_state),
                    jax.tree_util.tree_leaves(model.trainer.optimizer_state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # The compiled metrics come back, the metric object included; training continues identically.
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    history = restored.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert sorted(history.history) == ["accuracy", "learning_rate", "loss", "sparse_top_k_categorical_accuracy"]
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # Keras reads the weights of the zip into the same architecture.
    with jax.numpy_rank_promotion("allow"):
        kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                   keras.layers.BatchNormalization(), keras.layers.Dense(3)])
        kmodel.load_weights(path)
        np.testing.assert_allclose(kmodel.predict(x, verbose=0), hl.models.load_model(path).predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-6)


def test_a_keras_written_zip_is_refused_by_load_model_but_its_weights_load(tmp_path, rng):
    with jax.numpy_rank_promotion("allow"):
        kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        kmodel.save(tmp_path / "k.keras")
        x = rng.normal(size=(2, 4)).astype("float32")
        expected = kmodel.predict(x, verbose=0)
    with pytest.raises(ValueError, match=r"written by Keras 3\.\d+.*model\.load_weights"):
        hl.models.load_model(tmp_path / "k.keras")
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(3)])
    assert model.load_weights(tmp_path / "k.keras").complete
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_damaged_files_are_refused_with_one_sentence(tmp_path, rng):
    model, _, _ = _trained(rng)
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    for name in ("m.keras", "m.weights.h5"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / ("bad_" + name)).write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"bad_m\.keras is not a readable \.keras file \(.*truncated or damaged"):
        hl.models.load_model(tmp_path / "bad_m.keras")
    with pytest.raises(ValueError, match=r"bad_m\.weights\.h5 is not a readable HDF5 weight file \(it is truncated"):
        model.load_weights(tmp_path / "bad_m.weights.h5")
    with pytest.raises(ValueError, match="does not write Keras 2's legacy HDF5 format"):
        model.save(tmp_path / "legacy.h5")
    (tmp_path / "m.keras").unlink()
    model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        model.save(tmp_path / "m.keras", overwrite=False)


def test_a_weights_file_and_a_whole_model_file_are_refused_by_the_other_method(tmp_path):
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"model\.save\(\) writes whole models, but .*x\.weights\.h5 names a "
                                         r"weights-only file; call model\.save_weights\(\)"):
        model.save(tmp_path / "x.weights.h5")
    with pytest.raises(ValueError, match=r"save_weights\(\) writes weights only, but .*x\.keras names a "
                                         r"whole-model '\.keras' file; call model\.save\(\)"):
        model.save_weights(tmp_path / "x.keras")
    assert not list(tmp_path.iterdir())   # as Keras: nothing written (never a directory of that name)
    model.save_weights(tmp_path / "w")   # any other path: highlevel's directory, as documented
    assert (tmp_path / "w").is_dir() and model.load_weights(tmp_path / "w") is None


# -- bfloat16 weights -----------------------------------------------------------------------------


def _bf16(ns):
    return ns.Sequential([ns.Input((6,)), ns.layers.Dense(5, dtype="bfloat16"), ns.layers.Dense(2)])


def _h5_dtypes(path) -> dict:
    import h5py
    found = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: found.setdefault(name, (obj.dtype.str, obj.attrs.get("dtype")))
                     if isinstance(obj, h5py.Dataset) else None)
    return found


def test_bfloat16_weights_round_trip_exactly_in_both_files(tmp_path, rng):
    model = _bf16(hl)
    model.compile(optimizer="adam", loss="mse")
    x = rng.normal(size=(8, 6)).astype("float32")
    model.fit(x, rng.normal(size=(8, 2)).astype("float32"), verbose=0)
    weights = model.get_weights()
    assert [str(w.dtype) for w in weights] == ["bfloat16", "bfloat16", "float32", "float32"]
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    # Stored as Keras 3 stores them: HDF5's two-byte opaque type marked dtype="bfloat16".
    assert _h5_dtypes(tmp_path / "w.weights.h5")["layers/dense/vars/0"] == ("|V2", "bfloat16")
    restored = hl.models.load_model(tmp_path / "m.keras")
    for a, b in zip(restored.get_weights(), weights):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    for a, b in zip(jax.tree_util.tree_leaves(restored.trainer.optimizer_state),
                    jax.tree_util.tree_leaves(model.trainer.optimizer_state)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    fresh = _bf16(hl)
    assert fresh.load_weights(tmp_path / "w.weights.h5").complete
    for a, b in zip(fresh.get_weights(), weights):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    # A file of an earlier highlevel (the opaque type without the attribute) reads the same.
    import h5py
    with h5py.File(tmp_path / "w.weights.h5", "a") as f:
        del f["layers/dense/vars/0"].attrs["dtype"]
    again = _bf16(hl)
    again.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(again.get_weights()[0], weights[0])


def test_bfloat16_weight_files_pass_both_ways_with_keras(tmp_path, rng):
    x = rng.normal(size=(4, 6)).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        kmodel = _bf16(keras)
        kmodel.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(w.dtype) for w in kmodel.get_weights()])
        kmodel.save_weights(tmp_path / "k.weights.h5")
        kweights = [np.asarray(w) for w in kmodel.get_weights()]
    assert str(kweights[0].dtype) == "bfloat16"
    model = _bf16(hl)
    assert model.load_weights(tmp_path / "k.weights.h5").complete   # Keras's file, read here
    for a, b in zip(model.get_weights(), kweights):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()])
    model.save_weights(tmp_path / "ours.weights.h5")
    model.save(tmp_path / "ours.keras")
    for name in ("ours.weights.h5", "ours.keras"):   # ... and ours, read by Keras
        with jax.numpy_rank_promotion("allow"):
            kmodel = _bf16(keras)
            kmodel.load_weights(tmp_path / name)
            for a, b in zip(kmodel.get_weights(), model.get_weights()):
                assert np.asarray(a).dtype == b.dtype
                np.testing.assert_array_equal(np.asarray(a), b)


# -- registered objects ---------------------------------------------------------------------------

_PROGRAM = '''
import sys, numpy as np
import highlevel as hl
import jax.numpy as jnp
if "register" in sys.argv:
    @hl.saving.register_keras_serializable(package="tests")
    def doubled_relu(x):
        return 2.0 * jnp.maximum(x, 0.0)

    @hl.saving.register_keras_serializable(package="tests")
    def scaled_mse(y_true, y_pred):
        return 3.0 * jnp.mean(jnp.square(y_true - y_pred), axis=-1)

    @hl.saving.register_keras_serializable(package="tests")
    class Offset(hl.layers.Layer):
        def __init__(self, offset=1.0, **kwargs):
            super().__init__(**kwargs)
            self.offset = offset
        def call(self, inputs):
            return inputs + self.offset
        def get_config(self):
            return {**super().get_config(), "offset": self.offset}
x = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
if sys.argv[1] == "save":
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(4, activation=doubled_relu), Offset(0.5),
                           hl.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=scaled_mse)
    model.fit(x, np.ones((4, 2), "float32"), verbose=0)
    model.save(sys.argv[2])
    np.save(sys.argv[2] + ".npy", model.predict(x, verbose=0))
else:
    model = hl.models.load_model(sys.argv[2])
    np.testing.assert_allclose(model.predict(x, verbose=0), np.load(sys.argv[2] + ".npy"), rtol=1e-6)
    assert model.layers[0].activation.__name__ == "doubled_relu"
    assert model.trainer.compile_config["loss"].fn.__name__ == "scaled_mse"
    print("loaded", float(model.evaluate(x, np.ones((4, 2), "float32"), verbose=0)))
'''


def _run(tmp_path, *args):
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(_PROGRAM))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.parametrize("suffix", ["model.keras", "model_dir"])
def test_registered_custom_activation_loss_and_layer_save_and_load_in_a_fresh_process(tmp_path, suffix):
    path = str(tmp_path / suffix)
    saved = _run(tmp_path, "save", path, "register")
    assert saved.returncode == 0, saved.stderr[-3000:]
    loaded = _run(tmp_path, "load", path, "register")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert loaded.stdout.startswith("loaded ")
    refused = _run(tmp_path, "load", path)   # the loading process registered nothing
    assert refused.returncode != 0
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError:") and "'tests>" in last and "registered in this process" in last
    assert "@hl.saving.register_keras_serializable()" in last and "custom_objects=" in last


def test_custom_objects_and_scopes_lend_unregistered_objects(tmp_path):
    def halved(x):
        return x / 2

    class Shift(hl.layers.Layer):
        def call(self, inputs):
            return inputs + 1.0

    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, activation=halved), Shift()])
    config = model.get_config()
    assert config["layers"][1]["config"]["activation"] == "halved"   # Keras's way: the function's name
    with pytest.raises(ValueError, match=r"names the activation 'halved'|Unknown activation 'halved'"):
        hl.Sequential.from_config(config)
    again = hl.Sequential.from_config(config, custom_objects={"halved": halved, "Shift": Shift})
    assert again.layers[0].activation is halved and isinstance(again.layers[1], Shift)
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="Unknown activation 'halved'"):
        hl.models.load_model(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="Unknown layer 'Shift'.*register_keras_serializable"):
        hl.models.load_model(tmp_path / "m.keras", custom_objects={"halved": halved})
    loaded = hl.models.load_model(tmp_path / "m.keras", custom_objects={"halved": halved, "Shift": Shift})
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with hl.saving.custom_object_scope({"halved": halved, "Shift": Shift}):
        assert isinstance(hl.models.load_model(tmp_path / "m.keras").layers[1], Shift)
    assert hl.saving.get_registered_object("halved") is None   # the scope is gone


def test_registry_names_and_serialize_round_trip():
    @hl.saving.register_keras_serializable(package="reg", name="Triple")
    class TripleLoss(hl.losses.Loss):
        def call(self, y_true, y_pred):
            return 3.0 * abs(y_true - y_pred)

    assert hl.saving.get_registered_name(TripleLoss) == "reg>Triple"
    assert hl.saving.get_registered_object("reg>Triple") is TripleLoss
    assert "reg>Triple" in hl.saving.get_custom_objects()
    config = hl.saving.serialize_keras_object(TripleLoss(name="t"))
    assert config["registered_name"] == "reg>Triple" and config["module"] == __name__
    loss = hl.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert isinstance(loss, TripleLoss) and loss.name == "t"
    objects = [hl.layers.Dense(3, activation="relu", kernel_regularizer="l2"), hl.metrics.AUC(curve="PR"),
               hl.optimizers.Adam(0.01), hl.initializers.HeNormal(seed=1), hl.losses.Huber(delta=2.0),
               hl.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5), [1, "a", None], np.arange(3)]
    for obj in objects:
        config = json.loads(json.dumps(hl.saving.serialize_keras_object(obj)))
        back = hl.saving.deserialize_keras_object(config)
        if hasattr(obj, "get_config"):
            assert type(back) is type(obj) and back.get_config() == obj.get_config()
        else:
            np.testing.assert_equal(back, obj if not isinstance(obj, np.ndarray) else obj)
    assert hl.saving.deserialize_keras_object(hl.saving.serialize_keras_object(hl.activations.gelu)) \
        is hl.activations.gelu
    with pytest.raises(ValueError, match=r"names the class 'nowhere>Thing', which is not registered"):
        hl.saving.deserialize_keras_object({"class_name": "Thing", "registered_name": "nowhere>Thing",
                                            "config": {}})
    with pytest.raises(ValueError, match="a lambda or a nested function has no name"):
        hl.saving.serialize_keras_object(lambda x: x)
    with pytest.raises(ValueError, match="package must be a string without '>'"):
        hl.saving.register_keras_serializable(package="a>b")
    with pytest.raises(ValueError, match="has no get_config"):
        hl.saving.register_keras_serializable()(type("NoConfig", (), {}))


def test_a_lambda_in_the_config_is_refused_before_anything_is_written(tmp_path):
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, activation=lambda x: x)])
    with pytest.raises(TypeError, match="cannot be saved: its config holds an object JSON cannot hold"):
        model.save(tmp_path / "m.keras")
    assert not list(tmp_path.iterdir())
    model.save_weights(tmp_path / "w.weights.h5")   # the weights alone save
    assert model.load_weights(tmp_path / "w.weights.h5").complete


# -- subclassed models ----------------------------------------------------------------------------

def _subclassed_classes(lib, register=None):
    """A subclassed model whose layers are attributes: a Dense, a custom block of two, a list of
    heads and a weight of its own; its get_config extends ``super().get_config()`` as in Keras."""

    class Block(lib.layers.Layer):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.inner = lib.layers.Dense(units, activation="relu")
            self.outer = lib.layers.Dense(units)

        def call(self, inputs):
            return self.outer(self.inner(inputs))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    class Tower(lib.Model):
        def __init__(self, units=3, heads=2, **kwargs):
            super().__init__(**kwargs)
            self.units, self.heads = units, heads
            self.stem = lib.layers.Dense(4)
            self.block = Block(units)
            self.outputs_ = [lib.layers.Dense(2) for _ in range(heads)]
            self.scale = self.add_weight(shape=(2,), initializer="ones", name="scale")

        def call(self, inputs, training=False):
            h = self.block(self.stem(inputs))
            return sum(head(h) for head in self.outputs_) * self.scale[None, :]

        def get_config(self):
            return {**super().get_config(), "units": self.units, "heads": self.heads}

    if register is not None:
        Block = register(Block)
        Tower = register(Tower)
    return Block, Tower


def _saved_config(path: Path) -> dict:
    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("config.json"))
    return json.loads((path / "config.json").read_text())


@pytest.mark.parametrize("suffix", ["model.keras", "model_dir"])
@pytest.mark.parametrize("register", ["keras", "utils"])
def test_a_registered_subclassed_model_round_trips_with_its_optimizer_state(tmp_path, rng, suffix, register):
    decorator = (hl.saving.register_keras_serializable(package="subclassed") if register == "keras"
                 else hl.utils.register_serializable())
    _, Tower = _subclassed_classes(hl, decorator)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    model = Tower(units=5, name="tower")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    path = tmp_path / suffix
    model.save(path)
    expected = model.predict(x, verbose=0)
    saved = _saved_config(path)
    assert saved["class_name"] == "Tower"
    assert saved["registered_name"] == hl.saving.get_registered_name(Tower)
    expected_name = "subclassed>Tower" if register == "keras" else f"{__name__}:{Tower.__qualname__}"
    assert saved["registered_name"] == expected_name
    # Other models built in between move the default name counters: the loaded model's layers
    # get other names than the saved one's, and its weights must still find their places.
    hl.Sequential([hl.Input((3,)), hl.layers.Dense(4), hl.layers.Dense(2)])
    Tower(units=5)(x[:1])
    restored = hl.models.load_model(path)
    assert type(restored) is Tower and restored.units == 5 and restored.name == "tower"
    assert restored.stem.name != model.stem.name and restored.outputs_[1].name != model.outputs_[1].name
    np.testing.assert_array_equal(restored.predict(x, verbose=0), expected)
    assert restored.trainer.step == model.trainer.step == 8
    ours = jax.tree_util.tree_leaves(model.trainer.optimizer_state)
    theirs = jax.tree_util.tree_leaves(restored.trainer.optimizer_state)
    assert len(ours) == len(theirs)
    for a, b in zip(theirs, ours):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    restored.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # With custom_objects (by class name) in place of the registry entry the file names.
    lent = hl.models.load_model(path, custom_objects={"Tower": Tower}, compile=False)
    np.testing.assert_array_equal(lent.predict(x, verbose=0), expected)


def test_a_subclassed_models_weight_file_is_matched_by_attribute_path_as_keras_does(tmp_path, rng):
    x = rng.normal(size=(4, 3)).astype("float32")
    _, Tower = _subclassed_classes(hl)
    model = Tower()
    model(x)
    model.save_weights(tmp_path / "hl.weights.h5")
    other = Tower()
    other(x)
    assert other.stem.name != model.stem.name
    assert other.load_weights(tmp_path / "hl.weights.h5").complete
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    with jax.numpy_rank_promotion("allow"):
        _, KerasTower = _subclassed_classes(keras)
        kmodel = KerasTower()
        kmodel(x)
        kmodel.load_weights(tmp_path / "hl.weights.h5")   # Keras finds every weight where we put it
        np.testing.assert_allclose(np.asarray(kmodel(x)), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
        kmodel.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(w.dtype) for w in kmodel.get_weights()])
        kmodel.save_weights(tmp_path / "k.weights.h5")
        expected = np.asarray(kmodel(x))
    h5py = pytest.importorskip("h5py")

    def datasets(path):
        found = []
        with h5py.File(path) as f:
            f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
        return sorted(found)

    # The same groups as Keras writes: stem and heads under layers/ (the attribute ``layers``
    # sorts before them), the block under its attribute, the model's own weight at the top.
    assert datasets(tmp_path / "hl.weights.h5") == datasets(tmp_path / "k.weights.h5")
    assert "layers/dense_2/vars/1" in datasets(tmp_path / "hl.weights.h5")
    assert model.load_weights(tmp_path / "k.weights.h5").complete
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_from_config_of_a_subclass_calls_its_constructor_as_keras_does():
    _, Tower = _subclassed_classes(hl)
    config = Tower(units=6, heads=3, name="t").get_config()
    assert {"units": 6, "heads": 3, "name": "t"}.items() <= config.items()
    rebuilt = Tower.from_config(json.loads(json.dumps(config)))
    assert type(rebuilt) is Tower and (rebuilt.units, rebuilt.heads, rebuilt.name) == (6, 3, "t")
    assert type(hl.models.clone_model(rebuilt)) is Tower

    class Graph(hl.Model):   # a subclass with Model's own constructor still rebuilds its graph
        pass

    inputs = hl.Input((3,))
    graph = Graph(inputs, hl.layers.Dense(2)(inputs))
    again = Graph.from_config(graph.get_config())
    assert type(again) is Graph and again.count_params() == 8 and again.inputs is not None
    with pytest.raises(ValueError, match="is not a functional model's .*call from_config on the subclass"):
        hl.Model.from_config(config)
    with pytest.raises(TypeError, match=r"Cannot rebuild Tower from its config with Tower\(\*\*config\).*"
                                        "define the classmethod from_config"):
        Tower.from_config({**config, "depth": 2})


def test_a_subclass_without_get_config_or_registration_is_refused_with_one_sentence(tmp_path, rng):
    x = rng.normal(size=(2, 3)).astype("float32")

    class Bare(hl.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = hl.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    bare = Bare()
    bare(x)
    for name in ("bare.keras", "bare_dir"):
        with pytest.raises(NotImplementedError, match="Bare is a subclassed model: define get_config()"):
            bare.save(tmp_path / name)
    assert not list(tmp_path.iterdir())
    _, Tower = _subclassed_classes(hl)   # not registered
    model = Tower()
    model(x)
    for name in ("tower.keras", "tower_dir"):
        model.save(tmp_path / name)
        assert "registered_name" not in _saved_config(tmp_path / name)
        with pytest.raises(ValueError, match=r"holds a model of class 'Tower', which this process does not know: "
                                             r".*register_keras_serializable.*custom_objects=\{'Tower': Tower\}"):
            hl.models.load_model(tmp_path / name)
        loaded = hl.models.load_model(tmp_path / name, custom_objects={"Tower": Tower})
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
