"""Saves, checkpoints and backups are checksummed: damage is refused naming the file, never loaded.

Every file of each kind of save is damaged in turn (one bit flipped; eight bytes
overwritten) and the load must either refuse with a message naming that file or give
exactly the saved weights. Leftovers of interrupted saves are cleaned up by the next
save or load, and a save moved aside by a crash between its two renames is put back.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import highlevel as hl
from highlevel.callbacks import BackupAndRestore, ModelCheckpoint

_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:40]  # as highlevel.utils.files names its temporaries

REPO = Path(__file__).resolve().parents[1]


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((24, 5)).astype(np.float32), rng.integers(0, 3, 24).astype(np.int32)


def _model():
    model = hl.Sequential([hl.Input((5,)), hl.layers.Dense(4, activation="relu"), hl.layers.Dense(3)])
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


@pytest.fixture(scope="module")
def saves(tmp_path_factory):
    """One save of each kind, from one trained model, and that model's weights."""
    root = tmp_path_factory.mktemp("saves")
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0,
              callbacks=[ModelCheckpoint(root / "checkpoint", monitor="loss", asynchronous=False),
                         BackupAndRestore(root / "backup_dir", delete_checkpoint=False)])
    model.save(root / "model")
    model.save_weights(root / "weights")
    return root, model.get_weights()


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.stat().st_size > 0)


