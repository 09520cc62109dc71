"""``evaluate`` and ``predict`` with a run's trained model, on new data, under a stated contract.

The data contract: new inputs come in the form the run's data source gives them (what
``hl.datasets.<source>.load_data`` returns, e.g. digits in [0, 1], Fashion-MNIST as
0-255 pixels, a series' windows in its own units), one sample of the shape recorded in
``preprocessing.json``. The run's preprocessing (``data.preprocessing``, with the
statistics it learned) is then applied, exactly as in training. Inputs of another
shape, with values far outside the range the training inputs had (e.g. raw 0-16
pixels for a run trained on digits scaled to [0, 1]), or with NaN or infinite values, are
refused, saying so (``check_inputs``, the same checks the server makes). For a
standardized series, targets are standardized too and predictions are given back in
the series' units.

Files: ``.npy`` (one array), ``.npz`` (``x``, and ``y`` for evaluate; or ``x_test``/``y_test``),
``.csv`` (numbers; a header row names the columns: for a run trained on a CSV, the
feature columns are picked by name). Predictions are written to ``--output`` as ``.npy``
or ``.csv``, to exactly that name; its folder must exist, and is checked before predicting.
"""

from __future__ import annotations

import csv as _csv
import json
import zipfile
from pathlib import Path

import numpy as np

from highlevel.config.build import apply_preprocessing, build_data
from highlevel.config.errors import ConfigError
from highlevel.config.run import run_config
from highlevel.config.schema import RunConfig
from highlevel.config.trained import check_inputs

__all__ = ["evaluate", "predict"]

_OUTPUT_SUFFIXES = (".npy", ".csv")


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise ConfigError(f"{path}: it holds Python objects (a pickled array), which highlevel never loads "
                              "(loading runs code); save numbers, e.g. np.save(path, x.astype('float32')).") from None
        raise ConfigError(f"{path}: not a readable .npy file ({err}).") from None
    except (OSError, EOFError) as err:
        raise ConfigError(f"{path}: not a readable .npy file ({err}).") from None


