"""hl.utils.get_file against keras.utils.get_file on file:// URLs (no network)."""

import hashlib
import os
import tarfile
import zipfile

import pytest

import highlevel as hl

keras = pytest.importorskip("keras")


@pytest.fixture
def sources(tmp_path):
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    (src / "inner" / "a.txt").write_text("alpha")
    (src / "b.txt").write_text("beta")
    with tarfile.open(tmp_path / "data.tar.gz", "w:gz") as tar:
        tar.add(src / "inner", arcname="inner")
        tar.add(src / "b.txt", arcname="b.txt")
    with zipfile.ZipFile(tmp_path / "pack.zip", "w") as z:
        z.write(src / "b.txt", "b.txt")
    return tmp_path


def _tree(root):
    return sorted((os.path.relpath(os.path.join(d, f), root), open(os.path.join(d, f)).read())
                  for d, _, fs in os.walk(root) for f in fs)


@pytest.mark.parametrize("kwargs", [
    dict(name="src/b.txt"), dict(name="src/b.txt", fname="renamed.txt", cache_subdir="sub"),
    dict(name="data.tar.gz", fname="data.tar.gz", extract=True), dict(name="data.tar.gz", extract=True),
    dict(name="data.tar.gz", fname="thing", untar=True), dict(name="pack.zip", extract=True, archive_format="zip")])
def test_paths_and_contents_match_keras(sources, tmp_path, kwargs):
    origin = (sources / kwargs.pop("name")).as_uri()
    (tmp_path / "theirs").mkdir()   # Keras falls back to /tmp/.keras for a cache_dir it cannot write yet
    ours = hl.utils.get_file(origin=origin, cache_dir=tmp_path / "ours", **kwargs)
    theirs = keras.utils.get_file(origin=origin, cache_dir=str(tmp_path / "theirs"), **kwargs)
    assert os.path.relpath(ours, tmp_path / "ours") == os.path.relpath(theirs, tmp_path / "theirs")
    if os.path.isdir(ours):
        assert _tree(ours) == _tree(theirs) and _tree(ours)
    else:
        assert open(ours).read() == open(theirs).read()


def test_hash_checks_and_cache(sources, tmp_path, capsys):
    origin = (sources / "src" / "b.txt").as_uri()
    sha = hashlib.sha256(b"beta").hexdigest()
    md5 = hashlib.md5(b"beta").hexdigest()
    assert hl.utils.get_file(origin=origin, cache_dir=tmp_path / "c", file_hash=sha)
    path = hl.utils.get_file(origin=origin, cache_dir=tmp_path / "c", md5_hash=md5)
    assert "Downloading" not in capsys.readouterr().out.split("\n", 1)[1]   # the second call used the cache
    open(path, "w").write("stale")
    hl.utils.get_file(origin=origin, cache_dir=tmp_path / "c", file_hash=sha)   # a stale cache is fetched again
    assert open(path).read() == "beta"
    with pytest.raises(ValueError, match="does not match the sha256 hash"):
        hl.utils.get_file(origin=origin, fname="x.txt", cache_dir=tmp_path / "c", file_hash="0" * 64)
    assert not os.path.exists(tmp_path / "c" / "datasets" / "x.txt")


def test_get_file_errors(sources, tmp_path):
    with pytest.raises(ValueError, match="needs the origin"):
        hl.utils.get_file("a.txt")
    with pytest.raises(ValueError, match="fname is a name, not a path"):
        hl.utils.get_file("a/b.txt", origin=(sources / "src" / "b.txt").as_uri(), cache_dir=tmp_path)
    with pytest.raises(OSError, match="could not download"):
        hl.utils.get_file(origin=(sources / "missing.txt").as_uri(), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="is not a auto archive|cannot extract"):
        hl.utils.get_file("b.txt", origin=(sources / "src" / "b.txt").as_uri(), cache_dir=tmp_path, extract=True)
