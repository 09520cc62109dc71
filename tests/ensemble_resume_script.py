"""Trains an ensemble with EarlyStopping, CSVLogger and BackupAndRestore; may SIGKILL itself.

Run by tests/test_ensemble.py in fresh processes: once killed mid-epoch, once resumed,
and once never interrupted, to compare the members' final weights bit for bit.

  python ensemble_resume_script.py OUT.npz CSV [--backup-dir D] [--kill-at-step K]
"""

import argparse
import os
import signal

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("csv")
    p.add_argument("--backup-dir")
    p.add_argument("--kill-at-step", type=int)
    args = p.parse_args()

    import highlevel as hl

    class Killer(hl.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if args.kill_at_step is not None and self.steps == args.kill_at_step:
                os.kill(os.getpid(), signal.SIGKILL)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32) + (x[:, 2] > 1).astype(np.int32)

    def build():
        return hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"), hl.layers.Dropout(0.2),
                              hl.layers.Dense(3)])

    ens = hl.Ensemble(build, n=3, seeds=[1, 2, 3])
    ens.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"], learning_rate=[0.05, 0.01, 0.002])
    killer = Killer()
    callbacks = [killer, hl.callbacks.EarlyStopping(monitor="val_loss_1", patience=1, restore_best_weights=True),
                 hl.callbacks.CSVLogger(args.csv, append=True)]
    if args.backup_dir:
        callbacks.append(hl.callbacks.BackupAndRestore(args.backup_dir, save_freq=5))
    history = ens.fit(x, y, batch_size=16, epochs=12, shuffle=True, validation_data=(x[:32], y[:32]),
                      callbacks=callbacks)
    weights = [w for member in ens.members() for w in member.get_weights()]
    np.savez(args.out, *weights, steps=killer.steps, epochs=len(history.history["loss"]))


if __name__ == "__main__":
    main()
