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


def assert_close(got, expected, tol=1e-4):
    """Max abs difference within ``tol`` times the output's scale (at least 1)."""
    import numpy as np
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max()))
    assert np.abs(got - expected).max() <= tol * scale, (np.abs(got - expected).max(), scale)


def torch_params(model, include_top=True, top="classifier."):
    """torch's parameters and batch-norm buffers (not num_batches_tracked): what we count."""
    tensors = dict(model.named_parameters())
    tensors.update((k, v) for k, v in model.named_buffers() if not k.endswith("num_batches_tracked"))
    return sum(v.numel() for k, v in tensors.items() if include_top or not k.startswith(top))


def nchw(x):
    """NHWC images as a contiguous NCHW torch tensor."""
    import numpy as np
    import torch
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def state_dict_variant(path, tmp_path, change):
    """A copy of the state dict at ``path`` after ``change(sd)``, saved as ``changed.pth``."""
    import torch
    sd = torch.load(path, weights_only=True)
    change(sd)
    out = tmp_path / "changed.pth"
    torch.save(sd, out)
    return out
