"""Keras 3's HDF5 weight layout (``saving_lib.H5IOStore``): where each weight of a model goes.

Keras 3 writes ``model.save_weights("x.weights.h5")`` (and the ``model.weights.h5`` inside
a ``.keras`` zip) as groups of datasets ``<path>/vars/0, 1, ...`` with a ``name``
attribute on each ``vars`` group:

- the model itself at the top (``vars``, empty for Sequential and functional models);
- each layer of a Sequential or functional model at ``layers/<key>``, where ``<key>`` is
  the layer's class in snake case, numbered in ``model.layers`` order (``dense``,
  ``dense_1``, ...), *not* the layer's name; a nested model nests (``layers/sequential/
  layers/dense``);
- a recurrent layer keeps its weights in its cell (``layers/lstm/cell/vars``), and a
  ``Bidirectional`` in its two layers (``forward_layer/cell``, ``backward_layer/cell``);
- a ``SpectralNormalization`` wrapper holds the wrapped kernel and ``vector_u`` itself
  (``layers/spectral_normalization/vars``) and the wrapped layer all its weights again
  (``.../layer/vars``): Keras tracks the kernel in both, so it is written twice and read from
  both (the same numbers in a Keras file);
- a custom layer's sublayers under their attribute names (``layers/block/dense_a/vars``),
  public attributes first, sorted by name, as Keras's ``_walk_saveable`` visits them; a
  subclassed model likewise, with its ``layers`` property walked as one more attribute
  (``layers/dense`` for a Dense whose attribute sorts after ``layers``), so two instances
  of one class match by attribute path whatever their layers are named.

A bfloat16 array is stored as HDF5's two-byte opaque type with a ``dtype="bfloat16"``
attribute on its dataset, as Keras 3 does (``H5IOStore.__setitem__``), and read back by that
attribute, so such files pass both ways between Keras and highlevel.

A file highlevel writes also carries, as the root attribute ``highlevel.sha256``, the SHA-256
of every dataset (path, dtype, shape and bytes, in path order), written in the same file
before it is renamed into place; :func:`open_h5` checks it before anything is read and
refuses a file whose numbers differ from those written. Keras ignores the attribute, and a
file without it (written by Keras) is read unchecked.

:func:`layout` lists those entries for a highlevel model; :func:`write_h5` and
:func:`read_h5` write and read a file (or an open h5py group) with them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
from typing import Any, Iterator

import ml_dtypes
import numpy as np

from highlevel.layers.base import Layer
from highlevel.utils.manifest import DamagedSaveError

__all__ = ["Entry", "layout", "snapshot", "write_h5", "read_h5", "h5py_module", "open_h5", "read_array",
           "CHECKSUM"]

CHECKSUM = "highlevel.sha256"

# Keras keeps these layers' weights in a cell object: layers/<key>/cell/vars.
_CELL_LAYERS = {"SimpleRNN": "simple_rnn_cell", "LSTM": "lstm_cell", "GRU": "gru_cell"}


@dataclasses.dataclass
class Entry:
    """One ``vars`` group: its path (``""`` for the top), the ``name`` attribute Keras writes and the
    variables it holds (in order)."""

    path: str
    name: str
    variables: list
    #: How many leading variables another entry also holds (SpectralNormalization's kernel).
    mirrored: int = 0

    @property
    def vars_path(self) -> str:
        return f"{self.path}/vars" if self.path else "vars"


def snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: ``Conv2D`` -> ``conv2d``, ``SimpleRNN`` -> ``simple_rnn``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _is_model(layer) -> bool:
    return hasattr(layer, "trainer") and hasattr(layer, "layers")


def _is_graph(model) -> bool:
    """A Sequential or functional model: Keras saves its layers as ``layers/<key>``."""
    return type(model).__name__ == "Sequential" or getattr(model, "inputs", None) is not None


def class_key(layer) -> str:
    if _is_model(layer) and _is_graph(layer):
        cls = type(layer)
        while cls.__name__ not in ("Sequential", "Model"):
            cls = cls.__mro__[1]
        return "sequential" if cls.__name__ == "Sequential" else "functional"
    return snake_case(type(layer).__name__)


def _unique(key: str, used: dict[str, int]) -> str:
    if key in used:
        used[key] += 1
        return f"{key}_{used[key]}"
    used[key] = 0
    return key


def _sublayer_ids(layer) -> set[int]:
    return {id(v) for sub in layer.flatten_layers(include_self=False) for v in sub.weights}


def _own_weights(layer) -> list:
    inner = _sublayer_ids(layer)
    return [v for _, v in layer.named_weights() if id(v) not in inner]


def _children(layer) -> list[tuple[str, Any]]:
    """``(attribute, value)`` for attributes holding a layer or a list/tuple/dict of layers,
    public names first, each group sorted (Keras's ``_walk_saveable`` order)."""
    found = []
    for attr, value in vars(layer).items():
        if attr.startswith("__") or attr.startswith("_pytree__") or attr in ("inbound_nodes", "trainer"):
            continue
        if isinstance(value, Layer):
            found.append((attr, value))
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            found.append((attr, list(value)))
        elif isinstance(value, dict) and value and all(isinstance(v, Layer) for v in value.values()):
            found.append((attr, list(value.values())))
    if _is_model(layer) and not _is_graph(layer) and layer.layers:
        # Keras walks a subclassed model's ``layers`` property as one more attribute: the layers
        # not reached through an attribute sorted before it are saved as ``layers/<class key>``.
        found.append(("layers", list(layer.layers)))
    return sorted(found, key=lambda item: ("~" + item[0]) if item[0].startswith("_") else item[0])


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _container(layers, prefix: str, out: list[Entry], covered: set[int] | None = None) -> None:
    """``layers`` under ``prefix/<class key>``; as Keras's ``_save_container_state``, every layer
    takes a number, and those in ``covered`` (saved already under another path) are skipped."""
    used: dict[str, int] = {}
    for layer in layers:
        path = _join(prefix, _unique(class_key(layer), used))
        if covered is not None:
            if id(layer) in covered:
                continue
            covered.add(id(layer))
        _layer(layer, path, out)


def _layer(layer, path: str, out: list[Entry]) -> None:
    if _is_model(layer) and _is_graph(layer):
        out.append(Entry(path, layer.name, []))
        _container(layer.layers, _join(path, "layers"), out)
        return
    cls = type(layer).__name__
    if cls in _CELL_LAYERS:
        out.append(Entry(path, layer.name, []))
        out.append(Entry(_join(path, "cell"), _CELL_LAYERS[cls], _own_weights(layer)))
        return
    if cls == "SpectralNormalization" and hasattr(layer, "vector_u"):
        out.append(Entry(path, layer.name, [layer.kernel_variable(), layer.vector_u], mirrored=1))
        _layer(layer.layer, _join(path, "layer"), out)
        return
    if cls == "Bidirectional":
        out.append(Entry(path, layer.name, []))
        for attr in ("forward_layer", "backward_layer"):
            _layer(getattr(layer, attr), _join(path, attr), out)
        return
    out.append(Entry(path, layer.name, _own_weights(layer)))
    covered: set[int] = set()
    for attr, value in _children(layer):
        if isinstance(value, list):
            _container(value, _join(path, attr), out, covered)
        elif id(value) not in covered:
            covered.add(id(value))
            _layer(value, _join(path, attr), out)


def layout(model) -> list[Entry]:
    """The ``vars`` groups of Keras's weight file for ``model``, in the order Keras writes them.

    Every weight of the model appears in exactly one entry; a model whose weights cannot
    all be placed raises a ``ValueError`` naming the layer.
    """
    out: list[Entry] = []
    if _is_graph(model):
        out.append(Entry("", model.name, []))
        _container(model.layers, "layers", out)
    else:   # a subclassed model: its attributes (names, not the layers' own names), as for a custom layer
        _layer(model, "", out)
    placed = [id(v) for e in out for v in e.variables[e.mirrored:]]
    if len(placed) != len(set(placed)):
        raise ValueError(f"Model '{model.name}' shares a weight between two layers; Keras's weight file stores "
                         "each weight once per layer, so save it with save_weights('dir') instead.")
    missing = [name for name, v in model.named_weights() if id(v) not in set(placed)]
    if missing:
        raise ValueError(f"Cannot place the weights {missing[:3]} of model '{model.name}' in Keras's .weights.h5 "
                         "layout (they are held outside any layer attribute); save them with save_weights('dir').")
    return out


# -- files --------------------------------------------------------------------------------------


def h5py_module():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py comes with the dev extras and with keras
        raise ImportError("Keras's .weights.h5 and .keras files need h5py: pip install h5py") from None
    return h5py


@contextlib.contextmanager
def open_h5(path_or_file, mode: str = "r", source=None) -> Iterator[Any]:
    """``with open_h5(...) as f``: the ``h5py.File`` of ``path_or_file``, closed at the end.

    Read, a truncated or damaged file is refused with one sentence naming ``source`` (default:
    the path): a file carrying highlevel's checksum is verified first, and an error HDF5
    raises while the file is read inside the block (a damaged header, attribute or heap
    that the checksum does not cover) is turned into that sentence too.
    """
    h5py = h5py_module()
    if source is None:
        source = path_or_file if isinstance(path_or_file, (str, os.PathLike)) else "the weight file"
    name = os.fspath(source) if isinstance(source, os.PathLike) else source
    try:
        f = h5py.File(path_or_file, mode)
    except OSError as err:
        if mode != "r":
            raise
        raise _unreadable(name, err) from None
    with f:
        if mode != "r":
            yield f
            return
        _verify(f, name)
        try:
            yield f
        except (OSError, RuntimeError) as err:   # how h5py reports what HDF5 cannot decode
            raise _unreadable(name, err) from None


def _unreadable(name, err) -> DamagedSaveError:
    return DamagedSaveError(f"{name} is not a readable HDF5 weight file (it is truncated or damaged: {err}); "
                            "save the weights again.")


def read_array(dataset) -> np.ndarray:
    """The array of an h5py dataset, with the dtype Keras's ``dtype`` attribute names (bfloat16).

    A two-byte opaque dataset is bfloat16, the one ml_dtypes type of that size, whether or not
    it carries the attribute (earlier highlevel versions wrote it without); the attribute is
    then not read, as Keras's variable-length string lives in HDF5's global heap, which a
    damaged byte can send into an endless loop. Other ml_dtypes types (float8, int4) are
    named by a fixed-length attribute, which highlevel writes for them.
    """
    value = np.asarray(dataset[()])
    if value.dtype.kind != "V" or value.dtype.names is not None:
        return value
    if value.dtype.itemsize == 2:
        return value.view(ml_dtypes.bfloat16)
    named = dataset.attrs.get("dtype")
    named = named.decode("utf8") if isinstance(named, bytes) else named
    dtype = getattr(ml_dtypes, named, None) if isinstance(named, str) else None
    if dtype is None or np.dtype(dtype).itemsize != value.dtype.itemsize:
        return value
    return value.view(dtype)


def _datasets_in(f) -> list[str]:
    h5py = h5py_module()
    names: list[str] = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(names)


def checksum(f) -> str:
    """SHA-256 of every dataset of the open file ``f``: its path, dtype, shape and bytes, in path order."""
    digest = hashlib.sha256()
    for name in _datasets_in(f):
        array = np.ascontiguousarray(read_array(f[name]))
        digest.update(json.dumps([name, array.dtype.name, list(array.shape)]).encode("utf8"))
        digest.update(array.tobytes())
    return digest.hexdigest()


def _verify(f, name) -> None:
    try:
        recorded = f.attrs.get(CHECKSUM)
        if recorded is None:
            return   # a file written by Keras (or by highlevel before it recorded checksums)
        recorded = recorded.decode("utf8") if isinstance(recorded, bytes) else str(recorded)
        actual = checksum(f)
    except (OSError, KeyError, RuntimeError, TypeError, ValueError) as err:
        raise _unreadable(name, err) from None
    if actual != recorded:
        raise DamagedSaveError(f"{name} is damaged: its weights differ from the SHA-256 recorded in it when it "
                               "was written; use another copy, or save the weights again.")


def snapshot(model) -> list[tuple[str, str, list[np.ndarray]]]:
    """``(vars group path, name attribute, host arrays)`` of every entry: what :func:`write_h5` writes,
    copied to the host now (so the writing may happen later, in another thread)."""
    from highlevel.distribute import to_host
    out = []
    for entry in layout(model):
        arrays = [np.asarray(a) for a in to_host([v.get_value() for v in entry.variables])]
        out.append((entry.vars_path, entry.name, arrays))
    return out


def _create(group, key: str, array) -> None:
    array = np.asarray(array)
    dataset = group.create_dataset(key, data=array)
    if array.dtype == ml_dtypes.bfloat16:
        dataset.attrs["dtype"] = "bfloat16"   # as Keras marks it (a variable-length string, which Keras reads)
    elif array.dtype.kind == "V" and array.dtype.names is None:
        dataset.attrs["dtype"] = np.bytes_(array.dtype.name)   # float8, int4...: Keras does not read these


def write_h5(entries: list[tuple[str, str, list[np.ndarray]]], f,
             extra: dict[str, list[np.ndarray]] | None = None) -> None:
    """Writes a :func:`snapshot` into the open h5py file ``f`` in Keras 3's layout, with its checksum.

    ``extra`` adds ``{group path: arrays}`` that Keras does not read (highlevel's optimizer state).
    An entry's arrays may be a ``{dataset name: array}`` dict, and its name ``None`` (no attribute).
    """
    for vars_path, name, arrays in entries:
        group = f.require_group(vars_path)
        if name is not None:
            group.attrs["name"] = name
        # A dict keeps its keys (KerasFileEditor's edited groups may skip or rename one).
        for key, arr in (arrays.items() if isinstance(arrays, dict) else enumerate(arrays)):
            _create(group, str(key), arr)
    for path, arrays in (extra or {}).items():
        group = f.require_group(path)
        for i, arr in enumerate(arrays):
            _create(group, str(i), arr)
    # Last, over what the file holds. Fixed-length ASCII, stored inside the attribute itself: a
    # variable-length string lives in HDF5's global heap, which a damaged byte can send into a loop.
    f.attrs[CHECKSUM] = np.bytes_(checksum(f))


def _datasets(group) -> int:
    return len([k for k in group.keys() if k.isdigit()])


def read_h5(f, model) -> dict[str, list[np.ndarray]]:
    """``{owning layer name: arrays in its get_weights order}`` from a Keras 3 weight file ``f``.

    Layers the file has nothing for are left out (``assign`` reports them); groups of the
    file that no layer takes are listed under ``"__unmatched__"``.
    """
    entries = layout(model)
    by_var: dict[int, np.ndarray] = {}
    short: list[str] = []
    expected_paths = set()
    for entry in entries:
        expected_paths.add(entry.vars_path)
        if not entry.variables:
            continue
        group = f.get(entry.vars_path)
        if group is None:
            continue
        if _datasets(group) != len(entry.variables):
            short.append(f"{entry.vars_path} holds {_datasets(group)} arrays, the layer "
                         f"'{entry.name}' {len(entry.variables)}")
            continue
        for i, var in enumerate(entry.variables):
            by_var[id(var)] = read_array(group[str(i)])
    # The file is matched by path (attribute names, or class keys numbered in layer order), never by
    # the layers' own names, which differ between the saving and the loading process; the arrays
    # are then handed to ``assign`` under the names of the loading model's layers.
    from highlevel.models.weight_files import weight_groups
    out: dict[str, list[np.ndarray]] = {}
    for name, variables in weight_groups(model).items():
        arrays = [by_var.get(id(v)) for v in variables]
        if all(a is not None for a in arrays):
            out[name] = arrays
        elif any(a is not None for a in arrays):
            out[name] = [a for a in arrays if a is not None]   # assign reports the mismatch
    unmatched = []

    def visit(name, obj):
        if name.endswith("/vars") or name == "vars":
            if name not in expected_paths and _datasets(obj):
                unmatched.append(name[:-len("/vars")] if name != "vars" else "(the model)")

    f.visititems(visit)
    unmatched = [u for u in unmatched if not u.startswith(("optimizer", "highlevel"))] + short
    if unmatched:
        out["__unmatched__"] = unmatched  # type: ignore[assignment]
    return out
