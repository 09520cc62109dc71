"""Trains a small model with BackupAndRestore; may kill itself (SIGKILL) at a chosen moment.

Run by tests/callbacks/test_checkpoints.py in fresh processes: once killed, once resumed,
and once without BackupAndRestore, to compare the final weights bit for bit.

  python resume_script.py OUT.npz [--backup-dir D --save-freq N|epoch]
                          [--kill-at-step K | --kill-in-write N]
"""

import argparse
import os
import signal
from pathlib import Path

import numpy as np


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--backup-dir")
    p.add_argument("--save-freq", default="epoch")
    p.add_argument("--kill-at-step", type=int)
    p.add_argument("--kill-in-write", type=int, help="die inside the N-th backup write, before its rename")
    args = p.parse_args()

    import highlevel as hl
    from highlevel.callbacks.backup_and_restore import BackupAndRestore

    if args.kill_in_write:
        import orbax.checkpoint as ocp
        real_save, calls = ocp.PyTreeCheckpointer.save, []

        def save(self, directory, *a, **k):
            result = real_save(self, directory, *a, **k)
            if Path(args.backup_dir).absolute() in Path(directory).absolute().parents:
                calls.append(directory)
                if len(calls) == args.kill_in_write:
                    assert Path(directory).parent.name.startswith(".latest.tmp-")  # not yet renamed
                    _die()
            return result
        ocp.PyTreeCheckpointer.save = save

    class StepCounter(hl.callbacks.Callback):
        """Counts the steps run in this process; kills it at --kill-at-step."""
        def __init__(self):
            super().__init__()
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if args.kill_at_step is not None and self.steps == args.kill_at_step:
                _die()

    class OneShots(hl.callbacks.Callback):
        """Changes the learning rate, a dropout rate and a momentum once, at fixed global steps."""
        def __init__(self):
            super().__init__()
            self.global_step = 0

        def get_state(self):
            return {"global_step": self.global_step}

        def set_state(self, state):
            self.global_step = state["global_step"]

        def on_train_batch_end(self, batch, logs=None):
            self.global_step += 1
            if self.global_step == 5:
                self.model.optimizer.learning_rate = self.model.optimizer.learning_rate * 0.5
            if self.global_step == 11:
                self.model.layers[2].rate = 0.1
                self.model.layers[1].momentum = 0.9

    class Averager(hl.callbacks.Callback):
        """Averages the epoch-end weights (arrays kept across a resume) and ends with the average."""
        def __init__(self):
            super().__init__()
            self.avg, self.count = None, 0

        def get_state(self):
            return {"count": self.count}

        def set_state(self, state):
            self.count = state["count"]

        def get_arrays(self):
            return self.avg

        def set_arrays(self, arrays):
            self.avg = arrays

        def on_epoch_end(self, epoch, logs=None):
            w = self.model.get_weights()
            self.count += 1
            self.avg = w if self.avg is None else [a + (b - a) / self.count for a, b in zip(self.avg, w)]

        def on_train_end(self, logs=None):
            self.model.set_weights(self.avg)

    hl.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32) + (x[:, 2] > 1).astype(np.int32)
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"),
                           hl.layers.BatchNormalization(), hl.layers.Dropout(0.3), hl.layers.Dense(3)])
    model.compile(optimizer=hl.optimizers.Adam(0.01),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    counter = StepCounter()
    callbacks = [counter, OneShots(), Averager()]
    if args.backup_dir:
        save_freq = args.save_freq if args.save_freq == "epoch" else int(args.save_freq)
        callbacks.append(BackupAndRestore(args.backup_dir, save_freq=save_freq))
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=True, validation_data=(x[:30], y[:30]),
                        callbacks=callbacks, verbose=0)
    weights = model.get_weights()
    np.savez(args.out, *weights, steps=counter.steps, epochs=len(history.history["loss"]),
             val_loss=np.asarray(history.history["val_loss"]))


if __name__ == "__main__":
    main()
