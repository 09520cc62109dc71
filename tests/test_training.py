"""compile/fit/evaluate/predict: learning real problems, Keras's semantics, one compilation."""

import jax
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations


def _mlp(in_dim=4, out=1, hidden=16, activation="relu"):
    return hl.Sequential([hl.Input((in_dim,)), hl.layers.Dense(hidden, activation=activation),
                          hl.layers.Dense(out)])


def test_xor_is_learned():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(16, activation="tanh"),
                           hl.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=hl.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=4, epochs=200, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    np.testing.assert_array_equal(model.predict(x, verbose=0).round(), y)


def test_linear_regression_recovers_known_weights(rng):
    true_w = np.array([[2.0], [-3.0], [0.5]], np.float32)
    x = rng.standard_normal((256, 3)).astype(np.float32)
    y = x @ true_w + 1.5
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer=hl.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, batch_size=32, epochs=60, verbose=0)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, true_w, atol=1e-3)
    np.testing.assert_allclose(bias, [1.5], atol=1e-3)


def test_digits_cnn_reaches_97_percent():
    from recipes.digits_cnn import train
    _, history, accuracy = train(epochs=25, seed=0, verbose=0)
    assert accuracy >= 0.97, accuracy
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}


def test_no_recompilation_after_first_epoch(rng):
    x = rng.standard_normal((70, 6, 6, 1)).astype(np.float32)   # 70 = 2 full batches of 32 + 6
    y = rng.integers(0, 3, 70)
    model = hl.Sequential([hl.Input((6, 6, 1)), hl.layers.Conv2D(4, 3, activation="relu"),
                           hl.layers.BatchNormalization(), hl.layers.Flatten(), hl.layers.Dropout(0.2),
                           hl.layers.Dense(3)])
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=1, validation_data=(x[:40], y[:40]), verbose=0)
    model.evaluate(x, y, batch_size=32, verbose=0)
    model.predict(x, batch_size=32, verbose=0)
    with count_compilations() as compiled:
        model.fit(x, y, batch_size=32, epochs=3, validation_data=(x[:40], y[:40]), verbose=0)
        model.evaluate(x[:50], y[:50], batch_size=32, verbose=0)
        preds = model.predict(x[:45], batch_size=32, verbose=0)
        model.layers[3].rate = 0.5           # a dropout rate changed between fits
        model.optimizer.learning_rate = 1e-4  # and the learning rate
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert compiled == [], compiled
    assert preds.shape == (45, 3)


def test_no_device_to_host_transfer_per_step(rng, monkeypatch):
    """Host reads per epoch do not grow with the steps; no implicit transfer at all (the guard
    fires on GPU/TPU backends; XLA:CPU shares host memory and never trips it)."""
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = rng.standard_normal((256, 1)).astype(np.float32)
    model = _mlp()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    reads = []
    real_device_get = jax.device_get
    monkeypatch.setattr(jax, "device_get", lambda tree: reads.append(1) or real_device_get(tree))
    counts = []
    for batch_size in (128, 8):   # 2 steps per epoch, then 32
        reads.clear()
        with jax.transfer_guard_device_to_host("disallow"):
            model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0)
        counts.append(len(reads))
    assert counts[0] == counts[1] and counts[0] > 0, counts


def test_steps_per_execution_matches_single_steps(rng):
    """K fused steps (a plain lax.scan; the partial last group step by step) give the weights,
    losses and dropout masks of single steps, bit for bit on one machine."""
    x = rng.standard_normal((100, 5)).astype(np.float32)   # 13 batches of 8: 3 groups of 4 + 1
    y = rng.standard_normal((100, 2)).astype(np.float32)
    results = []
    for k in (1, 4, "auto"):
        hl.utils.set_random_seed(3)
        model = hl.Sequential([hl.Input((5,)), hl.layers.Dense(16, activation="relu"),
                               hl.layers.Dropout(0.3), hl.layers.Dense(2)])
        model.compile(optimizer=hl.optimizers.SGD(0.05, momentum=0.9), loss="mse", steps_per_execution=k)
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        results.append((model.get_weights(), history.history["loss"]))
    assert model.trainer.steps_per_execution == 13   # "auto": the whole epoch in one call
    for weights, losses in results[1:]:
        for a, b in zip(results[0][0], weights):
            np.testing.assert_array_equal(a, b)
        assert losses == results[0][1]


