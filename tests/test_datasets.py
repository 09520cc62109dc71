"""hl.datasets: IDX (MNIST, Fashion-MNIST), npz, image folders, CSV and time series. Never touches the network."""

import dataclasses
import gzip
import hashlib
import io
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from highlevel.datasets import csv as hl_csv
from highlevel.datasets import fashion_mnist, image_folder, mnist, npz, timeseries
from highlevel.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding written by hand (independent of the reader)."""
    codes = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
             np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool) -> Path:
    data = idx_bytes(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def make_split(rng, n_train=7, n_test=3):
    return ((rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_train, dtype=np.uint8)),
            (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_test, dtype=np.uint8)))


def write_split(folder: Path, split, compress=(True, False, True, False)):
    (x_train, y_train), (x_test, y_test) = split
    for name, array, gz in zip(IDX_NAMES, (x_train, y_train, x_test, y_test), compress):
        write_idx(folder / name, array, gz)
    return folder


def assert_split_equal(got, want):
    for g, w in zip((*got[0], *got[1]), (*want[0], *want[1])):
        assert g.dtype == np.uint8 and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network, an empty home (so an empty cache) and no HIGHLEVEL_DATA."""
    calls = []

    def refuse(url, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("HIGHLEVEL_DATA", raising=False)
    return calls


def cache(name):
    return Path(os.environ["HOME"]) / ".cache" / "highlevel" / "datasets" / name


# ---------------------------------------------------------------- IDX reader


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dtype,shape", [("u1", (5, 4, 3)), ("u1", (6,)), ("i2", (2, 3)), ("i4", (4,)),
                                         ("f4", (2, 2, 2)), ("f8", (3,)), ("i1", (0, 28, 28))])
def test_read_idx_round_trip(tmp_path, rng, compress, dtype, shape):
    array = (rng.normal(size=shape) * 100).astype(dtype) if dtype[0] == "f" else \
        rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    got = read_idx(write_idx(tmp_path / "a.idx", array, compress))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative and got.shape == shape
    np.testing.assert_array_equal(got, array)
    assert got.flags.writeable


def test_read_idx_wrong_magic_names_the_file(tmp_path, rng):
    images = write_idx(tmp_path / "images", rng.integers(0, 255, (2, 28, 28), dtype=np.uint8), True)
    with pytest.raises(ValueError, match=r"images\.gz has IDX magic number 2051 .* expected 2049"):
        read_idx(images, expected_magic=LABELS_MAGIC)
    html = tmp_path / "train-images-idx3-ubyte"
    html.write_bytes(b"<html>Not Found</html>")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte is not an IDX file: its magic number is 0x3c68746d"):
        read_idx(html, expected_magic=IMAGES_MAGIC)
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="tiny is not an IDX file: it has 2 bytes"):
        read_idx(tiny)


def test_read_idx_truncated_and_trailing(tmp_path, rng):
    data = idx_bytes(rng.integers(0, 255, (3, 28, 28), dtype=np.uint8))
    raw = tmp_path / "cut-images"
    raw.write_bytes(data[:-10])
    with pytest.raises(ValueError, match=r"cut-images is truncated: its header says shape \(3, 28, 28\) of uint8, "
                                         r"which needs 2368 bytes, the file has 2358"):
        read_idx(raw)
    header_only = tmp_path / "cut-header"
    header_only.write_bytes(data[:9])
    with pytest.raises(ValueError, match="cut-header is truncated: its header needs 16 bytes for 3 dimensions"):
        read_idx(header_only)
    long = tmp_path / "long"
    long.write_bytes(data + b"\x00")
    with pytest.raises(ValueError, match="long has trailing bytes"):
        read_idx(long)
    cut_gz = tmp_path / "cut.gz"
    cut_gz.write_bytes(gzip.compress(data)[:-20])
    with pytest.raises(ValueError, match=r"cut\.gz is a damaged or truncated gzip file"):
        read_idx(cut_gz)
    with pytest.raises(FileNotFoundError, match="nope does not exist"):
        read_idx(tmp_path / "nope")


# ---------------------------------------------------------------- MNIST / Fashion-MNIST finding and downloading


def test_load_from_path_gz_and_raw(tmp_path, rng, offline):
    split = make_split(rng)
    write_split(tmp_path / "data", split)
    assert_split_equal(mnist.load_data(path=tmp_path / "data"), split)
    assert_split_equal(fashion_mnist.load_data(path=str(tmp_path / "data")), split)
    assert offline == []


