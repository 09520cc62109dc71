"""Mixed precision: dtype policies as Keras 3's, float32 weights and half-precision computation,
float32 losses and statistics, dynamic loss scaling against Keras's, and a CNN's accuracy."""

import threading

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations


@pytest.fixture(autouse=True)
def _float32_after():
    yield
    hl.mixed_precision.set_global_policy("float32")
    keras.config.set_dtype_policy("float32")


def test_policies_as_keras():
    for name, compute, variable in (("mixed_bfloat16", "bfloat16", "float32"), ("mixed_float16", "float16", "float32"),
                                    ("float32", "float32", "float32"), ("bfloat16", "bfloat16", "bfloat16")):
        ours, theirs = hl.mixed_precision.DTypePolicy(name), keras.DTypePolicy(name)
        assert (ours.name, ours.compute_dtype, ours.variable_dtype) == (theirs.name, theirs.compute_dtype,
                                                                         theirs.variable_dtype) == (name, compute,
                                                                                                    variable)
    assert hl.mixed_precision.global_policy().name == "float32"
    hl.mixed_precision.set_global_policy("mixed_bfloat16")
    assert hl.mixed_precision.dtype_policy() == hl.mixed_precision.DTypePolicy("mixed_bfloat16")
    assert hl.layers.Dense(2).dtype_policy.name == "mixed_bfloat16"
    assert hl.layers.Dense(2, dtype="float32").compute_dtype == "float32"   # a layer's own dtype wins
    other = []
    thread = threading.Thread(target=lambda: other.append(hl.mixed_precision.global_policy().name))
    thread.start()
    thread.join()
    assert other == ["float32"]   # per thread, as Keras's global state
    hl.utils.clear_session()
    assert hl.mixed_precision.global_policy().name == "float32"   # reset, as Keras's clear_session
    with pytest.raises(ValueError, match="Unknown dtype policy 'mixed_float64'.*'mixed_bfloat16'"):
        hl.mixed_precision.set_global_policy("mixed_float64")
    with pytest.raises(ValueError, match="Unknown dtype policy"):
        hl.layers.Dense(2, dtype="mixed_bf16")
    with pytest.raises(TypeError, match="dtype must be a dtype policy name"):
        hl.layers.Dense(2, dtype=object())


def _cnn():
    return hl.Sequential([hl.Input((8, 8, 1)), hl.layers.Conv2D(4, 3, activation="relu"),
                          hl.layers.BatchNormalization(), hl.layers.MaxPooling2D(2), hl.layers.Flatten(),
                          hl.layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize("policy, dtype, ulp", [("mixed_bfloat16", jnp.bfloat16, 2 ** -7),
                                                ("mixed_float16", jnp.float16, 2 ** -10)])
def test_float32_weights_half_precision_outputs_and_keras_agreement(policy, dtype, ulp, rng):
    hl.mixed_precision.set_global_policy(policy)
    model = _cnn()
    x = rng.standard_normal((8, 8, 8, 1)).astype(np.float32)
    assert all(w.dtype == np.float32 for w in model.get_weights())   # kernels stay float32
    for layer in model.layers:
        assert layer(jnp.ones((2,) + tuple(layer.build_input_shape[1:]), jnp.float32)).dtype == dtype, layer.name
    assert model(x).dtype == dtype and model.predict(x, verbose=0).dtype == dtype   # predictions: compute dtype
    bn = model.layers[1]
    assert {type(v).__name__ for v in (bn.gamma, bn.beta)} == {"Weight"}   # not AutocastParam: read in float32
    assert bn.moving_mean.get_value().dtype == jnp.float32
    # Keras 3 with the same policy and weights (both compute in the half dtype; softmax rounds once).
    keras.config.set_dtype_policy(policy)
    twin = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")])
    twin.set_weights(model.get_weights())
    for training in (False, True):
        with jax.numpy_rank_promotion("allow"):
            theirs = np.asarray(twin(x, training=training), np.float32)
        ours = np.asarray(model(x, training=training), np.float32)
        np.testing.assert_allclose(ours, theirs, atol=2 * ulp)
    # ... and the float32 model on the same weights, to the half dtype's precision.
    hl.mixed_precision.set_global_policy("float32")
    full = _cnn()
    full.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(model(x), np.float32), np.asarray(full(x)), atol=8 * ulp)


def test_statistics_softmax_and_losses_in_float32(rng):
    x = (rng.standard_normal((16, 6)) * 3).astype(np.float32)
    logits = jnp.asarray(x, jnp.bfloat16)
    probabilities = hl.activations.softmax(logits)
    assert probabilities.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(probabilities, np.float32),   # one rounding of the float32 result
                                  np.asarray(jax.nn.softmax(logits.astype(jnp.float32)).astype(jnp.bfloat16),
                                             np.float32))
    hl.mixed_precision.set_global_policy("mixed_bfloat16")
    bn = hl.layers.BatchNormalization(momentum=0.0)
    bn(x, training=True)
    # The batch statistics of the bfloat16 inputs, computed in float32 (not rounded to bfloat16).
    x16 = np.asarray(jnp.asarray(x, jnp.bfloat16), np.float32)
    np.testing.assert_allclose(np.asarray(bn.moving_mean.get_value()), x16.mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(bn.moving_variance.get_value()), x16.var(0), rtol=1e-5)
    # The loss of a bfloat16 model is float32: logged values are not bfloat16-rounded.
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    y = rng.integers(0, 3, 16)
    loss = model.evaluate(x, y, verbose=0)
    outputs = np.asarray(model(x), np.float32)
    expected = np.mean(-jax.nn.log_softmax(outputs)[np.arange(16), y])
    assert abs(loss - expected) < 1e-6
    assert loss != float(jnp.asarray(loss, jnp.bfloat16))   # more digits than bfloat16 holds