def test_fused_steps_compile_one_k_step_and_one_single_step_function(rng):
    x = rng.standard_normal((100, 5)).astype(np.float32)   # 13 batches of 8: 3 groups of 4 + 1
    y = rng.standard_normal((100, 2)).astype(np.float32)
    model = _mlp(5, 2)
    model.compile(optimizer="adam", loss="mse", steps_per_execution=4)
    with count_compilations() as compiled:
        model.fit(x, y, batch_size=8, epochs=2, validation_data=(x[:50], y[:50]), verbose=0)
    steps = sorted(name for name in compiled if "step" in name)
    assert steps == ["jit(eval_step)", "jit(multi_eval_step)", "jit(multi_train_step)", "jit(train_step)"], steps
    with count_compilations() as compiled:
        model.fit(x, y, batch_size=8, epochs=2, validation_data=(x[:50], y[:50]), verbose=0)
        model.fit(x[:98], y[:98], batch_size=8, epochs=1, verbose=0)   # data of the same size bucket (104 rows)
    assert compiled == [], compiled
    # A data set of another size bucket (training/resident.py) compiles the epoch's gather once
    # more; the steps read the gathered rows, whose shape depends on the bucket of the number of
    # batches (64 here as before), so they are reused. With batches copied from the host, nothing.
    with count_compilations() as compiled:
        model.fit(x[:24], y[:24], batch_size=8, epochs=1, verbose=0)   # 3 batches: a partial group only
    assert compiled == ["jit(epoch_rows)"], compiled
    model.trainer.device_data = False
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    with count_compilations() as compiled:
        model.fit(x[:40], y[:40], batch_size=8, epochs=1, verbose=0)
        model.fit(x[:24], y[:24], batch_size=8, epochs=1, verbose=0)
    assert compiled == [], compiled


def test_resident_data_is_on_the_device_at_most_twice_at_an_epoch_boundary(rng):
    # The data itself and one epoch's ordered copy (training/resident.py): the epoch before's
    # copy is dropped before the next one is gathered (3 copies would be 6 GiB on a GPU at the
    # resident limit). Counted as live device arrays of the data's padded shape.
    x = rng.standard_normal((100, 7)).astype(np.float32)
    y = rng.standard_normal((100, 2)).astype(np.float32)
    copies = []

    class Count(hl.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            copies.append(sum(a.shape[1:] == (7,) and a.shape[0] >= 100 for a in jax.live_arrays()))

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                copies.append(sum(a.shape[1:] == (7,) and a.shape[0] >= 100 for a in jax.live_arrays()))

    model = _mlp(7, 2)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=10, epochs=3, verbose=0, callbacks=[Count()])
    assert copies == [1, 2, 1, 2, 1, 2], copies   # 0s would mean batches came from the host


def test_batches_come_as_stacked_groups_and_a_partial_last_group(rng):
    from highlevel.training.data import ArrayAdapter, IterableAdapter, Stacked
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10, dtype=np.float32)
    items = list(ArrayAdapter(x, y, batch_size=3, steps_per_execution=2).batches(0))  # 4 batches: 1 group + 2
    assert isinstance(items[0], Stacked) and isinstance(items[1], list) and len(items) == 2
    group = items[0].batch
    assert group.x.shape == (2, 3, 3) and group.mask.shape == (2, 3)
    np.testing.assert_array_equal(group.y, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal([b.mask.tolist() for b in items[1]], [[1, 1, 1], [1, 0, 0]])
    assert not group.mask.flags.writeable   # full masks are one shared constant
    resumed = list(ArrayAdapter(x, y, batch_size=3, steps_per_execution=2).batches(0, start=1))
    assert len(resumed) == 1 and isinstance(resumed[0], list)
    batches = [(x[i:i + 4], y[i:i + 4]) for i in range(0, 10, 4)]   # 3 batches, the last of 2 rows
    items = list(IterableAdapter(batches, steps_per_execution=2).batches(0))
    assert isinstance(items[0], Stacked) and items[0].batch.x.shape == (2, 4, 3)
    assert isinstance(items[1], list) and items[1][0].mask.tolist() == [1, 1, 0, 0]


def test_reading_the_state_between_steps_changes_nothing(rng):
    """The loop passes the state's leaves from step to step; a callback reading ``trainer.state``
    gets the current state and the run continues exactly as without it."""
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)

    class ReadState(hl.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps = []

        def on_train_batch_end(self, batch, logs=None):
            self.steps.append(int(jax.device_get(self.model.trainer.state.step)))

    runs = []
    for callbacks in ([], [ReadState()]):
        hl.utils.set_random_seed(1)
        model = _mlp()
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=callbacks)
        runs.append(model.get_weights())
    assert callbacks[0].steps == list(range(1, 9))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_steps_per_execution_accepts_auto_and_rejects_other_strings():
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse", steps_per_execution="auto")
    assert model.trainer.steps_per_execution == 1   # resolved at the first fit
    with pytest.raises(ValueError, match="positive integer or 'auto', got 'fast'"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution="fast")


