"""One process of a data-parallel run over several processes (tests/test_distribute.py runs two)."""

import sys

import numpy as np

import highlevel as hl


def main(process_id: int, num_processes: int, port: int, out: str) -> None:
    if num_processes > 1:
        hl.distribute.initialize(f"127.0.0.1:{port}", num_processes, process_id)
    import jax
    hl.utils.set_random_seed(0)
    (x, y), _ = hl.datasets.digits.load_data(test_split=0.2, seed=0)
    x, y = x[:256].reshape(256, -1), y[:256]
    model = hl.Sequential([hl.Input((64,)), hl.layers.Dense(32, activation="relu"), hl.layers.Dense(10)])
    distribution = hl.distribute.DataParallel() if num_processes > 1 else None
    model.compile(optimizer=hl.optimizers.Adam(1e-2), distribution=distribution,
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=3, shuffle=True, verbose=0)
    np.savez(out, *model.get_weights(), loss=np.asarray(history.history["loss"]),
             devices=np.asarray(len(jax.devices())), process_count=np.asarray(jax.process_count()))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
