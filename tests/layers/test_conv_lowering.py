"""The CPU lowering of Conv1D/Conv2D as patches + one matmul: which layers take it, and that
it computes what ``lax.conv_general_dilated`` computes, forward and backward."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import highlevel as hl
from highlevel.backend import cpu as conv


@pytest.mark.parametrize("rank,x_shape,window,strides,pads", [
    (2, (4, 9, 11, 3), (3, 2), (1, 1), [(0, 0), (0, 0)]),
    (2, (4, 9, 11, 3), (3, 3), (2, 3), [(1, 1), (0, 2)]),
    (2, (2, 8, 8, 4), (1, 1), (2, 2), [(0, 0), (0, 0)]),
    (1, (2, 13, 5), (4,), (2,), [(3, 0)]),
])
def test_patches_equal_lax_convolution_and_its_gradients(rank, x_shape, window, strides, pads):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal(x_shape), jnp.float32)
    w = jnp.asarray(rng.standard_normal((*window, x_shape[-1], 6)), jnp.float32)
    dn = conv.dimension_numbers(rank)

    def reference(x, w):
        return lax.conv_general_dilated(x, w, strides, pads, dimension_numbers=dn)

    def patches(x, w):
        return conv.patch_conv(x, w, strides, pads)

    np.testing.assert_allclose(patches(x, w), reference(x, w), rtol=1e-5, atol=1e-5)
    g = jnp.asarray(rng.standard_normal(reference(x, w).shape), jnp.float32)
    grads = [jax.grad(lambda x, w, f=f: jnp.sum(f(x, w) * g), argnums=(0, 1))(x, w)
             for f in (patches, reference)]
    for got, want in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def _chooses(layer, input_shape, lowering="auto"):
    layer.build(input_shape)
    hl.backend.set_conv_lowering(lowering)
    try:
        return hl.backend.choose_conv_lowering("conv", input_shape, jnp.float32, layer.kernel_size, layer.strides,
                                               layer.padding, layer.dilation_rate, layer.groups) == "patches"
    finally:
        hl.backend.set_conv_lowering(None)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the patch lowering is a CPU choice")
def test_which_convolutions_take_the_patch_lowering_on_cpu():
    L = hl.layers
    assert _chooses(L.Conv2D(8, 1, strides=2, padding="same"), (2, 10, 10, 4))  # 1x1: a matmul
    assert _chooses(L.Conv2D(8, 3), (2, 10, 10, 4))                           # valid: patches
    assert _chooses(L.Conv1D(8, 5), (2, 30, 4))
    # A strided 'same' 3x3 keeps XLA's convolution with the chunked kernel gradient (the
    # benchmark ResNet trained 1.07x faster than with patches there).
    assert not _chooses(L.Conv2D(8, 3, strides=2, padding="same"), (2, 10, 10, 4))
    assert not _chooses(L.Conv2D(8, 3, padding="same"), (2, 10, 10, 4))
    assert not _chooses(L.Conv2D(8, 3, dilation_rate=2), (2, 10, 10, 4))
    assert not _chooses(L.Conv2D(8, 3, groups=2), (2, 10, 10, 4))
    assert not _chooses(L.Conv1D(8, 3, padding="causal"), (2, 30, 4))
    assert not _chooses(L.Conv2D(8, 1), (2, 10, 10, 4), lowering="lax")
    assert _chooses(L.Conv2D(8, 3, padding="same"), (2, 10, 10, 4), lowering="patches")
    big = (4096, 64, 64, 64)  # 9 taps x 4 GiB of input: far over MAX_PATCH_BYTES
    assert not _chooses(L.Conv2D(8, 3), big, lowering="patches")


def _fit(monkeypatch, lowering, build, input_shape):
    """A model built by ``build()`` and fitted for 2 epochs with the given CPU lowering."""
    monkeypatch.setenv("HIGHLEVEL_CONV_CPU", lowering)
    hl.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, *input_shape)).astype("float32")
    y = rng.integers(0, 3, 64)
    initial = model.get_weights()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    assert not np.allclose(model.get_weights()[2], initial[2])  # the second layer trained
    return model, x[:2]


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the patch lowering is a CPU choice")
def test_a_valid_cnn_compiles_without_a_convolution_and_trains_as_with_lax(monkeypatch):
    def build():
        return hl.Sequential([hl.layers.Input((10, 10, 2)), hl.layers.Conv2D(4, 3, activation="relu"),
                              hl.layers.Conv2D(4, 3, strides=2), hl.layers.Conv2D(4, 1), hl.layers.Flatten(),
                              hl.layers.Dense(3)])

    patched, x = _fit(monkeypatch, "auto", build, (10, 10, 2))
    hlo_patch = jax.jit(lambda v: patched(v)).lower(x).as_text()
    plain, _ = _fit(monkeypatch, "lax", build, (10, 10, 2))
    hlo_lax = jax.jit(lambda v: plain(v)).lower(x).as_text()
    assert "convolution" not in hlo_patch and "convolution" in hlo_lax
    for a, b in zip(patched.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# -- the kernel gradient of XLA's convolution on a CPU ---------------------------------------


@pytest.mark.parametrize("x_shape,window,c_out,strides,pads,form", [
    ((6, 12, 12, 8), (3, 3), 8, (1, 1), [(1, 1), (1, 1)], "shifts"),     # 'same' 3x3
    ((6, 9, 11, 8), (3, 2), 8, (1, 1), [(1, 1), (0, 1)], "shifts"),      # uneven window and pads
    ((6, 12, 12, 2), (3, 3), 16, (1, 1), [(1, 1), (1, 1)], "patches"),   # few input channels
    ((6, 9, 11, 3), (3, 3), 5, (2, 1), [(1, 1), (1, 1)], "patches"),     # strided
    ((6, 13, 8), (3,), 1, (1,), [(1, 1)], "shifts"),                     # rank 1, 'same'
    ((6, 13, 5), (4,), 6, (1,), [(3, 0)], "patches"),                    # rank 1, causal
])
@pytest.mark.parametrize("chunk_bytes", [1, 1 << 30])  # one sample per chunk; the whole batch at once
def test_kernel_gradient_equals_autodiff_of_the_convolution(monkeypatch, x_shape, window, c_out, strides,
                                                            pads, form, chunk_bytes):
    monkeypatch.setattr(conv, "GRAD_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.standard_normal(x_shape), jnp.float32)
    w = jnp.asarray(rng.standard_normal((*window, x_shape[-1], c_out)), jnp.float32)
    pads = tuple(map(tuple, pads))
    d_out = jnp.asarray(rng.standard_normal(conv._plain_lax_conv(x, w, strides, pads).shape), jnp.float32)

    # Which form the rule picks for this shape (both are exercised across the cases).
    assert conv._use_shifts(x.shape, w.shape, d_out.shape, strides, pads) == (form == "shifts")

    want = jax.vjp(lambda k: conv._plain_lax_conv(x, k, strides, pads), w)[1](d_out)[0]
    got = conv.kernel_grad(x, d_out, w.shape, strides, pads)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # Through the layer's custom-gradient convolution: the input's gradient is autodiff's.
    got_x, got_w = jax.vjp(lambda x, k: conv.conv_with_kernel_grad(x, k, strides, pads), x, w)[1](d_out)
    want_x = jax.vjp(lambda v: conv._plain_lax_conv(v, w, strides, pads), x)[1](d_out)[0]
    np.testing.assert_allclose(got_x, want_x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got_w, want, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the kernel gradient is a CPU choice")
def test_a_same_padded_resnet_block_trains_as_with_lax(monkeypatch):
    def build():
        inputs = hl.layers.Input((8, 8, 3))
        h = hl.layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
        r = hl.layers.Conv2D(6, 3, padding="same")(h)
        h = hl.layers.Add()([h, r])
        return hl.Model(inputs, hl.layers.Dense(3)(hl.layers.GlobalAveragePooling2D()(h)))

    custom, x = _fit(monkeypatch, "auto", build, (8, 8, 3))
    step_custom = str(jax.make_jaxpr(lambda v: custom(v))(x))
    plain, _ = _fit(monkeypatch, "lax", build, (8, 8, 3))
    step_plain = str(jax.make_jaxpr(lambda v: plain(v))(x))
    assert "custom_vjp_call" in step_custom and "custom_vjp_call" not in step_plain
    for a, b in zip(custom.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
