"""Keras's ``Progbar``: a text progress bar for custom loops, with running averages of values."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable

import numpy as np

from highlevel.utils.io_utils import print_msg

__all__ = ["Progbar"]


class Progbar:
    """A progress bar, as Keras's ``keras.utils.Progbar`` (same output).

    Values passed to ``update``/``add`` are averaged over the steps since the start
    (weighted by the steps each covers), except the ``stateful_metrics``, shown as given;
    the final update (``current >= target``) shows its own values, as Keras's does.

    Args:
        target: the total number of steps, or None when unknown.
        width: the bar's width in characters.
        verbose: 0 (silent), 1 (a bar redrawn in place) or 2 (one line at the end).
        interval: the least seconds between two redraws.
        stateful_metrics: names of values shown as they are, not averaged.
        stateless_metrics: names of the only values averaged (the others are shown as they
            are); one of this and ``stateful_metrics`` at most.
        unit_name: the name of a step in the speed (``"step"``: ``12ms/step``).
        clock: the time source in seconds (``time.time``); a test may pass its own.

    >>> bar = Progbar(3, verbose=2)
    >>> for step in range(3):
    ...     bar.update(step + 1, values=[("loss", float(step))])  # doctest: +ELLIPSIS
    3/3 - 0s - ...s/step - loss: 2.0000
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Iterable[str] | None = None, stateless_metrics: Iterable[str] | None = None,
                 unit_name: str = "step", clock: Callable[[], float] = time.time):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Progbar takes stateful_metrics (averaged unless named) or stateless_metrics (shown "
                             "as given unless named), not both; pass one.")
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar's verbose must be 0, 1 or 2, got {verbose!r}.")
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name, self._clock = interval, unit_name, clock
        self.stateful_metrics = None if stateless_metrics is not None else set(stateful_metrics or ())
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        # Keras redraws in place wherever a carriage return works, as on every POSIX terminal.
        self._dynamic_display = ((hasattr(sys.stdout, "isatty") and sys.stdout.isatty()) or "ipykernel" in sys.modules
                                 or os.name == "posix" or "PYCHARM_HOSTED" in os.environ)
        self._seen_so_far = 0
        self._values: dict[str, list] = {}
        self._values_order: list[str] = []
        self._start = clock()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def _stateless(self, name: str) -> bool:
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(self, current: int, values=None, finalize: bool | None = None) -> None:
        """Moves the bar to step ``current`` and records ``values``.

        Args:
            current: the index of the step now done (1 after the first).
            values: ``[(name, value), ...]`` to show.
            finalize: whether this is the last update (default: ``current >= target``).

        >>> Progbar(None, verbose=0).update(5, [("acc", 0.5)])
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            if not self._stateless(k) or finalize:
                self._values[k] = [v, 1]
            else:
                base = max(current - self._seen_so_far, 1)
                total, count = self._values.get(k, [0, 0])
                self._values[k] = [total + v * base, count + base]
        self._seen_so_far = current
        now = self._clock()
        per_unit = self._step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._draw(current, now, per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            info = f"%{digits}d/%d" % (current, self.target) + f" - {now - self._start:.0f}s"
            info += f" -{self._format_time(per_unit)}"
            for k in self._values_order:
                avg = self._average(k)
                info += f" - {k}: {avg:.4f}" if avg > 1e-3 else f" - {k}: {avg:.4e}"
            print_msg(info)
        self._last_update = now

    def add(self, n: int, values=None) -> None:
        """Moves the bar ``n`` steps on (``update(seen + n, values)``).

        Args:
            n: the steps done since the last update.
            values: ``[(name, value), ...]`` to show.

        >>> bar = Progbar(None, verbose=0)
        >>> bar.add(2); bar.add(3)
        """
        self.update(self._seen_so_far + n, values)

    def _average(self, name: str) -> float:
        total, count = self._values[name]
        if not isinstance(total, float):
            total = np.mean(total)
        return total / max(1, count)

    def _draw(self, current: int, now: float, per_unit: float, finalize: bool) -> None:
        message = "\b" * self._prev_total_width + "\r" if self._dynamic_display else "\n"
        special = 0  # the escape sequences' characters, which take no width on screen
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            bar = f"\x1b[1m{f'%{digits}d/%d' % (current, self.target)}\x1b[0m "
            filled = int(self.width * float(current) / self.target)
            special += 8
            if filled > 0:
                bar += f"\33[32m{'━' * filled}\x1b[0m"
                special += 9
            bar += f"\33[37m{'━' * (self.width - filled)}\x1b[0m"
            special += 9
        else:
            bar = "%7d/Unknown" % current
        if self.target is not None and self.target > 0 and not finalize:
            eta = per_unit * (self.target - current)
            if eta > 3600:
                eta_format = "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
            elif eta > 60:
                eta_format = "%d:%02d" % (eta // 60, eta % 60)
            else:
                eta_format = "%ds" % eta
            info = f" \x1b[1m{eta_format}\x1b[0m"
        else:
            info = f" \x1b[1m{now - self._start:.0f}s\x1b[0m"
        special += 8
        info += self._format_time(per_unit)
        for k in self._values_order:
            avg = self._average(k)
            info += f" - {k}: {avg:.4f}" if abs(avg) > 1e-3 else f" - {k}: {avg:.4e}"
        total_width = len(bar) + len(info) - special
        message += bar + info + " " * max(self._prev_total_width - total_width, 0)
        if finalize:
            message += "\n"
        print_msg(message, line_break=False)
        self._prev_total_width = total_width

    def _format_time(self, per_unit: float) -> str:
        if per_unit >= 1 or per_unit == 0:
            return f" {per_unit:.0f}s/{self.unit_name}"
        if per_unit >= 1e-3:
            return f" {per_unit * 1000.0:.0f}ms/{self.unit_name}"
        return f" {per_unit * 1000000.0:.0f}us/{self.unit_name}"

    def _step_duration(self, current: int, now: float) -> float:
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit
