"""RandomErasing, RandomGaussianBlur, RandomShear, MixUp and CutMix against Keras 3 (the same
transformation parameters, or factors that leave one value), plus invariants of the random mixes."""

import json

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers
SHAPE = (3, 6, 5, 3)

CASES = [
    (L.RandomErasing, {}),
    (L.RandomErasing, {"factor": (0.5, 1.0), "scale": 0.5, "fill_value": [1, 2, 3], "value_range": (0, 1)}),
    (L.RandomGaussianBlur, {}),
    (L.RandomGaussianBlur, {"factor": 0.5, "kernel_size": (3, 5), "sigma": (0.2, 0.9), "seed": 3,
                            "data_format": "channels_first"}),
    (L.RandomShear, {"x_factor": 0.3}),
    (L.RandomShear, {"x_factor": (0.1, 0.2), "y_factor": 0.4, "fill_mode": "constant", "fill_value": 2.0,
                     "interpolation": "nearest"}),
    (L.MixUp, {}),
    (L.MixUp, {"alpha": 1.5, "seed": 2, "data_format": "channels_first"}),
    (L.CutMix, {}),
    (L.CutMix, {"factor": (0.3, 0.6), "seed": 5}),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


def _keras(fn, *args, **kwargs):
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


def _keras_transformation(layer, x):
    with jax.numpy_rank_promotion("allow"):
        return layer.get_random_transformation(x, training=True)


def _shape(kwargs):
    return SHAPE if kwargs.get("data_format") != "channels_first" else (3, 3, 6, 5)


@pytest.mark.parametrize("cls,kwargs", CASES, ids=IDS)
def test_layer_harness_and_config(cls, kwargs):
    layer = run_layer_test(cls, kwargs, _shape(kwargs), _shape(kwargs))
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is cls and clone.get_config() == config
    keras_keys = set(getattr(keras.layers, cls.__name__)(**kwargs).get_config())
    assert keras_keys - {"bounding_box_format"} <= set(config), keras_keys - set(config)


@pytest.mark.parametrize("cls,kwargs", CASES, ids=IDS)
def test_identity_outside_training_and_changes_in_training(cls, kwargs, rng):
    x = rng.uniform(0.0, 1.0, _shape(kwargs)).astype("float32")
    layer = cls(**kwargs)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x[0], training=False)), x[0])
    strong = {L.RandomErasing: {"factor": (1.0, 1.0)}, L.RandomGaussianBlur: {"factor": (1.0, 1.0)},
              L.RandomShear: {"x_factor": (0.5, 0.5)}, L.MixUp: {}, L.CutMix: {}}[cls]
    changed = [not np.allclose(np.asarray(cls(**{**kwargs, **strong, "seed": s})(x, training=True)), x)
               for s in range(4)]
    assert any(changed)


# ---------------------------------------------------------------------------
# The same transformation parameters as Keras: the same images (and labels).

TRANSFORM_CASES = [
    (L.RandomErasing, {"factor": 0.9}),
    (L.RandomErasing, {"factor": (0.5, 1.0), "scale": (0.1, 0.6), "fill_value": 100.0}),
    (L.RandomGaussianBlur, {"factor": (0.5, 1.0), "kernel_size": 5, "sigma": (0.3, 1.0)}),
    (L.RandomGaussianBlur, {"factor": 1.0, "kernel_size": (3, 7), "sigma": 0.8}),
    (L.RandomShear, {"x_factor": 0.4, "y_factor": (0.1, 0.3)}),
    (L.RandomShear, {"x_factor": (0.2, 0.6), "fill_mode": "constant", "interpolation": "nearest"}),
    (L.MixUp, {"alpha": 0.4}),
    (L.CutMix, {"factor": 0.8}),
]


