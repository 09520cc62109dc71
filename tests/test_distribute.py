"""hl.distribute: data-parallel, fully sharded and model-parallel training on 8 simulated devices.

The device count is fixed when jax starts, so the multi-device checks run once in a
subprocess (``tests/distribute_script.py``) and each test reads its results.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

import highlevel as hl
from highlevel import config as cfg

SCRIPT = Path(__file__).with_name("distribute_script.py")
TOL = 1e-5


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Where the 8-device script leaves a model it saved, for this 1-device process to load."""
    return tmp_path_factory.mktemp("saved")


@pytest.fixture(scope="module")
def results(saved):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, str(SCRIPT), str(saved)], env=env, capture_output=True, text=True,
                          timeout=300, cwd=SCRIPT.parent.parent)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_eight_devices_are_simulated(results):
    assert results["devices"] == 8


def test_data_parallel_matches_one_device(results):
    assert results["dp_loss_diff"] < TOL
    assert results["dp_weight_diff"] < TOL
    assert results["dp_eval_diff"] < TOL and results["dp_predict_diff"] < TOL
    assert results["dp_spe2_loss_diff"] < TOL and results["dp_spe2_weight_diff"] < TOL
    assert results["dp_small_eval_diff"] < TOL and results["dp_small_test_on_batch_diff"] < TOL


def test_data_parallel_replicates_weights_and_splits_batches(results):
    assert results["dp_kernel_devices"] == 8 and results["dp_kernel_replicated"]
    assert results["dp_batch_spec"] == ["data"]
    assert results["dp_batch_devices"] == 8 and results["dp_batch_shard_rows"] == [4]   # 32 rows / 8


def test_no_recompilation_per_step(results):
    assert results["first_fit_train_compiles"] == 1
    assert results["second_fit_compiles"] == []


def test_context_manager_selects_the_strategy(results):
    assert results["context_picked_up"] and results["context_kernel_devices"] == 8
    assert results["context_left"]


def test_batch_size_must_divide_over_the_devices(results):
    assert results["bad_batch_error"] == ("batch_size=30 does not divide over 8 devices of the mesh axis 'data'; "
                                          "use a multiple of 8 such as 32.")


def test_fully_sharded_shards_weights_and_trains_the_same(results):
    assert results["fs_kernel_spec"] == [None, "data"]          # (6, 16): 16 splits over 8
    assert results["fs_bias_spec"] == []                        # (3,): replicated
    assert results["fs_slot_specs"] == [[None, "data"], [None, "data"]]   # Adam's m and v follow
    assert results["fs_loss_diff"] < TOL and results["fs_weight_diff"] < TOL
    # the largest dimension that divides over 8 devices; nothing that does not
    assert results["fs_rule"] == [[None, "data"], ["data", None], [], [None, None, None, "data"]]


def test_model_parallel_layout(results):
    assert results["mp_kernel_spec"] == [None, "model"]
    assert results["mp_loss_diff"] < TOL and results["mp_weight_diff"] < TOL


def test_sharded_checkpoint_restores_on_one_device(results, saved):
    assert results["restore_weights_diff"] == 0.0 and results["load_model_diff"] == 0.0
    # In the 8-device process the model comes back with its saved strategy, sharded again.
    assert results["load_model_distribution"] == "FullySharded(mesh={'data': 8})"
    assert results["loaded_kernel_spec"] == [None, "data"]   # (6, 16): the 16 splits over 8
    # Here, on one device: the same weights, the strategy rebuilt on the one device, and it trains.
    loaded = hl.models.load_model(saved / "fully_sharded")
    expected = np.load(saved / "weights.npz")
    for w, k in zip(loaded.get_weights(), sorted(expected.files, key=lambda f: int(f.split("_")[1]))):
        np.testing.assert_array_equal(w, expected[k])
    assert repr(loaded.trainer.distribution) == "FullySharded(mesh={'data': 1})"
    x = np.random.default_rng(0).standard_normal((30, 6)).astype(np.float32)
    loaded.fit(x, np.zeros(30, np.int32), batch_size=30, epochs=1, verbose=0)  # one device: any batch size
    kernel = loaded.trainer.state.params["_layers"][0]["kernel"].get_value()
    assert len(kernel.sharding.device_set) == 1