def test_search_order_path_then_env_then_cache(tmp_path, rng, monkeypatch, offline):
    in_path, in_env, in_alias, in_cache = (make_split(rng) for _ in range(4))
    write_split(tmp_path / "given", in_path)
    write_split(tmp_path / "env" / "mnist", in_env, compress=(False,) * 4)
    write_split(tmp_path / "env" / "fashion-mnist", in_alias)
    write_split(cache("mnist"), in_cache)
    monkeypatch.setenv("HIGHLEVEL_DATA", str(tmp_path / "env"))
    assert_split_equal(mnist.load_data(tmp_path / "given"), in_path)
    assert_split_equal(mnist.load_data(), in_env)
    assert_split_equal(mnist.load_data(tmp_path / "empty"), in_env)  # path lacks the files: the search goes on
    assert_split_equal(fashion_mnist.load_data(), in_alias)
    monkeypatch.delenv("HIGHLEVEL_DATA")
    assert_split_equal(mnist.load_data(), in_cache)
    assert offline == []


def test_offline_error_says_what_is_missing_and_where(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("HIGHLEVEL_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_data(path=tmp_path / "mine")
    message = str(info.value)
    assert message.startswith("MNIST files not found: looked for train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                              "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (or the same names without .gz) in ")
    for folder in (tmp_path / "mine", tmp_path / "env" / "mnist", cache("mnist")):
        assert str(folder) in message
    assert "downloading https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz failed " \
           "(network disabled in tests)" in message
    assert "pass load_data(path=" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no urllib traceback chained
    assert offline and not any(cache("mnist").glob("*"))


def test_fashion_mnist_offline_error(monkeypatch, tmp_path):
    monkeypatch.setattr(fashion_mnist, "SOURCE", dataclasses.replace(fashion_mnist.SOURCE, system_dirs=()))
    with pytest.raises(FileNotFoundError, match=r"^Fashion-MNIST files not found: .*"
                                                r"downloading http://fashion-mnist\.s3-website\.eu-central-1"):
        fashion_mnist.load_data()
    # The Debian package that provides the files is named, and where it puts them.
    missing = tmp_path / "no-package"
    monkeypatch.setattr(fashion_mnist, "SOURCE", dataclasses.replace(fashion_mnist.SOURCE, system_dirs=(str(missing),)))
    with pytest.raises(FileNotFoundError, match=rf"install Debian's dataset-fashion-mnist \(apt-get install "
                                                rf"dataset-fashion-mnist, which puts them in {missing}\)"):
        fashion_mnist.load_data()


def serve(files: dict, calls: list):
    def urlopen(url, *args, **kwargs):
        calls.append(url)
        return io.BytesIO(files[url.rsplit("/", 1)[1]])
    return urlopen


def test_download_checks_and_caches(rng, monkeypatch):
    split = make_split(rng)
    (x_train, y_train), (x_test, y_test) = split
    files = {n + ".gz": gzip.compress(idx_bytes(a)) for n, a in zip(IDX_NAMES, (x_train, y_train, x_test, y_test))}
    sums = {n: "sha256:" + hashlib.sha256(b).hexdigest() for n, b in files.items()}
    monkeypatch.setattr(mnist, "SOURCE", dataclasses.replace(mnist.SOURCE, checksums=sums))
    write_idx(cache("mnist") / IDX_NAMES[1], y_train, compress=False)  # already there: not downloaded again
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen", serve(files, calls))
    assert_split_equal(mnist.load_data(), split)
    assert [c.rsplit("/", 1)[1] for c in calls] == [IDX_NAMES[0] + ".gz", IDX_NAMES[2] + ".gz", IDX_NAMES[3] + ".gz"]
    assert sorted(p.name for p in cache("mnist").iterdir()) == sorted(
        [IDX_NAMES[0] + ".gz", IDX_NAMES[1], IDX_NAMES[2] + ".gz", IDX_NAMES[3] + ".gz"])
    assert_split_equal(mnist.load_data(), split)
    assert len(calls) == 3


@pytest.mark.parametrize("module", [mnist, fashion_mnist])
def test_checksum_mismatch_is_refused_and_leaves_nothing(module, monkeypatch):
    monkeypatch.setattr(module, "SOURCE", dataclasses.replace(module.SOURCE, system_dirs=()))
    bad = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x05")
    monkeypatch.setattr(urllib.request, "urlopen", serve(dict.fromkeys((n + ".gz" for n in IDX_NAMES), bad), []))
    algorithm = "sha256" if module is mnist else "md5"
    with pytest.raises(ValueError, match=rf"train-images-idx3-ubyte\.gz has {algorithm} [0-9a-f]+, expected [0-9a-f]+; "
                                         "the file was discarded"):
        module.load_data()
    assert list(cache(module.SOURCE.name).iterdir()) == []


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist(offline):
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    # Keras's own reading: skip the 16-byte header.
    with gzip.open(DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz") as f:
        keras_x_test = np.frombuffer(f.read(), np.uint8, offset=16).reshape(10000, 28, 28)
    np.testing.assert_array_equal(x_test, keras_x_test)
    assert fashion_mnist.CLASS_NAMES[y_train[0]] == "Ankle boot"
    assert offline == [] and not cache("fashion_mnist").exists()


def test_importing_datasets_loads_no_optional_dependency():
    code = ("import sys, highlevel.datasets; "
            "print(sorted(m for m in ('PIL', 'sklearn', 'statsmodels', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- npz


def test_npz_split_layout(tmp_path, rng):
    arrays = dict(x_train=rng.normal(size=(5, 3)), y_train=np.arange(5), x_test=rng.normal(size=(2, 3)), y_test=[7, 8])
    np.savez(tmp_path / "d.npz", **arrays)
    (x_train, y_train), (x_test, y_test) = npz.load_data(tmp_path / "d.npz")
    for got, key in zip((x_train, y_train, x_test, y_test), ("x_train", "y_train", "x_test", "y_test")):
        np.testing.assert_array_equal(got, arrays[key])
    with pytest.raises(ValueError, match="already holds a train/test split .* leave test_split=None"):
        npz.load_data(tmp_path / "d.npz", test_split=0.2)
    np.savez(tmp_path / "named.npz", images_train=np.zeros((2, 1)), labels_train=[0, 1],
             images_test=np.ones((1, 1)), labels_test=[1])
    (x_train, _), (x_test, y_test) = npz.load_data(tmp_path / "named.npz", x_key="images", y_key="labels")
    assert x_train.shape == (2, 1) and x_test.tolist() == [[1.0]] and y_test.tolist() == [1]


def test_npz_xy_layout(tmp_path):
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.int64)
    np.savez_compressed(tmp_path / "d.npz", x=x, y=y)
    (x_train, y_train), (x_test, y_test) = npz.load_data(tmp_path / "d.npz")
    np.testing.assert_array_equal(x_train, x)
    assert x_test.shape == (0, 2) and y_test.shape == (0,) and y_train.dtype == np.int64
    (x_train, y_train), (x_test, y_test) = npz.load_data(tmp_path / "d.npz", test_split=0.3, seed=1)
    assert len(x_train) == 7 and len(x_test) == 3
    np.testing.assert_array_equal(x_train[:, 0] / 2, y_train)  # rows stay paired
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    again = npz.load_data(tmp_path / "d.npz", test_split=0.3, seed=1)
    np.testing.assert_array_equal(again[1][1], y_test)


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "a.npz", features=np.zeros(3), y=np.zeros(3))
    with pytest.raises(ValueError, match=r"has the arrays \['features', 'y'\]; expected either 'x' and 'y'"):
        npz.load_data(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", x=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(ValueError, match=r"'x' has shape \(3, 2\) and 'y' has shape \(4,\)"):
        npz.load_data(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(ValueError, match="array 'x' cannot be read without pickle"):
        npz.load_data(tmp_path / "c.npz")
    with pytest.raises(FileNotFoundError, match="No .npz file at"):
        npz.load_data(tmp_path / "missing.npz")
    (tmp_path / "d.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="d.npz is not a readable .npz file"):
        npz.load_data(tmp_path / "d.npz")


# ---------------------------------------------------------------- image folder


@pytest.fixture
def image_dir(tmp_path):
    from PIL import Image
    root = tmp_path / "images"
    colors = {"dog": [(10, 20, 30), (40, 50, 60), (70, 80, 90)], "cat": [(100, 110, 120), (130, 140, 150)]}
    for name, cols in colors.items():
        (root / name).mkdir(parents=True)
        for i, color in enumerate(cols):
            Image.new("RGB", (5 + i, 3 + 2 * i), color).save(root / name / f"{i}.png")
    (root / "cat" / "nested").mkdir()
    Image.new("L", (4, 4), 200).save(root / "cat" / "nested" / "gray.JPG", quality=100)
    (root / "cat" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_labels_sizes_values(image_dir):
    (x, y), (x_val, y_val), names = image_folder.load_data(image_dir, image_size=(6, 4), shuffle=False)
    assert names == ["cat", "dog"]
    assert x.shape == (6, 6, 4, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert y.tolist() == [0, 0, 0, 1, 1, 1] and x_val.shape == (0, 6, 4, 3) and y_val.shape == (0,)
    want = [(100, 110, 120), (130, 140, 150), (200, 200, 200), (10, 20, 30), (40, 50, 60), (70, 80, 90)]
    for image, color in zip(x, want):  # single-color images stay exact through the resize
        np.testing.assert_allclose(image, np.broadcast_to(np.float32(color), (6, 4, 3)), atol=1)
    (gray, _), _, _ = image_folder.load_data(image_dir, image_size=(2, 3), color_mode="grayscale",
                                             shuffle=False, class_names=["cat"])
    assert gray.shape == (3, 2, 3, 1) and abs(gray[2].mean() - 200) <= 1


def test_image_folder_validation_split(image_dir):
    (x, y), (x_val, y_val), _ = image_folder.load_data(image_dir, image_size=(2, 2), validation_split=0.5, seed=3)
    assert len(x) == 3 and len(x_val) == 3
    assert sorted(np.concatenate([y, y_val]).tolist()) == [0, 0, 0, 1, 1, 1]
    again = image_folder.load_data(image_dir, image_size=(2, 2), validation_split=0.5, seed=3)
    np.testing.assert_array_equal(again[1][0], x_val)
    # every image keeps its label: dog colors have R < 100
    np.testing.assert_array_equal(np.concatenate([x, x_val])[:, 0, 0, 0] < 95, np.concatenate([y, y_val]) == 1)


def test_image_folder_errors(tmp_path, image_dir):
    (image_dir / "dog" / "broken.png").write_bytes(b"not really a png")
    with pytest.raises(ValueError, match=r"Cannot read the image .*dog/broken\.png"):
        image_folder.load_data(image_dir, image_size=(4, 4))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no subfolders; put the images of each class in a subfolder"):
        image_folder.load_data(tmp_path / "empty")
    (tmp_path / "empty" / "a").mkdir()
    with pytest.raises(ValueError, match=r"has no images \(.bmp, .gif, .jpeg, .jpg, .png\) in its class folders \['a'\]"):
        image_folder.load_data(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="No folder at"):
        image_folder.load_data(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"class_names \['bird'\] are not subfolders"):
        image_folder.load_data(image_dir, class_names=["cat", "bird"])
    with pytest.raises(ValueError, match="color_mode must be one of"):
        image_folder.load_data(image_dir, color_mode="RGB")


# ---------------------------------------------------------------- CSV


def test_csv(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("\ufeffrooms,city,area,price\n3,Lyon,70.5,200\n\n4,Nice,90,310.5\n2,Paris,40,nan\n")
    (x, y), (x_test, y_test) = hl_csv.load_data(path, target="price", features=["rooms", "area"])
    np.testing.assert_array_equal(x, np.float32([[3, 70.5], [4, 90], [2, 40]]))
    np.testing.assert_array_equal(y, np.float32([200, 310.5, np.nan]))
    assert x.dtype == y.dtype == np.float32 and x_test.shape == (0, 2) and y_test.shape == (0,)
    (x, y), _ = hl_csv.load_data(path, target=["area", "price"], features=["rooms"])
    assert x.shape == (3, 1) and y.shape == (3, 2)
    (x, y), (x_test, y_test) = hl_csv.load_data(path, target="rooms", features=["area"], test_split=1 / 3)
    assert len(x) == 2 and len(x_test) == 1
    np.testing.assert_array_equal(np.sort(np.concatenate([y, y_test])), [2, 3, 4])
    with pytest.raises(ValueError, match=r"houses\.csv, line 2, column 'city': 'Lyon' is not a number"):
        hl_csv.load_data(path, target="price")
    with pytest.raises(ValueError, match=r"has no column 'cost'; its columns are \['rooms', 'city', 'area', 'price'\]"):
        hl_csv.load_data(path, target="cost")


def test_csv_errors(tmp_path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="ragged.csv, line 3: 1 cells, but the header has 2 columns"):
        hl_csv.load_data(ragged, target="b")
    blank = tmp_path / "blank.csv"
    blank.write_text("a,b\n1,\n")
    with pytest.raises(ValueError, match="line 2, column 'b': '' is not a number"):
        hl_csv.load_data(blank, target="b")
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    with pytest.raises(ValueError, match="has a header but no data rows"):
        hl_csv.load_data(header, target="b")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="is empty; a header row naming the columns is required"):
        hl_csv.load_data(tmp_path / "empty.csv", target="b")
    (tmp_path / "dup.csv").write_text("a,a,b\n1,2,3\n")
    with pytest.raises(ValueError, match=r"names columns \['a'\] more than once"):
        hl_csv.load_data(tmp_path / "dup.csv", target="b")


# ---------------------------------------------------------------- time series


def test_windows_by_hand():
    x, y = timeseries.windows(np.arange(7), window=3, horizon=2, stride=2)
    # starts 0 and 2: (7 - 3 - 2) // 2 + 1 = 2 windows
    assert x.shape == (2, 3, 1) and x.dtype == np.float32
    assert x[:, :, 0].tolist() == [[0, 1, 2], [2, 3, 4]]
    assert y.tolist() == [[3, 4], [5, 6]]
    x, y = timeseries.windows(np.arange(5), window=2)
    assert x[:, :, 0].tolist() == [[0, 1], [1, 2], [2, 3]] and y.tolist() == [[2], [3], [4]]


def test_windows_multivariate():
    series = np.stack([np.arange(6), 10 * np.arange(6)], axis=1)  # (6, 2)
    x, y = timeseries.windows(series, window=2)
    assert x.shape == (4, 2, 2) and y.shape == (4, 2)
    assert x[1].tolist() == [[1, 10], [2, 20]] and y[1].tolist() == [3, 30]
    x, y = timeseries.windows(series, window=2, horizon=3)
    assert y.shape == (2, 3, 2) and y[0, :, 1].tolist() == [20, 30, 40]
    x, y = timeseries.windows(series, window=2, horizon=3, target=1)
    assert y.tolist() == [[20, 30, 40], [30, 40, 50]]
    with pytest.raises(ValueError, match="fewer than window \\+ horizon = 5 \\+ 2"):
        timeseries.windows(series, window=5, horizon=2)
    with pytest.raises(ValueError, match="target columns \\[2\\] do not exist in a series of 2 features"):
        timeseries.windows(series, window=2, target=2)
    with pytest.raises(ValueError, match="series has NaN"):
        timeseries.windows([1.0, np.nan, 2.0, 3.0], window=2)


def test_split_and_naive_forecast():
    x, y = timeseries.windows(np.arange(14.0), window=3, horizon=2)  # 10 windows
    (x_train, y_train), (x_test, y_test) = timeseries.split(x, y, 0.3)
    assert len(x_train) == 7 and len(x_test) == 3
    assert x_test[0, 0, 0] == 7 and y_train[-1].tolist() == [9, 10]  # chronological, not shuffled
    naive = timeseries.naive_forecast(x_test, horizon=2)
    assert naive.shape == y_test.shape and naive.tolist() == [[9, 9], [10, 10], [11, 11]]
    series = np.stack([np.arange(6.0), -np.arange(6.0)], axis=1)
    x, y = timeseries.windows(series, window=2)
    assert timeseries.naive_forecast(x).tolist() == x[:, -1, :].tolist()
    assert timeseries.naive_forecast(x).shape == y.shape
    with pytest.raises(ValueError, match="leaves an empty test set"):
        timeseries.split(x, y, 0.01)


def test_load_series():
    pytest.importorskip("statsmodels")
    co2, dates = timeseries.load_series("co2", return_dates=True)
    assert co2.shape == (2284,) and co2.dtype == np.float32 and np.isfinite(co2).all()
    assert str(dates[0]) == "1958-03-29" and str(dates[-1]) == "2001-12-29"
    assert 310 < co2.min() < co2.max() < 380
    monthly = timeseries.load_series("co2", frequency="monthly")
    assert monthly.shape == (526,) and np.isfinite(monthly).all()
    sunspots, years = timeseries.load_series("sunspots", return_dates=True)
    assert sunspots.shape == (309,) and sunspots[:3].tolist() == [5, 11, 16] and str(years[-1]) == "2008-01-01"
    assert timeseries.load_series("nile").shape == (100,)
    with pytest.raises(ValueError, match=r"Unknown series 'air'; available: \['co2', 'nile', 'sunspots'\]"):
        timeseries.load_series("air")
    with pytest.raises(ValueError, match="Series 'sunspots' is yearly; frequency must be one of"):
        timeseries.load_series("sunspots", frequency="monthly")
