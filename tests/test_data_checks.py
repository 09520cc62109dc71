"""Wrong data is refused at the boundary with one sentence naming the array, the first bad index and the fix."""

import numpy as np
import pytest

import highlevel as hl
from highlevel.training import checks

RNG = np.random.default_rng(0)
X = RNG.standard_normal((20, 4)).astype(np.float32)
LABELS = RNG.integers(0, 3, 20).astype(np.int32)


def _classifier(loss="sparse_categorical_crossentropy", units=3):
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(units, name="out")])
    model.compile(optimizer="sgd", loss=loss)
    return model


def _with(array, index, value):
    out = np.array(array, copy=True)
    out[index] = value
    return out


@pytest.mark.parametrize("x, y, loss, units, match", [
    (X, _with(LABELS, 7, 3), "sparse_categorical_crossentropy", 3,
     r"^y\[7\] is 3, outside \[0, 3\) for the 3 classes of output 'out' .*class indices 0 to 2"),
    (X, _with(LABELS, 2, -1), "sparse_categorical_crossentropy", 3, r"^y\[2\] is -1, outside \[0, 3\)"),
    (X, _with(LABELS.astype(np.float32), 5, 1.5), "sparse_categorical_crossentropy", 3,
     r"^y\[5\] is 1.5, but sparse_categorical_crossentropy needs integer class labels"),
    (_with(X, (4, 2), np.nan), LABELS, "sparse_categorical_crossentropy", 3,
     r"^x\[4, 2\] is nan: inputs must be finite numbers.*np\.isfinite\(x\)"),
    (_with(X, (9, 0), np.inf), LABELS, "sparse_categorical_crossentropy", 3, r"^x\[9, 0\] is inf"),
    (X, _with(X[:, :1], (3, 0), np.nan), "mse", 1, r"^y\[3, 0\] is nan: targets must be finite"),
    (X, X[:, :3], "mse", 1, r"^y has shape \(20, 3\) but output 'out' gives \(None, 1\): mse would broadcast"),
    (X, X[:, 0], "mse", 3, r"^y has shape \(20,\) but output 'out' gives \(None, 3\)"),
    (X, np.eye(3, dtype=np.float32)[LABELS], "sparse_categorical_crossentropy", 3,
     r"takes integer class labels of shape \(None,\); for one-hot targets use categorical_crossentropy"),
    (X, _with(LABELS, 0, 2).astype(np.float32)[:, None], "binary_crossentropy", 1,
     r"^y\[0, 0\] is 2, but binary_crossentropy needs targets in \[0, 1\]"),
    (X[:0], LABELS[:0], "sparse_categorical_crossentropy", 3, r"^x is empty \(0 samples\)"),
])
def test_wrong_data_is_refused_by_fit_and_evaluate(x, y, loss, units, match):
    model = _classifier(loss, units)
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, epochs=1, verbose=0)
    if len(x):
        with pytest.raises(ValueError, match=match):
            model.evaluate(x, y, verbose=0)


def test_what_is_right_still_trains():
    _classifier().fit(X, LABELS.astype(np.float32), epochs=1, verbose=0)        # integer-valued floats
    _classifier().fit(X, LABELS[:, None], epochs=1, verbose=0)                    # labels of shape (n, 1)
    _classifier("mse", 1).fit(X, X[:, 0], epochs=1, verbose=0)                    # (n,) for (None, 1)
    _classifier("binary_crossentropy", 1).fit(X, RNG.random((20, 1)).astype(np.float32), epochs=1, verbose=0)
    _classifier("categorical_crossentropy").fit(X, np.eye(3, dtype=np.float32)[LABELS], epochs=1, verbose=0)


def test_bad_epochs_and_class_weights_are_refused():
    model = _classifier()
    with pytest.raises(ValueError, match=r"^epochs is -2: .*an integer >= 0"):
        model.fit(X, LABELS, epochs=-2, verbose=0)
    with pytest.raises(ValueError, match=r"^class_weight\[1\] is -2.0: class weights must be finite numbers >= 0"):
        model.fit(X, LABELS, epochs=1, verbose=0, class_weight={0: 1.0, 1: -2.0})
    with pytest.raises(ValueError, match=r"^class_weight has the key 0.5"):
        model.fit(X, LABELS, epochs=1, verbose=0, class_weight={0.5: 1.0})
    with pytest.raises(ValueError, match=r"^sample_weight\[3\] is -1.0: sample weights must be >= 0"):
        model.fit(X, LABELS, epochs=1, verbose=0, sample_weight=_with(np.ones(20, np.float32), 3, -1))


def test_a_dict_input_must_match_the_input_names():
    a, b = hl.Input((3,), name="a"), hl.Input((2,), name="b")
    out = hl.layers.Dense(1)(hl.layers.Concatenate()([a, b]))
    for inputs in ({"first": a, "second": b}, [a, b]):
        model = hl.Model(inputs, out)
        model.compile("sgd", "mse")
        names = list(inputs) if isinstance(inputs, dict) else ["a", "b"]
        x = {names[0]: np.ones((4, 3), np.float32), names[1]: np.ones((4, 2), np.float32),
             "extra": np.ones((4, 9), np.float32)}
        with pytest.raises(ValueError, match=r"^x has the key 'extra', which is not an input of the model .*"
                                             "would be ignored"):
            model.fit(x, np.ones((4, 1), np.float32), epochs=1, verbose=0)
        del x["extra"]
        model.fit(x, np.ones((4, 1), np.float32), epochs=1, verbose=0)


def test_validation_data_is_checked_and_named():
    model = _classifier()
    with pytest.raises(ValueError, match=r"^validation y\[1\] is 5, outside \[0, 3\)"):
        model.fit(X, LABELS, epochs=1, verbose=0, validation_data=(X[:4], _with(LABELS[:4], 1, 5)))
    # validation_split: the row is counted in the arrays given to fit, wherever it falls.
    with pytest.raises(ValueError, match=r"^x\[18, 1\] is nan"):
        model.fit(_with(X, (18, 1), np.nan), LABELS, epochs=1, verbose=0, validation_split=0.25)


def test_an_iterable_is_checked_on_its_first_batch():
    model = _classifier()
    batches = [(X[:10], _with(LABELS[:10], 4, 7)), (X[10:], LABELS[10:])]
    with pytest.raises(ValueError, match=r"^y\[4\] is 7, outside \[0, 3\)"):
        model.fit(batches, epochs=1, verbose=0)


def test_checks_are_one_cheap_pass():
    import time
    big = np.zeros((2_000_000, 16), np.float32)   # 128 MB
    start = time.perf_counter()
    checks.check_arrays(big, np.zeros(2_000_000, np.int32))
    assert time.perf_counter() - start < 2.0
    assert checks.first_nonfinite(_with(big, (1_999_999, 15), np.nan))[0] == (1_999_999, 15)
