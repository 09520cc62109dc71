"""VGG16: Keras's network on Keras's weight file, torchvision's on its state dict.

Parity is checked on 64x64 images through the files. torchvision's classifier needs
224x224 inputs (138M weights), so its one difference from Keras's, the flattening order
that ``fc1_from_torch`` undoes, is checked on a small Linear layer instead.
"""

from unittest import mock

import jax
import numpy as np
import pytest

import highlevel as hl
from tests.applications import torch_oracle
from highlevel.applications import vgg

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

SHAPE = (64, 64, 3)


def _images(rng, n=2):
    return rng.uniform(0.0, 1.0, size=(n,) + SHAPE).astype("float32")


def _zeros(self, shape, dtype=None):
    return keras.ops.zeros(shape, dtype=dtype)


@pytest.fixture(scope="module")
def keras_vgg16(tmp_path_factory):
    """keras.applications.VGG16 (10 classes, logits) with random weights, saved with and
    without its top; and its outputs on images ``x``."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("keras_vgg16")
    x = _images(rng)
    with jax.numpy_rank_promotion("allow"):
        # Zeros instead of the random initializers (an XLA compilation per kernel shape): every
        # weight is set below anyway.
        with mock.patch.object(keras.initializers.VarianceScaling, "__call__", _zeros):
            kmodel = keras.applications.VGG16(weights=None, input_shape=SHAPE, classes=10,
                                              classifier_activation=None)
        kmodel.set_weights([rng.normal(0.0, np.sqrt(2.0 / np.prod(w.shape[:-1])) if w.ndim > 1 else 0.1,
                                       w.shape).astype("float32") for w in kmodel.get_weights()])
        kmodel.save_weights(folder / "top.weights.h5")
        # Without its top, keras.applications.VGG16 is this very graph, cut at block5_pool.
        base = keras.Model(kmodel.input, kmodel.get_layer("block5_pool").output)
        base.save_weights(folder / "notop.weights.h5")
        outputs = {"top": np.asarray(kmodel(x, training=False)), "features": np.asarray(base(x, training=False))}
    return kmodel, base, folder, x, outputs


@pytest.mark.parametrize("include_top, pooling", [(True, None), (False, "avg"), (False, "max")])
def test_vgg16_keras_file_gives_keras_outputs(keras_vgg16, include_top, pooling):
    kmodel, kbase, folder, x, outputs = keras_vgg16
    if include_top:
        model = hl.applications.VGG16(weights=folder / "top.weights.h5", input_shape=SHAPE, classes=10,
                                      classifier_activation=None)
        expected, reference = outputs["top"], kmodel
        got = model.predict(x, verbose=0)
    else:
        model = hl.applications.VGG16(weights=str(folder / "notop.weights.h5"), input_shape=SHAPE,
                                      include_top=False, pooling=pooling)
        reduce = np.mean if pooling == "avg" else np.max
        expected, reference = reduce(outputs["features"], axis=(1, 2)), kbase
        got = model(x, training=False)
    names = [layer.name for layer in model.layers[1:]]  # after the (auto-named) input layer
    assert names[:len(reference.layers) - 1] == [layer.name for layer in reference.layers[1:]]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in reference.get_weights()]
    assert model.count_params() == reference.count_params()
    assert model.name == "vgg16"
    assert np.abs(expected).max() > 1e-2
    torch_oracle.assert_close(got, expected)


# ---------------------------------------------------------------------------
# torchvision origin.


@pytest.fixture(scope="module")
def torch_vgg16(tmp_path_factory):
    tmodel = torch_oracle.torchvision().models.vgg16(weights=None).eval()
    path = tmp_path_factory.mktemp("vgg16") / "vgg16.pth"
    torch.save(tmodel.state_dict(), path)
    return tmodel, path


def test_vgg16_torchvision_features_give_torch_outputs(torch_vgg16, rng):
    tmodel, path = torch_vgg16
    x = _images(rng)
    model = hl.applications.VGG16(weights=path, input_shape=SHAPE, include_top=False)
    with torch.no_grad():
        expected = tmodel.features(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
    features = sum(p.numel() for p in tmodel.features.parameters())
    assert model.count_params() == features == 14_714_688
    assert np.abs(expected).max() > 1e-2
    torch_oracle.assert_close(model(x, training=False), expected)


def test_fc1_from_torch_undoes_torchs_channels_first_flattening(rng):
    channels, grid, units = 5, 3, 4
    linear = torch.nn.Linear(channels * grid * grid, units)
    x = rng.normal(size=(2, grid, grid, channels)).astype("float32")
    with torch.no_grad():
        expected = linear(torch.from_numpy(x.transpose(0, 3, 1, 2)).flatten(1)).numpy()
    kernel = vgg.fc1_from_torch(linear.weight.detach().numpy(), channels=channels, grid=grid)
    got = x.reshape(2, -1) @ kernel + linear.bias.detach().numpy()  # what Flatten + Dense compute
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(kernel, linear.weight.detach().numpy().T)


def test_every_torchvision_tensor_has_a_layer(torch_vgg16):
    """The name map covers torchvision's state dict exactly, its classifier included."""
    keys = set(torch_vgg16[0].state_dict())
    mapped = {f"{prefix}.{suffix}" for prefix in vgg._torch_names().values() for suffix in ("weight", "bias")}
    assert mapped == keys
    model = hl.applications.VGG16(weights=None, origin="torchvision", include_top=False)
    weighted = {layer.name for layer in model.layers if layer.weights}
    assert weighted | {"fc1", "fc2", "predictions"} == set(vgg._torch_names())


