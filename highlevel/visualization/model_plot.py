"""``plot_model``: a picture of a model's layer graph, drawn with matplotlib (no Graphviz needed).

:func:`model_graph` is the pure part: the layers as nodes (name, class, shapes) and the
tensors between them as edges, for Sequential and functional models (several inputs
and outputs, shared layers, nested models). :func:`plot_model` lays the nodes out in
rows by their longest-path depth and draws boxes and arrows, as ``keras.utils.plot_model``
does with Graphviz.
"""

from __future__ import annotations

import dataclasses
import heapq
from typing import Any, NamedTuple

import jax

from highlevel import activations
from highlevel.layers.symbolic import InputLayer, KerasTensor
from highlevel.models import Model, Sequential
from highlevel.models.summary import shape_text
from highlevel.visualization.images import image_format, require_matplotlib

__all__ = ["GraphNode", "ModelGraph", "model_graph", "plot_model"]

_RANKDIRS = ("TB", "LR", "BT", "RL")


@dataclasses.dataclass
class GraphNode:
    """One box of the drawing: a layer and what ``plot_model`` can show about it.

    Args:
      name: the layer's name.
      class_name: the layer's class (``"Dense"``).
      input_shape: a shape tuple (batch ``None``), a list or dict of them (several
        tensors), ``None`` (an Input has no input) or ``"multiple"`` (a shared layer called
        on different shapes).
      output_shape: as ``input_shape``, for the outputs.
      dtype: the output dtype's name.
      activation: the activation's name, for a layer that has one.
      trainable: ``None`` for a layer without weights.
      group: the nested models the layer sits in (``expand_nested``), outermost first.

    >>> GraphNode("dense", "Dense", (None, 4), (None, 8)).output_shape
    (None, 8)
    """

    name: str
    class_name: str
    input_shape: Any = None
    output_shape: Any = None
    dtype: str | None = None
    activation: str | None = None
    trainable: bool | None = None
    group: tuple[str, ...] = ()


class ModelGraph(NamedTuple):
    """The nodes and the ``(source, destination)`` node indices of the edges between them.

    >>> graph = ModelGraph([GraphNode("a", "Dense"), GraphNode("b", "Dense")], [(0, 1)])
    >>> [graph.nodes[s].name + "->" + graph.nodes[d].name for s, d in graph.edges]
    ['a->b']
    """

    nodes: list[GraphNode]
    edges: list[tuple[int, int]]


def _is_kt(x) -> bool:
    return isinstance(x, KerasTensor)


def _struct(tree, attr: str):
    """The shapes (or dtypes) of a tree of tensors, a single tensor's without its list."""
    leaves = jax.tree_util.tree_leaves(tree, is_leaf=_is_kt)
    if len(leaves) == 1 and _is_kt(leaves[0]):
        return getattr(leaves[0], attr)
    return jax.tree_util.tree_map(lambda t: getattr(t, attr), tree, is_leaf=_is_kt)


def _is_container(layer) -> bool:
    return isinstance(layer, Sequential) or (isinstance(layer, Model) and getattr(layer, "_is_graph", False))


def _activation_name(layer) -> str | None:
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    name = activations.serialize(fn) if callable(fn) else fn
    return name if isinstance(name, str) else getattr(fn, "__name__", repr(fn))


