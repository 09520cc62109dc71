"""ResNet50 and ResNet18: Keras's and torchvision's networks, on their own weight files.

Parity is checked on 64x64 images, through the files (Keras's ``save_weights``, torch's
``torch.save(state_dict)``), with random batch-norm statistics so that no layer is an identity.
Outputs agree within 1e-4 of their scale (``_assert_close``).
"""

from unittest import mock

import jax
import numpy as np
import pytest

import highlevel as hl
from tests.applications import torch_oracle
from highlevel.applications import resnet

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

SHAPE = (64, 64, 3)


def _images(rng, n=2):
    return rng.uniform(-1.0, 1.0, size=(n,) + SHAPE).astype("float32")


# ---------------------------------------------------------------------------
# Keras origin: keras.applications.ResNet50's weights file, same outputs.


def _randomize_keras(model, rng):
    """Random weights of a sensible scale, batch-norm statistics included (no identity layers)."""
    weights = []
    for var in model.weights:
        shape, name = tuple(var.shape), var.path
        if len(shape) > 1:
            w = rng.normal(0.0, np.sqrt(1.0 / np.prod(shape[:-1])), shape)
        elif name.endswith(("gamma", "moving_variance")):
            w = rng.uniform(0.5, 1.5, shape)
        else:
            w = rng.normal(0.0, 0.1, shape)
        weights.append(w.astype("float32"))
    model.set_weights(weights)


def _zeros(self, shape, dtype=None):
    return keras.ops.zeros(shape, dtype=dtype)


def _keras_model(builder, **kwargs):
    """A keras.applications model built fast: its random initializers (an XLA compilation per
    kernel shape) replaced by zeros, since ``_randomize_keras`` sets every weight anyway."""
    with mock.patch.object(keras.initializers.VarianceScaling, "__call__", _zeros):
        return builder(weights=None, **kwargs)


@pytest.fixture(scope="module")
def keras_resnet50(tmp_path_factory):
    """keras.applications.ResNet50 (10 classes, logits) with random weights and batch-norm
    statistics, saved with and without its top; and its outputs on images ``x``."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("keras_resnet50")
    x = _images(rng)
    with jax.numpy_rank_promotion("allow"):
        kmodel = _keras_model(keras.applications.ResNet50, input_shape=SHAPE, classes=10,
                              classifier_activation=None)
        _randomize_keras(kmodel, rng)
        kmodel.save_weights(folder / "top.weights.h5")
        # Without its top, keras.applications.ResNet50 is this very graph, cut at the last block.
        base = keras.Model(kmodel.input, kmodel.get_layer("conv5_block3_out").output)
        base.save_weights(folder / "notop.weights.h5")
        outputs = {"top": np.asarray(kmodel(x, training=False)), "features": np.asarray(base(x, training=False))}
    return kmodel, base, folder, x, outputs


@pytest.mark.parametrize("include_top, pooling", [(True, None), (False, "avg"), (False, "max")])
def test_resnet50_keras_file_gives_keras_outputs(keras_resnet50, include_top, pooling):
    kmodel, kbase, folder, x, outputs = keras_resnet50
    if include_top:
        model = hl.applications.ResNet50(weights=folder / "top.weights.h5", input_shape=SHAPE, classes=10,
                                         classifier_activation=None)
        expected, reference = outputs["top"], kmodel
        got = model.predict(x, verbose=0)
    else:
        model = hl.applications.ResNet50(weights=str(folder / "notop.weights.h5"), input_shape=SHAPE,
                                         include_top=False, pooling=pooling)
        reduce = np.mean if pooling == "avg" else np.max
        expected, reference = reduce(outputs["features"], axis=(1, 2)), kbase
        assert model.layers[-1].name == f"{pooling}_pool"
        got = model(x, training=False)
    names = [layer.name for layer in model.layers[1:]]  # after the (auto-named) input layer
    assert names[:len(reference.layers) - 1] == [layer.name for layer in reference.layers[1:]]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in reference.get_weights()]
    assert model.count_params() == reference.count_params()
    assert model.name == "resnet50"
    torch_oracle.assert_close(got, expected)


# ---------------------------------------------------------------------------
# torchvision origin: torchvision's state dict, same outputs.


def _torch_model(builder, seed=0):
    model = builder(weights=None).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=g)
                module.bias.normal_(0.0, 0.1, generator=g)
                module.running_mean.normal_(0.0, 0.1, generator=g)
                module.running_var.uniform_(0.5, 1.5, generator=g)
    return model


def _torch_features(model, x):
    """torchvision's ResNet up to (not including) the average pooling, NHWC."""
    with torch.no_grad():
        y = torch.nn.Sequential(*list(model.children())[:-2])(torch.from_numpy(x.transpose(0, 3, 1, 2)))
    return y.numpy().transpose(0, 2, 3, 1)


