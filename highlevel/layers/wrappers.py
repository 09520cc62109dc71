"""Wrappers: FlaxLayer makes any ``flax.nnx`` module a highlevel layer."""

from __future__ import annotations

import functools
import inspect
from typing import Callable

import jax
from flax import nnx

from highlevel.utils.serialization import resolve_serializable, serializable_name
from highlevel.layers.base import Hyperparameter, Layer, next_rng_key, register_layer

__all__ = ["FlaxLayer"]

# The train/eval switches of flax's own layers (nnx.Dropout, nnx.BatchNorm and friends).
_MODE_FLAGS = ("training", "deterministic", "use_running_average")


@functools.lru_cache(maxsize=None)
def _call_flags(cls: type) -> frozenset:
    try:
        params = inspect.signature(cls.__call__).parameters
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(name for name in _MODE_FLAGS if name in params)


def _factory_name(factory: Callable) -> str | None:
    """The registered name of ``factory`` (``hl.utils.register_serializable``), or None."""
    return serializable_name(factory)


def _import_factory(name: str) -> Callable:
    """The factory a config names: only registered factories are found; nothing is imported."""
    return resolve_serializable(name, "FlaxLayer module_factory")


def _child(node, key):
    if isinstance(key, str) and hasattr(node, key):
        return getattr(node, key)
    return node[key]


@register_layer
class FlaxLayer(Layer):
    """Wraps a ``flax.nnx.Module`` (built with its own ``rngs``) as a highlevel layer.

    The module's ``nnx.Param`` variables are the layer's trainable weights (frozen
    with ``layer.trainable = False``); its other variables, such as ``nnx.BatchStat``,
    are non-trainable weights. Both appear in ``weights``, ``get_weights()`` and
    ``count_params()``, in the order of ``nnx.state(module)`` (sorted by path) and
    named ``module/<path>``. RNG streams are state, not weights.

    The forward pass is ``module(inputs)``. The training flag reaches the module in
    two ways: through ``nnx.view`` (``deterministic``/``use_running_average`` of nested
    ``nnx.Dropout``/``nnx.BatchNorm``), and as a keyword when the module's
    ``__call__`` takes ``training``, ``deterministic`` or ``use_running_average``.
    In training, the module's RNG streams are reseeded from highlevel's per-step key
    (``next_rng_key()``), so dropout masks follow ``hl.utils.set_random_seed`` and
    the trainer's key rather than the ``nnx.Rngs`` the module was built with.

    A module instance cannot be written to a config. To make ``get_config`` /
    ``from_config`` (and saving a model) work, pass ``module_factory`` instead: a
    function with no arguments that builds the module. A top-level function is
    written as its import name (``"package.module:function"``), which JSON can hold.

    Args:
      module: an ``nnx.Module`` instance.
      module_factory: instead of ``module``, a callable (or ``"package.module:function"``
        name) returning a new ``nnx.Module``.

    >>> import highlevel as hl, numpy as np
    >>> from flax import nnx
    >>> layer = hl.layers.FlaxLayer(nnx.Linear(3, 4, rngs=nnx.Rngs(0)))
    >>> layer(np.ones((2, 3), "float32")).shape
    (2, 4)
    >>> layer.count_params()
    16
    """

    def __init__(self, module: nnx.Module | None = None,
                 module_factory: Callable[[], nnx.Module] | str | None = None, **kwargs):
        super().__init__(**kwargs)
        if (module is None) == (module_factory is None):
            raise ValueError(
                f"FlaxLayer '{self.name}' needs exactly one of module (an nnx.Module instance) or "
                "module_factory (a function returning one); got "
                f"{'both' if module is not None else 'neither'}. A config written by get_config holds "
                "module_factory; a layer made from a module instance has no config.")
        if module_factory is not None:
            factory = _import_factory(module_factory) if isinstance(module_factory, str) else module_factory
            if not callable(factory):
                raise TypeError(f"FlaxLayer module_factory must be callable, got {module_factory!r}.")
            module = factory()
        if not isinstance(module, nnx.Module):
            raise TypeError(f"FlaxLayer '{self.name}' wraps a flax.nnx.Module, got {type(module).__name__}. "
                            "For a Linen module, convert it first with flax.nnx.bridge.ToNNX.")
        self.module = module
        self._module_factory = module_factory
        self._flax_paths: dict[str, tuple] = {}
        tags = set()
        for path, node in nnx.iter_graph(module):
            if isinstance(node, nnx.RngStream):
                tags.add(node.tag)
            if not isinstance(node, nnx.Variable) or isinstance(node, (nnx.RngState, Hyperparameter)):
                continue
            name = "/".join(["module", *map(str, path)])
            self._flax_paths[name] = tuple(path)
            self._weight_names.append(name)
            if isinstance(node, nnx.Param):
                self._trainable_weight_names.append(name)
        self._rng_tags = tuple(sorted(tags))
        # The module made its weights already.
        self.built = True

    def __getattr__(self, name: str):
        # Weight names are paths into the module: resolve them for the base class's getattr.
        paths = self.__dict__.get("_flax_paths")
        if paths is not None and name in paths:
            node = self.__dict__["module"]
            for key in paths[name]:
                node = _child(node, key)
            return node
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _check_input_shape(self, inputs) -> None:
        return None  # the module checks its own inputs

    def call(self, inputs, training: bool = False):
        if training and self._rng_tags:
            base = next_rng_key()
            nnx.reseed(self.module, policy="match_shape",
                       **{tag: jax.random.fold_in(base, i) for i, tag in enumerate(self._rng_tags)})
        module = nnx.view(self.module, deterministic=not training, use_running_average=not training,
                          raise_if_not_found=False)
        flags = _call_flags(type(self.module))
        kwargs = {}
        if "training" in flags:
            kwargs["training"] = bool(training)
        if "deterministic" in flags:
            kwargs["deterministic"] = not training
        if "use_running_average" in flags:
            kwargs["use_running_average"] = not training
        return module(inputs, **kwargs)

    def get_config(self):
        if self._module_factory is None:
            raise ValueError(
                f"FlaxLayer '{self.name}' wraps a {type(self.module).__name__} instance, which cannot be "
                "written to a config. Either: (1) build the layer as FlaxLayer(module_factory=make_module) "
                "with a top-level function that returns the module, or (2) keep only the weights "
                "(save_weights/get_weights) and rebuild the architecture in code.")
        factory = self._module_factory
        if not isinstance(factory, str):
            factory = _factory_name(factory) or factory
        return {**super().get_config(), "module_factory": factory}
