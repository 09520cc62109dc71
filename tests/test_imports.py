"""Every import in ``highlevel/`` against DESIGN.md's table "Layers of the system".

Each module belongs to a row of the table; a module may import its own package, and
the rows its row's "may import" column names (and what those may import in turn).
Function-level imports count as much as module-level ones: they run as surely, only
later. Nothing may use another package's private names (``from highlevel.x import
_y``, ``x._y`` on an imported highlevel module). No package reaches itself through
the imports of others (function-level imports included), and no module imports itself
back while it is being imported. Only ``highlevel/backend/`` asks which backend runs.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import shutil
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[1]

# -- the table -----------------------------------------------------------------------------

# The rows of DESIGN.md's table, top to bottom, and the packages (first name under
# ``highlevel``) in each. ``highlevel/__init__.py`` assembles the public namespace from
# every row and ``__main__`` runs the command: both are the top.
ROWS: dict[str, int] = {
    # name -> function/object registries with Keras names; dtype policies
    **dict.fromkeys(["utils", "activations", "activations_shrink", "initializers", "regularizers", "constraints",
                     "losses", "metrics", "optimizers", "mixed_precision", "ops", "random"], 0),
    "backend": 1,
    "layers": 2,
    "distribute": 3,
    "training": 4,
    "models": 5,
    "callbacks": 6,
    "applications": 7,
    "visualization": 8, "export": 8, "saving": 8,
    "datasets": 9,
    "config": 10, "serving": 10, "cli": 10,
    "": 11, "__main__": 11,   # highlevel/__init__.py, highlevel/__main__.py
}

# The table's "may import" column, row by row (the row itself is always allowed).
_MAY_IMPORT_DIRECTLY: dict[int, set[int]] = {
    0: set(),            # jax, optax
    1: {0},              # the registries, jax
    2: {0, 1},           # the registries, backend, flax, jax
    3: {0},              # jax.sharding, the registries
    4: {2, 3, 0},        # layers, distribute, the registries, optax
    5: {2, 4},           # layers, training
    6: {4, 5},           # training (the callback protocol and the trainer seam only), models' public API
    7: {2, 5},           # layers, models
    8: {5},              # models and below (what models may import)
    9: set(),            # numpy
    10: set(range(10)) | {11},  # everything above (the assembled ``highlevel`` namespace included)
    11: set(range(11)),
}


def _closure(row: int) -> set[int]:
    """A row may import what its "may import" rows may import, transitively."""
    seen, todo = {row}, [row]
    while todo:
        for r in _MAY_IMPORT_DIRECTLY[todo.pop()]:
            if r not in seen:
                seen.add(r)
                todo.append(r)
    return seen


MAY_IMPORT: dict[int, set[int]] = {row: _closure(row) for row in _MAY_IMPORT_DIRECTLY}

# "callbacks may import training (the callback protocol and the trainer seam only)":
# the training modules a callback may import.
CALLBACKS_MAY_IMPORT_FROM_TRAINING = {
    "highlevel.training", "highlevel.training.callback", "highlevel.training.progress", "highlevel.training.seam",
    "highlevel.training.trainer",
}

# Known violations in modules whose owner is changing them in another branch (issue #15,
# items 1-3 and 7: the trainer seam, one loop for Ensemble, one owner of the live state).
# Each entry is (importing module, what it reaches); the list must shrink to empty, and
# the test fails on an entry that no longer happens, so that it is removed with its fix.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()

# The modules that may call ``jax.default_backend()`` besides ``highlevel/backend/``.
KNOWN_BACKEND_CHECKS = {
    "highlevel.config.run",         # records the run's environment (what ran where), chooses nothing
}


# -- the checker ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Violation:
    module: str
    line: int
    target: str
    why: str

    def key(self) -> tuple[str, str]:
        return self.module, self.target

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.target}: {self.why}"


def _modules(root: pathlib.Path) -> dict[str, pathlib.Path]:
    """``{dotted module name: file}`` for every module of the ``highlevel`` package under ``root``."""
    found = {}
    for path in sorted((root / "highlevel").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def package_of(module: str) -> str:
    """The first name under ``highlevel`` (``""`` for ``highlevel`` itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class _Imports(ast.NodeVisitor):
    """Every import (at any depth) and every ``module._name`` use of an imported highlevel module."""

    def __init__(self, module: str, is_package: bool, modules: set[str]):
        self.module, self.modules = module, modules
        self.package = module if is_package else module.rpartition(".")[0]
        self.imports: list[tuple[int, str, str | None, bool]] = []  # (line, module, name or None, at import time)
        self.depth = 0  # functions around the node: their imports run later, when they are called
        self.backend_checks: list[int] = []
        self.bound: dict[str, str] = {}   # local name -> highlevel module it refers to
        self.attributes: list[tuple[int, str, str]] = []   # (line, module, private attribute)

    def _absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = self.package.split(".")
        if node.level > 1:
            base = base[:len(base) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] != "highlevel":
                continue
            self.imports.append((node.lineno, alias.name, None, self.depth == 0))
            if alias.asname:
                self.bound[alias.asname] = alias.name
            else:
                self.bound["highlevel"] = "highlevel"

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = self._absolute(node)
        if source.split(".")[0] != "highlevel":
            return
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            if submodule in self.modules:
                self.imports.append((node.lineno, submodule, None, self.depth == 0))
                self.bound[alias.asname or alias.name] = submodule
            else:
                self.imports.append((node.lineno, source, alias.name, self.depth == 0))

    def _function(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "default_backend":
            self.backend_checks.append(node.lineno)
        chain, inner = [], node
        while isinstance(inner, ast.Attribute):
            chain.append(inner.attr)
            inner = inner.value
        if isinstance(inner, ast.Name) and inner.id in self.bound:
            module = self.bound[inner.id]
            for name in reversed(chain):
                if f"{module}.{name}" in self.modules:
                    module = f"{module}.{name}"
                    continue
                if _is_private(name):
                    self.attributes.append((node.lineno, module, name))
                break
            return  # the whole chain is resolved; do not visit its inner attributes again
        self.generic_visit(node)


@dataclasses.dataclass
class Scan:
    violations: list[Violation]
    packages: dict[str, set[str]]        # package -> the packages it imports (any import)
    import_time: dict[str, set[str]]     # module -> the modules it imports while it is imported
    backend_checks: list[tuple[str, int]]  # ``default_backend`` outside highlevel/backend/


def scan(root: pathlib.Path = ROOT) -> Scan:
    """The violations of the table under ``root``, and the import graphs."""
    modules = _modules(root)
    names = set(modules)
    violations: list[Violation] = []
    packages: dict[str, set[str]] = {}
    import_time: dict[str, set[str]] = {}
    backend_checks: list[tuple[str, int]] = []
    for module, path in modules.items():
        visitor = _Imports(module, path.name == "__init__.py", names)
        visitor.visit(ast.parse(path.read_text(), str(path)))
        import_time[module] = set()
        packages.setdefault(package_of(module), set())
        if package_of(module) != "backend":
            backend_checks += [(module, line) for line in visitor.backend_checks]
        src_pkg = package_of(module)
        src_row = ROWS.get(src_pkg)
        if src_row is None:
            violations.append(Violation(module, 1, module, f"the package {src_pkg!r} has no row in "
                                        "DESIGN.md's table: add it there and to ROWS here"))
            continue
        for line, target, name, at_import in visitor.imports:
            if at_import and target != module:
                import_time[module].add(target)
            tgt_pkg = package_of(target)
            if tgt_pkg == src_pkg:
                continue
            packages[src_pkg].add(tgt_pkg)
            what = target if name is None else f"{target}.{name}"
            tgt_row = ROWS.get(tgt_pkg)
            if tgt_row is None:
                violations.append(Violation(module, line, what, f"{tgt_pkg!r} has no row in the table"))
            elif tgt_row not in MAY_IMPORT[src_row]:
                violations.append(Violation(module, line, what, f"imports up the table: {src_pkg or 'highlevel'} "
                                            f"(row {src_row}) may not import {tgt_pkg or 'highlevel'} "
                                            f"(row {tgt_row})"))
            elif src_pkg == "callbacks" and tgt_pkg == "training" and target not in CALLBACKS_MAY_IMPORT_FROM_TRAINING:
                violations.append(Violation(module, line, what, "a callback imports training beyond the callback "
                                            "protocol and the trainer seam"))
            private = [p for p in target.split(".") if _is_private(p)]
            if name is not None and _is_private(name):
                private.append(name)
            if private:
                violations.append(Violation(module, line, what, f"uses {tgt_pkg}'s private name {private[0]!r}"))
        for line, target, name in visitor.attributes:
            if package_of(target) != src_pkg:
                violations.append(Violation(module, line, f"{target}.{name}",
                                            f"uses {package_of(target)}'s private name {name!r}"))
    return Scan(violations, packages, import_time, backend_checks)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# -- the tests -------------------------------------------------------------------------------


def test_every_package_has_a_row_of_the_table():
    packages = {package_of(m) for m in _modules(ROOT)}
    assert packages <= set(ROWS), f"add to DESIGN.md's table and to ROWS: {sorted(packages - set(ROWS))}"


def test_imports_only_go_down_the_table_and_never_to_private_names():
    violations = scan().violations
    unexpected = [str(v) for v in violations if v.key() not in KNOWN_VIOLATIONS]
    assert not unexpected, "\n".join(unexpected)
    stale = KNOWN_VIOLATIONS - {v.key() for v in violations}
    assert not stale, f"fixed: remove from KNOWN_VIOLATIONS: {sorted(stale)}"


def test_no_import_cycles():
    found = scan()
    # Between packages, function-level imports included: no package reaches itself through another.
    assert cycles(found.packages) == []
    # Between modules, the imports that run while a module is imported (a function-level
    # import inside one package, run later, may point back: layers.base -> layers.symbolic).
    assert cycles(found.import_time) == []


def test_only_the_backend_module_asks_for_the_backend():
    checks = scan().backend_checks
    unexpected = [f"{m}:{line}" for m, line in checks if m not in KNOWN_BACKEND_CHECKS]
    assert not unexpected, f"jax.default_backend() outside highlevel/backend/ (ask hl.backend): {unexpected}"
    stale = KNOWN_BACKEND_CHECKS - {m for m, _ in checks}
    assert not stale, f"fixed: remove from KNOWN_BACKEND_CHECKS: {sorted(stale)}"


def _tree(tmp_path: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for name, text in files.items():
        path = tmp_path / "highlevel" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def test_the_checker_catches_a_planted_upward_import(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": "from highlevel import layers, models\n",
        "layers/__init__.py": "from highlevel.layers.core import Dense\n",
        "layers/core.py": """\
            import jax

            class Dense:
                def fit(self):
                    from highlevel.models import Sequential   # a layer that reaches up to models
                    return Sequential
            """,
        "models/__init__.py": "from highlevel.layers import core\nfrom highlevel.layers.core import Dense\n",
    })
    found = scan(root)
    assert [(v.module, v.target) for v in found.violations] == [("highlevel.layers.core",
                                                                 "highlevel.models.Sequential")]
    assert "imports up the table" in found.violations[0].why and found.violations[0].line == 5
    assert cycles(found.packages) == [["layers", "models"]]
    assert cycles(found.import_time) == []  # the upward import runs only when fit() is called


def test_the_checker_catches_an_upward_import_planted_in_the_real_tree(tmp_path):
    shutil.copytree(ROOT / "highlevel", tmp_path / "highlevel")
    core = tmp_path / "highlevel" / "layers" / "core.py"
    core.write_text(core.read_text() + "\n\ndef _planted():\n    from highlevel.training import Trainer\n"
                    "    return Trainer\n")
    before = {str(v) for v in scan().violations}
    after = [v for v in scan(tmp_path).violations if str(v) not in before]
    assert [(v.module, v.target) for v in after] == [("highlevel.layers.core", "highlevel.training.Trainer")]
    assert cycles(scan(tmp_path).packages) == [["layers", "training"]]


def test_the_checker_catches_an_import_time_cycle(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": "",
        "layers/__init__.py": "",
        "layers/a.py": "from highlevel.layers import b\n",
        "layers/b.py": "from highlevel.layers.a import f\n\ndef g():\n    from highlevel.layers import a\n",
    })
    assert cycles(scan(root).import_time) == [["highlevel.layers.a", "highlevel.layers.b"]]


def test_the_checker_catches_private_names_and_unknown_packages(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": "",
        "utils/__init__.py": "_STATE = {}\n",
        "utils/random.py": "_GLOBAL = None\n",
        "layers/__init__.py": """\
            from highlevel.utils import random as _random
            from highlevel.utils import _STATE
            import highlevel.utils

            def f():
                return _random._GLOBAL, highlevel.utils.random._GLOBAL, _random.next_key
            """,
        "layers/base.py": "from highlevel.layers import _helper\n",   # its own package: allowed
        "gadgets/__init__.py": "",
        "callbacks/__init__.py": "from highlevel.training.step import train_step\n",
        "training/__init__.py": "",
        "training/step.py": "",
    })
    found = sorted((v.module, v.target, v.why.split(":")[0]) for v in scan(root).violations)
    assert found == [
        ("highlevel.callbacks", "highlevel.training.step.train_step", "a callback imports training beyond the "
                                                                      "callback protocol and the trainer seam"),
        ("highlevel.gadgets", "highlevel.gadgets", "the package 'gadgets' has no row in DESIGN.md's table"),
        ("highlevel.layers", "highlevel.utils._STATE", "uses utils's private name '_STATE'"),
        ("highlevel.layers", "highlevel.utils.random._GLOBAL", "uses utils's private name '_GLOBAL'"),
        ("highlevel.layers", "highlevel.utils.random._GLOBAL", "uses utils's private name '_GLOBAL'"),
    ]


def test_the_table_only_points_up():
    # A row may import only rows above it in the table (and itself); the assembled
    # ``highlevel`` namespace (row 11) only config/serving/cli and the top itself.
    for row, allowed in MAY_IMPORT.items():
        assert max(allowed - {11}) <= row, row
        assert 11 not in allowed or row >= 10, row
