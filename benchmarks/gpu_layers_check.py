"""Accelerator check of the issue-16 layers: attention's fused path, masked recurrences, constraints.

1. MultiHeadAttention / GroupedQueryAttention: the fused ``jax.nn.dot_product_attention``
   path (no scores asked) against the explicit path (scores asked) and a NumPy reference on
   the same weights, float32, with a mask and causal; then their speed in bfloat16 at a
   transformer-sized shape.
2. The LSTM's fused gradient against the plain scan under a mask (``rnn_mask_cost.py``).
3. A constrained, activity-regularized fit step (NonNeg kernel, MaxNorm bias) on the device.

    PYTHONPATH=. python3 benchmarks/gpu_layers_check.py
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

import highlevel as hl


def _reference_mha(layer, q, v, mask):
    """Multi-head attention in NumPy float64 from the layer's weights (Keras's layout)."""
    wq, bq, wk, bk, wv, bv, wo, bo = [np.asarray(w, np.float64) for w in layer.get_weights()]
    q, v = np.asarray(q, np.float64), np.asarray(v, np.float64)
    qh = np.einsum("btd,dnh->btnh", q, wq) + bq
    kh = np.einsum("bsd,dnh->bsnh", v, wk) + bk
    vh = np.einsum("bsd,dnh->bsnh", v, wv) + bv
    logits = np.einsum("btnh,bsnh->bnts", qh, kh) / np.sqrt(wq.shape[-1])
    logits = np.where(mask[:, None], logits, -1e9)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    out = np.einsum("bnts,bsnh->btnh", p, vh)
    return np.einsum("btnh,nhd->btd", out, wo) + bo


def _time(fn, *args, repeats=20):
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def attention() -> None:
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 16, 32)).astype("float32")
    v = rng.standard_normal((2, 24, 32)).astype("float32")
    mask = rng.random((2, 16, 24)) > 0.3
    mha = hl.layers.MultiHeadAttention(4, 8)
    mha(q, v)
    fused = np.asarray(mha(q, v, attention_mask=mask))
    explicit = np.asarray(mha(q, v, attention_mask=mask, return_attention_scores=True)[0])
    ref = _reference_mha(mha, q, v, mask)
    print(f"MHA float32: fused vs NumPy {np.abs(fused - ref).max():.2e}, explicit vs NumPy "
          f"{np.abs(explicit - ref).max():.2e}")
    causal = np.tril(np.ones((16, 16), bool))[None].repeat(2, 0)
    got = np.asarray(mha(q, q, use_causal_mask=True))
    print(f"MHA causal vs NumPy {np.abs(got - _reference_mha(mha, q, q, causal)).max():.2e}")
    gqa = hl.layers.GroupedQueryAttention(8, 4, 2)
    gqa(q, v)
    a = np.asarray(gqa(q, v, attention_mask=mask))
    b = np.asarray(gqa(q, v, attention_mask=mask, return_attention_scores=True)[0])
    print(f"GQA float32: fused vs explicit {np.abs(a - b).max():.2e}")

    for dtype in ("float32", "bfloat16"):
        x = jnp.asarray(rng.standard_normal((8, 1024, 512)), dtype)
        layer = hl.layers.MultiHeadAttention(8, 64, dtype=dtype)
        layer(x, x)
        fused_fn = jax.jit(lambda x: layer(x, x, use_causal_mask=True))
        explicit_fn = jax.jit(lambda x: layer(x, x, use_causal_mask=True, return_attention_scores=True)[0])
        print(f"MHA {dtype} (8, 1024, 512), 8 heads of 64, causal: fused {_time(fused_fn, x):.2f} ms, "
              f"explicit {_time(explicit_fn, x):.2f} ms")


def masked_lstm() -> None:
    from benchmarks.rnn_mask_cost import main
    main(repeats=10)


def constrained_fit() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((64, 8)).astype("float32"), rng.standard_normal((64, 1)).astype("float32")
    model = hl.Sequential([hl.Input((8,)), hl.layers.Dense(16, kernel_constraint="non_neg",
                                                              bias_constraint=hl.constraints.MaxNorm(0.1),
                                                              activity_regularizer="l2"),
                           hl.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    kernel, bias = model.get_weights()[:2]
    print(f"constrained fit on {jax.devices()[0].platform}: loss {history.history['loss'][-1]:.4f}, kernel >= 0: "
          f"{bool((kernel >= 0).all())}, |bias| <= 0.1: {bool((np.abs(bias) <= 0.1 + 1e-6).all())}")


if __name__ == "__main__":
    print("jax", jax.__version__, jax.devices())
    for check in (attention, masked_lstm, constrained_fit):
        try:
            check()
        except Exception as err:   # report and go on: one device run, several checks
            print(f"{check.__name__} failed: {type(err).__name__}: {err}")
