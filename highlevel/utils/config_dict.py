"""``Config``: Keras's dict-like container of named values (``keras.utils.Config``)."""

from __future__ import annotations

import copy
import difflib
import json
from typing import Any

__all__ = ["Config"]


class Config:
    """A dict-like container of named values, with attribute access, freezing and JSON, as Keras's.

    Values are set and read both as attributes (``config.seed``) and as items
    (``config["seed"]``); ``freeze()`` makes every later change raise a ``ValueError``
    until ``unfreeze()``. ``keys``, ``values``, ``items``, ``get``, ``pop``, ``update``,
    ``len``, ``in`` and ``del`` work as on a dict; iterating gives the keys sorted, as
    Keras's does. ``as_dict()`` is a shallow copy and ``to_json()`` the JSON of the values.
    An unknown attribute raises ``AttributeError`` naming the closest key; an unknown item,
    ``KeyError``.

    Args:
        **kwargs: the initial values.

    >>> config = Config(learning_rate=0.5, momentum=0.25)
    >>> config.seed = 123
    >>> config["optimizer"] = "adam"
    >>> config.learning_rate, config["seed"], list(config)
    (0.5, 123, ['learning_rate', 'momentum', 'optimizer', 'seed'])
    >>> config.freeze()
    >>> config.seed = 1
    Traceback (most recent call last):
    ...
    ValueError: Cannot mutate attribute(s) because the config is frozen.
    >>> config.learning_rat
    Traceback (most recent call last):
    ...
    AttributeError: Unknown attribute: 'learning_rat'. Did you mean 'learning_rate'?
    >>> config.to_json()
    '{"learning_rate": 0.5, "momentum": 0.25, "seed": 123, "optimizer": "adam"}'
    """

    # The names that are the object's own (its methods and fields), fixed after __init__:
    # any other attribute is a value of the config. None while __init__ runs.
    __attrs__ = None

    def __init__(self, **kwargs: Any):
        self._config = kwargs
        self._frozen = False
        self.__attrs__ = set(dir(self))

    @property
    def frozen(self) -> bool:
        """Whether the config is frozen."""
        return self._frozen

    def freeze(self) -> None:
        """Marks the config frozen: setting, updating or deleting a value raises ``ValueError``."""
        self._frozen = True

    def unfreeze(self) -> None:
        """Lets the config change again."""
        self._frozen = False

    def _raise_if_frozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict[str, Any]:
        """A shallow copy of the values, as a dict."""
        return copy.copy(self._config)

    def to_json(self) -> str:
        """The values as a JSON string (``json.dumps``; raises ``TypeError`` on what JSON cannot hold)."""
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def pop(self, *args):
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._raise_if_frozen()
        return self._config.update(*args, **kwargs)

    def get(self, keyname, value=None):
        return self._config.get(keyname, value)

    def __setattr__(self, name, value):
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            return object.__setattr__(self, name, value)
        self._raise_if_frozen()
        self._config[name] = value

    def __getattr__(self, name):
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            return object.__getattribute__(self, name)
        if name in self._config:
            return self._config[name]
        msg = f"Unknown attribute: '{name}'."
        closest = difflib.get_close_matches(name, self._config.keys(), n=1, cutoff=0.7)
        if closest:
            msg += f" Did you mean '{closest[0]}'?"
        raise AttributeError(msg)

    def __setitem__(self, key, item):
        self._raise_if_frozen()
        self._config[key] = item

    def __getitem__(self, key):
        return self._config[key]

    def __repr__(self) -> str:
        return f"<Config {self._config}>"

    def __iter__(self):
        yield from sorted(self._config.keys())

    def __len__(self) -> int:
        return len(self._config)

    def __delitem__(self, key):
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, item) -> bool:
        return item in self._config
