"""MkDocs hook: list every notebooks/*.ipynb under "Notebooks" in the nav.

``docs/notebooks`` is a link to the repository's ``notebooks/`` folder, so the
notebooks are rendered (by mkdocs-jupyter, not executed: they are committed without
outputs) without being copied; this hook fills the nav entry, in file-name order, so
that a new notebook needs no edit to ``mkdocs.yml``. Each page is titled by the
notebook's first heading.
"""

from __future__ import annotations

from pathlib import Path


def on_config(config):
    notebooks = sorted((Path(config["docs_dir"]) / "notebooks").glob("*.ipynb"))
    for item in config["nav"] or []:
        if isinstance(item, dict) and "Notebooks" in item:
            item["Notebooks"] = [f"notebooks/{p.name}" for p in notebooks]
    return config
