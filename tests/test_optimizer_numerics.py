"""Gradient accumulation, EMA, loss scaling and clipping at the optimizer level, against Keras 3.

Keras's optimizers (JAX backend) apply the same gradients to the same variables; the
weights, the moving averages and the loss scale must agree after every step.
"""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest

from highlevel import optimizers

SHAPES = [(3, 4), (2, 1, 3)]


@pytest.fixture
def problem(rng):
    params = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(7)]
    return params, grads


def _keras_steps(optimizer, params, grads):
    """Keras's variables after each step (and the moving averages, when it keeps them)."""
    variables = [keras.Variable(p) for p in params]
    out = []
    for g in grads:
        optimizer.apply([jnp.asarray(x) for x in g], variables)
        averages = getattr(optimizer, "_model_variables_moving_average", None)
        out.append(([np.asarray(v.value) for v in variables],
                    None if averages is None else [np.asarray(a.value) for a in averages]))
    return out


def _our_steps(tx, params, grads):
    params = [jnp.asarray(p) for p in params]
    state = tx.init(params)
    update = jax.jit(tx.update)
    out = []
    for g in grads:
        updates, state = update([jnp.asarray(x) for x in g], state, params)
        params = optax.apply_updates(params, updates)
        averages = optimizers.ema_weights(state, params)
        out.append(([np.asarray(p) for p in params],
                    None if averages is None else [np.asarray(a) for a in averages]))
    return out, state


def _assert_steps_match(ours, expected, atol=1e-6):
    assert len(ours) == len(expected)
    for step, ((w, a), (kw, ka)) in enumerate(zip(ours, expected)):
        for x, y in zip(w, kw):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=atol, err_msg=f"weights after step {step}")
        assert (a is None) == (ka is None)
        for x, y in zip(a or [], ka or []):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=atol, err_msg=f"averages after step {step}")


CASES = [
    # gradient accumulation: 7 steps with K=3 end in the middle of a cycle
    ("SGD", {"learning_rate": 0.1, "gradient_accumulation_steps": 3}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "gradient_accumulation_steps": 2}),
    ("Adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 3}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "gradient_accumulation_steps": 2}),
    # clipping of the accumulated mean, before weight decay and the update (Keras's order)
    ("Adam", {"learning_rate": 0.01, "clipnorm": 0.5, "gradient_accumulation_steps": 2}),
    ("SGD", {"learning_rate": 0.1, "global_clipnorm": 0.7, "weight_decay": 0.05, "gradient_accumulation_steps": 2}),
    ("RMSprop", {"clipvalue": 0.2, "gradient_accumulation_steps": 3}),
    # EMA, with and without periodic overwriting, alone and with accumulation
    ("SGD", {"learning_rate": 0.1, "use_ema": True}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "use_ema": True, "ema_momentum": 0.8,
             "ema_overwrite_frequency": 2}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.7, "gradient_accumulation_steps": 2}),
    ("Adagrad", {"learning_rate": 0.1, "use_ema": True, "ema_overwrite_frequency": 1,
                 "gradient_accumulation_steps": 2}),
    # a fixed loss scale: the gradients come multiplied by it
    ("Adam", {"learning_rate": 0.01, "loss_scale_factor": 64.0, "clipnorm": 1.0}),
]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_numerics_match_keras_step_by_step(name, kwargs, problem):
    params, grads = problem
    scale = kwargs.get("loss_scale_factor", 1.0)
    expected = _keras_steps(getattr(keras.optimizers, name)(**kwargs), params, [[g * scale for g in s] for s in grads])
    ours, state = _our_steps(getattr(optimizers, name)(**kwargs).to_optax(), params,
                             [[g * scale for g in s] for s in grads])
    _assert_steps_match(ours, expected)
    k = kwargs.get("gradient_accumulation_steps") or 1
    assert int(optimizers.iterations(state)) == len(grads) // k   # applied updates, as Keras's iterations


def test_accumulation_with_a_schedule_reads_the_batch_count_as_keras(problem):
    """Keras evaluates a schedule at ``_iterations``, the batch count, not at the applied updates."""
    params, grads = problem

    def schedule(keras_side):
        mod = keras.optimizers.schedules if keras_side else optimizers.schedules
        return mod.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)

    expected = _keras_steps(keras.optimizers.SGD(schedule(True), momentum=0.9, gradient_accumulation_steps=2),
                            params, grads)
    ours, _ = _our_steps(optimizers.SGD(schedule(False), momentum=0.9, gradient_accumulation_steps=2).to_optax(),
                         params, grads)
    _assert_steps_match(ours, expected)


