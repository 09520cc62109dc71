"""The run config schema (pydantic): the Python API's names and arguments, as YAML.

Sections: ``seed``, ``name``, ``output_dir``, ``data``, ``model``, ``optimizer``,
``loss``, ``loss_weights``, ``metrics``, ``trainer``, ``loggers``, ``callbacks``. Unknown keys
are refused (``extra="forbid"``); the error names the key path and the nearest
known key. Layer, optimizer, callback and schedule entries are checked against
the registered names and the constructors' arguments by ``highlevel.config.check``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = ["RunConfig", "DataConfig", "PreprocessingConfig", "TrainerConfig", "FineTuneConfig"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PreprocessingConfig(_Strict):
    """Applied to every split on the host before training (augmentation runs on the device)."""

    rescale: float | None = Field(None, description="multiply inputs by this: a number or a fraction like 1/255")
    expand_dims: bool = Field(False, description="add a trailing channel axis to (n, h, w) images")
    flatten: bool = Field(False, description="flatten each sample to a vector")
    standardize: bool = Field(False, description="z-score inputs (and series targets) with training statistics")
    to_rgb: bool = Field(False, description="repeat grayscale images into 3 channels (for ImageNet networks)")
    resize: tuple[int, int] | None = Field(None, description="resize images to (height, width), bilinear")
    imagenet_mode: Literal["caffe", "tf", "torch"] | None = Field(
        None, description="scale 0-255 RGB images as pretrained weights expect (hl.applications preprocess_input): "
                          "caffe (Keras ResNet50/VGG16), tf (Keras MobileNetV2), torch (torchvision)")

    @field_validator("rescale", mode="before")
    @classmethod
    def _fraction(cls, value):
        if isinstance(value, str) and "/" in value:
            top, _, bottom = value.partition("/")
            try:
                return float(top) / float(bottom)
            except (ValueError, ZeroDivisionError):
                raise ValueError("rescale must be a number or a fraction like 1/255") from None
        return value


class DataConfig(_Strict):
    source: Literal["digits", "mnist", "fashion_mnist", "npz", "image_folder", "csv", "timeseries", "xor",
                    "linear_regression"] = "digits"
    path: str | None = Field(None, description="file or folder for npz, image_folder, csv; data folder for mnist")
    target: str | None = Field(None, description="csv: the target column")
    features: list[str] | None = Field(None, description="csv: the feature columns (default: all others)")
    image_size: tuple[int, int] | None = Field(None, description="image_folder: (height, width)")
    color_mode: Literal["rgb", "grayscale"] = "rgb"
    series: str | None = Field(None, description="timeseries: a statsmodels series name (co2, sunspots, nile)")
    frequency: Literal["monthly", "yearly"] | None = Field(None, description="timeseries: resample the series")
    window: int = Field(24, ge=1, description="timeseries: input steps per sample")
    horizon: int = Field(1, ge=1, description="timeseries: steps predicted")
    test_split: float = Field(0.2, gt=0.0, lt=1.0, description="held-out fraction where the source has no test set")
    weights: list[float] = Field([2.0, -3.0, 0.5], description="linear_regression: the true weights")
    bias: float = Field(1.5, description="linear_regression: the true bias")
    samples: int = Field(1000, ge=4, description="linear_regression: samples; xor: repeats of the 4 points x 4")
    noise: float = Field(0.1, ge=0.0, description="linear_regression: noise standard deviation")
    limit: int | None = Field(None, ge=1, description="use only the first N training samples (quick runs)")
    per_class: int | None = Field(None, ge=1, description="use N random training samples of each class (small-data runs)")
    test_limit: int | None = Field(None, ge=1, description="use only the first N test samples")
    batch_size: int = Field(32, ge=1)
    preprocessing: PreprocessingConfig = PreprocessingConfig()
    augmentation: list[dict[str, Any]] = Field(default_factory=list,
                                               description="augmentation layers, e.g. [{RandomFlip: {mode: horizontal}}]")


_DP_ARGS = ("axis_name",)
_MP_ARGS = ("layout", "batch_axis")
# The arguments a YAML file may give each strategy (devices and meshes are Python objects).
_DISTRIBUTION_ARGS = {"DataParallel": _DP_ARGS, "data_parallel": _DP_ARGS,
                      "FullySharded": _DP_ARGS, "fully_sharded": _DP_ARGS,
                      "ModelParallel": _MP_ARGS, "model_parallel": _MP_ARGS}


def _profile(value):
    from pydantic_core import PydanticCustomError
    steps = [value] if isinstance(value, int) else value
    if value is not None and not (1 <= len(steps) <= 2 and all(s >= 1 for s in steps) and steps[0] <= steps[-1]):
        raise PydanticCustomError("profile", "write the steps to trace as one step or [first, last], counted "
                                             "from 1, first <= last (e.g. [10, 20])")
    return value if value is None or isinstance(value, int) else [steps[0], steps[-1]]


class TrainerConfig(_Strict):
    epochs: int = Field(10, ge=1)
    steps_per_execution: Union[Annotated[int, Field(ge=1)], Literal["auto"]] = Field(
        1, description="steps fused into one compiled call, or auto (the framework measures and picks)")
    validation_split: float = Field(0.1, ge=0.0, lt=1.0)
    shuffle: bool = True
    verbose: Union[Literal["auto"], Literal[0, 1, 2]] = 2
    steps_per_epoch: int | None = Field(None, ge=1, description="stop each epoch after this many steps")
    profile: Annotated[Union[int, list[int], None], AfterValidator(_profile)] = Field(
        None, description="trace these train steps (a step or [first, last], from 1) with jax.profiler for "
                          "TensorBoard's Profile tab")
    log_throughput: bool = Field(False, description="put samples/s, step time, compilation time and MFU into the "
                                                    "epoch logs (history, progress, CSV, TensorBoard, MLflow)")
    distribution: Union[str, dict[str, Any], None] = Field(
        None, description="spread training over the devices: DataParallel, FullySharded or ModelParallel "
                          "(or data_parallel, ...), as a name or {Name: {argument: value}}")
    mixed_precision: Literal["float32", "mixed_bfloat16", "mixed_float16"] | None = Field(
        None, description="the dtype policy the model is built with: float32 weights and bfloat16 or float16 "
                          "computation (mixed_float16 adds dynamic loss scaling); default: float32")

    @field_validator("distribution", mode="after")
    @classmethod
    def _distribution(cls, value):
        if value is None:
            return value
        if isinstance(value, dict) and len(value) != 1:
            raise ValueError("write the distribution as one name or {Name: {argument: value}}, e.g. "
                             "{DataParallel: {}}")
        name, args = (value, {}) if isinstance(value, str) else next(iter(value.items()))
        if name not in _DISTRIBUTION_ARGS:
            raise ValueError(f"unknown distribution {name!r}; use one of "
                             f"{', '.join(_DISTRIBUTION_ARGS)}")
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ValueError(f"the arguments of {name} must be a mapping, e.g. {{{name}: {{}}}}")
        allowed = _DISTRIBUTION_ARGS[name]
        unknown = sorted(set(args) - set(allowed))
        if unknown:
            raise ValueError(f"{name} has no argument {unknown[0]!r}; it takes: "
                             f"{', '.join(allowed) or 'nothing'}")
        return {name: dict(args)}


def _loggers(value, info: ValidationInfo):
    from pydantic_core import PydanticCustomError

    from highlevel.config.errors import ConfigError
    from highlevel.config.tracking import check_loggers
    trainer = info.data.get("trainer")
    try:
        return check_loggers(value, None if trainer is None else trainer.profile)
    except ConfigError as err:   # the message as written (pydantic would prefix "Value error, ")
        raise PydanticCustomError("loggers", str(err).replace("{", "{{").replace("}", "}}")) from None


class FineTuneConfig(_Strict):
    """A second phase after ``trainer.epochs``: unfreeze the top blocks and train on at a lower rate."""

    epochs: int = Field(..., ge=1, description="epochs of the second phase")
    unfreeze_top: int = Field(..., ge=0, description="blocks of the pretrained network to train, from the top")
    learning_rate_factor: float = Field(0.1, gt=0.0, description="the optimizer's learning rate is multiplied by this")
    freeze_batch_norm: bool = Field(True, description="keep batch normalization in inference mode")


class RunConfig(_Strict):
    seed: int = Field(0, ge=0)
    name: str | None = Field(None, description="run name (default: the config file's stem)")
    output_dir: str = "runs"
    data: DataConfig = DataConfig()
    model: dict[str, Any] = Field(..., description="a layer list, a functional graph or a get_config() dict")
    optimizer: Union[str, dict[str, Any]] = Field(
        "adam", description="a name, or {name: adam, learning_rate: ..., and any optimizer argument: clipnorm, "
                            "global_clipnorm, clipvalue, weight_decay, gradient_accumulation_steps, use_ema, "
                            "ema_momentum, ema_overwrite_frequency, loss_scale_factor}; or {name: LossScaleOptimizer, "
                            "inner_optimizer: {...}, initial_scale: ..., dynamic_growth_steps: ...}")
    loss: Union[str, dict[str, Any], list[Any], None] = None
    loss_weights: Union[list[float], dict[str, float], None] = None
    metrics: Union[list[Any], dict[str, Any], None] = None
    trainer: TrainerConfig = TrainerConfig()
    loggers: Annotated[list[Union[str, dict[str, Any]]], AfterValidator(_loggers)] = Field(
        default_factory=lambda: ["tensorboard"], validate_default=True,
        description="where the run is logged: tensorboard, csv, mlflow, or {name: {argument: value}}")
    fine_tune: FineTuneConfig | None = Field(None, description="a second, fine-tuning phase for pretrained models")
    callbacks: list[dict[str, Any]] = Field(default_factory=list,
                                            description="callbacks by name, e.g. [{EarlyStopping: {patience: 3}}]")

    @field_validator("name", mode="after")
    @classmethod
    def _plain_name(cls, value):
        # The run directory is output_dir/NAME-TIMESTAMP: a name must not lead out of output_dir.
        # Only letters, digits, '-', '_' and '.', so the folder name needs no quoting in a shell.
        if value is not None and (not value or value.startswith(".")
                                  or not all(c.isalnum() or c in "-_." for c in value)):
            raise ValueError("a run name is one folder name inside output_dir: letters, digits, '-', '_' "
                             "and '.', not starting with '.' and without '/' or '\\'")
        return value
