"""Trains on a Grain dataset with BackupAndRestore; may kill itself (SIGKILL) after a chosen step.

Run by tests/test_grain.py in fresh processes: once killed mid-epoch, once resumed, and once
without BackupAndRestore, to compare the final weights bit for bit.

  python grain_resume_script.py OUT.npz [--backup-dir D --save-freq N] [--kill-at-step K]
                                [--pipeline records|iter] [--steps-per-execution K]
"""

import argparse
import os
import signal

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--backup-dir")
    p.add_argument("--save-freq", type=int, default=4)
    p.add_argument("--kill-at-step", type=int)
    p.add_argument("--pipeline", default="records", choices=["records", "iter"])
    p.add_argument("--steps-per-execution", type=int, default=1)
    args = p.parse_args()

    import grain
    import highlevel as hl

    class StepCounter(hl.callbacks.Callback):
        """Counts the steps run in this process; dies at --kill-at-step."""
        def __init__(self):
            super().__init__()
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if args.kill_at_step is not None and self.steps == args.kill_at_step:
                os.kill(os.getpid(), signal.SIGKILL)

    hl.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 6)).astype(np.float32)
    y = ((x[:, 0] + x[:, 1] > 0).astype(np.int32) + (x[:, 2] > 1).astype(np.int32))
    records = grain.MapDataset.source([(x[i], y[i]) for i in range(len(x))])
    if args.pipeline == "records":
        data, batch_size = records, 16   # fit shuffles the rows per epoch and batches them
    else:
        # A streaming pipeline with its own shuffle and random augmentation: only the Grain
        # iterator's state says where it stands.
        noisy = records.shuffle(seed=3).random_map(
            lambda r, g: (r[0] + 0.01 * g.standard_normal(6).astype(np.float32), r[1]), seed=7)
        data, batch_size = noisy.to_iter_dataset().batch(16), None
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"),
                           hl.layers.BatchNormalization(), hl.layers.Dropout(0.3), hl.layers.Dense(3)])
    model.compile(optimizer=hl.optimizers.Adam(0.01), steps_per_execution=args.steps_per_execution,
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    counter = StepCounter()
    callbacks = [counter]
    if args.backup_dir:
        callbacks.append(hl.callbacks.BackupAndRestore(args.backup_dir, save_freq=args.save_freq))
    steps = 7 if args.pipeline == "iter" else None   # an IterDataset has no length
    history = model.fit(data, batch_size=batch_size, epochs=3, shuffle=True, steps_per_epoch=steps,
                        callbacks=callbacks, verbose=0)
    np.savez(args.out, *model.get_weights(), steps=counter.steps, epochs=len(history.history["loss"]),
             loss=np.asarray(history.history["loss"]))


if __name__ == "__main__":
    main()