def test_partial_last_batch_is_masked_in_loss_and_metrics(rng):
    x = rng.standard_normal((37, 3)).astype(np.float32)
    y = rng.standard_normal((37, 1)).astype(np.float32)
    model = _mlp(3)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    loss, mae = model.evaluate(x, y, batch_size=16, verbose=0)
    pred = model.predict(x, batch_size=16, verbose=0)
    assert pred.shape == (37, 1)
    np.testing.assert_allclose(loss, np.mean((pred - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(pred - y)), rtol=1e-5)


def test_sample_and_class_weights_follow_keras(rng):
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1], np.int32)
    sw = np.array([1, 2, 0, 1, 3, 1, 0.5, 1], np.float32)
    model = _mlp(3, 2)
    model.compile(optimizer="sgd", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    logits = model.predict(x, verbose=0)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per_sample = -logp[np.arange(8), y]
    # Keras: sum(w * loss) / number of samples.
    expected = np.sum(sw * per_sample) / 8
    np.testing.assert_allclose(model.test_on_batch(x, y, sample_weight=sw), expected, rtol=1e-5)
    cw = {0: 1.0, 1: 3.0}
    expected_cw = np.sum(np.where(y == 1, 3.0, 1.0) * per_sample) / 8
    before = model.get_weights()
    loss = model.train_on_batch(x, y, class_weight=cw)
    np.testing.assert_allclose(loss, expected_cw, rtol=1e-5)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def _keras(fn, *args, **kwargs):
    import keras   # the oracle (KERAS_BACKEND=jax, set by conftest); it relies on implicit rank promotion
    with jax.numpy_rank_promotion("allow"):
        return fn(keras, *args, **kwargs)


def _assert_same_training(ours, theirs, k_model, h_model):
    assert sorted(set(ours) - {"learning_rate"}) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for kw, hw in zip(k_model.get_weights(), h_model.get_weights()):
        np.testing.assert_allclose(hw, kw, atol=1e-6)


def test_weights_per_timestep_follow_keras(rng):
    """sample_weight (samples, timesteps) for an output (samples, timesteps, features): Keras's
    sum(loss * weight) / (entries), in fit (10 rows in batches of 4: the last padded), validation and
    the weighted metrics."""
    x = rng.standard_normal((10, 5, 3)).astype(np.float32)
    y = rng.standard_normal((10, 5, 2)).astype(np.float32)
    w = rng.uniform(0, 2, (10, 5)).astype(np.float32)

    def build(lib):
        model = lib.Sequential([lib.Input((5, 3)), lib.layers.Dense(2)])
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse", weighted_metrics=["mae"])
        return model

    k_model, h_model = _keras(build), build(hl)
    h_model.set_weights(k_model.get_weights())
    pred = h_model.predict(x, verbose=0)
    expected = np.sum(np.mean((pred - y) ** 2, -1) * w) / w.size
    mae = np.sum(np.mean(np.abs(pred - y), -1) * w) / w.sum()
    np.testing.assert_allclose(h_model.test_on_batch(x, y, sample_weight=w), [expected, mae], rtol=1e-5)
    np.testing.assert_allclose(h_model.evaluate(x, y, sample_weight=w, batch_size=4, verbose=0)[1], mae, rtol=1e-5)
    fit = dict(sample_weight=w, batch_size=4, epochs=3, shuffle=False, verbose=0, validation_data=(x, y, w))
    theirs = _keras(lambda keras: k_model.fit(x, y, **fit).history)
    _assert_same_training(h_model.fit(x, y, **fit).history, theirs, k_model, h_model)


@pytest.mark.parametrize("form", ["list", "dict"])
def test_sample_weights_per_output_follow_keras(rng, form):
    """One weight array per output (a list in output order, or a dict by output name), each applied to
    its output's loss and weighted metrics: fit with validation data, train_on_batch and evaluate."""
    n = 14
    x = rng.standard_normal((n, 4)).astype(np.float32)
    ya, yb = rng.standard_normal((n, 2)).astype(np.float32), rng.integers(0, 3, n)
    wa, wb = rng.uniform(0, 2, n).astype(np.float32), rng.uniform(0, 2, n).astype(np.float32)
    per_output = (lambda a, b: [a, b]) if form == "list" else (lambda a, b: {"a": a, "b": b})
    y, w = per_output(ya, yb), per_output(wa, wb)

    def build(lib):
        inputs = lib.Input((4,))
        a, b = lib.layers.Dense(2, name="a")(inputs), lib.layers.Dense(3, name="b")(inputs)
        model = lib.Model(inputs, per_output(a, b))
        model.compile(optimizer=lib.optimizers.SGD(0.1),
                      loss=per_output("mse", lib.losses.SparseCategoricalCrossentropy(from_logits=True)),
                      loss_weights=per_output(0.5, 2.0), metrics=per_output(["mae"], ["accuracy"]),
                      weighted_metrics=per_output(["mae"], ["accuracy"]))
        return model

    k_model, h_model = _keras(build), build(hl)
    h_model.set_weights(k_model.get_weights())
    fit = dict(sample_weight=w, batch_size=4, epochs=3, shuffle=False, verbose=0, validation_data=(x, y, w))
    theirs = _keras(lambda keras: k_model.fit(x, y, **fit).history)
    _assert_same_training(h_model.fit(x, y, **fit).history, theirs, k_model, h_model)
    np.testing.assert_allclose(h_model.train_on_batch(x, y, sample_weight=w),
                               _keras(lambda keras: k_model.train_on_batch(x, y, sample_weight=w)), rtol=1e-5)
    # One array of per-sample weights weighs every output (Keras repeats it).
    np.testing.assert_allclose(h_model.evaluate(x, y, sample_weight=wa, verbose=0),
                               _keras(lambda keras: k_model.evaluate(x, y, sample_weight=wa, verbose=0)), rtol=1e-5)
    with count_compilations() as compiled:
        h_model.fit(x, y, **fit)
    assert compiled == [], compiled


def test_class_weight_follows_keras_and_is_refused_for_several_outputs(rng):
    x = rng.standard_normal((11, 4)).astype(np.float32)
    y = rng.integers(0, 3, 11)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}

    def build(lib):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3)])
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                      weighted_metrics=["accuracy"])
        return model

    k_model, h_model = _keras(build), build(hl)
    h_model.set_weights(k_model.get_weights())
    fit = dict(class_weight=class_weight, batch_size=4, epochs=3, shuffle=False, verbose=0)
    theirs = _keras(lambda keras: k_model.fit(x, y, **fit).history)
    _assert_same_training(h_model.fit(x, y, **fit).history, theirs, k_model, h_model)
    inputs = hl.Input((4,))
    two = hl.Model(inputs, [hl.layers.Dense(3)(inputs), hl.layers.Dense(1)(inputs)])
    two.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"])
    with pytest.raises(ValueError, match="class_weight is supported only for models with a single output; with "
                                         "several outputs, weight each output's samples with sample_weight"):
        two.fit(x, [y, x[:, :1]], class_weight=class_weight, verbose=0)


