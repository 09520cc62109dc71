"""The directories ``hl.callbacks.OrbaxCheckpoint`` writes: one orbax ``CheckpointManager`` step each.

A step ``<directory>/<step>/`` holds the items ``state`` (an orbax PyTree of the arrays
``saving.checkpoint_items`` copies: the weights in Keras's order, and for a whole model the
optimizer state and the step) and, for a whole model, ``model_config`` (the config that
``model.save`` writes as ``config.json``, as orbax JSON). Orbax writes a step into a
temporary directory and renames it into place when it is complete, so a crash or an error
while writing leaves only whole steps under their numbers. ``hl.models.load_model`` and
``model.load_weights`` read the latest step of such a directory, or the step directory named.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

__all__ = ["STATE", "CONFIG", "manager", "save", "find_step", "read_state", "load_model"]

STATE = "state"
CONFIG = "model_config"


def manager(directory, max_to_keep: int | None, asynchronous: bool):
    """An orbax ``CheckpointManager`` over ``directory`` (created when missing), keeping the
    ``max_to_keep`` latest steps (all with None) and writing them in the background when
    ``asynchronous``; what a killed process left half-written there is removed."""
    import orbax.checkpoint as ocp
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=asynchronous,
                                           create=True, cleanup_tmp_directories=True)
    return ocp.CheckpointManager(Path(directory).absolute(), options=options, item_names=(STATE, CONFIG))


def save(mgr, step: int, config: dict[str, Any] | None, tree: dict[str, Any]) -> None:
    """Hands one step to ``mgr``: ``tree`` (host arrays) and, unless None, the model's ``config``.

    A step not above the latest one in the directory is refused: orbax would skip it silently.
    """
    import orbax.checkpoint as ocp
    latest = mgr.latest_step()
    if latest is not None and step <= latest:
        raise ValueError(f"OrbaxCheckpoint cannot save step {step} in {mgr.directory}: it already holds step "
                         f"{latest}, and steps must increase. Pass a new directory for a new run, or continue the "
                         "run with fit(initial_epoch=...) after loading its latest step.")
    items = {STATE: ocp.args.PyTreeSave(tree)}
    if config is not None:
        items[CONFIG] = ocp.args.JsonSave(config)
    mgr.save(step, args=ocp.args.Composite(**items), force=True)


def _is_step(path: Path) -> bool:
    return path.name.isdigit() and (path / STATE).is_dir() and (path / "_CHECKPOINT_METADATA").is_file()


def find_step(path) -> Path | None:
    """The step directory ``path`` names (itself, or the latest whole step under it), None when
    ``path`` is not a directory written by ``OrbaxCheckpoint``."""
    path = Path(path)
    if not path.is_dir():
        return None
    if _is_step(path):
        return path
    if (path / "config.json").exists() or (path / "weights.json").exists():
        return None  # a model.save / save_weights directory
    steps = [p for p in path.iterdir() if _is_step(p)]
    return max(steps, key=lambda p: int(p.name)) if steps else None


def read_state(step_dir: Path) -> dict[str, Any]:
    """The arrays of one step: ``{"weights": ..., "optimizer": ..., "step": ...}`` (weights only
    for a ``save_weights_only`` checkpoint)."""
    from highlevel.utils.files import checkpointer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return checkpointer().restore(str(Path(step_dir) / STATE))


def load_model(step_dir: Path, compile: bool = True):
    """The model saved in one step: rebuilt from its config, with its weights, compiled as it was
    saved with its optimizer state and step (``hl.models.load_model`` calls this)."""
    import orbax.checkpoint as ocp
    from highlevel.models.saving import model_from_items
    step_dir = Path(step_dir)
    if not (step_dir / CONFIG).is_dir():
        raise ValueError(f"{step_dir} holds weights only (OrbaxCheckpoint(save_weights_only=True)), not a model "
                         "config, so load_model cannot rebuild the model from it. Build the model and call "
                         f"model.load_weights({str(step_dir.parent)!r}).")
    config = ocp.Checkpointer(ocp.JsonCheckpointHandler()).restore(step_dir / CONFIG)
    return model_from_items(config, read_state(step_dir), compile, step_dir)
