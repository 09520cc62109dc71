"""Reading a run config: safe YAML, dotted overrides (OmegaConf), validation (pydantic).

Every failure is a ``ConfigError`` naming the file and the key path; nothing here
writes anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import BaseModel, ValidationError

from highlevel.config.check import check_semantics
from highlevel.config.errors import ConfigError, did_you_mean, key_path
from highlevel.config.schema import RunConfig

__all__ = ["load_config", "read_yaml", "apply_overrides", "validate"]


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The YAML file as a dict, loaded safely (no Python tags); errors give the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file. Check the path (configs/ holds the examples).")
    text = path.read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as err:
        mark = err.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: {err.problem} — configs are loaded safely, so Python object tags "
                          "(like !!python/object) are refused; write plain values and registered names.") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML syntax error: {err.problem}"
                          + (f" ({err.context})" if err.context else "") + ".") from None
    if data is None:
        raise ConfigError(f"{path}: the file is empty; a run config needs at least a 'model' section.")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a run config must be a mapping of sections (seed, data, model, ...), "
                          f"got a {type(data).__name__}.")
    return data


def apply_overrides(data: dict[str, Any], overrides: Sequence[str], source: str = "overrides") -> dict[str, Any]:
    """Merges ``key.path=value`` overrides into ``data`` (OmegaConf's dotlist parsing and merging)."""
    if not overrides:
        return data
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException
    for item in overrides:
        if "=" not in item or item.startswith("="):
            raise ConfigError(f"{source}: the override {item!r} must look like key.path=value "
                              "(e.g. trainer.epochs=3).")
    try:
        merged = OmegaConf.merge(OmegaConf.create(data), OmegaConf.from_dotlist(list(overrides)))
        return OmegaConf.to_container(merged, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{source}: cannot apply the overrides {list(overrides)}: {err}".splitlines()[0]) from None


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The known keys of the pydantic model reached by following ``loc`` (minus its last part)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            return []
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return list(getattr(current, "model_fields", {}) or [])


def validate(data: dict[str, Any], source: str = "config") -> RunConfig:
    """A RunConfig from a dict, or a ConfigError naming the first problem's key path."""
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as err:
        messages = []
        for e in err.errors():
            loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
            path = key_path(loc)
            if e["type"] == "extra_forbidden":
                known = _fields_at(RunConfig, loc)
                messages.append(f"{source}: {path}: unknown key{did_you_mean(loc[-1], known)}"
                                + (f" Known keys here: {', '.join(known)}." if known else ""))
            elif e["type"] == "missing":
                messages.append(f"{source}: {path}: this section is required.")
            else:
                messages.append(f"{source}: {path}: {e['msg']}; got {e.get('input')!r}.")
        # Unions report one error per alternative: the first line is the clearest.
        raise ConfigError(messages[0] if len(set(m.split(':')[1] for m in messages)) == 1 else
                          "\n".join(dict.fromkeys(messages))) from None
    check_semantics(config, source)
    return config


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Reads, overrides and validates a run config; raises ConfigError with the file and key path."""
    data = read_yaml(path)
    data = apply_overrides(data, overrides, source=f"{path} (overrides)")
    config = validate(data, source=str(path))
    if config.name is None:
        config = config.model_copy(update={"name": Path(path).stem})
    return config
