"""hl.utils.audio_dataset_from_directory: Keras's files, labels and splits, WAV decoding, padding.

TensorFlow (which Keras's own function needs to decode) is not required: the file order,
labels and splits are checked against Keras's ``index_directory`` and
``get_training_or_validation_split`` (the two steps Keras's function takes, NumPy only),
the audio against hand-computed values; with TensorFlow importable, against Keras's whole
function too.
"""

from __future__ import annotations

import os
import struct
import wave

import numpy as np
import pytest
from keras.src.utils import dataset_utils

import highlevel as hl
from highlevel.datasets.audio_directory import read_wav

# class -> the lengths of its files; file k of the folder holds the constant 100 * (k + 1).
LENGTHS = {"down": [3, 6], "go": [5, 2, 4], "up": [7, 1]}


def _write_pcm(path, samples, rate=16000, width=2):
    samples = np.asarray(samples)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1 if samples.ndim == 1 else samples.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(samples.astype("<i2" if width == 2 else "u1").tobytes())


def _write_float(path, samples, rate=8000):
    samples = np.asarray(samples, "<f4").reshape(len(samples), -1)
    data = samples.tobytes()
    fmt = struct.pack("<HHIIHH", 3, samples.shape[1], rate, rate * 4 * samples.shape[1], 4 * samples.shape[1], 32)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech")
    ids, k = {}, 0
    for name, lengths in LENGTHS.items():
        (root / name).mkdir()
        for i, n in enumerate(lengths):
            k += 1
            path = root / name / f"{i}.wav"
            _write_pcm(path, np.full(n, 100 * k))
            ids[str(path)] = k
    (root / "go" / "notes.txt").write_text("not audio")
    return str(root), ids


def _keras_files(root, **kwargs):
    split = {k: kwargs.pop(k) for k in ("validation_split", "subset") if k in kwargs}
    paths, labels, names = dataset_utils.index_directory(root, "inferred", (".wav",), verbose=False, **kwargs)
    if split:
        paths, labels = dataset_utils.get_training_or_validation_split(paths, labels, **split)
    return paths, np.asarray(labels), names


def _pairs(ds):
    """(file id, label) of every example: a file's id is its constant sample value / 100."""
    out = []
    for audio, labels in ds:
        for a, label in zip(audio, labels):
            out.append((int(round(a[0, 0] * 32768 / 100)), int(label)))
    return sorted(out)


@pytest.mark.parametrize("kwargs", [dict(shuffle=False), dict(shuffle=True, seed=3),
                                    dict(shuffle=True, seed=7, validation_split=0.4, subset="training"),
                                    dict(shuffle=True, seed=7, validation_split=0.4, subset="validation")])
def test_files_labels_and_splits_as_keras(folder, kwargs):
    root, ids = folder
    ds = hl.utils.audio_dataset_from_directory(root, batch_size=2, verbose=False, **kwargs)
    paths, labels, names = _keras_files(root, **kwargs)
    assert ds.class_names == names == ["down", "go", "up"]
    assert ds.file_paths == paths
    assert _pairs(ds) == sorted((ids[p], int(label)) for p, label in zip(paths, labels))
    if not kwargs["shuffle"]:
        assert [int(label) for _, labels in ds for label in labels] == labels.tolist()


def test_subset_both_and_class_names(folder, capsys):
    root, _ = folder
    train, val = hl.utils.audio_dataset_from_directory(root, validation_split=0.3, subset="both", seed=1)
    assert "Found 7 files belonging to 3 classes." in capsys.readouterr().out
    assert len(train.file_paths) == 5 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    ds = hl.utils.audio_dataset_from_directory(root, class_names=["up", "down"], shuffle=False, verbose=False,
                                               label_mode="binary", batch_size=None)
    paths, labels, _ = _keras_files(root, class_names=["up", "down"], shuffle=False)
    assert ds.file_paths == paths
    assert [(a.shape, y.tolist()) for a, y in ds] == [((n, 1), [float(label)]) for n, label in
                                                      zip([7, 1, 3, 6], labels)]