@pytest.mark.parametrize("cls,kwargs", TRANSFORM_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(TRANSFORM_CASES)])
def test_transform_matches_keras(cls, kwargs, rng):
    x = rng.uniform(0.0, 255.0, (8, 9, 10, 3)).astype("float32")
    keras_layer = getattr(keras.layers, cls.__name__)(**kwargs)
    transformation = _keras_transformation(keras_layer, x)
    expected = _keras(keras_layer.transform_images, x, transformation)
    got = np.asarray(cls(**kwargs).transform_images(x, transformation))
    assert not np.allclose(expected, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    if cls in (L.MixUp, L.CutMix):
        labels = np.eye(8, dtype="float32")
        expected = _keras(keras_layer.transform_labels, labels, transformation)
        got = np.asarray(cls(**kwargs).transform_labels(labels, transformation))
        assert not np.allclose(expected, labels)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


DETERMINISTIC_CASES = [
    (L.RandomErasing, {"factor": (1.0, 1.0), "scale": (1.0, 1.0), "fill_value": 9.0}),
    (L.RandomGaussianBlur, {"factor": (1.0, 1.0), "sigma": (0.7, 0.7)}),
    (L.RandomGaussianBlur, {"factor": (1.0, 1.0), "kernel_size": (5, 3), "sigma": (1.0, 1.0)}),
]


@pytest.mark.parametrize("cls,kwargs", DETERMINISTIC_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(DETERMINISTIC_CASES)])
def test_collapsed_factors_match_keras_layer(cls, kwargs, rng):
    x = rng.uniform(0.0, 255.0, (3, 7, 6, 3)).astype("float32")
    expected = _keras(getattr(keras.layers, cls.__name__)(**kwargs), x, training=True)
    got = np.asarray(cls(**kwargs)(x, training=True))
    assert not np.allclose(expected, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(np.asarray(cls(**kwargs)(x[1], training=True)), expected[1], rtol=1e-5, atol=1e-3)


def test_erasing_fills_per_channel_clipped_to_value_range(rng):
    # (Keras 3.15's own layer fails on a list fill_value: full_like of a tracked list.)
    x = rng.uniform(0.0, 255.0, (2, 4, 3, 3)).astype("float32")
    y = np.asarray(L.RandomErasing((1.0, 1.0), scale=(1.0, 1.0), fill_value=[1.0, 2.0, 300.0])(x, training=True))
    np.testing.assert_array_equal(y, np.broadcast_to(np.array([1.0, 2.0, 255.0], "float32"), x.shape))


def test_shear_with_a_fixed_factor_is_keras_shear_either_way(rng):
    x = rng.uniform(0.0, 1.0, (16, 7, 7, 2)).astype("float32")
    y = np.asarray(L.RandomShear((0.3, 0.3), (0.2, 0.2))(x, training=True))
    keras_layer = keras.layers.RandomShear((0.3, 0.3), (0.2, 0.2))
    signs = []
    for sign in (1.0, -1.0):
        shear = np.tile(np.array([[0.3, 0.2]], "float32") * sign, (16, 1))
        expected = _keras(keras_layer.transform_images, x, {"shear_factor": shear, "input_shape": x.shape})
        signs.append([np.allclose(y[i], expected[i], atol=1e-4) for i in range(16)])
    assert all(a != b for a, b in zip(*signs)) and 2 < sum(signs[0]) < 14


@pytest.mark.parametrize("cls,kwargs", [(L.RandomErasing, {"factor": 0.8}), (L.RandomGaussianBlur, {}),
                                        (L.RandomShear, {"x_factor": 0.3, "y_factor": 0.2}), (L.CutMix, {})])
def test_channels_first_draws_as_channels_last(cls, kwargs, rng):
    x = rng.uniform(0.0, 255.0, (4, 6, 5, 3)).astype("float32")
    hl.utils.set_random_seed(3)
    last = np.asarray(cls(**kwargs)(x, training=True))
    hl.utils.set_random_seed(3)
    first = np.asarray(cls(data_format="channels_first", **kwargs)(np.moveaxis(x, -1, 1), training=True))
    if cls is L.RandomErasing:   # the noise is drawn in the layout's own shape
        kwargs = {**kwargs, "fill_value": 0.0}
        hl.utils.set_random_seed(3)
        last = np.asarray(cls(**kwargs)(x, training=True))
        hl.utils.set_random_seed(3)
        first = np.asarray(cls(data_format="channels_first", **kwargs)(np.moveaxis(x, -1, 1), training=True))
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), last, rtol=1e-6, atol=1e-4)


# ---------------------------------------------------------------------------
# MixUp and CutMix: invariants of the mixes.


def _partner_and_weight(labels):
    """From mixed one-hot labels: each image's partner (itself if unmixed) and its own weight."""
    own = np.diag(labels).copy()
    rest = labels - np.diag(own)
    partner = np.where(rest.max(axis=1) > 0, rest.argmax(axis=1), np.arange(len(labels)))
    return partner, own


def test_mixup_is_a_convex_mix_of_two_images_with_the_labels_weight(rng):
    x = rng.standard_normal((64, 4, 4, 3)).astype("float32")
    out = L.MixUp(alpha=0.5)({"images": x, "labels": np.eye(64, dtype="float32")}, training=True)
    images, labels = np.asarray(out["images"]), np.asarray(out["labels"])
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(np.count_nonzero(labels > 1e-6, axis=1) <= 2)
    partner, weight = _partner_and_weight(labels)
    assert sorted(partner.tolist()) == list(range(64))        # a permutation of the batch
    expected = weight[:, None, None, None] * x + (1 - weight[:, None, None, None]) * x[partner]
    np.testing.assert_allclose(images, expected, atol=1e-5)
    assert np.any((weight > 0.05) & (weight < 0.95))


