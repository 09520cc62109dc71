"""Distributed training on 8 simulated CPU devices, checked against one device.

Run by ``tests/test_distribute.py`` in a subprocess: the device count must be set
before jax is imported. Prints one JSON object of results on its last line.
"""

import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import json  # noqa: E402
import tempfile  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, PartitionSpec as P  # noqa: E402

import highlevel as hl  # noqa: E402
from tests.compile_count import count_compilations  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
rng = np.random.default_rng(0)
X = rng.standard_normal((100, 6)).astype(np.float32)  # 3 full batches of 32 and a padded one of 4
Y = rng.integers(0, 3, 100)


def make_model():
    hl.utils.set_random_seed(0)
    return hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"), hl.layers.Dense(3)])


def train(distribution=None, epochs=2, spe=1):
    model = make_model()
    model.compile(optimizer=hl.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], steps_per_execution=spe, distribution=distribution)
    history = model.fit(X, Y, batch_size=32, epochs=epochs, shuffle=True, verbose=0)
    return model, history.history["loss"]


def diff(a, b):
    return max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)))) for u, v in zip(a, b))


def spec_of(array):
    return [None if s is None else str(s) for s in array.sharding.spec]


out = {"devices": jax.device_count()}
single, single_loss = train()
w_single = single.get_weights()

# Data parallel: same losses and weights; state replicated over 8 devices; batches split.
dp = hl.distribute.DataParallel()
model, loss = train(dp)
out["dp_loss_diff"] = diff(loss, single_loss)
out["dp_weight_diff"] = diff(model.get_weights(), w_single)
kernel = model.trainer.state.params["_layers"][0]["kernel"].get_value()
out["dp_kernel_devices"] = len(kernel.sharding.device_set)
out["dp_kernel_replicated"] = bool(kernel.sharding.is_fully_replicated)
batch = next(iter(hl.training.data.make_adapter(X, Y, batch_size=32).batches(0)))
placed = dp.put_batch(batch)
out["dp_batch_spec"] = spec_of(placed.x)
out["dp_batch_shard_rows"] = sorted({s.data.shape[0] for s in placed.x.addressable_shards})
out["dp_batch_devices"] = len(placed.x.sharding.device_set)
out["dp_eval_diff"] = abs(model.evaluate(X, Y, verbose=0)[0] - single.evaluate(X, Y, verbose=0)[0])
out["dp_predict_diff"] = float(np.max(np.abs(model.predict(X, verbose=0) - single.predict(X, verbose=0))))

# A data set smaller than the batch (20 rows) is padded up to a multiple of 8 rather than refused.
out["dp_small_eval_diff"] = abs(model.evaluate(X[:20], Y[:20], verbose=0)[0]
                                - single.evaluate(X[:20], Y[:20], verbose=0)[0])
out["dp_small_test_on_batch_diff"] = diff(model.test_on_batch(X[:30], Y[:30]), single.test_on_batch(X[:30], Y[:30]))

# Two steps fused per call (stacked batches, split after the leading K axis).
model, loss = train(hl.distribute.DataParallel(), spe=2)
out["dp_spe2_loss_diff"] = diff(loss, single_loss)
out["dp_spe2_weight_diff"] = diff(model.get_weights(), w_single)

# No recompilation: a second fit compiles no train step; the first compiled it once.
model = make_model()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", distribution=hl.distribute.DataParallel())
with count_compilations() as first:
    model.fit(X, Y, batch_size=32, epochs=2, verbose=0)
with count_compilations() as second:
    model.fit(X, Y, batch_size=32, epochs=2, verbose=0)
out["first_fit_train_compiles"] = sum("train_step" in name for name in first)
out["second_fit_compiles"] = second

