"""PyTorch (CPU) with the same models, optimizer (Adam 1e-3) and batches: an idiomatic eager loop."""

from __future__ import annotations

import torch
from torch import nn


def import_framework() -> None:
    """Nothing more: importing this module imported torch (and the parent timed it)."""


def _bn(features):
    return nn.BatchNorm2d(features, momentum=0.01, eps=1e-3)  # Keras's momentum 0.99, epsilon 1e-3


class _LastStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 128, batch_first=True)
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.out(h[-1])


class _Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), _bn(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), _bn(cout)
        self.short = None if stride == 1 and cin == cout else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        r = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu((x if self.short is None else self.short(x)) + r)


def _build(w):
    if w.name == "tiny":
        return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 1))
    if w.name == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 512), nn.ReLU(),
                             nn.Dropout(0.2), nn.Linear(512, 10))
    if w.name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                             _bn(64), nn.Dropout(0.25), nn.Flatten(), nn.Linear(12 * 12 * 64, 10))
    if w.name == "lstm":
        return _LastStep()
    if w.name == "resnet":
        return nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), _bn(16), nn.ReLU(), _Block(16, 16, 1),
                             _Block(16, 16, 1), _Block(16, 32, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(32, 10))
    raise ValueError(w.name)


def train(w, x, y, on_epoch_end, threads: int | None = None):
    from workloads import spec

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = _build(w)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=spec.LEARNING_RATE)
    loss_fn = nn.MSELoss() if w.task == "regression" else nn.CrossEntropyLoss()
    xt = torch.from_numpy(x)
    if xt.ndim == 4:
        xt = xt.permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW, PyTorch's native layout
    yt = torch.from_numpy(y).long() if w.task == "classification" else torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    b = w.batch_size
    for _ in range(w.epochs):
        perm = torch.randperm(xt.shape[0], generator=generator)
        total = torch.zeros(())
        for i in range(w.steps_per_epoch):
            idx = perm[i * b:(i + 1) * b]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.detach()
        on_epoch_end(float(total) / w.steps_per_epoch)
    return {"threads": torch.get_num_threads()}