def test_sample_weights_unlike_the_outputs_are_refused_with_one_sentence(rng):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    inputs = hl.Input((4,))
    model = hl.Model(inputs, {"a": hl.layers.Dense(2)(inputs), "b": hl.layers.Dense(1)(inputs)})
    model.compile(optimizer="sgd", loss="mse")
    y, w = {"a": x[:, :2], "b": x[:, :1]}, np.ones(6, np.float32)
    with pytest.raises(ValueError, match=r"sample_weight holds 3 arrays but the model has 2 outputs \(a, b\): pass "
                                         "one array per output"):
        model.fit(x, y, sample_weight=[w, w, w], verbose=0)
    with pytest.raises(ValueError, match="sample_weight has the key 'c', which is not an output of the model "
                                         r"\(its outputs: a, b\): key the weights by output name"):
        model.evaluate(x, y, sample_weight={"a": w, "c": w}, verbose=0)
    with pytest.raises(ValueError, match=r"validation sample_weight has shape \(6, 2\), but one array for a model "
                                         "with 2 outputs"):
        model.fit(x, y, validation_data=(x, y, np.ones((6, 2))), verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight of output 'a' has shape \(6, 3\) \(batch first\), but its "
                                         r"loss gives values of shape \(6,\)"):
        model.evaluate(x, y, sample_weight={"a": np.ones((6, 3))}, batch_size=6, verbose=0)
    # An output left out of the dict is weighted 1.
    half = model.evaluate(x, y, sample_weight={"a": np.full(6, 0.5)}, verbose=0, return_dict=True)
    whole = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose([half["a_loss"], half["b_loss"]], [0.5 * whole["a_loss"], whole["b_loss"]], rtol=1e-6)


