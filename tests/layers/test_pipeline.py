"""hl.layers.Pipeline against keras.layers.Pipeline: outputs, configs, dicts, and training flags."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

MEAN, VARIANCE = np.array([1.0, 2.0, 3.0], "float32"), np.array([4.0, 5.0, 6.0], "float32")


def _layers(lib):
    """Rescaling, CenterCrop and a Normalization whose statistics are set as weights, from ``lib``."""
    norm = lib.layers.Normalization()
    norm.build((None, 4, 4, 3))
    norm.set_weights([MEAN, VARIANCE, np.array(0)])
    if hasattr(norm, "finalize_state"):
        norm.finalize_state()  # Keras reads its statistics from the weights only here
    return [lib.layers.Rescaling(1 / 255.0, offset=0.5), lib.layers.CenterCrop(4, 4), norm]


@pytest.fixture(scope="module")
def images():
    return np.random.RandomState(0).uniform(0, 255, (4, 6, 6, 3)).astype("float32")


def test_same_outputs_and_config_as_keras(images):
    ours, theirs = hl.layers.Pipeline(_layers(hl), name="prep"), keras.layers.Pipeline(_layers(keras), name="prep")
    expected = np.asarray(theirs(images))
    np.testing.assert_allclose(np.asarray(ours(images)), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours(images, training=True)), expected, rtol=1e-5, atol=1e-5)
    assert ours.layers[1].name == ours.get_config()["layers"][1]["config"]["name"]
    config, keras_config = ours.get_config(), theirs.get_config()
    assert sorted(config) == sorted(keras_config) == ["layers", "name"] and config["name"] == "prep"
    assert [c["class_name"] for c in config["layers"]] == [c["class_name"] for c in keras_config["layers"]]

    # Inside a model's compiled predict step, and rebuilt from the model's config.
    model = hl.Sequential([hl.Input((6, 6, 3)), ours])
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-5)
    clone = hl.Sequential.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert isinstance(clone.layers[0], hl.layers.Pipeline) and clone.layers[0].name == "prep"
    np.testing.assert_allclose(clone.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_layer_harness():
    run_layer_test(hl.layers.Pipeline, {"layers": [hl.layers.Rescaling(0.5), hl.layers.Dense(3)]}, (2, 4), (2, 3),
                   expected_num_trainable_weights=2)


def test_dict_inputs_like_keras(images):
    def swap(data):
        return {"images": data["images"] * 2.0, "labels": data["labels"] + 1.0}

    data = {"images": images, "labels": np.arange(4, dtype="float32")[:, None]}
    ours = hl.layers.Pipeline([hl.layers.Lambda(swap), hl.layers.Lambda(swap)])(data)
    theirs = keras.layers.Pipeline([keras.layers.Lambda(swap), keras.layers.Lambda(swap)])(data)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(np.asarray(ours[key]), np.asarray(theirs[key]))


def test_augmentation_active_in_fit_only():
    # RandomBrightness((0.5, 0.5)) always adds 127.5: in fit the Dense layer (zero kernel,
    # no bias) sees x + 127.5, so one SGD step on MSE against 1 sets the kernel to
    # 2 * lr * mean(x + 127.5); predict must then give kernel . x, without the shift.
    x = np.random.RandomState(1).uniform(0, 100, (8, 2, 2, 1)).astype("float32")
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((2, 2, 1)), hl.layers.Pipeline([hl.layers.RandomBrightness((0.5, 0.5))]),
                           hl.layers.Flatten(), hl.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=hl.optimizers.SGD(1e-3), loss="mse")
    model.fit(x, np.ones((8, 1), "float32"), batch_size=8, epochs=1, shuffle=False, verbose=0)
    kernel = model.get_weights()[0]
    expected = 2e-3 * (x + 127.5).reshape(8, 4).mean(0)[:, None]
    np.testing.assert_allclose(kernel, expected, rtol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), x.reshape(8, 4) @ kernel, rtol=1e-5)


def test_errors_as_keras():
    with pytest.raises(ValueError, match="`Pipeline` config must contain a `layers` key"):
        hl.layers.Pipeline.from_config({"name": "p"})
    with pytest.raises(ValueError, match="Pipeline takes layer instances"):
        hl.layers.Pipeline(["rescaling"])
