"""Device meshes and shardings: data-parallel, fully sharded and model-parallel training.

>>> import highlevel as hl
>>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(1)])
>>> model.compile("sgd", "mse", distribution=hl.distribute.DataParallel())
"""

from highlevel.distribute.strategies import (NAMES, DataParallel, Distribution, FullySharded, ModelParallel, current,
                                             get, path_name)
from highlevel.distribute.processes import (barrier, initialize, is_chief, on_chief, process_count, process_index,
                                            process_rows, shard, to_host)

__all__ = ["Distribution", "DataParallel", "FullySharded", "ModelParallel", "current", "get", "path_name", "NAMES",
           "initialize", "is_chief", "process_count", "process_index", "process_rows", "shard", "to_host",
           "on_chief", "barrier"]
