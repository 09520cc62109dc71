"""One optimizer per group of layers, as one ``optax.multi_transform``."""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import jax
import optax


__all__ = ["MultiOptimizer", "WeightOwner"]


@runtime_checkable
class WeightOwner(Protocol):
    """What a ``MultiOptimizer`` group names: anything with a ``name`` and ``weights`` (its
    ``nnx.Variable``s), such as an ``hl.layers`` layer or an ``hl`` model.

    >>> import highlevel as hl
    >>> isinstance(hl.layers.Dense(2), WeightOwner), isinstance("dense", WeightOwner)
    (True, False)
    """

    name: str

    @property
    def weights(self) -> list: ...


def _path_of(key_path) -> tuple:
    out = []
    for k in key_path:
        if isinstance(k, jax.tree_util.DictKey):
            out.append(k.key)
        elif isinstance(k, jax.tree_util.SequenceKey):
            out.append(k.idx)
    return tuple(out)


def _check_group(opt, i: int) -> None:
    from highlevel import optimizers as _optimizers
    if isinstance(opt, _optimizers.LossScaleOptimizer) or getattr(opt, "loss_scale_factor", None):
        raise ValueError(f"MultiOptimizer entry {i}: a group cannot scale the loss (one loss is "
                         "differentiated for all groups); wrap the whole MultiOptimizer in an "
                         "hl.optimizers.LossScaleOptimizer instead.")


def _group_optax(opt, model, trainable_paths) -> optax.GradientTransformation:
    # An optimizer that reads weight paths (Muon) gets the model too.
    to_optax_for = getattr(opt, "to_optax_for", None)
    return to_optax_for(model, trainable_paths) if to_optax_for is not None else opt.to_optax()


