"""STFTSpectrogram and MelSpectrogram against Keras 3 (JAX backend) on the same signals, plus config, fit, errors."""

import json
import warnings

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers


def _keras(layer, x):
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(layer(x))


def _signal(rng, shape, data_format="channels_last"):
    x = rng.standard_normal(shape).astype("float32")
    return np.transpose(x, (0, 2, 1)) if data_format == "channels_first" else x


STFT_CASES = [
    {"frame_length": 64, "frame_step": 32},                                    # mode="log", Keras's defaults
    {"mode": "psd", "frame_length": 64, "fft_length": 128, "scaling": "spectrum", "data_format": "channels_first",
     "expand_dims": True},
    {"mode": "stft", "frame_length": 48, "frame_step": 20, "fft_length": 64, "expand_dims": True, "scaling": None,
     "padding": "same", "window": None},
    {"mode": "angle", "frame_length": 60, "window": "hamming", "periodic": True, "data_format": "channels_first"},
]


@pytest.mark.parametrize("kwargs", STFT_CASES, ids=lambda kw: f"{kw.get('mode', 'log')}")
def test_stft_spectrogram_matches_keras(kwargs, rng):
    """The same initial kernels as Keras's, and the same outputs on the same (trained: changed) kernels."""
    x = _signal(rng, (2, 300, 3), kwargs.get("data_format", "channels_last"))
    theirs, ours = keras.layers.STFTSpectrogram(**kwargs), L.STFTSpectrogram(**kwargs)
    theirs.build(x.shape)
    ours.build(x.shape)
    assert [f"{ours.name}/{w.name}" for w in theirs.weights] == [n for n, _ in ours.named_weights()]
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-7)
    weights = [w + 0.02 * rng.standard_normal(w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    expected, got = _keras(theirs, x), np.asarray(ours(x))
    assert got.shape == expected.shape == tuple(theirs.compute_output_shape(x.shape))
    assert ours.compute_output_shape(x.shape) == got.shape
    if kwargs.get("mode") == "angle":   # compare phases on the circle: -pi and pi are the same angle
        got, expected = np.exp(1j * got), np.exp(1j * expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_real_and_imag_modes_are_the_halves_of_stft(data_format, rng):
    x = _signal(rng, (2, 100, 2), data_format)
    kwargs = {"frame_length": 16, "frame_step": 8, "window": "hamming", "data_format": data_format}
    both = np.asarray(L.STFTSpectrogram(mode="stft", expand_dims=True, **kwargs)(x))
    real = L.STFTSpectrogram(mode="real", **kwargs)
    imag = L.STFTSpectrogram(mode="imag", expand_dims=True, **kwargs)
    bins_axis = 2 if data_format == "channels_last" else 3
    real_half, imag_half = np.split(both, 2, axis=bins_axis)
    np.testing.assert_allclose(np.asarray(imag(x)), imag_half, atol=1e-6)
    # Without expand_dims the channels and bins share an axis, channel-major.
    if data_format == "channels_last":   # (batch, frames, bins, channels) -> (batch, frames, channels * bins)
        expected = real_half.transpose(0, 1, 3, 2).reshape(2, 11, 18)
    else:                                # (batch, channels, frames, bins) -> (batch, channels * bins, frames)
        expected = real_half.transpose(0, 1, 3, 2).reshape(2, 18, 11)
    np.testing.assert_allclose(np.asarray(real(x)), expected, atol=1e-6)
    assert [n.split("/")[-1] for n, _ in real.named_weights()] == ["real_kernel"]
    assert [n.split("/")[-1] for n, _ in imag.named_weights()] == ["imag_kernel"]


@pytest.mark.parametrize("fft_length", [63, 64])
def test_stft_spectrogram_is_the_fft_of_the_windowed_frames(fft_length, rng):
    """An odd fft_length too: Keras 3.15's kernels there are those of fft_length - 1 (a departure)."""
    x = _signal(rng, (1, 160, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = L.STFTSpectrogram(mode="stft", frame_length=40, frame_step=20, fft_length=fft_length,
                                  window=None, scaling=None)
        psd_layer = L.STFTSpectrogram(mode="psd", frame_length=40, frame_step=20, fft_length=fft_length,
                                      window=None, scaling=None)
    assert len([w for w in caught if "recommended to be a power of two" in str(w.message)]) == 2 * (fft_length % 2)
    got = np.asarray(layer(x))[0]
    frames = np.stack([x[0, i:i + 40, 0] for i in range(0, 121, 20)])
    spectrum = np.fft.rfft(frames, n=fft_length, axis=-1)
    np.testing.assert_allclose(got, np.concatenate([spectrum.real, spectrum.imag], axis=-1), atol=2e-4)
    psd = np.asarray(psd_layer(x))[0]
    double = np.full(fft_length // 2 + 1, 2.0)
    double[0] = 1.0
    if fft_length % 2 == 0:
        double[-1] = 1.0   # the Nyquist bin has no mirror image
    np.testing.assert_allclose(psd, np.abs(spectrum) ** 2 * double, rtol=1e-4, atol=1e-3)


MEL_CASES = [
    {"fft_length": 256, "sequence_stride": 100, "sequence_length": 200, "window": "hamming", "num_mel_bins": 20,
     "sampling_rate": 8000, "power_to_db": False, "mag_exp": 1.0},
    {"fft_length": 255, "sequence_stride": 64, "window": None, "num_mel_bins": 16, "min_freq": 100.0,
     "max_freq": 3000.0, "top_db": 40.0, "ref_power": 5.0, "min_power": 1e-6},
]


@pytest.mark.parametrize("kwargs", MEL_CASES)
def test_mel_spectrogram_matches_keras_on_each_signal(kwargs, rng):
    x = rng.standard_normal((2, 2000)).astype("float32")
    x[1] *= 100.0   # a louder second signal: Keras's top_db cut-off would then depend on the batch
    theirs, ours = keras.layers.MelSpectrogram(**kwargs), L.MelSpectrogram(**kwargs)
    got = np.asarray(ours(x))
    tol = {"rtol": 1e-4, "atol": 1e-3}
    for i in range(2):
        expected = _keras(theirs, x[i])
        np.testing.assert_allclose(got[i], expected, **tol)
        np.testing.assert_allclose(np.asarray(ours(x[i])), expected, **tol)
    assert got.shape == ours.compute_output_shape(x.shape) == tuple(theirs.compute_output_shape(x.shape))


def test_mel_spectrogram_top_db_is_per_signal(rng):
    """Keras 3.15 cuts off below the whole batch's maximum; the docs (and highlevel) each spectrogram's."""
    tone = np.sin(2 * np.pi * 0.1 * np.arange(1000))   # one loud band, the others near silence
    x = np.stack([tone, 1000.0 * tone]).astype("float32") + 1e-3 * rng.standard_normal((2, 1000)).astype("float32")
    kwargs = {"fft_length": 128, "sequence_stride": 64, "num_mel_bins": 8, "top_db": 30.0}
    got = np.asarray(L.MelSpectrogram(**kwargs)(x))
    np.testing.assert_allclose(got.min(axis=(1, 2)), got.max(axis=(1, 2)) - 30.0, atol=1e-3)
    no_cut = np.asarray(L.MelSpectrogram(**{**kwargs, "top_db": None})(x))
    assert (no_cut.max(axis=(1, 2)) - no_cut.min(axis=(1, 2)) > 30.0).all()


def test_mel_output_shape_is_the_frames_call_returns():
    """Keras 3.15's compute_output_shape says (n + stride + 1) // stride frames: one too many for n = 1023."""
    layer = L.MelSpectrogram(fft_length=256, sequence_stride=128, num_mel_bins=8)
    assert layer.compute_output_shape((1, 1023)) == np.asarray(layer(np.zeros((1, 1023), "float32"))).shape \
        == (1, 8, 8)
    assert layer.compute_output_shape((None, None)) == (None, 8, None)
    assert tuple(keras.layers.MelSpectrogram(fft_length=256, sequence_stride=128).compute_output_shape((1, 1023))) \
        == (1, 128, 9)


@pytest.mark.parametrize("cls, kwargs, shape, expected, trainable", [
    (L.STFTSpectrogram, {"mode": "real", "frame_length": 16, "expand_dims": True, "padding": "same",
                         "data_format": "channels_first", "window": np.hanning(16).tolist()},
     (2, 2, 64), (2, 2, 8, 9), 1),
    (L.MelSpectrogram, {"fft_length": 64, "sequence_stride": 32, "num_mel_bins": 6}, (2, 256), (2, 6, 9), 0),
], ids=["stft", "mel"])
def test_layer_harness_config_and_keras_config(cls, kwargs, shape, expected, trainable):
    layer = run_layer_test(cls, kwargs, shape, expected, expected_num_trainable_weights=trainable)
    config = layer.get_config()
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is cls and clone.get_config() == config
    keras_config = getattr(keras.layers, cls.__name__)(**kwargs).get_config()
    assert set(keras_config) <= set(config)
    assert {k: v for k, v in keras_config.items() if k not in ("name", "dtype")} == \
        {k: v for k, v in config.items() if k in keras_config and k not in ("name", "dtype")}


def test_a_functional_model_fits_and_the_kernels_train_unless_frozen(rng):
    x = rng.standard_normal((16, 128, 1)).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")
    inputs = hl.Input((128, 1))
    tuned = L.STFTSpectrogram(mode="log", frame_length=32, frame_step=16)
    frozen = L.STFTSpectrogram(mode="magnitude", frame_length=16, padding="same", trainable=False)
    spec, fixed = tuned(inputs), frozen(inputs)
    mel = L.MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=8)(L.Reshape((128,))(inputs))
    assert (spec.shape, fixed.shape, mel.shape) == ((None, 7, 17), (None, 16, 9), (None, 8, 5))
    features = L.Concatenate()([L.GlobalAveragePooling1D()(spec), L.GlobalAveragePooling1D()(fixed),
                                L.Flatten()(mel)])
    model = hl.Model(inputs, L.Dense(1)(features))
    model.compile(optimizer=hl.optimizers.SGD(0.05), loss="mse")
    assert len(model.trainable_weights) == 4   # the two tuned kernels, Dense's kernel and bias
    tuned_before, frozen_before = tuned.get_weights(), frozen.get_weights()
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(not np.allclose(a, b) for a, b in zip(tuned_before, tuned.get_weights()))
    assert all(np.array_equal(a, b) for a, b in zip(frozen_before, frozen.get_weights()))
    assert np.asarray(model.predict(x, verbose=0)).shape == (16, 1)


def test_bad_arguments_and_inputs_are_refused():
    with pytest.raises(ValueError, match="`mode` must be one of 'log'"):
        L.STFTSpectrogram(mode="power")
    with pytest.raises(ValueError, match="`frame_step` must be a positive integer not greater than frame_length=8"):
        L.STFTSpectrogram(frame_length=8, frame_step=9)
    with pytest.raises(ValueError, match="`fft_length` must be at least frame_length=8"):
        L.STFTSpectrogram(frame_length=8, fft_length=4)
    with pytest.raises(ValueError, match="`padding` must be 'valid' or 'same'"):
        L.STFTSpectrogram(padding="causal")
    with pytest.raises(ValueError, match="`window` must have frame_length=8 values"):
        L.STFTSpectrogram(frame_length=8, window=[1.0, 2.0])
    with pytest.raises(ValueError, match="expects inputs of rank 3"):
        L.STFTSpectrogram(frame_length=8)(np.zeros((2, 32), "float32"))
    with pytest.raises(TypeError, match="takes float16, bfloat16, float32 or float64 signals, got dtype int32"):
        L.STFTSpectrogram(frame_length=8)(np.zeros((1, 32, 1), "int32"))
    with pytest.raises(ValueError, match="needs 0 <= min_freq < max_freq"):
        L.MelSpectrogram(sampling_rate=8000, min_freq=5000.0)
    with pytest.raises(ValueError, match="`window` must be one of 'hann', 'hamming'"):
        L.MelSpectrogram(window="blackman")
    with pytest.raises(ValueError, match="`fft_length` must be at least sequence_length=512"):
        L.MelSpectrogram(fft_length=256, sequence_length=512)


def test_magnitude_and_log_modes_agree(rng):
    x = _signal(rng, (1, 120, 2))
    kwargs = {"frame_length": 50, "fft_length": 64, "padding": "same"}
    magnitude = np.asarray(L.STFTSpectrogram(mode="magnitude", **kwargs)(x))
    assert magnitude.shape == (1, 5, 66)   # padding="same": ceil(120 / 25) frames
    np.testing.assert_allclose(np.log(magnitude), np.asarray(L.STFTSpectrogram(**kwargs)(x)), atol=1e-5)


@pytest.mark.parametrize("cls,kwargs,shape", [
    ("MelSpectrogram", {}, (None,)),                                   # fft_length 2048, longer than 193
    ("MelSpectrogram", {"fft_length": 256, "sequence_stride": 64, "num_mel_bins": 16}, (None,)),
    ("STFTSpectrogram", {"frame_length": 256, "frame_step": 128}, (None, 1)),
    ("STFTSpectrogram", {"frame_length": 300, "frame_step": 100, "mode": "stft", "padding": "same",
                         "data_format": "channels_first"}, (2, None)),
    ("STFTSpectrogram", {"expand_dims": True}, (None, 3)),
])
def test_an_unknown_signal_length_gives_keras_symbolic_shapes(cls, kwargs, shape):
    ours = getattr(hl.layers, cls)(**kwargs)(hl.Input(shape)).shape
    theirs = getattr(keras.layers, cls)(**kwargs)(keras.Input(shape)).shape
    assert ours == tuple(theirs)
    assert None in ours[1:]   # the frame axis stays unknown; a trace at one length would fix it


def test_a_functional_model_on_an_unknown_length_takes_signals_of_any_length(rng):
    inputs = hl.Input((None,))
    x = hl.layers.MelSpectrogram(num_mel_bins=8, fft_length=128, sequence_stride=32)(inputs)
    x = hl.layers.GlobalAveragePooling1D(data_format="channels_first")(x)
    model = hl.Model(inputs, hl.layers.Dense(2)(x))
    for length in (400, 1000):
        assert model.predict(rng.standard_normal((3, length)).astype("float32"), verbose=0).shape == (3, 2)
