"""hl.datasets' Keras loaders (CIFAR-10/100, IMDB, Reuters, Boston and California housing) against Keras's own.

Small files in the exact format of Keras's downloads go through Keras's loader (its
``get_file`` patched to return the file) and highlevel's; the results must agree in type,
dtype, shape and value (and, for ragged arrays, the type of every element). Then the lookup
order (user's folder, ``$HIGHLEVEL_DATA``, highlevel's cache, Keras's cache under a temporary
``$KERAS_HOME``, hashes checked) and the error messages. Never touches the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import struct
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest

from highlevel.datasets import boston_housing, california_housing, cifar10, cifar100, imdb, reuters

kd = pytest.importorskip("keras.src.datasets")
import keras.src.datasets.boston_housing as k_boston  # noqa: E402
import keras.src.datasets.california_housing as k_california  # noqa: E402
import keras.src.datasets.cifar10 as k_cifar10  # noqa: E402
import keras.src.datasets.cifar100 as k_cifar100  # noqa: E402
import keras.src.datasets.imdb as k_imdb  # noqa: E402
import keras.src.datasets.reuters as k_reuters  # noqa: E402


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network (the URLs asked are recorded), an empty home, an empty Keras home, no HIGHLEVEL_* folders."""
    calls = []
    real_urlopen = urllib.request.urlopen

    def refuse(url, *args, **kwargs):
        if str(url).startswith("file:"):
            return real_urlopen(url, *args, **kwargs)
        calls.append(url)
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    for name in ("home", "keras_home"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("HIGHLEVEL_DATA", raising=False)
    monkeypatch.delenv("HIGHLEVEL_HOME", raising=False)
    return calls


def keras_on(monkeypatch, module, path):
    """Keras's loader module, its ``get_file`` returning ``path`` whatever it is asked."""
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: str(path))
    return module


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def md5(path) -> str:
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def assert_same(got, want):
    """Two ``(x_train, y_train), (x_test, y_test)`` results are equal: types, dtypes, shapes, values."""
    got = [a for split in got for a in split]
    want = [a for split in want for a in split]
    assert len(got) == len(want) == 4
    for i, (g, w) in enumerate(zip(got, want)):
        assert type(g) is type(w), (i, type(g), type(w))
        assert g.dtype == w.dtype and g.shape == w.shape, (i, g.dtype, w.dtype, g.shape, w.shape)
        if w.dtype == object:
            assert g.tolist() == w.tolist(), i
            assert [[type(v) for v in row] for row in g] == [[type(v) for v in row] for row in w], i
        else:
            np.testing.assert_array_equal(g, w)


# ---------------------------------------------------------------- fixture files


