"""``MetricVariable``: a Keras-style metric's state variable, and binding variables to state arrays.

A metric written the Keras 3 way keeps its state in variables made by ``add_variable``
and changes them with ``assign``/``assign_add``. highlevel runs such a metric inside the
compiled step by *binding*: each variable's value is set, for the duration of one call,
to an array of the metric state carried in the train state (a tracer while the step is
traced), ``update_state`` runs, and the new values are read back as the new state.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Any, Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["MetricVariable", "bind"]


def _binary(op, reflected: bool = False):
    def method(self, other):
        other = other.value if isinstance(other, MetricVariable) else other
        return op(other, self.value) if reflected else op(self.value, other)
    return method


class MetricVariable:
    """A metric's state variable (Keras's metric ``Variable``): ``value``, ``assign``, ``assign_add``.

    It behaves as its value in arithmetic and in ``jax.numpy`` functions (``self.total + x``,
    ``jnp.sum(self.counts)``), and assigning keeps its shape and dtype, so the compiled
    step's state never changes signature.

    Args:
        value: The initial value (an array).
        name: The variable's name.
        aggregation: Keras's aggregation across replicas (``"sum"``, ``"mean"``...), kept for
            the config; highlevel's data-parallel steps sum metric states.

    >>> import jax.numpy as jnp
    >>> v = MetricVariable(jnp.zeros(()), name="total")
    >>> v.assign_add(2.5)
    >>> float(v + 1.0), v.shape, str(v.dtype)
    (3.5, (), 'float32')
    """

    def __init__(self, value, name: str | None = None, aggregation: str = "sum"):
        self._value = value
        self.name = name or "variable"
        self.aggregation = aggregation

    @property
    def value(self):
        """The current value (an array; a tracer inside the compiled step)."""
        return self._value

    @property
    def shape(self) -> tuple:
        return tuple(np.shape(self._value))

    @property
    def dtype(self):
        return jnp.dtype(self._value.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _cast(self, value):
        value = value.value if isinstance(value, MetricVariable) else value
        value = jnp.asarray(value, self.dtype)
        if tuple(value.shape) != self.shape:
            if value.ndim == 0:
                value = jnp.broadcast_to(value, self.shape)
            else:
                raise ValueError(f"Cannot assign a value of shape {tuple(value.shape)} to the metric variable "
                                 f"'{self.name}' of shape {self.shape}; assign values of its shape.")
        return value

    def assign(self, value) -> None:
        """Sets the value (cast to the variable's dtype; a scalar broadcasts)."""
        self._value = self._cast(value)

    def assign_add(self, value) -> None:
        """Adds ``value`` to the variable."""
        self._value = self._cast(self._value + self._cast(value))

    def assign_sub(self, value) -> None:
        """Subtracts ``value`` from the variable."""
        self._value = self._cast(self._value - self._cast(value))

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (outside a compiled step)."""
        return np.asarray(self._value)

    def __jax_array__(self):
        return jnp.asarray(self._value)

    def __array__(self, dtype=None, copy=None):
        arr = np.asarray(self._value)
        return arr if dtype is None else arr.astype(dtype)

    def __float__(self) -> float:
        return float(np.asarray(self._value))

    def __int__(self) -> int:
        return int(np.asarray(self._value))

    def __getitem__(self, index):
        return self._value[index]

    def __repr__(self) -> str:
        return f"<MetricVariable name={self.name} shape={self.shape} dtype={self.dtype}>"

    __add__, __radd__ = _binary(operator.add), _binary(operator.add, True)
    __sub__, __rsub__ = _binary(operator.sub), _binary(operator.sub, True)
    __mul__, __rmul__ = _binary(operator.mul), _binary(operator.mul, True)
    __truediv__, __rtruediv__ = _binary(operator.truediv), _binary(operator.truediv, True)
    __floordiv__, __rfloordiv__ = _binary(operator.floordiv), _binary(operator.floordiv, True)
    __pow__, __rpow__ = _binary(operator.pow), _binary(operator.pow, True)
    __mod__, __rmod__ = _binary(operator.mod), _binary(operator.mod, True)
    __matmul__, __rmatmul__ = _binary(operator.matmul), _binary(operator.matmul, True)
    __lt__, __le__ = _binary(operator.lt), _binary(operator.le)
    __gt__, __ge__ = _binary(operator.gt), _binary(operator.ge)

    def __neg__(self):
        return -self._value

    def __abs__(self):
        return abs(self._value)


@contextlib.contextmanager
def bind(variables: Sequence[MetricVariable], values: Sequence[Any]) -> Iterator[list]:
    """Sets each variable's value to the matching array for the block, then puts the old values back.

    Yields a list that holds, after the block, the variables' values at its end (the new state).
    """
    if len(values) != len(variables):
        raise ValueError(f"The metric has {len(variables)} variables but its state holds {len(values)} arrays.")
    saved = [v._value for v in variables]
    out: list = []
    try:
        for var, value in zip(variables, values):
            # device_put, not jnp.asarray: that would compile a staging copy per new shape.
            var._value = value if isinstance(value, jax.Array) else jax.device_put(np.asarray(value, var.dtype))
        yield out
        out.extend(v._value for v in variables)
    finally:
        for var, value in zip(variables, saved):
            var._value = value
