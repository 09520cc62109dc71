"""Distribution strategies: a device mesh and where each array of a step lives on it.

A strategy answers three questions for the trainer, and XLA does the rest (the
gradient all-reduce, the all-gathers of sharded weights) from the shardings alone:

* where each leaf of the train state lives (``state_shardings``);
* where a batch lives (``put_batch``: straight onto its shards, no gather on one device);
* which batch sizes divide over the data devices (``check_batch_size``).
"""

from __future__ import annotations

import re
from typing import Any, Mapping, NamedTuple, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from highlevel.utils import global_state as _global_state

__all__ = ["Distribution", "DataParallel", "ModelParallel", "FullySharded", "Stacked", "current", "get",
           "path_name"]


class Stacked(NamedTuple):
    """A full group of K batches, each array stacked on a new leading axis of size K.

    The data pipeline makes them for ``steps_per_execution=K`` (``training/data.py``);
    ``put_batch`` splits their rows along the second axis, not the first.

    >>> import numpy as np
    >>> Stacked(np.zeros((4, 32, 3))).batch.shape   # K=4 batches of 32 rows
    (4, 32, 3)
    """

    batch: Any


def _stack() -> list["Distribution"]:
    # The ``with strategy:`` blocks of this thread (utils/global_state.py).
    return _global_state.global_attribute("distribution_stack", list)


def current() -> "Distribution | None":
    """The innermost ``with strategy:`` block's strategy, or None.

    >>> import highlevel as hl
    >>> hl.distribute.current() is None
    True
    >>> with hl.distribute.DataParallel() as strategy:
    ...     hl.distribute.current() is strategy
    True
    """
    stack = _stack()
    return stack[-1] if stack else None


def path_name(path) -> str:
    """A state leaf's key path as ``"params/_layers/0/kernel"`` (the trailing ``value`` dropped).

    These are the names ``ModelParallel``'s layout patterns match.

    Args:
      path: a ``jax.tree_util`` key path.

    >>> import jax, highlevel as hl
    >>> tree = {"params": {"_layers": [{"kernel": 1}]}}
    >>> [hl.distribute.path_name(p) for p, _ in jax.tree_util.tree_leaves_with_path(tree)]
    ['params/_layers/0/kernel']
    """
    parts = [str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in path]
    if parts and parts[-1] == "value":
        parts = parts[:-1]
    return "/".join(parts)


