"""``highlevel runs``: the run directories of an output folder side by side.

Each run directory (``OUTPUT_DIR/NAME-TIMESTAMP`` with a ``config.yaml``) is read as it is
on disk, nothing is trained: its status, epochs, wall time, final metrics (train, ``val_``
and ``test_``), the best value of each validation metric over the epochs, and its resolved
config, flattened to dotted keys, of which the table shows the keys whose values differ
between the runs. Drawn with ``rich``; ``--json`` prints the same for scripts.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import math
import os
import socket
from pathlib import Path
from typing import Any

import yaml

from highlevel.config.errors import ConfigError
from highlevel.training.throughput import THROUGHPUT_KEYS
from highlevel.utils.nested import flatten

__all__ = ["RunSummary", "list_runs", "differing_keys", "sort_runs", "runs_table", "runs_json",
           "metric_direction"]

# Never compared: they name the run or where it was written, not how it was trained.
_IGNORED_KEYS = ("name", "output_dir")
_UP = ("accuracy", "auc", "precision", "recall", "f1", "iou", "r2", "samples_per_second", "mfu")


def metric_direction(name: str) -> str:
    """``"up"`` for a metric where more is better (accuracy, AUC, samples/s), else ``"down"``.

    Args:
      name: a metric as logged (``val_accuracy``, ``test_loss``, ``best_val_loss``).

    >>> metric_direction("best_val_accuracy"), metric_direction("test_loss")
    ('up', 'down')
    """
    base = name.lower()
    for prefix in ("best_", "val_", "test_"):
        base = base[len(prefix):] if base.startswith(prefix) else base
    return "up" if any(word in base for word in _UP) else "down"


@dataclasses.dataclass
class RunSummary:
    """One run directory as ``highlevel runs`` reads it.

    Args:
      name: the run directory's name.
      path: the run directory.
      status: ``finished`` (``metrics.json`` is there), ``running`` (a live process holds its
        lock) or ``unfinished`` (``highlevel train --resume`` continues it).
      epochs: epochs trained (None when unknown).
      wall_time: seconds from the start to ``metrics.json`` (or to the last write of an
        unfinished run); None when unknown.
      final: the last epoch's train and ``val_`` metrics and the ``test_`` metrics.
      best: ``best_<val metric>``: each validation metric's best value over the epochs.
      config: the resolved config, flattened to dotted keys.

    >>> RunSummary("quickstart-1", Path("runs/quickstart-1"), "finished", 30, 21.5, {"test_accuracy": 0.98},
    ...            {}, {"seed": 0}).status
    'finished'
    """

    name: str
    path: Path
    status: str
    epochs: int | None
    wall_time: float | None
    final: dict[str, float]
    best: dict[str, float]
    config: dict[str, Any]

    def value(self, column: str):
        """A column's value: ``name``, ``status``, ``epochs``, ``wall_time``, a metric or a config key."""
        if column in ("name", "status", "epochs", "wall_time"):
            return getattr(self, column)
        if column in self.final:
            return self.final[column]
        if column in self.best:
            return self.best[column]
        return self.config.get(column)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _status(run_dir: Path) -> str:
    if (run_dir / "metrics.json").is_file():
        return "finished"
    lock = _read_json(run_dir / ".lock")
    if isinstance(lock, dict) and lock.get("host") == socket.gethostname() and isinstance(lock.get("pid"), int):
        try:
            os.kill(lock["pid"], 0)
            return "running"
        except ProcessLookupError:
            pass
        except PermissionError:
            return "running"
    return "unfinished"