def test_mixup_weights_follow_beta_alpha():
    layer = L.MixUp(alpha=0.2)
    draws = np.asarray(layer._draw(jax.random.key(1), (4000, 1, 1, 1))["mix_weight"])
    assert abs(draws.mean() - 0.5) < 0.03
    assert abs(draws.var() - 1 / (4 * (2 * 0.2 + 1))) < 0.02                   # Beta(a, a): 1/(4(2a+1))
    layer.alpha = 50.0
    assert np.asarray(layer._draw(jax.random.key(1), (4000, 1, 1, 1))["mix_weight"]).var() < 0.01


def test_cutmix_pastes_one_box_and_mixes_labels_by_its_area(rng):
    n, h, w = 48, 16, 12
    x = rng.standard_normal((n, h, w, 2)).astype("float32")
    out = L.CutMix()({"images": x, "labels": np.eye(n, dtype="float32")}, training=True)
    images, labels = np.asarray(out["images"]), np.asarray(out["labels"])
    partner, weight = _partner_and_weight(labels)
    checked = 0
    for i in range(n):
        own = np.all(images[i] == x[i], axis=-1)
        pasted = np.all(images[i] == x[partner[i]], axis=-1)
        assert np.all(own | pasted)
        if partner[i] == i or pasted.sum() == 0:
            continue
        rows, cols = np.nonzero(~own)
        box = np.zeros((h, w), bool)
        box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
        np.testing.assert_array_equal(~own, box)                      # one rectangle
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        area = 1.0 - weight[i]                                         # the continuous box's area, as Keras
        assert (height - 1) * (width - 1) <= area * h * w + 1e-3 <= (height + 1) * (width + 1) + 1e-3
        checked += 1
    assert checked > n // 3


def test_mix_layers_leave_one_image_alone(rng):
    x = rng.standard_normal((4, 4, 3)).astype("float32")
    for layer in (L.MixUp(), L.CutMix()):
        np.testing.assert_array_equal(np.asarray(layer(x, training=True)), x)


# ---------------------------------------------------------------------------
# Inside fit: one compilation while the factors change.


class _Schedule(hl.callbacks.Callback):
    def __init__(self, compiled):
        super().__init__()
        self.compiled, self.counts = compiled, []

    def on_epoch_begin(self, epoch, logs=None):
        erase, blur, shear, mix, cut = self.model.layers[:5]
        strength = 0.2 * (epoch + 1)
        erase.factor, blur.factor, shear.x_factor = strength, (strength, 1.0), strength
        mix.alpha, cut.factor = strength, strength

    def on_epoch_end(self, epoch, logs=None):
        self.counts.append(len(self.compiled))


def test_fit_compiles_once_while_factors_change(rng):
    x, y = rng.uniform(0, 255, (20, 6, 6, 3)).astype("float32"), rng.standard_normal((20, 2)).astype("float32")
    model = hl.Sequential([hl.Input((6, 6, 3)), L.RandomErasing(), L.RandomGaussianBlur(), L.RandomShear(0.1),
                           L.MixUp(), L.CutMix(), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with count_compilations() as compiled:
        schedule = _Schedule(compiled)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[schedule])
    assert schedule.counts[0] > 0 and schedule.counts[1:] == [schedule.counts[0]] * 2, compiled
    assert np.all(np.isfinite(history.history["loss"]))
    assert model.layers[2].x_factor == (-0.6, 0.6) and abs(model.layers[3].alpha - 0.6) < 1e-6


@pytest.mark.parametrize("make,message", [
    (lambda: L.RandomErasing(scale=(0.1, 1.5)), r"RandomErasing scale must be .*\[0, 1\], got \(0.1, 1.5\)"),
    (lambda: L.RandomErasing(fill_value="red"), r"RandomErasing fill_value must be None .*got 'red'"),
    (lambda: L.RandomGaussianBlur(kernel_size=4), r"RandomGaussianBlur kernel_size must be an odd .*got 4"),
    (lambda: L.RandomGaussianBlur(sigma=2.0), r"RandomGaussianBlur sigma must be .*\[0, 1\], got 2.0"),
    (lambda: L.RandomShear(x_factor=-0.5), r"RandomShear x_factor must be a number in \[0, 1\] or a pair of "
                                          r"numbers in \[-1, 1\], got -0.5"),
    (lambda: L.RandomShear(fill_mode="mirror"), r"RandomShear got fill_mode='mirror'; expected one of"),
    (lambda: L.MixUp(alpha=0), r"MixUp alpha must be a positive number .*got 0"),
    (lambda: L.CutMix(factor=(0.2, 3)), r"CutMix factor must be .*\[0, 1\], got \(0.2, 3\)"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
