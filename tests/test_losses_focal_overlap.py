"""hl.losses' focal, generalized, Dice, Tversky and Circle losses against keras.losses (JAX backend)."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import losses

ATOL = 1e-5


def _keras(fn, *args, **kwargs):
    with jax.numpy_rank_promotion("allow"):
        return np.asarray(fn(*args, **kwargs))


def _inputs(rng, kind, logits):
    if kind == "binary":
        y_true = rng.integers(0, 2, (8, 3)).astype("float32")
        raw = rng.normal(size=(8, 3)).astype("float32")
        return y_true, raw if logits else np.asarray(jax.nn.sigmoid(raw))
    if kind == "categorical":
        y_true = np.eye(5, dtype="float32")[rng.integers(0, 5, 8)]
        raw = rng.normal(size=(8, 5)).astype("float32")
        return y_true, raw if logits else np.asarray(jax.nn.softmax(raw))
    if kind == "sparse":
        raw = rng.normal(size=(8, 5)).astype("float32")
        return rng.integers(0, 5, 8), np.asarray(jax.nn.softmax(raw))
    if kind == "mask":
        return (rng.integers(0, 2, (4, 3, 3, 1)).astype("float32"),
                rng.uniform(0, 1, (4, 3, 3, 1)).astype("float32"))
    emb = rng.normal(size=(8, 4)).astype("float32")       # circle: labels and unit embeddings
    return rng.integers(0, 3, 8), emb / np.linalg.norm(emb, axis=1, keepdims=True)


CASES = [
    ("BinaryFocalCrossentropy", "binary", {}),
    ("BinaryFocalCrossentropy", "binary", {"from_logits": True, "gamma": 3.0}),
    ("BinaryFocalCrossentropy", "binary", {"apply_class_balancing": True, "alpha": 0.4,
                                           "label_smoothing": 0.1}),
    ("BinaryFocalCrossentropy", "binary", {"from_logits": True, "apply_class_balancing": True,
                                           "label_smoothing": 0.2, "gamma": 0.5}),
    ("CategoricalFocalCrossentropy", "categorical", {}),
    ("CategoricalFocalCrossentropy", "categorical", {"from_logits": True, "alpha": 0.5}),
    ("CategoricalFocalCrossentropy", "categorical", {"gamma": 1.0, "label_smoothing": 0.2}),
    ("CategoricalFocalCrossentropy", "categorical", {"from_logits": True, "label_smoothing": 0.1}),
    ("CategoricalGeneralizedCrossEntropy", "sparse", {}),
    ("CategoricalGeneralizedCrossEntropy", "sparse", {"q": 0.8}),
    ("Dice", "mask", {}),
    ("Dice", "mask", {"axis": (1, 2, 3)}),
    ("Tversky", "mask", {}),
    ("Tversky", "mask", {"alpha": 0.3, "beta": 0.7, "axis": [1, 2, 3]}),
    ("Circle", "circle", {}),
    ("Circle", "circle", {"gamma": 10.0, "margin": 0.25, "remove_diagonal": False}),
]
FUNCTIONS = {"BinaryFocalCrossentropy": "binary_focal_crossentropy",
             "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
             "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy",
             "Dice": "dice", "Tversky": "tversky", "Circle": "circle"}


@pytest.mark.parametrize("cls, kind, kwargs", CASES)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", None])
def test_classes_match_keras_with_weights_and_reductions(cls, kind, kwargs, reduction, rng):
    y_true, y_pred = _inputs(rng, kind, kwargs.get("from_logits", False))
    weight = rng.uniform(0, 2, len(y_pred)).astype("float32")
    weight[1] = 0.0
    ours = getattr(losses, cls)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, cls)(reduction=reduction, **kwargs)
    for sw in (None, weight):
        np.testing.assert_allclose(ours(y_true, y_pred, sample_weight=sw),
                                   _keras(theirs, y_true, y_pred, sample_weight=sw), atol=ATOL, rtol=1e-5)


@pytest.mark.parametrize("cls, kind, kwargs", CASES)
def test_functions_match_keras(cls, kind, kwargs, rng):
    y_true, y_pred = _inputs(rng, kind, kwargs.get("from_logits", False))
    name = FUNCTIONS[cls]
    if cls == "CategoricalGeneralizedCrossEntropy":
        kwargs = {"q": kwargs.get("q", 0.5)}   # Keras's function has no default q
    ours = getattr(losses, name)(y_true, y_pred, **kwargs)
    np.testing.assert_allclose(ours, _keras(getattr(keras.losses, name), y_true, y_pred, **kwargs),
                               atol=ATOL, rtol=1e-5)
    assert ours.shape == {"binary": (8,), "categorical": (8,), "sparse": (8,), "circle": (8,),
                          "mask": () if kwargs.get("axis") is None else (4,)}[kind]


def test_hand_computed_values():
    # p_t = 0.4 for both entries: (1 - 0.4)**2 * -log(0.4), averaged.
    np.testing.assert_allclose(losses.binary_focal_crossentropy([[0., 1.]], [[0.6, 0.4]]),
                               [0.36 * -np.log(0.4)], rtol=1e-6)
    # the true class: 0.25 * (1 - 0.5)**2 * -log(0.5)
    np.testing.assert_allclose(losses.categorical_focal_crossentropy([[0., 1., 0.]], [[0.1, 0.5, 0.4]]),
                               [0.0625 * -np.log(0.5)], rtol=1e-6)
    np.testing.assert_allclose(losses.categorical_generalized_cross_entropy([1], [[0.75, 0.25]], q=0.5),
                               [1.0])
    # tp = 2, sums 3 and 2: 1 - 4 / 5
    np.testing.assert_allclose(losses.dice([[1., 0.], [1., 1.]], [[1., 0.], [0., 1.]]), 0.2, rtol=1e-6)
    # one missed positive: alpha weighs it
    np.testing.assert_allclose(losses.tversky([[1., 0.], [1., 1.]], [[1., 0.], [0., 1.]], alpha=1.0,
                                              beta=0.0), 1 / 3, rtol=1e-6)


def test_circle_ignores_queries_without_loss_in_the_mean():
    e = np.array([[1., 0.], [1., 0.], [0., 1.]], "float32")
    values = losses.circle(np.array([0, 0, 1]), e, gamma=1.0)
    assert float(values[2]) == 0.0   # the only one of its label: no positive
    assert float(losses.Circle(gamma=1.0)(np.array([0, 0, 1]), e)) == pytest.approx(float(values[0]))


def test_invalid_q_is_refused():
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\)"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)


@pytest.mark.parametrize("cls, kind, kwargs", CASES)
def test_config_round_trip_and_names(cls, kind, kwargs):
    loss = getattr(losses, cls)(**kwargs)
    config = losses.serialize(loss)
    assert config["class_name"] == cls
    again = losses.deserialize(config)
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
    # the config reads in Keras too (Keras writes the same keys)
    keras_config = getattr(keras.losses, cls)(**kwargs).get_config()
    assert set(config["config"]) <= set(keras_config) | {"reduction", "name"}
    assert type(losses.get(FUNCTIONS[cls])) is type(loss)
    assert losses.get(FUNCTIONS[cls]).name == FUNCTIONS[cls]
    assert type(losses.get(cls)) is type(loss)
    assert type(losses.get(getattr(losses, FUNCTIONS[cls]))) is type(loss)


@pytest.mark.parametrize("loss, y", [("binary_focal_crossentropy", "binary"),
                                     ("categorical_focal_crossentropy", "categorical"),
                                     ("dice", "binary"), ("tversky", "binary")])
def test_fit_through_compile_lowers_the_loss(loss, y, rng):
    x = rng.normal(size=(32, 4)).astype("float32")
    labels = (x[:, 0] > 0).astype("int32")
    target = labels[:, None].astype("float32") if y == "binary" else np.eye(2, dtype="float32")[labels]
    act = "sigmoid" if y == "binary" else "softmax"
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(target.shape[1], activation=act)])
    model.compile(optimizer=hl.optimizers.Adam(0.05), loss=loss)
    hist = model.fit(x, target, batch_size=8, epochs=5, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert np.isfinite(hist.history["loss"]).all()


def test_fit_with_circle_and_generalized_ce(rng):
    x = rng.normal(size=(32, 4)).astype("float32")
    labels = (x[:, 0] > 0).astype("int32")
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=hl.optimizers.Adam(0.05), loss="categorical_generalized_cross_entropy")
    hist = model.fit(x, labels, batch_size=8, epochs=5, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    emb = hl.Sequential([hl.Input((4,)), hl.layers.Dense(3), hl.layers.UnitNormalization()])
    emb.compile(optimizer=hl.optimizers.Adam(0.05), loss=losses.Circle(gamma=8.0))
    hist = emb.fit(x, labels, batch_size=16, epochs=5, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_fit_checks_generalized_ce_labels_as_sparse_ones(rng):
    x = rng.normal(size=(8, 4)).astype("float32")
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_generalized_cross_entropy")
    with pytest.raises(ValueError, match="takes integer class labels"):
        model.fit(x, np.eye(2, dtype="float32")[rng.integers(0, 2, (8, 3))], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"outside \[0, 2\)"):
        model.fit(x, np.full((8,), 2), epochs=1, verbose=0)


def _ctc_data(rng):
    labels = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [2, 0, 0, 0], [1, 3, 2, 1]])
    return labels, rng.normal(size=(4, 9, 4)).astype("float32")


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", None])
def test_ctc_matches_keras(reduction, rng):
    labels, logits = _ctc_data(rng)
    weight = np.array([1.0, 0.0, 2.0, 0.5], "float32")
    np.testing.assert_allclose(losses.ctc(labels, logits), _keras(keras.losses.ctc, labels, logits), rtol=1e-5)
    for sw in (None, weight):
        np.testing.assert_allclose(losses.CTC(reduction=reduction)(labels, logits, sample_weight=sw),
                                   _keras(keras.losses.CTC(reduction=reduction), labels, logits,
                                          sample_weight=sw), rtol=1e-5)


def test_ctc_hand_value_config_and_shape_errors():
    # two steps, uniform over {blank, 1}: paths "1 1", "1 -", "- 1" give label [1]: 3/4
    np.testing.assert_allclose(losses.ctc(np.array([[1]]), np.zeros((1, 2, 2), "float32")), [-np.log(0.75)],
                               rtol=1e-6)
    config = losses.serialize(losses.CTC(reduction="sum"))
    assert config == {"class_name": "CTC", "config": {"name": "ctc", "reduction": "sum"}}
    assert type(losses.get("ctc")) is losses.CTC and type(losses.deserialize(config)) is losses.CTC
    with pytest.raises(ValueError, match=r"shape \(batch, max_length\)"):
        losses.ctc(np.array([1, 2]), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"shape \(batch, time, classes\)"):
        losses.ctc(np.array([[1, 2]]), np.zeros((2, 4)))


def test_fit_with_ctc(rng):
    x = rng.normal(size=(16, 6, 3)).astype("float32")
    labels = rng.integers(1, 4, (16, 2))
    model = hl.Sequential([hl.Input((6, 3)), hl.layers.Dense(4)])
    model.compile(optimizer=hl.optimizers.Adam(0.05), loss="ctc")
    hist = model.fit(x, labels, batch_size=8, epochs=5, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    assert hist.history["loss"][-1] < hist.history["loss"][0]


@pytest.mark.parametrize("loss", ["dice", "tversky", "circle", "binary_focal_crossentropy"])
def test_evaluate_with_a_padded_last_batch_equals_keras(loss, rng):
    """30 rows in batches of 8: the padding of the last batch adds nothing to Dice's sums
    or to Circle's pairs, and Circle's zero losses leave the mean, as in Keras."""
    x = rng.normal(size=(30, 4)).astype("float32")
    y = rng.integers(0, 3, 30) if loss == "circle" else rng.integers(0, 2, (30, 3)).astype("float32")
    w = rng.uniform(0, 2, 30).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
        weights = [rng.normal(size=v.shape).astype("float32") for v in kmodel.get_weights()]
        kmodel.set_weights(weights)
        kmodel.compile(loss=loss)
        want = [kmodel.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0) for sw in (None, w)]
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(3, activation="sigmoid")])
    model.set_weights(weights)
    model.compile(loss=loss)
    got = [model.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0) for sw in (None, w)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
