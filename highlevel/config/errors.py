"""ConfigError: one sentence naming the file, the key path, what was given and what is allowed."""

from __future__ import annotations

import difflib
from typing import Iterable

__all__ = ["ConfigError", "did_you_mean", "key_path"]


class ConfigError(ValueError):
    """A config that cannot be run; the message says where and how to fix it."""


def key_path(parts: Iterable) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top level>"


def did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