def test_strategies_round_trip_through_get_config():
    for strategy in (hl.distribute.DataParallel(axis_name="batch"), hl.distribute.FullySharded(),
                     hl.distribute.ModelParallel({"data": 1, "model": -1}, layout={r"kernel$": P(None, "model")})):
        again = hl.distribute.get(json.loads(json.dumps(strategy.get_config())))
        assert type(again) is type(strategy) and again.get_config() == strategy.get_config()
        assert dict(again.mesh.shape) == dict(strategy.mesh.shape)
    assert hl.distribute.ModelParallel({"data": 1, "model": 1}).weight_spec("x/kernel", (4, 4)) == P()
    with pytest.raises(ValueError, match="needs 4 devices but 1 are present"):
        hl.distribute.ModelParallel({"data": 2, "model": 2})
    with pytest.raises(ValueError, match="at most one -1"):
        hl.distribute.ModelParallel({"data": -1, "model": -1})


def test_a_saved_strategy_that_does_not_fit_is_dropped_with_a_warning(tmp_path):
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    model.compile("sgd", "mse", distribution=hl.distribute.DataParallel())
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["compile_config"]["distribution"] == {"DataParallel": {"axis_name": "data"}}
    config["compile_config"]["distribution"] = {"ModelParallel": {"mesh": {"data": 2, "model": 4}}}
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    from highlevel.utils.manifest import write_manifest
    write_manifest(tmp_path / "m")  # as if saved so (an edited file is refused otherwise)
    with pytest.warns(UserWarning, match="cannot hold"):
        loaded = hl.models.load_model(tmp_path / "m")
    assert loaded.trainer.distribution is None


def test_global_batch_must_divide_over_processes():
    class TwoProcesses(hl.distribute.DataParallel):
        data_processes = 2
    strategy = TwoProcesses()
    assert strategy.local_batch_size(64) == 32 and strategy.local_batch_size(None) == 16
    with pytest.raises(ValueError, match="batch_size=33 is the global batch, split over 2 processes"):
        strategy.local_batch_size(33)


def test_shard_cuts_equal_blocks_and_checks_its_input():
    x, y = np.arange(11), np.arange(11) * 10
    blocks = [hl.distribute.shard((x, y), index=i, count=3) for i in range(3)]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in blocks]), np.arange(9))
    np.testing.assert_array_equal(blocks[2][1], [60, 70, 80])
    assert hl.distribute.shard({"a": x}, index=0, count=1)["a"].shape == (11,)
    with pytest.raises(ValueError, match="same number of rows"):
        hl.distribute.shard((x, y[:5]))
    with pytest.raises(ValueError, match="cannot be shared by 4 processes"):
        hl.distribute.process_rows(3, index=0, count=4)
    with pytest.raises(ValueError, match="index=3 is not in 0..2"):
        hl.distribute.process_rows(9, index=3, count=3)


def test_yaml_distribution_trains(results):
    assert np.isfinite(results["yaml_loss"])


# -- in this process (one device) -----------------------------------------------------------


def test_get_by_name_and_unknown_name():
    assert isinstance(hl.distribute.get("data_parallel"), hl.distribute.DataParallel)
    assert isinstance(hl.distribute.get({"FullySharded": {}}), hl.distribute.FullySharded)
    assert hl.distribute.get(None) is None
    with pytest.raises(ValueError, match=r"Unknown distribution 'DataParalel'; use one of"):
        hl.distribute.get("DataParalel")


def test_layout_errors_name_the_weight():
    with pytest.raises(ValueError, match=r"names mesh axes \['tensor'\]"):
        hl.distribute.ModelParallel(layout={"kernel": P("tensor")})


def test_yaml_distribution_is_validated():
    base = {"model": {"layers": [{"Dense": {"units": 1}}]}, "loss": "mse"}
    ok = cfg.validate({**base, "trainer": {"distribution": {"DataParallel": {}}}})
    assert ok.trainer.distribution == {"DataParallel": {}}
    assert cfg.validate({**base, "trainer": {"distribution": "data_parallel"}}).trainer.distribution == {
        "data_parallel": {}}
    with pytest.raises(cfg.ConfigError, match=r"trainer\.distribution: .*unknown distribution 'Mirrored'"):
        cfg.validate({**base, "trainer": {"distribution": {"Mirrored": {}}}})
    with pytest.raises(cfg.ConfigError, match=r"DataParallel has no argument 'layout'"):
        cfg.validate({**base, "trainer": {"distribution": {"DataParallel": {"layout": {}}}}})


