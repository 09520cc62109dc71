"""Rematerialisation (gradient checkpointing): Keras's ``RematScope`` and ``remat`` on ``jax.checkpoint``.

A rematerialised layer keeps only its inputs for the backward pass and computes its
intermediate values again when the gradient needs them: less memory, more compute.
As in Keras, a layer takes the mode of the ``RematScope`` it is created in (or
``hl.remat(layer)`` sets it), and the mode acts when the layer runs inside a
differentiated, compiled step; calls on concrete arrays run plainly. Beyond Keras, a
``policy`` (one of ``jax.checkpoint_policies``) chooses what is saved after all: e.g.
``"dots_with_no_batch_dims_saveable"`` keeps matmul results and recomputes the cheap
elementwise work.

The layer runs as a pure function of its variables under ``hl.backend.remat`` (split,
merged inside, the updated state written back), so batch-norm statistics, dropout keys
and hyperparameters behave exactly as without rematerialisation. ``hl.backend.remat`` is
``jax.checkpoint`` on accelerators; on a CPU, where XLA merges a ``jax.checkpoint``'s
recomputation back into the forward pass (it keeps every activation after all), it ties
the recomputation to the cotangent so that the memory is really saved.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import math
from typing import Any, Callable, Sequence

import jax
from flax import nnx

from highlevel import backend as _backend
from highlevel.utils import global_state as _global_state

__all__ = ["RematScope", "RematMode", "remat", "get_current_remat_mode", "rematerialized_call"]

_MODES = ("full", "activations", "larger_than", "list_of_layers", None)

RematMode = collections.namedtuple("RematMode", ["mode", "output_size_threshold", "layer_names", "policy"])
RematMode.__doc__ = """A layer's rematerialisation settings (what ``RematScope`` gives the layers made inside it).

Args:
  mode: ``"full"``, ``"activations"``, ``"larger_than"``, ``"list_of_layers"`` or None.
  output_size_threshold: for ``"larger_than"``: outputs of more elements than this are rematerialised.
  layer_names: for ``"list_of_layers"``: the names of the layers rematerialised.
  policy: a ``jax.checkpoint_policies`` policy (what is saved after all), or None (nothing).

