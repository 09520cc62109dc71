"""BackupAndRestore: an interrupted ``fit``, started again, continues exactly where it was backed up.

A backup holds everything the next step depends on: the whole train state
(weights, moving statistics, optimizer state, random key, metric accumulators),
the layer hyperparameters (dropout rates, batch-norm momentum), where the next
step starts, the data-order seed (and a Grain pipeline's iterator state), and the
state of every other callback. So a
``fit`` killed at any moment and run again with the same code, seed and
arguments ends with the same weights, bit for bit, as one never interrupted.

Layout of ``backup_dir``: ``latest/`` (``backup.json``, an orbax checkpoint of the
arrays and ``MANIFEST.json``, their checksums, written last), replaced atomically: each
backup is written into a hidden temporary sibling and renamed into place, so a crash
while writing leaves the previous one. A backup is verified against its manifest before
it is read; a damaged one is refused, naming the file.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import jax
import numpy as np

from highlevel.training.callback import Callback, History
from highlevel.training.seam import Snapshot
from highlevel.training.progress import ProgbarLogger
from highlevel.distribute.processes import on_chief
from highlevel.utils.files import checkpointer, swap_into_place, temporary_name, tidy
from highlevel.utils.manifest import DamagedSaveError, verify_manifest, write_manifest

__all__ = ["BackupAndRestore"]

_FORMAT = "highlevel.backup/1"
_LATEST = "latest"
_TMP_PREFIX = f".{_LATEST}.tmp-"
_OLD_PREFIX = f".{_LATEST}.old-"


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _signature(arrays) -> list[list]:
    return [[list(np.shape(a)), str(np.dtype(a.dtype))] for a in arrays]


def _pack_arrays(arrays) -> tuple[str, list[str] | None, list]:
    """A callback's ``get_arrays()`` result as (kind, keys, list of arrays)."""
    if arrays is None:
        return "none", None, []
    if isinstance(arrays, dict):
        keys = list(arrays)
        return "dict", [str(k) for k in keys], [np.asarray(arrays[k]) for k in keys]
    if isinstance(arrays, (list, tuple)):
        return "list", None, [np.asarray(a) for a in arrays]
    return "list", None, [np.asarray(arrays)]


def _unpack_arrays(kind: str, keys, arrays: list):
    if kind == "none":
        return None
    if kind == "dict":
        return dict(zip(keys, arrays))
    return list(arrays)