# The context manager: a compile inside the block picks the strategy up.
model = make_model()
with hl.distribute.DataParallel() as strategy:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
out["context_picked_up"] = model.trainer.distribution is strategy
model.fit(X, Y, batch_size=32, epochs=1, verbose=0)
out["context_kernel_devices"] = len(model.trainer.state.params["_layers"][0]["kernel"].get_value().sharding.device_set)
other = make_model()
other.compile(optimizer="adam", loss="mse")
out["context_left"] = other.trainer.distribution is None

# A batch size that does not divide over the devices.
try:
    model.fit(X, Y, batch_size=30, epochs=1, verbose=0)
    out["bad_batch_error"] = None
except ValueError as err:
    out["bad_batch_error"] = str(err)

# Fully sharded: weights and optimizer slots split; same training.
fs_model, loss = train(hl.distribute.FullySharded())
state = fs_model.trainer.state
out["fs_kernel_spec"] = spec_of(state.params["_layers"][0]["kernel"].get_value())
out["fs_bias_spec"] = spec_of(state.params["_layers"][1]["bias"].get_value())
slots = [spec_of(leaf) for leaf in jax.tree_util.tree_leaves(state.opt_state) if np.shape(leaf) == (6, 16)]
out["fs_slot_specs"] = slots
out["fs_loss_diff"] = diff(loss, single_loss)
rule = hl.distribute.FullySharded().weight_spec
out["fs_rule"] = [list(rule("k", shape)) for shape in [(16, 24), (24, 16), (3, 5), (3, 3, 4, 16)]]
out["fs_weight_diff"] = diff(fs_model.get_weights(), w_single)

# Model parallel on a 2 x 4 mesh: the first kernel split over "model", the batch over "data".
mesh = Mesh(np.asarray(jax.devices()).reshape(2, 4), ("data", "model"))
mp = hl.distribute.ModelParallel(mesh, layout={r"_layers/0/kernel$": P(None, "model")})
model, loss = train(mp)
out["mp_kernel_spec"] = spec_of(model.trainer.state.params["_layers"][0]["kernel"].get_value())
out["mp_loss_diff"] = diff(loss, single_loss)
out["mp_weight_diff"] = diff(model.get_weights(), w_single)

# Checkpoints of the sharded model restore onto one device.
with tempfile.TemporaryDirectory() as tmp:
    fs_model.save_weights(os.path.join(tmp, "w"))
    fs_model.save(os.path.join(tmp, "m"))
    restored = make_model()
    restored.load_weights(os.path.join(tmp, "w"))
    out["restore_weights_diff"] = diff(restored.get_weights(), fs_model.get_weights())
    loaded = hl.models.load_model(os.path.join(tmp, "m"))
    out["load_model_diff"] = diff(loaded.get_weights(), fs_model.get_weights())
    out["load_model_distribution"] = repr(loaded.trainer.distribution)
    loaded.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    out["loaded_kernel_spec"] = spec_of(loaded.trainer.state.params["_layers"][0]["kernel"].get_value())
    if len(sys.argv) > 1:  # the test loads this model again in a process with one device
        fs_model.save(os.path.join(sys.argv[1], "fully_sharded"))
        np.savez(os.path.join(sys.argv[1], "weights.npz"), *fs_model.get_weights())
    out["loaded_predict_diff"] = float(np.max(np.abs(restored.predict(X, verbose=0) - fs_model.predict(X, verbose=0))))

# A YAML run with trainer.distribution trains on the 8 devices.
from highlevel import config as cfg  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "run.yaml")
    with open(path, "w") as f:
        f.write("data: {source: digits, batch_size: 32, limit: 320}\n"
                "model: {layers: [{Flatten: {}}, {Dense: {units: 16, activation: relu}}, {Dense: {units: 10}}]}\n"
                "loss: {SparseCategoricalCrossentropy: {from_logits: true}}\n"
                "trainer: {epochs: 1, verbose: 0, distribution: {DataParallel: {}}}\n")
    run_dir = cfg.train(path, [f"output_dir={tmp}"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    out["yaml_loss"] = metrics["train"]["loss"]

print(json.dumps(out))
