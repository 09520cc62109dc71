"""LambdaCallback: a callback made of plain functions, one per hook."""

from __future__ import annotations

from typing import Callable

from highlevel.training.callback import Callback

__all__ = ["LambdaCallback"]

# Hooks by the arguments Keras passes to them.
_INDEXED = ("on_epoch_begin", "on_epoch_end")                       # fn(epoch, logs)
_BATCH = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
          "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")  # fn(batch, logs=logs)
_PLAIN = ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
          "on_predict_begin", "on_predict_end")                     # fn(logs)
_OTHER = ("on_train_exception",)                                    # fn(exception), beyond Keras
# Keras's Callback routes its train-batch hooks to these older names.
_ALIASES = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}
_HOOKS = _INDEXED + _BATCH + _PLAIN + _OTHER


def _hook(name: str, fn: Callable) -> Callable:
    """``fn`` called with Keras's arguments: ``logs`` is always a mapping, ``{}`` when none."""
    if name in _INDEXED:
        def hook(index, logs=None):
            return fn(index, {} if logs is None else logs)
    elif name in _BATCH:
        def hook(batch, logs=None):
            return fn(batch, logs={} if logs is None else logs)
    elif name in _PLAIN:
        def hook(logs=None):
            return fn({} if logs is None else logs)
    else:
        return fn
    hook.__name__ = name
    hook.__wrapped__ = fn
    return hook


class LambdaCallback(Callback):
    """A callback whose hooks are the given functions, called as Keras calls them.

    Args:
        on_epoch_begin: ``fn(epoch, logs)``, called before each epoch.
        on_epoch_end: ``fn(epoch, logs)``, called after each epoch with its logs.
        on_train_begin: ``fn(logs)``, called once before training.
        on_train_end: ``fn(logs)``, called once after training.
        on_train_batch_begin: ``fn(batch, logs=logs)``, called before each training step.
        on_train_batch_end: ``fn(batch, logs=logs)``, called after each training step.
        **kwargs: any other hook by name, e.g. ``on_test_end=fn``, ``on_predict_batch_end=fn``,
            ``on_train_exception=fn(exception)``; Keras's ``on_batch_begin``/``on_batch_end``
            mean the train-batch hooks.

    Only the hooks given are set, so a LambdaCallback without batch functions adds no
    per-step work. Batch-end ``logs`` are lazy: reading them copies the metrics from
    the device, so read them only when needed.

    >>> print_epoch = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    >>> print_epoch.on_epoch_end(0, {"loss": 0.25})
    0 0.25
    """

    def __init__(self, on_epoch_begin: Callable | None = None, on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None, on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None, on_train_batch_end: Callable | None = None,
                 **kwargs: Callable):
        super().__init__()
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin, "on_train_batch_end": on_train_batch_end}
        for name, fn in kwargs.items():
            hook = _ALIASES.get(name, name)
            if hook not in _HOOKS:
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}; hooks are "
                                f"{', '.join(_HOOKS + tuple(_ALIASES))}.")
            if given.get(hook) is not None:
                raise TypeError(f"LambdaCallback got two functions for {hook!r} ({name!r} and {hook!r}).")
            given[hook] = fn
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback {name} must be callable, got {fn!r}.")
            # Set on the instance: the CallbackList calls only the hooks a callback sets.
            setattr(self, name, _hook(name, fn))
