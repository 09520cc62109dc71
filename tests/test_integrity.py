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


# -- Keras's files: the .weights.h5 file and the .keras zip ----------------------------------------


def _dataset_regions(path: Path) -> list[tuple[int, int]]:
    import h5py
    regions = []
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: regions.append((obj.id.get_offset(), obj.id.get_storage_size()))
                     if isinstance(obj, h5py.Dataset) and obj.id.get_offset() is not None else None)
    return regions


def test_a_weights_h5_file_carries_the_sha256_of_its_weights_and_damage_is_refused(saves, tmp_path):
    import h5py
    import jax
    import keras
    model = _model()
    model.set_weights(saves[1])
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        assert len(f.attrs["highlevel.sha256"]) == 64
    with jax.numpy_rank_promotion("allow"):   # Keras reads the file, ignoring the attribute
        kmodel = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3)])
        kmodel.load_weights(path)
        for a, b in zip(kmodel.get_weights(), saves[1]):
            np.testing.assert_array_equal(np.asarray(a), b)
    data = path.read_bytes()
    # Every byte of each array, and bytes spread over the rest of the file, flipped in turn.
    positions = {at + i for at, size in _dataset_regions(path) for i in range(0, size, 3)}
    positions |= set(range(0, len(data), max(1, len(data) // 50)))
    bad = tmp_path / "bad.weights.h5"
    outcomes = []
    for at in sorted(positions):
        damaged = bytearray(data)
        damaged[at] ^= 0x40
        bad.write_bytes(bytes(damaged))
        model = _model()
        try:
            model.load_weights(bad)
        except ValueError as err:
            message = str(err)
            assert str(bad) in message and "\n" not in message and len(message) < 600, (at, message)
            outcomes.append("refused")
        else:
            for a, b in zip(model.get_weights(), saves[1]):
                np.testing.assert_array_equal(a, b, err_msg=f"byte {at} flipped: other numbers loaded")
            outcomes.append("identical")
    assert outcomes.count("refused") >= len(_dataset_regions(path)) * 3, outcomes
    region, size = max(_dataset_regions(path), key=lambda r: r[1])
    damaged = bytearray(data)
    damaged[region + size // 2] ^= 0x40
    bad.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"bad\.weights\.h5 is damaged: its weights differ from the SHA-256 "
                                         r"recorded in it when it was written; use another copy, or save"):
        _model().load_weights(bad)
    # A file without the attribute (as Keras writes them) loads unchecked.
    with h5py.File(bad, "a") as f:
        del f.attrs["highlevel.sha256"]
    _model().load_weights(bad)


def test_a_damaged_entry_of_a_keras_zip_is_refused_naming_the_file(saves, tmp_path):
    import zipfile
    model = hl.models.load_model(saves[0] / "model")
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("model.weights.h5")
        at = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    damaged = bytearray(path.read_bytes())
    damaged[at] ^= 0x40
    path.write_bytes(bytes(damaged))
    message = r"m\.keras is not a readable \.keras file \(the zip is truncated or damaged: Bad CRC-32 .*save the model"
    with pytest.raises(ValueError, match=message):
        hl.models.load_model(path)
    with pytest.raises(ValueError, match=message):
        _model().load_weights(path)


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5"])
def test_temporary_files_of_killed_saves_are_removed_by_the_next_save_or_load(saves, tmp_path, name):
    model = hl.models.load_model(saves[0] / "model")
    target = tmp_path / name
    save = model.save_weights if name.endswith(".weights.h5") else model.save
    load = (lambda: _model().load_weights(target)) if name.endswith(".weights.h5") else \
        (lambda: hl.models.load_model(target))
    dead = _dead_pid()

    def leftovers():
        for owner in (f"{_HOST}-{dead}-0123abcd", f"{_HOST}-{dead}-4567cdef", "89abcdef"):  # the last: no owner
            (tmp_path / f".{name}.tmp-{owner}").write_bytes(b"half a file")
        alive = tmp_path / f".{name}.tmp-{_HOST}-{os.getpid()}-fedcba98"   # a save in progress
        alive.write_bytes(b"being written")
        return alive

    alive = leftovers()
    save(target)
    assert sorted(os.listdir(tmp_path)) == sorted([name, alive.name])
    alive.unlink()
    alive = leftovers()
    load()
    assert sorted(os.listdir(tmp_path)) == sorted([name, alive.name])


_KILLED_FILE_SAVE = """
import os, signal, sys
import highlevel as hl
from highlevel.models import keras_layout
model = hl.Sequential([hl.Input((5,)), hl.layers.Dense(64), hl.layers.Dense(3)])
save = model.save_weights if sys.argv[1].endswith(".weights.h5") else model.save
save(sys.argv[1])
real = keras_layout.write_h5
def write_h5(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)   # killed while the temporary file is being written
keras_layout.write_h5 = write_h5
save(sys.argv[1])
"""


def test_a_weights_file_save_killed_midway_keeps_the_previous_file_and_the_next_load_removes_its_leftover(tmp_path):
    target = tmp_path / "m.weights.h5"
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", _KILLED_FILE_SAVE, str(target)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    hidden = [n for n in os.listdir(tmp_path) if n.startswith(".")]
    assert len(hidden) == 1 and hidden[0].startswith(".m.weights.h5.tmp-"), hidden
    model = hl.Sequential([hl.Input((5,)), hl.layers.Dense(64), hl.layers.Dense(3)])
    assert model.load_weights(target).complete   # the save before the kill is whole
    assert os.listdir(tmp_path) == ["m.weights.h5"]   # the load removed the leftover
