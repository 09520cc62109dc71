"""Learning curves: the loss and each metric of a ``History`` against the epoch (``History.plot``)."""

from __future__ import annotations

import os
from typing import Any

from highlevel.training.callback import History
from highlevel.training.throughput import THROUGHPUT_KEYS
from highlevel.visualization.images import image_format, require_matplotlib

__all__ = ["plot_history"]

# The keys a learning rate is logged under: fit's, and Keras 2's.
_LEARNING_RATE_KEYS = ("learning_rate", "lr")


def plot_history(history: History, metrics: str | list[str] | None = None, *,
                 to_file: str | os.PathLike | None = None, figsize: tuple[float, float] | None = None,
                 title: str | None = None) -> Any:
    """Draws the loss and each metric against the epoch, training and validation together.

    One subplot per metric (``loss`` and ``val_loss`` share one), epochs counted from 1.
    When a learning rate was logged (``learning_rate``, as fit logs it, or ``lr``), it is
    drawn on the loss subplot's right-hand axis, log scale. ``history.plot(...)`` calls this.

    Args:
      history: the ``History`` that ``model.fit`` returned.
      metrics: the metric names to draw (``"loss"``, ``"accuracy"``; one name or a list);
        by default every logged metric except the learning rate and the throughput
        (``samples_per_second``, ...).
      to_file: also save the figure there (``.png``, ``.svg`` or ``.pdf``).
      figsize: ``(width, height)`` in inches; about 4.5 x 3.5 per subplot by default.
      title: a title over the whole figure.

    Returns:
      The ``matplotlib.figure.Figure`` (made with pyplot: ``plt.show()`` shows it).

    >>> import highlevel as hl
    >>> history = hl.callbacks.History()
    >>> history.on_train_begin()
    >>> for epoch, loss in enumerate([0.9, 0.5, 0.4]):
    ...     history.on_epoch_end(epoch, {"loss": loss})
    >>> fig = hl.visualization.plot_history(history)
    >>> [ax.get_title() for ax in fig.axes]
    ['loss']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    logs = history.history
    if not logs:
        raise ValueError("This History is empty: call model.fit(...) first, then plot the History it "
                         "returns.")
    fmt = None if to_file is None else image_format(to_file)
    rates = [k for k in _LEARNING_RATE_KEYS if k in logs]
    available = []
    for key in logs:
        base = key[4:] if key.startswith("val_") else key
        if base not in _LEARNING_RATE_KEYS and base not in available:
            available.append(base)
    if metrics is None:   # the loss first; throughput (trainer.log_throughput) only when asked for
        metrics = sorted((m for m in available if m not in THROUGHPUT_KEYS), key=lambda m: m != "loss")
    elif isinstance(metrics, str):
        metrics = [metrics]
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in available and m not in logs]
    if unknown or not metrics:
        raise ValueError(f"History has no metric {unknown[0] if unknown else 'to draw'!r}; its logged keys "
                         f"are {sorted(logs)}. Pass metrics= names among {available}.")
    require_matplotlib()
    import matplotlib.pyplot as plt

    def epochs(key: str) -> list[int]:
        return [e + 1 for e in history.logged_epochs(key)]

    cols = min(len(metrics), 3)
    rows = -(-len(metrics) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=figsize or (4.5 * cols, 3.5 * rows), squeeze=False)
    axes = list(axes.flat)
    for ax in axes[len(metrics):]:
        fig.delaxes(ax)
    for ax, name in zip(axes, metrics):
        if name.startswith("val_") and name in logs:
            keys = [name]
        else:
            keys = [k for k in (name, "val_" + name) if k in logs]
        for key in keys:
            x = epochs(key)
            ax.plot(x, logs[key], label=key, marker="o" if len(x) <= 30 else None, markersize=3,
                    linestyle="--" if key.startswith("val_") else "-")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        handles, labels = ax.get_legend_handles_labels()
        if name == "loss" and rates:
            twin = ax.twinx()
            lr = logs[rates[0]]
            twin.plot(epochs(rates[0]), lr, color="gray", linestyle=":", label="learning rate")
            if all(v > 0 for v in lr):
                twin.set_yscale("log")
            twin.set_ylabel("learning rate")
            more = twin.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
            ax = twin  # the legend above the twin's line, not under it
        ax.legend(handles, labels, fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if to_file is not None:
        fig.savefig(to_file, format=fmt)
    return fig
