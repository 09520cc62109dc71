"""Federated averaging (FedAvg, McMahan et al. 2017) on non-IID clients, next to centralized training.

    python recipes/federated_averaging.py [--clients 10] [--rounds 20] [--local-epochs 1]
        [--batch-size 10] [--learning-rate 0.1] [--alpha 0.5] [--fraction 1.0]
        [--dataset digits|fashion_mnist] [--plot fedavg.png] [--seed 0]

K simulated clients each hold a non-IID shard of the training set: by default McMahan's
pathological split (examples sorted by label, cut into 2K shards, two shards per client, so a
client sees about two labels); with ``--alpha`` each label is spread over the clients by a
Dirichlet(alpha) draw instead (smaller alpha: more skewed, and shard sizes differ a lot).

Each round every client (or, with ``--fraction C``, a random ``max(1, round(C K))`` of them)
starts from the global weights and runs E epochs of minibatch SGD (batch B) on its own shard;
the server replaces the global weights by the clients' weights averaged with weights
``n_k / sum(n_k)`` over the clients of the round. All clients of a round train at once:
``jax.vmap`` over the stacked client data inside one ``jax.jit``.

Clients of different sizes are padded to the largest shard ``n_max``, with a mask. Every client
runs ``ceil(n_max / B)`` steps per epoch, but its shuffle puts its own examples first and the
padding last, the loss of a batch is the mean over its real examples only, and a step whose
batch holds no real example leaves weights and optimizer state untouched. So a client's update
equals E epochs of SGD on its ``n_k`` examples alone with ``ceil(n_k / B)`` steps per epoch (the
last batch partial); the shuffle draws one random number per example index (``fold_in``), so the
order of a client's examples does not depend on how much padding follows them.

The baseline trains the same model from the same initial weights on the pooled data with
``hl`` ``fit`` (SGD, same learning rate and batch size) for R x E epochs: the same number of
passes over every example, and about the same number of SGD steps.

What it does not do: no secure aggregation (the server sees every client's weights), no
differential privacy (no clipping, no noise), no communication compression, no stragglers or
dropped clients, and the clients are simulated in one process. Client sampling only with
``--fraction``. The model has no non-trainable state (no batch normalization statistics to average).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import highlevel as hl

# -- data -------------------------------------------------------------------------------------


def load_dataset(name: str = "digits", seed: int = 0):
    """``(x_train, y_train), (x_test, y_test)`` as float32 images ``(n, h, w, 1)`` in [0, 1], int32 labels."""
    if name == "digits":
        return hl.datasets.digits.load_data(test_split=0.2, seed=seed)
    if name in ("fashion_mnist", "fashion-mnist"):
        (x_train, y_train), (x_test, y_test) = hl.datasets.fashion_mnist.load_data()
        prep = lambda x: (np.asarray(x, np.float32) / 255.0)[..., None]  # noqa: E731
        return (prep(x_train), y_train.astype(np.int32)), (prep(x_test), y_test.astype(np.int32))
    raise ValueError(f"Unknown dataset {name!r}; expected 'digits' or 'fashion_mnist'.")


def shard_split(labels: np.ndarray, num_clients: int, shards_per_client: int = 2,
                seed: int = 0) -> list[np.ndarray]:
    """McMahan's pathological non-IID split: sort by label, cut into ``num_clients * shards_per_client``
    shards, give each client ``shards_per_client`` random shards. Returns each client's indices."""
    num_shards = num_clients * shards_per_client
    if num_shards > len(labels):
        raise ValueError(f"{num_clients} clients x {shards_per_client} shards need at least {num_shards} "
                         f"examples, got {len(labels)}. Use fewer clients or shards.")
    rng = np.random.default_rng(seed)
    order = np.argsort(labels, kind="stable")
    shards = np.array_split(order, num_shards)
    assignment = rng.permutation(num_shards).reshape(num_clients, shards_per_client)
    return [np.sort(np.concatenate([shards[s] for s in row])) for row in assignment]


