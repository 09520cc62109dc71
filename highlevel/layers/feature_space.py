"""FeatureSpace: Keras's structured-data preprocessing (``keras.utils.FeatureSpace``), on the host.

A ``FeatureSpace`` maps each column of a table to one of highlevel's preprocessing layers
(``Normalization``, ``Rescaling``, ``Discretization``, ``StringLookup``, ``IntegerLookup``,
``Hashing``), crosses pairs of preprocessed columns with ``HashedCrossing``, one-hot encodes
the categorical ones (Keras's ``CategoryEncoding(output_mode="multi_hot")`` of the index) and
concatenates everything into one float32 matrix, in Keras's order: the features sorted by
name, then the crosses sorted by name. Strings cannot enter a compiled step, so the whole
object runs on NumPy data before ``fit``, as Keras's does in a ``tf.data`` pipeline.

It lives with the layers it composes (``utils/`` may not import ``layers/``, DESIGN.md) and
is lent to ``hl.utils`` under Keras's name by ``highlevel/__init__.py``.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import numpy as np

from highlevel.layers.base import deserialize_layer, serialize_layer, unique_name
from highlevel.layers.categorical import Discretization, Hashing, encode
from highlevel.layers.core import Identity
from highlevel.layers.hashed_crossing import HashedCrossing
from highlevel.layers.lookup import IntegerLookup, StringLookup
from highlevel.layers.preprocessing import Normalization, Rescaling
from highlevel.layers.symbolic import Input

__all__ = ["FeatureSpace", "Feature", "Cross"]

#: Keras's ``from_tensor_slices(...).batch(32)``: a dict of columns is adapted 32 rows at a time.
_ADAPT_BATCH = 32


class Cross:
    """A cross of features, hashed into ``crossing_dim`` bins (``FeatureSpace.cross``'s result).

    Args:
        feature_names: The names of the crossed features.
        crossing_dim: The number of hash bins.
        output_mode: ``"one_hot"`` or ``"int"`` (the bin index).

    >>> Cross(("a", "b"), crossing_dim=8).name
    'a_X_b'
    """

    def __init__(self, feature_names: Iterable[str], crossing_dim: int, output_mode: str = "one_hot"):
        if output_mode not in {"int", "one_hot"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'int', 'one_hot'}. "
                             f"Received: output_mode={output_mode}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        """The cross's name, Keras's ``"a_X_b"``."""
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {"feature_names": list(self.feature_names), "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Cross":
        """A cross from ``get_config()``'s dict.

        Args:
            config: The dict.
        """
        return cls(**config)


class Feature:
    """One feature: its input dtype, the layer that preprocesses it, and how its output is encoded.

    Args:
        dtype: The column's dtype: ``"float32"``, ``"int32"`` or ``"string"``.
        preprocessor: A highlevel layer run on the column, shaped ``(batch, 1)`` (or its config).
        output_mode: ``"float"`` (the layer's output as it is), ``"one_hot"`` (the integer output
            one-hot encoded) or ``"int"``.

    >>> import highlevel as hl
    >>> Feature("float32", hl.layers.Rescaling(2.0), "float").output_mode
    'float'
    """

    def __init__(self, dtype: str, preprocessor: Any, output_mode: str):
        if output_mode not in {"int", "one_hot", "float"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'int', 'one_hot', "
                             f"'float'}}. Received: output_mode={output_mode}")
        self.dtype = dtype
        self.preprocessor = deserialize_layer(preprocessor) if isinstance(preprocessor, dict) else preprocessor
        self.output_mode = output_mode

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, the preprocessor as its layer config."""
        return {"dtype": self.dtype, "preprocessor": serialize_layer(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Feature":
        """A feature from ``get_config()``'s dict.

        Args:
            config: The dict.
        """
        return cls(**config)


def _from_dict(value, cls):
    if isinstance(value, dict):
        return cls.from_config(value.get("config", value))
    return value


def _cardinality(layer) -> int | None:
    if isinstance(layer, (StringLookup, IntegerLookup)):
        return layer.vocabulary_size()
    if isinstance(layer, Discretization):
        return len(layer.bin_boundaries) + 1 if layer.bin_boundaries is not None else layer.num_bins
    if isinstance(layer, (Hashing, HashedCrossing)):
        return layer.num_bins
    return getattr(layer, "num_tokens", None)   # CategoryEncoding


def _column(x, dtype: str) -> np.ndarray:
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    if dtype == "string":
        arr = np.asarray(x, dtype=object)
        return np.vectorize(lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v),
                            otypes=[object])(arr) if arr.size else arr
    return np.asarray(x, dtype=np.float32 if dtype.startswith("float") else np.int64)


class FeatureSpace:
    """One-stop preprocessing and encoding of structured data, as ``keras.utils.FeatureSpace``.

    Each feature (a column of a table) is named by its type (``"float"``,
    ``"float_rescaled"``, ``"float_normalized"``, ``"float_discretized"``,
    ``"integer_categorical"``, ``"string_categorical"``, ``"integer_hashed"``,
    ``"string_hashed"``, with default arguments) or given as a ``FeatureSpace.*`` object.
    ``adapt`` learns each layer's state (means, vocabularies, bin boundaries); calling the
    object on a dict of columns returns the encoded features. The layers are highlevel's, so
    the values are Keras's for the same data.

    Args:
        features: ``{name: type name or FeatureSpace.* feature}``.
        output_mode: ``"concat"`` (one float32 matrix: features sorted by name, then crosses
            sorted by name) or ``"dict"`` (``{name: encoded feature}``).
        crosses: Features to cross, as tuples of names or ``FeatureSpace.cross(...)`` objects.
        crossing_dim: The bins of a cross given as a tuple of names.
        hashing_dim: The bins of ``"integer_hashed"`` and ``"string_hashed"`` given by name.
        num_discretization_bins: The bins of ``"float_discretized"`` given by name.

    Runs on the host on NumPy data (strings cannot enter a compiled step): preprocess the
    table with it, then ``fit`` a model on the result. ``preprocessors`` and ``crossers``
    hold the layers by feature and cross name.

    >>> import highlevel as hl, numpy as np
    >>> data = {"price": np.array([1.0, 2.0, 3.0, 4.0]), "color": np.array(["red", "blue", "red", "red"])}
    >>> fs = hl.utils.FeatureSpace({"price": "float_normalized", "color": "string_categorical"})
    >>> fs.adapt(data)
    >>> fs(data).shape   # color one-hot (OOV, red, blue), then price
    (4, 4)
    >>> fs(data)[:, :3].tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    """

    # -- the feature types (Keras's static constructors) --------------------------------

    @classmethod
    def cross(cls, feature_names: Iterable[str], crossing_dim: int, output_mode: str = "one_hot") -> Cross:
        """A cross of features hashed into ``crossing_dim`` bins.

        Args:
            feature_names: The names of the crossed features.
            crossing_dim: The number of bins.
            output_mode: ``"one_hot"`` or ``"int"``.

        >>> FeatureSpace.cross(("a", "b"), 16).crossing_dim
        16
        """
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor: Any, output_mode: str) -> Feature:
        """A feature preprocessed by your own layer.

        Args:
            dtype: The column's dtype (``"float32"``, ``"int32"`` or ``"string"``).
            preprocessor: A highlevel layer called on the column shaped ``(batch, 1)``.
            output_mode: ``"float"``, ``"one_hot"`` or ``"int"``.

        >>> import highlevel as hl
        >>> FeatureSpace.feature("float32", hl.layers.Rescaling(0.5), "float").dtype
        'float32'
        """
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:
        """Float values passed through as they are.

        Args:
            name: The feature's name (its layer is ``"<name>_preprocessor"``).

        >>> FeatureSpace.float().output_mode
        'float'
        """
        name = name or unique_name("float")
        return Feature("float32", Identity(name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale: float = 1.0, offset: float = 0.0, name: str | None = None) -> Feature:
        """Float values rescaled as ``x * scale + offset`` (a ``Rescaling`` layer).

        Args:
            scale: The factor.
            offset: The value added after scaling.
            name: The feature's name.

        >>> FeatureSpace.float_rescaled(scale=0.1).preprocessor.scale
        0.1
        """
        name = name or unique_name("float_rescaled")
        return Feature("float32", Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        """Float values standardized with the mean and variance ``adapt`` finds (``Normalization``).

        Args:
            name: The feature's name.

        >>> type(FeatureSpace.float_normalized().preprocessor).__name__
        'Normalization'
        """
        name = name or unique_name("float_normalized")
        return Feature("float32", Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins: int, bin_boundaries: list | None = None, output_mode: str = "one_hot",
                          name: str | None = None) -> Feature:
        """Float values put into bins (``Discretization``), by default one-hot encoded.

        Args:
            num_bins: The number of bins ``adapt`` learns (quantiles).
            bin_boundaries: Fixed boundaries instead (then ``adapt`` leaves them), which make
                ``len(bin_boundaries) + 1`` bins.
            output_mode: ``"one_hot"`` or ``"int"``.
            name: The feature's name.

        >>> FeatureSpace.float_discretized(4, bin_boundaries=[0.0, 1.0, 2.0]).preprocessor.bin_boundaries
        [0.0, 1.0, 2.0]
        """
        name = name or unique_name("float_discretized")
        if bin_boundaries is not None and num_bins is not None and num_bins != len(bin_boundaries) + 1:
            raise ValueError(f"float_discretized: {len(bin_boundaries)} bin_boundaries make "
                             f"{len(bin_boundaries) + 1} bins, but num_bins={num_bins}. Pass "
                             f"num_bins={len(bin_boundaries) + 1} (or None) with these boundaries.")
        layer = Discretization(num_bins=None if bin_boundaries is not None else num_bins,
                               bin_boundaries=bin_boundaries, name=f"{name}_preprocessor")
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                            output_mode: str = "one_hot", name: str | None = None) -> Feature:
        """Integer values indexed by a vocabulary ``adapt`` learns (``IntegerLookup``).

        Args:
            max_tokens: The most indices (out-of-vocabulary ones included).
            num_oov_indices: The indices kept for unseen values.
            output_mode: ``"one_hot"`` or ``"int"``.
            name: The feature's name.

        >>> FeatureSpace.integer_categorical(max_tokens=10).preprocessor.max_tokens
        10
        """
        name = name or unique_name("integer_categorical")
        layer = IntegerLookup(name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices)
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                           output_mode: str = "one_hot", name: str | None = None) -> Feature:
        """String values indexed by a vocabulary ``adapt`` learns (``StringLookup``).

        Args:
            max_tokens: The most indices (out-of-vocabulary ones included).
            num_oov_indices: The indices kept for unseen values.
            output_mode: ``"one_hot"`` or ``"int"``.
            name: The feature's name.

        >>> FeatureSpace.string_categorical().dtype
        'string'
        """
        name = name or unique_name("string_categorical")
        layer = StringLookup(name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices)
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        """String values hashed into ``num_bins`` bins (``Hashing``).

        Args:
            num_bins: The number of bins.
            output_mode: ``"one_hot"`` or ``"int"``.
            name: The feature's name.

        >>> FeatureSpace.string_hashed(8).preprocessor.num_bins
        8
        """
        name = name or unique_name("string_hashed")
        return Feature("string", Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        """Integer values hashed into ``num_bins`` bins (``Hashing``).

        Args:
            num_bins: The number of bins.
            output_mode: ``"one_hot"`` or ``"int"``.
            name: The feature's name.

        >>> FeatureSpace.integer_hashed(8).dtype
        'int32'
        """
        name = name or unique_name("integer_hashed")
        return Feature("int32", Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    # -- construction ------------------------------------------------------------------------

    def __init__(self, features: dict[str, Any], output_mode: str = "concat", crosses: list | None = None,
                 crossing_dim: int = 32, hashing_dim: int = 32, num_discretization_bins: int = 32):
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {name: self._standardize_feature(name, value) for name, value in features.items()}
        self.crosses: list[Cross] = []
        for cross in crosses or []:
            cross = _from_dict(cross, Cross)
            if not isinstance(cross, Cross):
                if not crossing_dim:
                    raise ValueError("When specifying `crosses`, the argument `crossing_dim` (dimensionality of "
                                     "the crossing space) should be specified as well.")
                cross = Cross(cross, crossing_dim=crossing_dim)
            unknown = [key for key in cross.feature_names if key not in self.features]
            if unknown:
                raise ValueError("All features referenced in the `crosses` argument should be present in the "
                                 f"`features` dict. Received unknown features: {unknown} in {cross.feature_names}")
            self.crosses.append(cross)
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        if output_mode not in {"dict", "concat"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'dict', 'concat'}. "
                             f"Received: output_mode={output_mode}")
        self.output_mode = output_mode
        self.preprocessors = {name: feature.preprocessor for name, feature in self.features.items()}
        self.crossers = {cross.name: HashedCrossing(cross.crossing_dim, name=cross.name) for cross in self.crosses}
        self._is_adapted = False
        self._encoded = None

    def _standardize_feature(self, name: str, feature) -> Feature:
        feature = _from_dict(feature, Feature)
        if isinstance(feature, Feature):
            return feature
        makers = {"float": lambda: self.float(name=name), "float_normalized": lambda: self.float_normalized(name=name),
                  "float_rescaled": lambda: self.float_rescaled(name=name),
                  "float_discretized": lambda: self.float_discretized(self.num_discretization_bins, name=name),
                  "integer_categorical": lambda: self.integer_categorical(name=name),
                  "string_categorical": lambda: self.string_categorical(name=name),
                  "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
                  "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name)}
        if feature not in makers:
            raise ValueError(f"Invalid feature type: {feature!r} for feature {name!r}. Use one of "
                             f"{', '.join(makers)}, or a FeatureSpace.* feature.")
        return makers[feature]()

    # -- adapt ---------------------------------------------------------------------------------

    def _adaptable(self) -> list[str]:
        names = []
        for name, layer in self.preprocessors.items():
            if isinstance(layer, Normalization) and layer.input_mean is not None:
                continue   # given mean and variance (Keras's special case)
            if isinstance(layer, (StringLookup, IntegerLookup)) and layer._has_input_vocabulary:
                continue
            if isinstance(layer, Discretization) and layer.num_bins is None:
                continue   # given bin_boundaries
            if hasattr(layer, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset: Any) -> None:
        """Learns each feature's state (means and variances, vocabularies, bin boundaries).

        Keras takes a ``tf.data.Dataset``; highlevel takes what its users have:

        * a dict of columns (NumPy arrays or lists), read 32 rows at a time as Keras reads
          ``tf.data.Dataset.from_tensor_slices(columns)`` (the batching sets
          ``Discretization``'s approximate quantiles);
        * a pandas ``DataFrame`` (its columns, the same way);
        * an iterable of dict batches (``{name: column batch}``), read once, batch by batch.

        Args:
            dataset: The data, as above. Columns of features that nothing adapts may be absent.
        """
        names = self._adaptable()
        if hasattr(dataset, "to_dict") and hasattr(dataset, "columns"):   # a pandas DataFrame
            dataset = {str(c): dataset[c].to_numpy() for c in dataset.columns}
        if isinstance(dataset, dict):
            missing = [n for n in names if n not in dataset]
            if missing:
                raise ValueError(f"adapt() needs the columns {missing}; the data has {sorted(dataset)}.")
            columns = {n: _column(dataset[n], self.features[n].dtype) for n in names}
            batches: dict[str, list] = {n: [c[i:i + _ADAPT_BATCH] for i in range(0, max(len(c), 1), _ADAPT_BATCH)]
                                        for n, c in columns.items()}
        elif isinstance(dataset, Iterable) and not isinstance(dataset, (str, bytes, np.ndarray, list, tuple)):
            batches = {n: [] for n in names}
            for batch in dataset:
                if not isinstance(batch, dict):
                    raise ValueError("adapt() on an iterable needs dict batches ({name: column batch}); got a "
                                     f"{type(batch).__name__}. Yield the features only, without labels.")
                for n in names:
                    batches[n].append(_column(batch[n], self.features[n].dtype))
        else:
            raise ValueError("`adapt()` can only be called on a dict of columns, a pandas DataFrame or an "
                             f"iterable of dict batches. Received instead: {type(dataset).__name__}")
        for name in names:
            shaped = [b.reshape(-1, 1) if b.ndim <= 1 else b for b in batches[name]]
            self.preprocessors[name].adapt(iter(shaped))
        self._is_adapted = True

    def _check_if_adapted(self) -> None:
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError("You need to call `.adapt(dataset)` on the FeatureSpace before you can start "
                                 "using it.")
            self._is_adapted = True

    # -- encoding ------------------------------------------------------------------------------

    def _encode(self, name: str, value, spec, layer) -> np.ndarray:
        value = np.asarray(value)
        if spec.output_mode == "one_hot":
            if value.dtype.kind not in "iu":
                raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. Thus its preprocessor should "
                                 f"return an integer dtype. Instead it returns a {value.dtype} dtype.")
            depth = _cardinality(layer)
            if depth is None:
                raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. However it isn't a standard "
                                 "feature and the dimensionality of its output space is not known, thus it cannot "
                                 "be one-hot encoded. Try using `output_mode='int'`.")
            return encode(value, "multi_hot", depth, np.float32, np)
        if self.output_mode == "concat" and value.dtype.kind not in "f":
            raise ValueError(f"Cannot concatenate features because feature '{name}' has not been encoded (it has "
                             f"dtype {value.dtype}). Consider using `output_mode='dict'`.")
        return value

    def __call__(self, data: dict[str, Any]):
        """Encodes a dict of columns (or of single values): a float32 matrix, or a dict of arrays.

        Args:
            data: ``{feature name: column}``, each column of shape ``(batch,)`` or
                ``(batch, 1)``, or a scalar (then the output has no batch dimension).

        Returns:
            In ``"concat"`` mode a float32 array ``(batch, encoded width)``; in ``"dict"`` mode
            ``{name: array}`` for the features and the crosses.
        """
        self._check_if_adapted()
        if not isinstance(data, dict):
            raise ValueError(f"A FeatureSpace can only be called with a dict. Received: data of type "
                             f"{type(data).__name__}.")
        missing = [n for n in self.features if n not in data]
        if missing:
            raise ValueError(f"FeatureSpace is missing the columns {missing}; it got {sorted(data)}.")
        columns, rebatched = {}, False
        for name, feature in self.features.items():
            x = _column(data[name], feature.dtype)
            if x.ndim == 0:
                x, rebatched = x.reshape(1, 1), True
            elif x.ndim == 1:
                x = x[:, None]
            columns[name] = x
        pre = {name: np.asarray(self.preprocessors[name](x)) for name, x in columns.items()}
        crossed = {c.name: self.crossers[c.name](tuple(pre[n] for n in c.feature_names)) for c in self.crosses}
        out = {name: self._encode(name, pre[name], self.features[name], self.preprocessors[name])
               for name in sorted(pre)}
        out.update({name: self._encode(name, crossed[name], self.crosses_by_name[name], self.crossers[name])
                    for name in sorted(crossed)})
        if self.output_mode == "concat":
            merged = np.concatenate([v.astype(np.float32) for v in out.values()], axis=-1)
            return merged[0] if rebatched else merged
        if rebatched:
            out = {k: v[0] if v.ndim == 2 and v.shape[0] == 1 else v for k, v in out.items()}
        return out

    # -- the functional API ----------------------------------------------------------------------

    def get_inputs(self) -> dict[str, Any]:
        """``hl.Input`` tensors of shape ``(None, 1)`` for the numeric features, by name.

        String features have none: JAX arrays hold no strings, so a model cannot take the raw
        table. Build the model on ``get_encoded_features()`` and call it on ``fs(table)``.
        """
        self._check_if_adapted()
        return {name: Input(shape=(1,), dtype=f.dtype, name=name)
                for name, f in self.features.items() if f.dtype != "string"}

    def _widths(self) -> dict[str, tuple[int, str]]:
        sample = {}
        for name, feature in self.features.items():
            layer = feature.preprocessor
            if feature.output_mode == "one_hot":
                sample[name] = (_cardinality(layer), "float32")
            elif feature.output_mode == "int":
                sample[name] = (1, "int64")
            else:
                sample[name] = (int(layer.compute_output_shape((None, 1))[-1]), "float32")
        for cross in self.crosses:
            sample[cross.name] = (cross.crossing_dim, "float32") if cross.output_mode == "one_hot" else (1, "int64")
        names = sorted(self.features) + sorted(self.crosses_by_name)
        return {name: sample[name] for name in names}

    def get_encoded_features(self):
        """Symbolic inputs shaped as the encoded features, to build a functional model on.

        Returns:
            In ``"concat"`` mode one ``hl.Input`` of shape ``(None, encoded width)``; in
            ``"dict"`` mode ``{name: hl.Input}``. Train the model on ``fs(table)``. The same
            object is returned on every call.
        """
        self._check_if_adapted()
        if self._encoded is None:
            widths = self._widths()
            if self.output_mode == "concat":
                self._encoded = Input(shape=(sum(w for w, _ in widths.values()),), name="encoded_features")
            else:
                self._encoded = {name: Input(shape=(w,), dtype=d, name=name) for name, (w, d) in widths.items()}
        return self._encoded

    # -- saving ------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; the lookups' vocabularies and learned bin boundaries ride in
        their layers' configs, ``Normalization``'s statistics in ``save``'s file."""
        return {"features": {n: {"class_name": "Feature", "config": f.get_config()} for n, f in self.features.items()},
                "output_mode": self.output_mode,
                "crosses": [{"class_name": "Cross", "config": c.get_config()} for c in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "FeatureSpace":
        """A FeatureSpace from ``get_config()``'s dict (not yet adapted unless nothing needs it).

        Args:
            config: The dict.
        """
        return cls(**config)

    def save(self, filepath: str) -> None:
        """Writes the config and the adapted state to a JSON file, which ``FeatureSpace.load`` reads.

        Args:
            filepath: The file to write (JSON, whatever its extension; not Keras's ``.keras`` zip).
        """
        state = {name: [np.asarray(w).tolist() for w in layer.get_weights()]
                 for name, layer in self.preprocessors.items() if isinstance(layer, Normalization) and layer.built}
        with open(filepath, "w") as f:
            json.dump({"class_name": "FeatureSpace", "config": self.get_config(), "adapted": self._is_adapted,
                       "weights": state}, f)

    @classmethod
    def load(cls, filepath: str) -> "FeatureSpace":
        """Reads a FeatureSpace written by ``save``, adapted as it was.

        Args:
            filepath: The file ``save`` wrote.
        """
        with open(filepath) as f:
            saved = json.load(f)
        if not isinstance(saved, dict) or saved.get("class_name") != "FeatureSpace":
            raise ValueError(f"{filepath!r} is not a file written by FeatureSpace.save().")
        fs = cls.from_config(saved["config"])
        for name, weights in saved.get("weights", {}).items():
            layer = fs.preprocessors[name]
            layer.maybe_build((None, 1))
            layer.set_weights([np.asarray(w, dtype=np.asarray(v).dtype) for w, v in zip(weights, layer.get_weights())])
        fs._is_adapted = bool(saved.get("adapted"))
        return fs
