"""The callback protocol (Keras's hooks) and the callback list the host loop drives.

Per-batch hooks cost nothing unless a callback overrides them, and their ``logs``
are lazy: the metrics accumulated on the device are read (a device-to-host copy)
only if a callback actually looks at them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Callable, Iterator

__all__ = ["Callback", "CallbackList", "History", "LazyLogs", "register_history_plotter"]

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
                "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")

# Where each hook takes its ``logs``: a hook called without them gets ``{}``, as Keras's.
_LOGS_POSITION = {**dict.fromkeys(("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                                   "on_predict_begin", "on_predict_end"), 0),
                  **dict.fromkeys(("on_epoch_begin", "on_epoch_end") + _BATCH_HOOKS, 1)}


class Callback:
    """Base class of callbacks, with Keras's hooks; ``self.model`` is the model being trained.

    Override any of the ``on_*`` methods. ``logs`` is a mapping of metric names to
    Python floats; set ``self.model.stop_training = True`` to stop after this epoch.
    Per-batch hooks cost nothing unless a callback overrides them.

    >>> import numpy as np, highlevel as hl
    >>> class PrintLoss(hl.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, round(logs["loss"], 2))
    >>> model = hl.Sequential([hl.Input((1,)), hl.layers.Dense(1, kernel_initializer="zeros")])
    >>> model.compile("sgd", "mse")
    >>> _ = model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[PrintLoss()])
    0 1.0
    1 0.92
    """

    #: True for a callback that only writes files (TensorBoard): over several processes it runs
    #: on process 0 alone. (Callbacks whose saves need every process, such as ModelCheckpoint,
    #: run everywhere and write through ``hl.distribute.on_chief``.)
    chief_only: bool = False

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
    """Calls each hook on the callbacks that override it, in order.

    Args:
      callbacks: the callbacks (``hl.callbacks.Callback`` instances); over several processes,
        those marked ``chief_only`` are kept on process 0 only.
      model: the model, given to each callback (``set_model``).
      params: the fit parameters (``epochs``, ``steps``, ``verbose``), given to each (``set_params``).

    >>> import highlevel as hl
    >>> history = hl.callbacks.History()
    >>> callbacks = hl.callbacks.CallbackList([history])
    >>> callbacks.needs("on_train_batch_end"), callbacks.needs("on_epoch_end")
    (False, True)
    """

    def __init__(self, callbacks: list[Callback], model=None, params: dict | None = None):
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be hl.callbacks.Callback instances, got {type(cb).__name__}.")
        import jax
        self.callbacks = [cb for cb in callbacks if not (cb.chief_only and jax.process_index() != 0)]
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
        position = _LOGS_POSITION.get(hook)
        if position is not None and (len(args) <= position or args[position] is None):
            args = args[:position] + ({},)
        for cb in (self.callbacks if targets is None else targets):
            getattr(cb, hook)(*args)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        return lambda *args: self._call(hook, *args)


class History(Callback):
    """Records the epoch logs: ``history.history`` maps each metric to its list of per-epoch values.

    ``model.fit`` returns one; ``history.plot()`` draws it (see :meth:`plot`), and
    ``logged_epochs(key)`` says at which epochs a key was logged.

    >>> history = History()
    >>> history.on_train_begin()
    >>> history.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.7})
    >>> history.history, history.epoch
    ({'loss': [0.5], 'val_loss': [0.7]}, [0])
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self._epochs_of: dict[str, list[int]] = {}

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}
        self._epochs_of = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
            # Which epochs a key was logged in: val_ metrics skip epochs under validation_freq.
            self._epochs_of.setdefault(key, []).append(epoch)

    def logged_epochs(self, key: str) -> list[int]:
        """The epochs (from 0) at which ``key`` was logged: ``val_`` metrics skip epochs under
        ``validation_freq``.

        Args:
          key: a logged name (``"loss"``, ``"val_accuracy"``).

        >>> history = History()
        >>> history.on_train_begin()
        >>> for epoch in range(4):
        ...     history.on_epoch_end(epoch, {"loss": 1.0, **({"val_loss": 2.0} if epoch % 2 else {})})
        >>> history.logged_epochs("val_loss")
        [1, 3]
        """
        values = self.history[key]
        epochs = getattr(self, "_epochs_of", {}).get(key)
        if epochs is None or len(epochs) != len(values):
            epochs = self.epoch if len(self.epoch) == len(values) else range(len(values))
        return [int(e) for e in epochs]

    def plot(self, metrics: str | list[str] | None = None, *, to_file: str | os.PathLike | None = None,
             figsize: tuple[float, float] | None = None, title: str | None = None) -> "matplotlib.figure.Figure":
        """Draws the loss and each metric against the epoch, training and validation together.

        One subplot per metric (``loss`` and ``val_loss`` share one), epochs counted from 1.
        When a learning rate was logged (``learning_rate``, as fit logs it, or ``lr``), it is
        drawn on the loss subplot's right-hand axis, log scale. Drawn by
        ``hl.visualization.plot_history``.

        Args:
          metrics: the metric names to draw (``"loss"``, ``"accuracy"``; one name or a list);
            by default every logged metric except the learning rate.
          to_file: also save the figure there (``.png``, ``.svg`` or ``.pdf``).
          figsize: ``(width, height)`` in inches; about 4.5 x 3.5 per subplot by default.
          title: a title over the whole figure.

        Returns:
          The ``matplotlib.figure.Figure`` (made with pyplot: ``plt.show()`` shows it).

        >>> import os, tempfile, numpy as np
        >>> import highlevel as hl
        >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> x = np.ones((8, 3), "float32")
        >>> history = model.fit(x, x[:, :1], epochs=3, validation_data=(x, x[:, :1]), verbose=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "history.png")
        >>> fig = history.plot(to_file=path)
        >>> [ax.get_title() for ax in fig.axes]  # loss (+ its learning-rate axis) and mae
        ['loss', 'mae', '']
        >>> os.path.getsize(path) > 0
        True
        >>> import matplotlib.pyplot as plt; plt.close(fig)
        """
        if _history_plotter is None:
            raise RuntimeError("History.plot draws with highlevel.visualization, which is not imported: "
                               "import highlevel (or highlevel.visualization) first.")
        return _history_plotter(self, metrics, to_file=to_file, figsize=figsize, title=title)


# The function History.plot calls: hl.visualization.plot_history, registered when highlevel
# is imported. Drawing lives in visualization/, a row of DESIGN.md's table far above this one.
_history_plotter: Callable | None = None


def register_history_plotter(plotter: Callable) -> None:
    """Makes ``History.plot(...)`` call ``plotter(history, metrics, to_file=, figsize=, title=)``.

    ``highlevel.visualization`` registers ``plot_history`` when it is imported (as
    ``import highlevel`` does); register another function to draw histories differently.

    Args:
      plotter: the function, with ``hl.visualization.plot_history``'s signature.

    >>> import highlevel as hl
    >>> register_history_plotter(hl.visualization.plot_history)
    """
    global _history_plotter
    if not callable(plotter):
        raise TypeError(f"register_history_plotter expects a function, got {type(plotter).__name__}.")
    _history_plotter = plotter
