"""FlaxLayer: any flax.nnx module as a highlevel layer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import highlevel as hl
from highlevel.layers import call_context
from tests.harness import run_layer_test

L = hl.layers


class Block(nnx.Module):
    """A user module with dropout and batch norm, switched by nnx.view (no call flags)."""

    def __init__(self, rngs: nnx.Rngs):
        self.linear = nnx.Linear(3, 4, rngs=rngs)
        self.norm = nnx.BatchNorm(4, momentum=0.9, rngs=rngs)
        self.dropout = nnx.Dropout(0.5, rngs=rngs)

    def __call__(self, x):
        return self.dropout(self.norm(self.linear(x)))


class FlagModule(nnx.Module):
    """A user module that takes the training flag itself."""

    def __init__(self, rngs: nnx.Rngs):
        self.linear = nnx.Linear(3, 2, rngs=rngs)
        self.seen = []

    def __call__(self, x, training: bool = False):
        self.seen.append(training)
        return self.linear(x) * (2.0 if training else 1.0)


def make_linear():
    return nnx.Linear(3, 4, rngs=nnx.Rngs(0))


def make_block():
    return Block(nnx.Rngs(0, dropout=1))


CASES = [
    ({"module_factory": make_linear}, (2, 3), (2, 4), 2, 0),
    ({"module_factory": make_block}, (8, 3), (8, 4), 4, 2),
]


@pytest.mark.parametrize("kwargs,shape,out,nt,nnt", CASES, ids=["linear", "block"])
def test_layer_harness(kwargs, shape, out, nt, nnt):
    run_layer_test(L.FlaxLayer, kwargs, shape, out, nt, nnt, run_training_step=False)


@pytest.mark.skipif(not hasattr(hl, "Model"), reason="the trainer (hl.Model) has not landed yet")
@pytest.mark.parametrize("kwargs,shape,out,nt,nnt", CASES, ids=["linear", "block"])
def test_layer_harness_training_step(kwargs, shape, out, nt, nnt):
    run_layer_test(L.FlaxLayer, kwargs, shape, out, nt, nnt)


def test_forward_and_weights_are_the_modules(rng):
    module = nnx.Linear(3, 4, rngs=nnx.Rngs(0))
    layer = L.FlaxLayer(module)
    x = rng.standard_normal((5, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), np.asarray(module(x)))
    assert layer.count_params() == 16
    assert [n for n, _ in layer.named_weights()] == [f"{layer.name}/module/bias", f"{layer.name}/module/kernel"]
    assert layer.weights[1] is module.kernel
    new = [np.full((4,), 0.5, "float32"), np.ones((3, 4), "float32")]
    layer.set_weights(new)
    np.testing.assert_array_equal(np.asarray(module.kernel.get_value()), new[1])
    np.testing.assert_allclose(np.asarray(layer(x)), x @ new[1] + 0.5, rtol=1e-6)
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_batch_stats_are_non_trainable_weights_and_rng_state_is_not_a_weight():
    layer = L.FlaxLayer(make_block())
    names = [n.split("/", 1)[1] for n, _ in layer.named_weights()]
    assert names == ["module/linear/bias", "module/linear/kernel", "module/norm/bias", "module/norm/scale",
                     "module/norm/mean", "module/norm/var"]
    params = nnx.state(layer.module, nnx.Param, nnx.BatchStat)
    assert layer.count_params() == sum(v.size for v in jax.tree_util.tree_leaves(params))


def test_training_flag_switches_dropout_and_batch_norm(rng):
    x = rng.standard_normal((16, 3)).astype("float32")
    layer = L.FlaxLayer(make_block())
    module = layer.module
    eval_view = nnx.view(module, deterministic=True, use_running_average=True)
    # Inference: no dropout, running statistics, nothing updated.
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(eval_view(x)), rtol=1e-6)
    assert not np.asarray(module.norm.mean.get_value()).any()
    # Training: dropout zeros about half, and the batch statistics moved.
    y = np.asarray(layer(x, training=True))
    assert 0.3 < (y == 0).mean() < 0.7
    h = x @ np.asarray(module.linear.kernel.get_value()) + np.asarray(module.linear.bias.get_value())
    np.testing.assert_allclose(np.asarray(module.norm.mean.get_value()), 0.1 * h.mean(axis=0), rtol=1e-5, atol=1e-6)
    # The module itself was left in its own mode: flags are set on views only.
    assert module.dropout.deterministic is False and module.norm.use_running_average is False


def test_call_flag_is_passed_when_the_module_takes_it(rng):
    x = rng.standard_normal((2, 3)).astype("float32")
    layer = L.FlaxLayer(FlagModule(nnx.Rngs(0)))
    y_eval = np.asarray(layer(x))
    y_train = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(y_train, 2 * y_eval, rtol=1e-6)
    assert layer.module.seen == [False, True]


def test_compiled_step_on_split_state_reads_back_statistics(rng):
    x = rng.standard_normal((16, 3)).astype("float32")
    layer = L.FlaxLayer(make_block())
    graphdef, state = nnx.split(layer)

    @jax.jit
    def step(state, x, key):
        module = nnx.merge(graphdef, state, copy=True)
        with call_context(training=True, rng=key):
            y = module(x)
        return y, nnx.state(module)

    y1, new_state = step(state, x, jax.random.key(0))
    y2, _ = step(state, x, jax.random.key(0))
    y3, _ = step(state, x, jax.random.key(1))
    np.testing.assert_array_equal(np.asarray(y1), np.asarray(y2))  # the step's key decides the mask
    assert not np.array_equal(np.asarray(y1), np.asarray(y3))
    nnx.update(layer, new_state)
    assert np.asarray(layer.module.norm.mean.get_value()).any()
    assert layer.get_weights()[4].any()


def test_config_needs_a_factory():
    layer = L.FlaxLayer(nnx.Linear(3, 4, rngs=nnx.Rngs(0)), name="wrapped")
    with pytest.raises(ValueError, match="FlaxLayer 'wrapped' wraps a Linear instance, which cannot be written "
                                         "to a config.*module_factory"):
        layer.get_config()
    # Unregistered, the factory stays a callable in the config (not JSON-able, never imported back).
    assert L.FlaxLayer(module_factory=make_linear).get_config()["module_factory"] is make_linear
    hl.utils.register_serializable(make_linear)
    config = L.FlaxLayer(module_factory=make_linear).get_config()
    assert config["module_factory"].endswith(":make_linear")  # a registered name: JSON can hold it
    clone = L.FlaxLayer.from_config(config)
    assert isinstance(clone.module, nnx.Linear)
    factory = lambda: nnx.Linear(2, 2, rngs=nnx.Rngs(0))  # noqa: E731
    assert L.FlaxLayer(module_factory=factory).get_config()["module_factory"] is factory


def test_errors():
    with pytest.raises(ValueError, match="needs exactly one of module .* or module_factory"):
        L.FlaxLayer()
    with pytest.raises(TypeError, match="wraps a flax.nnx.Module, got function"):
        L.FlaxLayer(lambda x: x)
    # A config string never imports anything: only registered names resolve.
    with pytest.raises(ValueError, match="names the FlaxLayer module_factory 'os:system', which is not registered"):
        L.FlaxLayer(module_factory="os:system")


def test_symbolic_and_functional_shapes():
    out = L.FlaxLayer(make_block())(hl.Input((3,)))
    assert out.shape == (None, 4)
    assert L.FlaxLayer(make_linear())(jnp.ones((7, 3))).shape == (7, 4)