def _wall_time(run_dir: Path, status: str) -> float | None:
    env = _read_json(run_dir / "environment.json") or {}
    try:
        started = datetime.datetime.fromisoformat(env["started"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None
    if status == "finished":
        end = (run_dir / "metrics.json").stat().st_mtime
    else:
        end = max((p.stat().st_mtime for p in run_dir.rglob("*") if p.is_file()), default=started)
    return max(end - started, 0.0)


def _best(history: dict[str, list]) -> dict[str, float]:
    keys = [k for k in history if k.startswith("val_")] or \
        [k for k in history if k not in THROUGHPUT_KEYS and k != "learning_rate"]
    best = {}
    for key in keys:
        values = [v for v in history[key] if isinstance(v, (int, float)) and math.isfinite(v)]
        if values:
            best[f"best_{key}"] = (max if metric_direction(key) == "up" else min)(values)
    return best


def _summary(run_dir: Path) -> RunSummary:
    try:
        config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    status = _status(run_dir)
    metrics = _read_json(run_dir / "metrics.json") if status == "finished" else None
    final: dict[str, float] = {}
    best: dict[str, float] = {}
    epochs = None
    if isinstance(metrics, dict):
        final.update({k: v for k, v in (metrics.get("train") or {}).items() if k not in THROUGHPUT_KEYS})
        final.update({f"val_{k}": v for k, v in (metrics.get("validation") or {}).items()})
        final.update({f"test_{k}": v for k, v in (metrics.get("test") or {}).items()})
        best = _best(metrics.get("history") or {})
        epochs = metrics.get("epochs")
    else:
        backup = _read_json(run_dir / "backup" / "latest" / "backup.json")
        if isinstance(backup, dict):
            epochs = backup.get("epoch")
    flat = {k: v for k, v in flatten(config).items() if k not in _IGNORED_KEYS}
    return RunSummary(run_dir.name, run_dir, status, epochs, _wall_time(run_dir, status), final, best, flat)


def list_runs(output_dir: str | os.PathLike = "runs") -> list[RunSummary]:
    """The runs in ``output_dir`` (its subfolders holding a ``config.yaml``), oldest first.

    Args:
      output_dir: a configs' ``output_dir``.

    Returns:
      A ``RunSummary`` per run directory.

    >>> import tempfile
    >>> list_runs(tempfile.mkdtemp())
    []
    """
    folder = Path(os.fspath(output_dir))
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder; pass the output_dir of your runs (runs by default).")
    dirs = [d for d in folder.iterdir() if d.is_dir() and (d / "config.yaml").is_file()]
    return [_summary(d) for d in sorted(dirs, key=lambda d: ((d / "config.yaml").stat().st_mtime, d.name))]


def differing_keys(runs: list[RunSummary]) -> list[str]:
    """The config keys whose values are not the same in every run (a key missing from some counts).

    Args:
      runs: the runs.

    >>> a = RunSummary("a", Path("a"), "finished", 1, 1.0, {}, {}, {"lr": 0.1, "seed": 0})
    >>> b = RunSummary("b", Path("b"), "finished", 1, 1.0, {}, {}, {"lr": 0.01, "seed": 0})
    >>> differing_keys([a, b])
    ['lr']
    """
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(run.config))
    missing = object()
    return [k for k in keys if len({json.dumps(r.config.get(k, missing), sort_keys=True, default=repr)
                                    for r in runs}) > 1]


def sort_runs(runs: list[RunSummary], column: str) -> list[RunSummary]:
    """The runs best first by a metric (its direction: ``metric_direction``), or by any other column.

    Runs without a value for ``column`` come last.

    Args:
      runs: the runs.
      column: a metric (``val_accuracy``, ``test_loss``, ``best_val_loss``), ``name``, ``status``,
        ``epochs``, ``wall_time`` or a config key.

    >>> a = RunSummary("a", Path("a"), "finished", 1, 1.0, {"val_accuracy": 0.9}, {}, {})
    >>> b = RunSummary("b", Path("b"), "finished", 1, 1.0, {"val_accuracy": 0.95}, {}, {})
    >>> [r.name for r in sort_runs([a, b], "val_accuracy")]
    ['b', 'a']
    """
    known = {c for r in runs for c in (*r.final, *r.best, *r.config)} | {"name", "status", "epochs", "wall_time"}
    if runs and column not in known:
        metrics = sorted({c for r in runs for c in (*r.final, *r.best)})
        raise ConfigError(f"--sort {column}: no run has that column; sort by one of the metrics "
                          f"({', '.join(metrics) or 'none yet'}), name, status, epochs, wall_time or a config key.")
    present = [r for r in runs if r.value(column) is not None]
    absent = [r for r in runs if r.value(column) is None]
    numbers = all(isinstance(r.value(column), (int, float)) for r in present)
    descending = numbers and column not in ("epochs", "wall_time") and metric_direction(column) == "up" \
        and (column in {c for r in runs for c in (*r.final, *r.best)})
    key = (lambda r: r.value(column)) if numbers else (lambda r: str(r.value(column)))
    return sorted(present, key=key, reverse=descending) + absent


def _metric_columns(runs: list[RunSummary]) -> list[str]:
    finals: dict[str, None] = {}
    bests: dict[str, None] = {}
    for run in runs:
        finals.update(dict.fromkeys(run.final))
        bests.update(dict.fromkeys(run.best))
    finals.pop("learning_rate", None)   # the config's (or its schedule's last value): in the JSON only
    order = ([k for k in finals if not k.startswith(("val_", "test_"))] + [k for k in finals if k.startswith("val_")]
             + list(bests) + [k for k in finals if k.startswith("test_")])
    return order


def _format(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def runs_table(runs: list[RunSummary], diff: bool = False, width: int | None = None) -> str:
    """The runs as a text table (``rich``): a row per run; or, with ``diff``, a row per differing config key.

    Args:
      runs: the runs, in the order to show.
      diff: show the config keys that differ (rows) against the runs (columns) instead.
      width: the width to draw in (default: the terminal's, or unlimited when not a terminal).

    >>> a = RunSummary("a", Path("a"), "finished", 2, 3.0, {"val_loss": 0.5}, {}, {"lr": 0.1})
    >>> b = RunSummary("b", Path("b"), "unfinished", 1, 2.0, {}, {}, {"lr": 0.01})
    >>> print(runs_table([a, b]))   # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
     run   status       epochs   time   val_loss   lr
     ...
     a     finished     2        3s     0.5        0.1
     b     unfinished   1        2s     -          0.01
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    keys = differing_keys(runs)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=True, header_style="bold")
    if diff:
        table.add_column("config key", no_wrap=True)
        for run in runs:
            table.add_column(run.name, no_wrap=True)
        for key in keys:
            table.add_row(key, *(_format(run.config.get(key)) for run in runs))
    else:
        metrics = _metric_columns(runs)
        for column in ("run", "status", "epochs", "time", *metrics, *keys):
            table.add_column(column, no_wrap=True)
        for run in runs:
            table.add_row(run.name, run.status, _format(run.epochs), _duration(run.wall_time),
                          *(_format(run.value(m)) for m in metrics), *(_format(run.config.get(k)) for k in keys))
    out = io.StringIO()
    console = Console(file=out, width=width or 100_000, color_system=None, highlight=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def runs_json(runs: list[RunSummary]) -> list[dict[str, Any]]:
    """The runs as JSON-able dicts (``--json``): every field, and the differing config keys' values.

    Args:
      runs: the runs.

    >>> a = RunSummary("a", Path("a"), "finished", 2, 3.0, {"val_loss": 0.5}, {}, {"lr": 0.1})
    >>> runs_json([a])[0]["final"]
    {'val_loss': 0.5}
    """
    keys = differing_keys(runs)
    return [{"name": r.name, "path": str(r.path), "status": r.status, "epochs": r.epochs, "wall_time": r.wall_time,
             "final": r.final, "best": r.best, "differing": {k: r.config.get(k) for k in keys}, "config": r.config}
            for r in runs]