def test_padding_trimming_and_label_modes(folder):
    root, _ = folder
    ds = hl.utils.audio_dataset_from_directory(root, batch_size=3, shuffle=False, verbose=False,
                                               label_mode="categorical")
    audio, labels = ds[0]  # down/0 (3 samples of 100), down/1 (6 of 200), go/0 (5 of 300)
    expected = np.zeros((3, 6, 1), np.float32)
    for row, (n, value) in enumerate([(3, 100), (6, 200), (5, 300)]):
        expected[row, :n] = value / 32768
    np.testing.assert_array_equal(audio, expected)
    np.testing.assert_array_equal(labels, np.eye(3, dtype=np.float32)[[0, 0, 1]])
    assert audio.dtype == labels.dtype == np.float32
    assert ds[2][0].shape == (1, 1, 1)  # the last batch: up/1 alone, one sample
    fixed = hl.utils.audio_dataset_from_directory(root, batch_size=3, shuffle=False, verbose=False,
                                                  output_sequence_length=4, label_mode=None)
    np.testing.assert_array_equal(fixed[0], expected[:, :4])
    assert [batch.shape for batch in fixed] == [(3, 4, 1)] * 2 + [(1, 4, 1)]
    ragged, labels = hl.utils.audio_dataset_from_directory(root, batch_size=4, shuffle=False, verbose=False,
                                                           ragged=True)[0]
    assert [a.shape for a in ragged] == [(3, 1), (6, 1), (5, 1), (2, 1)] and labels.tolist() == [0, 0, 1, 1]


def test_fit_takes_it(folder):
    root, _ = folder
    ds = hl.utils.audio_dataset_from_directory(root, batch_size=4, seed=0, output_sequence_length=8, verbose=False)
    model = hl.Sequential([hl.Input((8, 1)), hl.layers.Flatten(), hl.layers.Dense(3)])
    model.compile("sgd", hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_read_wav_encodings(tmp_path):
    stereo = np.array([[0, -32768], [16384, 32767]])
    _write_pcm(tmp_path / "s.wav", stereo, rate=22050)
    audio, rate = read_wav(tmp_path / "s.wav")
    assert rate == 22050 and audio.dtype == np.float32
    np.testing.assert_array_equal(audio, stereo / 32768.0)
    _write_float(tmp_path / "f.wav", [0.25, -1.5, 0.125])
    audio, rate = read_wav(tmp_path / "f.wav")
    assert rate == 8000 and audio.tolist() == [[0.25], [-1.5], [0.125]]
    _write_pcm(tmp_path / "u8.wav", np.array([1, 2, 3]), width=1)
    with pytest.raises(ValueError, match=r"u8\.wav holds 8-bit PCM samples.*16-bit PCM or 32-bit float"):
        read_wav(tmp_path / "u8.wav")


def test_errors(folder):
    root, _ = folder
    make = hl.utils.audio_dataset_from_directory
    with pytest.raises(ValueError, match="Cannot set both `ragged` and `output_sequence_length`"):
        make(root, ragged=True, output_sequence_length=4)
    with pytest.raises(ValueError, match="`sampling_rate` should have an integer value"):
        make(root, sampling_rate=16000.0)
    with pytest.raises(ValueError, match="`sampling_rate` should be higher than 0"):
        make(root, sampling_rate=0)
    with pytest.raises(ValueError, match='`label_mode="binary"`, there must be exactly 2'):
        make(root, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match=r"0\.wav is sampled at 16000 Hz, not sampling_rate=8000"):
        make(root, sampling_rate=8000, shuffle=False, verbose=False)[0]
    assert make(root, sampling_rate=16000, shuffle=False, verbose=False)[0][0].shape == (7, 7, 1)


def test_same_batches_as_keras_with_tensorflow(folder):
    pytest.importorskip("tensorflow")
    import keras
    root, _ = folder
    for kwargs in (dict(), dict(output_sequence_length=4), dict(label_mode="categorical")):
        ours = hl.utils.audio_dataset_from_directory(root, batch_size=3, shuffle=False, verbose=False, **kwargs)
        theirs = keras.utils.audio_dataset_from_directory(root, batch_size=3, shuffle=False, verbose=False, **kwargs)
        assert ours.class_names == theirs.class_names
        for (a, y), (ka, ky) in zip(ours, theirs):
            np.testing.assert_allclose(a, np.asarray(ka), atol=1e-7)
            np.testing.assert_array_equal(y, np.asarray(ky))
