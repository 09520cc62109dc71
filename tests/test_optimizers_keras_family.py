"""Adadelta, Adamax, Nadam, Ftrl, Lion, Lamb, Adafactor and ScheduleFreeAdamW against keras.optimizers.

The same gradients go to the same weights; the weights must agree after every step, with
Keras's weight decay, clipping, gradient accumulation and EMA.
"""

import re

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest

import highlevel as hl
from highlevel import optimizers

# A matrix, a rank-3 weight and a vector: Adafactor factors the first two, not the third.
SHAPES = [(3, 4), (2, 1, 3), (5,)]
NAMES = ["Adadelta", "Adamax", "Nadam", "Ftrl", "Lion", "Lamb", "Adafactor", "ScheduleFreeAdamW"]


@pytest.fixture
def problem(rng):
    params = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(6)]
    return params, grads


def _keras_steps(optimizer, params, grads):
    variables = [keras.Variable(p) for p in params]
    out = []
    with jax.numpy_rank_promotion("allow"):
        for g in grads:
            optimizer.apply([jnp.asarray(x) for x in g], variables)
            out.append([np.asarray(v.value) for v in variables])
    return out


def _our_steps(tx, params, grads):
    params = [jnp.asarray(p) for p in params]
    state = tx.init(params)
    update = jax.jit(tx.update)
    out = []
    for g in grads:
        updates, state = update([jnp.asarray(x) for x in g], state, params)
        params = optax.apply_updates(params, updates)
        out.append([np.asarray(p) for p in params])
    return out, state


CASES = [
    ("Adadelta", {"learning_rate": 1.0}), ("Adadelta", {"learning_rate": 0.5, "rho": 0.8, "epsilon": 1e-4}),
    ("Adamax", {"learning_rate": 0.1}), ("Adamax", {"learning_rate": 0.05, "beta_1": 0.5, "epsilon": 1e-3}),
    ("Nadam", {"learning_rate": 0.1}), ("Nadam", {"learning_rate": 0.01, "beta_2": 0.9, "epsilon": 1e-3}),
    ("Ftrl", {"learning_rate": 0.1}),
    ("Ftrl", {"learning_rate": 0.2, "learning_rate_power": -0.7, "initial_accumulator_value": 0.5,
              "l1_regularization_strength": 0.1, "l2_regularization_strength": 0.05,
              "l2_shrinkage_regularization_strength": 0.02, "beta": 0.3}),
    ("Lion", {"learning_rate": 0.1}), ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    ("Lamb", {"learning_rate": 0.1}), ("Lamb", {"learning_rate": 0.01, "beta_1": 0.5, "epsilon": 1e-3}),
    ("Adafactor", {"learning_rate": 0.1}),
    ("Adafactor", {"learning_rate": 0.5, "beta_2_decay": -0.5, "epsilon_2": 0.1, "clip_threshold": 0.5}),
    ("ScheduleFreeAdamW", {}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3, "warmup_steps": 4}),
]
# Keras's shared arguments: weight decay (before the update reads the weights), clipping,
# gradient accumulation (6 steps, K=4: ends mid-cycle) and EMA with overwriting.
CASES += [(name, {"learning_rate": 0.1, "weight_decay": 0.2, "clipnorm": 0.8}) for name in NAMES]
CASES += [(name, {"learning_rate": 0.1, "global_clipnorm": 1.5, "gradient_accumulation_steps": 4, "use_ema": True,
                  "ema_momentum": 0.7, "ema_overwrite_frequency": 1}) for name in NAMES]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_each_step_matches_keras(name, kwargs, problem):
    params, grads = problem
    expected = _keras_steps(getattr(keras.optimizers, name)(**kwargs), params, grads)
    ours, state = _our_steps(getattr(optimizers, name)(**kwargs).to_optax(), params, grads)
    for step, (w, kw) in enumerate(zip(ours, expected)):
        for a, b in zip(w, kw):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"{name} after step {step}")
    k = kwargs.get("gradient_accumulation_steps") or 1
    assert int(optimizers.iterations(state)) == len(grads) // k