def test_torchvision_top_needs_a_7x7_feature_map():
    with pytest.raises(ValueError, match=r"224 to 255 pixels a side.*include_top=False"):
        hl.applications.VGG16(weights=None, origin="torchvision", input_shape=(64, 64, 3))
    # Keras's own top takes any size when it is not loading ImageNet weights.
    assert hl.applications.VGG16(weights=None, input_shape=(32, 32, 3), classes=3).output_shapes() == [(None, 3)]


def test_a_misshapen_tensor_is_named(torch_vgg16, tmp_path):
    sd = {k: v for k, v in torch_vgg16[0].state_dict().items() if k.startswith("features.")}
    sd["features.10.weight"] = torch.zeros(256, 128, 1, 1)
    torch.save(sd, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=r"Tensor 'features\.10\.weight'.*block3_conv1/kernel"):
        hl.applications.VGG16(weights=tmp_path / "bad.pth", include_top=False)
    sd.pop("features.10.weight")
    torch.save(sd, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match=r"no tensor 'features\.10\.weight'"):
        hl.applications.VGG16(weights=tmp_path / "missing.pth", include_top=False)


@pytest.mark.parametrize("kwargs, message", [
    (dict(classes=10), r"1000 classes, got classes=10"),
    (dict(input_shape=(256, 256, 3)), r"takes input_shape=\(224, 224, 3\)"),
    (dict(include_top=False, input_shape=(31, 64, 3)), r"at least 32x32"),
    (dict(include_top=False, pooling="sum"), r"`pooling` must be None, 'avg' or 'max'"),
    (dict(weights="missing.pth"), r"`weights` must be None"),
])
def test_bad_arguments_raise_one_clear_sentence(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hl.applications.VGG16(**kwargs)


def test_preprocess_input_per_origin():
    x = np.full((1, 1, 1, 3), 255.0)
    np.testing.assert_allclose(vgg.preprocess_input(x), [[[[255 - 103.939, 255 - 116.779, 255 - 123.68]]]],
                               rtol=1e-5)
    np.testing.assert_allclose(vgg.preprocess_input(x, origin="torchvision")[0, 0, 0],
                               (1 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]),
                               rtol=1e-5)
