"""One process of a data-parallel run over several processes (tests/test_distribute.py runs two).

Each process trains on its own block of rows (``hl.distribute.shard``) with the global batch
size; the single-process run (``num_processes == 1``) gets the same global batches by
interleaving the blocks. Files (a saved model, a checkpoint, a CSV log, a backup, a
configured run) go to the shared directory ``out`` and must be written once, by process 0.
"""

import sys
from pathlib import Path

import numpy as np

import highlevel as hl

BATCH, ROWS = 32, 256
MLP_CONFIG = """
name: mlp
output_dir: {runs}
seed: 0
data: {{source: digits, test_split: 0.2, batch_size: 32}}
model:
  layers: [{{Flatten: {{}}}}, {{Dense: {{units: 32, activation: relu}}}}, {{Dense: {{units: 10}}}}]
optimizer: {{name: adam, learning_rate: 0.01}}
loss: {{SparseCategoricalCrossentropy: {{from_logits: true}}}}
metrics: [accuracy]
trainer: {{epochs: 2, validation_split: 0.1, verbose: 0, distribution: data_parallel}}
"""


def _data():
    (x, y), _ = hl.datasets.digits.load_data(test_split=0.2, seed=0)
    return x[:ROWS].reshape(ROWS, -1), y[:ROWS]


def _single_process_order(x, processes=2):
    """The rows in the order the two-process run's global batches take them."""
    blocks = np.split(np.arange(len(x)), processes)
    per = BATCH // processes
    return np.concatenate([b[j * per:(j + 1) * per] for j in range(len(blocks[0]) // per) for b in blocks])


def main(process_id: int, num_processes: int, port: int, out: str) -> None:
    if num_processes > 1:
        hl.distribute.initialize(f"127.0.0.1:{port}", num_processes, process_id)
    import jax
    out = Path(out)
    hl.utils.set_random_seed(0)
    x, y = _data()
    if num_processes > 1:
        x, y = hl.distribute.shard((x, y))
        assert len(x) == ROWS // num_processes
    else:
        order = _single_process_order(x)
        x, y = x[order], y[order]
    model = hl.Sequential([hl.Input((64,)), hl.layers.Dense(32, activation="relu"), hl.layers.Dense(10)])
    distribution = hl.distribute.DataParallel() if num_processes > 1 else None
    model.compile(optimizer=hl.optimizers.Adam(1e-2), distribution=distribution,
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    files = out / "files"
    callbacks = [hl.callbacks.CSVLogger(str(files / "log.csv"), append=True),
                 hl.callbacks.ModelCheckpoint(str(files / "checkpoint")),
                 hl.callbacks.BackupAndRestore(str(files / "backup"), delete_checkpoint=False),
                 hl.callbacks.TensorBoard(str(files / "tensorboard"))]
    history = model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
                        callbacks=callbacks if num_processes > 1 else [])
    evaluated = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
    predictions = model.predict(x, batch_size=BATCH, verbose=0)
    name = f"p{process_id}" if num_processes > 1 else "single"
    if num_processes > 1:
        model.save(files / "model")
        from highlevel.config.run import train
        config = out / "mlp.yaml"
        config.write_text(MLP_CONFIG.format(runs=files / "runs"))
        run_dir = train(config)
        (out / f"{name}-run_dir.txt").write_text(str(run_dir))
    np.savez(out / f"{name}.npz", *model.get_weights(), loss=np.asarray(history.history["loss"]),
             x=x, predictions=predictions, evaluated_loss=np.asarray(evaluated["loss"]),
             devices=np.asarray(len(jax.devices())), process_count=np.asarray(jax.process_count()))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
