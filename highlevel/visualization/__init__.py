"""Pictures: a model's layer graph (``plot_model``) and learning curves (``plot_history``).

Drawn with matplotlib (``pip install matplotlib``), imported only when a picture is
drawn. ``plot_model`` and ``model_graph`` are also ``hl.utils.plot_model`` and
``hl.utils.model_graph`` (Keras's names); ``plot_history`` is what ``History.plot()``
draws (importing this package registers it with ``History``).

>>> import highlevel as hl
>>> hl.utils.plot_model is hl.visualization.plot_model
True
"""

from highlevel.training.callback import register_history_plotter
from highlevel.visualization.history_plot import plot_history
from highlevel.visualization.model_plot import GraphNode, ModelGraph, model_graph, plot_model

register_history_plotter(plot_history)

__all__ = ["GraphNode", "ModelGraph", "model_graph", "plot_history", "plot_model"]
