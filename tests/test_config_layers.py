"""Configs name the new layers: registered, arguments checked by ``highlevel validate``, nested layers built."""

import json

import numpy as np
import pytest
import yaml

import highlevel as hl
from highlevel import config as cfg
from highlevel.cli import main

NEW_LAYERS = ["MultiHeadAttention", "GroupedQueryAttention", "GroupQueryAttention", "Attention", "AdditiveAttention",
              "TimeDistributed", "Lambda", "GroupNormalization", "UnitNormalization", "RMSNormalization",
              "GaussianNoise", "GaussianDropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
              "ActivityRegularization", "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D", "ZeroPadding3D",
              "UpSampling3D", "Conv3D", "Conv1DTranspose", "Conv3DTranspose", "MaxPooling3D", "AveragePooling3D",
              "GlobalAveragePooling3D", "GlobalMaxPooling3D", "RepeatVector", "Permute", "LeakyReLU", "PReLU", "ELU",
              "Softmax", "ConvLSTM2D", "CategoryEncoding", "Hashing", "Discretization", "RNN", "SimpleRNNCell",
              "LSTMCell", "GRUCell", "StackedRNNCells"]

SEQUENTIAL = """
seed: 0
data: {source: digits, batch_size: 32}
model:
  layers:
    - Reshape: {target_shape: [8, 8]}
    - RNN: {cell: {LSTMCell: {units: 8, recurrent_constraint: non_neg}}, return_sequences: true}
    - TimeDistributed: {layer: {Dense: {units: 4, kernel_constraint: {class_name: MaxNorm, config: {max_value: 2}}}}}
    - GroupNormalization: {groups: 2}
    - Bidirectional: {layer: {GRU: {units: 4, return_sequences: true}}}
    - GlobalAveragePooling1D: {}
    - Dense: {units: 10, activity_regularizer: l2}
optimizer: {name: adam, learning_rate: 0.01}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
metrics: [accuracy]
trainer: {epochs: 1, verbose: 0, steps_per_epoch: 2}
"""

FUNCTIONAL = """
seed: 0
data: {source: digits, batch_size: 32}
model:
  inputs: {image: {shape: [8, 8, 1]}}
  nodes:
    - {name: rows, layer: {Reshape: {target_shape: [8, 8]}}, inputs: image}
    - {name: attended, layer: {MultiHeadAttention: {num_heads: 2, key_dim: 4}}, inputs: [rows, rows]}
    - {name: pooled, layer: {GlobalAveragePooling1D: {}}, inputs: attended}
    - {name: logits, layer: {Dense: {units: 10}}, inputs: pooled}
  outputs: logits
optimizer: adam
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
trainer: {epochs: 1, verbose: 0, steps_per_epoch: 2}
"""


def test_every_new_layer_is_registered():
    from highlevel.layers.base import layer_classes
    known = layer_classes()
    assert not [name for name in NEW_LAYERS if name not in known]


@pytest.mark.parametrize("text", [SEQUENTIAL, FUNCTIONAL], ids=["sequential", "functional"])
def test_configs_with_new_layers_validate_and_train(text, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 0
    run_dir = cfg.train(path, ["data.limit=64", f"output_dir={tmp_path}"])
    assert np.isfinite(json.loads((run_dir / "metrics.json").read_text())["test"]["loss"])


@pytest.mark.parametrize("edit, match", [
    (("units: 8, recurrent", "unit: 8, recurrent"), r"model\.layers\[1\]\.RNN\.cell\.LSTMCell: LSTMCell has no "
                                                   r"argument 'unit'; did you mean 'units'\?"),
    (("groups: 2", "group: 2"), r"model\.layers\[3\]\.GroupNormalization: GroupNormalization has no argument "
                                r"'group'; did you mean 'groups'\?"),
    (("GRU: {units: 4", "GRUU: {units: 4"), r"model\.layers\[4\]\.Bidirectional\.layer: unknown layer 'GRUU'; "
                                            r"did you mean 'GRU'\?"),
])
def test_validate_checks_the_arguments_of_new_and_nested_layers(edit, match, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(SEQUENTIAL.replace(*edit))
    with pytest.raises(cfg.ConfigError, match=match):
        cfg.load_config(path)
    data = yaml.safe_load(FUNCTIONAL)
    data["model"]["nodes"][1]["layer"] = {"MultiHeadAttention": {"num_head": 2, "key_dim": 4}}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(cfg.ConfigError, match=r"MultiHeadAttention has no argument 'num_head'; did you mean "
                                              r"'num_heads'\?"):
        cfg.load_config(path)
