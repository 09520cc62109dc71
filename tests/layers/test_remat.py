"""Rematerialisation: Keras's RematScope and remat, the same gradients, less memory, visible in the program.

The reference is the same model without rematerialisation (same weights, same keys):
rematerialising changes when values are computed, never what they are.
"""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import highlevel as hl
from highlevel.layers.base import call_context
from highlevel.training.data import batch_spec
from tests.compile_count import count_compilations

L = hl.layers


def _block(filters, name):
    inputs = hl.Input((8, 8, filters))
    h = L.Conv2D(filters, 3, padding="same")(inputs)
    h = L.ReLU()(L.BatchNormalization()(h))
    h = L.Dropout(0.2)(h)
    h = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same")(h))
    return hl.Model(inputs, L.ReLU()(L.Add()([inputs, h])), name=name)


def _resnet(depth=3, scope=None, remat_blocks=False, policy=None):
    """A ResNet-style model: a stem, ``depth`` residual blocks (nested models), a head."""
    hl.utils.set_random_seed(0)
    with scope or contextlib.nullcontext():
        inputs = hl.Input((8, 8, 3))
        h = L.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inputs)
        for i in range(depth):
            block = _block(8, f"block_{i}")
            h = (hl.remat(block, policy=policy) if remat_blocks else block)(h)
        outputs = L.Dense(5, name="head")(L.GlobalAveragePooling2D()(h))
        model = hl.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data(n=16):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 8, 8, 3)).astype(np.float32), rng.integers(0, 5, n).astype(np.int32)


