"""Safe, bounded YAML: no Python tags, and no document larger than a config can sensibly be.

``yaml.safe_load`` refuses Python object tags but happily expands aliases: nine levels
of nine aliases to a list (an "alias bomb", a few hundred bytes) become a billion
values once anything walks them. Here the document is first composed into its node
graph, where an alias is a reference, and the size it would have once expanded
(nodes and depth, counted once per distinct node) is checked against a budget before
a single Python object is built. The file itself is refused above a size limit, and
dates stay strings (a config has no use for them, and they would not survive JSON).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_BYTES", "MAX_NODES", "MAX_DEPTH", "YamlLimitError", "load_bounded"]

#: Largest config file read, in bytes (the examples are a few kB; a ResNet50 get_config() ~200 kB).
MAX_BYTES = 1 << 20
#: Most values a document may hold with every alias expanded (mapping keys and values count).
MAX_NODES = 100_000
#: Deepest nesting of mappings and lists, aliases expanded.
MAX_DEPTH = 50

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):
    """The safe loader (libyaml's when installed), with dates left as strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class YamlLimitError(ValueError):
    """A YAML document over the size budget, or with a recursive alias; the message says which."""


def _expanded_size(root: yaml.Node, max_nodes: int, max_depth: int) -> None:
    """Raises YamlLimitError if ``root`` with its aliases expanded exceeds the budget.

    Sizes and depths are computed once per distinct node (an alias is the same node
    object), so the cost is that of the text, not of its expansion.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            total = 1 + sum(size[id(c)] for c in children)
            deepest = 1 + max((depth[id(c)] for c in children), default=0)
            if deepest > max_depth:
                raise YamlLimitError(f"it nests deeper than {max_depth} levels")
            if total > max_nodes:
                raise YamlLimitError(f"it holds more than {max_nodes:,} values once its aliases (*name) are "
                                     "expanded")
            size[key], depth[key] = total, deepest
            continue
        if key in size:
            continue
        if key in on_path:
            mark = node.start_mark
            raise YamlLimitError(f"an alias refers to a value that contains it (line {mark.line + 1}), a "
                                 "structure without end")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)
        if len(on_path) > max_depth + 1:
            raise YamlLimitError(f"it nests deeper than {max_depth} levels")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_bounded(text: str, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> Any:
    """The YAML document in ``text`` as Python values, loaded safely and within the budget.

    Args:
        text: the document.
        max_nodes: the most values it may hold, aliases expanded.
        max_depth: the deepest nesting it may have, aliases expanded.

    Raises:
        YamlLimitError: over the budget, or a recursive alias.
        yaml.YAMLError: a syntax error or a refused tag (with its line).
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, max_nodes, max_depth)
        return loader.construct_document(node)
    finally:
        loader.dispose()
