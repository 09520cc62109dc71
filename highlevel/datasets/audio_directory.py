"""Keras's ``audio_dataset_from_directory``, as a batched Grain ``MapDataset``.

Keras decodes WAV files with TensorFlow (``tf.audio.decode_wav``); this reads them with
Python's ``wave`` module and NumPy, giving the same float32 ``(samples, channels)`` values:
16-bit PCM divided by 32768, and 32-bit IEEE float as stored. Which file is where (the
order, the labels, the training/validation split for a seed) is Keras's, shared with
``image_dataset_from_directory`` in ``directory.py``; files are read when their batch is.
"""

from __future__ import annotations

import os
import struct
import wave

import numpy as np

from highlevel.datasets.directory import _check_labels, _check_split, _grain, _Read, _split, index_directory

__all__ = ["audio_dataset_from_directory", "read_wav", "AUDIO_FORMATS"]

#: File endings read as audio (Keras's ``ALLOWED_FORMATS``).
AUDIO_FORMATS = (".wav",)
_FIX = ("convert it to 16-bit PCM or 32-bit float WAV, e.g. `ffmpeg -i in.wav -c:a pcm_s16le out.wav`, "
        "or remove it from the folder")


def _read_float_wav(path) -> tuple[np.ndarray, int]:
    """A 32-bit IEEE-float WAV (format 3, which ``wave`` refuses) read from its RIFF chunks."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path} is not a RIFF/WAVE file; {_FIX}.")
    pos, fmt, frames = 12, None, None
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if tag == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif tag == b"data":
            frames = body
        pos += 8 + size + (size & 1)
    if fmt is None or frames is None:
        raise ValueError(f"{path} has no 'fmt ' or 'data' chunk; {_FIX}.")
    tag, channels, rate, _, _, bits = fmt
    if tag != 3 or bits != 32:
        raise ValueError(f"{path} is a WAV file of format {tag} with {bits}-bit samples, which cannot be read; "
                         f"{_FIX}.")
    count = len(frames) // (4 * channels) * channels
    return np.frombuffer(frames[:count * 4], "<f4").reshape(-1, channels).astype(np.float32), rate


def read_wav(path) -> tuple[np.ndarray, int]:
    """Reads a WAV file as ``(float32 audio (samples, channels), sampling rate)``, as ``tf.audio.decode_wav``.

    16-bit PCM samples are divided by 32768 (so they lie in ``[-1, 1)``); 32-bit IEEE float
    samples are kept as stored. Other encodings (8-, 24- or 32-bit PCM, compressed) raise a
    ``ValueError`` naming the file and how to convert it.

    Args:
        path: the WAV file.

    >>> import tempfile, os, wave
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> with wave.open(path, "wb") as f:
    ...     f.setnchannels(1); f.setsampwidth(2); f.setframerate(8000)
    ...     f.writeframes(np.array([0, 16384, -32768], "<i2").tobytes())
    >>> audio, rate = read_wav(path)
    >>> audio.tolist(), rate
    ([[0.0], [0.5], [-1.0]], 8000)
    """
    try:
        with wave.open(os.fspath(path), "rb") as f:
            channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
            frames = f.readframes(f.getnframes())
    except wave.Error as err:
        if "unknown format: 3" in str(err):
            return _read_float_wav(path)
        raise ValueError(f"Cannot read the WAV file {path} ({err}); {_FIX}.") from None
    except EOFError:
        raise ValueError(f"The WAV file {path} is cut short; {_FIX}.") from None
    if width != 2:
        raise ValueError(f"{path} holds {8 * width}-bit PCM samples, which cannot be read; {_FIX}.")
    count = len(frames) // (2 * channels) * channels
    audio = np.frombuffer(frames[:count * 2], "<i2").reshape(-1, channels).astype(np.float32) / 32768.0
    return audio, rate


class _Audio:
    """Reads one file: checks its rate, then trims or zero-pads it to ``length`` (None: as is)."""

    def __init__(self, sampling_rate, length):
        self.sampling_rate, self.length = sampling_rate, length

    def __call__(self, path):
        audio, rate = read_wav(path)
        if self.sampling_rate is not None and rate != self.sampling_rate:
            raise ValueError(f"{path} is sampled at {rate} Hz, not sampling_rate={self.sampling_rate}; resample the "
                             f"file (e.g. `ffmpeg -i in.wav -ar {self.sampling_rate} out.wav`) or pass "
                             "sampling_rate=None.")
        if self.length is not None:
            audio = audio[:self.length]
            if len(audio) < self.length:
                audio = np.pad(audio, ((0, self.length - len(audio)), (0, 0)))
        return audio


def _pad(audios: list) -> np.ndarray:
    channels = {a.shape[1] for a in audios}
    if len(channels) > 1:
        raise ValueError(f"A batch holds audio with {sorted(channels)} channels; give every file the same number "
                         "of channels, or pass batch_size=None.")
    out = np.zeros((len(audios), max(len(a) for a in audios), channels.pop()), np.float32)
    for row, audio in zip(out, audios):
        row[:len(audio)] = audio
    return out


class _Batch:
    """Stacks a batch: audio padded with zeros to the longest (Keras's ``padded_batch``), or a list if ragged."""

    def __init__(self, ragged):
        self.ragged = ragged

    def audio(self, audios):
        return list(audios) if self.ragged else _pad(audios)

    def __call__(self, values):
        if isinstance(values[0], tuple):
            return self.audio([v[0] for v in values]), np.stack([v[1] for v in values])
        return self.audio(values)


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 batch_size: int | None = 32, sampling_rate: int | None = None,
                                 output_sequence_length: int | None = None, ragged: bool = False,
                                 shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None, subset: str | None = None,
                                 follow_links: bool = False, verbose: bool = True):
    """Batches of ``(audio, labels)`` from ``directory/<class>/**/<name>.wav``, as Keras's.

    Audio is float32 ``(batch, samples, channels)``: cut or zero-padded to
    ``output_sequence_length``, else each batch padded with zeros to its longest file. The
    file order, labels and split are Keras's. ``sampling_rate`` resamples nothing (Keras's
    needs tensorflow-io for that): every file must already have that rate, else a
    ``ValueError`` names the file. With ``ragged=True`` a batch's audio is a list of arrays
    of their own lengths (NumPy has no ragged arrays; Keras gives a ``tf.RaggedTensor``).
    With ``label_mode=None`` the batches are the audio alone (as Keras's code does; its
    docstring says file contents).

    Args:
        directory: the folder; with ``labels="inferred"`` one subfolder per class.
        labels: ``"inferred"`` (the subfolders), None (audio only), or one integer label per
            file in the sorted order of the paths.
        label_mode: ``"int"`` (int32), ``"categorical"`` (one-hot float32), ``"binary"``
            (float32 ``(batch, 1)``, two classes) or None (audio only).
        class_names: the subfolders to read, in label order (``labels="inferred"`` only).
        batch_size: files per batch; None gives single files, unpadded.
        sampling_rate: the rate, in samples per second, every file must have (None: any).
        output_sequence_length: the samples each file is cut or zero-padded to (None: pad
            each batch to its longest file).
        ragged: give each batch's audio as a list of arrays of their own lengths.
        shuffle: shuffle the files (by ``seed``); False keeps the sorted order.
        seed: the shuffle's seed (needed with a ``validation_split`` and ``shuffle``).
        validation_split: the fraction of files kept for validation (the last ones).
        subset: ``"training"``, ``"validation"`` or ``"both"`` (a pair), with ``validation_split``.
        follow_links: walk into symlinked folders.
        verbose: print how many files and classes were found.

    Returns:
        A batched ``grain.MapDataset`` (two for ``subset="both"``) with ``class_names`` and
        ``file_paths``, which ``fit``, ``evaluate`` and ``predict`` take as it is.

    >>> import tempfile, os, wave
    >>> root = tempfile.mkdtemp()
    >>> for name, n in (("no", 3), ("yes", 5)):
    ...     os.makedirs(os.path.join(root, name))
    ...     with wave.open(os.path.join(root, name, "0.wav"), "wb") as f:
    ...         f.setnchannels(1); f.setsampwidth(2); f.setframerate(16000)
    ...         f.writeframes(np.full(n, 16384, "<i2").tobytes())
    >>> ds = audio_dataset_from_directory(root, batch_size=2, shuffle=False, verbose=False)
    >>> audio, labels = ds[0]
    >>> audio.shape, audio[0, :, 0].tolist(), labels.tolist(), ds.class_names
    ((2, 5, 1), [0.5, 0.5, 0.5, 0.0, 0.0], [0, 1], ['no', 'yes'])
    """
    _check_labels(labels, label_mode, class_names)
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int):
            raise ValueError(f"`sampling_rate` should have an integer value. Received: sampling_rate={sampling_rate}")
        if sampling_rate <= 0:
            raise ValueError(f"`sampling_rate` should be higher than 0. Received: sampling_rate={sampling_rate}")
    if output_sequence_length is not None and (not isinstance(output_sequence_length, int)
                                               or output_sequence_length <= 0):
        raise ValueError(f"output_sequence_length must be a positive int or None, got {output_sequence_length!r}.")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    _check_split(validation_split, subset, shuffle, seed)
    seed = np.random.randint(1e6) if seed is None else seed
    paths, labels, class_names = index_directory(directory, labels, AUDIO_FORMATS, class_names, shuffle, seed,
                                                 follow_links)
    if verbose:
        print(f"Found {len(paths)} files" + ("." if labels is None else f" belonging to {len(class_names)} classes."))
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                         f"class_names={class_names}")
    grain = _grain()
    read = _Read(_Audio(sampling_rate, output_sequence_length), label_mode, len(class_names or ()))

    def make(rows_paths, rows_labels, shuffled, what):
        if not rows_paths:
            raise ValueError(f"No {what}audio files found in directory {directory}. Allowed format(s): "
                             f"{AUDIO_FORMATS}")
        records = list(rows_paths) if not label_mode else list(zip(rows_paths, rows_labels.tolist()))
        ds = grain.MapDataset.source(records)
        if shuffled:
            ds = ds.shuffle(seed=seed)
        ds = ds.map(read)
        if batch_size is not None:
            ds = ds.batch(batch_size, batch_fn=_Batch(ragged))
        ds.class_names, ds.file_paths = class_names, list(rows_paths)
        return ds

    if subset == "both":
        return (make(*_split(paths, labels, validation_split, "training"), shuffle, "training "),
                make(*_split(paths, labels, validation_split, "validation"), False, "validation "))
    return make(*_split(paths, labels, validation_split, subset), shuffle, "")
