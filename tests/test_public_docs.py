"""Every public name documents itself as STYLE.md asks.

The public API is ``highlevel.__all__`` plus the ``__all__`` of each public subpackage
(and of the modules those list, e.g. ``hl.datasets.mnist`` or ``hl.optimizers.schedules``);
``hl.layers`` has no ``__all__``, so its public names are the ``Layer`` subclasses it
exports, plus ``Input``. Each public class or function needs:

* a docstring whose first line is a one-line summary sentence;
* an ``Args:`` section naming every parameter of its signature (``self``, ``*args``
  and ``**kwargs`` excepted), and no parameter it does not take;
* a runnable ``>>>`` example (a class may carry it on its own docstring or ``__init__``'s).

``pytest --doctest-modules`` runs the examples; this test checks that they exist. An object
exported under two names (``mse`` and ``mean_squared_error``) is checked once. The failure
lists every offender at once, with its module and what is missing.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types

import highlevel as hl
from highlevel.layers.base import Layer

SUBPACKAGES = ["activations", "applications", "callbacks", "constraints", "datasets", "distribute", "initializers",
               "layers", "losses", "metrics", "mixed_precision", "models", "optimizers", "regularizers", "training",
               "utils", "visualization", "backend", "export", "serving", "ops", "random",
               "saving"]

# Names excused from the check while their docstrings are written; the test below fails if a
# name here is already documented, so the set cannot go stale.
PENDING: set[str] = set()  # public names whose docstrings are still to be written


def _add(found: dict, qualname: str, obj) -> None:
    if isinstance(obj, types.ModuleType) or not callable(obj):
        return  # constants (``__version__``, ``IMAGENET_MEAN``) have nothing to document
    found.setdefault(id(obj), (qualname, obj))


def _walk(found: dict, module: types.ModuleType) -> None:
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            if hasattr(obj, "__all__"):
                _walk(found, obj)
        else:
            _add(found, f"{module.__name__}.{name}", obj)


def public_api() -> dict[str, object]:
    """``{qualified name: object}`` for every public class and function, aliases once."""
    found: dict[int, tuple[str, object]] = {}
    for name in hl.__all__:
        _add(found, f"highlevel.{name}", getattr(hl, name))
    for sub in SUBPACKAGES:
        module = importlib.import_module(f"highlevel.{sub}")
        if sub == "layers":
            for name in sorted(vars(module)):
                obj = getattr(module, name)
                if inspect.isclass(obj) and issubclass(obj, Layer):
                    _add(found, f"highlevel.layers.{name}", obj)
            _add(found, "highlevel.layers.Input", module.Input)
        else:
            _walk(found, module)
    return {qualname: obj for qualname, obj in found.values()}


def _own_docs(obj) -> list[str]:
    """The docstrings that document ``obj``: its own (never a base class's), and ``__init__``'s."""
    docs = [obj.__doc__ or ""]
    if inspect.isclass(obj) and "__init__" in vars(obj):
        docs.append(vars(obj)["__init__"].__doc__ or "")
    return [inspect.cleandoc(d) for d in docs]


# The keyword arguments every layer takes from ``Layer.__init__``: documented once, on
# ``Layer``, as Keras documents them ("**kwargs: base layer keyword arguments").
LAYER_BASE_ARGS = {"name", "trainable", "dtype", "input_shape", "input_dim", "activity_regularizer"}


def _parameters(obj) -> tuple[list[str], bool, set[str]]:
    """Named parameters of ``obj``'s signature, whether it takes ``**kwargs``, and its ``*args`` name."""
    try:
        # A class's own ``__init__``: flax's module metaclass makes ``signature(cls)`` read
        # ``(*args, **kwargs)``, which would hide every layer's and model's arguments.
        sig = inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)
    except (TypeError, ValueError):
        return [], True, set()
    names, var_kw, var_pos = [], False, set()
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind is p.VAR_POSITIONAL:
            var_pos.add(p.name)  # may be documented as ``*x:``, need not be
        elif p.kind is not p.VAR_POSITIONAL and p.name not in ("self", "cls"):
            names.append(p.name)
    if inspect.isclass(obj) and issubclass(obj, Layer) and obj is not Layer:
        names = [n for n in names if n not in LAYER_BASE_ARGS]
    return names, var_kw, var_pos