def dirichlet_split(labels: np.ndarray, num_clients: int, alpha: float = 0.5, min_size: int = 2,
                    seed: int = 0) -> list[np.ndarray]:
    """Each label's examples spread over the clients in Dirichlet(alpha) proportions (redrawn until
    every client has ``min_size`` examples). Returns each client's indices."""
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}.")
    if num_clients * min_size > len(labels):
        raise ValueError(f"{num_clients} clients with at least {min_size} examples need "
                         f"{num_clients * min_size} examples, got {len(labels)}.")
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        parts: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
        for cls in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == cls))
            cuts = (np.cumsum(rng.dirichlet(np.full(num_clients, alpha)))[:-1] * len(idx)).astype(int)
            for k, piece in enumerate(np.split(idx, cuts)):
                parts[k].append(piece)
        clients = [np.sort(np.concatenate(p)) for p in parts]
        if min(len(c) for c in clients) >= min_size:
            return clients
    raise ValueError(f"Could not give every client {min_size} examples with alpha={alpha}; raise alpha.")


def pad_clients(x: np.ndarray, y: np.ndarray, client_indices: Sequence[np.ndarray]):
    """Stacks the clients' data, each padded at the end to the largest shard.

    Returns ``(xs, ys, mask, sizes)``: ``xs`` ``(K, n_max, ...)``, ``ys`` ``(K, n_max)``, ``mask``
    ``(K, n_max)`` (True for real examples), ``sizes`` ``(K,)``.
    """
    sizes = np.array([len(i) for i in client_indices])
    n_max = int(sizes.max())
    xs = np.zeros((len(sizes), n_max) + x.shape[1:], x.dtype)
    ys = np.zeros((len(sizes), n_max), y.dtype)
    mask = np.zeros((len(sizes), n_max), bool)
    for k, idx in enumerate(client_indices):
        xs[k, :len(idx)], ys[k, :len(idx)], mask[k, :len(idx)] = x[idx], y[idx], True
    return xs, ys, mask, sizes


# -- model and the client update ------------------------------------------------------------


def build_model(input_shape: tuple = (8, 8, 1), units: int = 64, num_classes: int = 10) -> hl.Sequential:
    return hl.Sequential([
        hl.Input(input_shape),
        hl.layers.Flatten(),
        hl.layers.Dense(units, activation="relu"),
        hl.layers.Dense(num_classes),
    ], name="fedavg_mlp")


def shuffle_order(key: jax.Array, mask: jax.Array) -> jax.Array:
    """A permutation of ``range(len(mask))``: the real examples in random order, then the padding.

    Example ``i`` draws its number from ``fold_in(key, i)``, so the order of the real examples does
    not depend on how much padding follows them.
    """
    n = mask.shape[0]
    u = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i)))(jnp.arange(n))
    return jnp.argsort(jnp.where(mask, u, 2.0 + jnp.arange(n)), stable=True)