def _gradients(model, x, y):
    """Gradients of the training loss and the updated batch statistics, under one jitted grad."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def loss(params):
        module = nnx.merge(graphdef, params, rest, copy=True)
        with call_context(training=True, rng=jax.random.key(3)):
            logits = module(x, training=True)
        value = optax_xent(logits, y)
        return value, nnx.state(module, nnx.BatchStat)

    step = jax.jit(jax.value_and_grad(loss, has_aux=True))
    barriers = step.lower(params).as_text().count("optimization_barrier")
    (value, stats), grads = step(params)
    return value, jax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(stats), barriers


def optax_xent(logits, labels):
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))


VARIANTS = {
    "blocks": dict(remat_blocks=True),
    "blocks_policy": dict(remat_blocks=True, policy="dots_with_no_batch_dims_saveable"),
    "full": dict(scope=lambda: hl.RematScope("full")),
    "activations": dict(scope=lambda: hl.RematScope("activations")),
    "larger_than": dict(scope=lambda: hl.RematScope("larger_than", output_size_threshold=16 * 8 * 8 * 8 - 1)),
    "list_of_layers": dict(scope=lambda: hl.RematScope("list_of_layers", layer_names=["block_1", "stem"])),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rematerialised_models_have_the_same_gradients(variant):
    x, y = _data()
    hl.utils.clear_session()
    reference = _gradients(_resnet(), x, y)
    hl.utils.clear_session()
    kwargs = dict(VARIANTS[variant])
    if "scope" in kwargs:
        kwargs["scope"] = kwargs["scope"]()
    model = _resnet(**kwargs)
    value, grads, stats, barriers = _gradients(model, x, y)
    assert reference[3] == 0 and barriers > 0   # something was rematerialised
    np.testing.assert_allclose(value, reference[0], rtol=1e-6)
    assert len(grads) == len(reference[1]) and len(stats) == len(reference[2]) > 0
    for got, want in zip(grads + stats, reference[1] + reference[2]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_rematerialised_blocks_are_in_the_program_and_take_less_memory():
    x, y = _data(32)
    spec = batch_spec(x[:1], y[:1], None, 64)
    programs = {}
    for remat in (False, True):
        hl.utils.clear_session()
        model = _resnet(depth=4, remat_blocks=remat)
        with count_compilations() as compiled:
            model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        assert [name for name in compiled if "step" in name] == ["jit(train_step)"], compiled
        lowered = model.trainer.lower_train_step(spec)
        programs[remat] = (lowered.as_text(), lowered.compile().memory_analysis().temp_size_in_bytes,
                           model.get_weights())
    text, memory, weights = programs[True]
    plain_text, plain_memory, plain_weights = programs[False]
    # One barrier per rematerialised block (its recomputation waits for the cotangent).
    assert text.count("optimization_barrier") == 4 and plain_text.count("optimization_barrier") == 0
    # Each block keeps its input for the backward pass, not its convolutions' and batch norms'
    # intermediate values (on a CPU too: hl.backend.remat).
    assert memory < 0.5 * plain_memory, (memory, plain_memory)
    for a, b in zip(weights, plain_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_backend_remat_saves_memory_where_jax_checkpoint_does_not_on_a_cpu():
    if not hl.backend.is_cpu():
        pytest.skip("XLA:CPU's merging of recomputations is what this measures")

    def block(w, x):
        for _ in range(4):
            x = jnp.tanh(x @ w)
        return x

    def temp_bytes(wrap):
        def loss(ws, x):
            for w in ws:
                x = wrap(lambda x, w=w: block(w, x))(x)   # closes over w: hoisted, still differentiated
            return jnp.sum(x ** 2)
        ws = [jnp.full((64, 64), 0.01)] * 8
        grad = jax.jit(jax.grad(loss))
        return grad.lower(ws, jnp.ones((256, 64))).compile().memory_analysis().temp_size_in_bytes, \
            grad(ws, jnp.ones((256, 64)))

    plain, plain_grads = temp_bytes(lambda f: f)
    checkpointed, _ = temp_bytes(jax.checkpoint)
    ours, grads = temp_bytes(hl.backend.remat)
    assert checkpointed >= plain          # XLA:CPU merged the recomputation back
    assert ours < 0.5 * plain, (ours, plain)
    for a, b in zip(grads, plain_grads):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_remat_scope_follows_keras():
    with hl.RematScope("full"):
        outer = L.Dense(2, name="outer")
        with hl.RematScope(None):
            off = L.Dense(2, name="off")
        with hl.RematScope("larger_than", output_size_threshold=7, policy="dots_saveable"):
            large = L.Dense(2, name="large")
        again = L.Dense(2, name="again")
    after = L.Dense(2, name="after")
    assert outer.remat_mode.mode == again.remat_mode.mode == "full"
    assert off.remat_mode is None and after.remat_mode is None
    assert large.remat_mode == hl.layers.remat.RematMode("larger_than", 7, (), jax.checkpoint_policies.dots_saveable)
    # The mode is the one at creation (Keras's rule): calling inside another scope changes nothing.
    with hl.RematScope("full"):
        after(jnp.ones((1, 3)))
    assert after.remat_mode is None
    # hl.remat on a function is a checkpointed function with the same values and gradients.
    f = lambda v: jnp.sum(jnp.tanh(jnp.tanh(v) * 3.0))
    v = jnp.linspace(-1, 1, 5)
    np.testing.assert_allclose(jax.grad(hl.remat(f))(v), jax.grad(f)(v), rtol=1e-6)
    layer = L.Dense(3)
    assert hl.remat(layer) is layer and layer.remat_mode.mode == "full"


def test_remat_mistakes_are_named():
    with pytest.raises(ValueError, match="RematScope got mode='some'; the modes are 'full', 'activations'"):
        hl.RematScope("some")
    with pytest.raises(ValueError, match="output_size_threshold must be a non-negative integer, got -1"):
        hl.RematScope("larger_than", output_size_threshold=-1)
    with pytest.raises(ValueError, match=r"layer_names must be a list of layer names, got the string 'dense'; "
                                         r"pass \['dense'\]"):
        hl.RematScope("list_of_layers", layer_names="dense")
    with pytest.raises(ValueError, match="policy must be None, a jax.checkpoint_policies function, or one of"):
        hl.RematScope(policy="dots")
    with pytest.raises(TypeError, match="remat expects a function or a layer, got int"):
        hl.remat(3)
