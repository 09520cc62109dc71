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
def results():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300,
                          cwd=SCRIPT.parent.parent)
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


def test_sharded_checkpoint_restores_on_one_device(results):
    assert results["restore_weights_diff"] == 0.0 and results["load_model_diff"] == 0.0
    assert results["load_model_distribution"] == "None"
    assert results["loaded_kernel_devices"] == 1 and results["loaded_predict_diff"] == 0.0


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
    assert model._trainer.distribution is None


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_one_model_like_a_single_process(tmp_path):
    """Two processes joined by jax.distributed over loopback (gloo CPU collectives) end with
    identical weights, equal to one process training on the same global batches."""
    import os
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(__file__), "multiprocess_script.py")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
               XLA_FLAGS="", JAX_PLATFORMS="cpu")
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, script, str(i), "2", str(port), str(tmp_path / f"p{i}.npz")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    single = subprocess.run([sys.executable, script, "0", "1", "0", str(tmp_path / "single.npz")], env=env,
                            capture_output=True, text=True, timeout=240)
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert single.returncode == 0, single.stderr[-2000:]
    p0, p1, one = (np.load(tmp_path / f) for f in ("p0.npz", "p1.npz", "single.npz"))
    assert int(p0["process_count"]) == 2 and int(p0["devices"]) == 2 and int(one["process_count"]) == 1
    weights = [k for k in p0.files if k.startswith("arr_")]
    for k in weights:
        np.testing.assert_array_equal(p0[k], p1[k])
        np.testing.assert_allclose(p0[k], one[k], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p0["loss"], one["loss"], rtol=1e-5)
    assert p0["loss"][-1] < p0["loss"][0]
