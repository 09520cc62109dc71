"""Reading a run config: safe, bounded YAML, dotted overrides (OmegaConf), validation (pydantic).

Every failure is a ``ConfigError`` naming the file and the key path; nothing here
writes anything. The file is refused above ``yaml_loader.MAX_BYTES`` and its aliases are
counted before they are expanded (``yaml_loader``), so neither a large file nor an alias
bomb can exhaust time or memory; an override's value is parsed by the same loader.
Interpolations (``${...}``) are never resolved: they stay strings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import BaseModel, ValidationError

from highlevel.config.check import semantic_mistakes
from highlevel.config.errors import ConfigError, did_you_mean, key_path
from highlevel.config.schema import RunConfig
from highlevel.config.yaml_loader import MAX_BYTES, YamlLimitError, load_bounded

__all__ = ["load_config", "read_yaml", "apply_overrides", "validate"]

#: Most characters of one ``key.path=value`` override.
MAX_OVERRIDE_CHARS = 10_000


def _parse(text: str, where: str) -> Any:
    """``text`` as YAML within the budget; errors name ``where`` and the line."""
    try:
        return load_bounded(text)
    except YamlLimitError as err:
        raise ConfigError(f"{where}: refused: {err}; a run config is far smaller. Write the values out "
                          "without aliases, or split the file.") from None
    except yaml.constructor.ConstructorError as err:
        mark = err.problem_mark
        place = f"{where}:{mark.line + 1}" if mark else where
        raise ConfigError(f"{place}: {err.problem} — configs are loaded safely, so Python object tags "
                          "(like !!python/object) are refused; write plain values and registered names.") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        place = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        raise ConfigError(f"{place}: YAML syntax error: {err.problem}"
                          + (f" ({err.context})" if err.context else "") + ".") from None
    except (yaml.YAMLError, RecursionError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"{where}: not readable as YAML ({first}); a config is a YAML text file.") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The YAML file as a dict, loaded safely and within size limits; errors give the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file. Check the path (configs/ holds the examples).")
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise ConfigError(f"{path}: refused: the file has {size:,} bytes, more than the {MAX_BYTES:,} a run "
                              "config may have; check that this is the config you meant.")
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the file ({err.strerror}).") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text file (byte {err.start} is not UTF-8); a run config is YAML "
                          "text, like the files in configs/.") from None
    data = _parse(text, str(path))
    if data is None:
        raise ConfigError(f"{path}: the file is empty; a run config needs at least a 'model' section.")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a run config must be a mapping of sections (seed, data, model, ...), "
                          f"got a {type(data).__name__}.")
    return data


def apply_overrides(data: dict[str, Any], overrides: Sequence[str], source: str = "overrides") -> dict[str, Any]:
    """Sets ``key.path=value`` overrides in ``data`` (OmegaConf's key paths, ``layers.0`` or ``layers[0]``
    for a list item; the value parsed as YAML, within the same budget as a file)."""
    if not overrides:
        return data
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException
    parsed = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{source}: the override {item!r} must look like key.path=value "
                              "(e.g. trainer.epochs=3).")
        if len(item) > MAX_OVERRIDE_CHARS:
            raise ConfigError(f"{source}: the override of {key.strip()} has {len(item):,} characters, more than "
                              f"{MAX_OVERRIDE_CHARS:,}; put large values in the config file.")
        parsed.append((key.strip(), _parse(value, f"{source}: the value of {key.strip()}") if value.strip() else None))
    try:
        merged = OmegaConf.create(data)
    except (OmegaConfBaseException, ValueError, TypeError) as err:
        raise ConfigError(f"{source}: cannot apply overrides to this config ({str(err).splitlines()[0]}).") from None
    for key, value in parsed:
        try:
            OmegaConf.update(merged, key, value, merge=True)
        except (OmegaConfBaseException, ValueError, TypeError, KeyError, IndexError) as err:
            reason = str(err).splitlines()[0] or type(err).__name__
            raise ConfigError(f"{source}: cannot set {key}: {reason}. A list item is addressed by its index, "
                              "as in model.layers.0.Dense.units=8, and must exist already.") from None
    return OmegaConf.to_container(merged, resolve=False)


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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:100] + f"... ({len(text):,} characters)"


# The parts of an error's location that name one of a union's alternatives, not a key:
# "constrained-int", "function-after[...]", "literal['auto']", "list[float]", "int", "str", ...
_UNION_TAGS = {"int", "float", "str", "bool", "none"}


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part.startswith(("function-", "constrained-"))
                                      or part in _UNION_TAGS)


def _schema_mistakes(err: ValidationError) -> tuple[list[str], set[str]]:
    """One line per key path that the schema refused (a union's alternatives are joined into one
    line: "Input should be a valid integer or 'auto'"), and the top-level sections concerned."""
    messages: dict[str, list[str]] = {}
    lines: dict[str, str] = {}
    sections = set()
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not _is_union_tag(p))
        path = key_path(loc)
        if loc:
            sections.add(str(loc[0]))
        if path in lines and path not in messages:
            continue   # an unknown key, a missing section or a validator's own sentence
        if e["type"] == "extra_forbidden":
            known = _fields_at(RunConfig, loc)
            lines[path] = (f"{path}: unknown key{did_you_mean(loc[-1], known)}"
                           + (f" Known keys here: {', '.join(known)}." if known else ""))
        elif e["type"] == "missing":
            lines[path] = f"{path}: this section is required."
        elif ((e["type"] == "model_type" or (e["type"] == "dict_type" and len(loc) > 1))
              and isinstance(e.get("input"), (str, int, float, bool))):
            # pydantic's "Input should be a valid dictionary or instance of DataConfig": name the form
            value = e.get("input")
            if len(loc) > 1 and isinstance(value, str):   # a bare name where {Name: {argument: value}} goes
                lines[path] = f"{path}: write it as a mapping, e.g. {{{value}: {{}}}}; got {_short(value)}."
            else:
                lines[path] = (f"{path}: write this section as a mapping of keys to values (key: value lines, "
                               f"or {{key: value, ...}}); got {_short(value)}.")
            messages.pop(path, None)
        elif e["type"] in ("value_error", "loggers"):
            # A validator's own sentence: pydantic prefixes "Value error, " to a ValueError's.
            text = e["msg"].removeprefix("Value error, ")
            if not text.endswith("."):
                text += f"; got {_short(e.get('input'))}."
            lines[path] = text if text.startswith((f"{path}:", f"{path}[")) else f"{path}: {text}"
            messages.pop(path, None)
        else:
            said = messages.setdefault(path, [])
            msg = e["msg"] if not said else e["msg"].removeprefix("Input should be ")
            if msg not in said:
                said.append(msg)
            lines[path] = f"{path}: {' or '.join(said)}; got {_short(e.get('input'))}."
    # A union alternative refused at the key itself ("Input should be a valid list") while another
    # one got further (loss_weights.a: "Input should be a valid number"): the further one is meant.
    for path in list(messages):
        if any(other.startswith((f"{path}.", f"{path}[")) for other in lines if other != path):
            del lines[path]
    return list(lines.values()), sections


def validate(data: dict[str, Any], source: str = "config") -> RunConfig:
    """A RunConfig from a dict, or one ConfigError listing every mistake, each with its key path.

    The schema (pydantic) checks keys and types; every named part (layers, optimizer,
    schedules, callbacks, losses, metrics) is then checked against what is registered
    and constructed from its values, also in sections next to a schema mistake.
    """
    config, mistakes, skip = None, [], set()
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as err:
        mistakes, skip = _schema_mistakes(err)
    sections = config.model_dump() if config is not None else data
    mistakes += semantic_mistakes(sections, skip)
    if mistakes:
        raise ConfigError("\n".join(f"{source}: {m}" for m in dict.fromkeys(mistakes)))
    return config


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Reads, overrides and validates a run config; raises ConfigError with the file and key path."""
    data = read_yaml(path)
    data = apply_overrides(data, overrides, source=f"{path} (overrides)")
    config = validate(data, source=str(path))
    if config.name is None:
        config = config.model_copy(update={"name": Path(path).stem})
    return config