def _documented_args(doc: str) -> list[str] | None:
    """Names listed in ``doc``'s ``Args:`` section (None without one)."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Args:":
            header = len(line) - len(line.lstrip())
            break
    else:
        return None
    names, indent = [], None
    for line in lines[i + 1:]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if depth <= header:
            break
        if indent is None:
            indent = depth
        if depth == indent:
            # ``name:``, ``name (type):``, ``*args:``, or a group ``center, scale:``
            m = re.match(r"(\**\w+(?:\s*,\s*\**\w+)*)\s*(\([^)]*\))?\s*:", line.strip())
            if m:
                names.extend(n.strip().lstrip("*") for n in m.group(1).split(","))
    return names


def problems(obj) -> list[str]:
    docs = [d for d in _own_docs(obj) if d]
    if not docs:
        return ["no docstring"]
    out = []
    lines = docs[0].splitlines()
    summary = lines[0].strip()
    if not summary or not summary.endswith(".") or (len(lines) > 1 and lines[1].strip()):
        out.append("first line is not a one-line summary sentence")
    params, var_kw, var_pos = _parameters(obj)
    listed = [n for d in docs for n in (_documented_args(d) or [])]
    has_args = any(_documented_args(d) is not None for d in docs)
    if params and not has_args:
        out.append("no Args: section")
    elif params:
        missing = [p for p in params if p not in listed]
        if missing:
            out.append(f"Args: lacks {', '.join(missing)}")
    extra = [n for n in listed if n not in params and n not in var_pos]
    if extra and not var_kw:
        out.append(f"Args: names {', '.join(extra)}, not in the signature")
    if not any(">>>" in d for d in docs):
        out.append("no >>> example")
    return out


def test_public_api_is_enumerated():
    api = public_api()
    assert len(api) > 200, len(api)
    for obj in (hl.Model, hl.layers.Dense, hl.layers.Input, hl.datasets.mnist.load_data,
                hl.optimizers.schedules.CosineDecay, hl.applications.resnet.preprocess_input):
        assert any(obj is o for o in api.values()), obj
    # aliases count once
    assert ("highlevel.losses.mse" in api) + ("highlevel.losses.mean_squared_error" in api) == 1
    assert not PENDING - set(api), f"PENDING names that are not public: {sorted(PENDING - set(api))}"


def test_every_public_name_is_documented():
    offenders = []
    for name, obj in sorted(public_api().items()):
        if name in PENDING:
            continue
        found = problems(obj)
        if found:
            offenders.append(f"{name} ({obj.__module__}): {'; '.join(found)}")
    assert not offenders, f"{len(offenders)} public names break STYLE.md's docstring form:\n" + "\n".join(offenders)


def test_pending_names_still_need_work():
    api = public_api()
    done = sorted(name for name in PENDING if name in api and not problems(api[name]))
    assert not done, f"documented now; remove from PENDING: {done}"


def test_checker_reports_what_is_missing():
    def bare(x, y=1):
        return x

    def grouped(center, scale, **kwargs):
        """Does something.

        Args:
            center, scale: whether to learn them.
            **kwargs: passed on.

        >>> grouped(True, False)
        """

    def stale(x):
        """Summary that runs on
        to a second line.

        Args:
            x: the input.
            y: gone from the signature.
        """

    assert problems(bare) == ["no docstring"]
    assert problems(grouped) == []
    assert problems(stale) == ["first line is not a one-line summary sentence",
                               "Args: names y, not in the signature", "no >>> example"]

    class Documented:
        """A class whose ``__init__`` documents its arguments.

        >>> Documented(1).a
        1
        """

        def __init__(self, a):
            """Stores ``a``.

            Args:
                a: the value.
            """
            self.a = a

    class Undocumented(Documented):
        """Inherits the docstring of nothing: its own lacks Args and an example."""

        def __init__(self, a, b):
            super().__init__(a)

    assert problems(Documented) == []
    assert problems(Undocumented) == ["no Args: section", "no >>> example"]
