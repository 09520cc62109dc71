"""A careful hand-written flax.nnx + optax loop: the bar highlevel must reach.

One ``jax.jit`` train step with the state donated; the module is split once
outside the step and merged (``copy=True``) inside; the data lives on the device,
shuffled and batched by one compiled call per epoch, and the step picks its batch
by a counter kept in the state, so a step takes no host input and the host reads
nothing until the epoch ends. ``scan=K`` fuses K steps into one call with
``lax.scan`` (``unroll=True`` unrolls it).
"""

from __future__ import annotations

import functools

import numpy as np

jax = jnp = nnx = optax = None


def import_framework() -> None:
    global jax, jnp, nnx, optax
    import jax as _jax
    import jax.numpy as _jnp
    import optax as _optax
    from flax import nnx as _nnx
    jax, jnp, nnx, optax = _jax, _jnp, _nnx, _optax
    jnp.zeros(()).block_until_ready()  # start the XLA client now: import time, as for the others


def _bn(features, rngs):
    return nnx.BatchNorm(features, momentum=0.99, epsilon=1e-3, rngs=rngs)


def _build(w, rngs):
    """The same architectures as ``keras_style.build``, as nnx modules (NHWC, 'valid'/'same' as Keras)."""

    class Tiny(nnx.Module):
        def __init__(self):
            self.l1, self.l2 = nnx.Linear(20, 32, rngs=rngs), nnx.Linear(32, 1, rngs=rngs)

        def __call__(self, x):
            return self.l2(jax.nn.relu(self.l1(x)))

    class MLP(nnx.Module):
        def __init__(self):
            self.l1, self.l2, self.l3 = (nnx.Linear(784, 512, rngs=rngs), nnx.Linear(512, 512, rngs=rngs),
                                         nnx.Linear(512, 10, rngs=rngs))
            self.drop = nnx.Dropout(0.2, rngs=rngs)

        def __call__(self, x):
            x = self.drop(jax.nn.relu(self.l1(x)))
            x = self.drop(jax.nn.relu(self.l2(x)))
            return self.l3(x)

    class CNN(nnx.Module):
        def __init__(self):
            self.c1 = nnx.Conv(1, 32, (3, 3), padding="VALID", rngs=rngs)
            self.c2 = nnx.Conv(32, 64, (3, 3), padding="VALID", rngs=rngs)
            self.bn = _bn(64, rngs)
            self.drop = nnx.Dropout(0.25, rngs=rngs)
            self.out = nnx.Linear(12 * 12 * 64, 10, rngs=rngs)

        def __call__(self, x):
            x = jax.nn.relu(self.c2(jax.nn.relu(self.c1(x))))
            x = nnx.max_pool(x, (2, 2), (2, 2))
            x = self.drop(self.bn(x))
            return self.out(x.reshape(x.shape[0], -1))

    class LSTM(nnx.Module):
        """Keras's LSTM: one fused kernel for the 4 gates (i, f, c, o), the loop a lax.scan."""

        def __init__(self, units=128, features=32):
            init = nnx.initializers.glorot_uniform()
            self.kernel = nnx.Param(init(rngs.params(), (features, 4 * units)))
            self.recurrent = nnx.Param(nnx.initializers.orthogonal()(rngs.params(), (units, 4 * units)))
            self.bias = nnx.Param(jnp.zeros(4 * units).at[units:2 * units].set(1.0))
            self.units = units
            self.out = nnx.Linear(units, 10, rngs=rngs)

        def __call__(self, x):
            kernel, recurrent, bias = self.kernel[...], self.recurrent[...], self.bias[...]
            batch = x.shape[0]

            def cell(carry, x_t):
                h, c = carry
                z = x_t @ kernel + h @ recurrent + bias
                i, f, g, o = jnp.split(z, 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                h = jax.nn.sigmoid(o) * jnp.tanh(c)
                return (h, c), None

            zeros = jnp.zeros((batch, self.units), x.dtype)
            (h, _), _ = jax.lax.scan(cell, (zeros, zeros), jnp.swapaxes(x, 0, 1))
            return self.out(h)

    class ResNet(nnx.Module):
        def __init__(self):
            conv = lambda i, o, k=3, s=1: nnx.Conv(i, o, (k, k), strides=s, padding="SAME", use_bias=False,
                                                   rngs=rngs)
            self.stem, self.stem_bn = conv(3, 16), _bn(16, rngs)
            self.blocks = nnx.List([nnx.List([conv(16, 16), _bn(16, rngs), conv(16, 16), _bn(16, rngs)])
                                    for _ in range(2)])
            self.d1, self.d1_bn, self.d2, self.d2_bn = conv(16, 32, s=2), _bn(32, rngs), conv(32, 32), _bn(32, rngs)
            self.short = nnx.Conv(16, 32, (1, 1), strides=2, padding="VALID", use_bias=False, rngs=rngs)
            self.out = nnx.Linear(32, 10, rngs=rngs)

        def __call__(self, x):
            h = jax.nn.relu(self.stem_bn(self.stem(x)))
            for c1, b1, c2, b2 in self.blocks:
                h = jax.nn.relu(h + b2(c2(jax.nn.relu(b1(c1(h))))))
            r = self.d2_bn(self.d2(jax.nn.relu(self.d1_bn(self.d1(h)))))
            h = jax.nn.relu(self.short(h) + r)
            return self.out(h.mean(axis=(1, 2)))

    return {"tiny": Tiny, "mlp": MLP, "cnn": CNN, "lstm": LSTM, "resnet": ResNet}[w.name]()


def train(w, x, y, on_epoch_end, scan: int = 1, unroll: bool = False, host_order: bool = False):
    """``host_order``: draw each epoch's order with NumPy on the host (0.3 ms for 32k rows) instead
    of ``jax.random.permutation`` on the device (a sort: 14 ms for 32k rows on this CPU)."""
    from workloads import spec

    model = _build(w, nnx.Rngs(0))
    model.train()  # dropout on, batch norm in training mode: static attributes, baked into graphdef
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tx = optax.adam(spec.LEARNING_RATE)

    if w.task == "regression":
        loss_of = lambda pred, t: jnp.mean((pred - t) ** 2)
    else:
        loss_of = lambda pred, t: optax.softmax_cross_entropy_with_integer_labels(pred, t).mean()

    def one_step(carry, xb, yb):
        params, rest, opt_state, loss_sum = carry

        def loss_fn(params):
            module = nnx.merge(graphdef, params, rest, copy=True)
            loss = loss_of(module(xb), yb)
            return loss, nnx.state(module, nnx.Not(nnx.Param))

        (loss, new_rest), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), new_rest, opt_state, loss_sum + loss)

    nb = w.steps_per_epoch
    k = max(d for d in range(1, min(scan, nb) + 1) if nb % d == 0)  # steps per call, dividing the epoch

    @functools.partial(jax.jit, donate_argnums=0)
    def step(state, xs, ys):
        carry, i = state
        if k == 1:
            return one_step(carry, xs[i], ys[i]), i + 1
        body = lambda c, b: (one_step(c, *b), None)
        carry, _ = jax.lax.scan(body, carry, (xs[i], ys[i]), unroll=k if unroll else 1)
        return carry, i + 1

    @jax.jit
    def epoch_batches(x, y, key, perm=None):
        if perm is None:
            perm = jax.random.permutation(key, x.shape[0])
        shape = (nb // k, k, w.batch_size) if k > 1 else (nb, w.batch_size)
        return x[perm].reshape(shape + x.shape[1:]), y[perm].reshape(shape + y.shape[1:])

    x_dev, y_dev = jax.device_put(x), jax.device_put(y)
    state = ((params, rest, tx.init(params), jnp.zeros((), jnp.float32)), jnp.zeros((), jnp.int32))
    key = jax.random.key(0)
    for epoch in range(w.epochs):
        host_perm = np.random.default_rng(epoch).permutation(x.shape[0]) if host_order else None
        xs, ys = epoch_batches(x_dev, y_dev, jax.random.fold_in(key, epoch), host_perm)
        (params, rest, opt_state, _), _ = state
        state = ((params, rest, opt_state, jnp.zeros((), jnp.float32)), jnp.zeros((), jnp.int32))
        for _ in range(nb // k):
            state = step(state, xs, ys)
        on_epoch_end(float(state[0][3]) / nb)  # the only device-to-host read of the epoch
    return {"steps_per_execution": k, "unroll": unroll, "host_order": host_order}
