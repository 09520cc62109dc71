"""Losses by Keras name: per-sample functions and ``Loss`` objects that reduce them.

Every function here takes ``(y_true, y_pred)`` and reduces only the last axis, as
Keras's loss functions do (``[B, C]`` predictions give ``[B]`` losses, ``[B, T, C]``
give ``[B, T]``). A ``Loss`` object's ``call`` returns those per-sample values and
``__call__`` reduces them to a scalar with Keras's default ``"sum_over_batch_size"``
reduction. All of it is pure ``jax.numpy``: usable under ``jax.jit`` and ``jax.grad``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

# Names outside __all__ are re-exported too: hl.metrics and user code reach them
# here (EPSILON, the config helpers function_path/import_function, the upper-case aliases).
from highlevel.losses.base import (  # noqa: F401
    EPSILON, Loss, LossFunctionWrapper, function_path, import_function,
    reduce_weighted_values, squeeze_or_expand_to_same_rank)
from highlevel.losses.focal_losses import (
    BinaryFocalCrossentropy, CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy,
    binary_focal_crossentropy, categorical_focal_crossentropy, categorical_generalized_cross_entropy)
from highlevel.losses.metric_learning_losses import Circle, circle
from highlevel.losses.sequence_losses import CTC, ctc
from highlevel.losses.segmentation_losses import Dice, Tversky, dice, tversky
from highlevel.losses.hinge_losses import (CategoricalHinge, Hinge, SquaredHinge,
                                           categorical_hinge, hinge, squared_hinge)
from highlevel.losses.probabilistic_losses import (
    BinaryCrossentropy, CategoricalCrossentropy, KLDivergence, Poisson,
    SparseCategoricalCrossentropy, binary_crossentropy, categorical_crossentropy, kl_divergence,
    poisson, sparse_categorical_crossentropy)
from highlevel.utils.serialization import class_config, lookup_serializable, resolve_class
from highlevel.losses.regression_losses import (  # noqa: F401
    MAE, MAPE, MSE, MSLE, CosineSimilarity, Huber, LogCosh, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError,
    cosine_similarity, huber, log_cosh, mae, mape, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error, mse, msle)

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Huber", "LogCosh",
    "CosineSimilarity", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge",
    "CategoricalHinge", "mean_squared_error", "mse", "mean_absolute_error", "mae",
    "mean_absolute_percentage_error", "mape", "mean_squared_logarithmic_error", "msle",
    "huber", "log_cosh", "cosine_similarity", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
    "categorical_hinge", "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy", "Dice", "Tversky", "Circle", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "categorical_generalized_cross_entropy", "dice", "tversky",
    "circle", "CTC", "ctc", "get", "serialize", "deserialize",
]


# Registry ----------------------------------------------------------------------------

_CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, CosineSimilarity, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge,
    SquaredHinge, CategoricalHinge, BinaryFocalCrossentropy, CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy, Dice, Tversky, Circle, CTC, LossFunctionWrapper)}
_FUNCTIONS: dict[Callable, type] = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, huber: Huber,
    log_cosh: LogCosh, cosine_similarity: CosineSimilarity,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence, poisson: Poisson, hinge: Hinge, squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge, binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    categorical_generalized_cross_entropy: CategoricalGeneralizedCrossEntropy, dice: Dice,
    tversky: Tversky, circle: Circle, ctc: CTC,
}
_NAMES: dict[str, type] = {fn.__name__: cls for fn, cls in _FUNCTIONS.items()}
_NAMES.update({alias: cls for cls, aliases in (
    (MeanSquaredError, ("mse", "MSE")), (MeanAbsoluteError, ("mae", "MAE")),
    (MeanAbsolutePercentageError, ("mape", "MAPE")),
    (MeanSquaredLogarithmicError, ("msle", "MSLE")), (BinaryCrossentropy, ("bce", "BCE")),
    (KLDivergence, ("kld", "KLD", "kullback_leibler_divergence"))) for alias in aliases})


def loss_classes() -> dict[str, type]:
    """The built-in loss classes by name (a copy of the registry: for config checks).

    >>> "MeanSquaredError" in loss_classes()
    True
    """
    return {name: cls for name, cls in _CLASSES.items() if name != "LossFunctionWrapper"}


def loss_functions() -> dict[str, Callable]:
    """The built-in per-sample loss functions by their Keras names (a copy: for configs).

    >>> loss_functions()["huber"].__name__
    'huber'
    """
    return {fn.__name__: fn for fn in _FUNCTIONS}


def is_loss_function(fn) -> bool:
    """Whether ``fn`` is one of Keras's loss functions here (``hl.losses.mse``...): lower is better."""
    try:
        return fn in _FUNCTIONS
    except TypeError:  # an unhashable callable
        return False


