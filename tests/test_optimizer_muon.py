"""Muon against keras.optimizers.Muon (Keras 3.15): the same model, weights and batches.

Keras chooses each weight's step from its shape and ``variable.path`` (embeddings and
``exclude_layers`` take AdamW), so the models carry the same names on both sides.
"""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest
from flax import nnx

import highlevel as hl
from highlevel import optimizers


def _models(seed=0):
    hl.utils.set_random_seed(seed)
    ours = hl.Sequential([hl.Input((4,), dtype="int32"), hl.layers.Embedding(12, 5, name="embedding"),
                          hl.layers.Flatten(name="flatten"), hl.layers.Dense(6, activation="tanh", name="hidden"),
                          hl.layers.Dense(3, name="out")], name="net")
    twin = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(12, 5, name="embedding"),
                             keras.layers.Flatten(name="flatten"),
                             keras.layers.Dense(6, activation="tanh", name="hidden"),
                             keras.layers.Dense(3, name="out")], name="net")
    twin.set_weights(ours.get_weights())
    return ours, twin


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    return rng.integers(0, 12, size=(32, 4)).astype("int32"), rng.standard_normal((32, 3)).astype("float32")


FIT_CASES = [
    {"learning_rate": 0.02},
    # Keras's own advice: the output layer takes AdamW. Every other argument off its default.
    {"learning_rate": 0.05, "exclude_layers": ["out"], "exclude_embeddings": False, "adam_lr_ratio": 0.5,
     "momentum": 0.8, "nesterov": False, "ns_steps": 3, "rms_rate": None, "weight_decay": 0.1,
     "adam_weight_decay": None, "adam_beta_1": 0.8, "adam_beta_2": 0.9, "epsilon": 1e-4},
]


@pytest.mark.parametrize("kwargs", FIT_CASES)
def test_fit_matches_keras_fit(kwargs, data):
    x, y = data
    ours, twin = _models()
    ours.compile(optimizer=optimizers.Muon(**kwargs), loss="mse")
    twin.compile(optimizer=keras.optimizers.Muon(**kwargs), loss="mse")
    losses = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    with jax.numpy_rank_promotion("allow"):
        expected = twin.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    for w, kw, v in zip(ours.get_weights(), twin.get_weights(), twin.weights):
        np.testing.assert_allclose(w, kw, rtol=1e-5, atol=1e-6, err_msg=v.path)
    assert ours.optimizer.iterations == 8


def test_each_step_matches_keras_with_shared_arguments(rng):
    # Without a model, paths are pytree keys; no exclusions, so only shapes choose the step.
    shapes = [(5, 3), (3, 6), (2, 2, 3)]  # tall and wide matrices (Muon), rank 3 (AdamW)
    params = [rng.normal(size=s).astype("float32") for s in shapes]
    grads = [[rng.normal(size=s).astype("float32") for s in shapes] for _ in range(4)]
    kwargs = {"learning_rate": 0.1, "clipnorm": 0.8, "gradient_accumulation_steps": 2, "use_ema": True,
              "ema_momentum": 0.7, "ema_overwrite_frequency": 1}
    keras_opt, variables = keras.optimizers.Muon(**kwargs), [keras.Variable(p) for p in params]
    tx = optimizers.Muon(**kwargs).to_optax()
    ours = [jnp.asarray(p) for p in params]
    state, update = tx.init(ours), jax.jit(tx.update)
    for step, g in enumerate(grads):
        with jax.numpy_rank_promotion("allow"):
            keras_opt.apply([jnp.asarray(x) for x in g], variables)
        updates, state = update([jnp.asarray(x) for x in g], state, ours)
        ours = optax.apply_updates(ours, updates)
        for a, v in zip(ours, variables):
            np.testing.assert_allclose(a, v.value, rtol=1e-5, atol=1e-6, err_msg=f"after step {step}")
    assert int(optimizers.iterations(state)) == 2


def test_which_weights_take_the_muon_step():
    opt = optimizers.Muon(exclude_layers=[r"net/out/"])
    ours, twin = _models()  # the paths our compile gives are Keras's
    keras_opt = keras.optimizers.Muon(exclude_layers=[r"net/out/"])
    weights = [p for p, v in nnx.iter_graph(ours) if isinstance(v, nnx.Param)]
    paths = optimizers.optimizer_map.variable_paths(ours, weights)
    assert sorted(paths.values()) == sorted(v.path for v in twin.trainable_variables)
    for v in twin.trainable_variables:
        assert opt.uses_adamw(v.path, v.shape) == keras_opt._should_use_adamw(v), v.path
    assert not opt.uses_adamw("net/hidden/kernel", (5, 6))


def test_config_matches_keras_and_round_trips():
    keras_opt = keras.optimizers.Muon(learning_rate=0.25, exclude_layers=["out"], rms_rate=None)
    ours = optimizers.get({"class_name": "Muon", "config": keras_opt.get_config()})
    assert type(ours) is optimizers.Muon
    config, keras_config = ours.get_config(), keras_opt.get_config()
    assert config["learning_rate"] == pytest.approx(0.25)
    assert {k: keras_config[k] for k in config if k != "learning_rate"} == {
        k: v for k, v in config.items() if k != "learning_rate"}
    assert optimizers.deserialize(optimizers.serialize(ours)).get_config() == config
    assert optimizers.get("muon").name == "muon" and "muon" in optimizers.optimizer_classes()


def test_compile_by_name_and_learning_rate_set_without_recompiling(data):
    x, y = data
    model, _ = _models()
    model.compile(optimizer="muon", loss="mse")
    assert type(model.optimizer) is optimizers.Muon
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    before = model.get_weights()
    model.optimizer.learning_rate = 0.0
    assert model.optimizer.learning_rate == 0.0
    assert float(optimizers.get_hyperparam(model.trainer.state.opt_state)) == 0.0
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):  # lr 0 and weight decay * lr 0: nothing moves
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_explained():
    with pytest.raises(TypeError, match=r"exclude_layers must be a list.*pass \['out'\]"):
        optimizers.Muon(exclude_layers="out")
    with pytest.raises(ValueError, match="ns_steps must be an integer >= 0, got ns_steps=-1"):
        optimizers.Muon(ns_steps=-1)
    tx = optimizers.Muon().to_optax()
    with pytest.raises(ValueError, match="Muon with weight_decay or adam_weight_decay needs the parameters"):
        tx.update({"w": jnp.ones((2, 2))}, tx.init({"w": jnp.ones((2, 2))}))
