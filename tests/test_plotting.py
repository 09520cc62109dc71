"""Pictures: ``History.plot`` from a real ``fit``, and ``hl.utils.plot_model`` / ``model_graph``.

Images are read back with matplotlib's own reader; SVGs are written with text kept as
text (``svg.fonttype: none``) so the labels can be searched.
"""

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import highlevel as hl  # noqa: E402
from highlevel.training.callback import History  # noqa: E402
from highlevel.utils import model_graph, plot_model  # noqa: E402
from highlevel.visualization.model_plot import _layout  # noqa: E402

L = hl.layers


def _read_image(path):
    image = mpimg.imread(str(path))
    assert image.ndim == 3 and image.shape[2] in (3, 4), image.shape
    assert image.shape[0] > 50 and image.shape[1] > 50, image.shape
    # Something was drawn: not a single colour.
    assert np.ptp(image[..., :3].reshape(-1, 3), axis=0).max() > 0.5
    return image


def _svg_text(model, tmp_path, **kwargs):
    path = tmp_path / "model.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        plot_model(model, to_file=path, **kwargs)
    return path.read_text()


# -- History.plot -----------------------------------------------------------------------------------


def _schedule(epoch, lr):
    return 0.2 * 0.5 ** epoch


@pytest.fixture(scope="module")
def history():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((4,)), L.Dense(8, activation="relu"), L.Dense(2, activation="softmax")])
    model.compile(optimizer=hl.optimizers.SGD(learning_rate=0.2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model.fit(x, y, batch_size=16, epochs=4, validation_data=(x[:32], y[:32]), verbose=0,
                     callbacks=[hl.callbacks.LearningRateScheduler(_schedule)])


def test_history_plot_draws_each_metric_and_the_learning_rate(history, tmp_path):
    logs = history.history
    assert {"loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"} <= set(logs)
    path = tmp_path / "history.png"
    fig = history.plot(to_file=path, title="run 1")
    try:
        # loss and accuracy subplots, plus the learning rate's twin axis on the loss subplot.
        assert len(fig.axes) == 3
        loss_ax, acc_ax, lr_ax = fig.axes
        assert (loss_ax.get_title(), acc_ax.get_title()) == ("loss", "accuracy")
        assert lr_ax.get_shared_x_axes().joined(loss_ax, lr_ax) and lr_ax.get_yscale() == "log"
        assert fig._suptitle.get_text() == "run 1"
        for ax, name in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            lines = {line.get_label(): line for line in ax.get_lines()}
            assert sorted(lines) == [name, "val_" + name]
            for key, line in lines.items():
                np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
                np.testing.assert_array_equal(line.get_ydata(), logs[key])
        (lr_line,) = lr_ax.get_lines()
        np.testing.assert_array_equal(lr_line.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_allclose(lr_line.get_ydata(), [_schedule(e, None) for e in range(4)], rtol=1e-6)
        # The saved PNG is the figure at its size and dpi.
        image = _read_image(path)
        width, height = fig.get_size_inches() * fig.dpi
        assert image.shape[:2] == (round(height), round(width))
    finally:
        plt.close(fig)


def test_history_plot_selected_metrics_and_formats(history, tmp_path):
    fig = history.plot("accuracy", figsize=(3, 2), to_file=tmp_path / "acc.svg")
    try:
        assert len(fig.axes) == 1  # no loss subplot, so no learning-rate axis
        assert [line.get_label() for line in fig.axes[0].get_lines()] == ["accuracy", "val_accuracy"]
        assert tuple(fig.get_size_inches()) == (3, 2)
        assert (tmp_path / "acc.svg").read_text().lstrip().startswith("<?xml")
    finally:
        plt.close(fig)
    fig = history.plot(["val_loss"], to_file=tmp_path / "val.pdf")
    try:
        assert [line.get_label() for line in fig.axes[0].get_lines()] == ["val_loss"]
        assert (tmp_path / "val.pdf").read_bytes().startswith(b"%PDF")
    finally:
        plt.close(fig)


def test_history_plot_places_sparse_validation_at_its_epochs():
    # As fit logs it with validation_freq=2 and a Keras-style "lr" key.
    history = History()
    history.on_train_begin()
    for epoch in range(4):
        logs = {"loss": 1.0 / (epoch + 1), "lr": 0.1}
        if epoch % 2 == 1:
            logs["val_loss"] = 2.0 / (epoch + 1)
        history.on_epoch_end(epoch, logs)
    fig = history.plot()
    try:
        assert len(fig.axes) == 2
        lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
        np.testing.assert_array_equal(lines["loss"].get_xdata(), [1, 2, 3, 4])
        np.testing.assert_array_equal(lines["val_loss"].get_xdata(), [2, 4])
        np.testing.assert_array_equal(lines["val_loss"].get_ydata(), [1.0, 0.5])
        np.testing.assert_array_equal(fig.axes[1].get_lines()[0].get_ydata(), [0.1] * 4)
    finally:
        plt.close(fig)


def test_history_plot_errors(history, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"empty: call model\.fit"):
        History().plot()
    with pytest.raises(ValueError, match=r"no metric 'auc'.*'accuracy', 'learning_rate', 'loss'"):
        history.plot(["loss", "auc"])
    with pytest.raises(ValueError, match=r"'\.jpg'.*\.png, \.svg, \.pdf"):
        history.plot(to_file=tmp_path / "h.jpg")
    assert not (tmp_path / "h.jpg").exists()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        history.plot()


# -- model_graph and plot_model -----------------------------------------------------------------------


def test_plot_model_sequential(tmp_path):
    model = hl.Sequential([hl.Input((6,)), L.Dense(8, activation="relu", name="d1"), L.Dropout(0.5, name="drop"),
                           L.Dense(3, name="d2")])
    graph = model_graph(model)
    assert [(n.name, n.class_name) for n in graph.nodes] == [("d1", "Dense"), ("drop", "Dropout"), ("d2", "Dense")]
    assert graph.edges == [(0, 1), (1, 2)]
    assert [(n.input_shape, n.output_shape) for n in graph.nodes] == [
        ((None, 6), (None, 8)), ((None, 8), (None, 8)), ((None, 8), (None, 3))]
    assert [n.activation for n in graph.nodes] == ["relu", None, "linear"]
    assert [n.trainable for n in graph.nodes] == [True, None, True]

    result = plot_model(model, to_file=tmp_path / "seq.png")
    IPython_display = pytest.importorskip("IPython.display")
    assert isinstance(result, IPython_display.Image)
    tall = _read_image(tmp_path / "seq.png")
    plot_model(model, to_file=tmp_path / "seq_lr.png", rankdir="LR")
    wide = _read_image(tmp_path / "seq_lr.png")
    assert tall.shape[0] > tall.shape[1] and wide.shape[1] > wide.shape[0]

    svg = _svg_text(model, tmp_path, show_shapes=True, show_dtype=True, show_layer_activations=True,
                    show_trainable=True)
    for text in ("d1 (Dense)", "Input shape: (None, 6)", "Output shape: (None, 3)", "Output dtype: float32",
                 "Activation: relu", "Trainable"):
        assert text in svg, text
    svg = _svg_text(model, tmp_path, show_layer_names=False)
    assert ">Dense<" in svg and ">d1 " not in svg and "d1 (Dense)" not in svg and "shape" not in svg


def test_plot_model_functional_two_inputs_merged_by_add(tmp_path):
    a, b = hl.Input((5,), name="in_a"), hl.Input((7,), name="in_b")
    branch_a = L.Dense(16, activation="relu", name="branch_a")(a)
    branch_b = L.Dense(16, name="branch_b")(b)
    merged = L.Add(name="add")([branch_a, branch_b])
    model = hl.Model([a, b], L.Dense(1, name="out")(merged))
    graph = model_graph(model)
    names = [n.name for n in graph.nodes]
    assert sorted(names) == ["add", "branch_a", "branch_b", "in_a", "in_b", "out"]
    edges = {(names[s], names[d]) for s, d in graph.edges}
    assert len(graph.edges) == 5 and edges == {("in_a", "branch_a"), ("in_b", "branch_b"), ("branch_a", "add"),
                                               ("branch_b", "add"), ("add", "out")}
    node = {n.name: n for n in graph.nodes}
    assert node["in_b"].class_name == "InputLayer" and node["in_b"].output_shape == (None, 7)
    assert node["add"].input_shape == [(None, 16), (None, 16)] and node["add"].output_shape == (None, 16)

    plot_model(model, to_file=tmp_path / "functional.png", show_shapes=True)
    _read_image(tmp_path / "functional.png")
    svg = _svg_text(model, tmp_path, show_shapes=True)
    for text in ("in_a (InputLayer)", "Output shape: (None, 7)", "Input shape: [(None, 16), (None, 16)]",
                 "add (Add)"):
        assert text in svg, text
    assert "Output shape" not in _svg_text(model, tmp_path)


def test_model_graph_shared_layers_and_nested_models(tmp_path):
    x = hl.Input((4,), name="x")
    inner = hl.Sequential([hl.Input((4,)), L.Dense(4, name="inner_1"), L.Dense(4, name="inner_2")], name="inner")
    shared = L.Dense(4, name="shared")
    h = shared(inner(x))
    y = shared(L.Dense(4, name="middle")(h))  # the shared layer feeds a layer that feeds it again
    model = hl.Model(x, y)

    graph = model_graph(model)
    names = [n.name for n in graph.nodes]
    assert sorted(names) == ["inner", "middle", "shared", "x"]  # one node for the shared layer
    assert {(names[s], names[d]) for s, d in graph.edges} == {
        ("x", "inner"), ("inner", "shared"), ("shared", "middle"), ("middle", "shared")}

    graph = model_graph(model, expand_nested=True)
    names = [n.name for n in graph.nodes]
    assert sorted(names) == ["inner_1", "inner_2", "middle", "shared", "x"]
    assert {n.name: n.group for n in graph.nodes}["inner_2"] == ("inner",)
    assert {(names[s], names[d]) for s, d in graph.edges} == {
        ("x", "inner_1"), ("inner_1", "inner_2"), ("inner_2", "shared"), ("shared", "middle"),
        ("middle", "shared")}
    plot_model(model, to_file=tmp_path / "nested.png", expand_nested=True, show_shapes=True)
    _read_image(tmp_path / "nested.png")
    assert ">inner<" in _svg_text(model, tmp_path, expand_nested=True)  # the nested model's frame label


def test_layout_rows_are_longest_paths_and_boxes_do_not_overlap():
    # A residual block: 0 -> 1 -> 2 -> 3 -> add(4) <- 0 (the shortcut), then 5; node 6 branches off 1.
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4), (4, 5), (1, 6)]
    widths = [1.0, 1.5, 1.0, 2.0, 1.0, 1.0, 0.5]
    depth, coord, routes = _layout(widths, edges, gap=0.3)
    assert depth == [0, 1, 2, 3, 4, 5, 2]
    # The main chain stays straight (the shortcut passes beside it); 1's two children share its place.
    assert coord[0] == coord[1] and coord[2] == coord[3] == coord[4] == coord[5]
    assert coord[2] < coord[1] < coord[6] and coord[1] - coord[2] == pytest.approx(coord[6] - coord[1])
    assert len(routes[(0, 4)]) == 3  # one waypoint in each of rows 1..3
    for d in set(depth):
        row = sorted((coord[v], widths[v]) for v in range(7) if depth[v] == d)
        row += [(c, 0.0) for (a, b), cs in routes.items() for r, c in zip(range(depth[a] + 1, depth[b]), cs) if r == d]
        row.sort()
        for (c1, w1), (c2, w2) in zip(row, row[1:]):
            assert c2 - c1 >= (w1 + w2) / 2 + 0.3 - 1e-9
    # A cycle through a shared layer (1 -> 2 -> 1) still gets rows.
    assert _layout([1.0] * 3, [(0, 1), (1, 2), (2, 1)])[0] == [0, 1, 2]


def test_plot_model_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"not built.*hl\.Input\(shape\).*model\.build"):
        plot_model(hl.Sequential([L.Dense(2)]), to_file=tmp_path / "m.png")
    model = hl.Sequential([hl.Input((3,)), L.Dense(2)])
    with pytest.raises(ValueError, match=r"rankdir must be 'TB'.*or 'LR'.*got 'XY'"):
        plot_model(model, to_file=tmp_path / "m.png", rankdir="XY")
    with pytest.raises(ValueError, match=r"'\.gif'.*e\.g\. 'model\.png'"):
        plot_model(model, to_file=tmp_path / "m.gif")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_model(model, to_file=tmp_path / "m.png")
    assert list(tmp_path.iterdir()) == []


def test_history_plot_is_visualization_s_plot_history(history, monkeypatch):
    from highlevel.training import callback
    assert hl.utils.plot_model is hl.visualization.plot_model and hl.utils.model_graph is hl.visualization.model_graph
    drawn = []
    callback.register_history_plotter(lambda h, metrics, **kw: drawn.append((h, metrics, kw)) or "figure")
    try:
        assert history.plot("loss", title="t") == "figure"
        assert drawn == [(history, "loss", {"to_file": None, "figsize": None, "title": "t"})]
    finally:
        callback.register_history_plotter(hl.visualization.plot_history)
    monkeypatch.setattr(callback, "_history_plotter", None)
    with pytest.raises(RuntimeError, match=r"import highlevel \(or highlevel\.visualization\)"):
        history.plot()
