"""Mixed precision: dtype policies (Keras 3's names) and dynamic loss scaling.

``hl.mixed_precision.set_global_policy("mixed_bfloat16")`` before building a model makes
its layers keep float32 weights and compute in bfloat16 (``"mixed_float16"``: float16,
and ``compile`` then wraps the optimizer in a ``LossScaleOptimizer``); a layer's own
``dtype="mixed_bfloat16"`` (or ``"float32"``) overrides the global policy. Softmax,
losses, metrics and batch-norm statistics are computed in float32; predictions come in
the compute dtype. The policy is part of each layer's config, so it is saved with the
model; a config sets it with ``trainer.mixed_precision``.
"""

from __future__ import annotations

from highlevel.mixed_precision.scope import autocast, autocast_dtype, autocast_scope, is_low_precision
from highlevel.mixed_precision.policy import (DTypePolicy, Policy, dtype_policy, get, global_policy, policy_scope,
                                              set_dtype_policy, set_global_policy)
from highlevel.optimizers.loss_scale_optimizer import LossScaleOptimizer

__all__ = ["DTypePolicy", "Policy", "get", "set_global_policy", "global_policy", "set_dtype_policy",
           "dtype_policy", "policy_scope", "LossScaleOptimizer", "autocast_scope", "autocast_dtype", "autocast",
           "is_low_precision"]
