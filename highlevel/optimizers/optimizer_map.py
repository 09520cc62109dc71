"""Keras's ``OptimizerMap``: variable-path regexes to optimizers, for ``MultiOptimizer``."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

import jax


__all__ = ["OptimizerMap", "variable_paths"]


def variable_paths(model, trainable_paths) -> dict[tuple, str]:
    """Keras's ``variable.path`` of each trainable weight of ``model``, by its graph path.

    A path is the names of the model and of each layer that holds the weight, then the
    weight's name (``"sequential/encoder/dense/kernel"``), as Keras writes it: a functional
    model's name (and a functional model's nested in it) is left out, because Keras builds
    those layers outside the model's name scope (``"dense/kernel"``).

    Args:
        model: An ``hl`` model (any ``nnx.Module`` with a ``name``).
        trainable_paths: The graph paths (tuples) of the weights to name.

    Returns:
        ``{graph path: "model/layer/.../weight"}``.

    >>> import highlevel as hl
    >>> from flax import nnx
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, name="head")], name="net")
    >>> paths = [p for p, v in nnx.iter_graph(model) if isinstance(v, nnx.Param)]
    >>> sorted(variable_paths(model, paths).values())
    ['net/head/bias', 'net/head/kernel']
    """
    from flax import nnx
    wanted = {tuple(p) for p in trainable_paths}
    modules: dict[tuple, str] = {}
    variables = []
    for path, node in nnx.iter_graph(model):
        path = tuple(path)
        if (isinstance(node, nnx.Module) and isinstance(getattr(node, "name", None), str)
                and not getattr(node, "_is_graph", False)):   # a functional model: not in Keras's path
            modules[path] = node.name
        elif isinstance(node, nnx.Variable) and path in wanted:
            variables.append((path, node))
    out = {}
    for path, var in variables:
        names = [modules[path[:i]] for i in range(len(path)) if path[:i] in modules]
        name = getattr(var, "name", None)
        names.append(name if isinstance(name, str) else str(path[-1]))
        out[path] = "/".join(names)
    return out


def key_path_name(key_path) -> str:
    """A pytree key path as a ``/``-joined string (the name of a weight given without a model)."""
    parts = []
    for k in key_path:
        if isinstance(k, jax.tree_util.DictKey):
            parts.append(str(k.key))
        elif isinstance(k, jax.tree_util.SequenceKey):
            parts.append(str(k.idx))
        elif isinstance(k, jax.tree_util.GetAttrKey):
            parts.append(k.name)
        else:
            parts.append(str(k))
    return "/".join(parts)


def _check_optimizer(optimizer, what: str) -> None:
    from highlevel.optimizers import LossScaleOptimizer, MultiOptimizer, Optimizer
    if isinstance(optimizer, LossScaleOptimizer):
        raise ValueError(f"{what} cannot be a LossScaleOptimizer (one loss is scaled for all optimizers); "
                         "wrap the MultiOptimizer in an hl.optimizers.LossScaleOptimizer instead.")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{what} cannot be a MultiOptimizer; map the paths to its optimizers directly.")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{what} must be an hl.optimizers.Optimizer instance, got {optimizer!r}.")


class OptimizerMap(MutableMapping):
    """Maps variable paths (regular expressions) to optimizers, as ``keras.optimizers.OptimizerMap``.

    A key first matches a path exactly; otherwise every key is tried as a regular expression
    with ``re.fullmatch`` (``"encoder/.*"`` matches every weight under ``encoder``). A path
    no key matches gets ``default_optimizer``; one that two keys match is an error. Paths are
    Keras's ``variable.path``: the model's name, the names of the layers that hold the
    weight, and the weight's name (``"sequential/dense_1/kernel"``; a functional model's
    name is not part of it, ``"dense_1/kernel"``, as in Keras).

    Pass it to ``model.compile(optimizer=...)`` or to ``hl.optimizers.MultiOptimizer``.

    Args:
        default_optimizer: The optimizer of every weight that no key matches.
        optimizer_map: ``{path or regex: optimizer}`` to start with (or None).

    >>> import highlevel as hl
    >>> opt_map = hl.optimizers.OptimizerMap(default_optimizer=hl.optimizers.RMSprop())
    >>> opt_map["encoder/layer_0/dense"] = hl.optimizers.Adam()
    >>> opt_map["encoder/.*"] = hl.optimizers.SGD()
    >>> opt_map["encoder/layer_0/dense"].name, opt_map["encoder/layer_0/query"].name, opt_map["decoder"].name
    ('adam', 'sgd', 'rm_sprop')
    """

    def __init__(self, default_optimizer, optimizer_map: dict | None = None):
        from highlevel.optimizers import Optimizer
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError("default_optimizer must be an hl.optimizers.Optimizer instance, "
                            f"got {default_optimizer!r}.")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dict of {{path regex: optimizer}}, got {optimizer_map!r}.")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Any] = dict(optimizer_map or {})

    @property
    def default_optimizer(self):
        """The optimizer of the weights no key matches."""
        return self._default_optimizer

    def __getitem__(self, key: str):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}: its path matches the keys "
                             f"{matching}; make the regular expressions exclusive.")
        if matching:
            return self._optimizer_map[matching[0]]
        return self._default_optimizer

    def __setitem__(self, key: str, optimizer) -> None:
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value {self._optimizer_map[key]}. "
                             "Please make sure to not use duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string (a variable path or a regular expression), got {key!r}.")
        _check_optimizer(optimizer, "optimizer")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        """The optimizer of ``variable`` (anything with a ``path``), as Keras's."""
        return self[variable.path]

    def get_config(self) -> dict[str, Any]:
        from highlevel.optimizers import serialize
        return {"default_optimizer": serialize(self._default_optimizer),
                "optimizer_map": {k: serialize(v) for k, v in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "OptimizerMap":
        from highlevel.optimizers import deserialize
        return cls(deserialize(config["default_optimizer"]),
                   {k: deserialize(v) for k, v in (config.get("optimizer_map") or {}).items()})

    def __repr__(self) -> str:
        return f"OptimizerMap(default_optimizer={self._default_optimizer!r}, optimizer_map={self._optimizer_map!r})"
