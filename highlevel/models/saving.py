"""Saving and loading models: highlevel's directories, Keras's ``.keras`` zip and ``.weights.h5`` file.

``model.save(dir)`` writes ``config.json`` (the class, with its registered name for a
user's registered subclass, ``get_config()``, build shape, compile arguments) and an orbax
checkpoint of the weights and the optimizer state.
Everything is written into a temporary sibling directory first, listed with its
checksums in ``MANIFEST.json`` (written last) and moved into place at the end, so a crash
while saving leaves the previous save whole; loading verifies every file against the
manifest before reading any, and refuses a damaged or incomplete save naming the file.
The next save or load of a path removes what interrupted saves left and puts back a
complete copy that a crash between the two final renames had moved aside.

``model.save("x.keras")`` writes the same config with the weights in Keras 3's HDF5
layout inside Keras's zip (``keras_archive.py``), and ``save_weights("x.weights.h5")``
writes Keras 3's weight file (``keras_layout.py``), which Keras loads with
``keras_model.load_weights``; both are written to a temporary file and renamed into place,
carry the SHA-256 of their weights (and the zip the CRC-32 of its entries), and are refused
when damaged, naming the file. The next save or load of such a file removes the temporary
file an interrupted save left beside it.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np

from highlevel.layers.base import Layer, get_layer_class, serialize_layer, to_jsonable_shape
from highlevel.utils.files import swap_into_place, temporary_name, tidy
from highlevel.utils.manifest import DamagedSaveError, verify_manifest, write_manifest

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "load_weights_directory", "prepare_save",
           "checkpoint_items", "model_from_items"]

_FORMAT = "highlevel.model/1"
_WEIGHTS_FORMAT = "highlevel.weights/1"


def _checkpointer():
    from highlevel.utils.files import checkpointer
    return checkpointer()


def _indexed(arrays) -> dict[str, np.ndarray]:
    return {f"{i:05d}": np.asarray(a) for i, a in enumerate(arrays)}


def _unindexed(tree: dict[str, Any]) -> list[np.ndarray]:
    return [np.asarray(tree[k]) for k in sorted(tree)]


def _atomic_dir(path: Path, overwrite: bool, write) -> None:
    """Writes a directory through ``write(tmp)`` and swaps it into place; over several
    processes process 0 writes while the others wait (their arrays were gathered already)."""
    from highlevel.distribute import on_chief
    on_chief(lambda: _write_dir(Path(path).absolute(), overwrite, write), f"save {path}")


def _write_dir(path: Path, overwrite: bool, write) -> None:
    tidy_siblings(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.")
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is a file; highlevel saves into a directory. "
                              "Choose another path.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / temporary_name(f".{path.name}.tmp-")
    try:
        tmp.mkdir()
        write(tmp)
        write_manifest(tmp)  # last: its presence marks a whole save
        swap_into_place(tmp, path, path.parent / temporary_name(f".{path.name}.old-"))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _complete(directory: Path) -> bool:
    try:
        verify_manifest(directory)
    except DamagedSaveError:
        return False
    return True


def tidy_siblings(path: Path) -> Path | None:
    """Removes what interrupted saves of ``path`` left beside it (``model.save`` and
    ``ModelCheckpoint``); a complete copy moved aside by a crash between the two final
    renames is put back at ``path``, which is returned then (None otherwise)."""
    path = Path(path)
    tmp = tuple(f"{dots}{path.name}.{kind}tmp-" for dots in (".", "..") for kind in ("", "ckpt-"))
    old = tuple(f"{dots}{path.name}.{kind}old-" for dots in (".", "..") for kind in ("", "ckpt-"))
    restored = tidy(path, tmp, old, _complete)
    if restored is not None:
        warnings.warn(f"{path} was moved aside by a save interrupted between its two final renames; the "
                      "complete copy was put back.", stacklevel=3)
    return restored


def _verified(path: Path, what: str) -> None:
    """``path`` whole, as written: recovered if a crash moved it aside, then every file checked."""
    tidy_siblings(path)
    _require(path, what)
    if not path.is_dir():
        raise ValueError(f"{path} is a file, but highlevel saves are directories: pass the directory that "
                         "model.save() or save_weights() wrote.")
    verify_manifest(path, what)


def _serialize_metrics(metrics):
    """compile()'s metrics with metric objects and functions as configs (names stay names)."""
    from highlevel import metrics as metrics_lib
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, dict):
        return {k: _serialize_metrics(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [_serialize_metrics(m) for m in metrics]
    return metrics_lib.serialize(metrics_lib.get(metrics))


def _compile_config(model) -> dict[str, Any] | None:
    trainer = model.trainer
    if not trainer.compiled:
        return None
    from highlevel import losses, optimizers
    cfg = trainer.compile_config
    try:
        one = lambda l: l if (l is None or isinstance(l, str)) else losses.serialize(losses.get(l))
        raw = cfg["loss"]
        loss = ({k: one(v) for k, v in raw.items()} if isinstance(raw, dict)
                else [one(v) for v in raw] if isinstance(raw, (list, tuple)) else one(raw))
        metrics = _serialize_metrics(cfg["metrics"])
        weighted = _serialize_metrics(cfg.get("weighted_metrics"))
        json.dumps([metrics, weighted])
        config = {"optimizer": optimizers.serialize(trainer.optimizer), "loss": loss,
                  "loss_weights": cfg["loss_weights"], "metrics": metrics, "weighted_metrics": weighted,
                  "steps_per_execution": cfg["steps_per_execution"]}
        if trainer.distribution is not None:
            config["distribution"] = trainer.distribution.get_config()
        json.dumps(config)
        return config
    except (TypeError, ValueError):
        return None


def _is_keras_file(path) -> bool:
    return str(path).endswith(".keras")


def _is_weights_h5(path) -> bool:
    return str(path).endswith(".weights.h5")


def _config_text(config: dict[str, Any], model) -> str:
    try:
        return json.dumps(config, indent=2)
    except TypeError as err:
        raise TypeError(f"Model '{model.name}' cannot be saved: its config holds an object JSON cannot hold "
                        f"({err}), such as a lambda or an unregistered class. Use a function defined with def "
                        "and decorated with @hl.saving.register_keras_serializable(), or save only the "
                        "weights with save_weights().") from None


def checkpoint_items(model, weights_only: bool = False) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Host copies of what a save directory holds: the model's config (None with
    ``weights_only``) and the tree of arrays its orbax checkpoint holds (the weights in
    Keras's order, and unless ``weights_only`` the optimizer state and the step).

    Nothing returned refers to a device array, so the tree can be written in the background
    (``OrbaxCheckpoint`` hands it to an orbax ``CheckpointManager``)."""
    model.trainer.sync()
    model.require_built("save_weights()" if weights_only else "save()")
    weights = model.get_weights()
    if weights_only:
        return None, {"weights": _indexed(weights)}
    config, _ = _model_config(model)
    opt_leaves, step = _optimizer_host(model)
    return config, {"weights": _indexed(weights), "optimizer": _indexed(opt_leaves), "step": step}


def _model_config(model) -> tuple[dict[str, Any], str]:
    # serialize_layer adds "registered_name" for a registered class (a user's subclassed model),
    # the key load_model looks the class up by.
    config = {"format": _FORMAT, **serialize_layer(model),
              "build_input_shape": to_jsonable_shape(model.build_input_shape),
              "compile_config": _compile_config(model)}
    return config, _config_text(config, model)  # fails here, before anything is written, if not serializable


def _optimizer_host(model) -> tuple[list[np.ndarray], np.ndarray]:
    from highlevel.distribute import to_host
    trainer = model.trainer
    opt_state = trainer.optimizer_state
    opt_leaves = [] if opt_state is None else [np.asarray(a) for a in to_host(jax.tree_util.tree_leaves(opt_state))]
    return opt_leaves, np.asarray(trainer.step)


def prepare_save(model, weights_only: bool = False, filepath=None) -> Callable[[Path], None]:
    """Copies everything a save needs to the host now and returns ``write(path)``.

    The returned function touches no device array and no model state, so it can run in a
    background thread while training goes on (``ModelCheckpoint`` does this). With a
    ``filepath`` ending in ``.keras`` (or ``.weights.h5`` for ``weights_only``) it writes
    that file format instead of highlevel's directory.
    """
    model.trainer.sync()
    model.require_built("save_weights()" if weights_only else "save()")
    if weights_only and _is_weights_h5(filepath):
        from highlevel.models import keras_archive, keras_layout
        entries = keras_layout.snapshot(model)
        return lambda path: keras_archive.write_weights(entries, Path(path))
    if weights_only:
        names = [name for name, _ in model.named_weights()]
        _, tree = checkpoint_items(model, weights_only=True)

        def write_weights(directory: Path) -> None:
            (directory / "weights.json").write_text(json.dumps({"format": _WEIGHTS_FORMAT, "names": names}))
            _checkpointer().save(str(directory / "weights"), tree)

        return write_weights
    if _is_keras_file(filepath):
        from highlevel.models import keras_archive, keras_layout
        _, text = _model_config(model)
        opt_leaves, step = _optimizer_host(model)
        entries = keras_layout.snapshot(model)
        return lambda path: keras_archive.write(entries, Path(path), text, opt_leaves, step)
    config, tree = checkpoint_items(model)
    text = _config_text(config, model)

    def write_model(directory: Path) -> None:
        (directory / "config.json").write_text(text)
        _checkpointer().save(str(directory / "state"), tree)

    return write_model


def _atomic_file(path: Path, overwrite: bool, write) -> None:
    """Writes one file through ``write(path)`` (which writes a temporary sibling and renames it)."""
    from highlevel.distribute import on_chief

    def run():
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.")
        if path.is_dir():
            raise FileExistsError(f"{path} is a directory; a {path.suffix} save is one file. Choose another path.")
        write(path)

    on_chief(run, f"save {path}")


def _refuse_legacy_h5(path, what: str) -> None:
    if str(path).endswith((".h5", ".hdf5")) and not _is_weights_h5(path):
        raise ValueError(f"{what} does not write Keras 2's legacy HDF5 format ({path}); use a '.keras' file "
                         "(model.save('x.keras')), a '.weights.h5' file (save_weights('x.weights.h5')), or a "
                         "directory (highlevel's own format).")


def _refuse_other_format(path: Path, weights_only: bool) -> None:
    """As Keras: ``.weights.h5`` holds weights only and ``.keras`` a whole model, so each method
    refuses the other's suffix rather than writing a directory of that name."""
    if not weights_only and _is_weights_h5(path):
        raise ValueError(f"model.save() writes whole models, but {path} names a weights-only file; call "
                         "model.save_weights() for a '.weights.h5' file, or save the model to a '.keras' file "
                         "or a directory.")
    if weights_only and _is_keras_file(path):
        raise ValueError(f"save_weights() writes weights only, but {path} names a whole-model '.keras' file; "
                         "call model.save() for a '.keras' file, or save the weights to a '.weights.h5' file "
                         "or a directory.")


def save_model(model, filepath, overwrite: bool = True) -> None:
    """Saves architecture, weights, compile arguments and optimizer state, atomically.

    A path ending in ``.keras`` gets Keras's zip (highlevel's config, Keras 3's weight
    layout); any other path a highlevel model directory, except ``.h5`` and ``.weights.h5``
    (Keras 2's format and weights-only files: refused, as Keras does).

    Args:
        model: The model.
        filepath: A ``.keras`` file or a directory.
        overwrite: Whether to replace an existing save.

    >>> import os, tempfile
    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    >>> hl.saving.save_model(model, os.path.join(tempfile.mkdtemp(), "model.keras"))
    """
    path = Path(filepath).absolute()
    _refuse_legacy_h5(path, "model.save()")
    _refuse_other_format(path, weights_only=False)
    if _is_keras_file(path):
        _atomic_file(path, overwrite, prepare_save(model, filepath=path))
        return
    _atomic_dir(path, overwrite, prepare_save(model))


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise FileNotFoundError(f"No {what} at {path}: the file or directory does not exist. Check the path, "
                                "or save it first.")


def _restore(path: Path) -> dict[str, Any]:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _checkpointer().restore(str(path))


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """Loads a model saved with ``model.save``: architecture, weights, compile and optimizer state.

    The config may name only highlevel's own classes and functions and those registered
    in this process (``@hl.saving.register_keras_serializable()``) or passed in
    ``custom_objects``; nothing is imported from the file, so loading is always safe.

    Args:
        filepath: The directory or ``.keras`` file ``model.save`` wrote, or a directory of
            ``hl.callbacks.OrbaxCheckpoint`` (its latest step) or one step in it.
        custom_objects: ``{name: object}`` for the user's own layers, losses, metrics,
            activations... that the config names and that are not registered.
        compile: Whether to compile the model as it was saved (loss, metrics, optimizer and
            its state); with False the model is returned uncompiled, for inference.
        safe_mode: Accepted for Keras compatibility; loading never runs code from the file.

    Returns:
        The model, of the class it was saved as.

    >>> import os, tempfile
    >>> import highlevel as hl, numpy as np
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> path = os.path.join(tempfile.mkdtemp(), "model")
    >>> model.save(path)
    >>> restored = hl.models.load_model(path)
    >>> np.array_equal(restored.get_weights()[0], model.get_weights()[0])
    True
    """
    from highlevel.utils.serialization import custom_object_scope
    with custom_object_scope(custom_objects):
        return _load_model(filepath, compile)


def _load_model(filepath, compile: bool):
    from highlevel import optimizers
    path = Path(filepath).absolute()
    if path.is_file() or _is_keras_file(path):
        _require(path, "saved model")
        return _load_keras_file(path, compile)
    from highlevel.models import orbax_steps
    step_dir = orbax_steps.find_step(path)
    if step_dir is not None:  # written by hl.callbacks.OrbaxCheckpoint
        return orbax_steps.load_model(step_dir, compile)
    _verified(path, "saved model")
    _require(path / "config.json", "model config (config.json)")
    _require(path / "state", "model weights (state/)")
    config = json.loads((path / "config.json").read_text())
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a highlevel model directory (format {config.get('format')!r}).")
    return model_from_items(config, _restore(path / "state"), compile, path)


def model_from_items(config: dict[str, Any], tree: dict[str, Any], compile: bool, path: Path):
    """The model that ``checkpoint_items`` copied: rebuilt from ``config``, with the weights,
    compiled as saved with the optimizer state and step of ``tree``; ``path`` names the save
    in errors."""
    model = _model_from(config, path)
    model.set_weights(_unindexed(tree["weights"]))
    _compile_as_saved(model, config, compile, _unindexed(tree.get("optimizer", {})), tree.get("step"), path)
    return model


def _model_class(config: dict[str, Any], path: Path) -> type:
    """The class a saved config names: by its registered name (or, for a built-in model, its class
    name); a user's class lent by ``custom_objects`` is also found under its plain class name."""
    from highlevel.utils.serialization import lookup_serializable
    class_name, registered = config.get("class_name"), config.get("registered_name")
    if not isinstance(class_name, str):
        raise ValueError(f"{path} names no model class in its config (no 'class_name'); save the model again.")
    try:
        return get_layer_class(registered or class_name)
    except ValueError:
        pass
    lent = lookup_serializable(class_name) if registered else None
    if isinstance(lent, type) and issubclass(lent, Layer):
        return lent
    raise ValueError(f"{path} holds a model of class {class_name!r}, which this process does not know: define the "
                     "class and decorate it with @hl.saving.register_keras_serializable() before loading, or pass "
                     f"custom_objects={{{class_name!r}: {class_name}}} to load_model.")


def _model_from(config: dict[str, Any], path: Path):
    model = _model_class(config, path).from_config(dict(config.get("config", {})))
    if not model.built and config.get("build_input_shape") is not None:
        shape = config["build_input_shape"]
        model.maybe_build(_tupled(shape))
    return model


def _load_keras_file(path: Path, compile: bool):
    from highlevel.models import keras_archive, keras_layout, weight_files
    if not _is_keras_file(path):
        raise ValueError(f"{path} is a file, but highlevel loads models from a '.keras' file or a directory "
                         "written by model.save(); load weight files with model.load_weights().")
    keras_archive.tidy(path)   # what a save of this path killed midway left beside it
    config = keras_archive.read_config(path)
    model = _model_from(config, path)
    with keras_archive.open_weights(path) as f:
        tensors = keras_layout.read_h5(f, model)
        optimizer_leaves, step = keras_archive.read_extra(f)
    weight_files.assign(model, tensors, source=str(path))
    _compile_as_saved(model, config, compile, optimizer_leaves, step, path)
    return model


def _compile_as_saved(model, config, compile: bool, saved, step, path: Path) -> None:
    from highlevel import optimizers
    compile_config = config.get("compile_config")
    if compile and compile_config:
        model.compile(optimizer=optimizers.get(compile_config["optimizer"]),
                      loss=_deserialize_loss(compile_config["loss"]),
                      loss_weights=compile_config["loss_weights"], metrics=compile_config["metrics"],
                      weighted_metrics=compile_config.get("weighted_metrics"),
                      steps_per_execution=compile_config["steps_per_execution"],
                      distribution=_distribution(compile_config.get("distribution"), path))
        if saved:
            trainer = model.trainer
            trainer.initialize()
            leaves, treedef = jax.tree_util.tree_flatten(trainer.optimizer_state)
            if len(leaves) != len(saved) or any(np.shape(a) != np.shape(b) for a, b in zip(leaves, saved)):
                raise ValueError(f"The optimizer state saved in {path} does not fit the optimizer "
                                 f"{compile_config['optimizer'].get('class_name')}.")
            trainer.optimizer_state = jax.tree_util.tree_unflatten(treedef, saved)
            trainer.set_step(int(step))


def _distribution(config, path: Path):
    """The saved strategy rebuilt on the devices present now; a mesh they cannot hold is dropped
    with a warning (the weights are whole arrays in the file, so they load anywhere)."""
    if not config:
        return None
    from highlevel import distribute
    try:
        return distribute.get(config)
    except ValueError as err:
        warnings.warn(f"{path} was trained with the distribution {config}, which these devices cannot hold "
                      f"({err}); it is loaded without one. Pass distribution=... to compile() to choose.",
                      stacklevel=3)
        return None


def _deserialize_loss(config):
    """A saved loss: a name, a serialized Loss, or a list/dict of them per output."""
    from highlevel import losses
    if isinstance(config, dict) and "class_name" in config:
        return losses.get(config)
    if isinstance(config, dict):
        return {name: _deserialize_loss(c) for name, c in config.items()}
    if isinstance(config, list):
        return [_deserialize_loss(c) for c in config]
    return config


def _tupled(shape):
    if isinstance(shape, list) and all(isinstance(d, (int, type(None))) for d in shape):
        return tuple(shape)
    if isinstance(shape, list):
        return [_tupled(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _tupled(v) for k, v in shape.items()}
    return shape


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Saves the weights, atomically: Keras 3's ``.weights.h5`` file, or a highlevel directory.

    A path ending in ``.weights.h5`` gets Keras 3's HDF5 layout, which
    ``keras_model.load_weights(path)`` reads into the same architecture built with Keras;
    any other path a directory of highlevel's own format (Keras's order), except ``.h5`` and
    ``.keras`` (Keras 2's format and whole-model files: refused).

    Args:
        model: The model.
        filepath: A ``.weights.h5`` file or a directory.
        overwrite: Whether to replace an existing save.

    >>> import os, tempfile
    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.weights.h5")
    >>> hl.saving.save_weights(model, path)
    >>> model.load_weights(path).complete
    True
    """
    path = Path(filepath).absolute()
    _refuse_legacy_h5(path, "save_weights()")
    _refuse_other_format(path, weights_only=True)
    if _is_weights_h5(path):
        _atomic_file(path, overwrite, prepare_save(model, weights_only=True, filepath=path))
        return
    _atomic_dir(path, overwrite, prepare_save(model, weights_only=True))


def load_weights(model, filepath, skip_mismatch: bool = False):
    """Loads weights into ``model`` from any file or directory that holds them.

    It reads ``save_weights``' directory or file, a ``save``d model, a directory of
    ``hl.callbacks.OrbaxCheckpoint`` (its latest step) or one step in it, or Keras's
    ``.weights.h5``/``.h5``/``.keras`` files (matched to layers as Keras writes them).

    Args:
        model: The model (built).
        filepath: The directory or file.
        skip_mismatch: For Keras's files, load what matches and return a report of the rest
            instead of raising.

    Returns:
        For Keras's files a ``LoadReport`` of what was loaded, else None.

    >>> import os, tempfile
    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "weights")
    >>> model.save_weights(path)
    >>> hl.saving.load_weights(model, path)
    """
    return model.load_weights(filepath, skip_mismatch=skip_mismatch)


def load_weights_directory(model, filepath) -> None:
    """Loads weights saved by ``save_weights`` into a directory (or the weights of a ``save``d model)."""
    path = Path(filepath).absolute()
    from highlevel.models import orbax_steps
    step_dir = orbax_steps.find_step(path)
    if step_dir is not None:  # written by hl.callbacks.OrbaxCheckpoint
        model.set_weights(_unindexed(orbax_steps.read_state(step_dir)["weights"]))
        return
    _verified(path, "saved weights")
    if (path / "weights.json").exists():
        tree = _restore(path / "weights")
    elif (path / "config.json").exists():
        tree = _restore(path / "state")
    else:
        raise FileNotFoundError(f"{path} holds neither weights.json nor config.json: it is not a directory "
                                "written by save_weights() or save().")
    model.set_weights(_unindexed(tree["weights"]))