class BackupAndRestore(Callback):
    """Backs up the training state so that an interrupted ``fit`` resumes exactly, as Keras's callback.

    Run the same script again after an interruption (a crash, a preemption, SIGKILL):
    ``fit`` restores the last backup in ``on_train_begin`` and continues from its epoch
    and step with the same data order and random keys. It runs after every other
    callback, so its backup includes their updates.

    Args:
      backup_dir: a directory used only by this callback (the backup lives in
        ``backup_dir/latest``); it is created when needed.
      save_freq: ``"epoch"`` to back up at the end of every epoch, or an integer to back up
        every that many batches (compiled executions when ``steps_per_execution > 1``),
        counted across epochs.
      delete_checkpoint: delete the backup when ``fit`` finishes (not when it fails).

    >>> import highlevel as hl
    >>> cb = hl.callbacks.BackupAndRestore("/tmp/backup", save_freq=100)
    >>> cb.save_freq
    100
    """

    #: The trainer runs it after every other callback (see ``fit``).
    runs_last = True

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint: bool = True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a backup_dir, got an empty one.")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"BackupAndRestore got save_freq={save_freq!r}; expected 'epoch' or a positive "
                             "integer number of batches.")
        self.backup_dir = Path(os.fspath(backup_dir)).absolute()
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self._steps_seen = 0
        if save_freq != "epoch":
            # An instance hook: with save_freq="epoch" the loop calls no per-batch hook at all.
            self.on_train_batch_end = self._count_batch

    # -- hooks ---------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._steps_seen = 0
        # Process 0 checks the directory and recovers a backup displaced by a crash; then every
        # process reads the backup (the files are the same for all).
        if jax.process_count() == 1:
            backup = self._find_backup()
        else:
            on_chief(self._find_backup, f"find a backup in {self.backup_dir}")
            backup = self._latest()
        if backup is not None:
            self._restore(backup)

    def _latest(self) -> Path | None:
        latest = self.backup_dir / _LATEST
        return latest if (latest / "backup.json").exists() else None

    def _count_batch(self, batch, logs=None):
        self._steps_seen += 1
        if self._steps_seen % self.save_freq == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            # The trainer synced before on_epoch_end, so the snapshot reads the module's weights:
            # a change another callback made to them is in the backup.
            self._save()

    def backup_now(self) -> None:
        """Writes a backup of the training state as it is now, also in the middle of an epoch.

        Call it from a callback hook during ``fit`` (``BackupOnSignal`` does, when a SIGTERM
        or SIGINT arrives); ``fit`` started again resumes from exactly this step.
        """
        self._save()

    def has_backup(self) -> bool:
        """Whether ``backup_dir`` holds a complete backup, which ``fit`` would resume from.

        >>> import highlevel as hl
        >>> hl.callbacks.BackupAndRestore("/tmp/no-such-backup").has_backup()
        False
        """
        return self._find_backup() is not None

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            on_chief(self._delete, f"delete the backup in {self.backup_dir}")

    # -- the directory -----------------------------------------------------------------------

    def _check_dir(self) -> None:
        d = self.backup_dir
        if d.exists() and not d.is_dir():
            raise ValueError(f"BackupAndRestore's backup_dir {d} is a file. Pass the path of a directory "
                             "used only for this backup.")
        if not d.exists():
            return
        foreign = sorted(n for n in os.listdir(d)
                         if n != _LATEST and not n.startswith((_TMP_PREFIX, _OLD_PREFIX)))
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise ValueError(f"BackupAndRestore's backup_dir {d} holds files it did not write ({shown}). "
                             "It needs a directory of its own: pass another backup_dir, or empty this one.")

    def _find_backup(self) -> Path | None:
        """The last complete backup, recovering one displaced by a crash between two renames."""
        self._check_dir()
        d = self.backup_dir
        if not d.exists():
            return None
        latest = d / _LATEST
        fix = f"delete {d} to start afresh, or pass another backup_dir."
        tidy(latest, (_TMP_PREFIX,), (_OLD_PREFIX,), lambda entry: self._complete(entry, fix))
        if not latest.exists():
            return None
        verify_manifest(latest, "backup", fix)
        meta_path = latest / "backup.json"
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            meta = None
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(f"{latest} is not a backup written by BackupAndRestore (no valid backup.json). "
                             f"Delete {d} to start afresh, or pass another backup_dir.")
        return latest

    @staticmethod
    def _complete(entry: Path, fix: str) -> bool:
        try:
            verify_manifest(entry, "backup", fix)
        except DamagedSaveError:
            return False
        return True

    def _delete(self) -> None:
        d = self.backup_dir
        if not d.is_dir():
            return
        for name in os.listdir(d):
            if name == _LATEST or name.startswith((_TMP_PREFIX, _OLD_PREFIX)):
                shutil.rmtree(d / name, ignore_errors=True)
        try:
            d.rmdir()
        except OSError:
            pass  # something else was put there meanwhile: leave it

    # -- the other callbacks -----------------------------------------------------------------

    def _others(self) -> list[tuple[str, Callback]]:
        """The callbacks whose state is saved, keyed by class name and occurrence."""
        callbacks = self.model.trainer.callbacks
        counts: dict[str, int] = {}
        out = []
        for cb in callbacks:
            if cb is self or isinstance(cb, (History, ProgbarLogger, BackupAndRestore)):
                continue
            name = type(cb).__name__
            out.append((f"{name}:{counts.get(name, 0)}", cb))
            counts[name] = counts.get(name, 0) + 1
        return out

    # -- saving -----------------------------------------------------------------------------

    def _save(self) -> None:
        trainer = self.model.trainer
        snapshot = trainer.snapshot()  # the one device-to-host copy of a backup
        epoch, step = snapshot.epoch, snapshot.step
        if self.model.stop_training:
            # The uninterrupted run stops here: make the resumed one stop here too.
            if epoch > trainer.epoch:  # saved at the end of an epoch
                epoch, step = max(epoch, int(self.params.get("epochs") or epoch)), 0
            elif self.params.get("steps"):
                step = int(self.params["steps"])
        state_leaves = snapshot.leaves
        hyper = snapshot.hyper
        arrays = list(state_leaves) + hyper
        callbacks, callback_arrays = {}, {}
        for key, cb in self._others():
            callbacks[key] = cb.get_state()
            if callable(getattr(cb, "get_arrays", None)):
                kind, keys, packed = _pack_arrays(cb.get_arrays())
                callback_arrays[key] = {"kind": kind, "keys": keys, "start": len(arrays), "count": len(packed)}
                arrays.extend(packed)
        meta = {"format": _FORMAT, "epoch": int(epoch), "step": int(step), "seed": int(snapshot.seed),
                "steps_seen": self._steps_seen, "optimizer": type(self.model.optimizer).__name__,
                "state_signature": _signature(state_leaves), "hyper_signature": _signature(hyper),
                "callbacks": callbacks, "callback_arrays": callback_arrays, "data_state": snapshot.data_state}
        try:
            text = json.dumps(meta, default=_jsonable)
        except (TypeError, ValueError) as e:
            raise TypeError(f"BackupAndRestore saves each callback's get_state() as JSON, but one of "
                            f"{sorted(callbacks)} returned a value JSON cannot hold ({e}). Return only "
                            "numbers, strings, lists and dicts from get_state().") from None
        on_chief(lambda: self._write(arrays, text), f"write a backup to {self.backup_dir}")

    def _write(self, arrays: list, meta_text: str) -> None:
        self._check_dir()
        d = self.backup_dir
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / temporary_name(_TMP_PREFIX)
        latest = d / _LATEST
        try:
            tmp.mkdir()
            checkpointer().save(str(tmp / "arrays"), {f"{i:05d}": a for i, a in enumerate(arrays)})
            (tmp / "backup.json").write_text(meta_text)
            write_manifest(tmp)  # last: its presence marks a whole backup
            swap_into_place(tmp, latest, d / temporary_name(_OLD_PREFIX))
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    # -- restoring -----------------------------------------------------------------------------

    def _mismatch(self, what: str) -> ValueError:
        return ValueError(f"The backup in {self.backup_dir} was written by a different model or optimizer "
                          f"({what}), so this fit cannot resume from it. Delete {self.backup_dir} to start "
                          "afresh, or pass another backup_dir.")

    def _restore(self, latest: Path) -> None:
        trainer = self.model.trainer
        meta = json.loads((latest / "backup.json").read_text())
        signature = trainer.snapshot_signature()
        optimizer = type(self.model.optimizer).__name__
        if meta.get("optimizer") != optimizer:
            raise self._mismatch(f"optimizer {meta.get('optimizer')}, not {optimizer}")
        saved_sig, current_sig = meta["state_signature"], signature["state"]
        if saved_sig != current_sig:
            n = sum(1 for a, b in zip(saved_sig, current_sig) if a != b) + abs(len(saved_sig) - len(current_sig))
            raise self._mismatch(f"its train state has {len(saved_sig)} arrays, this one {len(current_sig)}, "
                                 f"{n} of them differing in shape or dtype")
        hyper_now = signature["hyper"]
        if meta["hyper_signature"] != hyper_now:
            raise self._mismatch(f"{len(meta['hyper_signature'])} layer hyperparameters, this model has "
                                 f"{len(hyper_now)}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = checkpointer().restore(str(latest / "arrays"))
        arrays = [np.asarray(tree[k]) for k in sorted(tree)]
        n_state = len(saved_sig)
        hyper = [np.asarray(a).reshape(shape)
                 for a, (shape, _) in zip(arrays[n_state:n_state + len(hyper_now)], hyper_now)]
        trainer.restore(Snapshot(leaves=arrays[:n_state], hyper=hyper, epoch=meta["epoch"], step=meta["step"],
                                 seed=meta["seed"], data_state=meta.get("data_state")))
        others = dict(self._others())
        saved_states = meta.get("callbacks", {})
        saved_arrays = meta.get("callback_arrays", {})
        missing = sorted(k for k in set(saved_states) - set(others) if saved_states[k] or k in saved_arrays)
        if missing:
            warnings.warn(f"The backup in {self.backup_dir} holds the state of callbacks {missing} that this fit "
                          "does not have; a resumed run may differ from one never interrupted.", stacklevel=2)
        for key, cb in others.items():
            if key in saved_states:
                cb.set_state(saved_states[key])
            entry = saved_arrays.get(key)
            if entry is not None and callable(getattr(cb, "set_arrays", None)):
                part = arrays[entry["start"]:entry["start"] + entry["count"]]
                cb.set_arrays(_unpack_arrays(entry["kind"], entry["keys"], part))
        self._steps_seen = int(meta.get("steps_seen", 0))
