"""Where XLA:CPU loses to PyTorch CPU on the CNN, the ResNet and the LSTM (round five, item 5).

    python benchmarks/torch_gap.py [--repeats 15] [--threads 2]

Times the forward and backward pass of each expensive layer of the benchmark models alone,
on the benchmark's shapes, in one process: every convolution lowering highlevel has on a CPU
(``xla``: XLA's convolution and its autodiff; ``patches``: patches and one matmul;
``xla_kernel_grad``: XLA's convolution with the kernel gradient as chunked matmuls; ``chosen``:
what ``hl.backend.choose_conv_lowering`` picks), against PyTorch CPU (oneDNN) with the same
number of threads, plus a 1024x1024 matmul as the two libraries' common reference. Prints one
Markdown table: milliseconds (medians) and each lowering's speed as a fraction of PyTorch's.
Reaches into ``highlevel.backend.cpu`` (the lowerings themselves), which a benchmark may do.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# (model, layer, input NHWC, kernel (kh, kw, in, out), strides, padding, input gradient needed)
CONVS = [
    ("cnn", "conv 1->32 valid", (128, 28, 28, 1), (3, 3, 1, 32), (1, 1), "valid", False),
    ("cnn", "conv 32->64 valid", (128, 26, 26, 32), (3, 3, 32, 64), (1, 1), "valid", True),
    ("resnet", "stem 3->16 same", (128, 32, 32, 3), (3, 3, 3, 16), (1, 1), "same", False),
    ("resnet", "block 16->16 same (x4)", (128, 32, 32, 16), (3, 3, 16, 16), (1, 1), "same", True),
    ("resnet", "down 16->32 stride 2", (128, 32, 32, 16), (3, 3, 16, 32), (2, 2), "same", True),
    ("resnet", "32->32 same at 16x16", (128, 16, 16, 32), (3, 3, 32, 32), (1, 1), "same", True),
    ("resnet", "shortcut 1x1 stride 2", (128, 32, 32, 16), (1, 1, 16, 32), (2, 2), "valid", True),
]


def median_ms(fn, repeats: int) -> float:
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch
    from jax import lax

    import highlevel as hl
    from highlevel.backend import cpu as hl_cpu
    from highlevel.backend.convolution import choose_conv_lowering, conv_padding

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    rows = []

    def jax_timer(f, *operands):
        f = jax.jit(f)
        return lambda: jax.block_until_ready(f(*operands))

    def torch_timer(loss_fn, params):
        def run():
            for p in params:
                p.grad = None
            loss_fn().backward()
        return run

    # The common reference: both libraries' matmul.
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    jm = median_ms(jax_timer(lambda u, v: u @ v, jnp.asarray(a), jnp.asarray(a)), args.repeats)
    ta = torch.from_numpy(a)
    tm = median_ms(lambda: ta @ ta, args.repeats)
    rows.append(("-", "matmul 1024^3 (forward)", {"xla": jm}, "xla", tm))

    for model, name, shape, kshape, strides, padding, needs_dx in CONVS:
        x = rng.standard_normal(shape).astype(np.float32)
        k = (rng.standard_normal(kshape) / np.sqrt(np.prod(kshape[:3]))).astype(np.float32)
        pads = tuple(map(tuple, conv_padding(padding, shape[1:3], kshape[:2], strides, (1, 1))))
        lowerings = {
            "xla": lambda x, k: lax.conv_general_dilated(x, k, strides, pads,
                                                         dimension_numbers=("NHWC", "HWIO", "NHWC")),
            "patches": lambda x, k: hl_cpu.patch_conv(x, k, strides, pads),
            "xla_kernel_grad": lambda x, k: hl_cpu.conv_with_kernel_grad(x, k, strides, pads),
        }
        out_shape = jax.eval_shape(lowerings["xla"], jax.ShapeDtypeStruct(shape, jnp.float32),
                                   jax.ShapeDtypeStruct(kshape, jnp.float32)).shape
        g = jnp.asarray(rng.standard_normal(out_shape).astype(np.float32))
        times = {}
        for lowering, f in lowerings.items():
            argnums = (0, 1) if needs_dx else 1
            step = jax.grad(lambda x, k, f=f: jnp.vdot(f(x, k), g), argnums=argnums)
            times[lowering] = median_ms(jax_timer(step, jnp.asarray(x), jnp.asarray(k)), args.repeats)
        chosen = choose_conv_lowering("conv", shape, "float32", kshape[:2], strides, padding, (1, 1))
        tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(needs_dx)
        tk = torch.from_numpy(k.transpose(3, 2, 0, 1).copy()).requires_grad_(True)
        tg = torch.from_numpy(np.asarray(g).transpose(0, 3, 1, 2).copy())
        tpad = 0 if padding == "valid" else kshape[0] // 2
        tloss = lambda: (torch.nn.functional.conv2d(tx, tk, stride=strides, padding=tpad) * tg).sum()
        rows.append((model, name + " (fwd+bwd)", times, chosen, median_ms(torch_timer(tloss, [tx, tk]),
                                                                        args.repeats)))

    # Batch norm (training mode, Keras's formula) on the ResNet's widest activation.
    x = rng.standard_normal((128, 32, 32, 16)).astype(np.float32)
    g = jnp.asarray(rng.standard_normal(x.shape).astype(np.float32))

    def bn(x, gamma):
        mean = x.mean(axis=(0, 1, 2))
        var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
        return (x - mean) * lax.rsqrt(var + 1e-3) * gamma

    step = jax.grad(lambda x, gamma: jnp.vdot(bn(x, gamma), g), argnums=(0, 1))
    jb = median_ms(jax_timer(step, jnp.asarray(x), jnp.ones(16)), args.repeats)
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(True)
    tbn = torch.nn.BatchNorm2d(16, eps=1e-3).train()
    tg = torch.from_numpy(np.asarray(g).transpose(0, 3, 1, 2).copy())
    tb = median_ms(torch_timer(lambda: (tbn(tx) * tg).sum(), [tx] + list(tbn.parameters())), args.repeats)
    rows.append(("resnet", "batch norm 16ch at 32x32 (fwd+bwd, x7)", {"xla": jb}, "xla", tb))

    # The LSTM layer of the benchmark, highlevel's layer (fused gradient) against nn.LSTM.
    x = rng.standard_normal((64, 50, 32)).astype(np.float32)
    layer = hl.layers.LSTM(128)
    layer.build((None, 50, 32))
    from flax import nnx
    graphdef, params = nnx.split(layer)
    g = jnp.asarray(rng.standard_normal((64, 128)).astype(np.float32))

    def lstm_loss(params, x):
        return jnp.vdot(nnx.merge(graphdef, params)(x), g)

    jl = median_ms(jax_timer(jax.grad(lstm_loss), params, jnp.asarray(x)), args.repeats)
    tl_layer = torch.nn.LSTM(32, 128, batch_first=True)
    tx = torch.from_numpy(x)
    tg = torch.from_numpy(np.asarray(g))
    tl = median_ms(torch_timer(lambda: (tl_layer(tx)[1][0][-1] * tg).sum(), list(tl_layer.parameters())),
                   args.repeats)
    rows.append(("lstm", "LSTM(128) over 50x32, batch 64 (fwd+bwd)", {"xla": jl}, "xla", tl))

    print(f"jax {jax.__version__}, torch {torch.__version__}, {args.threads} threads; "
          f"medians of {args.repeats}, milliseconds; 'x torch' = PyTorch's time / this time (1.0 = parity)\n")
    print("| model | layer | xla | patches | xla_kernel_grad | chosen | torch | chosen x torch | best x torch |")
    print("|---|---|---:|---:|---:|---|---:|---:|---:|")
    for model, name, times, chosen, torch_ms in rows:
        cell = lambda key: f"{times[key]:.2f}" if key in times else "-"
        best = min(times.values())
        print(f"| {model} | {name} | {cell('xla')} | {cell('patches')} | {cell('xla_kernel_grad')} | {chosen} | "
              f"{torch_ms:.2f} | {torch_ms / times[chosen]:.2f} | {torch_ms / best:.2f} |")


if __name__ == "__main__":
    main()
