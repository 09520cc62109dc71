"""The learning-rate finder's curve: the loss against the learning rate (``LearningRateFinder.plot``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from highlevel.training.lr_finder import LearningRateFinder
from highlevel.visualization.images import image_format, require_matplotlib

__all__ = ["plot_lr_finder"]


def plot_lr_finder(result: LearningRateFinder, *, to_file: str | os.PathLike | None = None, ax: Any = None,
                   title: str | None = None) -> Any:
    """Draws the loss of a learning-rate sweep against the rate (log scale), the suggestion marked.

    The raw batch losses are drawn faintly behind the smoothed curve; the suggested rate (where
    the smoothed loss falls fastest) is a red dot and a dashed line.

    Args:
      result: what ``hl.utils.find_learning_rate`` returned.
      to_file: also save the figure there (``.png``, ``.svg`` or ``.pdf``).
      ax: a matplotlib ``Axes`` to draw into (a new figure by default).
      title: the plot's title (default: the suggestion).

    Returns:
      The ``matplotlib.figure.Figure``.

    >>> import numpy as np, highlevel as hl
    >>> rates = np.geomspace(1e-4, 1.0, 5)
    >>> result = hl.training.LearningRateFinder(rates, np.array([2.3, 2.2, 1.5, 0.9, 4.0]),
    ...                                         np.array([2.3, 2.25, 1.9, 1.4, 2.0]), 0.01, False)
    >>> fig = hl.visualization.plot_lr_finder(result)
    >>> fig.axes[0].get_xscale(), fig.axes[0].get_xlabel()
    ('log', 'learning rate')
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    if len(result.learning_rates) == 0:
        raise ValueError("This learning-rate sweep holds no steps: run hl.utils.find_learning_rate on some data.")
    fmt = None if to_file is None else image_format(to_file)
    require_matplotlib()
    import matplotlib.pyplot as plt
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    rates = result.learning_rates
    ax.plot(rates, result.losses, color="tab:blue", alpha=0.25, linewidth=1, label="batch loss")
    ax.plot(rates, result.smoothed_losses, color="tab:blue", label="smoothed loss")
    if result.suggestion is not None:
        at = int(np.argmin(np.abs(np.log(rates) - np.log(result.suggestion))))
        ax.axvline(result.suggestion, color="tab:red", linestyle="--", linewidth=1)
        ax.plot([rates[at]], [result.smoothed_losses[at]], "o", color="tab:red",
                label=f"suggestion {result.suggestion:.2g}")
    finite = result.smoothed_losses[np.isfinite(result.smoothed_losses)]
    if len(finite):   # the diverging tail would flatten the interesting part
        low, start = float(finite.min()), float(finite[0])
        ax.set_ylim(low - 0.1 * abs(start - low + 1e-12), max(start, low) + 0.5 * abs(start - low + 1e-12))
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title if title is not None else
                 "learning-rate finder" + (f": {result.suggestion:.2g}" if result.suggestion is not None else ""))
    fig.tight_layout()
    if to_file is not None:
        fig.savefig(to_file, format=fmt)
    return fig
