"""``hl.Model``: a functional graph (``Model(inputs, outputs)``) or a subclass with its own ``call``,
plus the Trainer behind ``compile``/``fit``/``evaluate``/``predict``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import (Layer, format_shape, current_context, register_layer,
                                   unique_name)
from highlevel.layers.symbolic import KerasTensor
from highlevel.models import functional as _functional
from highlevel.training.trainer import Trainer
from highlevel.utils.overrides import default

__all__ = ["Model"]


def _is_kt(x) -> bool:
    return isinstance(x, KerasTensor)


@register_layer
class Model(Layer):
    """A model: an architecture plus the Trainer behind ``compile``/``fit``.

    ``hl.Model(inputs, outputs)`` builds a functional model from ``hl.Input``
    tensors (several inputs and outputs as lists or dicts). Subclass it and
    define ``call(self, inputs, training=False)`` for a subclassed model.

    ``model.module`` is the model itself as a ``flax.nnx.Module``.

    Args:
        inputs: For a functional model, its ``hl.Input`` tensor(s): one, a list or a dict.
        outputs: The tensor(s) computed from ``inputs``: one, a list or a dict.
        name: The model's name (default ``"functional"``, made unique).
        trainable: Whether ``fit`` updates its weights.
        **kwargs: Other ``Layer`` arguments (``dtype``).

    >>> import highlevel as hl
    >>> x = hl.Input((16,))
    >>> model = hl.Model(x, hl.layers.Dense(1)(hl.layers.Dense(32, activation="relu")(x)))
    >>> model.count_params()
    577
    """

    # A subclassed model passes no mask on unless it defines compute_mask (as Keras);
    # a functional one carries each tensor's mask through its graph.
    supports_masking = False

    def __init__(self, inputs=None, outputs=None, *, name: str | None = None, trainable: bool = True,
                 **kwargs):
        prefix = "functional" if inputs is not None else None
        super().__init__(name=name or (unique_name(prefix) if prefix else None), trainable=trainable,
                         **kwargs)
        #: The trainer behind compile/fit (``hl.training.TrainerAPI``): the public seam to training.
        self.trainer = Trainer(self)
        self.stop_training = False
        self.history = None
        self._is_graph = False
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("A functional model needs both inputs and outputs: hl.Model(inputs, outputs).")
            self._init_graph(inputs, outputs)

    # -- functional graph -----------------------------------------------------

    def _init_graph(self, inputs, outputs) -> None:
        layers, nodes, input_slots, plan, output_struct = _functional.build_graph(inputs, outputs)
        self._layers = layers
        self.graph_nodes = nodes
        self._input_struct = inputs
        self._output_tensors = outputs
        self._input_slots = input_slots
        self._plan = plan
        self._output_struct = output_struct
        self._is_graph = True
        self.supports_masking = True
        self.built = True
        self.build_input_shape = jax.tree_util.tree_map(lambda t: t.shape, inputs, is_leaf=_is_kt)

    def call(self, inputs, training: bool = False, mask=None):
        if not self._is_graph:
            raise NotImplementedError(f"{type(self).__name__} must define call(self, inputs, training=False), "
                                      "or be built as hl.Model(inputs, outputs).")
        return self.masked_call(inputs, training=training, mask=mask)[0]

    def masked_call(self, inputs, *args, mask=None, **kwargs):
        """``(outputs, output masks)``: a functional model runs its graph once, carrying each
        tensor's Keras mask with its values (``mask``: the inputs' masks, in their structure)."""
        if not self._is_graph:
            return super().masked_call(inputs, *args, mask=mask, **kwargs)
        training = kwargs.get("training", False)
        flat = self._flatten_inputs(inputs)
        masks = None
        if mask is not None and any(m is not None for m in jax.tree_util.tree_leaves(
                mask, is_leaf=lambda m: m is None)):
            masks = self._flatten_inputs(mask)
        return _functional.run_plan(self._layers, self._input_slots, self._plan, self._output_struct,
                                    flat, training, masks)

    def compute_mask(self, inputs, mask=None):
        """The output masks of a functional model (its graph's), else Keras's default (None)."""
        if not self._is_graph:
            return super().compute_mask(inputs, mask)
        return self.masked_call(inputs, mask=mask)[1]

    def _flatten_inputs(self, inputs) -> list:
        struct = self._input_struct
        if isinstance(struct, dict):
            if not isinstance(inputs, dict):
                raise ValueError(f"Model '{self.name}' takes a dict of inputs with keys {sorted(struct)}, "
                                 f"got {type(inputs).__name__}.")
            missing = sorted(set(struct) - set(inputs))
            if missing:
                raise ValueError(f"Model '{self.name}' is missing inputs {missing}; it takes {sorted(struct)}.")
            return jax.tree_util.tree_leaves({k: inputs[k] for k in struct})
        if isinstance(struct, (list, tuple)):
            if isinstance(inputs, dict):
                names = [t.keras_history[0].name for t in struct]
                try:
                    inputs = [inputs[n] for n in names]
                except KeyError:
                    raise ValueError(f"Model '{self.name}' takes inputs named {names}, got keys "
                                     f"{sorted(inputs)}.") from None
            if not isinstance(inputs, (list, tuple)) or len(inputs) != len(struct):
                got = len(inputs) if isinstance(inputs, (list, tuple)) else 1
                raise ValueError(f"Model '{self.name}' takes {len(struct)} inputs, got {got}.")
            return list(inputs)
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
            return [inputs[0]]
        return [inputs]

    @property
    def inputs(self) -> list[KerasTensor] | None:
        return jax.tree_util.tree_leaves(self._input_struct, is_leaf=_is_kt) if self._is_graph else None

    @property
    def outputs(self) -> list[KerasTensor] | None:
        return jax.tree_util.tree_leaves(self._output_tensors, is_leaf=_is_kt) if self._is_graph else None

    @property
    def input_shape(self):
        self.require_built("input_shape")
        return self.build_input_shape

    @property
    def output_names(self) -> list[str]:
        if self._is_graph:
            if isinstance(self._output_tensors, dict):
                return list(self._output_tensors)
            names = []
            for t in jax.tree_util.tree_leaves(self._output_tensors, is_leaf=_is_kt):
                base = t.keras_history[0].name
                name, i = base, 1
                while name in names:
                    name, i = f"{base}_{i}", i + 1
                names.append(name)
            return names
        return ["output_" + str(i) if i else "output" for i in range(self._num_outputs())]

    def _num_outputs(self) -> int:
        return len(self.output_shapes())

    def output_shapes(self) -> list[tuple]:
        """The shape of each output, batch None, in the order of ``output_names``."""
        if self._is_graph:
            return [t.shape for t in jax.tree_util.tree_leaves(self._output_tensors, is_leaf=_is_kt)]
        self.require_built("output_shapes()")
        spec = self.compute_output_spec(self.build_input_shape)
        return [s.shape for s in jax.tree_util.tree_leaves(spec)]

    # -- layers ---------------------------------------------------------------

    @property
    def layers(self) -> list[Layer]:
        if hasattr(self, "_layers"):
            return list(self._layers)
        return self._sublayers()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name`` (or at ``index``)."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Model '{self.name}' has {len(layers)} layers; index {index} is out of range.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r} in model '{self.name}'. Its layers are: "
                         f"{', '.join(l.name for l in layers)}.")

    @property
    def module(self) -> "Model":
        """The whole model as a ``flax.nnx.Module`` (it is one), with the latest trained weights."""
        self.trainer.sync()
        return self

    # -- building ---------------------------------------------------------------

    def build_from_data(self, x_sample) -> None:
        """Builds the model from a batch when no input shape was given (lazy building)."""
        if self.built:
            return
        shapes = jax.tree_util.tree_map(lambda a: (None,) + tuple(np.shape(a)[1:]), x_sample)
        if type(self).build is not Model.build:
            self.maybe_build(shapes)
            return
        # A subclassed model builds its layers by running once on a single row.
        row = jax.tree_util.tree_map(lambda a: np.asarray(a)[:1], x_sample)
        self(row, training=False)

    def build(self, input_shape) -> None:
        """Builds a subclassed model's layers by calling it on zeros of ``input_shape``."""
        if self._is_graph:
            return
        is_shape = lambda s: isinstance(s, (tuple, list)) and all(isinstance(d, (int, type(None))) for d in s)
        zeros = jax.tree_util.tree_map(lambda s: np.zeros((1,) + tuple(1 if d is None else d for d in s[1:]),
                                                          np.float32), input_shape, is_leaf=is_shape)
        self.built = True
        self.call(zeros)

    def _check_input_shape(self, inputs) -> None:
        expected = self.build_input_shape
        if expected is None:
            return
        if self._is_graph:
            flat_expected = [t.shape for t in self.inputs]
            names = [t.keras_history[0].name for t in self.inputs]
            try:
                flat_got = [tuple(np.shape(a)) for a in self._flatten_inputs(inputs)]
            except ValueError:
                raise
        else:
            is_shape = lambda s: isinstance(s, tuple) and all(isinstance(d, (int, type(None))) for d in s)
            flat_expected = jax.tree_util.tree_leaves(expected, is_leaf=is_shape)
            if not flat_expected or not is_shape(flat_expected[0]):
                return
            flat_got = [tuple(np.shape(a)) for a in jax.tree_util.tree_leaves(inputs)]
            first = self._first_layer_name()
            names = [first] * len(flat_expected)
        if len(flat_got) != len(flat_expected):
            return
        for got, want, name in zip(flat_got, flat_expected, names):
            if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got[1:], want[1:])):
                raise ValueError(
                    f"Input of shape {format_shape(got)} does not match model '{self.name}': its input "
                    f"layer '{name}' expects {format_shape((None,) + tuple(want[1:]))}. Reshape the data, "
                    "or build the model for this shape.")

    def _first_layer_name(self) -> str:
        layers = self.layers
        return layers[0].name if layers else self.name

    def __call__(self, inputs, *args, **kwargs):
        if current_context() is None:
            self.trainer.sync()
        return super().__call__(inputs, *args, **kwargs)

    def call_with_mask(self, inputs, *args, mask=None, **kwargs):
        if current_context() is None:
            self.trainer.sync()
        return super().call_with_mask(inputs, *args, mask=mask, **kwargs)

    # -- the loss and metrics of a step (override them as in Keras) ------------------------

    @default
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training: bool = True):
        """The loss of a batch: the compiled losses plus ``self.losses`` (Keras 3's ``compute_loss``).

        Override it in a subclass to change the loss; ``fit``, ``evaluate`` and
        ``train_on_batch``/``test_on_batch`` call the override inside the compiled step (with
        traced arrays), and ``super().compute_loss(...)`` gives the default. Rows that pad the
        last batch have ``sample_weight`` 0.

        Args:
          x: the batch's inputs.
          y: its targets.
          y_pred: the model's outputs for ``x``.
          sample_weight: per-sample weights (padding rows 0), or None.
          training: whether the step trains (False in ``evaluate``).

        Returns:
          A scalar.

        >>> import numpy as np, jax.numpy as jnp, highlevel as hl
        >>> class Penalized(hl.Model):
        ...     def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        ...         loss = super().compute_loss(x, y, y_pred, sample_weight, training)
        ...         return loss + 0.1 * jnp.mean(jnp.square(y_pred))
        >>> inputs = hl.Input((2,))
        >>> model = Penalized(inputs, hl.layers.Dense(1, kernel_initializer="ones")(inputs))
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> round(float(model.evaluate(np.ones((4, 2)), np.zeros((4, 1)), verbose=0)), 4)  # 4 + 0.1 * 4
        4.4
        """
        from highlevel.models.step_defaults import default_compute_loss
        return default_compute_loss(self, x, y, y_pred, sample_weight, training)

    @default
    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Updates the compiled metrics for a batch (Keras 3's ``compute_metrics``).

        Override it to change what the compiled metrics see (``super().compute_metrics(x, y,
        new_y_pred, sample_weight)``); it runs inside the compiled step. The metric values
        are read from their accumulators when logged, so this returns ``{}``: entries an
        override adds to the returned dict are not logged.

        Args:
          x, y, y_pred: the batch's inputs, targets and the model's outputs.
          sample_weight: per-sample weights (padding rows 0), or None.

        >>> import numpy as np, highlevel as hl
        >>> class Clipped(hl.Model):
        ...     def compute_metrics(self, x, y, y_pred, sample_weight=None):
        ...         return super().compute_metrics(x, y, y_pred * 0.0, sample_weight)
        >>> inputs = hl.Input((2,))
        >>> model = Clipped(inputs, hl.layers.Dense(1, kernel_initializer="ones")(inputs))
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> model.evaluate(np.ones((4, 2)), np.ones((4, 1)), verbose=0)  # mae of 0 against 1
        [1.0, 1.0]
        """
        from highlevel.models.step_defaults import default_compute_metrics
        return default_compute_metrics(self, x, y, y_pred, sample_weight)

    # -- training API (the Trainer does the work) --------------------------------------

    def _cast_input(self, x):
        # A model passes float inputs on in its weights' dtype; each layer casts them to its own
        # compute dtype (as Keras's Functional), so a float32 first layer sees full precision.
        if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating) and x.dtype != jnp.dtype(self.dtype):
            return jnp.asarray(x, self.dtype)
        return x

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                steps_per_execution: int | str = 1, distribution=None, **kwargs) -> None:
        """Configures training, as ``keras.Model.compile`` (see DESIGN.md for what is accepted).

        ``distribution`` (a ``hl.distribute`` strategy, e.g. ``hl.distribute.DataParallel()``)
        spreads the steps over devices; by default the strategy of an enclosing
        ``with strategy:`` block, else one device.
        """
        self.trainer.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
                              steps_per_execution=steps_per_execution, distribution=distribution, **kwargs)

    @property
    def optimizer(self):
        """The optimizer ``compile`` resolved (an ``hl.optimizers`` object), or None before."""
        return self.trainer.optimizer

    @property
    def loss(self):
        """The ``loss`` given to ``compile``, as given: a name, a function, a Loss object, or a list or
        dict of them (Keras 3's ``model.loss``; None before a compile with a loss).

        >>> import highlevel as hl
        >>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> model.loss
        'mse'
        """
        return self.trainer.loss

    @loss.setter
    def loss(self, value) -> None:
        self.trainer.loss = value   # as Keras's attribute; the compiled loss stays compile's

    @property
    @default
    def metrics(self) -> list:
        """The model's metric objects, as Keras 3's ``model.metrics``: the loss tracker
        (``Mean(name="loss")``), the ``compile_metrics`` container when ``compile`` was given metrics
        (its ``.metrics`` lists them once ``fit``/``evaluate`` has resolved the outputs), then
        each output's loss tracker when more than one output has a loss; [] before ``compile``.

        Their ``result()`` is the running value during ``fit``/``evaluate`` (read from the device
        when a callback asks) and the last one after (after ``fit`` with validation data, the
        validation's, as Keras). Reading them recompiles nothing.

        >>> import numpy as np, highlevel as hl
        >>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1, kernel_initializer="ones")])
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> [m.name for m in model.metrics]
        ['loss', 'compile_metrics']
        >>> _ = model.evaluate(np.ones((4, 2)), np.zeros((4, 1)), verbose=0)
        >>> model.metrics[0].result(), [m.name for m in model.metrics[1].metrics]
        (4.0, ['mae'])
        """
        return self.trainer.metrics

    @property
    def metrics_names(self) -> list[str]:
        """The names of ``model.metrics`` (Keras 3's: ``["loss", "compile_metrics"]``).

        ``evaluate`` lists the loss, each output's loss, then each compiled metric (see
        ``return_dict=True`` for the names of its entries).

        >>> import highlevel as hl
        >>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(2, activation="softmax")])
        >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        >>> model.metrics_names
        ['loss', 'compile_metrics']
        """
        return [m.name for m in self.metrics]

    @property
    def compiled(self) -> bool:
        return self.trainer.compiled

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model; returns a History whose ``history`` maps metric names to per-epoch values."""
        return self.trainer.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                                 callbacks=callbacks, validation_split=validation_split,
                                 validation_data=validation_data, shuffle=shuffle,
                                 class_weight=class_weight, sample_weight=sample_weight,
                                 initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                                 validation_steps=validation_steps,
                                 validation_batch_size=validation_batch_size,
                                 validation_freq=validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss and metrics on the data: a scalar, a list, or a dict with ``return_dict``."""
        return self.trainer.evaluate(x, y, batch_size=batch_size, verbose=verbose,
                                      sample_weight=sample_weight, steps=steps, callbacks=callbacks,
                                      return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs as NumPy arrays (padding of the last batch removed)."""
        return self.trainer.predict(x, batch_size=batch_size, verbose=verbose, steps=steps,
                                     callbacks=callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        return self.trainer.train_on_batch(x, y, sample_weight=sample_weight, class_weight=class_weight,
                                            return_dict=return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        return self.trainer.test_on_batch(x, y, sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x):
        return self.trainer.predict_on_batch(x)

    # -- weights (always the latest trained values) ----------------------------------------

    @property
    def weights(self):
        self.trainer.sync()
        return super().weights

    def get_weights(self) -> list[np.ndarray]:
        self.trainer.sync()
        from highlevel.distribute import to_host  # weights split over processes are gathered
        return [np.asarray(a) for a in to_host([v.get_value() for v in self.weights])]

    def set_weights(self, weights: Sequence[Any]) -> None:
        self.trainer.sync()
        super().set_weights(weights)   # the module is the truth again: the next step copies it

    def summary(self, line_length: int | None = None, positions=None,
                print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range=None) -> None:
        """Prints each layer's name, type, output shape and parameter count, and the totals.

        Args:
          line_length: the width of the table (80 by default).
          positions: accepted for Keras code; the columns keep their proportions.
          print_fn: called with the text instead of ``print``.
          expand_nested: also list the layers inside nested models, indented.
          show_trainable: add a column saying whether each layer is trainable.
          layer_range: ``[first, last]`` layer names (or indices): print only those rows.
        """
        from highlevel.models.summary import summary_text
        (print_fn or print)(summary_text(self, line_length, expand_nested=expand_nested,
                                         show_trainable=show_trainable, layer_range=layer_range))

    # -- config and saving ----------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """A functional model's graph; for a subclass, what its own ``get_config`` adds to the
        base config (``name``, ``trainable``, ``dtype``) that ``super().get_config()`` gives it."""
        if self._is_graph:
            return _functional.graph_config(self)
        if type(self).get_config is Model.get_config:
            raise NotImplementedError(
                f"{type(self).__name__} is a subclassed model: define get_config() returning its constructor "
                "arguments to save its architecture, or save only its weights with save_weights().")
        return super().get_config()

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> "Model":
        """The model a ``get_config()`` dict describes, as Keras 3's ``Model.from_config``.

        A functional config (``layers``, ``calls``, ``inputs``, ``outputs``) rebuilds the graph
        when the class takes ``Model``'s own constructor arguments; any other config (a
        subclass's ``get_config``, returning its constructor arguments) goes to ``cls(**config)``.

        Args:
          config: what ``get_config()`` returned.
          custom_objects: ``{name: object}`` for the user's own classes and functions it names.

        >>> import highlevel as hl
        >>> class Head(hl.Model):
        ...     def __init__(self, units=2, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.units = units
        ...         self.dense = hl.layers.Dense(units)
        ...     def call(self, x):
        ...         return self.dense(x)
        ...     def get_config(self):
        ...         return {"units": self.units, "name": self.name}
        >>> Head.from_config(Head(units=5, name="head").get_config()).units
        5
        """
        from highlevel.models.model_files import model_from_config
        return model_from_config(cls, config, custom_objects)

    def to_json(self, **kwargs) -> str:
        """The architecture as a JSON string (Keras's ``{"class_name", "config"}``); read it back with
        ``hl.models.model_from_json``.

        Args:
          **kwargs: passed to ``json.dumps`` (``indent=2``).

        >>> import highlevel as hl
        >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
        >>> hl.models.model_from_json(model.to_json()).count_params()
        8
        """
        import json
        from highlevel.layers.base import serialize_layer
        return json.dumps(serialize_layer(self), **kwargs)

    def save(self, filepath, overwrite: bool = True) -> None:
        """Saves architecture, weights, compile arguments and optimizer state: a ``.keras`` file or a directory."""
        from highlevel.models.saving import save_model
        save_model(self, filepath, overwrite=overwrite)

    def export(self, filepath, format: str = "onnx", verbose: bool = True, input_signature=None, **kwargs):
        """Writes the model for inference outside highlevel: ``"onnx"`` or ``"jax"`` (StableHLO).

        Keras's signature. Inference mode (dropout off, batch norm on its moving
        statistics), a dynamic batch dimension, every input and output by name; see
        ``hl.export`` (which registers the formats) and docs/guides/serving.md.
        """
        from highlevel.models.exporting import get_exporter
        return get_exporter(format)(self, filepath, input_signature=input_signature, verbose=verbose, **kwargs)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        from highlevel.models.saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch: bool = False):
        """Loads weights from ``save_weights``'s directory, a Keras ``.weights.h5``/``.h5`` file,
        or (for ``hl.applications`` models) a torchvision state dict (``.pth``/``.safetensors``).

        Foreign files are matched to layers by name. ``skip_mismatch=True`` loads what matches
        and returns a :class:`~highlevel.models.weight_files.LoadReport` of what it left out;
        otherwise any difference raises before a weight changes.
        """
        from highlevel.models.model_files import load_weights
        return load_weights(self, filepath, skip_mismatch)
