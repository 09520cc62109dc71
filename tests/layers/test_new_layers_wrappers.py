"""TimeDistributed, Lambda (which no config may hold), and the categorical preprocessing layers."""

import keras
import numpy as np
import pytest
import yaml

import highlevel as hl
from highlevel import config as cfg
from tests.harness import run_layer_test
from tests.layers.oracle import assert_same, keras_call

RNG = np.random.default_rng(6)
SEQ = RNG.standard_normal((2, 5, 3)).astype("float32")
FRAMES = RNG.standard_normal((2, 3, 6, 6, 2)).astype("float32")


def test_time_distributed_harness_and_keras():
    run_layer_test(hl.layers.TimeDistributed, {"layer": hl.layers.Dense(4)}, (2, 5, 3), (2, 5, 4),
                   expected_num_trainable_weights=2)
    assert_same(keras.layers.TimeDistributed(keras.layers.Dense(4)), hl.layers.TimeDistributed(hl.layers.Dense(4)),
                SEQ)
    assert_same(keras.layers.TimeDistributed(keras.layers.Conv2D(3, 3, strides=2)),
                hl.layers.TimeDistributed(hl.layers.Conv2D(3, 3, strides=2)), FRAMES)
    with pytest.raises(ValueError, match=r"TimeDistributed layer .* needs inputs of shape \(batch, timesteps, ...\)"):
        hl.layers.TimeDistributed(hl.layers.Dense(2))(SEQ[:, 0])


def test_lambda_works_in_python_and_is_refused_by_every_config_path(tmp_path):
    def scale(x, factor, training=False):
        return x * factor + (1.0 if training else 0.0)

    layer = hl.layers.Lambda(scale, arguments={"factor": 3.0})
    np.testing.assert_allclose(np.asarray(layer(SEQ)), SEQ * 3.0)
    np.testing.assert_allclose(np.asarray(layer(SEQ, training=True)), SEQ * 3.0 + 1.0)
    inputs = hl.Input((5, 3))
    model = hl.Model(inputs, hl.layers.Dense(1)(hl.layers.Flatten()(hl.layers.Lambda(lambda x: x ** 2)(inputs))))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(SEQ, np.ones((2, 1), "float32"), verbose=0)
    refusal = r"a Lambda layer cannot be built from a config, since that would run code the config names"
    config = layer.get_config()
    assert config["function"].endswith("scale") and config["arguments"] == {"factor": 3.0}
    with pytest.raises(ValueError, match=refusal):
        hl.layers.Lambda.from_config(config)
    with pytest.raises(ValueError, match=refusal):
        hl.layers.deserialize(hl.layers.serialize(layer))
    with pytest.raises(ValueError, match=refusal):
        hl.Model.from_config(model.get_config())
    model.save(tmp_path / "model")
    with pytest.raises(ValueError, match=refusal):
        hl.models.load_model(tmp_path / "model")
    run = {"seed": 0, "data": {"source": "digits", "batch_size": 32},
           "model": {"layers": [{"Flatten": {}}, {"Lambda": {"function": "lambda x: x"}}, {"Dense": {"units": 10}}]},
           "optimizer": "adam", "loss": "sparse_categorical_crossentropy"}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(run))
    with pytest.raises(cfg.ConfigError, match=r"model\.layers\[1\]\.Lambda: " + refusal):
        cfg.load_config(path)
    with pytest.raises(TypeError, match=r"Lambda needs a Python function of the inputs, got 'lambda x: x'"):
        hl.layers.Lambda("lambda x: x")


def test_category_encoding_matches_keras():
    ids = RNG.integers(0, 6, (4, 5))
    for mode in ("one_hot", "multi_hot", "count"):
        assert_same(keras.layers.CategoryEncoding(6, output_mode=mode), hl.layers.CategoryEncoding(6, output_mode=mode),
                    ids)
    weights = RNG.random((4, 5)).astype("float32")
    assert_same(keras.layers.CategoryEncoding(6, output_mode="count"),
                hl.layers.CategoryEncoding(6, output_mode="count"), ids, count_weights=weights)
    run_layer_test(hl.layers.CategoryEncoding, {"num_tokens": 6}, (4, 5), (4, 6), input_dtype="int32",
                   run_training_step=False)


def test_discretization_matches_keras_including_adapt():
    x = RNG.standard_normal((5, 7)).astype("float32")
    for mode in ("int", "one_hot", "multi_hot", "count"):
        assert_same(keras.layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.7], output_mode=mode),
                    hl.layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.7], output_mode=mode), x)
    data = RNG.standard_normal((1000,)).astype("float32")
    for num_bins, epsilon, batches in ((4, 0.01, [data]), (7, 0.1, [data[:300], data[300:]])):
        ours = hl.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
        ours.adapt(batches if len(batches) > 1 else data)
        theirs = keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
        theirs.reset_state()   # Keras's adapt() needs TensorFlow; its update_state is the same computation
        for batch in batches:
            theirs.update_state(batch)
        theirs.finalize_state()
        np.testing.assert_allclose(ours.bin_boundaries, theirs.bin_boundaries, rtol=1e-6)
        clone = hl.layers.Discretization.from_config(ours.get_config())
        np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(ours(x)))
    run_layer_test(hl.layers.Discretization, {"bin_boundaries": [-0.5, 0.5], "output_mode": "one_hot"}, (5, 7),
                   (5, 7, 3), run_training_step=False)
    with pytest.raises(ValueError, match=r"has no bin boundaries yet: pass bin_boundaries, or call adapt"):
        hl.layers.Discretization(num_bins=3)(x)


def test_hashing_gives_keras_bins():
    farmhash = pytest.importorskip("farmhash")
    letters = [["A"], ["B"], ["C"], ["D"], ["E"]]
    # Keras's own documented outputs (its Hashing needs TensorFlow, absent here).
    assert hl.layers.Hashing(3)(letters).ravel().tolist() == [1, 0, 1, 1, 2]
    assert hl.layers.Hashing(3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]]).ravel().tolist() == [1, 1, 0, 2, 2]
    assert hl.layers.Hashing(3, salt=[133, 137])(letters).ravel().tolist() == [1, 2, 1, 0, 2]
    assert hl.layers.Hashing(3, salt=133)(letters).ravel().tolist() == [0, 0, 2, 1, 0]
    # Every length path of FarmHash's Fingerprint64 (0-16, 17-32, 33-64, longer) against the C library.
    words = ["".join(chr(97 + int(c)) for c in RNG.integers(0, 26, n)) for n in (0, 3, 9, 20, 40, 65, 130, 300)]
    got = hl.layers.Hashing(1000003)(np.array(words))
    assert got.tolist() == [farmhash.fingerprint64(w) % 1000003 for w in words]
    # Integers hash through their decimal text, as TensorFlow's as_string.
    assert hl.layers.Hashing(97)(np.array([[7, 12345]])).tolist() == [[farmhash.fingerprint64("7") % 97,
                                                                      farmhash.fingerprint64("12345") % 97]]
    assert hl.layers.Hashing(4, output_mode="multi_hot")(np.array([["A", "B"]])).shape == (1, 4)
    clone = hl.layers.Hashing.from_config(hl.layers.Hashing(3, salt=5, mask_value="x").get_config())
    assert clone.salt == [5, 5] and clone.mask_value == "x"
    with pytest.raises(ValueError, match=r"runs on the host \(it hashes strings\), not inside a compiled step"):
        hl.layers.Hashing(3)(hl.Input((1,)))
