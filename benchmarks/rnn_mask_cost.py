"""What a mask costs a recurrent layer: the fused time loop (no mask) against the plain scan (a mask).

The fused loop (``layers/rnn.py`` ``_fused_loop``) takes the kernels' gradients after the
backward loop; under a mask the layer runs the plain ``lax.scan`` instead (masked steps
keep their states). This times one forward + backward step of the benchmark LSTM
(LSTM(128), 50 steps of 32 features, batch 64) both ways, medians of interleaved repeats:

    python benchmarks/rnn_mask_cost.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import highlevel as hl


def main(repeats: int = 7) -> None:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((64, 50, 32)).astype("float32"))
    full = jnp.ones((64, 50), bool)
    ragged = jnp.asarray(np.arange(50)[None] < rng.integers(25, 51, (64, 1)))
    results = {}
    for name in ("LSTM", "GRU"):
        layer = getattr(hl.layers, name)(128)
        layer(x)
        graphdef, state = nnx.split(layer)

        def grads(mask):
            def loss(state, x):   # the weights' and the inputs' gradients, as a train step takes them
                module = nnx.merge(graphdef, state, copy=True)
                y = module(x) if mask is None else module(x, mask=mask)
                return jnp.sum(y ** 2)
            return jax.jit(jax.grad(loss, argnums=(0, 1)))

        steps = {"fused (no mask)": grads(None), "plain scan (mask)": grads(full),
                 "plain scan (ragged mask)": grads(ragged)}
        times = {k: [] for k in steps}
        for fn in steps.values():
            jax.block_until_ready(fn(state, x))
        for _ in range(repeats):
            for key, fn in steps.items():
                start = time.perf_counter()
                jax.block_until_ready(fn(state, x))
                times[key].append(time.perf_counter() - start)
        results[name] = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    for name, row in results.items():
        base = row["fused (no mask)"]
        print(name, " ".join(f"{k}: {v:.1f} ms ({v / base:.2f}x)" for k, v in row.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    main(parser.parse_args().repeats)