def test_validation_split_takes_the_last_samples(rng):
    x = rng.standard_normal((100, 3)).astype(np.float32)
    y = rng.standard_normal((100, 1)).astype(np.float32)
    model = _mlp(3)
    model.compile(optimizer=hl.optimizers.SGD(0.0), loss="mse")
    history = model.fit(x, y, batch_size=10, epochs=1, validation_split=0.2, verbose=0)
    val_loss = model.evaluate(x[80:], y[80:], batch_size=10, verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], val_loss, rtol=1e-6)


def test_fit_on_an_iterable_of_batches_and_initial_epoch(rng):
    x = rng.standard_normal((50, 3)).astype(np.float32)
    y = (x.sum(1, keepdims=True) > 0).astype(np.float32)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 50, 16)]   # last batch has 2 rows
    model = _mlp(3, 1, activation="tanh")
    model.compile(optimizer=hl.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(batches, epochs=5, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3, 4]
    assert len(history.history["loss"]) == 3
    assert model.predict(batches, verbose=0).shape == (50, 1)
    assert np.isfinite(model.evaluate(batches, verbose=0)[0])


def test_functional_multi_input_multi_output(rng):
    a, b = hl.Input((4,), name="a"), hl.Input((3,), name="b")
    h = hl.layers.Concatenate()([hl.layers.Dense(8, activation="relu")(a), b])
    out1 = hl.layers.Dense(1, name="reg")(h)
    out2 = hl.layers.Dense(3, name="cls")(h)
    model = hl.Model([a, b], {"reg": out1, "cls": out2})
    model.compile(optimizer="adam", loss={"reg": "mse", "cls": hl.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  loss_weights={"reg": 0.5, "cls": 1.0}, metrics={"cls": ["accuracy"]})
    xa = rng.standard_normal((40, 4)).astype(np.float32)
    xb = rng.standard_normal((40, 3)).astype(np.float32)
    y = {"reg": rng.standard_normal((40, 1)).astype(np.float32), "cls": rng.integers(0, 3, 40)}
    history = model.fit([xa, xb], y, batch_size=16, epochs=2, verbose=0)
    assert {"loss", "reg_loss", "cls_loss", "cls_accuracy"} <= set(history.history)
    logs = model.evaluate({"a": xa, "b": xb}, y, batch_size=16, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], 0.5 * logs["reg_loss"] + logs["cls_loss"], rtol=1e-5)
    pred = model.predict([xa, xb], verbose=0)
    assert pred["reg"].shape == (40, 1) and pred["cls"].shape == (40, 3)


def test_regularizers_add_to_the_loss(rng):
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, kernel_regularizer=hl.regularizers.L2(0.1),
                                                           bias_regularizer=hl.regularizers.L1(0.2),
                                                           bias_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    kernel, bias = model.get_weights()
    pred = x @ kernel + bias
    expected = np.mean((pred - y) ** 2) + 0.1 * np.sum(kernel ** 2) + 0.2 * np.sum(np.abs(bias))
    np.testing.assert_allclose(model.test_on_batch(x, y), expected, rtol=1e-5)


def test_learning_rate_is_read_and_set_without_recompiling(rng):
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)
    model = _mlp()
    model.compile(optimizer=hl.optimizers.SGD(0.01), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    model.optimizer.learning_rate = 0.0
    before = model.get_weights()
    with count_compilations() as compiled:
        history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert compiled == []
    assert history.history["learning_rate"] == [0.0]
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_frozen_layers_get_no_update_and_no_optimizer_state(rng):
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)
    model = _mlp()
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="mse")
    frozen_before = model.layers[0].get_weights()
    head_before = model.layers[1].get_weights()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for a, b in zip(frozen_before, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(head_before[0], model.layers[1].get_weights()[0])
    state = model.trainer.state
    opt_sizes = sum(leaf.size for leaf in jax.tree_util.tree_leaves(state.opt_state))
    head_params = model.layers[1].count_params()
    assert opt_sizes <= 2 * head_params + 8   # Adam's two moments for the head only, plus counters
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


def test_same_seed_same_weights_bit_for_bit(rng):
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    runs = []
    for _ in range(2):
        hl.utils.set_random_seed(42)
        model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(16, activation="relu"),
                               hl.layers.Dropout(0.3), hl.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_progress_output_verbose_1_and_2(rng, capsys):
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)
    model = _mlp()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out
    model.fit(x, y, batch_size=8, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "4/4" in out


# -- steps_per_epoch / steps / validation_steps / validation_freq, against Keras ---------------

def _steps_pair(lib):
    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="tanh"), lib.layers.Dense(2)])
    model.compile(optimizer=lib.optimizers.SGD(0.1),
                  loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _steps_models():
    k = _keras(_steps_pair)
    h = _steps_pair(hl)
    h.set_weights(k.get_weights())
    return k, h


def _steps_data():
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int32)


