"""The FedAvg recipe: non-IID splits, exact weighted averaging, padded vmapped clients, learning."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from recipes import federated_averaging as fa
from tests.compile_count import count_compilations


@pytest.fixture(scope="module")
def digits():
    return fa.load_dataset("digits", seed=0)


# -- splits ---------------------------------------------------------------------------------------


def _check_partition(parts, n):
    everything = np.concatenate(parts)
    assert len(everything) == n
    np.testing.assert_array_equal(np.sort(everything), np.arange(n))


def test_shard_split_is_non_iid_and_covers_every_example_once(digits):
    (_, y), _ = digits
    parts = fa.shard_split(y, num_clients=10, shards_per_client=2, seed=0)
    assert len(parts) == 10
    _check_partition(parts, len(y))
    labels_per_client = [len(np.unique(y[p])) for p in parts]
    # Two shards of ~72 sorted examples (a label has ~144), so each shard straddles at most 2 labels.
    assert max(labels_per_client) <= 4, labels_per_client
    assert np.mean(labels_per_client) <= 3, labels_per_client


def test_dirichlet_split_is_skewed_uneven_and_covers_every_example_once(digits):
    (_, y), _ = digits
    parts = fa.dirichlet_split(y, num_clients=10, alpha=0.1, seed=0)
    _check_partition(parts, len(y))
    sizes = np.array([len(p) for p in parts])
    assert sizes.min() >= 2 and sizes.max() > 2 * sizes.min(), sizes
    # Most of a client's examples come from a few labels (IID would give ~10% per label).
    top3 = [np.sort(np.bincount(y[p], minlength=10))[-3:].sum() / len(p) for p in parts]
    assert min(top3) > 0.5 and np.mean(top3) > 0.75, top3


def test_split_errors_say_what_to_change():
    with pytest.raises(ValueError, match="need at least 20 examples, got 5"):
        fa.shard_split(np.zeros(5, int), num_clients=10)
    with pytest.raises(ValueError, match="alpha must be > 0, got 0"):
        fa.dirichlet_split(np.zeros(50, int), num_clients=2, alpha=0.0)
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\], got 1.5"):
        fa.run(fraction=1.5)
    with pytest.raises(ValueError, match="Unknown dataset 'cifar'"):
        fa.load_dataset("cifar")


def test_pad_clients_keeps_each_client_data_first_and_masks_the_rest(rng):
    x = rng.standard_normal((9, 2, 2, 1)).astype(np.float32)
    y = np.arange(9, dtype=np.int32)
    xs, ys, mask, sizes = fa.pad_clients(x, y, [np.array([0, 4]), np.array([1, 2, 3, 5, 6]), np.array([7, 8])])
    np.testing.assert_array_equal(sizes, [2, 5, 2])
    assert xs.shape == (3, 5, 2, 2, 1) and ys.shape == mask.shape == (3, 5)
    np.testing.assert_array_equal(mask.sum(1), sizes)
    np.testing.assert_array_equal(ys[1], [1, 2, 3, 5, 6])
    np.testing.assert_array_equal(xs[0, :2], x[[0, 4]])
    assert not xs[0, 2:].any()


# -- aggregation ----------------------------------------------------------------------------------


def test_weighted_average_matches_numpy(rng):
    client_params = {"dense": {"kernel": rng.standard_normal((4, 3, 5)).astype(np.float32),
                               "bias": rng.standard_normal((4, 5)).astype(np.float32)}}
    sizes = np.array([10, 3, 250, 41])
    got = fa.fedavg_aggregate(jax.tree.map(jnp.asarray, client_params), jnp.asarray(sizes))
    w = sizes / sizes.sum()
    for name in ("kernel", "bias"):
        expected = sum(w[k] * client_params["dense"][name][k].astype(np.float64) for k in range(4))
        np.testing.assert_allclose(got["dense"][name], expected, rtol=1e-6, atol=1e-6)
    # Equal sizes give the plain mean; one client with all the data gives its weights back.
    same = fa.fedavg_aggregate(client_params, jnp.array([7, 7, 7, 7]))
    np.testing.assert_allclose(same["dense"]["bias"], client_params["dense"]["bias"].mean(0), atol=1e-6)
    one = fa.fedavg_aggregate(client_params, jnp.array([0, 0, 5, 0]))
    np.testing.assert_array_equal(one["dense"]["kernel"], client_params["dense"]["kernel"][2])


# -- the client update ----------------------------------------------------------------------------


def test_shuffle_order_puts_real_examples_first_independent_of_padding():
    key = jax.random.key(3)
    alone = np.asarray(fa.shuffle_order(key, jnp.ones(7, bool)))
    padded = np.asarray(fa.shuffle_order(key, jnp.arange(12) < 7))
    np.testing.assert_array_equal(padded[:7], alone)
    np.testing.assert_array_equal(padded[7:], np.arange(7, 12))
    assert sorted(alone) == list(range(7))


def _reference_client(model, params, x, y, key, tx, epochs, batch_size):
    """Plain SGD on one client's own (unpadded) data, one Python step at a time."""
    graphdef, _, rest = nnx.split(model.module, nnx.Param, ...)

    def loss(p, xb, yb):
        logits = nnx.merge(graphdef, p, rest)(xb, training=True)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    @jax.jit
    def step(params, opt_state, xb, yb):
        updates, opt_state = tx.update(jax.grad(loss)(params, xb, yb), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    opt_state = tx.init(params)
    n = len(y)
    for e in range(epochs):
        order = np.asarray(fa.shuffle_order(jax.random.fold_in(key, e), jnp.ones(n, bool)))
        for start in range(0, n, batch_size):   # the last batch is partial
            b = order[start:start + batch_size]
            params, opt_state = step(params, opt_state, x[b], y[b])
    return params


@pytest.mark.parametrize("tx", [optax.sgd(0.1), optax.sgd(0.05, momentum=0.9)], ids=["sgd", "momentum"])
def test_vmapped_padded_client_equals_training_that_client_alone(digits, tx):
    (x, y), _ = digits
    # Client 1 has 23 examples padded to 61: 3 steps of its own, then 4 all-padding steps per epoch.
    parts = [np.arange(0, 61), np.arange(100, 123), np.arange(200, 240)]
    xs, ys, mask, sizes = fa.pad_clients(x, y, parts)
    model = fa.build_model((8, 8, 1))
    graphdef, params, rest = nnx.split(model.module, nnx.Param, ...)
    epochs, batch_size = 2, 10
    update = fa.make_client_update(graphdef, rest, tx, epochs, batch_size)
    keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.key(0), k))(jnp.arange(3))
    vmapped = jax.jit(jax.vmap(update, in_axes=(None, 0, 0, 0, 0)))(
        params, jnp.asarray(xs), jnp.asarray(ys), jnp.asarray(mask), keys)
    client1 = jax.tree.map(lambda p: p[1], vmapped)
    alone = _reference_client(model, params, x[parts[1]], y[parts[1]], keys[1], tx, epochs, batch_size)
    for got, want in zip(jax.tree.leaves(client1), jax.tree.leaves(alone)):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    # The update moved the weights (the test is not comparing two no-ops).
    moved = max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(alone), jax.tree.leaves(params)))
    assert moved > 1e-3