class _Builder:
    def __init__(self, expand_nested: bool):
        self.expand = expand_nested
        self.nodes: list[GraphNode] = []
        self.edges: list[tuple[int, int]] = []
        self.index: dict[int, int] = {}

    def add_layer(self, layer, input_shape, output_shape, dtype, group) -> None:
        if self.expand and _is_container(layer):
            self.add_model(layer, group + (layer.name,))
            return
        if id(layer) in self.index:
            return
        trainable = bool(layer.trainable) if getattr(layer, "built", False) and layer.weights else None
        self.index[id(layer)] = len(self.nodes)
        self.nodes.append(GraphNode(layer.name, type(layer).__name__, input_shape, output_shape,
                                    None if dtype is None else str(dtype), _activation_name(layer),
                                    trainable, group))

    def add_edge(self, source, output_index: int, destination, input_index: int) -> None:
        # A drawn-open nested model has no box of its own: connect to the layer inside it
        # that makes that output, or to the Input (first layer) that takes that input.
        while self.expand and _is_container(source):
            if getattr(source, "_is_graph", False):
                source, _, output_index = source.outputs[output_index].keras_history
            else:
                source, output_index = source.layers[-1], 0
        while self.expand and _is_container(destination):
            if getattr(destination, "_is_graph", False):
                destination = destination.inputs[input_index].keras_history[0]
            else:
                destination = destination.layers[0]
        edge = (self.index[id(source)], self.index[id(destination)])
        if edge not in self.edges:
            self.edges.append(edge)

    def add_model(self, model, group: tuple[str, ...]) -> None:
        if getattr(model, "_is_graph", False):
            seen: dict[int, tuple] = {}
            for node in model.graph_nodes:
                shapes = (_struct(node.inputs, "shape"), _struct(node.outputs, "shape"),
                          _struct(node.outputs, "dtype"))
                if id(node.layer) in seen and seen[id(node.layer)] != shapes:
                    shapes = ("multiple", "multiple", shapes[2])
                seen[id(node.layer)] = shapes
            for layer in model.layers:
                if isinstance(layer, InputLayer):
                    self.add_layer(layer, None, layer.batch_shape, layer.output.dtype, group)
                else:
                    self.add_layer(layer, *seen.get(id(layer), (None, None, None)), group)
            for node in model.graph_nodes:
                for i, tensor in enumerate(node.input_tensors):
                    source, _, output_index = tensor.keras_history
                    self.add_edge(source, output_index, node.layer, i)
            return
        layers = model.layers
        shape = model.build_input_shape
        for layer, out in zip(layers, model.layer_output_shapes):
            self.add_layer(layer, shape, out, layer.dtype, group)
            shape = out
        for a, b in zip(layers, layers[1:]):
            self.add_edge(a, 0, b, 0)


def model_graph(model, expand_nested: bool = False) -> ModelGraph:
    """The layer graph of a model: one node per layer, one edge per layer-to-layer connection.

    A Sequential model's layers form a chain (its Input is not a node, as in Keras); a
    functional model's nodes are ``model.layers`` (Inputs included) in that order, a
    shared layer once with an edge from each of its calls' inputs. A subclassed model is
    a single node.

    Args:
      model: a built ``hl.Sequential`` or ``hl.Model``.
      expand_nested: draw nested Sequential/functional models layer by layer (their
        nodes' ``group`` names the model) instead of as one node.

    Returns:
      A :class:`ModelGraph` ``(nodes, edges)``; an edge is ``(source, destination)`` indices.

    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(8, name="hidden"),
    ...                        hl.layers.Dense(1, name="out")])
    >>> graph = model_graph(model)
    >>> [(n.name, n.input_shape, n.output_shape) for n in graph.nodes]
    [('hidden', (None, 4), (None, 8)), ('out', (None, 8), (None, 1))]
    >>> graph.edges
    [(0, 1)]
    """
    if not getattr(model, "built", False):
        if isinstance(model, Sequential):
            raise ValueError(f"Sequential model '{model.name}' is not built, so its layers have no shapes to "
                             "draw: start it with hl.Input(shape), or call model.build((None, ...)) first.")
        raise ValueError(f"Model '{model.name}' is not built: call it on a batch of data, or "
                         "model.build(input_shape), before plotting it.")
    builder = _Builder(expand_nested)
    if _is_container(model):
        builder.add_model(model, ())
    else:
        try:
            out = model.output_shapes()
            out = out[0] if len(out) == 1 else out
        except Exception:  # a subclassed model that cannot say: draw it without
            out = None
        builder.add_layer(model, getattr(model, "build_input_shape", None), out, model.dtype, ())
    if not builder.nodes:
        raise ValueError(f"Model '{model.name}' has no layers to draw; add layers to it first.")
    return ModelGraph(builder.nodes, builder.edges)


