"""ModelCheckpoint: saves the model (or its weights) every epoch or every N batches, as Keras.

Writing happens in a background thread (``asynchronous=True``) after a host copy taken
at the save point, so disk time overlaps training.

A ``filepath`` ending in ``.keras`` (or ``.weights.h5`` with ``save_weights_only``) gets
the one file that ``model.save`` (``model.save_weights``) writes there, written to a
temporary sibling and renamed into place. Any other path gets a directory written by
``model.save`` (or ``model.save_weights``) into a hidden temporary sibling, checksummed
(``MANIFEST.json``, written last) and then moved into place. Either way an exception or a
crash while writing leaves the previous checkpoint at that path whole and loadable with
``hl.models.load_model`` (or ``model.load_weights``).
"""

from __future__ import annotations

import os
import shutil
import threading
import warnings
from pathlib import Path
from typing import Any

import jax

from highlevel.callbacks.early_stopping import check_mode, is_improvement, resolve_mode
from highlevel.distribute.processes import on_chief
from highlevel.models.saving import prepare_save, tidy_siblings
from highlevel.training.callback import Callback
from highlevel.utils.files import swap_into_place, temporary_name
from highlevel.utils.manifest import write_manifest

__all__ = ["ModelCheckpoint"]


def check_save_freq_and_max_to_keep(owner: str, save_freq, max_to_keep) -> None:
    """Refuses a ``save_freq`` that is neither ``"epoch"`` nor a positive int, and a
    ``max_to_keep`` that is neither None nor a positive int, naming ``owner``."""
    if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
        raise ValueError(f"{owner} got save_freq={save_freq!r}; expected 'epoch' or a positive integer number "
                         "of batches.")
    if max_to_keep is not None and (isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int)
                                    or max_to_keep < 1):
        raise ValueError(f"{owner} got max_to_keep={max_to_keep!r}; expected None (keep all) or a positive "
                         "integer.")


def _check_filepath(filepath: str, save_weights_only: bool) -> None:
    """Keras 3's rule: a whole model goes in a ``.keras`` file, weights in a ``.weights.h5`` file;
    highlevel also takes any other path, as a directory."""
    if filepath.endswith((".h5", ".hdf5")) and not filepath.endswith(".weights.h5"):
        raise ValueError(f"ModelCheckpoint does not write Keras 2's legacy HDF5 format (filepath={filepath!r}); end "
                         "the filepath in '.keras' (the whole model), in '.weights.h5' with save_weights_only=True, "
                         "or in neither for a highlevel checkpoint directory.")
    if save_weights_only and filepath.endswith(".keras"):
        raise ValueError(f"ModelCheckpoint got save_weights_only=True with filepath={filepath!r}, a whole-model "
                         "'.keras' file; end the filepath in '.weights.h5' (or in neither, for a directory), or "
                         "pass save_weights_only=False.")
    if not save_weights_only and filepath.endswith(".weights.h5"):
        raise ValueError(f"ModelCheckpoint got filepath={filepath!r}, a '.weights.h5' weights file, without "
                         "save_weights_only=True; pass save_weights_only=True, or end the filepath in '.keras' to "
                         "save the whole model.")


def _is_file_format(path: Path, save_weights_only: bool) -> bool:
    """Whether ``path`` gets one file (``.keras``, ``.weights.h5``) rather than a directory."""
    return path.name.endswith(".weights.h5" if save_weights_only else ".keras")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.is_file():
        path.unlink(missing_ok=True)


def _swap_into_place(tmp: Path, path: Path) -> None:
    """Moves the finished ``tmp`` to ``path``; if that fails, the previous ``path`` is put back."""
    swap_into_place(tmp, path, path.parent / temporary_name(f".{path.name}.ckpt-old-"))