def _load_npz(path: Path, key: str, required: bool = True) -> np.ndarray | None:
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ConfigError(f"{path}: not a readable .npz file ({err}).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ConfigError(f"{path}: a single array (.npy data) in a .npz file; save the arrays with "
                          "np.savez(path, x=..., y=...).")
    with archive:
        if not archive.files:
            raise ConfigError(f"{path}: the file holds no arrays; save them with np.savez(path, x=..., y=...).")
        for name in (key, f"{key}_test", f"{key}_train"):
            if name in archive.files:
                try:
                    return archive[name]
                except ValueError as err:
                    if "allow_pickle" in str(err):
                        raise ConfigError(f"{path}: the array {name!r} holds Python objects (pickled), which "
                                          "highlevel never loads; save numbers.") from None
                    raise ConfigError(f"{path}: the array {name!r} is not readable ({err}).") from None
        if not required:
            return None
        raise ConfigError(f"{path}: no array named {key!r} (or {key}_test); it holds {sorted(archive.files)}. "
                          f"Save it as np.savez(path, {key}=...).")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _load_csv(path: Path, config: RunConfig, key: str) -> np.ndarray | None:
    """Numbers of a CSV file; with a header row, a CSV-trained run's columns are picked by name."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [row for row in _csv.reader(f) if row and any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not a readable CSV text file ({err}).") from None
    if not rows:
        raise ConfigError(f"{path}: the file holds no rows.")
    header = None if all(_is_number(c) for c in rows[0]) else [c.strip() for c in rows[0]]
    body = rows[1:] if header else rows
    columns = None
    if config.data.source == "csv" and header is not None:
        targets = [config.data.target] if isinstance(config.data.target, str) else list(config.data.target or [])
        wanted = targets if key == "y" else (config.data.features or [h for h in header if h not in targets])
        missing = [c for c in wanted if c not in header]
        if missing:
            if key == "y":
                return None
            raise ConfigError(f"{path}: no column {missing[0]!r}; the run was trained on the columns "
                              f"{wanted} (its header has {header}).")
        columns = [header.index(c) for c in wanted]
    elif key == "y":
        return None
    try:
        table = np.array([[float(row[i]) for i in (columns if columns is not None else range(len(row)))]
                          for row in body], np.float32)
    except (ValueError, IndexError):
        line = next(i for i, row in enumerate(body, start=2 if header else 1)
                    if len(row) != len(body[0]) or not all(_is_number(c) for c in row))
        raise ConfigError(f"{path}, line {line}: every cell must be a number, and every row as long as the "
                          "first.") from None
    if key == "y" and table.shape[1] == 1:
        table = table[:, 0]
    return table


def _load(path: Path, key: str, config: RunConfig, required: bool = True) -> np.ndarray | None:
    if not path.is_file():
        raise ConfigError(f"{path}: no such file.")
    if path.suffix == ".npy":
        return _load_npy(path) if key == "x" else None
    if path.suffix == ".npz":
        return _load_npz(path, key, required)
    if path.suffix == ".csv":
        return _load_csv(path, config, key)
    raise ConfigError(f"{path}: expected a .npy, .npz or .csv file.")


def _stats(run_dir: Path) -> dict:
    path = run_dir / "preprocessing.json"
    try:
        stats = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{run_dir}: no preprocessing.json; the run's preprocessing is unknown, so new data "
                          "cannot be prepared like its training data. Train the run again.") from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: damaged ({err}); train the run again.") from None
    if not isinstance(stats, dict):
        raise ConfigError(f"{path}: damaged (not a mapping); train the run again.")
    return stats


def _prepared(x: np.ndarray, path: Path, config: RunConfig, stats: dict) -> np.ndarray:
    """``x`` checked against the recorded form of the training inputs (``check_inputs``, which the
    server applies too), then preprocessed."""
    try:
        check_inputs(x, config, stats)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from None
    try:
        return apply_preprocessing(x, config.data.preprocessing, stats)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{path}: the run's preprocessing cannot be applied ({err}).") from None


def _trained_model(run_dir: Path):
    import highlevel as hl
    from highlevel.models.saving import tidy_siblings
    last = run_dir / "checkpoints" / "last"
    if not last.exists() and tidy_siblings(last) is None:
        raise ConfigError(f"{run_dir}: no checkpoints/last; train the run first (highlevel train CONFIG).")
    try:
        return hl.models.load_model(last)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{last}: cannot load the trained model: {err}") from None


def evaluate(run_dir: str | Path, data_path: str | Path | None = None) -> dict[str, float]:
    """The trained model's metrics on the run's test split, or on ``data_path``.

    Args:
        run_dir: the run directory.
        data_path: a ``.npz`` with ``x`` and ``y`` (or ``x_test``/``y_test``), or a ``.csv``
            (a CSV-trained run: its feature and target columns, by name), in the form the
            run's data source gives (see the module's data contract).

    Returns:
        The metrics, by name.
    """
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    model = _trained_model(run_dir)
    if data_path is None:
        data = build_data(config.data, config.seed)
        x, y, where = data.x_test, data.y_test, "the run's test split"
    else:
        path = Path(data_path)
        stats = _stats(run_dir)
        x = _prepared(_load(path, "x", config), path, config, stats)
        y = _load(path, "y", config, required=False)
        if y is None:
            raise ConfigError(f"{path}: no targets: evaluate needs y (an array 'y' in a .npz, or the target "
                              "column of a CSV-trained run).")
        if not np.issubdtype(y.dtype, np.number):
            raise ConfigError(f"{path}: the targets (y) hold {y.dtype} values, not numbers: encode labels as "
                              "integers 0, 1, ... as in training.")
        if "series_mean" in stats:
            y = (y - np.asarray(stats["series_mean"], np.float32)) / np.asarray(stats["series_std"], np.float32)
        y = y.astype(np.int32) if np.issubdtype(y.dtype, np.integer) else y.astype(np.float32)
        where = str(path)
    try:
        return model.evaluate(x, y, batch_size=config.data.batch_size, verbose=0, return_dict=True)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from None


def _output_path(run_dir: Path, output: str | Path | None) -> Path:
    path = Path(output) if output is not None else run_dir / "predictions.npy"
    if path.suffix not in _OUTPUT_SUFFIXES:
        raise ConfigError(f"{path}: predictions are written as .npy or .csv; end the --output name with one "
                          "of them.")
    if not path.parent.is_dir():
        raise ConfigError(f"{path}: the folder {path.parent} does not exist; create it first (nothing was "
                          "predicted).")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; --output names the file to write.")
    return path


def predict(run_dir: str | Path, input_path: str | Path, output: str | Path | None = None) -> Path:
    """Predictions of the trained model for the inputs in ``input_path``, written to ``output``.

    Args:
        run_dir: the run directory.
        input_path: ``.npy``, ``.npz`` (``x``) or ``.csv`` inputs, in the form the run's data
            source gives (see the module's data contract).
        output: the ``.npy`` or ``.csv`` file to write, exactly that name (default:
            ``RUN_DIR/predictions.npy``); its folder must exist.

    Returns:
        The path written.
    """
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    target = _output_path(run_dir, output)
    path = Path(input_path)
    stats = _stats(run_dir)
    x = _prepared(_load(path, "x", config), path, config, stats)
    model = _trained_model(run_dir)
    try:
        predictions = model.predict(x, batch_size=config.data.batch_size, verbose=0)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{path}: {err}") from None
    if isinstance(predictions, np.ndarray) and str(predictions.dtype) in ("bfloat16", "float16"):
        predictions = predictions.astype(np.float32)   # a mixed-precision model's; .npy has no bfloat16
    if "series_mean" in stats and isinstance(predictions, np.ndarray):
        predictions = predictions * np.asarray(stats["series_std"], np.float32) + \
            np.asarray(stats["series_mean"], np.float32)
    if not isinstance(predictions, np.ndarray):
        raise ConfigError(f"{run_dir}: the model has several outputs; predict writes one array (use "
                          "hl.models.load_model and model.predict in Python).")
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if target.suffix == ".csv":
            np.savetxt(tmp, predictions.reshape(len(predictions), -1), delimiter=",", fmt="%.9g")
        else:
            with open(tmp, "wb") as f:
                np.save(f, predictions)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
