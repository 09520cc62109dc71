"""hl.utils.load_img / img_to_array / array_to_img / save_img / pack / unpack against Keras's own."""

import io

import numpy as np
import pytest

import highlevel as hl

Image = pytest.importorskip("PIL.Image")
keras = pytest.importorskip("keras")


@pytest.fixture
def png(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "a.png"
    Image.fromarray(rng.integers(0, 255, (9, 13, 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("kwargs", [
    {}, dict(color_mode="grayscale"), dict(color_mode="rgba", target_size=(4, 5)),
    dict(target_size=(5, 4), interpolation="bilinear", keep_aspect_ratio=True),
    dict(target_size=(6, 6), interpolation="bicubic", keep_aspect_ratio=True)])
def test_load_img_matches_keras(png, kwargs):
    ours, theirs = hl.utils.load_img(png, **kwargs), keras.utils.load_img(png, **kwargs)
    assert ours.mode == theirs.mode and ours.size == theirs.size
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    buffer = io.BytesIO(png.read_bytes())
    np.testing.assert_array_equal(np.asarray(hl.utils.load_img(buffer, **kwargs)), np.asarray(ours))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_array_round_trip_matches_keras(png, tmp_path, data_format):
    for mode in ("rgb", "grayscale", "rgba"):
        img = keras.utils.load_img(png, color_mode=mode)
        ours = hl.utils.img_to_array(img, data_format=data_format)
        theirs = keras.utils.img_to_array(img, data_format=data_format)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
        for scale in (True, False):
            a = np.asarray(hl.utils.array_to_img(ours * 0.5, data_format=data_format, scale=scale))
            b = np.asarray(keras.utils.array_to_img(theirs * 0.5, data_format=data_format, scale=scale))
            np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(1).uniform(-1, 3, (5, 7, 3))
    hl.utils.save_img(tmp_path / "ours.jpg", x)
    keras.utils.save_img(tmp_path / "theirs.jpg", x)
    assert (tmp_path / "ours.jpg").read_bytes() == (tmp_path / "theirs.jpg").read_bytes()
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "ours.jpg")).shape, (5, 7, 3))


def test_image_errors(png):
    with pytest.raises(ValueError, match="color_mode must be 'grayscale', 'rgb' or 'rgba', got 'cmyk'"):
        hl.utils.load_img(png, color_mode="cmyk")
    with pytest.raises(ValueError, match="interpolation must be one of"):
        hl.utils.load_img(png, target_size=(3, 3), interpolation="cubic")
    with pytest.raises(TypeError, match="path must be a path or an io.BytesIO, got int"):
        hl.utils.load_img(3)
    with pytest.raises(ValueError, match="needs one image of rank 3, got shape \\(1, 2, 2, 3\\)"):
        hl.utils.array_to_img(np.zeros((1, 2, 2, 3)))
    with pytest.raises(ValueError, match="needs 1, 3 or 4 channels, got 2"):
        hl.utils.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="img_to_array needs an image of rank 2 or 3"):
        hl.utils.img_to_array(np.zeros(3))
    with pytest.raises(ValueError, match="data_format must be"):
        hl.utils.img_to_array(np.zeros((2, 2)), data_format="nhwc")


@pytest.mark.parametrize("args", [(1,), ([1, 2],), ((1, 2),), (1, 2), (1, 2, 3), (1, None, 3)])
def test_pack_unpack_match_keras(args):
    ours, theirs = hl.utils.pack_x_y_sample_weight(*args), keras.utils.pack_x_y_sample_weight(*args)
    assert ours == theirs
    assert hl.utils.unpack_x_y_sample_weight(ours) == keras.utils.unpack_x_y_sample_weight(theirs)
    assert hl.utils.unpack_x_y_sample_weight(list(args)) == keras.utils.unpack_x_y_sample_weight(list(args))


def test_unpack_error_and_sequence_alias():
    with pytest.raises(ValueError, match="got a tuple of 4 items"):
        hl.utils.unpack_x_y_sample_weight((1, 2, 3, 4))
    assert hl.utils.Sequence is hl.utils.PyDataset