def test_accumulated_mean_equals_one_step_on_the_mean_gradient(problem):
    """An independent reference: K accumulated steps are one Adam step on the mean of the K gradients."""
    params, grads = problem
    ours, _ = _our_steps(optimizers.Adam(0.01, gradient_accumulation_steps=3).to_optax(), params, grads[:6])
    means = [[np.mean([grads[i][j] for i in range(c, c + 3)], axis=0) for j in range(len(SHAPES))] for c in (0, 3)]
    direct, _ = _our_steps(optimizers.Adam(0.01).to_optax(), params, means)
    for step_ours, step_direct in ((1, None), (2, 0), (5, 1)):
        if step_direct is None:   # inside the first cycle nothing moved
            for w, p in zip(ours[step_ours][0], params):
                np.testing.assert_array_equal(w, p)
            continue
        for a, b in zip(ours[step_ours][0], direct[step_direct][0]):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_ema_by_hand(problem):
    params, grads = problem
    ours, _ = _our_steps(optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9).to_optax(), params, grads)
    average = None
    for weights, averages in ours:
        # Keras's rule: the first average is the first iterate, then 0.9 * average + 0.1 * iterate.
        average = weights if average is None else [0.9 * a + 0.1 * w for a, w in zip(average, weights)]
        for a, b in zip(averages, average):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_loss_scale_optimizer_matches_keras_skipping_and_growing(problem):
    params, grads = problem
    steps = [[g * 8.0 for g in s] for s in grads]   # the gradients of a loss scaled by 8
    steps[2] = [steps[2][0], np.full(SHAPES[1], np.inf, np.float32)]   # an overflow: skipped, scale halved
    steps[5] = [np.full(SHAPES[0], np.nan, np.float32), steps[5][1]]
    # Keras's JAX trainer applies it statelessly (its stateful apply cannot run a cond on JAX).
    # The inner optimizer clips the unscaled gradients (Keras's order: unscale, then clip).
    k_opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01, global_clipnorm=0.5), initial_scale=8.0,
                                                dynamic_growth_steps=2)
    variables = [keras.Variable(p) for p in params]
    k_opt.build(variables)
    index = {name: next(i for i, v in enumerate(k_opt.variables) if v is var) for name, var in
             (("scale", k_opt.dynamic_scale), ("counter", k_opt.step_counter),
              ("iterations", k_opt.inner_optimizer._iterations))}
    k_weights, k_state = [v.value for v in variables], [v.value for v in k_opt.variables]
    ours = optimizers.LossScaleOptimizer(optimizers.Adam(0.01, global_clipnorm=0.5), initial_scale=8.0,
                                         dynamic_growth_steps=2)
    tx = ours.to_optax()
    current = [jnp.asarray(p) for p in params]
    state = tx.init(current)
    scales = []
    for i, g in enumerate(steps):
        k_weights, k_state = k_opt.stateless_apply(k_state, [jnp.asarray(x) for x in g], k_weights)
        updates, state = jax.jit(tx.update)([jnp.asarray(x) for x in g], state, current)
        current = optax.apply_updates(current, updates)
        for a, b in zip(current, k_weights):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=f"step {i}")
        assert float(ours.loss_scale(state)) == float(k_state[index["scale"]]), i
        assert int(state.step_counter) == int(k_state[index["counter"]]), i
        # A skipped step leaves the inner optimizer alone: it does not count as an update.
        assert int(optimizers.iterations(state)) == int(k_state[index["iterations"]]), i
        scales.append(float(ours.loss_scale(state)))
    # Doubled after 2 finite steps in a row, halved at each overflow (steps 2 and 5), by hand:
    assert scales == [8.0, 16.0, 8.0, 8.0, 16.0, 8.0, 8.0]


