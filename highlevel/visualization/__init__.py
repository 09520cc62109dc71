"""Pictures: a model's layer graph (``plot_model``), learning curves (``plot_history``) and the
learning-rate finder's curve (``plot_lr_finder``).

Drawn with matplotlib (``pip install matplotlib``), imported only when a picture is
drawn. ``plot_model`` and ``model_graph`` are also ``hl.utils.plot_model`` and
``hl.utils.model_graph`` (Keras's names); ``plot_history`` is what ``History.plot()``
draws, and ``plot_lr_finder`` what ``LearningRateFinder.plot()`` draws (importing this package
registers them).

>>> import highlevel as hl
>>> hl.utils.plot_model is hl.visualization.plot_model
True
"""

from highlevel.training.callback import register_history_plotter
from highlevel.training.lr_finder import register_lr_finder_plotter
from highlevel.visualization.history_plot import plot_history
from highlevel.visualization.lr_finder_plot import plot_lr_finder
from highlevel.visualization.model_plot import GraphNode, ModelGraph, model_graph, plot_model

register_history_plotter(plot_history)
register_lr_finder_plotter(plot_lr_finder)

__all__ = ["GraphNode", "ModelGraph", "model_graph", "plot_history", "plot_lr_finder", "plot_model"]
