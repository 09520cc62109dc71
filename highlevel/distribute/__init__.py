"""Device meshes and shardings: data-parallel, fully sharded and model-parallel training.

>>> import highlevel as hl
>>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(1)])
>>> model.compile("sgd", "mse", distribution=hl.distribute.DataParallel())
"""

from highlevel.distribute.strategies import (NAMES, DataParallel, Distribution, FullySharded, ModelParallel, current,
                                             get, path_name)

__all__ = ["Distribution", "DataParallel", "FullySharded", "ModelParallel", "current", "get", "path_name", "NAMES"]