def test_the_policy_is_saved_with_the_model(tmp_path, rng):
    hl.mixed_precision.set_global_policy("mixed_bfloat16")
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(4, activation="relu"),
                           hl.layers.Dense(3, dtype="float32")])
    model.compile(optimizer="adam", loss="mse")
    x = rng.standard_normal((8, 6)).astype(np.float32)
    model.fit(x, np.ones((8, 3), np.float32), epochs=1, verbose=0)
    config = model.get_config()
    assert [entry["config"]["dtype"] for entry in config["layers"][-2:]] == ["mixed_bfloat16", "float32"]
    model.save(tmp_path / "model")
    hl.mixed_precision.set_global_policy("float32")
    loaded = hl.models.load_model(tmp_path / "model")
    assert [layer.dtype_policy.name for layer in loaded.layers] == ["mixed_bfloat16", "float32"]
    assert loaded(x).dtype == jnp.float32 and loaded.layers[0](x).dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    # Keras's serialized policy is read too.
    layer = hl.layers.Dense(2, dtype={"module": "keras", "class_name": "DTypePolicy",
                                      "config": {"name": "mixed_float16"}, "registered_name": None})
    assert layer.compute_dtype == "float16"


def test_compile_wraps_float16_training_in_dynamic_loss_scaling():
    hl.mixed_precision.set_global_policy("mixed_float16")
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, hl.optimizers.LossScaleOptimizer)
    assert model.optimizer.initial_scale == 2.0 ** 15 and model.optimizer.dynamic_growth_steps == 2000
    model.compile(optimizer="adam", loss="mse", auto_scale_loss=False)
    assert isinstance(model.optimizer, hl.optimizers.Adam)
    hl.mixed_precision.set_global_policy("float32")   # a model built (or loaded) under float32 with float16 layers
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(2, dtype="mixed_float16")])
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, hl.optimizers.LossScaleOptimizer)
    hl.mixed_precision.set_global_policy("mixed_bfloat16")   # bfloat16 has float32's range: no scaling
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, hl.optimizers.Adam)


def test_an_overflow_skips_its_step_and_halves_the_scale_as_keras():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    x[42] = 1e5   # beyond float16's range: batch 5 overflows (inf, then NaN) in the forward pass
    hl.mixed_precision.set_global_policy("mixed_float16")
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"), hl.layers.Dense(3)])
    keras.config.set_dtype_policy("mixed_float16")
    twin = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    twin.set_weights(model.get_weights())
    # 2**20 also overflows float16 in the backward pass: Keras's rule halves it until it fits.
    model.compile(hl.optimizers.LossScaleOptimizer(hl.optimizers.SGD(0.1), initial_scale=2.0 ** 20,
                                                   dynamic_growth_steps=3),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    twin.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=2.0 ** 20,
                                                     dynamic_growth_steps=3),
                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    steps = []

    class Record(hl.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            state = self.model.trainer.optimizer_state
            steps.append((float(self.model.optimizer.loss_scale(state)), int(state.step_counter),
                          self.model.optimizer.iterations, self.model.get_weights()))

    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[Record()])
    with jax.numpy_rank_promotion("allow"):
        twin.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    scale, counter, iterations, _ = steps[-1]
    assert (scale, counter, iterations) == (float(twin.optimizer.dynamic_scale.value),
                                            int(twin.optimizer.step_counter.value), int(twin.optimizer.iterations))
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    previous = (2.0 ** 20, 0, 0, None)
    skipped = []
    for i, (scale, counter, iterations, weights) in enumerate(steps):
        if iterations == previous[2]:   # skipped: weights unchanged, scale halved, count reset
            skipped.append(i)
            assert (scale, counter) == (previous[0] / 2, 0)
            if previous[3] is not None:
                for a, b in zip(weights, previous[3]):
                    np.testing.assert_array_equal(a, b)
        else:
            assert iterations == previous[2] + 1
        previous = (scale, counter, iterations, weights)
    assert skipped[:3] == [0, 1, 2] and 5 in skipped and 13 in skipped   # 2**20 -> 2**17; the injected batch