class Distribution:
    """Base of the strategies: a mesh, a batch axis and a rule for weight shardings.

    Used as ``model.compile(..., distribution=strategy)`` or as a context manager, whose
    block's ``compile`` calls pick it up. Subclasses choose the weight shardings by
    overriding ``weight_spec``.

    Args:
      mesh: the ``jax.sharding.Mesh`` of devices.
      batch_axis: the mesh axis the batch rows are split over (None: replicated batches).

    >>> import jax, numpy as np, highlevel as hl
    >>> from jax.sharding import Mesh
    >>> strategy = hl.distribute.Distribution(Mesh(np.asarray(jax.devices()), ("data",)), "data")
    >>> strategy.num_batch_shards == jax.device_count()
    True
    """

    def __init__(self, mesh: Mesh, batch_axis: str | None):
        self.mesh = mesh
        self.batch_axis = batch_axis if batch_axis in mesh.axis_names else None
        self.replicated = NamedSharding(mesh, P())

    # -- the context manager ---------------------------------------------------------

    def __enter__(self) -> "Distribution":
        _stack().append(self)
        return self

    def __exit__(self, *exc) -> None:
        stack = _stack()
        if self in stack:  # (gone after a clear_session() inside the block)
            stack.remove(self)

    # -- batches ---------------------------------------------------------------------------

    @property
    def num_batch_shards(self) -> int:
        return 1 if self.batch_axis is None else int(self.mesh.shape[self.batch_axis])

    def check_batch_size(self, batch_size: int | None) -> None:
        """Raises a ValueError unless ``batch_size`` rows divide evenly over the data devices."""
        n = self.num_batch_shards
        if batch_size is None or n <= 1 or batch_size % n == 0:
            return
        suggestion = -(-batch_size // n) * n
        raise ValueError(f"batch_size={batch_size} does not divide over {n} devices of the mesh axis "
                         f"{self.batch_axis!r}; use a multiple of {n} such as {suggestion}.")

    def local_batch_size(self, batch_size: int | None) -> int | None:
        """The rows each process feeds per step for a global ``batch_size`` (the same in one process)."""
        p = self.data_processes
        if p == 1:
            return batch_size
        size = 32 if batch_size is None else int(batch_size)
        if size % p:
            raise ValueError(f"batch_size={size} is the global batch, split over {p} processes, and does not "
                             f"divide by {p}; use a multiple of {p} such as {-(-size // p) * p}.")
        return size // p

    def prepare_adapter(self, adapter) -> None:
        """Checks (and where needed pads) a data adapter's batch size for this strategy.

        A batch cut down to a small data set (all its rows) is padded up to a multiple of
        the data devices; any other batch size must divide over them. Over several
        processes every process must hold the same number of rows, so that all run the
        same steps (a process with fewer would leave the others waiting forever)."""
        n, p = self.num_batch_shards, self.data_processes
        per_process = max(n // p, 1)
        size, rows = getattr(adapter, "batch_size", None), getattr(adapter, "num_samples", None)
        if size and size % per_process and size == rows:
            adapter.batch_size = size = -(-size // per_process) * per_process
        if p > 1 and rows is not None:
            from jax.experimental import multihost_utils
            counts = np.asarray(multihost_utils.process_allgather(np.asarray([rows], np.int64))).ravel()
            if len(set(counts.tolist())) > 1:
                raise ValueError(f"Each process must feed the same number of rows so that all run the same "
                                 f"steps, but processes 0..{p - 1} hold {counts.tolist()} rows; give each its "
                                 "block with hl.distribute.shard(data), which cuts equal blocks.")
        self.check_batch_size(None if size is None else size * p)

    @staticmethod
    def local_rows(tree):
        """Predictions (global arrays, rows split over processes) as this process's rows on the host."""
        def one(arr):
            if not isinstance(arr, jax.Array) or arr.is_fully_addressable:
                return np.asarray(arr)
            if arr.is_fully_replicated:
                return np.asarray(arr.addressable_data(0))
            blocks = {}
            for s in arr.addressable_shards:
                blocks.setdefault(s.index[0].start or 0, s.data)
            return np.concatenate([np.asarray(blocks[k]) for k in sorted(blocks)], axis=0)
        return jax.tree_util.tree_map(one, tree)

    def batch_sharding(self, stacked: bool = False) -> NamedSharding:
        """Rows split over the batch axis (after the leading K axis of a stacked group)."""
        spec = P() if self.batch_axis is None else (P(None, self.batch_axis) if stacked else P(self.batch_axis))
        return NamedSharding(self.mesh, spec)

    @property
    def data_processes(self) -> int:
        """How many processes feed distinct rows: all of them when the batch is split, else 1
        (a replicated batch must be the same in every process)."""
        return jax.process_count() if self.batch_axis is not None else 1

    def put_batch(self, item):
        """A batch, a ``Stacked`` group or a list of batches, placed on its shards.

        Over several processes ``item`` holds this process's rows only; the global batch
        (every process's rows, in process order) is assembled on the devices
        (``jax.make_array_from_process_local_data``), so no process holds another's rows.
        """
        stacked = isinstance(item, Stacked)
        tree = item.batch if stacked else item
        leaves = jax.tree_util.tree_leaves(tree)
        if leaves:
            self.check_batch_size(int(np.shape(leaves[0])[1 if stacked else 0]) * self.data_processes)
        sharding = self.batch_sharding(stacked=stacked)
        if jax.process_count() == 1:
            placed = jax.device_put(tree, sharding)
        else:
            placed = jax.tree_util.tree_map(
                lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), tree)
        return Stacked(placed) if stacked else placed

    # -- the train state -----------------------------------------------------------------------

    def weight_spec(self, name: str, shape: tuple) -> P:
        """The PartitionSpec of one state leaf (weights and their optimizer slots alike)."""
        return P()

    def state_shardings(self, tree):
        """A tree of ``NamedSharding``s matching ``tree`` (the train state)."""
        def one(path, leaf):
            shape = tuple(np.shape(leaf))
            if not shape:
                return self.replicated
            return NamedSharding(self.mesh, self.weight_spec(path_name(path), shape))
        return jax.tree_util.tree_map_with_path(one, tree)

    @staticmethod
    def place(tree, shardings):
        """``jax.device_put(tree, shardings)``; over several processes, local device arrays go
        through the host first (jax places only host values, equal in every process, onto
        devices other processes own)."""
        if jax.process_count() == 1:
            return jax.device_put(tree, shardings)

        def one(leaf, sharding):
            if not (isinstance(leaf, jax.Array) and leaf.is_fully_addressable and leaf.sharding != sharding):
                return jax.device_put(leaf, sharding)
            if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
                data = jax.device_put(np.asarray(jax.random.key_data(leaf)), sharding)
                return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
            return jax.device_put(np.asarray(leaf), sharding)
        return jax.tree_util.tree_map(one, tree, shardings)

    def replicate(self, tree):
        return self.place(tree, jax.tree_util.tree_map(lambda _: self.replicated, tree))

    def get_config(self) -> dict:
        """``{class name: arguments}``, JSON-ready; ``hl.distribute.get`` rebuilds the strategy
        from it on the devices present then (``model.save`` stores it with the compile arguments)."""
        return {type(self).__name__: self._arguments()}

    def _arguments(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mesh={dict(self.mesh.shape)})"


def _devices(devices: Sequence | None) -> np.ndarray:
    return np.asarray(jax.devices() if devices is None else list(devices))


class DataParallel(Distribution):
    """Data parallelism: the batch split over the devices, everything else replicated.

    Each device runs the step on its rows; XLA all-reduces the gradients, so every
    replica applies the same update and the weights stay identical.

    Args:
      devices: the devices to use (default: all of ``jax.devices()``).
      axis_name: the name of the mesh axis.

    >>> import highlevel as hl
    >>> strategy = hl.distribute.DataParallel()
    >>> strategy.mesh.axis_names
    ('data',)
    """

    def __init__(self, devices: Sequence | None = None, axis_name: str = "data"):
        super().__init__(Mesh(_devices(devices), (axis_name,)), axis_name)

    def _arguments(self) -> dict:
        return {"axis_name": self.batch_axis}


class FullySharded(Distribution):
    """Fully sharded data parallelism: the batch and every weight split over one axis.

    Each weight (and its optimizer slots) is split along its largest dimension that
    divides by the number of devices; what does not divide (biases of odd size,
    scalars) is replicated. XLA gathers the weights for the forward pass and
    reduce-scatters the gradients.

    Args:
      axis_name: the name of the mesh axis.
      devices: the devices to use (default: all).

    >>> import highlevel as hl
    >>> hl.distribute.FullySharded().weight_spec("bias", (7,))   # 7 rows do not split: replicated
    P()
    """

    def __init__(self, axis_name: str = "data", devices: Sequence | None = None):
        super().__init__(Mesh(_devices(devices), (axis_name,)), axis_name)
        self.axis_name = axis_name

    def _arguments(self) -> dict:
        return {"axis_name": self.axis_name}

    def weight_spec(self, name: str, shape: tuple) -> P:
        n = int(self.mesh.shape[self.axis_name])
        candidates = [i for i, d in enumerate(shape) if d % n == 0 and d >= n]
        if n <= 1 or not candidates:
            return P()
        axis = max(candidates, key=lambda i: (shape[i], -i))
        return P(*[self.axis_name if i == axis else None for i in range(len(shape))])


class ModelParallel(Distribution):
    """Weights split over a mesh by a layout of name patterns; the batch split over ``batch_axis``.

    Args:
      mesh: a ``jax.sharding.Mesh`` (default: all devices on a ``("data", "model")`` mesh
        of shape ``(1, n)``).
      layout: ``{regex: PartitionSpec}``; a state leaf whose path (e.g.
        ``"params/_layers/0/kernel"``, optimizer slots ``"opt_state/.../_layers/0/kernel"``)
        matches a regex (``re.search``, first match wins) gets that spec; others are replicated.
      batch_axis: the mesh axis the batch is split over (replicated if the mesh has none).

    >>> import highlevel as hl
    >>> from jax.sharding import PartitionSpec as P
    >>> strategy = hl.distribute.ModelParallel(layout={r"kernel$": P(None, "model")})
    >>> strategy.weight_spec("params/_layers/0/kernel", (4, 8))
    P(None, 'model')
    """

    def __init__(self, mesh: Mesh | Mapping[str, int] | None = None, layout: Mapping[str, Any] | None = None,
                 batch_axis: str = "data"):
        if mesh is None:
            devices = _devices(None)
            mesh = Mesh(devices.reshape(1, devices.size), ("data", "model"))
        elif isinstance(mesh, Mapping):
            mesh = _mesh_from_sizes(dict(mesh))
        if not isinstance(mesh, Mesh):
            raise TypeError(f"mesh must be a jax.sharding.Mesh or {{axis name: size}}, got {type(mesh).__name__}.")
        super().__init__(mesh, batch_axis)
        self.layout = []
        for pattern, spec in (layout or {}).items():
            spec = spec if isinstance(spec, P) else P(*spec)
            unknown = [a for a in _spec_axes(spec) if a not in mesh.axis_names]
            if unknown:
                raise ValueError(f"layout[{pattern!r}] = {spec} names mesh axes {unknown} that the mesh does "
                                 f"not have; its axes are {list(mesh.axis_names)}.")
            self.layout.append((re.compile(pattern), pattern, spec))

    def weight_spec(self, name: str, shape: tuple) -> P:
        for regex, pattern, spec in self.layout:
            if regex.search(name):
                if len(spec) > len(shape):
                    raise ValueError(f"layout[{pattern!r}] = {spec} has {len(spec)} entries but {name} has "
                                     f"shape {shape}; give at most one entry per dimension.")
                for dim, axes in zip(shape, spec):
                    size = int(np.prod([self.mesh.shape[a] for a in _as_tuple(axes)]))
                    if dim % size:
                        raise ValueError(f"layout[{pattern!r}] = {spec} splits a dimension of {dim} of {name} "
                                         f"(shape {shape}) over {size} devices, which does not divide it; "
                                         "change the pattern or the spec.")
                return spec
        return P()


    def _arguments(self) -> dict:
        return {"mesh": {str(k): int(v) for k, v in self.mesh.shape.items()},
                "layout": {pattern: [list(e) if isinstance(e, tuple) else e for e in spec]
                           for _, pattern, spec in self.layout},
                "batch_axis": self.batch_axis}


def _mesh_from_sizes(sizes: dict[str, int]) -> Mesh:
    """A mesh over the first devices from ``{axis: size}``; one size may be -1 (the rest)."""
    devices = _devices(None)
    free = [k for k, v in sizes.items() if v == -1]
    known = int(np.prod([v for v in sizes.values() if v != -1]))
    if len(free) > 1 or known <= 0:
        raise ValueError(f"mesh={sizes} must give each axis a positive size, with at most one -1 (the rest).")
    if free:
        sizes[free[0]] = devices.size // known
    total = int(np.prod(list(sizes.values())))
    if total < 1 or total > devices.size or (free and devices.size % known):
        raise ValueError(f"mesh={sizes} needs {total} devices but {devices.size} are present; change the "
                         "axis sizes (their product must not exceed the device count).")
    return Mesh(devices[:total].reshape(tuple(sizes.values())), tuple(sizes))


def _as_tuple(axes) -> tuple:
    if axes is None:
        return ()
    return tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)


def _spec_axes(spec: P) -> list[str]:
    return [a for entry in spec for a in _as_tuple(entry)]


_NAMES = {"DataParallel": DataParallel, "data_parallel": DataParallel,
          "FullySharded": FullySharded, "fully_sharded": FullySharded,
          "ModelParallel": ModelParallel, "model_parallel": ModelParallel}


def get(identifier) -> Distribution | None:
    """A strategy from a strategy, a name (``"data_parallel"``) or ``{name: kwargs}``; None stays None.

    Args:
      identifier: a ``Distribution``, one of ``NAMES``, ``{name: arguments}`` (as a config's
        ``trainer.distribution`` or ``Distribution.get_config()`` gives), or None.

    >>> import highlevel as hl
    >>> hl.distribute.get("data_parallel").get_config()
    {'DataParallel': {'axis_name': 'data'}}
    >>> hl.distribute.get({"FullySharded": {"axis_name": "shards"}}).mesh.axis_names
    ('shards',)
    """
    if identifier is None or isinstance(identifier, Distribution):
        return identifier
    if isinstance(identifier, str):
        name, kwargs = identifier, {}
    elif isinstance(identifier, Mapping) and len(identifier) == 1:
        name, kwargs = next(iter(identifier.items()))
        kwargs = dict(kwargs or {})
    else:
        raise TypeError(f"distribution must be a hl.distribute strategy, a name or {{name: arguments}}, got "
                        f"{identifier!r}.")
    if name not in _NAMES:
        raise ValueError(f"Unknown distribution {name!r}; use one of {sorted(_NAMES)}.")
    if "layout" in kwargs and kwargs["layout"] is not None:
        kwargs["layout"] = {k: P(*v) if isinstance(v, (list, tuple)) else v for k, v in kwargs["layout"].items()}
    return _NAMES[name](**kwargs)


NAMES = tuple(_NAMES)
