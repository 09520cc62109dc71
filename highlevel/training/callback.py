"""The callback protocol (Keras's hooks) and the callback list the host loop drives.

Per-batch hooks cost nothing unless a callback overrides them, and their ``logs``
are lazy: the metrics accumulated on the device are read (a device-to-host copy)
only if a callback actually looks at them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Iterator

__all__ = ["Callback", "CallbackList", "History", "LazyLogs"]

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
                "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class of callbacks, with Keras's hooks; ``self.model`` is the model being trained.

    Override any of the ``on_*`` methods. ``logs`` is a mapping of metric names to
    Python floats; set ``self.model.stop_training = True`` to stop after this epoch.
    """

    def __init__(self):
        self.model = None
        self.params: dict[str, Any] = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    # -- beyond Keras -------------------------------------------------------------

    def on_train_exception(self, exception: BaseException) -> None:
        """Called when ``fit`` raises (then the exception propagates): close files, finish writes."""

    def get_state(self) -> dict[str, Any]:
        """The callback's own state (e.g. EarlyStopping's best so far) as a JSON-able dict.

        ``BackupAndRestore`` saves it with the training state and hands it back through
        ``set_state`` on resume, so a resumed run behaves as if never interrupted.
        """
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores what ``get_state`` returned."""


def _overrides(callback: Callback, hook: str) -> bool:
    # A hook set on the instance counts too (Keras's LambdaCallback style; also
    # TerminateOnNaN(check_every=N)), so a per-batch hook is called only when given.
    if hook in getattr(callback, "__dict__", {}):
        return True
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


class LazyLogs(Mapping):
    """A read-only logs mapping whose values are fetched from the device on first access."""

    def __init__(self, fetch: Callable[[], dict[str, float]]):
        self._fetch = fetch
        self._values: dict[str, float] | None = None

    def _get(self) -> dict[str, float]:
        if self._values is None:
            self._values = dict(self._fetch())
        return self._values

    def __getitem__(self, key: str) -> float:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def copy(self) -> dict[str, float]:
        return dict(self._get())

    def __repr__(self) -> str:
        return repr(self._get())


class CallbackList:
    """Calls each hook on the callbacks that override it, in order."""

    def __init__(self, callbacks: list[Callback], model=None, params: dict | None = None):
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be hl.callbacks.Callback instances, got {type(cb).__name__}.")
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            cb.set_params(dict(params or {}))
        self._by_hook = {hook: [cb for cb in self.callbacks if _overrides(cb, hook)]
                         for hook in _BATCH_HOOKS}

    def needs(self, hook: str) -> bool:
        """Whether any callback overrides ``hook`` (so the loop may skip building its logs)."""
        return bool(self._by_hook[hook]) if hook in self._by_hook else any(
            _overrides(cb, hook) for cb in self.callbacks)

    def _call(self, hook: str, *args) -> None:
        targets = self._by_hook.get(hook)
        for cb in (self.callbacks if targets is None else targets):
            getattr(cb, hook)(*args)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        return lambda *args: self._call(hook, *args)


class History(Callback):
    """Records the epoch logs: ``history.history`` maps each metric to its list of per-epoch values."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
