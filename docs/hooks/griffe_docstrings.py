"""Griffe extension: render highlevel's docstrings as they are written.

1. ``>>>`` examples are shown as Python console code.

highlevel's docstrings put a runnable ``>>>`` example after their ``Args:`` (STYLE.md)
rather than in a Google ``Examples:`` section. Left as they are, Markdown would read
``>>>`` as a block quote and ``[0.1, 0.2]`` in an output as a link; wrapped in a
``pycon`` fence they render as code.

2. Grouped arguments, ``center, scale: whether to learn beta and gamma.`` (Keras's
docstrings do this; the Google style does not), are listed one name per entry, each
with the group's description, so that griffe checks every name against the signature
(a misspelt or removed argument is still reported).

3. A ``NamedTuple`` gets the ``__init__`` signature Python gives it (its fields, in
order), which griffe's static analysis does not synthesize, so that its ``Args:`` are
checked against real parameters.

The docstring text itself is not changed on disk.
"""

from __future__ import annotations

from typing import Any

import re

import griffe

_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters):\s*$")
_NAMES = r"\**\w+(?:\s*,\s*\**\w+)*"
_GROUP_START = re.compile(rf"^(\s+)({_NAMES}\s*,)\s*$")           # "a, b," continued on the next line
_GROUP = re.compile(rf"^(\s+)(\**\w+(?:\s*,\s*\**\w+)+)\s*:(.*)$")  # "a, b: description"


def split_grouped_args(text: str) -> str:
    """``text`` with each ``a, b: description`` entry of an Args section made one entry per name."""
    lines = text.splitlines()
    out: list[str] = []
    in_args = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _SECTION.match(line):
            in_args = True
        elif line.strip() and not line[0].isspace():
            in_args = False
        start = _GROUP_START.match(line) if in_args else None
        if start and i + 1 < len(lines) and lines[i + 1].startswith(start.group(1)) \
                and not lines[i + 1][len(start.group(1))].isspace():
            line = f"{start.group(1)}{start.group(2)} {lines[i + 1].strip()}"
            i += 1
        group = _GROUP.match(line) if in_args else None
        if not group:
            out.append(line)
            i += 1
            continue
        indent, names, first = group.group(1), group.group(2), group.group(3)
        i += 1
        rest = []
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)):
            if not lines[i].strip() and (i + 1 >= len(lines) or
                                         len(lines[i + 1]) - len(lines[i + 1].lstrip()) <= len(indent)):
                break
            rest.append(lines[i])
            i += 1
        for name in (n.strip() for n in names.split(",")):
            out.append(f"{indent}{name}:{first}")
            out.extend(rest)
    return "\n".join(out)


def fence_doctests(text: str) -> str:
    """``text`` with every run of ``>>>`` lines (and their outputs) fenced as ``pycon``."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if in_fence or not stripped.startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(stripped)]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class HighlevelDocstrings(griffe.Extension):
    """Fences the ``>>>`` examples and splits the grouped arguments of every docstring."""

    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        if "__init__" in cls.members or not any(str(base).split(".")[-1] == "NamedTuple" for base in cls.bases):
            return
        fields = [m for m in cls.members.values() if isinstance(m, griffe.Attribute) and m.annotation is not None
                  and not m.name.startswith("_")]
        kind = griffe.ParameterKind.positional_or_keyword
        parameters = [griffe.Parameter("self", kind=kind)]
        parameters += [griffe.Parameter(f.name, annotation=f.annotation, kind=kind,
                                        default=f.value) for f in fields]
        init = griffe.Function("__init__", parameters=griffe.Parameters(*parameters),
                               lineno=cls.lineno, endlineno=cls.lineno)
        cls.set_member("__init__", init)

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = split_grouped_args(fence_doctests(obj.docstring.value))