def _known() -> str:
    return ", ".join(sorted(set(_NAMES) | (set(_CLASSES) - {"LossFunctionWrapper"})))


def get(identifier) -> Loss:
    """A ``Loss`` from a Keras name, a class name, a config dict, a ``Loss``, a class or a function.

    A function name such as ``"mse"`` gives the class instance named after the string, as
    ``compile(loss="mse")`` does in Keras.

    Args:
        identifier: A Keras name (``"mse"``, ``"sparse_categorical_crossentropy"``), a class
            name (``"Huber"``), a ``{"class_name", "config"}`` dict, a ``Loss`` (returned as
            is), a ``Loss`` class (instantiated with its defaults), or a callable
            ``fn(y_true, y_pred)`` returning per-sample losses (wrapped in a
            :class:`LossFunctionWrapper`).

    Returns:
        The ``Loss``.

    >>> import highlevel as hl
    >>> hl.losses.get("mse")
    MeanSquaredError(name='mse')
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier in _NAMES:
            return _NAMES[identifier](name=identifier)
        if identifier in _CLASSES and identifier != "LossFunctionWrapper":
            return _CLASSES[identifier]()
        found = lookup_serializable(identifier)   # a user's registered (or lent) loss
        if found is not None:
            return get(found)
        raise ValueError(f"Unknown loss {identifier!r}. Known losses: {_known()}; or pass a "
                         "hl.losses.Loss or a function fn(y_true, y_pred) -> per-sample losses.")
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        if is_loss_function(identifier):
            return _FUNCTIONS[identifier]()
        return LossFunctionWrapper(identifier)
    raise TypeError(f"A loss must be a name, a config dict, a hl.losses.Loss or a callable, "
                    f"got {identifier!r}.")


def serialize(loss: Loss) -> dict[str, Any]:
    """Keras's config dict of a loss: ``{"class_name": ..., "config": ...}``.

    Args:
        loss: A ``Loss``, or anything :func:`get` accepts.

    Returns:
        The dict, which :func:`deserialize` (or :func:`get`) reads back.

    >>> import highlevel as hl
    >>> hl.losses.serialize(hl.losses.Huber(delta=2.0))
    {'class_name': 'Huber', 'config': {'name': 'huber_loss', 'reduction': 'sum_over_batch_size', 'delta': 2.0}}
    """
    if not isinstance(loss, Loss):
        loss = get(loss)
    return class_config(loss)


def deserialize(config: dict[str, Any]) -> Loss:
    """The ``Loss`` described by a ``{"class_name": ..., "config": ...}`` dict.

    Args:
        config: A dict as :func:`serialize` writes; ``"class_name"`` is a class or Keras name.

    Returns:
        A new ``Loss``.

    >>> import highlevel as hl
    >>> hl.losses.deserialize({"class_name": "Huber", "config": {"delta": 2.0}}).delta
    2.0
    """
    if "class_name" not in config:
        raise ValueError(f"A loss config needs a 'class_name' key, got {config!r}.")
    cls = resolve_class(config, {**_NAMES, **_CLASSES}, "loss", _known())
    return cls.from_config(config.get("config", {}))