def test_adafactor_keeps_rows_and_columns_for_a_matrix():
    state = optimizers.Adafactor().to_optax().init({"w": jnp.zeros((6, 5)), "b": jnp.zeros(5)})
    slots = optimizers.numerics._find_all(state, optimizers.KerasOptimizerState)[0].slots
    assert slots["r"]["w"].shape == (6,) and slots["c"]["w"].shape == (5,) and slots["v"]["w"].shape == ()
    assert slots["v"]["b"].shape == (5,) and slots["r"]["b"].shape == ()


@pytest.mark.parametrize("name", NAMES)
def test_config_matches_keras_and_round_trips(name):
    keras_opt = getattr(keras.optimizers, name)(learning_rate=0.25)
    ours = optimizers.get({"class_name": name, "config": keras_opt.get_config()})
    assert type(ours) is getattr(optimizers, name)
    keras_config, our_config = keras_opt.get_config(), ours.get_config()
    assert our_config["learning_rate"] == pytest.approx(0.25)
    assert {k: keras_config[k] for k in our_config if k != "learning_rate"} == {
        k: v for k, v in our_config.items() if k != "learning_rate"}
    again = optimizers.deserialize(optimizers.serialize(ours))
    assert again.get_config() == our_config
    # Keras's default name (it appends _1, _2, ... to later instances).
    assert type(optimizers.get(name.lower())) is type(ours)
    assert optimizers.get(name.upper()).name == re.sub(r"_\d+$", "", keras_opt.name)


@pytest.mark.parametrize("name", NAMES)
def test_compile_by_name_saves_and_resumes(name, tmp_path, rng):
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.standard_normal((32, 2)).astype(np.float32)
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(3, activation="tanh"), hl.layers.Dense(2)])
    model.compile(optimizer=name.lower(), loss="mse")
    assert type(model.optimizer) is getattr(optimizers, name)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    assert type(loaded.optimizer) is type(model.optimizer)
    before = jax.tree_util.tree_leaves(model.trainer.state.opt_state)
    after = jax.tree_util.tree_leaves(loaded.trainer.state.opt_state)
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_matches_keras_fit():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((48, 6)).astype(np.float32)
    y = (x @ rng.standard_normal((6, 2))).astype(np.float32)
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(8, activation="tanh"), hl.layers.Dense(2)])
    twin = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(2)])
    twin.set_weights(model.get_weights())
    model.compile(optimizer=optimizers.Nadam(0.01, weight_decay=0.01), loss="mse")
    twin.compile(optimizer=keras.optimizers.Nadam(0.01, weight_decay=0.01), loss="mse")
    ours = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]
    with jax.numpy_rank_promotion("allow"):
        theirs = twin.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_learning_rate_is_in_the_state():
    tx = optimizers.Lion(0.1).to_optax()
    params = {"w": jnp.ones(2)}
    state = optimizers.set_hyperparam(tx.init(params), 0.01)
    updates, _ = jax.jit(tx.update)({"w": jnp.array([1.0, -1.0])}, state, params)
    np.testing.assert_allclose(updates["w"], [-0.01, 0.01], rtol=1e-6)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match=r"Lion's beta_1 must be in \(0, 1\].*got beta_1=0"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match=r"Ftrl's learning_rate_power must be <= 0, got learning_rate_power=0.5"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match=r"warmup_steps must be an integer >= 0, got -1"):
        optimizers.ScheduleFreeAdamW(warmup_steps=-1)
    with pytest.raises(ValueError, match=r"Ftrl's l1_regularization_strength must be >= 0"):
        optimizers.Ftrl(l1_regularization_strength=-1.0)
    tx = optimizers.Lamb().to_optax()
    with pytest.raises(ValueError, match="Lamb reads the weights, so it needs the parameters"):
        tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.ones(2)}))
