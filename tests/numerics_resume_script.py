"""Trains with gradient accumulation, EMA and SwapEMAWeights under BackupAndRestore; may SIGKILL itself.

Run by tests/test_gradient_accumulation.py in fresh processes: killed, resumed, and never
interrupted, to compare the final weights bit for bit.

  python numerics_resume_script.py OUT.npz [--backup-dir D --save-freq N|epoch] [--kill-at-step K]
"""

import argparse
import os
import signal

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--backup-dir")
    p.add_argument("--save-freq", default="epoch")
    p.add_argument("--kill-at-step", type=int)
    args = p.parse_args()

    import highlevel as hl

    class StepCounter(hl.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if args.kill_at_step is not None and self.steps == args.kill_at_step:
                os.kill(os.getpid(), signal.SIGKILL)

    hl.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 6)).astype(np.float32)   # 5 batches of 8 an epoch
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"),
                           hl.layers.BatchNormalization(), hl.layers.Dropout(0.2), hl.layers.Dense(2)])
    model.compile(optimizer=hl.optimizers.Adam(0.01, gradient_accumulation_steps=2, use_ema=True, ema_momentum=0.9),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    counter = StepCounter()
    callbacks = [counter, hl.callbacks.SwapEMAWeights(swap_on_epoch=True)]
    if args.backup_dir:
        save_freq = args.save_freq if args.save_freq == "epoch" else int(args.save_freq)
        callbacks.append(hl.callbacks.BackupAndRestore(args.backup_dir, save_freq=save_freq))
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=True, validation_data=(x[:16], y[:16]),
                        callbacks=callbacks, verbose=0)
    opt_leaves = [np.asarray(a) for a in __import__("jax").tree_util.tree_leaves(model.trainer.optimizer_state)]
    np.savez(args.out, *model.get_weights(), *opt_leaves, steps=counter.steps, iterations=model.optimizer.iterations,
             val_loss=np.asarray(history.history["val_loss"]))


if __name__ == "__main__":
    main()