>>> import highlevel as hl
>>> with hl.RematScope("list_of_layers", layer_names=["block_1"]):
...     layer = hl.layers.Dense(4, name="block_1")
>>> layer.remat_mode.mode, layer.remat_mode.layer_names
('list_of_layers', ('block_1',))
"""


def _policy(policy) -> Callable | None:
    """None, a policy function, or the name of one in ``jax.checkpoint_policies``."""
    if policy is None or callable(policy):
        return policy
    names = sorted(n for n in dir(jax.checkpoint_policies) if not n.startswith("_") and n.endswith("saveable"))
    if isinstance(policy, str) and policy in names:
        return getattr(jax.checkpoint_policies, policy)
    raise ValueError(f"policy must be None, a jax.checkpoint_policies function, or one of {names}; got "
                     f"{policy!r}.")


class RematScope:
    """Rematerialises the layers created inside it (gradient checkpointing), as Keras's ``RematScope``.

    Args:
      mode: which layers: ``"full"`` every layer; ``"activations"`` only the activation
        function of layers that have one (``Dense(..., activation="relu")``); ``"larger_than"``
        layers whose output has more than ``output_size_threshold`` elements (batch
        included); ``"list_of_layers"`` the layers named in ``layer_names``; None: none
        (inside an outer scope, turns it off).
      output_size_threshold: the size for ``"larger_than"`` (1024 by default, as Keras).
      layer_names: the layer names for ``"list_of_layers"``.
      policy: beyond Keras: what ``jax.checkpoint`` saves after all, a function of
        ``jax.checkpoint_policies`` or its name (``"dots_saveable"``,
        ``"dots_with_no_batch_dims_saveable"``, ...); None saves nothing.

    A block (a nested model or a layer of layers) rematerialised as one keeps only its
    input for the backward pass; a single layer keeps its own input, so the saving is its
    internals (a batch norm's normalised values, an activation's input).

    >>> import highlevel as hl
    >>> with hl.RematScope(mode="full"):
    ...     block = hl.Sequential([hl.layers.Dense(8, activation="relu"), hl.layers.Dense(8)])
    >>> model = hl.Sequential([hl.Input((4,)), block, hl.layers.Dense(1)])
    >>> block.remat_mode.mode, model.layers[-1].remat_mode is None
    ('full', True)
    """

    def __init__(self, mode: str | None = "full", output_size_threshold: int = 1024,
                 layer_names: Sequence[str] | None = None, policy: Any = None):
        if mode not in _MODES:
            raise ValueError(f"RematScope got mode={mode!r}; the modes are 'full', 'activations', 'larger_than', "
                             "'list_of_layers' and None.")
        if isinstance(output_size_threshold, bool) or not isinstance(output_size_threshold, int) \
                or output_size_threshold < 0:
            raise ValueError(f"output_size_threshold must be a non-negative integer, got {output_size_threshold!r}.")
        if isinstance(layer_names, str):
            raise ValueError(f"layer_names must be a list of layer names, got the string {layer_names!r}; "
                             f"pass [{layer_names!r}].")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])
        self.policy = _policy(policy)

    def remat_mode(self) -> RematMode | None:
        """The settings a layer created in this scope takes (None when ``mode`` is None)."""
        if self.mode is None:
            return None
        return RematMode(self.mode, self.output_size_threshold, tuple(self.layer_names), self.policy)

    def __enter__(self) -> "RematScope":
        _global_state.global_attribute("remat_scope_stack", list).append(self)
        return self

    def __exit__(self, *exc) -> None:
        _global_state.global_attribute("remat_scope_stack", list).pop()


def get_current_remat_mode() -> RematMode | None:
    """The innermost ``RematScope``'s settings in this thread (None outside any), as Keras's.

    >>> import highlevel as hl
    >>> with hl.RematScope("larger_than", output_size_threshold=10):
    ...     get_current_remat_mode().output_size_threshold
    10
    >>> get_current_remat_mode() is None
    True
    """
    stack = _global_state.global_attribute("remat_scope_stack", list)
    return stack[-1].remat_mode() if stack else None


def remat(f, policy: Any = None):
    """Rematerialises a function (``jax.checkpoint``) or a layer, as Keras's ``keras.remat``.

    On a CPU the recomputation is tied to its cotangent (``hl.backend.remat``), because
    XLA:CPU would merge a plain ``jax.checkpoint`` back into the forward pass.

    Args:
      f: a function of arrays, which is wrapped; or a highlevel layer (a block, a nested
        model), which is set to be rematerialised as a whole and returned.
      policy: what is saved after all (``jax.checkpoint_policies``, or a policy's name).

    Returns:
      The wrapped function, or the layer itself.

    >>> import jax, jax.numpy as jnp, highlevel as hl
    >>> f = hl.remat(lambda x: jnp.sin(jnp.sin(x)))
    >>> float(jax.grad(f)(0.0))
    1.0
    >>> block = hl.remat(hl.Sequential([hl.layers.Dense(4), hl.layers.Dense(4)]))
    >>> block.remat_mode.mode
    'full'
    """
    from highlevel.layers.base import Layer  # base imports this module
    policy = _policy(policy)
    if isinstance(f, Layer):
        f.remat_mode = RematMode("full", 1024, (), policy)
        return f
    if not callable(f):
        raise TypeError(f"remat expects a function or a layer, got {type(f).__name__}.")
    return functools.wraps(f)(_backend.remat(f, policy))


# -- running a layer -----------------------------------------------------------------------------


def _probing() -> list:
    return _global_state.global_attribute("remat_probing", list)


def rematerialized_call(layer, inputs) -> Callable:
    """``layer.call``, or the same call under ``jax.checkpoint`` as the layer's ``remat_mode`` says.

    ``Layer.__call__`` calls this for every call on arrays; only traced calls (in a
    compiled or differentiated function) are rematerialised.

    Args:
      layer: the layer being called.
      inputs: its inputs (to tell traced calls, and for ``"larger_than"`` their output size).

    >>> import jax.numpy as jnp, highlevel as hl
    >>> layer = hl.remat(hl.layers.Dense(2))
    >>> rematerialized_call(layer, jnp.ones((1, 3))) == layer.call   # concrete inputs: plain
    True
    """
    mode = getattr(layer, "remat_mode", None)
    if mode is None or _probing() or not _is_traced(inputs):
        return layer.call
    if mode.mode == "full":
        return _checkpointed(layer, mode.policy)
    if mode.mode == "list_of_layers":
        return _checkpointed(layer, mode.policy) if layer.name in mode.layer_names else layer.call
    if mode.mode == "activations":
        return _activation_checkpointed(layer, mode.policy)
    if mode.mode == "larger_than":
        return functools.partial(_if_larger, layer, mode)
    return layer.call


def _is_traced(inputs) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(inputs))


def _checkpointed(layer, policy) -> Callable:
    def run(inputs, *args, **kwargs):
        graphdef, state = nnx.split(layer)
        leaves, treedef = jax.tree_util.tree_flatten(state)
        changed: list[int] = []

        def pure(leaves, inputs):
            module = nnx.merge(graphdef, jax.tree_util.tree_unflatten(treedef, leaves))
            outputs = module.call(inputs, *args, **kwargs)
            after = jax.tree_util.tree_leaves(nnx.state(module))
            # Only what the call set (batch statistics); the rest is the very value passed in.
            changed[:] = [i for i, (a, b) in enumerate(zip(leaves, after)) if a is not b]
            return outputs, [after[i] for i in changed]

        outputs, updates = _backend.remat(pure, policy)(leaves, inputs)
        if changed:
            new = list(leaves)
            for i, value in zip(changed, updates):
                new[i] = value
            flat = list(jax.tree_util.tree_unflatten(treedef, new).flat_state())
            nnx.update(layer, nnx.State.from_flat_path([flat[i] for i in changed]))
        return outputs

    return run


def _activation_checkpointed(layer, policy) -> Callable:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return layer.call

    def run(inputs, *args, **kwargs):
        # Swapped for this call only; object.__setattr__ because the call may run inside
        # jax.eval_shape (shape inference), where nnx refuses any attribute change.
        object.__setattr__(layer, "activation", _backend.remat(activation, policy))
        try:
            return layer.call(inputs, *args, **kwargs)
        finally:
            object.__setattr__(layer, "activation", activation)

    return run


def _if_larger(layer, mode: RematMode, inputs, *args, **kwargs):
    if _output_size(layer, inputs, args, kwargs) > mode.output_size_threshold:
        return _checkpointed(layer, mode.policy)(inputs, *args, **kwargs)
    return layer.call(inputs, *args, **kwargs)


def _output_size(layer, inputs, args, kwargs) -> int:
    """Elements of the layer's outputs (batch included), from a trace that computes nothing."""
    from highlevel.layers.base import current_context
    graphdef, state = nnx.split(layer)
    ctx = current_context()
    counter = None if ctx is None else ctx.counter
    probing = _probing()
    probing.append(True)   # the layers inside run plainly while the shape is found
    try:
        shapes = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).call(x, *args, **kwargs), state, inputs)
    finally:
        probing.pop()
        if ctx is not None:
            ctx.counter = counter  # the probe's random draws must not shift the real ones
    return sum(math.prod(s.shape) for s in jax.tree_util.tree_leaves(shapes))