def test_optax_optimizer_numerics_against_optax():
    """A raw optax transformation: clipping as optax.clip_by_global_norm, accumulation as optax.MultiSteps."""
    rng = np.random.default_rng(1)
    params = [jnp.asarray(rng.normal(size=s).astype("float32")) for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") * 3 for s in SHAPES] for _ in range(6)]
    ours, _ = _our_steps(optimizers.OptaxOptimizer(optax.adam(0.01), global_clipnorm=1.0).to_optax(), params, grads)
    ref, _ = _our_steps(optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.01)), params, grads)
    for (a, _), (b, _) in zip(ours, ref):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)
    ours, _ = _our_steps(optimizers.OptaxOptimizer(optax.adam(0.01), gradient_accumulation_steps=3).to_optax(),
                         params, grads)
    ref, _ = _our_steps(optax.MultiSteps(optax.adam(0.01), every_k_schedule=3), params, grads)
    for (a, _), (b, _) in zip(ours, ref):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)


def test_state_functions_on_a_multi_transform():
    """EMA in one group of an optax.multi_transform: the averages cover that group's weights only."""
    params = {"a": jnp.ones(2), "b": jnp.full(3, 2.0)}
    tx = optax.multi_transform({"ema": optimizers.SGD(1.0, use_ema=True).to_optax(), "plain": optax.sgd(1.0)},
                               {"a": "ema", "b": "plain"})
    state = tx.init(params)
    assert optimizers.has_ema(state)
    for _ in range(2):
        updates, state = tx.update({"a": jnp.ones(2), "b": jnp.ones(3)}, state, params)
        params = optax.apply_updates(params, updates)
    averages = optimizers.ema_weights(state, params)
    # a: iterates 0, -1 with momentum 0.99: 0.99 * 0 + 0.01 * -1; b: the weights themselves.
    np.testing.assert_allclose(averages["a"], [-0.01, -0.01], rtol=1e-6)
    np.testing.assert_array_equal(averages["b"], params["b"])
    swapped, state2 = optimizers.swap_ema_weights(state, params)
    back, _ = optimizers.swap_ema_weights(state2, swapped)
    for key in params:
        np.testing.assert_array_equal(back[key], params[key])


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match=r"gradient_accumulation_steps must be an integer >= 2.*got 1"):
        optimizers.Adam(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match=r"ema_momentum must be a number in \[0, 1\], got 1.5"):
        optimizers.SGD(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency must be an integer >= 1"):
        optimizers.SGD(use_ema=True, ema_overwrite_frequency=0)
    with pytest.raises(ValueError, match="loss_scale_factor must be a positive number"):
        optimizers.SGD(loss_scale_factor=-2.0)
    with pytest.raises(ValueError, match="initial_scale must be a positive number"):
        optimizers.LossScaleOptimizer("adam", initial_scale=0)
    with pytest.raises(ValueError, match="dynamic_growth_steps must be an integer >= 1"):
        optimizers.LossScaleOptimizer("adam", dynamic_growth_steps=0)
    with pytest.raises(ValueError, match="the loss would be scaled twice"):
        optimizers.LossScaleOptimizer(optimizers.SGD(loss_scale_factor=4.0))
    with pytest.raises(ValueError, match="wrap the whole MultiOptimizer in an hl.optimizers.LossScaleOptimizer"):
        optimizers.MultiOptimizer([(optimizers.LossScaleOptimizer("sgd"), None)])
    with pytest.raises(ValueError, match="keeps no moving averages.*use_ema=True"):
        optimizers.swap_ema_weights(optimizers.Adam().to_optax().init({"w": jnp.ones(1)}), {"w": jnp.ones(1)})


def test_configs_round_trip_with_keras_names():
    opt = optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5,
                          gradient_accumulation_steps=4, global_clipnorm=1.0)
    config = optimizers.serialize(opt)["config"]
    keras_config = keras.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5,
                                         gradient_accumulation_steps=4, global_clipnorm=1.0).get_config()
    for key in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "gradient_accumulation_steps",
                "loss_scale_factor", "global_clipnorm"):
        assert config[key] == keras_config[key], key
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert again.get_config() == opt.get_config()
    lso = optimizers.LossScaleOptimizer(opt, initial_scale=1024.0, dynamic_growth_steps=10)
    restored = optimizers.get(optimizers.serialize(lso))
    assert isinstance(restored, optimizers.LossScaleOptimizer)
    assert restored.get_config() == lso.get_config()
    assert restored.inner_optimizer.gradient_accumulation_steps == 4
