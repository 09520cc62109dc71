"""Data read from disk while training: image folders decoded on read, memory-mapped npz files.

The reference is the in-memory loaders of the same files (``load_data``), which
tests/test_datasets.py holds against the pixel values and arrays written.
"""

import pickle

import numpy as np
import pytest

grain = pytest.importorskip("grain")

import highlevel as hl  # noqa: E402
from highlevel.datasets import image_folder, npz  # noqa: E402


@pytest.fixture
def image_dir(tmp_path):
    from PIL import Image
    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for label, name in enumerate(["cat", "dog"]):
        (root / name).mkdir(parents=True)
        for i in range(7 + label):
            pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    Image.new("L", (9, 4), 90).save(root / "cat" / "gray.bmp")   # another size and mode: converted
    return root


def test_image_folder_dataset_reads_what_load_data_reads(image_dir):
    (x, y), _, names = image_folder.load_data(image_dir, image_size=(6, 5), shuffle=False)
    ds = image_folder.dataset(image_dir, image_size=(6, 5))
    assert len(ds) == len(x) == 16 and ds.class_names == names == ["cat", "dog"]
    images = np.stack([ds[i][0] for i in range(len(ds))])
    labels = np.asarray([ds[i][1] for i in range(len(ds))])
    np.testing.assert_array_equal(images, x)
    np.testing.assert_array_equal(labels, y)
    assert images.dtype == np.float32 and labels.dtype == np.int32
    as_bytes = image_folder.dataset(image_dir, image_size=(6, 5), dtype="uint8")
    np.testing.assert_array_equal(as_bytes[3][0], x[3].astype(np.uint8))
    # The source pickles as file names (what Grain's worker processes receive).
    source = image_folder.ImageFolderSource(["a.png"] * 1000, [0] * 1000, image_size=(64, 64))
    assert len(pickle.dumps(source)) < 20_000


def test_image_folder_dataset_splits_as_load_data(image_dir):
    train, val = image_folder.dataset(image_dir, image_size=(6, 5), validation_split=0.25, subset="both", seed=4)
    (x, y), (x_val, y_val), _ = image_folder.load_data(image_dir, image_size=(6, 5), validation_split=0.25, seed=4)
    assert (len(train), len(val)) == (12, 4)
    np.testing.assert_array_equal(np.stack([val[i][0] for i in range(4)]), x_val)
    np.testing.assert_array_equal([train[i][1] for i in range(12)], y)
    only = image_folder.dataset(image_dir, image_size=(6, 5), validation_split=0.25, subset="validation", seed=4)
    np.testing.assert_array_equal(only[0][0], x_val[0])
    with pytest.raises(ValueError, match="validation_split=0.25 needs subset='training', 'validation' or 'both'"):
        image_folder.dataset(image_dir, validation_split=0.25)
    with pytest.raises(ValueError, match="subset='training' needs a validation_split"):
        image_folder.dataset(image_dir, subset="training")
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'uint8'"):
        image_folder.dataset(image_dir, dtype="float16")


def test_a_model_trains_on_an_image_folder_as_on_its_arrays(image_dir):
    (x, y), _, _ = image_folder.load_data(image_dir, image_size=(6, 5), shuffle=False)

    def fit(data, **kw):
        hl.utils.set_random_seed(0)
        model = hl.Sequential([hl.Input((6, 5, 3)), hl.layers.Rescaling(1 / 255), hl.layers.Conv2D(4, 3),
                               hl.layers.Flatten(), hl.layers.Dense(2)])
        model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(data, batch_size=5, epochs=2, shuffle=False, verbose=0, **kw)
        return model.get_weights()

    for a, b in zip(fit(image_folder.dataset(image_dir, image_size=(6, 5))), fit(x, y=y)):
        np.testing.assert_array_equal(a, b)


def test_npz_memory_maps_uncompressed_files(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.standard_normal((50, 3)).astype(np.float32), "y_train": np.arange(50),
              "x_test": np.asfortranarray(rng.standard_normal((4, 3))), "y_test": np.arange(4)}
    np.savez(tmp_path / "d.npz", **arrays)
    (x, y), (x_test, y_test) = npz.load_data(tmp_path / "d.npz", mmap=True)
    assert all(isinstance(a, np.memmap) for a in (x, y, x_test, y_test))
    for got, name in zip((x, y, x_test, y_test), arrays):
        np.testing.assert_array_equal(got, arrays[name])
    assert x_test.flags.f_contiguous
    ds = npz.dataset(tmp_path / "d.npz", subset="train")
    assert len(ds) == 50
    np.testing.assert_array_equal(ds[7][0], arrays["x_train"][7])
    # Pickled (for Grain's workers) by file and offset, not by value.
    records = npz.ArrayRecords(x, y)
    assert len(pickle.dumps(records)) < 1000
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(records))[49][0], arrays["x_train"][49])
    # Trains as the same rows in memory do.
    weights = []
    for data, kw in ((ds, {}), (arrays["x_train"], {"y": arrays["y_train"]})):
        hl.utils.set_random_seed(0)
        model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(data, batch_size=16, epochs=1, shuffle=False, verbose=0, **kw)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_npz_mapping_mistakes_are_named(tmp_path):
    np.savez_compressed(tmp_path / "c.npz", x=np.zeros((3, 2)), y=np.zeros(3))
    with pytest.raises(ValueError, match=r"is compressed \(np.savez_compressed\), so its array 'x' cannot be "
                                         "memory-mapped; save it with np.savez, or pass mmap=False"):
        npz.load_data(tmp_path / "c.npz", mmap=True)
    np.savez(tmp_path / "u.npz", x=np.zeros((3, 2)), y=np.zeros(3))
    with pytest.raises(ValueError, match="cannot split .* at random without reading all of it"):
        npz.load_data(tmp_path / "u.npz", mmap=True, test_split=0.2)
    with pytest.raises(ValueError, match=r"has no arrays \['x_train', 'y_train'\].*pass subset=None"):
        npz.dataset(tmp_path / "u.npz", subset="train")
    np.savez(tmp_path / "o.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(ValueError, match="holds Python objects"):
        npz.load_data(tmp_path / "o.npz", mmap=True)
    with pytest.raises(FileNotFoundError, match="No .npz file at"):
        npz.dataset(tmp_path / "missing.npz")
