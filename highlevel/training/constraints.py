"""Weight constraints in the compiled train step: each constrained weight projected after the update.

Layers record ``{weight name: constraint}`` (``Layer.weight_constraints()``, filled by
``add_weight(constraint=...)`` and arguments such as ``kernel_constraint``). Keras applies
a variable's constraint right after the optimizer updates it; here the train step does
the same on the updated parameters, at trace time only, so a model without constraints
gets exactly the step it had.
"""

from __future__ import annotations

__all__ = ["apply_constraints"]


def apply_constraints(builder, params, hyper, rest):
    """``params`` with each trainable weight's constraint applied (``params`` itself when none has one).

    Args:
      builder: the ``StepBuilder`` whose partition ``params`` follows (its ``merge``/``split``).
      params: the trainable weights just updated by the optimizer.
      hyper, rest: the other parts of the module's state (needed to rebuild the module).

    Returns:
      The constrained trainable weights, in ``params``' structure.
    """
    module = builder.merge(params, hyper, rest)
    layers = module.flatten_layers() if hasattr(module, "flatten_layers") else []
    pairs = [(getattr(layer, name), constraint) for layer in layers
             for name, constraint in layer.weight_constraints().items()]
    if not pairs:
        return params
    for var, constraint in pairs:
        value = var.get_value()
        var.set_value(constraint(value).astype(value.dtype))
    constrained, _, _ = builder.split(module)
    return constrained
