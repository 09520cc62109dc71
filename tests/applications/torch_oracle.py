"""torchvision as a test oracle, also where its compiled ops do not load.

PyPI's torchvision wheel is built against CUDA torch; beside this machine's CPU-only
torch its C++ operators (nms, ...) fail to register and ``import torchvision`` raises.
The classification models need none of those operators, so the import is retried with
the operator registrations stubbed out.
"""

from __future__ import annotations

import sys
import types


def torchvision():
    try:
        import torchvision as tv
    except RuntimeError:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
        import torchvision as tv
    return tv
