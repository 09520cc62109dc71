"""Keras masks end to end: made by Embedding(mask_zero)/Masking, carried through the functional graph
and Sequential, combined by merges, and used by the losses and metrics inside the compiled step.
Keras 3 (JAX backend) on the same weights is the reference."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import highlevel as hl  # noqa: E402
from highlevel.training.masked import masked_loss  # noqa: E402
from tests.compile_count import count_compilations  # noqa: E402

B, T, V, C = 6, 5, 7, 3


def K(fn, *args, **kwargs):
    """Calls Keras, which relies on implicit rank promotion (the tests raise on it)."""
    with jax.numpy_rank_promotion("allow"):
        return fn(*args, **kwargs)

LENGTHS = [5, 3, 1, 4, 2, 5]


def _ids(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, (B, T))
    for i, n in enumerate(LENGTHS):
        ids[i, n:] = 0
    return ids, rng.integers(0, C, (B, T))


def _functional(lib, time=T):
    L = lib.layers
    x = lib.Input((time,), dtype="int32")
    h = L.Embedding(V, 4, mask_zero=True)(x)
    h = L.Dense(8, activation="relu")(h)
    h = L.Dropout(0.0)(h)
    h = L.LayerNormalization()(h)
    return lib.Model(x, L.Dense(C, activation="softmax")(h))


def _sequential(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((T,), dtype="int32"), L.Embedding(V, 4, mask_zero=True),
                           L.Dense(8, activation="relu"), L.Activation("tanh"),
                           L.Dense(C, activation="softmax")])


def _pair(build):
    km, hm = K(build, keras), build(hl)
    hm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hm.compile(optimizer=hl.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return km, hm


def _masked_accuracy(probs, y, ids):
    mask = ids != 0
    return float(np.sum((probs.argmax(-1) == y) * mask) / mask.sum())


@pytest.mark.parametrize("build", [_functional, _sequential], ids=["functional", "sequential"])
def test_masked_loss_and_training_match_keras(build):
    ids, y = _ids()
    km, hm = _pair(build)
    k_loss, k_acc = K(km.evaluate, ids, y, batch_size=B, verbose=0)
    h_loss, h_acc = hm.evaluate(ids, y, batch_size=B, verbose=0)
    np.testing.assert_allclose(h_loss, k_loss, rtol=1e-5)
    np.testing.assert_allclose(h_acc, k_acc, rtol=1e-6)
    np.testing.assert_allclose(h_acc, _masked_accuracy(hm.predict(ids, verbose=0), y, ids), rtol=1e-6)
    # The loss counts only unmasked timesteps: sum over them / their number.
    probs = hm.predict(ids, verbose=0)
    nll = -np.log(np.take_along_axis(probs, y[..., None], -1)[..., 0])
    np.testing.assert_allclose(h_loss, nll[ids != 0].mean(), rtol=1e-5)
    k_hist = K(km.fit, ids, y, batch_size=3, epochs=2, shuffle=False, verbose=0).history
    h_hist = hm.fit(ids, y, batch_size=3, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_hist["loss"], k_hist["loss"], rtol=1e-5)
    for kw, hw in zip(km.get_weights(), hm.get_weights()):
        np.testing.assert_allclose(hw, kw, atol=1e-5)
    np.testing.assert_allclose(hm.predict(ids, verbose=0), K(km.predict, ids, verbose=0), atol=1e-5)


def test_fit_metrics_ignore_masked_timesteps():
    # Keras on JAX drops the mask for fit's metrics (y_pred leaves jax.value_and_grad without
    # its mask attribute) but applies it in evaluate; highlevel applies it in both.
    ids, y = _ids(1)
    hm = _functional(hl)
    hm.compile(optimizer=hl.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    logs = hm.train_on_batch(ids, y, return_dict=True)
    np.testing.assert_allclose(logs["accuracy"], _masked_accuracy(hm.predict(ids, verbose=0), y, ids), rtol=1e-6)


def test_masking_layer_matches_keras(rng):
    x = rng.standard_normal((4, 6, 3)).astype("float32")
    x[0, 4:] = 0.0
    x[2, 1] = 0.0
    y = rng.standard_normal((4, 6, 2)).astype("float32")

    def build(lib):
        inputs = lib.Input((6, 3))
        h = lib.layers.Masking(0.0)(inputs)
        return lib.Model(inputs, lib.layers.Dense(2)(lib.layers.Dense(5, activation="tanh")(h)))

    km, hm = K(build, keras), build(hl)
    hm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    hm.compile(optimizer=hl.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    np.testing.assert_allclose(hm.evaluate(x, y, verbose=0), K(km.evaluate, x, y, verbose=0), rtol=1e-5)
    K(km.fit, x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    hm.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    for kw, hw in zip(km.get_weights(), hm.get_weights()):
        np.testing.assert_allclose(hw, kw, atol=1e-5)
    mask = hl.layers.Masking(0.0).compute_mask(x)
    np.testing.assert_array_equal(mask, np.asarray(K(keras.layers.Masking(0.0).compute_mask, x)))


def test_padded_batches_give_each_sample_its_own_loss():
    # A model on sequences of any length: a sample padded with zeros (ids 0) gets the loss and
    # outputs it gets alone, unpadded; the rows that pad the last batch count for nothing.
    ids, y = _ids(2)
    hm = _functional(hl, time=None)
    hm.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for i, n in enumerate(LENGTHS):
        alone = hm.evaluate(ids[i:i + 1, :n], y[i:i + 1, :n], verbose=0)
        padded = hm.evaluate(ids[i:i + 1], y[i:i + 1], verbose=0)
        np.testing.assert_allclose(padded, alone, rtol=1e-5)
        np.testing.assert_allclose(hm.predict(ids[i:i + 1], verbose=0)[0, :n],
                                   hm.predict(ids[i:i + 1, :n], verbose=0)[0], atol=1e-6)
    whole = hm.evaluate(ids, y, batch_size=B, verbose=0)
    partial = hm.evaluate(ids, y, batch_size=4, verbose=0)   # 4 + 2 rows, the last batch padded
    # Keras's reduction is per batch (the sum over a batch's unmasked steps / their number),
    # and the logged loss averages batches weighted by their rows: recompute it that way.
    probs = hm.predict(ids, verbose=0)
    nll = -np.log(np.take_along_axis(probs, y[..., None], -1)[..., 0])
    per_batch = [nll[s][ids[s] != 0].mean() for s in (slice(0, 4), slice(4, 6))]
    np.testing.assert_allclose(partial[0], (4 * per_batch[0] + 2 * per_batch[1]) / 6, rtol=1e-5)
    np.testing.assert_allclose(partial[1], whole[1], rtol=1e-6)   # accuracy: the same entries count


def test_no_recompilation_after_first_epoch_with_masks():
    ids, y = _ids(3)
    ids = np.concatenate([ids, ids[:3]])
    y = np.concatenate([y, y[:3]])   # 9 rows: batches of 4, 4 and a padded 1
    hm = _functional(hl)
    hm.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hm.fit(ids, y, batch_size=4, epochs=1, validation_data=(ids, y), verbose=0)
    with count_compilations() as compiled:
        hm.fit(ids, y, batch_size=4, epochs=3, validation_data=(ids, y), verbose=0)
    assert compiled == [], compiled


def test_weights_per_timestep_combine_with_the_mask_and_the_padding_as_keras():
    """A sample_weight of shape (batch, timesteps) weights each timestep; Keras multiplies it by the
    output mask (the loss: sum(loss * weight * mask) / sum(mask) per batch). 7 rows in batches of 4:
    the last batch is padded, and its padding rows weigh nothing."""
    ids, y = _ids(6)
    ids, y = np.concatenate([ids, ids[:1]]), np.concatenate([y, y[:1]])
    w = np.random.default_rng(6).uniform(0.0, 2.0, ids.shape).astype("float32")
    km, hm = K(_functional, keras), _functional(hl)
    hm.set_weights(km.get_weights())
    for lib, m in ((keras, km), (hl, hm)):
        m.compile(optimizer=lib.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    theirs = K(km.evaluate, ids, y, sample_weight=w, batch_size=4, verbose=0, return_dict=True)
    ours = hm.evaluate(ids, y, sample_weight=w, batch_size=4, verbose=0, return_dict=True)
    assert list(ours) == list(theirs) == ["accuracy", "loss", "weighted_accuracy"]
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, err_msg=key)
    # By hand: per batch, sum(nll * w * mask) / sum(mask), batches averaged by their rows.
    probs, mask = hm.predict(ids, verbose=0), ids != 0
    nll = -np.log(np.take_along_axis(probs, y[..., None], -1)[..., 0])
    per_batch = [np.sum((nll * w * mask)[s]) / mask[s].sum() for s in (slice(0, 4), slice(4, 7))]
    np.testing.assert_allclose(ours["loss"], (4 * per_batch[0] + 3 * per_batch[1]) / 7, rtol=1e-5)
    correct = probs.argmax(-1) == y
    np.testing.assert_allclose(ours["weighted_accuracy"], np.sum(correct * w * mask) / np.sum(w * mask), rtol=1e-5)
    k_hist = K(km.fit, ids, y, sample_weight=w, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    hm.fit(ids, y, sample_weight=w, batch_size=4, epochs=1, shuffle=False, verbose=0)
    with count_compilations() as compiled:
        h_hist = hm.fit(ids, y, sample_weight=w, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    assert compiled == [], compiled
    np.testing.assert_allclose(h_hist["loss"], k_hist["loss"][1:], rtol=1e-5)
    for kw, hw in zip(km.get_weights(), hm.get_weights()):
        np.testing.assert_allclose(hw, kw, atol=1e-5)


def test_masks_travel_on_keras_tensors_and_stop_where_keras_stops_them():
    x = hl.Input((T,), dtype="int32")
    e = hl.layers.Embedding(V, 4, mask_zero=True)(x)
    d = hl.layers.Dense(2)(e)
    with pytest.warns(UserWarning, match="'flatten.*' \\(Flatten\\) got an input with a Keras mask but does not"):
        f = hl.layers.Flatten()(d)          # Flatten does not support masking: the mask ends
    assert x.keras_mask is None
    assert e.keras_mask is not None and e.keras_mask.shape == (None, T) and e.keras_mask.dtype == bool
    assert d.keras_mask is not None and f.keras_mask is None
    assert hl.layers.Embedding(V, 4)(x).keras_mask is None


def test_merge_masks_match_keras(rng):
    a = rng.standard_normal((2, 4, 3)).astype("float32")
    b = rng.standard_normal((2, 4, 3)).astype("float32")
    ma = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool)
    mb = np.array([[1, 0, 0, 1], [0, 0, 1, 1]], bool)
    for name, kwargs in [("Add", {}), ("Multiply", {}), ("Average", {}), ("Concatenate", {}),
                         ("Concatenate", {"axis": 1})]:
        for masks in ([ma, mb], [ma, None], [None, None]):
            ours = getattr(hl.layers, name)(**kwargs).compute_mask([a, b], masks)
            theirs = K(getattr(keras.layers, name)(**kwargs).compute_mask, [a, b], masks)
            if theirs is None:
                assert ours is None, (name, masks)
            else:
                np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs), err_msg=f"{name} {kwargs}")


def test_merged_masks_reach_the_loss_in_a_functional_model():
    # Two embeddings with different padding, added: a timestep counts when either is unmasked.
    def build(lib):
        a, b = lib.Input((T,), dtype="int32"), lib.Input((T,), dtype="int32")
        ea = lib.layers.Embedding(V, 3, mask_zero=True)(a)
        eb = lib.layers.Embedding(V, 3, mask_zero=True)(b)
        return lib.Model([a, b], lib.layers.Dense(C, activation="softmax")(lib.layers.Add()([ea, eb])))

    ids, y = _ids(4)
    other = np.where(np.arange(T) < 2, 1, 0) * np.ones((B, 1), int)
    km, hm = K(build, keras), build(hl)
    hm.set_weights(km.get_weights())
    for m in (km, hm):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    np.testing.assert_allclose(hm.evaluate([ids, other], y, verbose=0), K(km.evaluate, [ids, other], y, verbose=0),
                               rtol=1e-5)


def test_a_layer_with_a_mask_argument_gets_the_mask():
    seen = []

    class MaskedMean(hl.layers.Layer):
        def call(self, inputs, mask=None):
            seen.append(mask is not None)
            w = jnp.asarray(mask, inputs.dtype)[..., None]
            return jnp.sum(inputs * w, axis=1) / jnp.maximum(jnp.sum(w, axis=1), 1.0)

    x = hl.Input((T,), dtype="int32")
    out = MaskedMean()(hl.layers.Embedding(V, 2, mask_zero=True, embeddings_initializer="ones")(x))
    assert out.keras_mask is None   # MaskedMean does not support masking: nothing after it is masked
    model = hl.Model(x, out)
    ids, _ = _ids(5)
    np.testing.assert_allclose(model.predict(ids, verbose=0), np.ones((B, 2)), rtol=1e-6)
    assert all(seen)


def test_compute_mask_override_makes_a_mask_and_bad_loss_shapes_are_refused():
    class KeepFirst(hl.layers.Layer):
        def call(self, inputs):
            return inputs

        def compute_mask(self, inputs, mask=None):
            return jnp.arange(inputs.shape[1])[None, :] < 2 * jnp.ones((inputs.shape[0], 1), jnp.int32)

    assert KeepFirst.supports_masking
    x = hl.Input((4, 2))
    model = hl.Model(x, KeepFirst()(x))
    model.compile(optimizer="sgd", loss="mse")
    data = np.arange(16, dtype="float32").reshape(2, 4, 2)
    # Only the first two timesteps count: the loss against zeros is their mean square.
    np.testing.assert_allclose(model.evaluate(data, np.zeros_like(data), verbose=0),
                               np.mean(data[:, :2] ** 2), rtol=1e-6)
    with pytest.raises(ValueError, match="carries a mask of shape .* a masked output needs a loss"):
        masked_loss(jnp.ones((2,)), jnp.ones((2, 4), bool), jnp.ones(2), jnp.ones(2))
