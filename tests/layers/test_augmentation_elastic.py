"""RandomElasticTransform against Keras 3.15 (the same drawn parameters and noise), plus its per-image
draws, configs, a compiled fit whose factors change, and errors."""

import json

import jax
import keras
import numpy as np
import pytest
from keras.src.random.seed_generator import draw_seed

import highlevel as hl
from highlevel.layers.augmentation_elastic import elastic_displacements
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers


def _keras(fn, *args, **kwargs):
    # Keras relies on implicit rank promotion, which the test config forbids for highlevel.
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


@pytest.mark.parametrize("kwargs", [{}, {"factor": (0.2, 0.8), "scale": 0.5, "interpolation": "nearest",
                                         "fill_mode": "mirror", "fill_value": 3.0, "value_range": (0, 1),
                                         "seed": 2, "data_format": "channels_first"}])
def test_layer_harness_and_config(kwargs):
    shape = (2, 3, 9, 8) if kwargs.get("data_format") == "channels_first" else (2, 9, 8, 3)
    layer = run_layer_test(L.RandomElasticTransform, kwargs, shape, shape)
    config = layer.get_config()
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is L.RandomElasticTransform and clone.get_config() == config
    assert set(keras.layers.RandomElasticTransform(**kwargs).get_config()) <= set(config)
    assert config["factor"] == list(layer.factor) and config["scale"] == list(layer.scale)


@pytest.mark.parametrize("fill_mode,interpolation", [("reflect", "bilinear"), ("constant", "nearest"),
                                                     ("mirror", "bilinear")])
def test_equals_keras_on_the_same_parameters_and_noise(rng, fill_mode, interpolation):
    x = rng.uniform(0, 255, (3, 16, 13, 2)).astype("float32")
    keras_layer = keras.layers.RandomElasticTransform(scale=(0.3, 1.0), interpolation=interpolation,
                                                      fill_mode=fill_mode, fill_value=9.0, seed=1)
    with jax.numpy_rank_promotion("allow"):
        transformation = keras_layer.get_random_transformation(x, training=True)
    transformation["apply_transform"] = np.array([True, False, True])
    transformation["seed"] = 5   # Keras draws its noise from this; both of its fields are the same draw
    expected = _keras(keras_layer.transform_images, x, transformation)
    noise = jax.random.normal(draw_seed(5), (3, 16, 13))
    layer = L.RandomElasticTransform(interpolation=interpolation, fill_mode=fill_mode, fill_value=9.0)
    got = np.asarray(layer.transform_images(x, {"apply_transform": transformation["apply_transform"],
                                                "distortion_factor": transformation["distortion_factor"],
                                                "dx": noise, "dy": noise}))
    np.testing.assert_allclose(got, expected, atol=2e-3)
    assert np.abs(got[0] - x[0]).max() > 50 and np.array_equal(got[1], x[1])


def test_displacements_use_each_images_own_filter_size(rng):
    """Keras's filter has int(6 sigma) | 1 taps; each image here has its own sigma, hence its own size."""
    noise = rng.standard_normal((3, 30, 24)).astype("float32")
    sigmas, alphas = [0.4, 1.1, 2.9], [1.5, 2.0, 0.5]
    got = np.asarray(elastic_displacements(noise, np.array(alphas), np.array(sigmas)))
    for i, (alpha, sigma) in enumerate(zip(alphas, sigmas)):
        size = int(6 * np.float32(sigma)) | 1
        blurred = _keras(keras.ops.image.gaussian_blur, noise[i, :, :, None] * np.float32(sigma), (size, size),
                         (sigma, sigma), data_format="channels_last")
        np.testing.assert_allclose(got[i], alpha * blurred[..., 0], rtol=1e-4, atol=1e-5)
    assert np.array_equal(np.asarray(elastic_displacements(noise, np.ones(3), np.zeros(3))), np.zeros_like(noise))


def test_training_inference_and_per_image_draws(rng):
    x = rng.uniform(0, 255, (64, 12, 12, 1)).astype("float32")
    layer = L.RandomElasticTransform(factor=(0.5, 0.5), scale=(1.0, 1.0), fill_mode="reflect", value_range=(-50, 255))
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x[0], training=False)), x[0])
    y = np.asarray(layer(x, training=True))
    assert y.shape == x.shape and y.dtype == np.float32 and y.min() >= 0 and y.max() <= 255
    changed = np.abs(y - x).reshape(64, -1).max(axis=1) > 1e-3
    assert 0.25 < changed.mean() < 0.75   # each image its own coin
    # Each image its own noise: identical images come out different.
    same = np.repeat(x[:1], 64, axis=0)
    out = np.asarray(L.RandomElasticTransform((1.0, 1.0), scale=(0.5, 1.0))(same, training=True))
    assert len({o.tobytes() for o in out}) == 64
    # The two fields are independent draws (Keras 3.15's are one), so the moves are not all diagonal.
    # The two fields are independent draws (Keras 3.15 draws both from one key: every move is diagonal).
    fields = layer._draw(jax.random.key(0), 2, 12, 12)
    assert np.abs(np.asarray(fields["dx"]) - np.asarray(fields["dy"])).min() > 0
    assert np.array_equal(np.asarray(L.RandomElasticTransform(factor=0.0)(x, training=True)), x)
    assert np.array_equal(np.asarray(L.RandomElasticTransform(scale=0.0)(x, training=True)), x)


class _Schedule(hl.callbacks.Callback):
    def __init__(self, compiled):
        super().__init__()
        self.compiled, self.counts = compiled, []

    def on_epoch_begin(self, epoch, logs=None):
        layer = self.model.layers[0]
        layer.factor, layer.scale = 0.3 * (epoch + 1), (0.1, 0.2 * (epoch + 1))

    def on_epoch_end(self, epoch, logs=None):
        self.counts.append(len(self.compiled))


def test_fit_compiles_once_while_factor_and_scale_change(rng):
    x, y = rng.uniform(0, 1, (20, 8, 8, 3)).astype("float32"), rng.standard_normal((20, 2)).astype("float32")
    model = hl.Sequential([hl.Input((8, 8, 3)), L.RandomElasticTransform(value_range=(0, 1)), L.Flatten(),
                           L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with count_compilations() as compiled:
        schedule = _Schedule(compiled)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[schedule])
    assert schedule.counts[0] > 0 and schedule.counts[1:] == [schedule.counts[0]] * 2, compiled
    assert np.all(np.isfinite(history.history["loss"]))
    layer = model.layers[0]
    assert layer.factor == (0.0, 0.9) and layer.scale == (0.1, 0.6)


@pytest.mark.parametrize("make,message", [
    (lambda: L.RandomElasticTransform(factor=1.5), r"RandomElasticTransform factor must be a number or a pair "
                                                   r"of numbers in \[0, 1\], got 1.5"),
    (lambda: L.RandomElasticTransform(scale=(0.2, 2)), r"RandomElasticTransform scale must be .* got \(0.2, 2\)"),
    (lambda: L.RandomElasticTransform(interpolation="bicubic"), r"got interpolation='bicubic'"),
    (lambda: L.RandomElasticTransform(fill_mode="edge"), r"got fill_mode='edge'; expected one of 'constant'"),
    (lambda: L.RandomElasticTransform(fill_value="zero"), r"fill_value must be a number, got 'zero'"),
    (lambda: L.RandomElasticTransform(value_range=(1, 1)), r"value_range must be a pair of two different"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
