"""Transfer-learning tools: a network's blocks, and unfreezing the top ones.

Freezing follows Keras's rule: ``layer.trainable = False`` means no gradient, no optimizer
state, and batch normalization in inference mode (moving statistics used and kept). As in
Keras, compile the model again after changing what is trainable.
"""

from __future__ import annotations

import re

from highlevel.layers.normalization import BatchNormalization

__all__ = ["blocks", "unfreeze_top"]

# Keras's block names: MobileNetV2 "block_16_project", "expanded_conv_depthwise"; ResNet
# "conv5_block3_out"; VGG "block5_conv3"; EfficientNet "block7a_project_conv".
_BLOCK = re.compile(r"^(block_?\d+[a-z]?|conv\d+_block\d+|expanded_conv)(?:_|$)")


def _leaves(model) -> list:
    from highlevel.models.model import Model
    out = []
    for layer in model.layers:
        if isinstance(layer, Model):
            out.extend(_leaves(layer))
        else:
            out.append(layer)
    return out


def blocks(model) -> list[tuple[str, list]]:
    """The model's layers grouped into blocks, in order: ``[(name, layers), ...]``.

    Blocks are found by Keras's layer names (``block_3_...``, ``conv4_block2_...``,
    ``block5_...``, ``block2a_...``); the layers before the first block form ``"stem"``
    and the layers after the last one (the top convolution, pooling, any head) ``"top"``.
    Nested models are looked into.

    Args:
        model: A network from ``hl.applications``, or a model that contains one.

    Returns:
        ``[(block name, [layers]), ...]``, in the model's order.

    >>> import highlevel as hl
    >>> base = hl.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3))
    >>> [name for name, _ in blocks(base)][:3], [name for name, _ in blocks(base)][-2:]
    (['stem', 'expanded_conv', 'block_1'], ['block_16', 'top'])
    """
    groups: list[tuple[str, list]] = []
    seen_block = False
    for layer in _leaves(model):
        match = _BLOCK.match(layer.name)
        if match:
            name, seen_block = match.group(1), True
        else:
            name = "top" if seen_block else "stem"
        if groups and groups[-1][0] == name:
            groups[-1][1].append(layer)
        else:
            groups.append((name, [layer]))
    if not seen_block:
        raise ValueError(f"Model '{model.name}' has no layers named like a pretrained network's blocks "
                         "(block_1_..., conv4_block2_..., block5_..., block2a_...); set layer.trainable yourself.")
    return groups


def unfreeze_top(model, n_blocks: int, *, freeze_batch_norm: bool = True) -> list[str]:
    """Freezes the model, then makes its last ``n_blocks`` blocks and everything after them trainable.

    Args:
      model: a network from ``hl.applications``, or a model that contains one.
      n_blocks: how many blocks, counted from the top, to train (0: only the layers after
        the last block, such as a new head).
      freeze_batch_norm: keep batch-normalization layers frozen (inference mode, moving
        statistics kept, gamma/beta fixed), as Keras's fine-tuning guide advises for small data.

    Returns the names of the blocks made trainable. Compile the model afterwards.

    A small model with Keras-style block names shows the rule (a real one is a base from
    ``hl.applications`` under a new head):

    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(4, name="block1_dense"),
    ...                        hl.layers.Dense(4, name="block2_dense"), hl.layers.Dense(1, name="head")])
    >>> hl.applications.unfreeze_top(model, 1)
    ['block2']
    >>> [layer.trainable for layer in model.layers]
    [False, True, True]
    """
    if not isinstance(n_blocks, int) or n_blocks < 0:
        raise ValueError(f"unfreeze_top `n_blocks` must be an int >= 0, got {n_blocks!r}.")
    groups = blocks(model)
    block_groups = [g for g in groups if g[0] not in ("stem", "top")]
    if n_blocks > len(block_groups):
        raise ValueError(f"Model '{model.name}' has {len(block_groups)} blocks; cannot unfreeze the top {n_blocks}.")
    model.trainable = True  # containers; the leaves are set one by one below
    chosen = {name for name, _ in block_groups[len(block_groups) - n_blocks:]} | {"top"}
    for name, layers in groups:
        for layer in layers:
            train = name in chosen and not (freeze_batch_norm and isinstance(layer, BatchNormalization))
            layer.trainable = train
    return [name for name, _ in block_groups[len(block_groups) - n_blocks:]]
