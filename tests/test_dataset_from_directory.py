"""hl.utils.image/text_dataset_from_directory and timeseries_dataset_from_array against Keras's."""

import os

import jax
import numpy as np
import pytest

import highlevel as hl

pytest.importorskip("grain")
Image = pytest.importorskip("PIL.Image")
keras = pytest.importorskip("keras")
from keras.src.utils import dataset_utils as keras_dataset_utils  # noqa: E402


@pytest.fixture
def image_root(tmp_path):
    rng = np.random.default_rng(0)
    sizes = [(6, 8), (8, 6), (5, 5), (7, 9)]
    for c, name in enumerate(["dog", "cat", "bird"]):
        for i in range(4 + c):
            folder = tmp_path / name / ("sub" if i % 3 == 2 else "")
            folder.mkdir(parents=True, exist_ok=True)
            h, w = sizes[(i + c) % 4]
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    (tmp_path / "cat" / "notes.md").write_text("not an image")
    return tmp_path


def _keras_batches(**kwargs):
    with jax.numpy_rank_promotion("allow"):
        ds = keras.utils.image_dataset_from_directory(format="grain", verbose=False, **kwargs)
        return ds, [tuple(np.asarray(t) for t in b) if isinstance(b, tuple) else np.asarray(b) for b in ds]


@pytest.mark.parametrize("shuffle,seed", [(False, None), (True, 3), (True, 11)])
def test_index_directory_matches_keras(image_root, shuffle, seed):
    seed = 5 if seed is None else seed
    ours = hl.datasets.directory.index_directory(image_root, "inferred", shuffle=shuffle, seed=seed)
    theirs = keras_dataset_utils.index_directory(str(image_root), "inferred", formats=hl.datasets.directory.IMAGE_FORMATS,
                                                 shuffle=shuffle, seed=seed, verbose=False)
    assert ours[0] == theirs[0]
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert ours[2] == theirs[2] == ["bird", "cat", "dog"]


@pytest.mark.parametrize("options", [
    dict(shuffle=False),
    dict(shuffle=True, seed=7, label_mode="categorical"),
    dict(seed=1, validation_split=0.3, subset="training", crop_to_aspect_ratio=True),
    dict(seed=1, validation_split=0.3, subset="validation", pad_to_aspect_ratio=True, color_mode="grayscale"),
    dict(shuffle=False, class_names=["cat", "dog"], label_mode="binary", interpolation="nearest", color_mode="rgba"),
    dict(shuffle=False, labels=None),
    dict(seed=4, labels=[i % 4 for i in range(15)], label_mode="categorical", batch_size=None),
])
def test_image_batches_match_keras(image_root, options):
    kwargs = dict(directory=str(image_root), image_size=(4, 5), **{"batch_size": 4, **options})
    ours = hl.utils.image_dataset_from_directory(verbose=False, **kwargs)
    theirs, batches = _keras_batches(**kwargs)
    assert ours.file_paths == theirs.file_paths
    assert ours.class_names == theirs.class_names
    assert len(ours) == len(batches)
    for mine, ref in zip(ours, batches):
        mine, ref = (mine, ref) if isinstance(ref, tuple) else ((mine,), (ref,))
        for a, b in zip(mine, ref):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_allclose(a, b, atol=1e-3)


def test_subset_both_splits_like_keras(image_root):
    kwargs = dict(directory=str(image_root), image_size=(4, 4), seed=2, validation_split=0.25, subset="both")
    train, val = hl.utils.image_dataset_from_directory(verbose=False, **kwargs)
    (ktrain, kval), _ = _keras_batches(**kwargs)[0], None
    assert train.file_paths == ktrain.file_paths and val.file_paths == kval.file_paths
    assert not set(train.file_paths) & set(val.file_paths)
    assert len(train.file_paths) + len(val.file_paths) == 15


def test_image_dataset_trains_with_fit(image_root):
    ds = hl.utils.image_dataset_from_directory(image_root, image_size=(4, 4), batch_size=5, seed=0, verbose=False)
    model = hl.models.Sequential([hl.layers.Input((4, 4, 3)), hl.layers.Flatten(), hl.layers.Dense(3)])
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert model.predict(ds, verbose=0).shape == (15, 3)