def test_default_path_has_no_distribution():
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert model.trainer.distribution is None


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_one_model_like_a_single_process(tmp_path):
    """Two processes joined by jax.distributed over loopback (gloo CPU collectives), each
    feeding only its own block of rows, end with identical weights, equal to one process
    training on the same global batches; files are written once, by process 0."""
    import json
    import os
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(__file__), "multiprocess_script.py")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
               XLA_FLAGS="", JAX_PLATFORMS="cpu")
    single = subprocess.run([sys.executable, script, "0", "1", "0", str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]

    def run_pair():
        """Both processes' (return codes, outputs); None for a code when the pair hung, and then
        both were killed so that their outputs show where each stood."""
        port = _free_port()
        procs = [subprocess.Popen([sys.executable, script, str(i), "2", str(port), str(tmp_path)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for i in range(2)]
        try:
            outputs = [p.communicate(timeout=240)[0] for p in procs]
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            outputs = [p.communicate()[0] for p in procs]
            return [None, None], outputs
        return [p.returncode for p in procs], outputs

    # Once on 2026-12-06 the pair hung after connecting, under a full suite's load on 2 cores
    # (one of five full runs); a hang is retried once, on a fresh port, and a second one fails.
    codes, outputs = run_pair()
    if None in codes:
        import shutil
        shutil.rmtree(tmp_path / "files", ignore_errors=True)   # the files a hung pair began
        codes, outputs = run_pair()
    assert codes == [0, 0], outputs
    p0, p1, one = (np.load(tmp_path / f) for f in ("p0.npz", "p1.npz", "single.npz"))
    assert int(p0["process_count"]) == 2 and int(p0["devices"]) == 2 and int(one["process_count"]) == 1
    # Each process held only its own 128 rows, different from the other's.
    assert len(p0["x"]) == len(p1["x"]) == 128 and not np.array_equal(p0["x"], p1["x"])
    weights = [k for k in p0.files if k.startswith("arr_")]
    for k in weights:
        np.testing.assert_array_equal(p0[k], p1[k])
        np.testing.assert_allclose(p0[k], one[k], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p0["loss"], one["loss"], rtol=1e-5)
    assert p0["loss"][-1] < p0["loss"][0]
    # evaluate's metrics cover both processes' rows: the same number in both, equal to one process's.
    assert float(p0["evaluated_loss"]) == float(p1["evaluated_loss"])
    np.testing.assert_allclose(p0["evaluated_loss"], one["evaluated_loss"], rtol=1e-5)
    # predict returns each process its own rows' predictions.
    for p in (p0, p1):
        rows = [np.flatnonzero((one["x"] == r).all(axis=1))[0] for r in p["x"]]
        np.testing.assert_allclose(p["predictions"], one["predictions"][rows], rtol=1e-5, atol=1e-5)
    # Files: written once, by process 0 (CSVLogger appends, so a second writer would double the rows).
    files = tmp_path / "files"
    lines = (files / "log.csv").read_text().splitlines()
    assert len(lines) == 1 + 3, lines
    assert (files / "backup" / "latest" / "backup.json").exists()
    assert len(list((files / "tensorboard" / "train").glob("events.out.tfevents.*"))) == 1
    assert [p.name for p in (files / "backup").iterdir()] == ["latest"]
    import highlevel as hl
    for saved in (files / "model", files / "checkpoint"):
        restored = hl.models.load_model(saved)
        for w, k in zip(restored.get_weights(), weights):
            np.testing.assert_array_equal(w, p0[k])
    # One configured run directory, chosen by process 0 and named the same in both processes.
    run_dirs = sorted((files / "runs").iterdir())
    assert len(run_dirs) == 1, run_dirs
    assert (tmp_path / "p0-run_dir.txt").read_text() == (tmp_path / "p1-run_dir.txt").read_text() == str(run_dirs[0])
    metrics = json.loads((run_dirs[0] / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["test"]["accuracy"] > 0.8
    assert (run_dirs[0] / "log.txt").exists() and (run_dirs[0] / "checkpoints" / "last").is_dir()

def test_only_process_zero_writes_logs(tmp_path, monkeypatch):
    """On a process other than 0, TensorBoard is left out and CSVLogger writes nothing; the
    model still trains (checkpoints go through on_chief, which the two-process test covers)."""
    import jax
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.ones((8, 3), np.float32)
    monkeypatch.setattr(jax, "process_index", lambda *a: 1)
    model.fit(x, x[:, :1], epochs=2, verbose=0,
              callbacks=[hl.callbacks.TensorBoard(str(tmp_path / "tb")), hl.callbacks.CSVLogger(str(tmp_path / "log.csv"))])
    assert not (tmp_path / "tb").exists() and not (tmp_path / "log.csv").exists()
    monkeypatch.undo()
    model.fit(x, x[:, :1], epochs=2, verbose=0,
              callbacks=[hl.callbacks.TensorBoard(str(tmp_path / "tb")), hl.callbacks.CSVLogger(str(tmp_path / "log.csv"))])
    assert (tmp_path / "tb").is_dir() and len((tmp_path / "log.csv").read_text().splitlines()) == 3
