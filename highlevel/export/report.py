"""What an export prints, and writing its file whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

from highlevel.export.signature import TensorSpec

__all__ = ["print_report", "write_atomically"]


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def print_report(kind: str, path: Path, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec],
                 extra: str = "") -> None:
    """Prints the file written and its inputs and outputs (name, shape, dtype), as Keras's export does.

    Args:
      kind: the format, in words.
      path: the file written.
      inputs: the inputs' specs.
      outputs: the outputs' specs.
      extra: one more line (e.g. the platforms), if any.

    >>> import os, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "m.onnx"; _ = path.write_bytes(b"0" * 1500)
    >>> print_report("ONNX", path, [TensorSpec("x", (None, 3), "float32")], [TensorSpec("y", (None, 1), "float32")])
    Saved ONNX artifact at '...m.onnx' (1.5 kB).
      input  'x': float32 (None, 3)
      output 'y': float32 (None, 1)
    """
    print(f"Saved {kind} artifact at '{path}' ({_size(Path(path).stat().st_size)}).")
    for what, specs in (("input ", inputs), ("output", outputs)):
        for s in specs:
            print(f"  {what} '{s.name}': {s.dtype} {tuple(s.shape)}")
    if extra:
        print(f"  {extra}")


def write_atomically(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename: whole, or not at all.

    Args:
      path: the file to write (its folder is created).
      data: the bytes.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "sub" / "f.bin"
    >>> write_atomically(path, b"abc"); path.read_bytes()
    b'abc'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
