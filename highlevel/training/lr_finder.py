"""The learning-rate finder: train briefly with an exponentially growing rate and watch the loss.

Leslie Smith's range test (as fastai's ``lr_find`` and Lightning's ``Tuner.lr_find``): from
``min_learning_rate`` to ``max_learning_rate`` over ``num_steps`` steps, one batch each, the
loss of every batch is kept; the suggested rate is where the smoothed loss falls fastest.
It runs on a copy of the train state with the model's own compiled train step (one more
compilation, for a step that takes the rate as an argument), so the model's weights, its
optimizer state, its random key and its step count are exactly as before. The losses stay
on the device and are read every ``check_every`` steps (to stop once the loss diverges),
not every step.

``hl.utils.find_learning_rate`` is this module's ``find_learning_rate`` (lent to ``utils`` by
the top-level package); ``highlevel find-lr CONFIG`` runs it on a configured run's data.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from highlevel import optimizers as _optimizers
from highlevel.training.data import make_adapter, prefetch_to_device
from highlevel.training.program import ModelProgram, copy_tree, sample_of

__all__ = ["LearningRateFinder", "find_learning_rate", "suggest_learning_rate", "register_lr_finder_plotter"]


@dataclasses.dataclass
class LearningRateFinder:
    """What ``find_learning_rate`` found: the loss curve against the learning rate, and a suggestion.

    Args:
      learning_rates: the rate of each step (exponentially growing).
      losses: each step's batch loss at that rate (before its update).
      smoothed_losses: ``losses`` smoothed (exponential moving average, bias-corrected).
      suggestion: the suggested learning rate: where the smoothed loss falls fastest against
        the log of the rate, before its minimum.
      stopped_early: whether the sweep stopped because the loss diverged.

    >>> import numpy as np
    >>> rates = np.geomspace(1e-4, 1.0, 5)
    >>> result = LearningRateFinder(rates, np.array([2.3, 2.2, 1.5, 0.9, 4.0]),
    ...                             np.array([2.3, 2.25, 1.9, 1.4, 2.0]), 0.01, False)
    >>> result.min_loss_learning_rate
    0.1
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestion: float | None
    stopped_early: bool

    @property
    def min_loss_learning_rate(self) -> float | None:
        """The rate at which the smoothed loss was lowest (a rate to stay below: about 10x too high)."""
        if len(self.smoothed_losses) == 0 or not np.isfinite(self.smoothed_losses).any():
            return None
        return float(self.learning_rates[int(np.nanargmin(self.smoothed_losses))])

    def plot(self, *, to_file: str | os.PathLike | None = None, ax: Any = None, title: str | None = None):
        """Draws the smoothed loss against the learning rate (log scale), the suggestion marked.

        Drawn by ``hl.visualization.plot_lr_finder`` (matplotlib).

        Args:
          to_file: also save the figure there (``.png``, ``.svg`` or ``.pdf``).
          ax: a matplotlib ``Axes`` to draw into (a new figure by default).
          title: the plot's title.

        Returns:
          The ``matplotlib.figure.Figure``.
        """
        if _plotter is None:
            raise RuntimeError("LearningRateFinder.plot draws with highlevel.visualization, which is not imported: "
                               "import highlevel (or highlevel.visualization) first.")
        return _plotter(self, to_file=to_file, ax=ax, title=title)

    def as_dict(self) -> dict[str, Any]:
        """The curve and the suggestion as JSON-able values."""
        return {"suggestion": self.suggestion, "min_loss_learning_rate": self.min_loss_learning_rate,
                "stopped_early": bool(self.stopped_early), "learning_rates": self.learning_rates.tolist(),
                "losses": self.losses.tolist(), "smoothed_losses": self.smoothed_losses.tolist()}