def _torch_logits(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()


@pytest.fixture(scope="module")
def resnet18_pth(tmp_path_factory):
    tmodel = _torch_model(torch_oracle.torchvision().models.resnet18)
    path = tmp_path_factory.mktemp("resnet18") / "resnet18.pth"
    torch.save(tmodel.state_dict(), path)
    return tmodel, path


def test_resnet50_torchvision_state_dict_gives_torch_outputs(tmp_path, rng):
    tmodel = _torch_model(torch_oracle.torchvision().models.resnet50)
    torch.save(tmodel.state_dict(), tmp_path / "r50.pth")
    x = _images(rng)
    model = hl.applications.ResNet50(weights=tmp_path / "r50.pth", input_shape=SHAPE,
                                     classifier_activation=None)
    assert model.count_params() == torch_oracle.torch_params(tmodel, top="fc.")
    torch_oracle.assert_close(model.predict(x, verbose=0), _torch_logits(tmodel, x))
    # The same network without its top: the feature map, and no fc.* tensor is asked for.
    base = hl.applications.ResNet50(weights=tmp_path / "r50.pth", input_shape=SHAPE, include_top=False,
                                    origin="torchvision")
    assert base.count_params() == torch_oracle.torch_params(tmodel, include_top=False, top="fc.")
    torch_oracle.assert_close(base(x, training=False), _torch_features(tmodel, x))


def test_resnet18_torchvision_state_dict_gives_torch_outputs(resnet18_pth, rng):
    tmodel, path = resnet18_pth
    x = _images(rng)
    model = hl.applications.ResNet18(weights=path, input_shape=SHAPE, classifier_activation=None)
    assert model.count_params() == torch_oracle.torch_params(tmodel, top="fc.")
    torch_oracle.assert_close(model(x, training=False), _torch_logits(tmodel, x))
    base = hl.applications.ResNet18(weights=path, input_shape=SHAPE, include_top=False, pooling="max")
    assert base.output_shapes() == [(None, 512)]
    torch_oracle.assert_close(base(x, training=False), _torch_features(tmodel, x).max(axis=(1, 2)))
    # load_weights reads the state dict too, into a model built without weights.
    fresh = hl.applications.ResNet18(weights=None, input_shape=SHAPE, include_top=False, pooling="max")
    fresh.load_weights(path)
    torch_oracle.assert_close(fresh(x, training=False), base(x, training=False), tol=1e-6)


@pytest.mark.parametrize("change, message", [
    (lambda sd: sd.pop("layer2.0.downsample.1.running_var"), r"no tensor 'layer2\.0\.downsample\.1\.running_var'"),
    (lambda sd: sd.__setitem__("layer5.0.conv1.weight", torch.zeros(1)), r"layer5\.0\.conv1\.weight"),
    (lambda sd: sd.__setitem__("layer3.1.conv2.weight", torch.zeros(256, 256, 1, 1)),
     r"Tensor 'layer3\.1\.conv2\.weight'.*\(1, 1, 256, 256\).*conv4_block2_2_conv/kernel.*\(3, 3, 256, 256\)"),
])
def test_a_state_dict_that_does_not_fit_names_the_tensor(resnet18_pth, tmp_path, change, message):
    path = torch_oracle.state_dict_variant(resnet18_pth[1], tmp_path, change)
    with pytest.raises(ValueError, match=message):
        hl.applications.ResNet18(weights=path, input_shape=SHAPE)


def test_torchvision_weights_do_not_load_into_the_keras_network(resnet18_pth):
    model = hl.applications.ResNet18(weights=None, input_shape=SHAPE, origin="keras")
    with pytest.raises(ValueError, match="origin='keras'.*build it with origin='torchvision'"):
        model.load_weights(resnet18_pth[1])
    with pytest.raises(ValueError, match="cannot take .*torchvision weight file"):
        hl.applications.ResNet18(weights=resnet18_pth[1], origin="keras")


# ---------------------------------------------------------------------------
# The two origins: same names where layers correspond, each its own details.


def test_origins_share_weighted_layer_names_and_differ_as_documented():
    shapes = {}
    for origin in ("keras", "torchvision"):
        model = hl.applications.ResNet50(weights=None, input_shape=SHAPE, origin=origin)
        shapes[origin] = {layer.name: layer for layer in model.layers if layer.weights}
    keras_layers, torch_layers = shapes["keras"], shapes["torchvision"]
    assert list(keras_layers) == list(torch_layers)
    # v1 strides the first 1x1 conv of a stage, v1.5 the 3x3; only Keras's convs have biases.
    assert keras_layers["conv3_block1_1_conv"].strides == (2, 2)
    assert keras_layers["conv3_block1_2_conv"].strides == (1, 1)
    assert torch_layers["conv3_block1_1_conv"].strides == (1, 1)
    assert torch_layers["conv3_block1_2_conv"].strides == (2, 2)
    assert keras_layers["conv1_conv"].use_bias and not torch_layers["conv1_conv"].use_bias
    assert keras_layers["conv1_bn"].epsilon == 1.001e-5 and torch_layers["conv1_bn"].epsilon == 1e-5


def test_resnet18_keras_form_is_keras_style_basic_blocks():
    model = hl.applications.ResNet18(weights=None, input_shape=SHAPE, origin="keras", pooling="avg",
                                     include_top=False)
    names = [layer.name for layer in model.layers if layer.weights]
    assert names[:4] == ["conv1_conv", "conv1_bn", "conv2_block1_1_conv", "conv2_block1_1_bn"]
    assert "conv2_block1_0_conv" not in names and "conv3_block1_0_conv" in names
    assert not any("_3_" in n for n in names)
    assert model.output_shapes() == [(None, 512)]
    # torchvision's 11,176,512 trainable weights + 9,600 BN statistics + 4,800 conv biases
    assert model.count_params() == 11_186_112 + 4_800
    assert model.name == "resnet18"


# ---------------------------------------------------------------------------
# Arguments, checked before anything is built or downloaded.


@pytest.mark.parametrize("ctor, kwargs, message", [
    ("ResNet50", dict(weights="nowhere.h5"), r"`weights` must be None.*got weights='nowhere\.h5'"),
    ("ResNet50", dict(classes=10), r"1000 classes, got classes=10"),
    ("ResNet50", dict(input_shape=(128, 128, 3)), r"takes input_shape=\(224, 224, 3\)"),
    ("ResNet50", dict(include_top=False, input_shape=(16, 64, 3)), r"at least 32x32"),
    ("ResNet50", dict(include_top=False, input_shape=(64, 64, 1)), r"3 channels"),
    ("ResNet50", dict(include_top=False, input_shape=(64, 64)), r"three positive integers"),
    ("ResNet50", dict(weights=None, input_shape=(None, None, 3)), r"static input_shape"),
    ("ResNet50", dict(include_top=False, pooling="mean"), r"`pooling` must be None, 'avg' or 'max'"),
    ("ResNet50", dict(classifier_activation="relu"), r"classifier_activation=None or 'softmax'"),
    ("ResNet50", dict(origin="caffe"), r"`origin` must be one of"),
    ("ResNet18", dict(origin="keras", include_top=False), r"no published ImageNet weights of the keras "
                                                          r"origin; pass origin='torchvision'"),
    ("ResNet18", dict(input_tensor=np.zeros((1, 64, 64, 3))), r"`input_tensor` must be an hl\.Input"),
])
def test_bad_arguments_raise_one_clear_sentence(ctor, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        getattr(hl.applications, ctor)(**kwargs)


def test_input_tensor_and_origin_inference():
    inputs = hl.Input((64, 64, 3))
    x = hl.layers.Rescaling(1 / 255)(inputs)
    model = hl.applications.ResNet18(weights=None, input_tensor=x, include_top=False)
    assert model.inputs[0] is inputs and model.output_shapes() == [(None, 2, 2, 512)]
    assert not model.get_layer("conv1_conv").use_bias  # ResNet18's default origin is torchvision
    assert hl.applications.ResNet50(weights=None, include_top=False).get_layer("conv1_conv").use_bias


def test_preprocess_input_per_origin():
    x = np.array([[[[255.0, 128.0, 0.0]]]])
    np.testing.assert_allclose(resnet.preprocess_input(x), [[[[-103.939, 11.221, 131.32]]]], rtol=1e-5)
    np.testing.assert_allclose(resnet.preprocess_input(x, origin="torchvision"),
                               [[[[(1 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, -0.406 / 0.225]]]],
                               rtol=1e-5)
    with pytest.raises(ValueError, match="`origin` must be"):
        resnet.preprocess_input(x, origin="torch")
    assert resnet.decode_predictions is hl.applications.imagenet_utils.decode_predictions
