"""Muon (Newton-Schulz orthogonalised momentum for matrices, AdamW for the rest), as Keras 3.15."""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from highlevel.optimizers.adam import _adam_step
from highlevel.optimizers.base import KerasOptimizerState, Optimizer, _host_full_like


def _transpose_last(x):
    order = list(range(x.ndim))
    order[-2], order[-1] = order[-1], order[-2]
    return jnp.transpose(x, order)


def newton_schulz(x, steps: int, a: float = 3.4445, b: float = -4.7750, c: float = 2.0315):
    """Keras's quintic Newton-Schulz iteration: an approximate ``U V^T`` of ``x``'s SVD.

    Args:
        x: An array of rank 2 or more (the last two axes are the matrix).
        steps: The number of iterations.
        a: The iteration's first coefficient.
        b: The iteration's second coefficient.
        c: The iteration's third coefficient.

    Returns:
        An array shaped like ``x``, with singular values near 1.

    >>> import jax.numpy as jnp
    >>> from highlevel.optimizers.muon import newton_schulz
    >>> newton_schulz(jnp.eye(3) * 5.0, 5).shape
    (3, 3)
    """
    if x.ndim < 2:
        raise ValueError(f"Expected gradient or momentum to have at least 2 dimensions. Received: shape={x.shape}")
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = _transpose_last(x)
    x = x / (jnp.linalg.norm(x, axis=(-2, -1), keepdims=True) + 1e-7)
    for _ in range(steps):
        temp_a = x @ _transpose_last(x)
        temp_b = b * temp_a + c * temp_a @ temp_a  # (c * A) @ A, Keras's order
        x = a * x + temp_b @ x
    return _transpose_last(x) if tall else x


