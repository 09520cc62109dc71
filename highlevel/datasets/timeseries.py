"""Time series for forecasting: sliding windows, chronological splits, a naive baseline, bundled series."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["windows", "split", "naive_forecast", "load_series", "SERIES"]

#: Bundled series of ``load_series``: name -> (native frequency, description).
SERIES = {
    "co2": ("weekly", "Mauna Loa atmospheric CO2 in ppm, weekly, March 1958 to December 2001"),
    "sunspots": ("yearly", "Wolf's yearly sunspot numbers, 1700 to 2008"),
    "nile": ("yearly", "Nile river flow at Aswan in 10^8 m^3 a year, 1871 to 1970"),
}
_RESAMPLE = {"monthly": "MS", "yearly": "YS"}


def windows(
    series: np.ndarray,
    window: int,
    horizon: int = 1,
    stride: int = 1,
    target: int | Sequence[int] | None = None,
):
    """Sliding windows ``(x, y)`` for forecasting ``horizon`` steps after ``window`` steps.

    Window ``i`` starts at ``t = i * stride``: ``x[i] = series[t : t + window]``
    and ``y[i] = series[t + window : t + window + horizon]`` (its ``target``
    columns).

    Args:
        series: ``(T,)`` or ``(T, features)`` values in time order.
        window: steps the model sees.
        horizon: steps it predicts.
        stride: steps between the starts of two windows.
        target: column index (or list of them) predicted; default: every column.

    Returns:
        float32 ``x`` of shape ``(n, window, features)``, ``n = (T - window -
        horizon) // stride + 1``, and ``y`` of shape ``(n, horizon)`` for one
        target column, ``(n, targets)`` for several with ``horizon=1``, else
        ``(n, horizon, targets)`` — a ``Dense`` output for an LSTM.

    >>> x, y = windows(np.arange(6), window=3, horizon=2)
    >>> x[:, :, 0].tolist(), y.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [[3.0, 4.0], [4.0, 5.0]])
    """
    values = _as_2d(series)
    for name, value in (("window", window), ("horizon", horizon), ("stride", stride)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    length = len(values)
    if length < window + horizon:
        raise ValueError(
            f"The series has {length} steps, fewer than window + horizon = {window} + {horizon}; "
            "shorten the window or the horizon."
        )
    columns = _target_columns(target, values.shape[1])
    starts = np.arange(0, length - window - horizon + 1, stride)
    x = values[starts[:, None] + np.arange(window)]
    y = values[starts[:, None] + window + np.arange(horizon)][:, :, columns]
    return x, _squeeze_targets(y)


def split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.2):
    """``(x_train, y_train), (x_test, y_test)`` in time order: the last ``test_fraction`` is the test set.

    Never shuffled, so the model is tested on the future of what it learned.

    Args:
        x: Inputs, e.g. windows ``(n, window, features)`` from :func:`windows`.
        y: Targets with ``n`` rows.
        test_fraction: The fraction of the rows (the last ones) kept for testing, in (0, 1).

    >>> x, y = windows(np.arange(12.0), window=2)
    >>> (x_train, y_train), (x_test, y_test) = split(x, y, 0.2)
    >>> len(x_train), len(x_test), float(y_train[-1, 0]), float(y_test[0, 0])
    (8, 2, 9.0, 10.0)
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} windows but y has {len(y)}; pass the pair that windows() returned.")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}.")
    n_test = int(round(len(x) * test_fraction))
    if n_test == 0 or n_test == len(x):
        raise ValueError(
            f"test_fraction={test_fraction} of {len(x)} windows leaves an empty "
            f"{'test' if n_test == 0 else 'training'} set; use more data or another fraction."
        )
    cut = len(x) - n_test
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def naive_forecast(x: np.ndarray, horizon: int = 1, target: int | Sequence[int] | None = None) -> np.ndarray:
    """The last value of each window repeated ``horizon`` times: the baseline to beat.

    Args:
        x: windows ``(n, window, features)`` from :func:`windows`.
        horizon: as given to :func:`windows`: how many steps ahead are forecast.
        target: as given to :func:`windows`: the feature column(s) forecast (all if None),
            so the result has ``y``'s shape.

    >>> x, y = windows(np.array([1.0, 2.0, 4.0, 8.0]), window=2)
    >>> naive_forecast(x).tolist(), y.tolist()
    ([[2.0], [4.0]], [[4.0], [8.0]])
    """
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x must be windows of shape (n, window, features), got shape {x.shape}.")
    last = x[:, -1, :][:, None, _target_columns(target, x.shape[2])]
    return _squeeze_targets(np.repeat(last, horizon, axis=1))


def load_series(name: str, frequency: str | None = None, return_dates: bool = False):
    """A univariate series bundled with statsmodels, as float32 ``(T,)``, without gaps.

    Args:
        name: one of :data:`SERIES`: ``"co2"`` (weekly; its 59 missing weeks
            are filled by linear interpolation in time), ``"sunspots"`` or
            ``"nile"`` (yearly).
        frequency: ``None`` for the native frequency; ``"monthly"`` or
            ``"yearly"`` averages ``co2`` over months or years.
        return_dates: also return the dates, ``datetime64[D]`` (the start of
            each period for a resampled series, January 1 for yearly ones).

    >>> co2 = load_series("co2", frequency="monthly")  # doctest: +SKIP
    >>> co2.shape  # doctest: +SKIP
    (526,)
    """
    if name not in SERIES:
        raise ValueError(f"Unknown series {name!r}; available: {sorted(SERIES)}.")
    native = SERIES[name][0]
    allowed = [None, native] + ([f for f in _RESAMPLE if f != native] if native == "weekly" else [])
    if frequency not in allowed:
        raise ValueError(f"Series {name!r} is {native}; frequency must be one of {allowed}, got {frequency!r}.")
    try:
        import pandas as pd
        from statsmodels import datasets
    except ImportError as err:
        raise ImportError("The bundled time series ship with statsmodels: pip install statsmodels.") from err
    if name == "co2":
        data = datasets.co2.load_pandas().data["co2"]
        if frequency in _RESAMPLE:
            data = data.resample(_RESAMPLE[frequency]).mean()
        data = data.interpolate(method="time", limit_direction="both")
    else:
        frame = getattr(datasets, name).load_pandas().data
        year_column, value_column = {"sunspots": ("YEAR", "SUNACTIVITY"), "nile": ("year", "volume")}[name]
        years = frame[year_column].astype(int).astype(str)
        data = pd.Series(frame[value_column].to_numpy(), index=pd.to_datetime(years, format="%Y"))
    values = data.to_numpy(np.float32)
    if return_dates:
        return values, data.index.to_numpy().astype("datetime64[D]")
    return values


def _as_2d(series) -> np.ndarray:
    values = np.asarray(series, np.float32)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"series must be (T,) or (T, features), got shape {values.shape}.")
    if not np.isfinite(values).all():
        raise ValueError("series has NaN or infinite values; fill them first (for example by interpolation).")
    return values


def _target_columns(target, n_features: int) -> list[int]:
    columns = list(range(n_features)) if target is None else [target] if np.isscalar(target) else list(target)
    bad = [c for c in columns if not -n_features <= int(c) < n_features]
    if bad or not columns:
        raise ValueError(f"target columns {columns} do not exist in a series of {n_features} features.")
    return [int(c) for c in columns]


def _squeeze_targets(y: np.ndarray) -> np.ndarray:
    # y: (n, horizon, targets)
    if y.shape[2] == 1:
        return y[:, :, 0]
    if y.shape[1] == 1:
        return y[:, 0, :]
    return y
