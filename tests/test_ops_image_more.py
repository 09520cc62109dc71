"""hl.ops.image's affine/perspective/elastic transforms, gaussian_blur, sobel_edges, ssim and
extract_patches_3d against Keras 3.15's keras.ops.image (JAX backend) on the same inputs."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import ops

RNG = np.random.default_rng(0)
IMAGES = RNG.random((2, 6, 7, 3)).astype("float32")
OTHER = RNG.random((2, 6, 7, 3)).astype("float32")
TRANSFORMS = np.array([[1.1, 0.2, -1.0, 0.1, 0.9, 0.5, 0, 0], [0.8, -0.3, 2.0, 0.2, 1.2, -1.5, 0, 0]], "float32")
START = np.array([[0, 0], [6, 0], [0, 5], [6, 5]], "float32")
END = START + RNG.normal(size=(2, 4, 2)).astype("float32")


def _layout(images, data_format, unbatched):
    images = images[0] if unbatched else images
    return np.moveaxis(images, -1, -3) if data_format == "channels_first" else images


def _close(got, expected, atol=1e-5):
    assert np.asarray(got).shape == np.asarray(expected).shape
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=atol, rtol=1e-5)


@pytest.mark.parametrize("interpolation,fill_mode,data_format,unbatched", [
    ("bilinear", "constant", "channels_last", False), ("nearest", "reflect", "channels_first", False),
    ("bilinear", "wrap", "channels_last", True), ("bilinear", "mirror", "channels_first", True),
    ("nearest", "nearest", "channels_last", False)])
def test_affine_transform_matches_keras(interpolation, fill_mode, data_format, unbatched):
    images = _layout(IMAGES, data_format, unbatched)
    transform = TRANSFORMS[0] if unbatched else TRANSFORMS
    kwargs = dict(interpolation=interpolation, fill_mode=fill_mode, fill_value=0.25, data_format=data_format)
    expected = keras.ops.image.affine_transform(images, transform, **kwargs)
    _close(ops.image.affine_transform(images, transform, **kwargs), expected)
    if fill_mode == "constant":
        _close(jax.jit(lambda x, t: ops.image.affine_transform(x, t, **kwargs))(images, transform), expected)


def test_affine_transform_divides_by_the_projective_term_as_keras_documents():
    # Keras's docs: input point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1.
    t = np.array([1.0, 0.1, 0.5, 0.05, 1.0, -0.5, 0.02, -0.03], "float32")
    ys, xs = np.mgrid[0:6, 0:7].astype("float32")
    k = t[6] * xs + t[7] * ys + 1
    coords = [(t[3] * xs + t[4] * ys + t[5]) / k, (t[0] * xs + t[1] * ys + t[2]) / k]
    expected = np.stack([jax.scipy.ndimage.map_coordinates(IMAGES[1, ..., c], coords, 1, mode="nearest")
                         for c in range(3)], axis=-1)
    _close(ops.image.affine_transform(IMAGES[1], t, fill_mode="nearest"), expected)


@pytest.mark.parametrize("interpolation,data_format,unbatched", [
    ("bilinear", "channels_last", False), ("nearest", "channels_first", False), ("bilinear", "channels_first", True)])
def test_perspective_transform_matches_keras(interpolation, data_format, unbatched):
    images = _layout(IMAGES, data_format, unbatched)
    start, end = (START, END[0]) if unbatched else (np.stack([START, START]), END)
    kwargs = dict(interpolation=interpolation, fill_value=0.5, data_format=data_format)
    expected = keras.ops.image.perspective_transform(images, start, end, **kwargs)
    _close(ops.image.perspective_transform(images, start, end, **kwargs), expected, atol=1e-4)


@pytest.mark.parametrize("interpolation,fill_mode,data_format,unbatched", [
    ("bilinear", "reflect", "channels_last", False), ("nearest", "constant", "channels_first", True)])
def test_elastic_transform_matches_keras_for_a_seed(interpolation, fill_mode, data_format, unbatched):
    images = _layout(IMAGES, data_format, unbatched)
    kwargs = dict(alpha=3.0, sigma=1.0, interpolation=interpolation, fill_mode=fill_mode, fill_value=0.5, seed=7,
                  data_format=data_format)
    with jax.numpy_rank_promotion("allow"):   # Keras broadcasts (1, h, w) with (h, w) for one image
        expected = keras.ops.image.elastic_transform(images, **kwargs)
    _close(ops.image.elastic_transform(images, **kwargs), expected, atol=1e-4)
    if not unbatched:
        _close(jax.jit(lambda x: ops.image.elastic_transform(x, **kwargs))(images), expected, atol=1e-4)
    assert not np.allclose(np.asarray(ops.image.elastic_transform(images, alpha=3.0, sigma=1.0, seed=8,
                                                                  data_format=data_format)), np.asarray(expected))


@pytest.mark.parametrize("data_format,unbatched", [("channels_last", False), ("channels_first", True)])
def test_gaussian_blur_matches_keras(data_format, unbatched):
    images = _layout(IMAGES, data_format, unbatched)
    for size, sigma in (((3, 3), (1.0, 1.0)), ((5, 5), (0.7, 0.7))):
        expected = keras.ops.image.gaussian_blur(images, size, sigma, data_format=data_format)
        _close(ops.image.gaussian_blur(images, size, sigma, data_format=data_format), expected)


def test_gaussian_blur_kernel_size_is_height_then_width_as_keras_documents():
    # Keras 3.15's code reads kernel_size and sigma as (width, height), against its docs.
    expected = keras.ops.image.gaussian_blur(IMAGES, (5, 3), (2.0, 0.8), data_format="channels_last")
    _close(ops.image.gaussian_blur(IMAGES, (3, 5), (0.8, 2.0)), expected)
    # data_format=None is channels_last, as Keras documents (its eager code reads channels_first).
    _close(ops.image.gaussian_blur(IMAGES), keras.ops.image.gaussian_blur(IMAGES, data_format="channels_last"))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_sobel_edges_match_keras(data_format):
    images = _layout(IMAGES, data_format, False)
    expected = keras.ops.image.sobel_edges(images, data_format=data_format)
    _close(ops.image.sobel_edges(images, data_format=data_format), expected)


@pytest.mark.parametrize("kwargs,data_format,unbatched", [
    ({}, "channels_last", False), ({"filter_size": 3, "filter_sigma": 0.8}, "channels_first", True),
    ({"max_val": 255.0, "filter_size": 5, "k1": 0.02, "k2": 0.05}, "channels_last", False)])
def test_ssim_matches_keras(kwargs, data_format, unbatched):
    scale = kwargs.get("max_val", 1.0)
    big = [RNG.random((2, 12, 13, 3)).astype("float32") * scale for _ in range(2)]
    first, second = (_layout(image, data_format, unbatched) for image in big)
    expected = keras.ops.image.ssim(first, second, data_format=data_format, **kwargs)
    _close(ops.image.ssim(first, second, data_format=data_format, **kwargs), expected)
    _close(ops.image.ssim(first, first, data_format=data_format, **kwargs), np.ones_like(expected), atol=1e-4)


@pytest.mark.parametrize("kwargs,data_format,unbatched", [
    ({"size": 2}, "channels_last", False), ({"size": (2, 3, 2), "strides": 1, "padding": "same"}, "channels_first", False),
    ({"size": (2, 2, 2), "strides": (1, 2, 1), "dilation_rate": 2}, "channels_last", True)])
def test_extract_patches_3d_matches_keras(kwargs, data_format, unbatched):
    volumes = RNG.random((2, 5, 6, 5, 2)).astype("float32")
    volumes = volumes[0] if unbatched else volumes
    if data_format == "channels_first":
        volumes = np.moveaxis(volumes, -1, -4)
    expected = keras.ops.image.extract_patches_3d(volumes, data_format=data_format, **kwargs)
    _close(ops.image.extract_patches_3d(volumes, data_format=data_format, **kwargs), expected)


def test_symbolic_inputs_give_keras_shapes_and_run_in_a_functional_model():
    images, other = hl.Input((6, 7, 3)), hl.Input((6, 7, 3))
    volumes = hl.Input((4, 4, 4, 2))
    outputs = {
        "affine": ops.image.affine_transform(images, TRANSFORMS[0]),
        "perspective": ops.image.perspective_transform(images, START, END[0]),
        "elastic": ops.image.elastic_transform(images, alpha=2.0, sigma=1.0, seed=1),
        "blur": ops.image.gaussian_blur(images),
        "sobel": ops.image.sobel_edges(images),
        "ssim": ops.image.ssim(images, other, filter_size=3),
        "patches": ops.image.extract_patches_3d(volumes, 2),
    }
    shapes = {name: tuple(out.shape) for name, out in outputs.items()}
    assert shapes == {"affine": (None, 6, 7, 3), "perspective": (None, 6, 7, 3), "elastic": (None, 6, 7, 3),
                      "blur": (None, 6, 7, 3), "sobel": (None, 6, 7, 3, 2), "ssim": (None,),
                      "patches": (None, 2, 2, 2, 16)}
    model = hl.Model([images, other, volumes], [outputs["blur"], outputs["sobel"], outputs["ssim"],
                                                 outputs["affine"]])
    got = model([IMAGES, OTHER, np.zeros((2, 4, 4, 4, 2), "float32")])
    _close(got[0], ops.image.gaussian_blur(IMAGES))
    _close(got[1], ops.image.sobel_edges(IMAGES))
    _close(got[2], ops.image.ssim(IMAGES, OTHER, filter_size=3))
    _close(got[3], ops.image.affine_transform(IMAGES, TRANSFORMS[0]))


def test_bad_arguments_are_refused_with_what_was_given():
    with pytest.raises(ValueError, match="interpolation must be one of 'nearest', 'bilinear', got 'bicubic'"):
        ops.image.affine_transform(IMAGES, TRANSFORMS, interpolation="bicubic")
    with pytest.raises(ValueError, match="fill_mode must be one of .* got 'edge'"):
        ops.image.elastic_transform(IMAGES, fill_mode="edge")
    with pytest.raises(ValueError, match=r"transform must be 8 numbers or \(batch, 8\), got shape \(6,\)"):
        ops.image.affine_transform(IMAGES, TRANSFORMS[0, :6])
    with pytest.raises(ValueError, match="images must be rank 3 .* got shape"):
        ops.image.gaussian_blur(IMAGES[0, 0])
    with pytest.raises(ValueError, match=r"start_points must be \(4, 2\)"):
        ops.image.perspective_transform(IMAGES, START[:3], END[0, :3])
    with pytest.raises(ValueError, match="start_points and end_points must have the same shape"):
        ops.image.perspective_transform(IMAGES, START, END)
    with pytest.raises(ValueError, match="sobel_edges: images must be a batch"):
        ops.image.sobel_edges(IMAGES[0])
    with pytest.raises(ValueError, match="filter_size must be an odd integer >= 1, got 4"):
        ops.image.ssim(IMAGES, OTHER, filter_size=4)
    with pytest.raises(ValueError, match="image1 and image2 must have the same shape"):
        ops.image.ssim(IMAGES, OTHER[0])
    with pytest.raises(ValueError, match="data_format must be one of"):
        ops.image.gaussian_blur(IMAGES, data_format="NHWC")
    with pytest.raises(ValueError, match="kernel_size must be a number or a pair"):
        ops.image.gaussian_blur(IMAGES, kernel_size=(3, 3, 3))
    with pytest.raises(ValueError, match="sigma must be a Python number"):
        jax.jit(lambda s: ops.image.elastic_transform(IMAGES, sigma=s))(jnp.float32(1.0))
    with pytest.raises(ValueError, match="padding must be one of 'valid', 'same', got 'full'"):
        ops.image.extract_patches_3d(np.zeros((4, 4, 4, 1)), 2, padding="full")
    with pytest.raises(ValueError, match="volumes must be rank 4"):
        ops.image.extract_patches_3d(IMAGES[0], 2)