class ModelCheckpoint(Callback):
    """Saves the model or its weights at the end of every epoch (or every ``save_freq`` batches).

    Keras's callback. As in Keras, a ``filepath`` ending in ``.keras`` gets the file
    ``model.save`` writes there and one ending in ``.weights.h5`` (with
    ``save_weights_only=True``) the file ``model.save_weights`` writes; any other path gets
    a highlevel checkpoint directory (orbax). Load either with
    ``hl.models.load_model(path)`` or ``model.load_weights(path)``.

    Args:
      filepath: where to save; may hold format fields filled from ``epoch`` (1-based),
        ``batch`` (1-based, when saving every N batches) and the logs, e.g.
        ``"ckpt/{epoch:02d}-{val_loss:.2f}.keras"``. A ``.weights.h5`` file needs
        ``save_weights_only=True`` and a ``.keras`` file ``save_weights_only=False``; Keras 2's
        legacy ``.h5`` is not written.
      monitor: the logged quantity that ``save_best_only`` compares.
      verbose: 0 (silent) or 1 (a line per save or skipped save).
      save_best_only: save only when ``monitor`` improves on the best seen so far; with a
        ``filepath`` without format fields, each better model replaces the previous one.
      save_weights_only: ``model.save_weights(path)`` instead of ``model.save(path)``.
      asynchronous: copy the model to the host at the save point, then write the files in a
        background thread while training goes on (one write at a time; ``fit`` waits for the
        last one before it returns, and a failed write raises at the next save or at the end).
      mode: ``"auto"``, ``"min"`` or ``"max"``; ``"auto"`` minimizes losses and follows the
        metric's direction (accuracy up, errors down).
      save_freq: ``"epoch"`` or an integer number of batches (compiled executions when
        ``steps_per_execution > 1``), counted across epochs.
      initial_value_threshold: the "best" value a model must beat to be saved with
        ``save_best_only``.
      max_to_keep: keep at most this many of the checkpoints this callback wrote, deleting
        the oldest; ``None`` keeps them all.

    >>> import highlevel as hl
    >>> cb = hl.callbacks.ModelCheckpoint("/tmp/ckpt/{epoch:02d}", save_best_only=True, max_to_keep=3)
    >>> cb.monitor
    'val_loss'
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq="epoch",
                 initial_value_threshold: float | None = None, max_to_keep: int | None = None,
                 asynchronous: bool = True):
        super().__init__()
        check_mode("ModelCheckpoint", mode)
        check_save_freq_and_max_to_keep("ModelCheckpoint", save_freq, max_to_keep)
        self.filepath = os.fspath(filepath)
        if not self.filepath:
            raise ValueError("ModelCheckpoint needs a filepath to save to, got an empty one.")
        _check_filepath(self.filepath, bool(save_weights_only))
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = mode
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.max_to_keep = max_to_keep
        self.best: float | None = initial_value_threshold
        self._direction: str | None = None
        self._batches_since_save = 0
        self._current_epoch = 0
        self._kept: list[str] = []
        self._to_drop: list[Path] = []
        self.asynchronous = bool(asynchronous)
        self._pending: threading.Thread | None = None
        self._error: BaseException | None = None
        if save_freq != "epoch":
            # An instance hook: with save_freq="epoch" the loop calls no per-batch hook at all.
            self.on_train_batch_end = self._count_batch

    # -- state (saved by BackupAndRestore) ---------------------------------------------

    def get_state(self) -> dict[str, Any]:
        return {"best": self.best, "kept": list(self._kept), "batches_since_save": self._batches_since_save}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best = state.get("best", self.initial_value_threshold)
        self._kept = list(state.get("kept", []))
        self._batches_since_save = int(state.get("batches_since_save", 0))

    # -- hooks ----------------------------------------------------------------------------

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _count_batch(self, batch, logs=None):
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)  # logs read (a host copy) only here

    # -- saving -----------------------------------------------------------------------------

    def _format_path(self, epoch: int, batch: int | None, logs) -> str:
        if "{" not in self.filepath:
            return self.filepath  # no need to read the logs (a device-to-host copy mid-epoch)
        values = dict(logs or {})
        fields = {"epoch": epoch + 1, **values}
        if batch is not None and "batch" not in values:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError) as e:
            raise ValueError(f"ModelCheckpoint cannot fill in filepath {self.filepath!r}: it names {e}, which "
                             f"is not among the fields available here: {sorted(fields)}. Use only these "
                             "names in braces.") from None

    def _improved(self, epoch: int, logs, filepath: str) -> bool:
        if self._direction is None:  # resolved at the first save, as Keras, once the metrics exist
            self._direction = resolve_mode("ModelCheckpoint", self.monitor, self.mode, self.model)
        current = logs.get(self.monitor) if logs is not None else None
        if current is None:
            warnings.warn(f"ModelCheckpoint can save the best model only with {self.monitor} available in "
                          f"the logs (they hold {sorted(logs or {})}); saving anyway.", stacklevel=3)
            return True
        current = float(current)
        best = self.best
        better = is_improvement(self._direction, 0.0, current, best)
        if self.verbose > 0:
            best_str = "None" if best is None else f"{best:.5f}"
            if better:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                      f"saving model to {filepath}", flush=True)
            else:
                print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}", flush=True)
        if better:
            self.best = current
        return better

    def _save(self, epoch: int, batch: int | None, logs) -> None:
        filepath = self._format_path(epoch, batch, logs)
        if self.save_best_only:
            if not self._improved(epoch, logs, filepath):
                return
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
        key = str(Path(filepath).absolute())
        if key in self._kept:
            self._kept.remove(key)
        self._kept.append(key)
        if self.max_to_keep is not None:
            while len(self._kept) > self.max_to_keep:
                self._to_drop.append(Path(self._kept.pop(0)))
        self._write(Path(filepath).absolute())

    def _write(self, path: Path) -> None:
        """Copies the model to the host now; a background thread writes and swaps it into place.

        Over several processes every process takes part in the copy (weights split over
        processes are gathered) and process 0 writes, synchronously, while the others wait."""
        self.wait()
        if jax.process_count() > 1:
            write = prepare_save(self.model, weights_only=self.save_weights_only, filepath=path)
            drop, self._to_drop = list(self._to_drop), []
            on_chief(lambda: self._write_files(path, write, drop, asynchronous=False), f"write the checkpoint {path}")
            return
        self._write_files(path, prepare_save(self.model, weights_only=self.save_weights_only, filepath=path),
                          list(self._to_drop), self.asynchronous)
        self._to_drop = []

    def _write_files(self, path: Path, write, drop: list, asynchronous: bool) -> None:
        one_file = _is_file_format(path, self.save_weights_only)
        if one_file and path.is_dir():
            raise FileExistsError(f"ModelCheckpoint saves {path.name} as one file, as model.save does, but {path} is "
                                  "a directory (older highlevel versions wrote checkpoints as directories); remove it "
                                  "or choose another filepath.")
        if not one_file and path.exists() and not path.is_dir():
            raise FileExistsError(f"ModelCheckpoint saves directories, but {path} is a file. Choose a "
                                  "filepath that names a directory (or nothing yet).")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not one_file:
            tidy_siblings(path)  # what a process killed while writing this path left
        tmp = None if one_file else path.parent / temporary_name(f".{path.name}.ckpt-tmp-")

        def job() -> None:
            try:
                if one_file:
                    write(path)  # writes a temporary sibling file and renames it into place
                else:
                    tmp.mkdir()
                    write(tmp)
                    write_manifest(tmp)  # last: its presence marks a whole checkpoint
                    _swap_into_place(tmp, path)
                for oldest in drop:
                    _remove(oldest)
            except BaseException as err:  # re-raised in the training thread by wait()
                self._error = err
            finally:
                if tmp is not None and tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)

        if asynchronous:
            self._pending = threading.Thread(target=job, name="highlevel-checkpoint", daemon=False)
            self._pending.start()
        else:
            job()
            self.wait()

    def wait(self) -> None:
        """Waits for the checkpoint being written, and raises its error if it failed."""
        if self._pending is not None:
            self._pending.join()
            self._pending = None
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def on_train_end(self, logs=None):
        self.wait()

    def on_train_exception(self, exception):
        try:
            self.wait()  # leave no half-written directory behind; the first error is the one raised
        except Exception:
            pass
