"""SpectralNormalization: divides a wrapped layer's kernel by its largest singular value in training, as Keras 3's."""

from __future__ import annotations

import copy
import inspect

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import initializers as _initializers
from highlevel.layers.base import Layer, deserialize_layer, register_layer, serialize_layer

__all__ = ["SpectralNormalization"]


def _normalize(x):
    # keras.ops.normalize(x, axis=None): x / ||x||, the inverse norm capped at 1 / epsilon (1e-7).
    return x * jnp.minimum(jax.lax.rsqrt(jnp.sum(jnp.square(x))), 1e7)


@register_layer
class SpectralNormalization(Layer):
    """Wraps a layer with a ``kernel`` (or ``embeddings``) and, in training, divides it by its spectral norm.

    Each training call runs ``power_iterations`` steps of the power method from the
    stored vector ``u`` (a non-trainable weight, updated like batch-norm's
    statistics), estimates the kernel's largest singular value ``sigma`` and calls
    the wrapped layer with ``kernel / sigma`` (gradients flow through it to the
    kernel). As Keras, outside a compiled step the normalized kernel is written
    back to the wrapped layer; inside ``fit`` only ``u`` is kept between steps
    and the optimizer updates the raw kernel (Keras's JAX trainer does the same).
    Outside training the wrapped layer runs unchanged.

    Args:
      layer: the layer to wrap (built or not), e.g. ``hl.layers.Dense(8)``.
      power_iterations: power-method steps per training call (a positive integer).

    Input and output shapes are the wrapped layer's. Weights: the wrapped layer's,
    then ``vector_u (1, kernel.shape[-1])``.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.SpectralNormalization(hl.layers.Dense(3, use_bias=False), power_iterations=20)
    >>> _ = layer(np.ones((1, 4), "float32"), training=True)
    >>> abs(float(np.linalg.norm(np.asarray(layer.layer.kernel.get_value()), 2)) - 1.0) < 0.01
    True
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"SpectralNormalization needs a layer instance such as hl.layers.Dense(4), "
                             f"got {layer!r}.")
        if (not isinstance(power_iterations, (int, np.integer)) or isinstance(power_iterations, bool)
                or power_iterations <= 0):
            raise ValueError(f"SpectralNormalization power_iterations must be a positive integer, "
                             f"got {power_iterations!r}.")
        super().__init__(**kwargs)
        self.layer = layer
        self.power_iterations = int(power_iterations)

    def kernel_variable(self):
        """The wrapped layer's ``kernel`` (or ``embeddings``) variable, which this wrapper normalizes."""
        for name in ("kernel", "embeddings"):
            weight = getattr(self.layer, name, None)
            if weight is not None and hasattr(weight, "get_value"):
                return weight
        raise ValueError(f"SpectralNormalization wraps layers with a 'kernel' or 'embeddings' weight; "
                         f"{type(self.layer).__name__} '{self.layer.name}' has neither: wrap a layer such as "
                         "Dense, Conv2D or Embedding.")

    def build(self, input_shape):
        self.layer.maybe_build(tuple(input_shape))
        kernel = self.kernel_variable()
        self.add_weight("vector_u", (1, kernel.get_value().shape[-1]), _initializers.TruncatedNormal(stddev=0.02),
                        dtype=str(kernel.get_value().dtype), trainable=False)

    def _own_named_weights(self):
        # Keras's wrapper tracks the wrapped kernel as its own, so its order (here, in a model, and
        # in get_weights) is the kernel, vector_u, then the wrapped layer's other weights.
        own = super()._own_named_weights()
        if "vector_u" not in self._weight_names:
            return own
        return [("kernel", self.kernel_variable())] + own

    def normalized_weights(self):
        """``(new u, kernel / sigma)`` from the current kernel and ``u``: Keras's power iteration."""
        kernel = self.kernel_variable().get_value()
        weights = jnp.reshape(kernel, (-1, kernel.shape[-1]))
        vector_u = self.vector_u.get_value()
        for _ in range(self.power_iterations):
            vector_v = _normalize(jnp.matmul(vector_u, weights.T))
            vector_u = _normalize(jnp.matmul(vector_v, weights))
        vector_u = jax.lax.stop_gradient(vector_u)
        vector_v = jax.lax.stop_gradient(vector_v)
        sigma = jnp.matmul(jnp.matmul(vector_v, weights), vector_u.T)
        return vector_u.astype(self.vector_u.get_value().dtype), (kernel / sigma[0, 0]).astype(kernel.dtype)

    def call(self, inputs, training: bool = False):
        if training:
            kernel = self.kernel_variable()
            old_u, old_kernel = self.vector_u.get_value(), kernel.get_value()
            new_u, new_kernel = self.normalized_weights()
            # An all-zero kernel has no direction to normalize: Keras leaves it and u alone.
            zero = jnp.all(old_kernel == 0)
            self.vector_u.set_value(jnp.where(zero, old_u, new_u))
            kernel.set_value(jnp.where(zero, old_kernel, new_kernel))
        out = self.layer(inputs, training=training) if _takes_training(self.layer) else self.layer(inputs)
        dtype = jnp.asarray(inputs).dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            return out   # Keras casts an Embedding's vectors to its integer ids' dtype; not here
        return jax.tree_util.tree_map(lambda y: y.astype(dtype), out)

    def get_config(self):
        return {**super().get_config(), "layer": serialize_layer(self.layer),
                "power_iterations": self.power_iterations}

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)
        config["layer"] = deserialize_layer(config["layer"])
        return cls(**config)


def _takes_training(layer: Layer) -> bool:
    return "training" in inspect.signature(type(layer).call).parameters
