"""Grain datasets in fit/evaluate/predict: the same numbers as arrays, exact resumption, process shards.

The reference for every number is the in-memory (array) path on the same rows in the
same order, which other tests hold against Keras.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

grain = pytest.importorskip("grain")

import highlevel as hl  # noqa: E402
from highlevel.training.grain_adapter import GrainAdapter, GrainData  # noqa: E402
from tests.compile_count import count_compilations  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("grain_resume_script.py")


def _data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = ((x[:, 0] + x[:, 1] > 0).astype(np.int32) + (x[:, 2] > 1).astype(np.int32))
    return x, y


def _records(x, y, sw=None):
    rows = [(x[i], y[i]) if sw is None else (x[i], y[i], sw[i]) for i in range(len(x))]
    return grain.MapDataset.source(rows)


def _model():
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"),
                           hl.layers.BatchNormalization(), hl.layers.Dropout(0.3), hl.layers.Dense(3)])
    model.compile(optimizer=hl.optimizers.Adam(0.01), metrics=["accuracy"],
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _assert_same_weights(a, b):
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


class _Params(hl.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seen = dict(self.params)


# -- the same numbers as arrays ------------------------------------------------------------------


def test_records_train_to_the_weights_of_arrays_in_the_same_order():
    x, y = _data()
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(x)).astype(np.float32)
    reference = _model()
    ref_history = reference.fit(x, y, sample_weight=sw, batch_size=16, epochs=2, shuffle=False, verbose=0,
                                class_weight={0: 1.0, 1: 2.0, 2: 0.5})
    model = _model()
    params = _Params()
    with count_compilations() as compiled:
        history = model.fit(_records(x, y, sw), batch_size=16, epochs=2, shuffle=False, verbose=0,
                            callbacks=[params], class_weight={0: 1.0, 1: 2.0, 2: 0.5})
    # 100 rows in batches of 16: the last of 7 batches has 4 rows, padded and masked, and
    # adds no compilation.
    assert params.seen["steps"] == 7 and params.seen["batch_size"] == 16
    assert sorted(name for name in compiled if "step" in name) == ["jit(train_step)"], compiled
    _assert_same_weights(model, reference)
    assert history.history["loss"] == ref_history.history["loss"]


def test_evaluate_and_predict_read_grain_records_and_batches():
    x, y = _data(45)
    model = _model()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    expected = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert model.evaluate(_records(x, y), batch_size=16, verbose=0, return_dict=True) == expected
    assert model.evaluate(_records(x, y).batch(16), verbose=0, return_dict=True) == expected
    predictions = model.predict(x, batch_size=16, verbose=0)
    np.testing.assert_array_equal(model.predict(_records(x, y), batch_size=16, verbose=0), predictions)
    # predict takes records of x alone too (and drops the padding of the last batch).
    np.testing.assert_array_equal(model.predict(grain.MapDataset.source(list(x)), batch_size=16, verbose=0),
                                  predictions)


def test_a_batched_dataset_is_used_as_keras_uses_it():
    x, y = _data()
    reference = _model()
    reference.fit(_records(x, y), batch_size=16, epochs=2, shuffle=False, verbose=0)
    model = _model()
    params = _Params()
    model.fit(_records(x, y).batch(16), epochs=2, verbose=0, callbacks=[params])
    assert params.seen["steps"] == 7  # a batched MapDataset has a length: the progress bar's total
    _assert_same_weights(model, reference)
    # An IterDataset has no length; its batches are padded the same way.
    model = _model()
    model.fit(_records(x, y).to_iter_dataset().batch(16), epochs=2, verbose=0)
    _assert_same_weights(model, reference)


def test_shuffled_records_see_every_row_once_per_epoch_in_a_new_order():
    adapter = GrainAdapter(_records(*_data(37)), batch_size=8, shuffle=True, seed=5)
    epochs = []
    for epoch in range(2):
        batches = list(adapter.batches(epoch))
        assert len(batches) == adapter.num_batches == 5
        rows = np.concatenate([b.x[b.mask > 0, 0] for b in batches])
        np.testing.assert_array_equal(np.sort(rows), np.sort(_data(37)[0][:, 0]))
        epochs.append(rows)
    assert not np.array_equal(epochs[0], epochs[1])
    again = GrainAdapter(_records(*_data(37)), batch_size=8, shuffle=True, seed=5)
    np.testing.assert_array_equal(np.concatenate([b.x[b.mask > 0, 0] for b in again.batches(1)]), epochs[1])
    adapter.close()


def test_records_a_filter_drops_are_left_out_of_their_batch():
    x, y = _data(20)
    kept = _records(x, y).filter(lambda r: r[1] != 1)   # a filtered MapDataset gives None for dropped rows
    batches = list(GrainAdapter(kept, batch_size=8).batches(0))
    rows = np.concatenate([b.x[b.mask > 0] for b in batches])
    np.testing.assert_array_equal(rows, x[y != 1])
    assert all(b.x.shape == (8, 6) for b in batches)


def test_steps_per_execution_groups_grain_batches():
    x, y = _data()
    reference = _model()
    reference.fit(_records(x, y), batch_size=16, epochs=2, shuffle=True, verbose=0)
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"),
                           hl.layers.BatchNormalization(), hl.layers.Dropout(0.3), hl.layers.Dense(3)])
    model.compile(optimizer=hl.optimizers.Adam(0.01), metrics=["accuracy"], steps_per_execution=3,
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(_records(x, y), batch_size=16, epochs=2, shuffle=True, verbose=0)
    for u, v in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_worker_processes_read_the_same_batches_as_threads():
    x, y = _data(40)
    threads = [tuple(b) for b in GrainAdapter(_records(x, y), batch_size=16, shuffle=True).batches(0)]
    adapter = GrainAdapter(GrainData(_records(x, y), worker_count=1), batch_size=16, shuffle=True)
    try:
        workers = [tuple(b) for b in adapter.batches(0)]
        again = [tuple(b) for b in adapter.batches(1)]   # the same iterator (and worker) goes on
    finally:
        adapter.close()
    assert len(workers) == len(threads) == 3
    for a, b in zip(workers, threads):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    assert not np.array_equal(again[0][0], workers[0][0])


# -- exact resumption ----------------------------------------------------------------------------


def test_the_grain_iterator_state_says_where_a_stream_resumes():
    x, y = _data(64)
    # A pipeline whose position is not a count of batches alone: shuffled, randomly augmented.
    stream = _records(x, y).shuffle(seed=3).random_map(
        lambda r, g: (r[0] + g.standard_normal(6).astype(np.float32), r[1]), seed=7).to_iter_dataset().batch(8)
    adapter = GrainAdapter(stream, steps=8)
    full = list(adapter.batches(0))
    state = adapter.state_after(0, 3)
    assert state["epoch"] == 0 and state["step"] == 3 and state["iterator"] == {"next_index": 24}
    json.dumps(state)   # goes into a backup's JSON
    resumed = GrainAdapter(stream, steps=8)
    resumed.set_state(state)
    rest = list(resumed.batches(0, start=3))
    assert len(rest) == 5
    for a, b in zip(rest, full[3:]):
        np.testing.assert_array_equal(a.x, b.x)
    # The state, not a count of batches skipped, positions it: another state, other batches.
    moved = GrainAdapter(stream, steps=8)
    moved.set_state({**state, "iterator": {"next_index": 32}})
    np.testing.assert_array_equal(next(iter(moved.batches(0, start=3))).x, full[4].x)


def _run_script(out: Path, *args: str, killed: bool = False) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONHASHSEED="0", PYTHONPATH=str(REPO),
               XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    proc = subprocess.run([sys.executable, str(SCRIPT), str(out), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    if killed:
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
        assert not out.exists()
        return {}
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as data:
        return dict(data)


@pytest.mark.parametrize("pipeline", ["records", "iter"])
def test_a_fit_on_grain_data_killed_mid_epoch_resumes_bit_for_bit(tmp_path, pipeline):
    reference = _run_script(tmp_path / "ref.npz", "--pipeline", pipeline)
    backup = tmp_path / "backup"
    common = ["--pipeline", pipeline, "--backup-dir", str(backup), "--save-freq", "4"]
    # 7 steps an epoch, 21 in all; killed after step 10, the backup is of step 8: epoch 1, step 1.
    _run_script(tmp_path / "killed.npz", *common, "--kill-at-step", "10", killed=True)
    meta = json.loads((backup / "latest" / "backup.json").read_text())
    assert (meta["epoch"], meta["step"]) == (1, 1)
    assert meta["data_state"]["iterator"] == ({"next_index": 8} if pipeline == "records" else {"next_index": 16})
    resumed = _run_script(tmp_path / "resumed.npz", *common)
    assert reference["steps"] == 21 and resumed["steps"] == 13   # it went on from the backup
    np.testing.assert_array_equal(resumed["loss"], reference["loss"][1:])
    for k in reference:
        if k.startswith("arr_"):
            np.testing.assert_array_equal(resumed[k], reference[k])


# -- several processes ---------------------------------------------------------------------------


def _shard(x, y, index, count, drop_remainder=False, **kw):
    options = grain.sharding.ShardOptions(index, count, drop_remainder=drop_remainder)
    return GrainAdapter(GrainData(_records(x, y), shard_options=options), **kw)


def test_records_are_split_over_processes_in_blocks_with_equal_steps():
    x, y = _data(37)
    shards = [_shard(x, y, i, 2, batch_size=8, shuffle=True, seed=2) for i in range(2)]
    assert [s.num_batches for s in shards] == [3, 3]   # 19 and 18 rows: both run 3 steps
    seen = []
    for i, adapter in enumerate(shards):
        batches = list(adapter.batches(0))
        assert len(batches) == 3 and all(b.x.shape == (8, 6) for b in batches)
        assert [int(b.mask.sum()) for b in batches] == [8, 8, 3 - i]
        rows = np.concatenate([b.x[b.mask > 0, 0] for b in batches])
        block = x[:19, 0] if i == 0 else x[19:, 0]      # process i reads the i-th block only
        np.testing.assert_array_equal(np.sort(rows), np.sort(block))
        seen.append(rows)
    assert len(np.intersect1d(seen[0], seen[1])) == 0
    # drop_remainder: 18 rows each, the 37th left out.
    dropped = [_shard(x, y, i, 2, drop_remainder=True, batch_size=8) for i in range(2)]
    assert [int(sum(b.mask.sum() for b in d.batches(0))) for d in dropped] == [18, 18]
    # A process whose block is a whole batch shorter gets a padding batch, weight 0.
    short = [_shard(x[:17], y[:17], i, 2, batch_size=8) for i in range(2)]
    assert [[int(b.mask.sum()) for b in s.batches(0)] for s in short] == [[8, 1], [8, 0]]
    assert float(list(short[1].batches(0))[1].sample_weight.sum()) == 0.0


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_read_their_own_blocks_and_train_like_one(tmp_path):
    """Two processes joined over loopback (gloo), each passed all the records and the global batch,
    read their own halves (ShardByJaxProcess) and end with the weights of one process that reads
    the same global batches."""
    script = str(Path(__file__).with_name("grain_multiprocess_script.py"))
    env = dict(os.environ, PYTHONPATH=str(REPO), XLA_FLAGS="", JAX_PLATFORMS="cpu")
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, script, str(i), "2", str(port), str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    single = subprocess.run([sys.executable, script, "0", "1", "0", str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=300)
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert single.returncode == 0, single.stderr[-2000:]
    p0, p1, one = (np.load(tmp_path / f) for f in ("p0.npz", "p1.npz", "single.npz"))
    assert int(p0["process_count"]) == 2 and int(one["process_count"]) == 1
    for k in (k for k in p0.files if k.startswith("arr_")):
        np.testing.assert_array_equal(p0[k], p1[k])
        np.testing.assert_allclose(p0[k], one[k], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p0["loss"], one["loss"], rtol=1e-5)
    np.testing.assert_allclose(p0["evaluated_loss"], one["evaluated_loss"], rtol=1e-5)


def test_one_process_reads_every_record_by_default():
    x, y = _data(20)
    adapter = GrainAdapter(_records(x, y), batch_size=8)
    assert (adapter.shard_index, adapter.shard_count) == (jax.process_index(), jax.process_count()) == (0, 1)
    assert sum(int(b.mask.sum()) for b in adapter.batches(0)) == 20


# -- mistakes --------------------------------------------------------------------------------------


def test_grain_mistakes_are_named_with_their_fix():
    x, y = _data(20)
    model = _model()
    with pytest.raises(ValueError, match="x is a batched Grain dataset.*drop batch_size"):
        model.fit(_records(x, y).batch(4), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="When x is a Grain dataset, do not pass y"):
        model.fit(_records(x, y), y, verbose=0)
    with pytest.raises(ValueError, match=r"must be \(x, y\) or \(x, y, sample_weight\).*Map it to a tuple"):
        model.fit(grain.MapDataset.source([{"image": r, "label": 0} for r in x]), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="3 records, too few for 4 process shard"):
        _shard(x[:3], y[:3], 0, 4)
    with pytest.raises(ValueError, match="validation_split works only with array data"):
        model.fit(_records(x, y), validation_split=0.2, verbose=0)