def suggest_learning_rate(learning_rates, smoothed_losses, skip_start: int | None = None) -> float | None:
    """The rate where the smoothed loss falls fastest against ``log(rate)``, before its minimum.

    Only points where the loss has come a tenth of the way down from its highest (before the
    minimum) to its lowest count: on the plateau of small rates, batch-to-batch noise alone
    makes slopes as steep as the descent's.

    Args:
      learning_rates: the rates, increasing.
      smoothed_losses: the smoothed loss at each rate.
      skip_start: the first points to leave out (noisy while the average warms up); by default
        a tenth of the points, at most 10.

    Returns:
      The rate, or None when the loss never fell.

    >>> rates = np.geomspace(1e-5, 1.0, 11)
    >>> losses = np.array([2.0, 2.0, 1.99, 1.95, 1.7, 1.0, 0.6, 0.5, 0.55, 1.5, 9.0])
    >>> round(suggest_learning_rate(rates, losses, skip_start=0), 5)   # between 1.7 and 0.6
    0.00316
    """
    rates = np.asarray(learning_rates, np.float64)
    losses = np.asarray(smoothed_losses, np.float64)
    finite = np.isfinite(losses)
    if len(rates) < 3 or not finite.any():
        return None
    skip = min(10, len(rates) // 10) if skip_start is None else int(skip_start)
    lowest = int(np.nanargmin(np.where(finite, losses, np.nan)))
    if lowest - skip < 2:
        return None
    segment = losses[skip:lowest + 1]
    slope = np.gradient(segment, np.log(rates[skip:lowest + 1]))
    # Only where the loss has come down a tenth of the way from its plateau to its lowest: on the
    # plateau, the noise of single batches makes slopes as steep as the real descent's.
    top = float(np.max(segment))
    slope = np.where(segment <= top - 0.1 * (top - segment[-1]), slope, np.inf)
    steepest = int(np.argmin(slope))
    if not slope[steepest] < 0:
        return None
    return float(rates[skip + steepest])


def _sweep_step(builder) -> Callable:
    """The model's train step with the learning rate as an argument; returns the batch's loss
    accumulator too (its value is read on the host, ``builder.loss_tracker.result``)."""

    def step(state, hyper, batch, learning_rate):
        opt_state = optax.tree_utils.tree_set(state.opt_state, learning_rate=learning_rate)
        state = state.replace(opt_state=opt_state, metrics=builder.init_metrics())
        state = builder.train_step(state, hyper, batch)
        return state, state.metrics[0]

    step.__name__ = "lr_finder_step"
    return step


def _values(builder, host_states) -> list[float]:
    return [float(builder.loss_tracker.result(s)) for s in host_states]


def _check(min_learning_rate, max_learning_rate, num_steps, early_stop_threshold, smoothing, check_every) -> None:
    if not (isinstance(min_learning_rate, (int, float)) and isinstance(max_learning_rate, (int, float))
            and 0 < min_learning_rate < max_learning_rate):
        raise ValueError("find_learning_rate needs 0 < min_learning_rate < max_learning_rate, got "
                         f"min_learning_rate={min_learning_rate!r} and max_learning_rate={max_learning_rate!r}.")
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 10:
        raise ValueError(f"find_learning_rate num_steps must be an integer of at least 10 (a few hundred is "
                         f"typical), got {num_steps!r}.")
    if early_stop_threshold is not None and not (isinstance(early_stop_threshold, (int, float))
                                                 and early_stop_threshold > 1):
        raise ValueError(f"find_learning_rate early_stop_threshold must be a number above 1 (the sweep stops when "
                         f"the loss exceeds that many times its lowest) or None, got {early_stop_threshold!r}.")
    if not (isinstance(smoothing, (int, float)) and 0 <= smoothing < 1):
        raise ValueError(f"find_learning_rate smoothing must be in [0, 1), got {smoothing!r}.")
    if isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 1:
        raise ValueError(f"find_learning_rate check_every must be a positive integer, got {check_every!r}.")


def _program(model) -> ModelProgram:
    trainer = getattr(model, "trainer", None)
    if trainer is None or not getattr(trainer, "compiled", False):
        raise RuntimeError("find_learning_rate needs a compiled model: call model.compile(optimizer=..., loss=...) "
                           "first.")
    program = trainer.program
    if not isinstance(program, ModelProgram):
        raise TypeError(f"find_learning_rate sweeps one model, not a {type(model).__name__}: find the rate for one "
                        "member (a model built by the same function), or train the members with a learning_rate "
                        "per member.")
    if program.distribution is not None:
        raise ValueError("find_learning_rate runs on one device: compile the model without a distribution to find "
                         "the rate, then compile it with the distribution to train.")
    if getattr(trainer.optimizer, "is_scheduled", False):
        raise ValueError("find_learning_rate sets the learning rate itself, but this optimizer follows a schedule: "
                         "compile with a constant learning_rate to find the rate.")
    return program


def find_learning_rate(model, x, y=None, *, batch_size: int = 32, sample_weight=None,
                       min_learning_rate: float = 1e-7, max_learning_rate: float = 10.0, num_steps: int = 200,
                       early_stop_threshold: float | None = 4.0, smoothing: float = 0.98, check_every: int = 10,
                       seed: int = 0) -> LearningRateFinder:
    """Trains a copy of a compiled model with an exponentially growing learning rate; suggests one.

    The model itself is left exactly as it was (weights, optimizer state, random key, step).
    The sweep takes one batch per step, reshuffling the data after each pass, until
    ``num_steps`` steps or until the smoothed loss exceeds ``early_stop_threshold`` times its
    lowest value. The optimizer is the model's (its other hyperparameters, its state); every
    learning rate it holds is set to the sweep's rate.

    Args:
      model: a compiled highlevel model (with an optimizer whose learning rate is a number).
      x: the inputs (arrays, or an iterable of ``(x, y)`` batches, as ``fit`` takes).
      y: the targets (with array inputs).
      batch_size: rows per step.
      sample_weight: per-sample weights, as ``fit`` takes them.
      min_learning_rate: the first rate.
      max_learning_rate: the last rate.
      num_steps: steps from the first rate to the last.
      early_stop_threshold: stop once the smoothed loss is this many times its lowest (None: never).
      smoothing: the exponential moving average's factor for the smoothed loss.
      check_every: read the losses from the device every this many steps (to stop early).
      seed: the data order's seed.

    Returns:
      A ``LearningRateFinder``: ``learning_rates``, ``losses``, ``smoothed_losses``,
      ``suggestion``, ``plot()``.

    >>> import numpy as np, highlevel as hl
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(256, 4)).astype("float32")
    >>> y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")
    >>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> before = model.get_weights()
    >>> result = hl.utils.find_learning_rate(model, x, y, num_steps=100, min_learning_rate=1e-4,
    ...                                      max_learning_rate=10.0)
    >>> 1e-3 < result.suggestion < 1.0
    True
    >>> all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    True
    """
    _check(min_learning_rate, max_learning_rate, num_steps, early_stop_threshold, smoothing, check_every)
    program = _program(model)
    trainer = model.trainer
    adapter = make_adapter(x, y, sample_weight, batch_size=batch_size, shuffle=True, seed=seed)
    program.prepare(sample_of(adapter))
    if program.loss_missing:
        raise ValueError("find_learning_rate watches the loss, but the model was compiled without one: pass "
                         "loss=... to compile().")
    trainer.sync()
    live = trainer.state
    try:
        _optimizers.get_hyperparam(live.opt_state)
    except ValueError:
        raise ValueError("find_learning_rate needs an optimizer that keeps its learning rate in its state: an "
                         "hl.optimizers optimizer, or an optax one built with optax.inject_hyperparams.") from None
    dtype = np.asarray(jax.device_get(_optimizers.get_hyperparam(live.opt_state))).dtype
    state = copy_tree(live)          # the sweep's own buffers: the model's state is never donated
    builder = program.builder
    step = jax.jit(_sweep_step(builder), donate_argnums=0)
    hyper = program.hyper()
    rates = np.geomspace(min_learning_rate, max_learning_rate, num_steps)

    def batches():
        for epoch in itertools.count():
            count = 0
            for batch in adapter.batches(epoch, k=1):
                count += 1
                yield batch
            if count == 0 or not hasattr(adapter, "num_samples"):   # an iterable is read once
                return

    on_device, losses = [], []
    smoothed: list[float] = []
    average, best, stopped = 0.0, np.inf, False
    for i, batch in enumerate(prefetch_to_device(itertools.islice(batches(), num_steps))):
        state, loss = step(state, hyper, tuple(batch), np.asarray(rates[i], dtype))
        on_device.append(loss)
        if len(on_device) % check_every and i != num_steps - 1:
            continue
        for value in _values(builder, jax.device_get(on_device)):   # one read per check_every steps
            losses.append(float(value))
            average = smoothing * average + (1.0 - smoothing) * value
            smooth = average / (1.0 - smoothing ** len(losses))
            smoothed.append(float(smooth))
            best = min(best, smooth) if np.isfinite(smooth) else best
            if early_stop_threshold is not None and (not np.isfinite(smooth) or smooth > early_stop_threshold * best):
                stopped = True
                break
        on_device = []
        if stopped:
            break
    if on_device:   # an iterable that ended between two checks
        for value in _values(builder, jax.device_get(on_device)):
            losses.append(float(value))
            average = smoothing * average + (1.0 - smoothing) * value
            smoothed.append(float(average / (1.0 - smoothing ** len(losses))))
    del state
    n = len(losses)
    rates = rates[:n]
    smoothed_array = np.asarray(smoothed, np.float64)
    return LearningRateFinder(rates, np.asarray(losses, np.float64), smoothed_array,
                              suggest_learning_rate(rates, smoothed_array), stopped)


# The function LearningRateFinder.plot calls: hl.visualization.plot_lr_finder, registered when
# highlevel is imported (drawing lives in visualization/, above this row of DESIGN.md's table).
_plotter: Callable | None = None


def register_lr_finder_plotter(plotter: Callable) -> None:
    """Makes ``LearningRateFinder.plot(...)`` call ``plotter(result, to_file=, ax=, title=)``.

    ``highlevel.visualization`` registers ``plot_lr_finder`` when it is imported.

    Args:
      plotter: the function, with ``hl.visualization.plot_lr_finder``'s signature.

    >>> import highlevel as hl
    >>> register_lr_finder_plotter(hl.visualization.plot_lr_finder)
    """
    global _plotter
    if not callable(plotter):
        raise TypeError(f"register_lr_finder_plotter expects a function, got {type(plotter).__name__}.")
    _plotter = plotter