def test_digits_cnn_reaches_its_float32_accuracy():
    """A small CNN on scikit-learn's digits, 15 epochs: bfloat16 and float16 within 1% of float32."""
    (x_train, y_train), (x_test, y_test) = hl.datasets.digits.load_data(test_split=0.2, seed=0)
    accuracies = {}
    for policy in ("float32", "mixed_bfloat16", "mixed_float16"):
        hl.mixed_precision.set_global_policy(policy)
        hl.utils.set_random_seed(0)
        model = hl.Sequential([hl.Input((8, 8, 1)), hl.layers.Conv2D(32, 3, padding="same", activation="relu"),
                               hl.layers.BatchNormalization(), hl.layers.MaxPooling2D(2), hl.layers.Flatten(),
                               hl.layers.Dense(10)])
        model.compile(optimizer=hl.optimizers.Adam(3e-3), metrics=["accuracy"],
                      loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x_train, y_train, batch_size=64, epochs=15, verbose=0)
        accuracies[policy] = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
        assert model.layers[0].kernel.get_value().dtype == jnp.float32
    assert accuracies["float32"] > 0.95, accuracies
    for policy in ("mixed_bfloat16", "mixed_float16"):
        assert accuracies[policy] >= accuracies["float32"] - 0.01, accuracies


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_no_recompilation_after_the_first_epoch(policy, rng):
    hl.mixed_precision.set_global_policy(policy)
    x = rng.standard_normal((40, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 10, 40)
    model = _cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=1, validation_data=(x[:16], y[:16]), verbose=0)
    model.predict(x, batch_size=16, verbose=0)
    with count_compilations() as compiled:
        model.fit(x, y, batch_size=16, epochs=2, validation_data=(x[:16], y[:16]), verbose=0)
        model.predict(x, batch_size=16, verbose=0)
    assert compiled == [], compiled


def _keras_out(layer, *args, **kwargs):
    with jax.numpy_rank_promotion("allow"):
        return layer(*args, **kwargs)


_SEQ = np.random.default_rng(5).standard_normal((2, 5, 4)).astype("float32")
_IMG = np.abs(np.random.default_rng(6).standard_normal((2, 6, 6, 3))).astype("float32")


@pytest.mark.parametrize("name, make, args", [
    ("MultiHeadAttention", lambda L: L.MultiHeadAttention(num_heads=2, key_dim=2, dtype="mixed_bfloat16"),
     (_SEQ, _SEQ)),
    ("GroupQueryAttention", lambda L: L.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                                                            dtype="mixed_bfloat16"), (_SEQ, _SEQ)),
    ("Rescaling", lambda L: L.Rescaling(1 / 255.0, offset=0.5, dtype="mixed_bfloat16"), (_IMG,)),
    ("Normalization", lambda L: L.Normalization(mean=0.5, variance=2.0, dtype="mixed_bfloat16"), (_IMG,)),
    ("RandomZoom", lambda L: L.RandomZoom(0.1, dtype="mixed_bfloat16"), (_IMG,)),
    ("RandomContrast", lambda L: L.RandomContrast(0.1, dtype="mixed_bfloat16"), (_IMG,)),
    ("RandomFlip", lambda L: L.RandomFlip(dtype="mixed_bfloat16"), (_IMG,)),
    ("Discretization", lambda L: L.Discretization(bin_boundaries=[0.5, 1.0], output_mode="one_hot",
                                                  dtype="mixed_bfloat16"), (_IMG[..., 0],)),
    ("LSTMCell-RNN", lambda L: L.RNN(L.LSTMCell(3, dtype="mixed_bfloat16"), dtype="mixed_bfloat16"), (_SEQ,)),
])
def test_layers_compute_in_the_policy_compute_dtype_as_keras(name, make, args):
    """Under mixed_bfloat16 the output is in the compute dtype, as Keras's, and close to Keras's values."""
    # Keras's random layers augment by default outside fit: both are compared at inference.
    call = {"training": False} if name.startswith("Random") else {}
    theirs = make(keras.layers)
    expected = _keras_out(theirs, *args, **call)
    ours = make(hl.layers)
    ours(*args, **call)
    if theirs.get_weights():
        weights = [0.5 * np.random.default_rng(7).standard_normal(w.shape).astype(w.dtype)
                   for w in theirs.get_weights()]
        theirs.set_weights(weights)
        ours.set_weights(weights)
        expected = _keras_out(theirs, *args, **call)
    got = ours(*args, **call)
    assert got.dtype == expected.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(expected, np.float32), rtol=3e-2, atol=3e-2)


def test_attention_follows_the_global_mixed_policy():
    hl.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = hl.layers.MultiHeadAttention(num_heads=2, key_dim=2)
        assert layer(_SEQ, _SEQ).dtype == jnp.bfloat16
        assert layer.query_dense.kernel[...].dtype == jnp.float32   # variables stay float32
    finally:
        hl.mixed_precision.set_global_policy("float32")