def _depths(n: int, edges: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Each node's row (the longest path to it from a source) and its topological rank."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for a, b in edges:
        if a != b:
            succ[a].append(b)
            indegree[b] += 1
    ready = [v for v in range(n) if indegree[v] == 0]
    heapq.heapify(ready)
    placed, order = [False] * n, []
    while len(order) < n:
        if not ready:  # a cycle (a layer shared at two depths): break it at the earliest node
            heapq.heappush(ready, next(v for v in range(n) if not placed[v]))
        v = heapq.heappop(ready)
        if placed[v]:
            continue
        placed[v] = True
        order.append(v)
        for w in succ[v]:
            indegree[w] -= 1
            if indegree[w] == 0 and not placed[w]:
                heapq.heappush(ready, w)
    rank = [0] * n
    for i, v in enumerate(order):
        rank[v] = i
    depth = [0] * n
    for v in order:
        for w in succ[v]:
            if rank[w] > rank[v]:
                depth[w] = max(depth[w], depth[v] + 1)
    return depth, rank


def _layout(across: list[float], edges: list[tuple[int, int]], gap: float = 0.3):
    """Rows by longest-path depth, and a coordinate across the rows for each node.

    An edge that skips rows gets a waypoint in each row it crosses (Sugiyama's dummy
    nodes), ordered and spaced with the boxes so it passes between them. Row by row,
    each node wants the mean coordinate of its parents; the row is packed left to
    right without overlap (``across`` sizes plus ``gap``), then shifted to keep the
    real nodes as close to where they want to be as it can.

    >>> depth, coord, routes = _layout([1.0, 1.0, 1.0], [(0, 1), (1, 2), (0, 2)])
    >>> depth, coord, routes[(0, 2)]  # the edge 0 -> 2 passes beside node 1
    ([0, 1, 2], [0.0, 0.0, 0.0], [0.8])

    Returns ``(depth, coordinate, routes)``; ``routes[(a, b)]`` lists the waypoints'
    coordinates of a forward edge, row by row (none between adjacent rows).
    """
    n = len(across)
    depth, rank = _depths(n, edges)
    size = list(across)
    parents: list[list[int]] = [[] for _ in range(n)]
    row_of = list(depth)
    tie = [float(r) for r in rank]
    chains: dict[tuple[int, int], list[int]] = {}
    for a, b in edges:
        if a == b or depth[b] <= depth[a]:
            continue
        previous = a
        chain = chains[(a, b)] = []
        for d in range(depth[a] + 1, depth[b]):
            item = len(size)
            size.append(0.0)
            parents.append([previous])
            row_of.append(d)
            tie.append(rank[b] + 0.5)  # beside the real nodes wanting the same place
            chain.append(item)
            previous = item
        parents[b].append(previous)
    rows: dict[int, list[int]] = {}
    for item in range(len(size)):
        rows.setdefault(row_of[item], []).append(item)
    coord = [0.0] * len(size)
    for d in sorted(rows):
        want = {}
        for item in rows[d]:
            above = [p for p in parents[item] if row_of[p] < d]
            # Follow the boxes above rather than skip edges, so a residual chain stays straight.
            above = [coord[p] for p in ([p for p in above if p < n] or above)]
            want[item] = sum(above) / len(above) if above else None
        row = sorted(rows[d], key=lambda i: (want[i] is None, want[i] or 0.0, tie[i]))
        x = None
        for i, item in enumerate(row):
            wish = want[item] if want[item] is not None else (x if x is not None else 0.0)
            x = wish if i == 0 else max(wish, x + (size[row[i - 1]] + size[item]) / 2 + gap)
            coord[item] = x
        wanting = [i for i in row if want[i] is not None]
        if wanting:
            anchors = [i for i in wanting if i < n] or wanting
            shift = sum(want[i] - coord[i] for i in anchors) / len(anchors)
        else:
            shift = -(coord[row[0]] + coord[row[-1]]) / 2
        for item in row:
            coord[item] += shift
    routes = {edge: [coord[i] for i in chain] for edge, chain in chains.items()}
    return depth, coord[:n], routes


def _shape_text(shape) -> str:
    return shape if isinstance(shape, str) else shape_text(shape)


def _label(node: GraphNode, show_shapes, show_dtype, show_layer_names, show_layer_activations,
           show_trainable) -> list[tuple[str, str]]:
    lines = [(f"{node.name} ({node.class_name})" if show_layer_names else node.class_name, "header")]
    if show_layer_activations and node.activation is not None:
        lines.append((f"Activation: {node.activation}", "black"))
    if show_shapes:
        if node.class_name != "InputLayer":
            lines.append((f"Input shape: {_shape_text(node.input_shape)}", "black"))
        lines.append((f"Output shape: {_shape_text(node.output_shape)}", "black"))
    if show_dtype:
        lines.append((f"Output dtype: {node.dtype or '?'}", "black"))
    if show_trainable and node.trainable is not None:
        lines.append(("Trainable", "forestgreen") if node.trainable else ("Non-trainable", "firebrick"))
    return lines


def _draw(graph: ModelGraph, rankdir: str, **show):
    """The figure of the graph, in inches: rows of boxes with their labels, arrows between."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import FancyBboxPatch, Rectangle
    from matplotlib.textpath import TextToPath

    fontsize = 9.0
    line_h, pad = 1.45 * fontsize / 72, 0.08
    fonts = {weight: FontProperties(size=fontsize, weight=weight) for weight in ("bold", "normal")}
    measure = TextToPath().get_text_width_height_descent
    labels = [_label(n, **show) for n in graph.nodes]
    sizes = [(max(measure(t, fonts["bold" if c == "header" else "normal"], ismath=False)[0] for t, c in lines)
              / 72 + 3 * pad, len(lines) * line_h + 2 * pad) for lines in labels]
    vertical = rankdir in ("TB", "BT")
    across = [w if vertical else h for w, h in sizes]
    depth, coord, routes = _layout(across, graph.edges, gap=0.3 if vertical else 0.25)
    extent = [0.0] * (max(depth) + 1)  # each row's depth along the drawing
    for d, (w, h) in zip(depth, sizes):
        extent[d] = max(extent[d], h if vertical else w)
    row_at = [0.0]
    for d in range(1, len(extent)):
        row_at.append(row_at[-1] + (extent[d - 1] + extent[d]) / 2 + (0.45 if vertical else 0.6))
    flip_x, flip_y = (-1 if rankdir == "RL" else 1), (1 if rankdir == "BT" else -1)

    def point(d: int, c: float, offset: float = 0.0) -> tuple[float, float]:
        """The point ``offset`` past row ``d``'s centre (towards the next row) at coordinate ``c``."""
        along = row_at[d] + offset
        return (c, flip_y * along) if vertical else (flip_x * along, -c)

    centers = [point(d, c) for d, c in zip(depth, coord)]
    boxes = [(x - w / 2, y - h / 2, x + w / 2, y + h / 2) for (x, y), (w, h) in zip(centers, sizes)]
    frames = []
    groups = sorted({n.group[:k] for n in graph.nodes for k in range(1, len(n.group) + 1)}, key=len)
    for group in groups:
        inside = [b for b, n in zip(boxes, graph.nodes) if n.group[:len(group)] == group]
        margin = 0.25 / len(group)
        frames.append((group[-1], min(b[0] for b in inside) - margin, min(b[1] for b in inside) - margin,
                       max(b[2] for b in inside) + margin, max(b[3] for b in inside) + margin + line_h))
    bounds = boxes + [f[1:] for f in frames]
    x0, y0 = min(b[0] for b in bounds) - 0.2, min(b[1] for b in bounds) - 0.2
    x1, y1 = max(b[2] for b in bounds) + 0.2, max(b[3] for b in bounds) + 0.2
    fig = Figure(figsize=(x1 - x0, y1 - y0))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.axis("off")
    for name, fx0, fy0, fx1, fy1 in frames:
        ax.add_patch(Rectangle((fx0, fy0), fx1 - fx0, fy1 - fy0, fill=False, linestyle="--", ec="#7a869a"))
        ax.text(fx0 + 0.05, fy1 - 0.04, name, ha="left", va="top", fontsize=fontsize, style="italic",
                color="#44506a")
    for (bx0, by0, bx1, by1), lines in zip(boxes, labels):
        ax.add_patch(FancyBboxPatch((bx0, by0), bx1 - bx0, by1 - by0, lw=1.2, fc="#eef2fa", ec="#2d3a55",
                                    boxstyle="round,pad=0,rounding_size=0.05"))
        for i, (text, color) in enumerate(lines):
            header = color == "header"
            ax.text((bx0 + bx1) / 2, by1 - pad - (i + 0.5) * line_h, text, ha="center", va="center",
                    fontsize=fontsize, fontweight="bold" if header else "normal",
                    color="#101828" if header else color)
    style = dict(color="#2d3a55", lw=1.1)
    for a, b in graph.edges:
        half = lambda v: (sizes[v][1] if vertical else sizes[v][0]) / 2
        if a == b or depth[b] <= depth[a]:  # a self-loop or a cycle through a shared layer: arc beside
            side = lambda v: (centers[v][0] + sizes[v][0] / 2, centers[v][1])
            start, end = side(a), side(b)
            if a == b:
                start, end = (start[0], start[1] + sizes[a][1] / 4), (end[0], end[1] - sizes[a][1] / 4)
            ax.annotate("", xy=end, xytext=start, arrowprops=dict(
                arrowstyle="-|>", shrinkA=0, shrinkB=0, connectionstyle="arc3,rad=-0.8", **style))
            continue
        path = [point(depth[a], coord[a], half(a))]
        for d, c in zip(range(depth[a] + 1, depth[b]), routes.get((a, b), [])):
            path += [point(d, c, -extent[d] / 2), point(d, c, extent[d] / 2)]
        path.append(point(depth[b], coord[b], -half(b)))
        if len(path) > 2:
            ax.plot([p[0] for p in path[:-1]], [p[1] for p in path[:-1]], solid_capstyle="round", **style)
        ax.annotate("", xy=path[-1], xytext=path[-2], arrowprops=dict(
            arrowstyle="-|>", shrinkA=0, shrinkB=0, **style))
    return fig


def plot_model(model, to_file="model.png", show_shapes: bool = False, show_dtype: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False,
               dpi: int = 200, show_layer_activations: bool = False, show_trainable: bool = False):
    """Draws the layer graph of a model into an image file, as ``keras.utils.plot_model`` does.

    Drawn with matplotlib (Graphviz is not needed): one box per layer, in rows by the
    longest path from an input, arrows along the tensors.

    Args:
      model: a built ``hl.Sequential`` or ``hl.Model``.
      to_file: the image file; ``.png``, ``.svg`` or ``.pdf`` (PNG when there is no suffix).
      show_shapes: write each layer's input and output shapes.
      show_dtype: write each layer's output dtype.
      show_layer_names: head each box with ``name (Class)``; else the class alone.
      rankdir: ``"TB"`` draws top to bottom, ``"LR"`` left to right (``"BT"``, ``"RL"`` reversed).
      expand_nested: draw nested models layer by layer, framed and labelled.
      dpi: resolution of a PNG (lowered for a very large graph to stay within image limits).
      show_layer_activations: write the activation of layers that have one.
      show_trainable: mark layers with weights "Trainable" or "Non-trainable".

    Returns:
      An ``IPython.display.Image`` (``SVG`` for an .svg) of the file when IPython is
      installed, so a notebook shows it inline; else (and for a PDF) the file's path.

    >>> import os, tempfile
    >>> import highlevel as hl
    >>> x = hl.Input((8,))
    >>> y = hl.layers.Add()([hl.layers.Dense(4)(x), hl.layers.Dense(4)(x)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.png")
    >>> _ = plot_model(hl.Model(x, y), to_file=path, show_shapes=True)
    >>> os.path.getsize(path) > 0
    True
    """
    rankdir = str(rankdir).upper()
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be 'TB' (top to bottom) or 'LR' (left to right), or 'BT'/'RL' for "
                         f"the reverse; got {rankdir!r}.")
    fmt = image_format(to_file)
    graph = model_graph(model, expand_nested=expand_nested)
    require_matplotlib()
    fig = _draw(graph, rankdir, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    # Keep each side of the image under 32k pixels however large the model is.
    dpi = min(float(dpi), 32000 / max(fig.get_size_inches()))
    fig.savefig(to_file, format=fmt, dpi=dpi)
    if fmt == "pdf":
        return str(to_file)
    try:
        from IPython import display
    except ImportError:
        return str(to_file)
    return display.SVG(filename=str(to_file)) if fmt == "svg" else display.Image(filename=str(to_file))
