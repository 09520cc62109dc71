"""The ``highlevel`` command's experiment subcommands: ``runs`` (compare run directories) and
``find-lr`` (the learning-rate finder on a config's model and data).

    highlevel runs [OUTPUT_DIR] [--sort METRIC] [--diff] [--json]
    highlevel find-lr CONFIG.yaml [key.path=value ...] [--min-lr X] [--max-lr X] [--steps N] [--plot FILE.png] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Sequence

from highlevel.config.errors import ConfigError

__all__ = ["add_tracking_commands", "run_tracking_command", "show_runs", "find_lr"]


def add_tracking_commands(sub) -> None:
    """Adds ``runs`` and ``find-lr`` to the command's subparsers.

    Args:
      sub: the ``argparse`` subparsers of the ``highlevel`` command.
    """
    runs = sub.add_parser("runs", help="compare the runs in an output folder: status, epochs, metrics, time and "
                                       "the config keys that differ")
    runs.add_argument("output_dir", nargs="?", default="runs", help="the configs' output_dir (default: runs)")
    runs.add_argument("--sort", metavar="METRIC", help="best first by this metric (val_accuracy, test_loss, "
                                                       "best_val_loss, ...), or by another column")
    runs.add_argument("--diff", action="store_true", help="show the differing config keys against the runs")
    runs.add_argument("--json", action="store_true", help="print JSON for scripts")
    find = sub.add_parser("find-lr", help="sweep the learning rate on a copy of a config's model and suggest one")
    find.add_argument("config")
    find.add_argument("overrides", nargs="*", help="key.path=value overrides")
    find.add_argument("--min-lr", type=float, default=1e-7, help="the first rate (default 1e-7)")
    find.add_argument("--max-lr", type=float, default=10.0, help="the last rate (default 10)")
    find.add_argument("--steps", type=int, default=200, help="steps of the sweep (default 200)")
    find.add_argument("--plot", metavar="FILE", help="save the loss curve there (.png, .svg or .pdf)")
    find.add_argument("--json", action="store_true", help="print the curve and the suggestion as JSON")


def run_tracking_command(args: argparse.Namespace) -> None:
    """Runs ``runs`` or ``find-lr`` from parsed arguments (raises ConfigError for a mistake).

    Args:
      args: what ``add_tracking_commands``' parsers parsed.
    """
    if args.command == "runs":
        print(show_runs(args.output_dir, sort=args.sort, diff=args.diff, as_json=args.json))
    elif args.command == "find-lr":
        result = find_lr(args.config, args.overrides, min_learning_rate=args.min_lr,
                         max_learning_rate=args.max_lr, num_steps=args.steps, plot=args.plot)
        if args.json:
            print(json.dumps(result.as_dict(), indent=2))
        else:
            print(_describe(result, args.plot))
    else:   # pragma: no cover - argparse knows the commands
        raise ConfigError(f"unknown command {args.command!r}.")


def show_runs(output_dir: str | Path = "runs", sort: str | None = None, diff: bool = False,
              as_json: bool = False) -> str:
    """What ``highlevel runs`` prints: the runs of ``output_dir`` as a table (or JSON).

    Args:
      output_dir: the folder of the run directories.
      sort: a column to sort by, best first for a metric.
      diff: the differing config keys against the runs instead.
      as_json: JSON instead of a table.

    >>> import tempfile
    >>> show_runs(tempfile.mkdtemp())
    'no runs in ...'
    """
    from highlevel.config import runs as _runs
    found = _runs.list_runs(output_dir)
    if sort:
        found = _runs.sort_runs(found, sort)
    if as_json:
        return json.dumps(_runs.runs_json(found), indent=2, default=str)
    if not found:
        return f"no runs in {output_dir} (run directories hold a config.yaml)"
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    return _runs.runs_table(found, diff=diff, width=width)


def find_lr(config_path: str | Path, overrides: Sequence[str] = (), *, min_learning_rate: float = 1e-7,
            max_learning_rate: float = 10.0, num_steps: int = 200, plot: str | Path | None = None):
    """The learning-rate finder on a config's model, optimizer, loss and training data (nothing is written
    but ``plot``).

    Args:
      config_path: the YAML run config.
      overrides: ``key.path=value`` overrides.
      min_learning_rate: the first rate.
      max_learning_rate: the last rate.
      num_steps: steps of the sweep.
      plot: save the curve there.

    Returns:
      The ``hl.training.LearningRateFinder``.
    """
    import highlevel as hl
    from highlevel.config.loading import load_config
    from highlevel.config.run import _prepare
    config = load_config(config_path, overrides)
    if plot is not None and not Path(plot).parent.is_dir():
        raise ConfigError(f"--plot {plot}: the folder {Path(plot).parent} does not exist; create it first "
                          "(nothing was swept).")
    data, model = _prepare(config)
    try:
        result = hl.utils.find_learning_rate(model, data.x_train, data.y_train, batch_size=config.data.batch_size,
                                             min_learning_rate=min_learning_rate,
                                             max_learning_rate=max_learning_rate, num_steps=num_steps,
                                             seed=config.seed)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{config_path}: find-lr: {err}") from None
    if plot is not None:
        import matplotlib
        matplotlib.use("Agg")
        try:
            result.plot(to_file=plot)
        except ValueError as err:
            raise ConfigError(f"--plot: {err}") from None
    return result


def _describe(result, plot) -> str:
    lines = []
    if result.suggestion is not None:
        lines.append(f"suggested learning rate: {result.suggestion:.3g} (where the loss fell fastest)")
    else:
        lines.append("no suggestion: the loss did not fall; widen the range (--min-lr, --max-lr) or take more steps")
    if result.min_loss_learning_rate is not None:
        lines.append(f"lowest loss at: {result.min_loss_learning_rate:.3g} (stay below it)")
    stop = ", stopped when the loss diverged" if result.stopped_early else ""
    lines.append(f"{len(result.losses)} steps from {result.learning_rates[0]:.3g} to "
                 f"{result.learning_rates[-1]:.3g}{stop}")
    if plot is not None:
        lines.append(f"plot: {plot}")
    return "\n".join(lines)
