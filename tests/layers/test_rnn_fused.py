"""The recurrent layers' fused time loop: its custom gradient against autodiff of the plain scan.

``rnn._fused_time_loop`` computes the kernels' gradients after the backward loop instead of
step by step. Its values and gradients must equal those of ``rnn._time_loop`` (JAX's own
autodiff of the cell), for every layer and option that takes it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import highlevel as hl
from highlevel.layers import rnn

B, T, F, U = 3, 7, 4, 5

CASES = [
    ("LSTM", {}),
    ("LSTM", {"return_sequences": True, "go_backwards": True}),
    ("LSTM", {"use_bias": False, "activation": "relu", "recurrent_activation": "hard_sigmoid"}),
    ("SimpleRNN", {"return_sequences": True}),
    ("SimpleRNN", {"use_bias": False, "activation": "relu"}),
    ("GRU", {}),
    ("GRU", {"return_sequences": True, "go_backwards": True}),
    ("GRU", {"use_bias": False, "unroll": True}),
]


def _layer(name, kwargs):
    layer = getattr(hl.layers, name)(U, **kwargs)
    layer.build((B, T, F))
    rng = np.random.default_rng(3)
    weights = {n: jnp.asarray(rng.standard_normal(getattr(layer, n).shape).astype("float32") * 0.5)
               for n in layer._weight_names}
    return layer, weights


def _inputs(n_states, seed=0):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.standard_normal((B, T, F)).astype("float32"))
    states = tuple(jnp.asarray(rng.standard_normal((B, U)).astype("float32"))
                   for _ in range(n_states))
    return x, states


def _losses(spec, x_masks):
    """The same scalar of every output, through the fused loop and through the plain scan."""
    def reduce(output, final):
        probe = jnp.cos(jnp.arange(output.size, dtype=output.dtype)).reshape(output.shape)
        return jnp.sum(output * probe) + sum(jnp.sum(s * s) for s in final)

    def fused(w, states, x):
        return reduce(*rnn._fused_time_loop(spec, w, states, x, x_masks))

    def plain(w, states, x):
        return reduce(*rnn._time_loop(spec._replace(pointwise=None), w, states, x, x_masks, []))
    return fused, plain


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(k) or 'default'}" for n, k in CASES])
def test_fused_loop_equals_autodiff_of_the_scan(name, kwargs):
    layer, w = _layer(name, kwargs)
    spec = layer._spec()
    assert spec.pointwise is not None
    x, states = _inputs(len(layer._state_names))
    fused, plain = _losses(spec, [])
    np.testing.assert_allclose(fused(w, states, x), plain(w, states, x), rtol=1e-5)
    got = jax.grad(fused, argnums=(0, 1, 2))(w, states, x)
    want = jax.grad(plain, argnums=(0, 1, 2))(w, states, x)
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for g, e in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert g.shape == e.shape and g.dtype == e.dtype
        assert float(jnp.max(jnp.abs(e))) > 0.0
        np.testing.assert_allclose(g, e, rtol=2e-4, atol=2e-5)


def test_fused_loop_applies_an_input_dropout_mask_at_every_step():
    layer, w = _layer("LSTM", {"return_sequences": True})
    spec = layer._spec()
    x, states = _inputs(2)
    mask = [jnp.asarray(np.random.default_rng(4).integers(0, 2, (B, F)).astype("float32") * 2.0)]
    fused, plain = _losses(spec, mask)
    np.testing.assert_allclose(fused(w, states, x), plain(w, states, x), rtol=1e-5)
    got = jax.grad(fused, argnums=(0, 2))(w, states, x)
    want = jax.grad(plain, argnums=(0, 2))(w, states, x)
    for g, e in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, e, rtol=2e-4, atol=2e-5)
    # Features the mask drops get no gradient at any step.
    dropped = np.asarray(mask[0]) == 0.0
    assert np.all(np.asarray(got[1]).transpose(1, 0, 2)[:, dropped] == 0.0)


def _uses_fused_loop(layer, training):
    layer.build((B, T, F))
    x = jnp.zeros((B, T, F))
    jaxpr = str(jax.make_jaxpr(lambda x, key: layer(x, training=training, rng=key))(
        x, jax.random.key(0)))
    return "custom_vjp_call" in jaxpr


def test_which_layers_take_the_fused_loop():
    assert _uses_fused_loop(hl.layers.LSTM(U), training=False)
    assert _uses_fused_loop(hl.layers.SimpleRNN(U), training=False)
    assert _uses_fused_loop(hl.layers.GRU(U), training=False)
    assert _uses_fused_loop(hl.layers.LSTM(U, dropout=0.3), training=True)
    # GRU without reset_after applies the reset gate before the recurrent matmul.
    assert not _uses_fused_loop(hl.layers.GRU(U, reset_after=False), training=False)
    # Recurrent dropout masks the state inside the step (one mask per gate).
    assert not _uses_fused_loop(hl.layers.LSTM(U, recurrent_dropout=0.3), training=True)
    assert _uses_fused_loop(hl.layers.LSTM(U, recurrent_dropout=0.3), training=False)


def _step_matmuls(layer):
    """The number of matmuls in one forward step of the layer's fused time loop."""
    layer.build((B, T, F))
    jaxpr = jax.make_jaxpr(lambda x: layer(x))(jnp.zeros((B, T, F)))

    def scans(jaxpr):
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "scan":
                yield eqn.params["jaxpr"].jaxpr
            for param in eqn.params.values():
                for sub in (param if isinstance(param, (list, tuple)) else [param]):
                    inner = getattr(sub, "jaxpr", None)
                    if inner is not None and hasattr(inner, "eqns"):
                        yield from scans(inner)
                    elif hasattr(sub, "eqns"):
                        yield from scans(sub)

    (body,) = list(scans(jaxpr.jaxpr))
    return sum(eqn.primitive.name == "dot_general" for eqn in body.eqns)


def test_a_fused_step_is_one_matmul_of_the_input_and_state_together():
    # [x_t, h] @ [kernel; recurrent_kernel], stacked once before the loop: faster on a CPU than
    # two products a step. GRU(reset_after=True) needs the recurrent product alone.
    assert _step_matmuls(hl.layers.LSTM(U)) == 1
    assert _step_matmuls(hl.layers.SimpleRNN(U, use_bias=False)) == 1
    assert _step_matmuls(hl.layers.GRU(U)) == 2
