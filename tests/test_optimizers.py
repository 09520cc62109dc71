"""hl.optimizers against keras.optimizers (JAX backend): same variables, same gradients."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest

from highlevel import optimizers
from highlevel.optimizers import schedules
from tests.compile_count import count_compilations

SHAPES = [(3, 4), (2, 1, 3)]


@pytest.fixture
def problem(rng):
    params = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(5)]
    return params, grads


def _keras_run(optimizer, params, grads):
    variables = [keras.Variable(p) for p in params]
    for g in grads:
        optimizer.apply([jnp.asarray(x) for x in g], variables)
    return [np.asarray(v.value) for v in variables]


def _optax_run(tx, params, grads):
    params = [jnp.asarray(p) for p in params]
    state = tx.init(params)
    update = jax.jit(tx.update)
    for g in grads:
        updates, state = update([jnp.asarray(x) for x in g], state, params)
        params = optax.apply_updates(params, updates)
    return [np.asarray(p) for p in params], state


CASES = [
    ("SGD", {}), ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.8, "nesterov": True, "learning_rate": 0.1}),
    ("Adam", {}), ("Adam", {"learning_rate": 0.01, "amsgrad": True, "epsilon": 1e-3}),
    ("AdamW", {"learning_rate": 0.01}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "beta_1": 0.5}),
    ("RMSprop", {}), ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.1}), ("Adagrad", {"initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("Adam", {"clipnorm": 0.5}), ("SGD", {"global_clipnorm": 0.5, "momentum": 0.9}),
    ("RMSprop", {"clipvalue": 0.1, "weight_decay": 0.05}),
    ("SGD", {"weight_decay": 0.01, "learning_rate": 0.1}),
]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_updates_match_keras(name, kwargs, problem):
    params, grads = problem
    expected = _keras_run(getattr(keras.optimizers, name)(**kwargs), params, grads)
    ours, _ = _optax_run(getattr(optimizers, name)(**kwargs).to_optax(), params, grads)
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def test_adam_differs_from_optax_adam_where_epsilon_matters(problem):
    # Keras adds epsilon to sqrt(v) *after* folding the bias correction into the step size.
    params, grads = problem
    grads = [[g * 1e-4 for g in step] for step in grads]
    kwargs = {"learning_rate": 0.1, "epsilon": 1e-3}
    expected = _keras_run(keras.optimizers.Adam(**kwargs), params, grads)
    ours, _ = _optax_run(optimizers.Adam(**kwargs).to_optax(), params, grads)
    plain, _ = _optax_run(optax.adam(0.1, eps=1e-3), params, grads)
    np.testing.assert_allclose(ours[0], expected[0], atol=1e-6)
    assert np.abs(plain[0] - expected[0]).max() > 1e-4


def test_learning_rate_schedule_matches_keras(problem):
    params, grads = problem
    expected = _keras_run(keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5), momentum=0.9),
        params, grads)
    ours, state = _optax_run(optimizers.SGD(
        schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5), momentum=0.9).to_optax(),
        params, grads)
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # After 5 updates the state holds the rate of the last one (step 4).
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.1 * 0.5 ** 2, rel=1e-6)
    # Any callable of the step count works too (an optax schedule).
    ours, _ = _optax_run(optimizers.Adam(optax.linear_schedule(0.1, 0.0, 10)).to_optax(), params, grads)
    assert np.isfinite(ours[0]).all()


@pytest.mark.parametrize("ours, theirs", [
    (schedules.ExponentialDecay(0.1, 10, 0.5), keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
    (schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
     keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)),
    (schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]),
     keras.optimizers.schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])),
    (schedules.CosineDecay(0.1, 50), keras.optimizers.schedules.CosineDecay(0.1, 50)),
    (schedules.CosineDecay(0.1, 50, alpha=0.1, warmup_target=0.5, warmup_steps=10),
     keras.optimizers.schedules.CosineDecay(0.1, 50, alpha=0.1, warmup_target=0.5, warmup_steps=10)),
    (schedules.CosineDecay(0.0, 30, warmup_target=1.0, warmup_steps=0),
     keras.optimizers.schedules.CosineDecay(0.0, 30, warmup_target=1.0, warmup_steps=0)),
    (schedules.PolynomialDecay(0.1, 20, power=2.0, cycle=True),
     keras.optimizers.schedules.PolynomialDecay(0.1, 20, power=2.0, cycle=True)),
    (schedules.InverseTimeDecay(0.1, 5, 0.5), keras.optimizers.schedules.InverseTimeDecay(0.1, 5, 0.5)),
])
def test_schedules_match_keras(ours, theirs):
    steps = [0, 1, 5, 9, 10, 11, 20, 21, 45, 60, 100]
    values = jax.jit(jax.vmap(ours))(jnp.array(steps, jnp.int32))
    np.testing.assert_allclose(values, [float(theirs(s)) for s in steps], rtol=1e-6, atol=1e-7)
    restored = schedules.deserialize(schedules.serialize(ours))
    assert type(restored) is type(ours) and restored.get_config() == ours.get_config()


def test_hyperparams_learning_rate_changes_without_recompiling(problem):
    params, grads = problem
    tx = optimizers.SGD(0.1).to_optax()
    p = [jnp.asarray(x) for x in params]
    state = tx.init(p)
    lr = state.hyperparams["learning_rate"]
    assert lr.dtype == jnp.float32 and lr.shape == () and float(lr) == pytest.approx(0.1)
    update = jax.jit(tx.update)
    g = [jnp.asarray(x) for x in grads[0]]
    first, state = update(g, state, p)
    state = optimizers.set_hyperparam(state, 0.01)
    assert float(optimizers.get_hyperparam(state)) == pytest.approx(0.01)
    with count_compilations() as compiled:
        second, state = update(g, state, p)
    assert compiled == []
    np.testing.assert_allclose(second[0], first[0] / 10, rtol=1e-6)


def test_learning_rate_property_unbound_and_bound():
    opt = optimizers.Adam(0.01)
    assert opt.learning_rate == 0.01
    opt.learning_rate = 0.02
    assert opt.learning_rate == 0.02 and opt.get_config()["learning_rate"] == 0.02
    store = {"lr": 0.5}
    opt.bind(lambda: store["lr"], lambda v: store.update(lr=v))
    assert opt.learning_rate == 0.5
    opt.learning_rate = 1e-4
    assert store["lr"] == 1e-4 and opt.learning_rate == 1e-4
    scheduled = optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.5))
    assert scheduled.learning_rate == pytest.approx(0.1)
    with pytest.raises(TypeError, match="created with a schedule.*cannot be set"):
        scheduled.learning_rate = 0.1
    with pytest.raises(ValueError, match="Cannot replace the learning rate by a schedule after compile"):
        opt.learning_rate = schedules.ExponentialDecay(0.1, 10, 0.5)


def test_optax_optimizer_learning_rate_needs_inject_hyperparams():
    injected = optimizers.get(optax.inject_hyperparams(optax.sgd)(learning_rate=0.3))
    assert isinstance(injected, optimizers.OptaxOptimizer)
    assert injected.learning_rate == pytest.approx(0.3)
    plain = optimizers.get(optax.adam(1e-3))
    with pytest.raises(ValueError, match=r"no injected 'learning_rate'.*optax\.inject_hyperparams"):
        plain.learning_rate
    with pytest.raises(ValueError, match="set it after compile"):
        plain.learning_rate = 0.1
    # Found also inside a chain.
    chained = optax.chain(optax.clip(1.0), optax.inject_hyperparams(optax.adam)(learning_rate=0.2))
    state = chained.init({"w": jnp.zeros(2)})
    state = optimizers.set_hyperparam(state, 0.05)
    assert float(optimizers.get_hyperparam(state)) == pytest.approx(0.05)


def test_get_names_instances_and_configs():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    assert isinstance(optimizers.get("AdamW"), optimizers.AdamW)
    sgd = optimizers.SGD(0.1, momentum=0.9)
    assert optimizers.get(sgd) is sgd
    assert optimizers.get(optimizers.Adagrad).name == "adagrad"
    restored = optimizers.get(optimizers.serialize(optimizers.AdamW(
        schedules.CosineDecay(0.1, 100), weight_decay=0.01, clipnorm=1.0)))
    assert isinstance(restored.get_config()["learning_rate"], dict)
    assert restored.weight_decay == 0.01 and restored.clipnorm == 1.0
    # A Keras config loads as is.
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        keras_opt = getattr(keras.optimizers, name)(learning_rate=0.25)
        ours = optimizers.get({"class_name": name, "config": keras_opt.get_config()})
        assert ours.name == keras_opt.name and ours.learning_rate == pytest.approx(0.25)
        ours_config = ours.get_config()
        keras_config = keras_opt.get_config()
        assert {k: keras_config[k] for k in ours_config if k != "learning_rate"} == {
            k: v for k, v in ours_config.items() if k != "learning_rate"}


def test_errors_are_explained():
    with pytest.raises(ValueError,
                       match=r"Unknown optimizer 'adamz'\. Known optimizers: adadelta, adafactor, adagrad, adam"):
        optimizers.get("adamz")
    with pytest.raises(TypeError, match="An optimizer must be a name"):
        optimizers.get(0.1)
    with pytest.raises(ValueError, match="Only one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.SGD(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match=r"unsupported keys \['use_emma'\]"):
        optimizers.Adam.from_config({"learning_rate": 0.1, "use_emma": True})
    with pytest.raises(ValueError, match="PiecewiseConstantDecay needs one more value than boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="needs the parameters"):
        tx = optimizers.AdamW().to_optax()
        tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.ones(2)}))