def test_steps_per_epoch_on_arrays_follows_keras():
    """50 rows in batches of 8 (7 batches), 3 steps an epoch: Keras reads on across epochs
    (batches 0-2, 3-5, then a short epoch of batch 6, then a new pass), one compilation."""
    x, y = _steps_data()
    k, h = _steps_models()
    kw = dict(batch_size=8, epochs=5, steps_per_epoch=3, shuffle=False, verbose=0,
              validation_data=(x[:30], y[:30]), validation_steps=2)
    theirs = _keras(lambda _: k.fit(x, y, **kw))
    with count_compilations() as compiled:
        ours = h.fit(x, y, **kw)
    assert ours.params["steps"] == theirs.params["steps"] == 3
    _assert_same_training(ours.history, theirs.history, k, h)
    steps = [name for name in compiled if "step" in name]
    assert len(steps) == len(set(steps)), compiled


def test_steps_on_arrays_in_evaluate_and_predict_follow_keras():
    x, y = _steps_data()
    k, h = _steps_models()
    theirs = _keras(lambda _: k.predict(x, batch_size=8, steps=2, verbose=0))
    ours = h.predict(x, batch_size=8, steps=2, verbose=0)
    assert ours.shape == theirs.shape == (16, 2)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    theirs = _keras(lambda _: k.evaluate(x, y, batch_size=8, steps=2, verbose=0))
    np.testing.assert_allclose(h.evaluate(x, y, batch_size=8, steps=2, verbose=0), theirs, rtol=1e-5)


def test_steps_per_epoch_with_shuffle_reads_each_row_once_a_pass():
    """Shuffled, with steps: epochs 0-2 read one pass (rows each once), epoch 3 starts the next."""
    x, y = _steps_data()
    from highlevel.training.data import ArrayAdapter
    seen = []
    adapter = ArrayAdapter(x, y, batch_size=8, shuffle=True, steps=3)
    for epoch in range(3):
        for batch in adapter.batches(epoch):
            seen.extend(batch.x[batch.mask > 0][:, 0].tolist())
    assert sorted(seen) == sorted(x[:, 0].tolist())
    assert [len(list(adapter.batches(e))) for e in range(4)] == [3, 3, 1, 3]


def test_endless_generator_with_steps_follows_keras():
    x, y = _steps_data()
    x, y = x[:40], y[:40]

    def forever():
        while True:
            for s in range(0, 40, 10):
                yield x[s:s + 10], y[s:s + 10]

    k, h = _steps_models()
    kw = dict(epochs=3, steps_per_epoch=3, verbose=0)
    theirs = _keras(lambda _: k.fit(forever(), **kw))
    ours = h.fit(forever(), **kw)
    assert ours.epoch == [0, 1, 2]
    _assert_same_training(ours.history, theirs.history, k, h)
    # A generator as validation data with validation_steps reads on too (Keras re-reads its
    # peeked batches instead, so only the count is compared).
    val = h.fit(x, y, epochs=3, verbose=0, validation_data=forever(), validation_steps=2)
    assert len(val.history["val_loss"]) == 3


