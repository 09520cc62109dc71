"""``hl.backend``: one setting and one function choose the convolutions' lowering."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import highlevel as hl
from highlevel.backend import convolution

ON_CPU = jax.default_backend() == "cpu"


@pytest.fixture(autouse=True)
def _no_setting(monkeypatch):
    monkeypatch.delenv("HIGHLEVEL_CONV_CPU", raising=False)
    yield
    hl.backend.set_conv_lowering(None)


def test_the_setting_is_read_when_asked_not_at_import(monkeypatch):
    assert hl.backend.get_conv_lowering() == "auto"
    monkeypatch.setenv("HIGHLEVEL_CONV_CPU", "LAX")
    assert hl.backend.get_conv_lowering() == "lax"
    hl.backend.set_conv_lowering("patches")      # over the environment variable
    assert hl.backend.get_conv_lowering() == "patches"
    hl.backend.set_conv_lowering(None)
    assert hl.backend.get_conv_lowering() == "lax"
    monkeypatch.setenv("HIGHLEVEL_CONV_CPU", "fast")
    with pytest.raises(ValueError, match=r"HIGHLEVEL_CONV_CPU must be one of 'auto', 'patches', 'lax', got 'fast'"):
        hl.backend.get_conv_lowering()
    with pytest.raises(ValueError, match=r"mode must be one of 'auto', 'patches', 'lax', got 'im2col'"):
        hl.backend.set_conv_lowering("im2col")


def _choose(op="conv", shape=(2, 10, 10, 4), kernel=(3, 3), strides=(1, 1), padding="valid", dilation=(1, 1),
            groups=1):
    return hl.backend.choose_conv_lowering(op, shape, "float32", kernel, strides, padding, dilation, groups)


@pytest.mark.skipif(not ON_CPU, reason="the CPU lowerings")
def test_one_function_chooses_every_lowering_on_a_cpu():
    assert _choose() == _choose(kernel=(1, 1), strides=(2, 2), padding="same") == "patches"
    assert _choose(padding="same") == _choose(strides=(2, 2), padding="same") == "xla_kernel_grad"
    assert _choose(groups=2) == _choose(dilation=(2, 2)) == "xla"
    assert _choose("depthwise", padding="same") == "taps"
    assert _choose("depthwise", kernel=(9, 9)) == "xla"      # 81 taps: XLA's
    hl.backend.set_conv_lowering("lax")
    assert {_choose(), _choose(padding="same"), _choose("depthwise")} == {"xla"}
    hl.backend.set_conv_lowering("patches")
    assert _choose(padding="same") == "patches"
    with pytest.raises(ValueError, match="op must be 'conv' or 'depthwise'"):
        _choose("transpose")


def test_other_backends_take_xla_everywhere(monkeypatch):
    monkeypatch.setattr(convolution, "is_cpu", lambda: False)
    assert {_choose(), _choose(padding="same"), _choose("depthwise"), _choose(kernel=(1, 1))} == {"xla"}


def _jaxpr(layer, x):
    return str(jax.make_jaxpr(lambda v: layer(v))(x))


@pytest.mark.skipif(not ON_CPU, reason="the CPU lowerings")
def test_layers_follow_the_setting_when_traced():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 8, 8, 3)), jnp.float32)
    depthwise = hl.layers.DepthwiseConv2D(3, padding="same")
    conv = hl.layers.Conv2D(4, 3)
    depthwise.build(x.shape)
    conv.build(x.shape)
    taps, patches = _jaxpr(depthwise, x), _jaxpr(conv, x)
    hl.backend.set_conv_lowering("lax")
    plain_dw, plain_conv = _jaxpr(depthwise, x), _jaxpr(conv, x)
    assert "conv_general_dilated" not in taps + patches
    assert "conv_general_dilated" in plain_dw and "conv_general_dilated" in plain_conv
    y_lax = depthwise(x)
    hl.backend.set_conv_lowering("auto")
    np.testing.assert_allclose(depthwise(x), y_lax, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding,strides,dilation", [("valid", (1, 1), (1, 1)), ("same", (2, 1), (1, 1)),
                                                      ("same", (1, 1), (2, 2))])
def test_depthwise_conv_equals_the_grouped_convolution(padding, strides, dilation):
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((2, 9, 8, 3)), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal((3, 3, 3, 2)), jnp.float32)
    got = hl.backend.depthwise_conv(x, kernel, strides, padding, dilation)
    pads = hl.backend.conv_padding(padding, x.shape[1:3], (3, 3), strides, dilation)
    want = lax.conv_general_dilated(x, jnp.reshape(kernel, (3, 3, 1, 6)), strides, pads, rhs_dilation=dilation,
                                    dimension_numbers=hl.backend.dimension_numbers(2), feature_group_count=3)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_conv_padding_is_keras_s():
    assert hl.backend.conv_padding("valid", (10,), (3,), (1,), (1,)) == [(0, 0)]
    assert hl.backend.conv_padding("causal", (10,), (3,), (1,), (2,)) == [(4, 0)]
    assert hl.backend.conv_padding("same", (10, 10), (3, 4), (1, 3), (1, 1)) == [(1, 1), (1, 2)]


def test_prefetch_passes_batches_through_where_the_device_reads_host_memory():
    from highlevel.training.data import prefetch_to_device
    batches = [np.ones(3), np.zeros(3)]
    out = list(prefetch_to_device(iter(batches)))
    if hl.backend.host_memory_is_device():
        assert all(a is b for a, b in zip(out, batches))
    else:
        assert all(isinstance(a, jax.Array) for a in out)
