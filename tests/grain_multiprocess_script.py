"""One process of a data-parallel run over Grain records (tests/test_grain.py runs two, and one alone).

Every process passes the same records and the global batch size; each reads its own block
(``ShardByJaxProcess``). The single process (``num_processes == 1``) reads the rows in the
order of the two-process run's global batches, so both take the same steps.

  python grain_multiprocess_script.py PROCESS_ID NUM_PROCESSES PORT OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np

BATCH, ROWS = 16, 88   # 44 rows a process: 5 local batches of 8, the last of 4 (padded)


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    return x, y


def _two_process_order(n=ROWS, processes=2, batch=BATCH):
    """The rows of the two-process run's global batches, in order: block p's local batch b per p."""
    per, local = n // processes, batch // processes
    return np.concatenate([np.arange(p * per + b * local, min(p * per + (b + 1) * local, (p + 1) * per))
                           for b in range(-(-per // local)) for p in range(processes)])


def main(process_id: int, num_processes: int, port: int, out: str) -> None:
    import highlevel as hl
    if num_processes > 1:
        hl.distribute.initialize(f"127.0.0.1:{port}", num_processes, process_id)
    import grain
    import jax
    hl.utils.set_random_seed(0)
    x, y = _data()
    if num_processes == 1:
        order = _two_process_order()
        x, y = x[order], y[order]
    records = grain.MapDataset.source([(x[i], y[i]) for i in range(len(x))])
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"), hl.layers.Dense(2)])
    distribution = hl.distribute.DataParallel() if num_processes > 1 else None
    model.compile(optimizer=hl.optimizers.Adam(1e-2), distribution=distribution,
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    # The last global batch holds 4 rows of each process's block and 8 padding rows; the single
    # process gets the same 8 rows, padded at the end: the same loss and gradients.
    history = model.fit(records, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    evaluated = model.evaluate(records, batch_size=BATCH, verbose=0, return_dict=True)
    name = f"p{process_id}" if num_processes > 1 else "single"
    np.savez(Path(out) / f"{name}.npz", *model.get_weights(), loss=np.asarray(history.history["loss"]),
             evaluated_loss=np.asarray(evaluated["loss"]), process_count=np.asarray(jax.process_count()))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