def test_short_generator_with_steps_says_it_ran_out():
    x, y = _steps_data()
    model = _steps_pair(hl)
    gen = ((x[s:s + 10], y[s:s + 10]) for s in range(0, 40, 10))
    with pytest.raises(ValueError, match="fewer than steps_per_epoch"):
        model.fit(gen, epochs=3, steps_per_epoch=3, verbose=0)


def test_validation_freq_list_follows_keras():
    x, y = _steps_data()
    k, h = _steps_models()
    kw = dict(batch_size=16, epochs=4, shuffle=False, verbose=0, validation_data=(x, y), validation_freq=[1, 3])
    theirs = _keras(lambda _: k.fit(x, y, **kw))
    ours = h.fit(x, y, **kw)
    assert len(ours.history["val_loss"]) == len(theirs.history["val_loss"]) == 2
    _assert_same_training(ours.history, theirs.history, k, h)
    with pytest.raises(TypeError, match="validation_freq must be an int or a list"):
        h.fit(x, y, epochs=1, verbose=0, validation_data=(x, y), validation_freq=1.5)


def test_validation_data_as_a_list_follows_keras():
    x, y = _steps_data()
    k, h = _steps_models()
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0, validation_data=[x[:10], y[:10]])
    theirs = _keras(lambda _: k.fit(x, y, **kw))
    ours = h.fit(x, y, **kw)
    _assert_same_training(ours.history, theirs.history, k, h)