def test_image_dataset_errors(image_root):
    with pytest.raises(ValueError, match="needs a seed"):
        hl.utils.image_dataset_from_directory(image_root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="label_mode='binary' needs exactly 2 classes"):
        hl.utils.image_dataset_from_directory(image_root, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        hl.utils.image_dataset_from_directory(image_root, interpolation="area")
    with pytest.raises(ValueError, match="class_names .* are not all subfolders"):
        hl.utils.image_dataset_from_directory(image_root, class_names=["cow"])
    with pytest.raises(FileNotFoundError, match="No folder at"):
        hl.utils.image_dataset_from_directory(image_root / "missing")


def test_text_dataset_matches_keras(tmp_path):
    for c, name in enumerate(["pos", "neg"]):
        (tmp_path / name).mkdir()
        for i in range(3 + c):
            (tmp_path / name / f"{i}.txt").write_text(f"{name} text number {i} " * (i + 1))
    kwargs = dict(directory=str(tmp_path), batch_size=2, seed=4, max_length=12, validation_split=0.4,
                  subset="training")
    ours = hl.utils.text_dataset_from_directory(verbose=False, **kwargs)
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.utils.text_dataset_from_directory(format="grain", verbose=False, **kwargs)
        ref = list(theirs)
    paths, _, _ = keras_dataset_utils.index_directory(str(tmp_path), "inferred", formats=(".txt",), seed=4,
                                                      verbose=False)
    assert ours.file_paths == paths[:-2] and ours.class_names == ["neg", "pos"]
    assert len(ref) == len(ours) == 3
    for (texts, labels), (ktexts, klabels) in zip(ours, ref):
        assert texts.tolist() == [str(t) for t in np.asarray(ktexts).tolist()]
        np.testing.assert_array_equal(labels, np.asarray(klabels))
    with pytest.raises(ValueError, match="class_names needs labels='inferred'"):
        hl.utils.text_dataset_from_directory(tmp_path, labels=None, class_names=["pos"])


def _reference_windows(data, targets, length, stride, rate, start, end, shuffle, seed):
    """Keras's documented semantics, written out."""
    end = len(data) if end is None else end
    starts = np.arange(0, end - start - (length - 1) * rate, stride)
    if shuffle:
        np.random.RandomState(seed).shuffle(starts)
    x = np.stack([data[start + p:start + p + length * rate:rate] for p in starts])
    return x, (None if targets is None else targets[start + starts])


@pytest.mark.parametrize("length,stride,rate,start,end,shuffle", [
    (3, 1, 1, None, None, False), (4, 2, 3, 2, 27, False), (5, 3, 2, 1, None, True), (2, 1, 1, 0, 9, True)])
def test_timeseries_matches_reference(length, stride, rate, start, end, shuffle):
    data = np.arange(60, dtype=np.float32).reshape(30, 2)
    targets = np.arange(30) * 10
    ds = hl.utils.timeseries_dataset_from_array(data, targets, length, sequence_stride=stride, sampling_rate=rate,
                                                batch_size=4, shuffle=shuffle, seed=9, start_index=start,
                                                end_index=end)
    xs, ys = zip(*ds)
    x, y = _reference_windows(data, targets, length, stride, rate, start or 0, end, shuffle, 9)
    np.testing.assert_array_equal(np.concatenate(xs), x)
    np.testing.assert_array_equal(np.concatenate(ys), y)
    if not shuffle:  # Keras's grain path shuffles twice, so only the order-free case compares directly
        with jax.numpy_rank_promotion("allow"):
            ref = list(keras.utils.timeseries_dataset_from_array(
                data, targets, length, sequence_stride=stride, sampling_rate=rate, batch_size=4,
                start_index=start, end_index=end, format="grain"))
        np.testing.assert_array_equal(np.concatenate(xs), np.concatenate([np.asarray(b[0]) for b in ref]))


def test_timeseries_without_targets_and_errors():
    ds = hl.utils.timeseries_dataset_from_array(np.arange(6), None, 4, batch_size=None)
    assert [w.tolist() for w in ds] == [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]]
    with pytest.raises(ValueError, match="targets has 5 rows but data has 6"):
        hl.utils.timeseries_dataset_from_array(np.arange(6), np.arange(5), 2)
    with pytest.raises(ValueError, match="No window of sequence_length=7"):
        hl.utils.timeseries_dataset_from_array(np.arange(6), None, 7)