def make_client_update(graphdef, rest, tx: optax.GradientTransformation, local_epochs: int,
                       batch_size: int):
    """``client_update(params, x, y, mask, key) -> params``: E epochs of SGD on one (padded) client.

    ``x`` ``(n, ...)``, ``y`` ``(n,)``, ``mask`` ``(n,)``; pure, so it can be vmapped over clients.
    """

    def loss_fn(params, xb, yb, mb):
        logits = nnx.merge(graphdef, params, rest)(xb, training=True)
        per_example = optax.softmax_cross_entropy_with_integer_labels(logits, yb)
        return jnp.sum(jnp.where(mb, per_example, 0.0)) / jnp.maximum(jnp.sum(mb), 1)

    def client_update(params, x, y, mask, key):
        n = mask.shape[0]
        steps = -(-n // batch_size)
        positions = jnp.arange(steps * batch_size)

        def epoch(carry, e):
            order = shuffle_order(jax.random.fold_in(key, e), mask)
            idx = jnp.where(positions < n, order[jnp.minimum(positions, n - 1)], 0)
            idx = idx.reshape(steps, batch_size)
            in_range = (positions < n).reshape(steps, batch_size)

            def step(carry, batch_idx_and_valid):
                params, opt_state = carry
                b, valid = batch_idx_and_valid
                mb = mask[b] & valid
                grads = jax.grad(loss_fn)(params, x[b], y[b], mb)
                updates, new_opt = tx.update(grads, opt_state, params)
                new_params = optax.apply_updates(params, updates)
                # A batch of padding only is not a step: weights and optimizer state stay.
                has_data = jnp.any(mb)
                keep = lambda new, old: jnp.where(has_data, new, old)  # noqa: E731
                return (jax.tree.map(keep, new_params, params), jax.tree.map(keep, new_opt, opt_state)), None

            return jax.lax.scan(step, carry, (idx, in_range))[0], None

        (params, _), _ = jax.lax.scan(epoch, (params, tx.init(params)), jnp.arange(local_epochs))
        return params

    return client_update


def fedavg_aggregate(client_params, sizes: jax.Array):
    """The clients' weights averaged with weights ``n_k / sum(n_k)`` (leading axis: clients)."""
    w = jnp.asarray(sizes, jnp.float32) / jnp.sum(jnp.asarray(sizes, jnp.float32))
    return jax.tree.map(lambda p: jnp.tensordot(w, p, axes=1).astype(p.dtype), client_params)


def make_round(client_update):
    """``round(params, xs, ys, mask, sizes, keys) -> params``: all clients in parallel, then the average."""

    @jax.jit
    def fedavg_round(params, xs, ys, mask, sizes, keys):
        client_params = jax.vmap(client_update, in_axes=(None, 0, 0, 0, 0))(params, xs, ys, mask, keys)
        return fedavg_aggregate(client_params, sizes)

    return fedavg_round


def make_accuracy(graphdef, rest):
    @jax.jit
    def accuracy(params, x, y):
        logits = nnx.merge(graphdef, params, rest)(x, training=False)
        return jnp.mean(jnp.argmax(logits, -1) == y)

    return accuracy


# -- the experiment ------------------------------------------------------------------------------


@dataclasses.dataclass
class FedAvgResult:
    fedavg_accuracy: list[float]        # global test accuracy after each round
    centralized_accuracy: list[float]   # test accuracy after each round's worth of epochs
    client_sizes: list[int]
    client_labels: list[list[int]]      # the labels each client holds
    fedavg_seconds: float
    centralized_seconds: float
    model: Any                          # the global FedAvg model (an hl.Sequential)


def run(dataset: str = "digits", num_clients: int = 10, rounds: int = 20, local_epochs: int = 1,
        batch_size: int = 10, learning_rate: float = 0.1, alpha: float | None = None,
        shards_per_client: int = 2, fraction: float = 1.0, centralized: bool = True, seed: int = 0,
        verbose: int = 1) -> FedAvgResult:
    """Runs FedAvg for ``rounds`` rounds (and the centralized baseline); returns a :class:`FedAvgResult`."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    hl.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_dataset(dataset, seed)
    if alpha is None:
        parts = shard_split(y_train, num_clients, shards_per_client, seed)
    else:
        parts = dirichlet_split(y_train, num_clients, alpha, seed=seed)
    xs, ys, mask, sizes = pad_clients(x_train, y_train, parts)
    client_labels = [sorted(np.unique(y_train[p]).tolist()) for p in parts]

    model = build_model(x_train.shape[1:])
    graphdef, params, rest = nnx.split(model.module, nnx.Param, ...)
    initial_weights = model.get_weights()
    fedavg_round = make_round(make_client_update(graphdef, rest, optax.sgd(learning_rate),
                                                 local_epochs, batch_size))
    accuracy = make_accuracy(graphdef, rest)
    x_test_j, y_test_j = jnp.asarray(x_test), jnp.asarray(y_test)
    xs, ys, mask, sizes = map(jnp.asarray, (xs, ys, mask, sizes))

    per_round = max(1, round(fraction * num_clients))
    rng = np.random.default_rng(seed + 1)
    key = jax.random.key(seed)
    fed_acc = []
    start = time.perf_counter()
    for r in range(rounds):
        chosen = np.arange(num_clients) if per_round == num_clients else np.sort(
            rng.choice(num_clients, per_round, replace=False))
        keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.fold_in(key, r), k))(jnp.asarray(chosen))
        params = fedavg_round(params, xs[chosen], ys[chosen], mask[chosen], sizes[chosen], keys)
        fed_acc.append(float(accuracy(params, x_test_j, y_test_j)))
        if verbose:
            print(f"round {r + 1:3d}: FedAvg test accuracy {fed_acc[-1]:.4f}", flush=True)
    fed_seconds = time.perf_counter() - start
    nnx.update(model.module, params)

    central_acc, central_seconds = [], 0.0
    if centralized:
        baseline = build_model(x_train.shape[1:])
        baseline.set_weights(initial_weights)
        baseline.compile(optimizer=hl.optimizers.SGD(learning_rate),
                         loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        start = time.perf_counter()
        history = baseline.fit(x_train, y_train, batch_size=batch_size, epochs=rounds * local_epochs,
                               validation_data=(x_test, y_test), verbose=0)
        central_seconds = time.perf_counter() - start
        central_acc = [float(a) for a in history.history["val_accuracy"][local_epochs - 1::local_epochs]]
    return FedAvgResult(fed_acc, central_acc, [int(s) for s in np.asarray(sizes)], client_labels,
                        fed_seconds, central_seconds, model)


def plot(result: FedAvgResult, path: str, title: str = "") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6, 4))
    rounds = np.arange(1, len(result.fedavg_accuracy) + 1)
    ax.plot(rounds, result.fedavg_accuracy, "o-", label=f"FedAvg ({len(result.client_sizes)} non-IID clients)")
    if result.centralized_accuracy:
        ax.plot(rounds, result.centralized_accuracy, "s--", label="centralized (pooled data, hl fit)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("round (= E epochs of centralized training)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> FedAvgResult:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", choices=["digits", "fashion_mnist"])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--local-epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--alpha", type=float, default=None,
                        help="Dirichlet label split with this concentration (default: 2 label-shards per client)")
    parser.add_argument("--shards-per-client", type=int, default=2)
    parser.add_argument("--fraction", type=float, default=1.0, help="fraction C of clients per round")
    parser.add_argument("--no-centralized", action="store_true", help="skip the centralized baseline")
    parser.add_argument("--plot", default=None, help="save the accuracy curves to this PNG")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = run(args.dataset, args.clients, args.rounds, args.local_epochs, args.batch_size,
                 args.learning_rate, args.alpha, args.shards_per_client, args.fraction,
                 centralized=not args.no_centralized, seed=args.seed, verbose=0)
    split = f"Dirichlet(alpha={args.alpha})" if args.alpha is not None else f"{args.shards_per_client} label-shards"
    print(f"{args.dataset}: {args.clients} clients, {split} each; sizes {result.client_sizes}")
    print("labels per client: " + " ".join("".join(map(str, l)) for l in result.client_labels))
    print("round  FedAvg  centralized")
    for r, acc in enumerate(result.fedavg_accuracy):
        central = f"{result.centralized_accuracy[r]:.4f}" if result.centralized_accuracy else "   -"
        print(f"{r + 1:5d}  {acc:.4f}  {central}")
    central = f"; centralized fit: {result.centralized_seconds:.1f} s" if result.centralized_accuracy else ""
    print(f"FedAvg: {result.fedavg_seconds:.1f} s for {args.rounds} rounds (incl. compilation){central}")
    print("Not done here: secure aggregation, differential privacy, compression, stragglers"
          + ("" if args.fraction < 1 else ", client sampling (use --fraction C)") + ".")
    if args.plot:
        plot(result, args.plot, f"FedAvg vs centralized on {args.dataset}")
        print(f"plot saved to {args.plot}")
    return result


if __name__ == "__main__":
    main()
