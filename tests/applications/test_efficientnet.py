"""EfficientNetB0: Keras's and torchvision's networks, on their own weight files.

Parity is checked on 64x64 images, through the files (Keras's ``save_weights``, torch's
``torch.save(state_dict)``), with random batch-norm parameters and statistics (and, for
Keras, random input normalization statistics) so that no layer is an identity. Outputs
agree within 1e-4 of their scale (``_assert_close``).
"""


import jax
import numpy as np
import pytest

import highlevel as hl
from tests.applications import torch_oracle
from highlevel.applications import efficientnet

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

SHAPE = (64, 64, 3)


# ---------------------------------------------------------------------------
# Keras origin: keras.applications.EfficientNetB0's weights file, same outputs.


def _randomize_keras_statistics(model, rng):
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0.0, 0.2, n), rng.normal(0.0, 0.2, n),
                               rng.uniform(0.5, 1.5, n)])
        elif isinstance(layer, keras.layers.Normalization):
            count = layer.get_weights()[2]
            layer.set_weights([rng.uniform(0.3, 0.6, 3), rng.uniform(0.04, 0.08, 3), count])
            layer.finalize_state()  # what loading a file does; set_weights alone leaves it stale


@pytest.fixture(scope="module")
def keras_b0(tmp_path_factory):
    """Keras's EfficientNetB0 (10 classes) and its base, saved; their outputs on 0-255 images."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("efficientnetb0")
    x = rng.uniform(0.0, 255.0, size=(2,) + SHAPE).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        kmodel = keras.applications.EfficientNetB0(weights=None, input_shape=SHAPE, classes=10,
                                                   classifier_activation=None)
        _randomize_keras_statistics(kmodel, rng)
        kbase = keras.Model(kmodel.inputs, kmodel.get_layer("top_activation").output)
        kmodel.save_weights(folder / "top.weights.h5")
        kbase.save_weights(folder / "notop.weights.h5")
        # One compiled call for both outputs.
        both = keras.Model(kmodel.inputs, [kmodel.output, kbase.output])
        logits, features = both.predict(x, verbose=0)
    return kmodel, kbase, folder, x, logits, features


def test_keras_file_gives_keras_outputs(keras_b0):
    kmodel, _, folder, x, logits, _ = keras_b0
    model = hl.applications.EfficientNetB0(weights=str(folder / "top.weights.h5"), input_shape=SHAPE, classes=10,
                                           classifier_activation=None)
    # The same layers (after the input), of the same classes, in the same order: Keras's files key them so.
    # Keras numbers its unnamed stem layers per process; ours always have the first ones' names.
    expected_layers = [(layer.name, type(layer).__name__) for layer in kmodel.layers[1:]]
    expected_layers[:2] = [("rescaling", "Rescaling"), ("normalization", "Normalization")]
    assert [(layer.name, type(layer).__name__) for layer in model.layers[1:]] == expected_layers
    assert [w.shape for w in model.get_weights()] == [w.shape for w in kmodel.get_weights()]
    assert [w.dtype for w in model.get_weights()] == [w.dtype for w in kmodel.get_weights()]
    assert model.count_params() == kmodel.count_params()
    assert model.name == "efficientnetb0"
    # Drop-connect: per-sample Dropout on the residual branches, at Keras's rates.
    drops = {layer.name: (layer.rate, layer.noise_shape) for layer in model.layers
             if isinstance(layer, hl.layers.Dropout)}
    assert drops == {layer.name: (pytest.approx(layer.rate), layer.noise_shape if layer.name != "top_dropout"
                                  else None) for layer in kmodel.layers if isinstance(layer, keras.layers.Dropout)}
    torch_oracle.assert_close(model.predict(x, verbose=0), logits)
    model.set_weights([w + 1 for w in model.get_weights()])
    model.set_weights(kmodel.get_weights())
    torch_oracle.assert_close(model.predict(x, verbose=0), logits)


def test_keras_base_file_gives_keras_features(keras_b0):
    _, kbase, folder, x, _, features = keras_b0
    model = hl.applications.EfficientNetB0(weights=folder / "notop.weights.h5", input_shape=SHAPE,
                                           include_top=False, pooling="avg")
    assert model.count_params() == kbase.count_params()
    assert model.layers[-1].name == "avg_pool"
    torch_oracle.assert_close(model.predict(x, verbose=0), features.mean(axis=(1, 2)))


def test_keras_imagenet_stem_rescales_by_the_published_std(monkeypatch):
    asked = {}
    monkeypatch.setattr(efficientnet._common, "load_pretrained", lambda model, weights, **kw: asked.update(kw))
    model = hl.applications.EfficientNetB0(weights="imagenet", include_top=False, input_shape=SHAPE)
    stem = [layer.name for layer in model.layers[1:5]]
    assert stem == ["rescaling", "normalization", "rescaling_1", "stem_conv_pad"]
    np.testing.assert_allclose(model.get_layer("rescaling_1").scale, 1 / np.sqrt([0.229, 0.224, 0.225]))
    assert asked["imagenet_file"].filename == "efficientnetb0_notop.h5"
    assert asked["imagenet_file"].checksum == "md5:50bc09e76180e00e4465e1a485ddc09d"
    hl.applications.EfficientNetB0(weights="imagenet", origin="torchvision", include_top=False, input_shape=SHAPE)
    assert asked["imagenet_file"].url == "https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth"


# ---------------------------------------------------------------------------
# torchvision origin: torchvision's state dict, same outputs.


@pytest.fixture(scope="module")
def torch_pth(tmp_path_factory):
    tmodel = torch_oracle.torchvision().models.efficientnet_b0(weights=None).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in tmodel.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=g)
                module.bias.normal_(0.0, 0.2, generator=g)
                module.running_mean.normal_(0.0, 0.2, generator=g)
                module.running_var.uniform_(0.5, 1.5, generator=g)
    path = tmp_path_factory.mktemp("efficientnet_b0") / "efficientnet_b0.pth"
    torch.save(tmodel.state_dict(), path)
    return tmodel, path


def test_torchvision_state_dict_gives_torch_outputs(torch_pth, rng):
    tmodel, path = torch_pth
    x = rng.normal(0.0, 1.0, size=(2,) + SHAPE).astype("float32")
    model = hl.applications.EfficientNetB0(weights=path, input_shape=SHAPE, classifier_activation=None)
    assert model.count_params() == torch_oracle.torch_params(tmodel)
    assert model.get_layer("stem_conv_pad").padding == ((1, 1), (1, 1))
    assert model.get_layer("block3a_dwconv_pad").padding == ((2, 2), (2, 2))
    with torch.no_grad():
        expected = tmodel(torch_oracle.nchw(x)).numpy()
        features = tmodel.features(torch_oracle.nchw(x)).numpy().transpose(0, 2, 3, 1)
    torch_oracle.assert_close(model.predict(x, verbose=0), expected)
    base = hl.applications.EfficientNetB0(weights=str(path), input_shape=SHAPE, include_top=False,
                                          origin="torchvision")
    assert base.count_params() == torch_oracle.torch_params(tmodel, include_top=False)
    torch_oracle.assert_close(base.predict(x, verbose=0), features)


@pytest.mark.parametrize("change, message", [
    (lambda sd: sd.pop("features.2.1.block.2.fc1.bias"), r"no tensor 'features\.2\.1\.block\.2\.fc1\.bias'"),
    (lambda sd: sd.__setitem__("features.9.0.weight", torch.zeros(1)), r"entries 'features\.9\.0\.weight'"),
    (lambda sd: sd.__setitem__("features.3.0.block.1.0.weight", torch.zeros(144, 1, 3, 3)),
     r"Tensor 'features\.3\.0\.block\.1\.0\.weight'.*\(3, 3, 144, 1\).*block3a_dwconv/kernel.*\(5, 5, 144, 1\)"),
])
def test_a_state_dict_that_does_not_fit_names_the_tensor(torch_pth, tmp_path, change, message):
    path = torch_oracle.state_dict_variant(torch_pth[1], tmp_path, change)
    with pytest.raises(ValueError, match=message):
        hl.applications.EfficientNetB0(weights=path, input_shape=SHAPE, include_top=False)


def test_torchvision_weights_do_not_load_into_the_keras_network(torch_pth):
    model = hl.applications.EfficientNetB0(weights=None, input_shape=SHAPE, include_top=False, origin="keras")
    with pytest.raises(ValueError, match="origin='keras'.*build it with origin='torchvision'"):
        model.load_weights(torch_pth[1])


# ---------------------------------------------------------------------------
# Arguments and preprocessing.


def test_any_image_size_without_the_top():
    model = hl.applications.EfficientNetB0(weights=None, include_top=False, origin="keras")
    assert model.output_shapes() == [(None, None, None, 1280)]


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights="imagenet", classes=10), "has 1000 classes"),
    (dict(weights="imagenet", input_shape=(100, 100, 3)), r"input_shape=\(224, 224, 3\)"),
    (dict(weights=None, include_top=False, input_shape=(16, 16, 3)), "at least 32x32"),
    (dict(weights="imagenet", classifier_activation="relu"), "classifier_activation=None or 'softmax'"),
    (dict(weights=None, origin="jax"), "`origin` must be one of"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hl.applications.EfficientNetB0(**kwargs)


def test_preprocess_input():
    x = np.array([[[[0.0, 127.5, 255.0]]]])
    assert efficientnet.preprocess_input(x) is x  # Keras's models scale their own input
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(efficientnet.preprocess_input(x, origin="torchvision"),
                               ((x / 255.0 - mean) / std).astype("float32"), rtol=1e-6)
    with pytest.raises(ValueError, match="`origin` must be one of"):
        efficientnet.preprocess_input(x, origin="torch")
    assert efficientnet.decode_predictions is hl.applications.imagenet_utils.decode_predictions
