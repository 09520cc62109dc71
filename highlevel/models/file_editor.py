"""``KerasFileEditor``: Keras 3's ``keras.saving.KerasFileEditor``, over highlevel's readers and writers.

The weights of a ``.keras`` zip or a ``.weights.h5`` file are read into a nested dict that
mirrors Keras 3's HDF5 layout (``keras_layout``): ``{"layers": {"dense": {"0": kernel,
"1": bias}, ...}}``, where an object's weights (the datasets of its ``vars`` group) sit
beside its sub-objects (``{"lstm": {"cell": {"0": ...}}}``). The dict is edited in place and
written back as a ``.weights.h5`` file through highlevel's writer (a temporary sibling renamed
into place, with its checksum), so the result loads with ``model.load_weights`` in highlevel
and in Keras. No model is built: the file is read as it is.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from highlevel.models import keras_archive, keras_layout

__all__ = ["KerasFileEditor"]

# Groups of a weight file that hold training state rather than a model's weights: ``compare``
# leaves them out, as highlevel's ``load_weights`` does.
_STATE_GROUPS = ("optimizer", "highlevel")
_MAX_BYTES = 1 << 32   # Keras's limit on one dataset read by the editor (4 GiB)


class KerasFileEditor:
    """Inspects, edits and resaves the weights of a Keras ``.keras`` or ``.weights.h5`` file.

    Useful to adapt a saved weights file after changing a model's architecture: rename,
    delete or add layers' weights, check the result against the new model with
    :meth:`compare`, and save it for ``model.load_weights``. Files written by highlevel and by
    Keras 3 both open; the model is never built.

    Objects are named by their path in the file (``"layers/dense_2"``) or, where it occurs
    once, by their last name (``"dense_2"``); weights within an object by their dataset name
    (``"0"``, ``"1"``...).

    Args:
        filepath: The path of the ``.keras`` or ``.weights.h5`` file to open.

    Attributes:
        weights_dict: the nested dict of the file's weights (NumPy arrays), edited in place.
        object_metadata: ``{"/path": attributes}`` of the file's groups (the layer ``name``s).
        metadata: the ``.keras`` zip's ``metadata.json`` (``None`` for a ``.weights.h5``).
        config: the ``.keras`` zip's ``config.json`` (``None`` for a ``.weights.h5``).

    Example:

    >>> import os, tempfile
    >>> import highlevel as hl, numpy as np
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2), hl.layers.Dense(1)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.weights.h5")
    >>> model.save_weights(path)
    >>> editor = hl.saving.KerasFileEditor(path)
    >>> sorted(editor.weights_dict["layers"])
    ['dense', 'dense_1']
    >>> editor.delete_object("dense_1")
    >>> editor.add_object("layers/dense_1", {"0": np.ones((2, 4)), "1": np.zeros(4)})
    >>> editor.weights_dict["layers"]["dense_1"]["0"].shape
    (2, 4)
    >>> editor.save(os.path.join(os.path.dirname(path), "edited.weights.h5"))
    """

    def __init__(self, filepath: str | os.PathLike):
        self.filepath = os.fspath(filepath)
        self.metadata: dict | None = None
        self.config: dict | None = None
        self.object_metadata: dict[str, dict[str, Any]] = {}
        path = Path(self.filepath)
        if not self.filepath.endswith((".keras", ".weights.h5")):
            raise ValueError("Invalid filename: expected a `.keras` or `.weights.h5` extension. "
                             f"Received: filepath={self.filepath}")
        if not path.is_file():
            raise FileNotFoundError(f"No file at {self.filepath}: KerasFileEditor opens an existing .keras or "
                                    ".weights.h5 file.")
        if self.filepath.endswith(".keras"):
            with keras_archive._zip(path) as z:
                self.config = keras_archive._json(z, "config.json", path) if "config.json" in z.namelist() else None
                self.metadata = (keras_archive._json(z, "metadata.json", path)
                                 if "metadata.json" in z.namelist() else None)
            opened = keras_archive.open_weights(path)
        else:
            opened = keras_layout.open_h5(path)
        with opened as f:
            self.weights_dict: dict[str, Any] = _read_group(f, "", self.object_metadata)

    # -- showing ---------------------------------------------------------------------------------

    def summary(self) -> None:
        """Prints the file's path, who saved it and when, and the structure of its weights."""
        print(f"Keras model file '{self.filepath}'")
        if self.metadata is not None:
            if "keras_version" in self.metadata:
                saver = f"Keras {self.metadata['keras_version']}"
            else:
                saver = f"highlevel {self.metadata.get('highlevel_version', '?')}"
            print(f"Saved with {saver} - date: {self.metadata.get('date_saved', '?')}")
        self.weights_summary()

    def weights_summary(self) -> None:
        """Prints the structure of the file's weights: each object (with the layer name the file
        records for it) and each weight's shape and dtype."""
        print("Weights structure")
        self._print_tree(self.weights_dict, "  ", "")

    def _print_tree(self, tree: dict, prefix: str, path: str) -> None:
        items = list(tree.items())
        for i, (key, value) in enumerate(items):
            last = i == len(items) - 1
            connector = "└─ " if last else "├─ "
            inner = _join(path, key)
            if isinstance(value, dict):
                name = self.object_metadata.get("/" + inner, {}).get("name")
                print(f"{prefix}{connector}{key}" + (f" ('{name}')" if name is not None else ""))
                self._print_tree(value, prefix + ("    " if last else "│   "), inner)
            else:
                print(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    # -- comparing -------------------------------------------------------------------------------

    def compare(self, reference_model) -> dict[str, Any]:
        """Compares the opened file to a reference model, printing every mismatch.

        The model's weights are laid out as its ``save_weights`` would write them; the file's
        training state (its ``optimizer`` and ``highlevel`` groups) is left out, as
        ``load_weights`` leaves it out.

        Args:
            reference_model: A built highlevel model to compare to.

        Returns:
            A dict with ``'status'`` (``'success'`` or ``'error'``), ``'error_count'`` (the
            number of mismatches found) and ``'match_count'`` (the number of matching weights).
        """
        print("Running comparison")
        reference: dict[str, Any] = {}
        for entry in keras_layout.layout(reference_model):
            if entry.variables:
                node = _node(reference, entry.path)
                for i, variable in enumerate(entry.variables):
                    node[str(i)] = tuple(variable.get_value().shape)
        saved = {k: v for k, v in self.weights_dict.items() if k not in _STATE_GROUPS}
        counts = [0, 0]   # errors, matches
        _compare(reference, saved, "", counts, with_shapes=True)
        _compare(saved, reference, "", counts, with_shapes=False)
        errors, matches = counts
        print("─────────────────────")
        if errors == 0:
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
        else:
            print(f"Found {errors} error{'' if errors == 1 else 's'}: saved file is not compatible with the "
                  "reference model")
        return {"status": "success" if errors == 0 else "error", "error_count": errors, "match_count": matches}

    # -- editing ---------------------------------------------------------------------------------

    def _edit_object(self, edit_fn: Callable[[dict, str, str], None], source_name: str) -> None:
        """``edit_fn(parent dict, key, path)`` on the object named ``source_name`` (a path, or a
        name that occurs once in the file)."""
        if "/" in source_name:
            parent = self._parent(source_name, source_name)
            key = source_name.split("/")[-1]
            if key not in parent:
                where = source_name.rsplit("/", 1)[0]
                raise ValueError(f"Path '{source_name}' not found in the file: '{where}' holds {list(parent)}.")
            edit_fn(parent, key, source_name)
            return
        found = _occurrences(self.weights_dict, source_name, "")
        if len(found) > 1:
            raise ValueError(f"Name '{source_name}' occurs more than once in the file (at {found}); pass one of "
                             "these paths instead.")
        if not found:
            raise ValueError(f"Name '{source_name}' does not appear in the file, whose objects are "
                             f"{_objects(self.weights_dict, '')}. Use `editor.weights_summary()` to list them "
                             "with their weights.")
        path = found[0]
        edit_fn(self._parent(path, path), source_name, path)

    def _parent(self, path: str, asked: str) -> dict:
        """The dict holding the last element of ``path``; a missing element is named with what exists."""
        node, walked = self.weights_dict, ""
        for element in path.split("/")[:-1]:
            if not isinstance(node.get(element), dict):
                holds = f"'{walked}' holds" if walked else "the file's top level holds"
                raise ValueError(f"Path '{asked}' not found in the file: {holds} {list(node)}, not "
                                 f"'{element}'.")
            node, walked = node[element], _join(walked, element)
        return node

    def rename_object(self, object_name: str, new_name: str) -> None:
        """Renames an object in the file (e.g. a layer).

        Args:
            object_name: Name or path of the object to rename (e.g. ``"dense_2"`` or
                ``"layers/dense_2"``).
            new_name: The object's new name (a leaf name, not a path). An object of that name
                beside it is not overwritten: delete it first.
        """
        if "/" in new_name:
            raise ValueError(f"Argument `new_name` should be a leaf name, not a full path name. "
                             f"Received: new_name='{new_name}'")

        def rename(parent: dict, key: str, path: str) -> None:
            if new_name in parent and new_name != key:
                raise ValueError(f"Cannot rename '{path}' to '{new_name}': the file already holds "
                                 f"'{_join(path.rpartition('/')[0], new_name)}'; delete it first.")
            # Rebuilt in order, so the object keeps its place among its siblings.
            items = [(new_name if k == key else k, v) for k, v in parent.items()]
            parent.clear()
            parent.update(items)

        self._edit_object(rename, object_name)

    def delete_object(self, object_name: str) -> None:
        """Removes an object from the file (e.g. a layer).

        Args:
            object_name: Name or path of the object to delete (e.g. ``"dense_2"`` or
                ``"layers/dense_2"``).
        """
        self._edit_object(lambda parent, key, path: parent.pop(key), object_name)

    def add_object(self, object_path: str, weights: dict[str, Any]) -> None:
        """Adds a new object to the file (e.g. a layer).

        Args:
            object_path: Full path of the object to add (e.g. ``"layers/dense_2"``); every
                element but the last must exist, and the last must not.
            weights: Dict mapping weight names to weight values (arrays), e.g.
                ``{"0": kernel_value, "1": bias_value}``.
        """
        weights = _weights_arg(weights)
        parent = self._parent(object_path, object_path) if "/" in object_path else self.weights_dict
        key = object_path.split("/")[-1]
        if key in parent:
            raise ValueError(f"Cannot add '{object_path}': the file already holds it; use add_weights() to add "
                             "weights to it, or delete_object() first.")
        parent[key] = weights

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Removes a weight from an existing object.

        Args:
            object_name: Name or path of the object from which to remove the weight (e.g.
                ``"dense_2"`` or ``"layers/dense_2"``).
            weight_name: Name of the weight to delete (e.g. ``"0"``).
        """

        def delete(parent: dict, key: str, path: str) -> None:
            obj = parent[key]
            if not isinstance(obj, dict) or weight_name not in obj or isinstance(obj[weight_name], dict):
                found = [k for k, v in obj.items() if not isinstance(v, dict)] if isinstance(obj, dict) else []
                raise ValueError(f"Weight {weight_name} not found in object {path}. Weights found: {found}")
            obj.pop(weight_name)

        self._edit_object(delete, object_name)

    def add_weights(self, object_name: str, weights: dict[str, Any]) -> None:
        """Adds one or more new weights to an existing object (a weight of the same name is replaced).

        Args:
            object_name: Name or path of the object to add the weights to (e.g. ``"dense_2"``
                or ``"layers/dense_2"``).
            weights: Dict mapping weight names to weight values (arrays), e.g.
                ``{"0": kernel_value, "1": bias_value}``.
        """
        weights = _weights_arg(weights)

        def add(parent: dict, key: str, path: str) -> None:
            if not isinstance(parent[key], dict):
                raise ValueError(f"'{path}' is a weight, not an object: pass the path of the object holding it.")
            parent[key].update(weights)

        self._edit_object(add, object_name)

    # -- saving ----------------------------------------------------------------------------------

    def save(self, filepath: str | os.PathLike) -> None:
        """Saves the edited weights, in Keras 3's layout, for ``model.load_weights``.

        Args:
            filepath: Path to save the file to. Must be a ``.weights.h5`` file.
        """
        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(f"Invalid `filepath` argument: expected a `.weights.h5` extension. "
                             f"Received: filepath={filepath}")
        entries: list[tuple[str, Any, dict[str, np.ndarray]]] = []
        self._entries(self.weights_dict, "", entries)
        keras_archive.write_weights(entries, Path(filepath))

    def resave_weights(self, filepath: str | os.PathLike) -> None:
        """Saves the edited weights to a ``.weights.h5`` file: the same as :meth:`save`.

        Args:
            filepath: Path to save the file to. Must be a ``.weights.h5`` file.
        """
        self.save(filepath)

    def _entries(self, tree: dict, path: str, out: list) -> None:
        weights = {k: np.asarray(v) for k, v in tree.items() if not isinstance(v, dict)}
        if weights:
            name = self.object_metadata.get("/" + path, {}).get("name")
            out.append((f"{path}/vars" if path else "vars", name, weights))
        for key, value in tree.items():
            if isinstance(value, dict) and value:
                self._entries(value, _join(path, key), out)


# -- reading ---------------------------------------------------------------------------------------


def _read_group(group, path: str, metadata: dict) -> dict[str, Any]:
    """``{weight: array, sub-object: dict}`` of an HDF5 group; links, external and virtual
    datasets and oversized shapes are refused, as Keras's editor refuses them."""
    h5py = keras_layout.h5py_module()
    out: dict[str, Any] = {}
    for key in group.keys():
        inner = _join(path, key)
        link = group.get(key, getclass=True, getlink=True)
        if link in (h5py.ExternalLink, h5py.SoftLink):
            raise ValueError(f"Not allowed: H5 file with {link.__name__} at '{inner}'.")
        value = group[key]
        if isinstance(value, h5py.Group):
            if key == "vars":
                attrs = {k: v for k, v in value.attrs.items() if k != keras_layout.CHECKSUM}
                if attrs:
                    metadata["/" + path] = attrs
                for name, array in _read_vars(value, inner).items():
                    if name in out:
                        raise ValueError(f"'{path}' holds both a weight and an object named '{name}'.")
                    out[name] = array
                continue
            sub = _read_group(value, inner, metadata)
            if sub:   # empty groups are left out, as Keras's editor leaves them
                if key in out:
                    raise ValueError(f"'{path}' holds both a weight and an object named '{key}'.")
                out[key] = sub
        elif isinstance(value, h5py.Dataset):
            out[key] = _read_dataset(value, inner)
    return out


def _read_vars(group, path: str) -> dict[str, np.ndarray]:
    h5py = keras_layout.h5py_module()
    out = {}
    for key in group.keys():
        link = group.get(key, getclass=True, getlink=True)
        if link in (h5py.ExternalLink, h5py.SoftLink):
            raise ValueError(f"Not allowed: H5 file with {link.__name__} at '{path}/{key}'.")
        value = group[key]
        if isinstance(value, h5py.Dataset):
            out[key] = _read_dataset(value, f"{path}/{key}")
    return out


def _read_dataset(dataset, path: str) -> np.ndarray:
    if dataset.external:
        raise ValueError(f"Not allowed: H5 file Dataset with external links at '{path}': {dataset.external}")
    if dataset.is_virtual:
        raise ValueError(f"Not allowed: H5 file with virtual Dataset at '{path}'")
    shape = dataset.shape or ()
    if any(d < 0 for d in shape) or len(shape) > 64:
        raise ValueError(f"Malformed HDF5 dataset shape {shape} at '{path}'.")
    size = math.prod(shape) * dataset.dtype.itemsize
    if size > _MAX_BYTES:
        raise ValueError(f"HDF5 dataset too large to load safely at '{path}' ({size} bytes; limit is "
                         f"{_MAX_BYTES}).")
    return keras_layout.read_array(dataset)


# -- helpers ---------------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}/{key}" if path else key


def _node(tree: dict, path: str) -> dict:
    for element in path.split("/") if path else []:
        tree = tree.setdefault(element, {})
    return tree


def _occurrences(tree: dict, name: str, path: str) -> list[str]:
    """Every path in ``tree`` whose last element is ``name``."""
    found = [_join(path, name)] if name in tree else []
    for key, value in tree.items():
        if isinstance(value, dict):
            found += _occurrences(value, name, _join(path, key))
    return found


def _objects(tree: dict, path: str) -> list[str]:
    """The paths of the objects holding weights directly."""
    out = [path] if path and any(not isinstance(v, dict) for v in tree.values()) else []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += _objects(value, _join(path, key))
    return out


def _weights_arg(weights) -> dict[str, np.ndarray]:
    if not isinstance(weights, dict):
        raise ValueError("Argument `weights` should be a dict where keys are weight names (usually '0', '1', "
                         f"etc.) and values are NumPy arrays. Received: type(weights)={type(weights)}")
    return {str(k): np.asarray(v) for k, v in weights.items()}


def _compare(reference: dict, target: dict, path: str, counts: list[int], with_shapes: bool) -> None:
    """Reports what ``reference`` holds and ``target`` lacks; with ``with_shapes`` (the model as
    reference, the file as target) also the weights whose shapes differ, and counts the matches."""
    ref_name, target_name = ("reference model", "saved file") if with_shapes else ("saved file", "reference model")
    for key, ref in reference.items():
        inner = _join(path, key)
        if key not in target:
            counts[0] += 1
            kind = "Object" if isinstance(ref, dict) else "Weight"
            print(f"...{kind} {inner} present in {ref_name}, missing from {target_name}")
            if isinstance(ref, dict):
                print(f"    In {ref_name}, {inner} contains the following keys: {list(ref)}")
            continue
        other = target[key]
        if isinstance(ref, dict) and isinstance(other, dict):
            _compare(ref, other, inner, counts, with_shapes)
        elif not with_shapes:
            continue
        elif isinstance(ref, dict) or isinstance(other, dict):
            counts[0] += 1
            kinds = ["an object" if isinstance(x, dict) else "a weight" for x in (ref, other)]
            print(f"...{inner} is {kinds[0]} in {ref_name} but {kinds[1]} in {target_name}")
        elif tuple(ref) != tuple(other.shape):
            counts[0] += 1
            print(f"...Weight shape mismatch for {inner}\n    In {ref_name}: shape={tuple(ref)}\n"
                  f"    In {target_name}: shape={tuple(other.shape)}")
        else:
            counts[1] += 1