class MultiOptimizer:
    """Gives each group of layers its own optimizer (and learning rate).

    The usual use is fine-tuning: a small learning rate for the pretrained base and a
    larger one for the new head. Compiled to ``optax.multi_transform`` over the model's
    trainable weights; frozen layers get neither a group nor optimizer state.

    Args:
      optimizers_and_layers: ``[(optimizer, layers), ...]``: ``optimizer`` anything
        ``model.compile`` takes (a name, an ``hl.optimizers`` optimizer, an optax
        transformation); ``layers`` a layer or model (all the weights inside it), a list of
        them, or ``None`` for every trainable weight no other group names (at most one group).
        Or, as Keras 3.15's ``MultiOptimizer(optimizer_map)``, an ``hl.optimizers.OptimizerMap``
        (weight path regexes to optimizers; its default optimizer is the first group).
      name: the optimizer's name.

    ``optimizer.learning_rate`` (and callbacks that read or set it, such as
    ``ReduceLROnPlateau``) refer to the first group; the others keep their own values or
    schedules. Each group's clipping, gradient accumulation and EMA are its own, as in
    Keras: ``global_clipnorm`` clips the norm of that group's gradients.

    >>> import highlevel as hl
    >>> base, head = hl.layers.Dense(4), hl.layers.Dense(1)
    >>> model = hl.Sequential([hl.Input((3,)), base, head])
    >>> opt = hl.optimizers.MultiOptimizer([(hl.optimizers.Adam(1e-5), base), ("adam", None)])
    >>> model.compile(optimizer=opt, loss="mse")
    >>> round(opt.learning_rate, 6)
    1e-05
    """

    def __init__(self, optimizers_and_layers: Sequence[tuple[Any, Any]] | Any, name: str = "multi_optimizer"):
        from highlevel import optimizers as _optimizers
        self.name = name
        self._getter = self._setter = None
        self._optimizer_map = None
        if isinstance(optimizers_and_layers, _optimizers.OptimizerMap):
            # Keras's form: the default optimizer first (it is the one ``learning_rate`` names).
            self._optimizer_map = optimizers_and_layers
            opts = [optimizers_and_layers.default_optimizer]
            opts += [o for o in optimizers_and_layers.values() if all(o is not p for p in opts)]
            for i, opt in enumerate(opts):
                _check_group(opt, i)
            self._groups = [(opt, ()) for opt in opts]
            return
        groups = list(optimizers_and_layers)
        if not groups:
            raise ValueError("MultiOptimizer needs at least one (optimizer, layers) pair.")
        self._groups = []
        rest = 0
        for i, pair in enumerate(groups):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise ValueError(f"MultiOptimizer entry {i} must be an (optimizer, layers) pair, got {pair!r}.")
            opt, layers = pair
            if layers is None:
                rest += 1
            elif isinstance(layers, WeightOwner):
                layers = [layers]
            elif not (isinstance(layers, (list, tuple)) and all(isinstance(x, WeightOwner) for x in layers)):
                raise TypeError(f"MultiOptimizer entry {i}: the layers must be a layer, a list of layers or None "
                                f"(everything else), got {layers!r}.")
            opt = _optimizers.get(opt)
            _check_group(opt, i)
            self._groups.append((opt, None if layers is None else list(layers)))
        if rest > 1:
            raise ValueError("MultiOptimizer: only one group may take the remaining layers (layers=None).")

    @property
    def optimizers(self) -> list:
        return [opt for opt, _ in self._groups]

    @property
    def learning_rate(self) -> float:
        return self._groups[0][0].learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self._groups[0][0].learning_rate = value

    def bind(self, getter, setter, state_getter=None) -> None:
        """The trainer's binding (see ``Optimizer.bind``): the first group's learning rate."""
        self._groups[0][0].bind(getter, setter, state_getter)

    def unbind(self) -> None:
        self._groups[0][0].unbind()

    @property
    def iterations(self) -> int:
        """The first group's number of applied updates (Keras's ``iterations``)."""
        return self._groups[0][0].iterations

    def loss_scale(self, opt_state) -> None:
        """None: a ``MultiOptimizer`` scales no loss (wrap it in a ``LossScaleOptimizer`` to scale one)."""
        return None

    def to_optax(self) -> optax.GradientTransformation:
        raise ValueError("MultiOptimizer assigns weights to optimizers by layer, so it compiles only with a "
                         "model: pass it to model.compile(optimizer=...).")

    def to_optax_for(self, model, trainable_paths) -> optax.GradientTransformation:
        """The ``multi_transform`` for ``model``'s trainable weights (``trainable_paths``)."""
        from flax import nnx
        if self._optimizer_map is not None:
            return self._map_optax(model, trainable_paths)
        owner: dict[int, int] = {}
        for g, (_, layers) in enumerate(self._groups):
            for layer in layers or ():
                for var in layer.weights:
                    if id(var) in owner and owner[id(var)] != g:
                        raise ValueError(f"MultiOptimizer: a weight of layer '{layer.name}' is in groups "
                                         f"{owner[id(var)]} and {g}; give each layer one optimizer.")
                    owner[id(var)] = g
        rest = next((g for g, (_, layers) in enumerate(self._groups) if layers is None), None)
        labels: dict[tuple, str] = {}
        orphans = []
        for path, node in nnx.iter_graph(model):
            if isinstance(node, nnx.Variable) and tuple(path) in trainable_paths:
                g = owner.get(id(node), rest)
                if g is None:
                    orphans.append("/".join(str(p) for p in path))
                labels[tuple(path)] = f"group_{g}"
        if orphans:
            raise ValueError(f"MultiOptimizer gives no optimizer to the trainable weights {orphans[:3]}; add their "
                             "layers to a group, add a group with layers=None for the rest, or freeze them.")

        def param_labels(params):
            return jax.tree_util.tree_map_with_path(lambda kp, _: labels[_path_of(kp)], params)

        transforms = {f"group_{g}": _group_optax(opt, model, trainable_paths)
                      for g, (opt, _) in enumerate(self._groups)}
        return optax.multi_transform(transforms, param_labels)

    def _map_optax(self, model, trainable_paths) -> optax.GradientTransformation:
        from highlevel.optimizers.optimizer_map import variable_paths
        labels = {}
        for graph_path, path in variable_paths(model, trainable_paths).items():
            opt = self._optimizer_map[path]
            g = next((g for g, (o, _) in enumerate(self._groups) if o is opt), None)
            if g is None:  # added to the map after this MultiOptimizer was made
                _check_group(opt, len(self._groups))
                g = len(self._groups)
                self._groups.append((opt, ()))
            labels[graph_path] = f"group_{g}"

        def param_labels(params):
            return jax.tree_util.tree_map_with_path(lambda kp, _: labels[_path_of(kp)], params)

        transforms = {f"group_{g}": _group_optax(opt, model, trainable_paths)
                      for g, (opt, _) in enumerate(self._groups)}
        return optax.multi_transform(transforms, param_labels)

    def get_config(self) -> dict[str, Any]:
        if self._optimizer_map is not None:
            raise TypeError("A MultiOptimizer is not saved with a model; compile the loaded model with it "
                            "again (its OptimizerMap's get_config() gives the map's config).")
        raise TypeError("MultiOptimizer refers to layers, so it is not saved with a model; "
                        "compile the loaded model with it again.")