def test_pydataset_with_steps_per_epoch_follows_keras():
    """7 batches, 3 steps an epoch, 3 epochs: Keras reads batches 0-2, 3-5, 6 and nothing else."""
    x, y = _steps_data()
    x, y = np.concatenate([x, x[:6]]), np.concatenate([y, y[:6]])   # 56 rows: 7 batches of 8

    def dataset(base, seen):
        class DS(base):
            def __len__(self):
                return 7

            def __getitem__(self, i):
                seen.append(i)
                return x[8 * i:8 * i + 8], y[8 * i:8 * i + 8]
        return DS()

    k, h = _steps_models()
    k_seen, h_seen = [], []
    theirs = _keras(lambda keras: k.fit(dataset(keras.utils.PyDataset, k_seen), epochs=3, steps_per_epoch=3, shuffle=False,
                                        verbose=0))
    ours = h.fit(dataset(hl.utils.PyDataset, h_seen), epochs=3, steps_per_epoch=3, shuffle=False, verbose=0)
    assert h_seen[-7:] == list(range(7)) and sorted(set(h_seen)) == sorted(set(k_seen))
    assert len(h_seen) <= 8   # the peek, then only the batches trained on
    _assert_same_training(ours.history, theirs.history, k, h)
    # A list of the same batches reads in the same order.
    h2 = _steps_pair(hl)
    h2.set_weights(h.get_weights())
    h3 = _steps_pair(hl)
    h3.set_weights(h.get_weights())
    h2.fit([(x[8 * i:8 * i + 8], y[8 * i:8 * i + 8]) for i in range(7)], epochs=3, steps_per_epoch=3, verbose=0)
    h3.fit(dataset(hl.utils.PyDataset, []), epochs=3, steps_per_epoch=3, shuffle=False, verbose=0)
    for a, b in zip(h2.get_weights(), h3.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def _index_dataset(base, seen, n=6):
    class Indexed(base):
        def __len__(self):
            return n

        def __getitem__(self, i):
            seen.append(i)
            return np.full((2, 3), i, "float32"), np.zeros((2, 1), "float32")
    return Indexed()


def _epochs_read(seen, n, peeked):
    return [seen[peeked + e * n: peeked + (e + 1) * n] for e in range((len(seen) - peeked) // n)]


def test_fit_shuffles_a_pydatasets_batch_order_per_epoch_as_keras():
    """Keras's PyDatasetAdapter reads a finite PyDataset's batches in a new random order each pass
    under fit(shuffle=True) (its default), and in index order with shuffle=False or in evaluate."""
    read = {}
    for lib in ("keras", "hl"):
        for shuffle in (True, False):
            seen = []
            if lib == "keras":
                def run(keras, shuffle=shuffle, seen=seen):
                    keras.utils.set_random_seed(3)
                    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
                    model.compile(optimizer="sgd", loss="mse")
                    model.fit(_index_dataset(keras.utils.PyDataset, seen), epochs=3, shuffle=shuffle, verbose=0)
                _keras(run)
            else:
                hl.utils.set_random_seed(3)
                model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
                model.compile(optimizer="sgd", loss="mse")
                model.fit(_index_dataset(hl.utils.PyDataset, seen), epochs=3, shuffle=shuffle, verbose=0)
            read[lib, shuffle] = _epochs_read(seen, 6, len(seen) - 18)   # after the batches read to build
    for lib in ("keras", "hl"):
        assert read[lib, False] == [list(range(6))] * 3, lib
        epochs = read[lib, True]
        assert all(sorted(e) == list(range(6)) for e in epochs), lib
        assert any(e != list(range(6)) for e in epochs) and epochs[0] != epochs[1], lib
    # Seeded as array shuffling: the same seed reads the same orders again.
    again = []
    hl.utils.set_random_seed(3)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(_index_dataset(hl.utils.PyDataset, again), epochs=3, verbose=0)
    assert _epochs_read(again, 6, len(again) - 18) == read["hl", True]
    seen = []
    model.evaluate(_index_dataset(hl.utils.PyDataset, seen), verbose=0)
    assert seen[-6:] == list(range(6))


def test_a_shuffled_pydataset_resumes_in_the_same_order_and_a_pass_spans_epochs():
    from highlevel.training.data import IterableAdapter
    dataset = _index_dataset(hl.utils.PyDataset, [])
    adapter = IterableAdapter(dataset, shuffle=True, seed=11)
    first = lambda batches: [int(b.x[0, 0]) for group in batches for b in (group if isinstance(group, list) else [group])]
    whole = first(adapter.batches(epoch=2))
    assert sorted(whole) == list(range(6)) and first(adapter.batches(epoch=2, start=4)) == whole[4:]
    assert first(IterableAdapter(dataset, shuffle=True, seed=11).batches(epoch=2)) == whole
    # With steps_per_epoch, an epoch reads on in its pass's order, and the next pass has a new one (Keras).
    stepped = IterableAdapter(dataset, shuffle=True, seed=11, steps=4)
    epochs = [first(stepped.batches(epoch=e)) for e in range(4)]
    assert [len(e) for e in epochs] == [4, 2, 4, 2]
    assert sorted(epochs[0] + epochs[1]) == sorted(epochs[2] + epochs[3]) == list(range(6))
    assert epochs[0] + epochs[1] != epochs[2] + epochs[3]


def test_a_generator_as_validation_data_is_read_on_across_epochs():
    """Keras 3.15 replays the two batches it peeked from the generator at the start of each
    validation, then reads on (its peek_and_restore); highlevel reads on (documented difference)."""
    x, y = np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32")

    def generator(seen, count=None):
        i = 0
        while count is None or i < count:
            seen.append(i)
            yield np.full((2, 3), float(i), "float32"), np.full((2, 1), float(i), "float32")
            i += 1

    def run(lib, seen, **kwargs):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1, kernel_initializer="zeros")])
        model.compile(optimizer=lib.optimizers.SGD(0.0), loss="mse")
        return model.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_data=generator(seen), **kwargs)

    k_seen, h_seen = [], []
    theirs = _keras(lambda keras: run(keras, k_seen, validation_steps=3)).history["val_loss"]
    ours = run(hl, h_seen, validation_steps=3).history["val_loss"]
    assert k_seen == [0, 1, 2, 3, 4] and h_seen == list(range(9))
    np.testing.assert_allclose(theirs, [5 / 3, 10 / 3, 17 / 3], rtol=1e-5)   # batches 0, 1 then 2; 3; 4
    np.testing.assert_allclose(ours, [5 / 3, 50 / 3, 149 / 3], rtol=1e-5)    # batches 0-2, 3-5, 6-8
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="a generator can be read only once.*or give validation_steps"):
        model.fit(x, y, epochs=2, verbose=0, validation_data=generator([], count=3))