def test_a_round_compiles_once(digits):
    (x, y), _ = digits
    xs, ys, mask, sizes = map(jnp.asarray, fa.pad_clients(x, y, fa.shard_split(y, 4, seed=0)))
    model = fa.build_model((8, 8, 1))
    graphdef, params, rest = nnx.split(model.module, nnx.Param, ...)
    fedavg_round = fa.make_round(fa.make_client_update(graphdef, rest, optax.sgd(0.1), 1, 32))
    keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.key(0), k))(jnp.arange(4))
    params = fedavg_round(params, xs, ys, mask, sizes, keys)
    with count_compilations() as compiled:
        for _ in range(2):
            params = fedavg_round(params, xs, ys, mask, sizes, keys)
    assert compiled == []


# -- the recipe -----------------------------------------------------------------------------------


def test_fedavg_accuracy_rises_round_over_round():
    result = fa.run(rounds=5, centralized=False, verbose=0)
    acc = result.fedavg_accuracy
    assert len(acc) == 5
    assert acc[4] > acc[0] and acc[4] > 0.5, acc
    # The returned hl model holds the global weights.
    (_, _), (x_test, y_test) = fa.load_dataset("digits", 0)
    predicted = result.model.predict(x_test, verbose=0).argmax(-1)
    np.testing.assert_allclose(np.mean(predicted == y_test), acc[-1], atol=1e-6)


def test_main_with_client_sampling_dirichlet_and_plot(tmp_path, capsys):
    path = tmp_path / "fedavg.png"
    result = fa.main(["--rounds", "2", "--alpha", "0.5", "--fraction", "0.5", "--plot", str(path)])
    out = capsys.readouterr().out
    assert "FedAvg" in out and "centralized" in out and "secure aggregation" in out
    assert "client sampling" not in out  # it is done here, with --fraction
    assert len(result.fedavg_accuracy) == len(result.centralized_accuracy) == 2
    assert len(set(result.client_sizes)) > 1
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