class Py2Pickler(pickle._Pickler):
    """Pickles ``bytes`` as Python 2's ``str`` (BINSTRING), as CIFAR's batches were written."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj):
        n = len(obj)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj if n < 256 else
                   pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def write_batch(path, rng, n, labels: dict):
    batch = {b"batch_label": b"fixture", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    batch.update({k.encode(): v for k, v in labels.items()})
    with open(path, "wb") as f:
        Py2Pickler(f, protocol=2).dump(batch)


def tar_folder(root, folder, archive, mode="w:gz"):
    with tarfile.open(archive, mode) as tar:
        tar.add(root / folder, arcname=folder)
    return archive


def cifar100_files(tmp_path, rng, n_train=7, n_test=3):
    """``(extracted, archive)``: a folder holding ``cifar-100-python/{train,test}``, and its tar.gz."""
    root = tmp_path / "c100"
    (root / "cifar-100-python").mkdir(parents=True)
    for name, n in (("train", n_train), ("test", n_test)):
        write_batch(root / "cifar-100-python" / name, rng, n,
                    {"fine_labels": rng.integers(0, 100, n).tolist(), "coarse_labels": rng.integers(0, 20, n).tolist()})
    return root, tar_folder(root, "cifar-100-python", tmp_path / "cifar-100-python.tar.gz")


def ragged(rows):
    array = np.empty(len(rows), dtype=object)
    array[:] = rows
    return array


def sequences(rng, n, vocabulary=20):
    return ragged([rng.integers(1, vocabulary, rng.integers(1, 11)).tolist() for _ in range(n)])


def imdb_file(tmp_path, rng, name="imdb.npz"):
    path = tmp_path / name
    np.savez(path, x_train=sequences(rng, 12), y_train=rng.integers(0, 2, 12),
             x_test=sequences(rng, 9), y_test=rng.integers(0, 2, 9))
    return path


def reuters_file(tmp_path, rng, name="reuters.npz"):
    path = tmp_path / name
    np.savez(path, x=sequences(rng, 23), y=rng.integers(0, 46, 23))
    return path


def housing_file(tmp_path, rng, name, n, features):
    path = tmp_path / name
    np.savez(path, x=rng.normal(size=(n, features)), y=rng.uniform(10, 50, n).astype(np.float32))
    return path


def word_index_file(tmp_path, name):
    path = tmp_path / name
    path.write_text(json.dumps({"the": 1, "and": 2, "a": 3, "zebra": 88}))
    return path


# ---------------------------------------------------------------- CIFAR


def test_cifar10_equals_keras_on_full_size_batches(tmp_path, monkeypatch, rng):
    # Keras preallocates 50,000 training rows, so its loader needs five batches of 10,000.
    root = tmp_path / "c10"
    (root / "cifar-10-batches-py").mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        write_batch(root / "cifar-10-batches-py" / name, rng, 10000, {"labels": rng.integers(0, 10, 10000).tolist()})
    want = keras_on(monkeypatch, k_cifar10, root).load_data()
    assert want[0][0].shape == (50000, 32, 32, 3) and want[1][1].shape == (10000, 1)
    assert_same(cifar10.load_data(path=root), want)
    archive = tar_folder(root, "cifar-10-batches-py", tmp_path / "cifar-10-python.tar", mode="w")
    assert_same(cifar10.load_data(path=archive), want)
    assert_same(cifar10.load_data(path=root / "cifar-10-batches-py"), want)
    # the image layout is CIFAR's: 1024 red, then green, then blue values, row by row
    data = pickle.load(open(root / "cifar-10-batches-py" / "test_batch", "rb"), encoding="bytes")[b"data"]
    (_, _), (x_test, _) = cifar10.load_data(path=root)
    assert x_test[4, 2, 3].tolist() == [data[4, 2 * 32 + 3], data[4, 1024 + 2 * 32 + 3], data[4, 2048 + 2 * 32 + 3]]


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_equals_keras(tmp_path, monkeypatch, rng, label_mode):
    root, archive = cifar100_files(tmp_path, rng)
    want = keras_on(monkeypatch, k_cifar100, root).load_data(label_mode=label_mode)
    got = cifar100.load_data(label_mode, path=archive)
    assert_same(got, want)
    assert_same(cifar100.load_data(label_mode=label_mode, path=root), want)
    assert got[0][1].max() < (100 if label_mode == "fine" else 20)
    assert got[0][0].shape == (7, 32, 32, 3) and got[1][1].dtype == np.int64
    (_, other), _ = cifar100.load_data("coarse" if label_mode == "fine" else "fine", path=archive)
    assert not np.array_equal(got[0][1], other)   # the label_mode is not ignored


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (tmp_path / "cifar-100-python").mkdir()
    for name in ("train", "test"):
        with open(tmp_path / "cifar-100-python" / name, "wb") as f:
            Py2Pickler(f, protocol=2).dump({b"data": Evil(), b"fine_labels": []})
    with pytest.raises(pickle.UnpicklingError, match="Refusing to rebuild (posix|os).system"):
        cifar100.load_data(path=tmp_path)
    np.savez(tmp_path / "imdb.npz", x_train=np.array([Evil()], dtype=object), y_train=[0],
             x_test=np.array([Evil()], dtype=object), y_test=[0])
    with pytest.raises(pickle.UnpicklingError, match="Refusing to rebuild (posix|os).system"):
        imdb.load_data(path=tmp_path / "imdb.npz")


def test_cifar_archive_without_the_batches_is_named(tmp_path, rng):
    root, _ = cifar100_files(tmp_path, rng)
    archive = tar_folder(root, "cifar-100-python", tmp_path / "wrong.tar.gz")
    with pytest.raises(ValueError, match="wrong.tar.gz lacks cifar-10-batches-py/data_batch_1, .*test_batch: it is "
                                         "not the archive of CIFAR's python version"):
        cifar10.load_data(path=archive)


# ---------------------------------------------------------------- IMDB and Reuters


SEQUENCE_OPTIONS = [
    {},
    {"num_words": 9},
    {"num_words": 12, "skip_top": 5},
    {"maxlen": 7},
    {"maxlen": 9, "num_words": 10, "oov_char": None},
    {"index_from": 0, "start_char": None},
    {"index_from": 5, "start_char": 2, "oov_char": 1, "num_words": 15},
    {"start_char": None, "skip_top": 6},
    {"seed": 7},
]


@pytest.mark.parametrize("options", SEQUENCE_OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or
                         "defaults")
def test_imdb_equals_keras(tmp_path, monkeypatch, rng, options):
    path = imdb_file(tmp_path, rng)
    want = keras_on(monkeypatch, k_imdb, path).load_data(**options)
    got = imdb.load_data(path=path, **options)
    assert_same(got, want)
    if options:  # every option changes the result: the comparison is not of two defaults
        default = imdb.load_data(path=path)
        assert [r.tolist() for split in got for r in split] != [r.tolist() for split in default for r in split]


@pytest.mark.parametrize("options", SEQUENCE_OPTIONS + [{"test_split": 0.5}, {"test_split": 0.0}],
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_reuters_equals_keras(tmp_path, monkeypatch, rng, options):
    path = reuters_file(tmp_path, rng)
    want = keras_on(monkeypatch, k_reuters, path).load_data(**options)
    got = reuters.load_data(path=path, **options)
    assert_same(got, want)
    if options:
        default = reuters.load_data(path=path)
        assert [r.tolist() for split in got for r in split] != [r.tolist() for split in default for r in split]


def test_word_indexes_and_label_names_equal_keras(tmp_path, monkeypatch):
    for ours, theirs, name in ((imdb, k_imdb, "imdb_word_index.json"), (reuters, k_reuters, "reuters_word_index.json")):
        path = word_index_file(tmp_path, name)
        want = keras_on(monkeypatch, theirs, path).get_word_index()
        assert ours.get_word_index(path=path) == want == {"the": 1, "and": 2, "a": 3, "zebra": 88}
        assert ours.get_word_index(path=tmp_path) == want   # the folder holding it
    assert reuters.get_label_names() == k_reuters.get_label_names()
    assert len(reuters.get_label_names()) == 46


# ---------------------------------------------------------------- housing


@pytest.mark.parametrize("options", [{}, {"test_split": 0.5, "seed": 3}, {"test_split": 0.0}, {"test_split": 0.999}])
def test_boston_housing_equals_keras(tmp_path, monkeypatch, rng, options):
    path = housing_file(tmp_path, rng, "boston_housing.npz", 41, 13)
    want = keras_on(monkeypatch, k_boston, path).load_data(**options)
    got = boston_housing.load_data(path=path, **options)
    assert_same(got, want)
    assert got[0][1].dtype == np.float32 and len(got[0][0]) + len(got[1][0]) == 41


@pytest.mark.parametrize("options", [{}, {"version": "small"}, {"version": "small", "test_split": 0.1, "seed": 5},
                                     {"test_split": 0.0}])
def test_california_housing_equals_keras(tmp_path, monkeypatch, rng, options):
    path = housing_file(tmp_path, rng, "california_housing.npz", 650, 8)
    want = keras_on(monkeypatch, k_california, path).load_data(**options)
    got = california_housing.load_data(path=path, **options)
    assert_same(got, want)
    assert len(got[0][0]) + len(got[1][0]) == (600 if options.get("version") == "small" else 650)


# ---------------------------------------------------------------- where the files are found


def test_user_folder_comes_first_and_is_not_hash_checked(tmp_path, rng, offline):
    (tmp_path / "mine").mkdir()
    path = imdb_file(tmp_path / "mine", rng)
    keras_cache = tmp_path / "keras_home" / "datasets"
    keras_cache.mkdir(parents=True)
    other = imdb_file(keras_cache, np.random.default_rng(99))
    want = imdb.load_data(path=path)
    assert_same(imdb.load_data(path=tmp_path / "mine"), want)
    assert offline == [] and sha256(path) != sha256(other)


def test_highlevel_data_folder(tmp_path, monkeypatch, rng, offline):
    (tmp_path / "data" / "boston_housing").mkdir(parents=True)
    path = housing_file(tmp_path / "data" / "boston_housing", rng, "boston_housing.npz", 20, 13)
    monkeypatch.setenv("HIGHLEVEL_DATA", str(tmp_path / "data"))
    assert_same(boston_housing.load_data(), boston_housing.load_data(path=path))
    assert offline == []


def test_keras_cache_is_used_when_its_hash_is_keras(tmp_path, monkeypatch, rng, offline):
    keras_cache = tmp_path / "keras_home" / "datasets"
    keras_cache.mkdir(parents=True)
    path = reuters_file(keras_cache, rng)
    monkeypatch.setattr(reuters, "SOURCE", dataclasses.replace(reuters.SOURCE, file_hash=sha256(path)))
    want = keras_on(monkeypatch, k_reuters, path).load_data(num_words=10)
    assert_same(reuters.load_data(num_words=10), want)
    index = word_index_file(keras_cache, "reuters_word_index.json")
    monkeypatch.setattr(reuters, "WORD_INDEX", dataclasses.replace(reuters.WORD_INDEX, file_hash=md5(index)))
    assert reuters.get_word_index() == json.loads(index.read_text())
    renamed = reuters_file(keras_cache, rng, name="my_reuters.npz")   # Keras's path="my_reuters.npz"
    monkeypatch.setattr(reuters, "SOURCE", dataclasses.replace(reuters.SOURCE, file_hash=sha256(renamed)))
    assert_same(reuters.load_data(path="my_reuters.npz"), reuters.load_data(path=renamed))
    assert offline == []                                   # nothing downloaded
    assert not (tmp_path / "home" / ".cache").exists()     # and nothing copied


def test_keras_cache_cifar_archive_under_keras_name(tmp_path, monkeypatch, rng, offline):
    root, archive = cifar100_files(tmp_path, rng)
    keras_cache = tmp_path / "keras_home" / "datasets"
    keras_cache.mkdir(parents=True)
    cached = keras_cache / "cifar-100-python-target_archive"
    cached.write_bytes(archive.read_bytes())
    monkeypatch.setattr(cifar100, "SOURCE", dataclasses.replace(cifar100.SOURCE, file_hash=sha256(cached)))
    want = keras_on(monkeypatch, k_cifar100, root).load_data("coarse")
    assert_same(cifar100.load_data("coarse"), want)
    assert offline == []


def test_keras_cache_file_with_another_hash_is_refused(tmp_path, rng, offline):
    keras_cache = tmp_path / "keras_home" / "datasets"
    keras_cache.mkdir(parents=True)
    imdb_file(keras_cache, rng)   # not the real file: its sha256 is not Keras's
    with pytest.raises(FileNotFoundError) as err:
        imdb.load_data()
    message = str(err.value)
    assert offline == [imdb.SOURCE.origin]
    assert f"{keras_cache / 'imdb.npz'} does not have Keras's sha256 {imdb.SOURCE.file_hash}" in message
    assert "so it was not used" in message
    assert f"downloading {imdb.SOURCE.origin} failed (network disabled in tests)" in message
    target = tmp_path / "home" / ".cache" / "highlevel" / "datasets" / "imdb.npz"
    assert f"Download {imdb.SOURCE.origin} by hand and put it at {target}" in message


def test_download_goes_to_highlevel_cache_checked_then_is_reused(tmp_path, monkeypatch, rng, offline):
    source_file = housing_file(tmp_path, rng, "served.npz", 30, 8)
    monkeypatch.setenv("HIGHLEVEL_HOME", str(tmp_path / "hl_home"))
    monkeypatch.setattr(california_housing, "SOURCE", dataclasses.replace(
        california_housing.SOURCE, origin=source_file.as_uri(), file_hash=sha256(source_file)))
    got = california_housing.load_data()
    cached = tmp_path / "hl_home" / "datasets" / "california_housing.npz"
    assert cached.read_bytes() == source_file.read_bytes()
    assert_same(got, california_housing.load_data(path=source_file))
    source_file.unlink()   # the second call reads the cache
    assert_same(california_housing.load_data(), got)


def test_download_with_another_hash_is_discarded(tmp_path, monkeypatch, rng):
    source_file = housing_file(tmp_path, rng, "served.npz", 30, 13)
    monkeypatch.setattr(boston_housing, "SOURCE", dataclasses.replace(
        boston_housing.SOURCE, origin=source_file.as_uri(), file_hash="0" * 64))
    with pytest.raises(ValueError, match="has sha256 [0-9a-f]{64}, expected 0{64}; the file was discarded"):
        boston_housing.load_data()
    assert not (tmp_path / "home" / ".cache" / "highlevel" / "datasets" / "boston_housing.npz").exists()


def test_stale_highlevel_cache_is_downloaded_again(tmp_path, monkeypatch, rng):
    source_file = word_index_file(tmp_path, "served.json")
    cache = tmp_path / "home" / ".cache" / "highlevel" / "datasets"
    cache.mkdir(parents=True)
    (cache / "imdb_word_index.json").write_text('{"stale": 1}')
    monkeypatch.setattr(imdb, "WORD_INDEX", dataclasses.replace(
        imdb.WORD_INDEX, origin=source_file.as_uri(), file_hash=md5(source_file)))
    assert imdb.get_word_index() == {"the": 1, "and": 2, "a": 3, "zebra": 88}
    assert (cache / "imdb_word_index.json").read_text() == source_file.read_text()


# ---------------------------------------------------------------- errors


def test_wrong_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"^cifar100.load_data: label_mode must be 'fine' or 'coarse', "
                                         r"got 'coarse2'\.$"):
        cifar100.load_data(label_mode="coarse2")
    with pytest.raises(ValueError, match=r"^california_housing.load_data: version must be 'small' or 'large', "
                                         r"got 'huge'\.$"):
        california_housing.load_data(version="huge")
    for load, name in ((boston_housing.load_data, "boston_housing"), (california_housing.load_data,
                                                                      "california_housing")):
        for bad in (1.5, 1.0, -0.1, "0.2"):
            with pytest.raises(ValueError, match=rf"^{name}.load_data: test_split must be a fraction in \[0, 1\) "
                                                 rf"\(0 <= test_split < 1\), got {bad!r}\.$"):
                load(test_split=bad)
    with pytest.raises(ValueError, match=r"^reuters.load_data: test_split must be a fraction in \[0, 1\] "
                                         r"\(0 <= test_split <= 1\), got 1.5\.$"):
        reuters.load_data(test_split=1.5)
    with pytest.raises(TypeError, match=r"imdb.load_data got unexpected keyword arguments \['nb_words'\]"):
        imdb.load_data(nb_words=100)
    with pytest.raises(FileNotFoundError, match="IMDB: there is no file at .*nowhere/imdb.npz. Pass the path"):
        imdb.load_data(path=tmp_path / "nowhere" / "imdb.npz")


def test_failed_cifar_download_names_the_url_and_the_place(tmp_path, offline):
    with pytest.raises(FileNotFoundError) as err:
        cifar10.load_data()
    message = str(err.value)
    assert offline == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert "Download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz by hand and put it at " \
           f"{tmp_path / 'home' / '.cache' / 'highlevel' / 'datasets' / 'cifar-10-python.tar.gz'}" in message
    assert "$HIGHLEVEL_DATA/cifar10/" in message and "path=<the file, or the folder holding it>" in message


def test_imdb_maxlen_that_keeps_nothing(tmp_path, monkeypatch, rng):
    path = imdb_file(tmp_path, rng)
    with pytest.raises(ValueError, match="no sequence was kept"):
        keras_on(monkeypatch, k_imdb, path).load_data(maxlen=1)
    with pytest.raises(ValueError, match=r"imdb.load_data: no review is shorter than maxlen=1 in the training "
                                         r"split; increase maxlen"):
        imdb.load_data(path=path, maxlen=1)