def _flip_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _flip_eight_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = max(0, min(len(data) - 8, len(data) // 3))
    for i in range(at, min(at + 8, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _load(kind: str, path: Path):
    """The weights a load of ``path`` gives (the backup: the weights fit resumes with)."""
    if kind in ("model", "checkpoint"):
        return hl.models.load_model(path).get_weights()
    if kind == "weights":
        model = _model()
        model.load_weights(path)
        return model.get_weights()
    x, y = _data()
    model = _model()

    class Restored(Exception):
        pass

    class Stop(hl.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            raise Restored  # the backup is restored: stop before any step changes the weights

    with pytest.raises(Restored):
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Stop(), BackupAndRestore(path)])
    return model.get_weights()


@pytest.mark.filterwarnings("ignore:The backup in .* holds the state of callbacks")
@pytest.mark.parametrize("kind", ["model", "weights", "checkpoint", "backup"])
def test_every_damaged_file_of_a_save_is_refused_by_name(saves, kind, tmp_path):
    root, weights = saves
    source = root / ("backup_dir" if kind == "backup" else kind)
    inside = source / "latest" if kind == "backup" else source
    files = [f.relative_to(source) for f in _files(inside)]
    assert len(files) >= 5 and (inside / "MANIFEST.json").exists()
    np.testing.assert_array_equal(_load(kind, source)[0], weights[0])  # the undamaged save loads
    outcomes = []
    for rel in files:
        for damage in (_flip_bit, _flip_eight_bytes):
            copy = tmp_path / f"{damage.__name__}-{str(rel).replace('/', '_')}"
            shutil.copytree(source, copy)
            damage(copy / rel)
            try:
                loaded = _load(kind, copy)
            except (ValueError, FileNotFoundError) as err:
                message = str(err)
                damaged_name = "MANIFEST.json" if "MANIFEST.json is damaged" in message else rel.name
                assert damaged_name in message or str(copy / rel) in message, (rel, message)
                assert "\n" not in message and len(message) < 600, message
                outcomes.append("refused")
            else:
                for a, b in zip(loaded, weights):
                    np.testing.assert_array_equal(a, b)  # never other numbers
                outcomes.append("identical")
            shutil.rmtree(copy)
    assert outcomes.count("refused") == len(outcomes), outcomes


def test_a_missing_manifest_or_a_stray_file_is_refused(saves, tmp_path):
    root, _ = saves
    copy = tmp_path / "model"
    shutil.copytree(root / "model", copy)
    (copy / "notes.txt").write_text("added later")
    with pytest.raises(ValueError, match=r"notes\.txt is not part of the saved model .*does not list it"):
        hl.models.load_model(copy)
    (copy / "notes.txt").unlink()
    (copy / "state" / next(p.name for p in (copy / "state").iterdir() if p.is_file())).unlink()
    with pytest.raises(ValueError, match=r"is missing from the saved model"):
        hl.models.load_model(copy)
    (copy / "MANIFEST.json").unlink()
    with pytest.raises(ValueError, match=r"has no MANIFEST\.json, so it is an incomplete saved model"):
        hl.models.load_model(copy)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _leftover(parent: Path, prefix: str, pid: int, source: Path, suffix: str = "0123abcd") -> Path:
    path = parent / f"{prefix}{_HOST}-{pid}-{suffix}"
    shutil.copytree(source, path)
    return path


def test_leftovers_of_dead_writers_are_removed_by_the_next_save_or_load(saves, tmp_path):
    root, _ = saves
    model = hl.models.load_model(root / "model")
    target = tmp_path / "m"
    model.save(target)
    dead = _dead_pid()
    for i in range(3):
        _leftover(tmp_path, ".m.tmp-", dead, root / "model", f"0123abc{i}")
    legacy = tmp_path / ".m.tmp-89abcdef"   # written by an older highlevel, without an owner
    legacy.mkdir()
    alive = _leftover(tmp_path, ".m.tmp-", os.getpid(), root / "model")  # a save in progress
    hl.models.load_model(target)
    assert sorted(os.listdir(tmp_path)) == sorted(["m", alive.name])
    shutil.rmtree(alive)
    _leftover(tmp_path, ".m.ckpt-tmp-", dead, root / "model")
    model.save(target)
    assert os.listdir(tmp_path) == ["m"]


@pytest.mark.parametrize("finished_tmp", [False, True], ids=["old_copy", "finished_tmp"])
def test_a_save_moved_aside_between_its_two_renames_is_put_back(saves, tmp_path, finished_tmp):
    root, weights = saves
    dead = _dead_pid()
    # A kill between the renames: the previous copy moved aside, the new one not yet in place.
    _leftover(tmp_path, ".last.ckpt-old-", dead, root / "model")
    tmp = _leftover(tmp_path, ".last.ckpt-tmp-", dead, root / "model")
    if not finished_tmp:
        (tmp / "MANIFEST.json").unlink()   # killed before it finished writing
    with pytest.warns(UserWarning, match="moved aside by a save interrupted"):
        restored = hl.models.load_model(tmp_path / "last")
    np.testing.assert_array_equal(restored.get_weights()[0], weights[0])
    assert os.listdir(tmp_path) == ["last"]


def test_the_evaluate_command_finds_a_checkpoint_moved_aside(saves, tmp_path):
    from highlevel.config.inference import _trained_model
    root, weights = saves
    (tmp_path / "checkpoints").mkdir()
    _leftover(tmp_path / "checkpoints", ".last.ckpt-old-", _dead_pid(), root / "checkpoint")
    with pytest.warns(UserWarning, match="moved aside"):
        model = _trained_model(tmp_path)
    np.testing.assert_array_equal(model.get_weights()[0], weights[0])


_KILLED_SAVE = """
import os, signal, sys
import numpy as np
import orbax.checkpoint as ocp
import highlevel as hl
model = hl.Sequential([hl.Input((5,)), hl.layers.Dense(64), hl.layers.Dense(3)])
model.compile(optimizer="adam", loss="mse")
model.save(sys.argv[1])
real = ocp.PyTreeCheckpointer.save
def save(self, *args, **kwargs):
    real(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)   # killed after writing, before the manifest and the renames
ocp.PyTreeCheckpointer.save = save
model.save(sys.argv[1])
"""


def test_saves_killed_midway_leave_nothing_after_the_next_save(tmp_path):
    target = tmp_path / "model"
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(target)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    hidden = [n for n in os.listdir(tmp_path) if n.startswith(".")]
    # Each save first removed what the previous killed one left: only the last kill's remains.
    assert len(hidden) == 1 and hidden[0].startswith(".model.tmp-"), hidden
    model = hl.models.load_model(target)   # the save before each kill is whole
    model.save(target)
    assert os.listdir(tmp_path) == ["model"]
