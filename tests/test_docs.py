"""The documentation site builds with warnings as errors and documents the public API.

``mkdocs build --strict`` runs once per test session (20-35 s on 2 shared cores) into a
temporary folder, shared by the pytest-xdist workers; the tests then read the built HTML.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")
pytest.importorskip("mkdocs_jupyter")
pytest.importorskip("material")

ROOT = Path(__file__).resolve().parents[1]
API_MODULES = ["layers", "models", "callbacks", "losses", "metrics", "optimizers", "mixed_precision", "activations",
               "initializers", "regularizers", "constraints", "datasets", "applications", "distribute", "utils",
               "visualization", "backend", "training", "export", "serving", "ops", "random", "saving"]
GUIDES = ["getting_started", "functional_api", "masks_and_custom_models", "callbacks", "configs", "experiments", "transfer_learning",
          "distribution", "data", "numerics", "performance", "coming_from_keras", "coming_from_flax", "serving"]


def _build(site_dir: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    return {"returncode": proc.returncode, "seconds": time.perf_counter() - start,
            "log": (proc.stdout[-4000:] + "\n" + proc.stderr[-8000:])}


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    # Under pytest-xdist the workers share one build: the first to take the lock builds.
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    site_dir, result_file = root / "docs-site", root / "docs-site.json"
    with open(root / "docs-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result_file.exists():
            result_file.write_text(json.dumps(_build(site_dir)))
        result = json.loads(result_file.read_text())
    assert result["returncode"] == 0, f"mkdocs build --strict failed:\n{result['log']}"
    print(f"mkdocs build --strict took {result['seconds']:.1f} s")
    return site_dir


def _page(site: Path, *parts: str) -> str:
    path = site.joinpath(*parts, "index.html")
    assert path.is_file(), f"the site has no page {'/'.join(parts)}/"
    return path.read_text(encoding="utf-8")


def test_site_has_every_page(site):
    assert (site / "index.html").is_file()
    for name in ["hl", *API_MODULES]:
        html = _page(site, "api", name)
        assert 'class="doc doc-object' in html, f"api/{name}/ has no mkdocstrings output"
    for guide in GUIDES:
        _page(site, "guides", guide)
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        html = _page(site, "notebooks", notebook.stem)
        assert "jp-Notebook" in html or "jupyter-wrapper" in html, f"{notebook.name} was not rendered"
        assert f'href="notebooks/{notebook.stem}/"' in (site / "index.html").read_text(encoding="utf-8"), \
            f"{notebook.name} is not in the navigation"


def _public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:  # hl.layers re-exports by wildcard: its public classes and functions
        names = [n for n, v in vars(module).items()
                 if not n.startswith("_") and not type(v).__name__ == "module"]
    return [n for n in names if not n.startswith("__")]


def test_api_reference_lists_every_public_name(site):
    import highlevel as hl

    anchors = set()
    for name in ["hl", *API_MODULES]:
        anchors |= set(re.findall(r'id="(highlevel[\w.]*)"', _page(site, "api", name)))
    missing = []
    for name in _public_names(hl):
        if isinstance(getattr(hl, name), type(hl)):
            if name not in API_MODULES:
                missing.append(f"hl.{name} (no api/{name}/ page)")
        elif f"highlevel.{name}" not in anchors:
            missing.append(f"hl.{name}")
    for module_name in API_MODULES:
        module = importlib.import_module(f"highlevel.{module_name}")
        page = _page(site, "api", module_name)
        for name in _public_names(module):
            if f"highlevel.{module_name}.{name}" in anchors:
                continue
            # An alias (``l1 = L1``) has no entry of its own: its target must, and the page name it.
            target = getattr(module, name)
            if any(other != name and getattr(module, other, None) is target
                   and f"highlevel.{module_name}.{other}" in anchors for other in _public_names(module)) \
                    and f"<code>{name}</code>" in page:
                continue
            missing.append(f"hl.{module_name}.{name}")
    assert not missing, f"not in the API reference: {', '.join(missing)}"