class Muon(Optimizer):
    """Muon, as ``keras.optimizers.Muon`` (Keras 3.15).

    Each 2-D weight gets momentum SGD whose step is orthogonalised by ``ns_steps``
    Newton-Schulz iterations and scaled by ``sqrt(max(rows, cols)) * rms_rate``; every other
    weight gets an AdamW step with ``learning_rate * adam_lr_ratio``. A 2-D weight also gets
    the AdamW step when ``exclude_embeddings`` is set and its path contains ``"embedding"``
    (any case), or when a regex of ``exclude_layers`` is found in its path (``re.search``), as
    Keras decides (it reads ``variable.path``). Compiled with a model, a weight's path is
    Keras's ``"model/layer/weight"`` (``"sequential/dense/kernel"``); ``to_optax()`` alone
    names each weight by its pytree keys joined by ``/``. Typically pass the output layer's
    name: ``exclude_layers=["output_dense"]``.

    Weight decay, before the update as Keras: ``w -= w * wd * learning_rate`` with
    ``wd = weight_decay`` for the Muon weights and ``adam_weight_decay`` for the AdamW
    weights (either None: none).

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count.
        adam_beta_1: The AdamW step's first-moment decay rate.
        adam_beta_2: The AdamW step's second-moment decay rate.
        adam_weight_decay: The weight decay of the weights that take the AdamW step.
        epsilon: The AdamW step's epsilon (Keras's "epsilon hat").
        weight_decay: The weight decay of the weights that take the Muon step.
        clipnorm: Clip each weight's gradient to this L2 norm.
        clipvalue: Clip gradient entries to ``[-clipvalue, clipvalue]``.
        global_clipnorm: Clip all gradients together to this global L2 norm.
        use_ema: Keep an exponential moving average of the weights (see ``hl.optimizers.Optimizer``).
        ema_momentum: The average's momentum.
        ema_overwrite_frequency: Overwrite the weights by their averages every this many updates.
        loss_scale_factor: A fixed loss scale.
        gradient_accumulation_steps: Apply the mean gradient of this many batches.
        name: The optimizer's name (default ``"muon"``).
        exclude_layers: Regular expressions; a weight whose path contains a match takes the
            AdamW step.
        exclude_embeddings: Whether weights whose path contains ``"embedding"`` take the AdamW step.
        muon_a: The Newton-Schulz iteration's coefficient ``a``.
        muon_b: The Newton-Schulz iteration's coefficient ``b``.
        muon_c: The Newton-Schulz iteration's coefficient ``c``.
        adam_lr_ratio: The AdamW step's learning rate over ``learning_rate``.
        momentum: The Muon step's momentum.
        ns_steps: The number of Newton-Schulz iterations.
        nesterov: Whether the Muon step uses Nesterov momentum.
        rms_rate: Scales the Muon step by ``sqrt(max(rows, cols)) * rms_rate``
            (Liu et al., 2025); None: no scaling.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> tx = hl.optimizers.Muon(learning_rate=0.1, weight_decay=None).to_optax()
    >>> params = {"w": jnp.zeros((4, 4)), "b": jnp.zeros(4)}
    >>> updates, _ = tx.update({"w": jnp.eye(4), "b": jnp.ones(4)}, tx.init(params), params)
    >>> round(float(updates["w"][0, 0]), 3), round(float(updates["b"][0]), 3)  # Muon step, AdamW step
    (-0.031, -0.1)
    """

    default_name = "muon"

    def __init__(self, learning_rate=0.001, adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: float | None = 0.004, epsilon: float = 1e-7,
                 weight_decay: float | None = 0.004, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema: bool = False, ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, exclude_layers: list[str] | None = None, exclude_embeddings: bool = True,
                 muon_a: float = 3.4445, muon_b: float = -4.7750, muon_c: float = 2.0315,
                 adam_lr_ratio: float = 1, momentum: float = 0.95, ns_steps: int = 5, nesterov: bool = True,
                 rms_rate: float | None = 0.2):
        if isinstance(exclude_layers, str):
            raise TypeError(f"Muon's exclude_layers must be a list of regular expressions, got the string "
                            f"{exclude_layers!r}; pass [{exclude_layers!r}].")
        if int(ns_steps) != ns_steps or ns_steps < 0:
            raise ValueError(f"Muon's ns_steps must be an integer >= 0, got ns_steps={ns_steps}.")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         use_ema=use_ema, ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps)
        self.adam_beta_1, self.adam_beta_2, self.epsilon = float(adam_beta_1), float(adam_beta_2), float(epsilon)
        self.adam_weight_decay = None if adam_weight_decay is None else float(adam_weight_decay)
        self.exclude_layers = list(exclude_layers or [])
        for pattern in self.exclude_layers:
            re.compile(pattern)  # a bad regex fails here, not at compile()
        self.exclude_embeddings = bool(exclude_embeddings)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum, self.ns_steps, self.nesterov = float(momentum), int(ns_steps), bool(nesterov)
        self.rms_rate = None if rms_rate is None else float(rms_rate)

    def uses_adamw(self, path: str, shape) -> bool:
        """Whether the weight at ``path`` (Keras's ``variable.path``) of ``shape`` takes the AdamW step.

        Args:
            path: The weight's path, ``"model/layer/weight"``.
            shape: The weight's shape.

        Returns:
            True for the AdamW step, False for the Muon step.

        >>> import highlevel as hl
        >>> opt = hl.optimizers.Muon(exclude_layers=["out"])
        >>> [opt.uses_adamw(p, s) for p, s in [("seq/dense/kernel", (3, 4)), ("seq/dense/bias", (4,)),
        ...                                    ("seq/embedding/embeddings", (9, 4)), ("seq/out/kernel", (4, 2))]]
        [False, True, True, True]
        """
        if len(shape) != 2:
            return True
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    # -- optax -------------------------------------------------------------------------

    def _muon_delta(self, g, m, lr):
        m = m + (g + m * jnp.asarray(self.momentum - 1, m.dtype))
        g = g + self.momentum * m if self.nesterov else m
        update = newton_schulz(g, self.ns_steps, self.muon_a, self.muon_b, self.muon_c)
        x = lr.astype(g.dtype) * update
        if self.rms_rate is not None:
            x = x * jnp.sqrt(jnp.float32(max(x.shape[0], x.shape[1]))).astype(x.dtype) * self.rms_rate
        return -x, m

    def _named_transform(self, learning_rate, names: dict[tuple, str] | None) -> optax.GradientTransformation:
        from highlevel.optimizers.multi import _path_of
        from highlevel.optimizers.optimizer_map import key_path_name

        def adamw(kp, leaf) -> bool:
            path = names.get(_path_of(kp)) if names is not None else None
            return self.uses_adamw(key_path_name(kp) if path is None else path, leaf.shape)

        def init_fn(params):
            def velocity(kp, p):
                # Keras keeps a velocity only for the AdamW weights; the others hold a scalar.
                return _host_full_like(p, 0) if adamw(kp, p) else jax.device_put(np.zeros((), p.dtype))
            return KerasOptimizerState(
                count=jax.device_put(np.zeros((), np.int32)),
                slots={"momentum": jax.tree_util.tree_map(lambda p: _host_full_like(p, 0), params),
                       "velocity": jax.tree_util.tree_map_with_path(velocity, params)})

        def update_fn(grads, state, params=None):
            if params is None and (self.weight_decay or self.adam_weight_decay):
                raise ValueError("Muon with weight_decay or adam_weight_decay needs the parameters: "
                                 "call tx.update(grads, opt_state, params).")
            grads = self._clip(grads)
            count = state.count

            def one(kp, g, m, v, p):
                use_adam = adamw(kp, g)
                if use_adam:
                    delta, new = _adam_step(g, {"m": m, "v": v}, count, learning_rate * self.adam_lr_ratio,
                                            self.adam_beta_1, self.adam_beta_2, self.epsilon, False)
                    m, v = new["m"], new["v"]
                else:
                    delta, m = self._muon_delta(g, m, learning_rate)
                wd = self.adam_weight_decay if use_adam else self.weight_decay
                if wd:
                    delta = delta - p * jnp.asarray(wd, p.dtype) * learning_rate.astype(p.dtype)
                return delta, m, v

            leaves = params if params is not None else grads
            out = jax.tree_util.tree_map_with_path(one, grads, state.slots["momentum"], state.slots["velocity"], leaves)
            treedef = jax.tree_util.tree_structure(grads)
            flat = treedef.flatten_up_to(out)
            deltas, m, v = (treedef.unflatten([t[i] for t in flat]) for i in range(3))
            return deltas, KerasOptimizerState(count=optax.safe_increment(count),
                                               slots={"momentum": m, "velocity": v})

        return optax.GradientTransformation(init_fn, update_fn)

    def _to_optax(self, names) -> optax.GradientTransformation:
        def factory(learning_rate):
            return self._with_numerics(self._named_transform(learning_rate, names))
        return optax.inject_hyperparams(factory, hyperparam_dtype=jnp.float32)(learning_rate=self._learning_rate)

    def to_optax(self) -> optax.GradientTransformation:
        """The optax transformation; each weight's path is its pytree keys joined by ``/``.

        >>> import highlevel as hl, jax.numpy as jnp
        >>> state = hl.optimizers.Muon().to_optax().init({"w": jnp.zeros((2, 3))})
        >>> round(float(state.hyperparams["learning_rate"]), 6)
        0.001
        """
        return self._to_optax(None)

    def to_optax_for(self, model, trainable_paths) -> optax.GradientTransformation:
        """The transformation for ``model``'s trainable weights, with their Keras paths."""
        from highlevel.optimizers.optimizer_map import variable_paths
        return self._to_optax(variable_paths(model, trainable_paths))

    def _own_config(self) -> dict[str, Any]:
        return {"adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": list(self.exclude_layers), "muon_a": self.muon_a, "muon_b": self.muon_b,
                "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov, "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}
