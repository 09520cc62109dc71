"""Every bad input gets one clear sentence naming the thing and the fix."""

import numpy as np
import pytest

import highlevel as hl


def _model(in_dim=4):
    return hl.Sequential([hl.Input((in_dim,)), hl.layers.Dense(3, name="hidden"), hl.layers.Dense(1)])


def test_input_shape_mismatch_names_the_layer_and_both_shapes():
    model = _model()
    with pytest.raises(ValueError, match=r"Input of shape \(2, 5\) does not match model .*input layer "
                                         r"'hidden' expects \(None, 4\)"):
        model.predict(np.ones((2, 5), np.float32), verbose=0)
    functional_in = hl.Input((4,), name="features")
    functional = hl.Model(functional_in, hl.layers.Dense(1)(functional_in))
    with pytest.raises(ValueError, match=r"\(3, 7\) does not match model .*'features' expects \(None, 4\)"):
        functional(np.ones((3, 7), np.float32))
    layer = hl.layers.Dense(2, name="solo")
    layer(np.ones((1, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(1, 6\) does not match layer 'solo'.*\(None, 4\)"):
        layer(np.ones((1, 6), np.float32))


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "mean_squared_eror"}, r"Unknown loss 'mean_squared_eror'.*mean_squared_error"),
    ({"optimizer": "adamm", "loss": "mse"}, r"Unknown optimizer 'adamm'.*adam"),
    ({"loss": "mse", "metrics": ["acuracy"]}, r"Unknown metric 'acuracy'.*accuracy"),
])
def test_unknown_names_list_what_exists(kwargs, match):
    model = _model()
    with pytest.raises(ValueError, match=match):
        model.compile(**kwargs)
        model.fit(np.ones((4, 4), np.float32), np.ones((4, 1), np.float32), verbose=0)


def test_unknown_activation_and_layer_names():
    with pytest.raises(ValueError, match=r"Unknown activation 'rleu'.*relu"):
        hl.layers.Dense(3, activation="rleu")
    with pytest.raises(ValueError, match=r"Unknown layer 'Dens'.*Dense"):
        hl.layers.deserialize({"class_name": "Dens", "config": {}})


def test_fit_before_compile():
    with pytest.raises(RuntimeError, match=r"call model.compile\(.*\) before fit\(\)"):
        _model().fit(np.ones((4, 4), np.float32), np.ones((4, 1), np.float32), verbose=0)


def test_x_and_y_of_different_lengths():
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"x and y must have the same number of samples: x has 10, y has 8"):
        model.fit(np.ones((10, 4), np.float32), np.ones((8, 1), np.float32), verbose=0)


def test_non_numeric_arrays():
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match=r"y must hold numbers, got an array of dtype <U1"):
        model.fit(np.ones((3, 4), np.float32), np.array(["a", "b", "c"]), verbose=0)
    with pytest.raises(TypeError, match=r"x must hold numbers, got an array of dtype object"):
        model.fit(np.array([[1, "x"], [2, None]], dtype=object), np.ones((2, 1)), verbose=0)


def test_fit_without_loss_and_bad_arguments():
    model = _model()
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="compiled without a loss"):
        model.fit(np.ones((4, 4), np.float32), np.ones((4, 1), np.float32), verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.fit(np.ones((4, 4), np.float32), np.ones((4, 1), np.float32), batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="steps_per_execution must be a positive integer"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=0)
