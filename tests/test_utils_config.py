"""hl.utils.Config against keras.utils.Config: the same values, order, errors and JSON."""

from __future__ import annotations

import keras
import pytest

import highlevel as hl


def _run(cls):
    """A script of reads, writes and failures; what it saw, step by step."""
    seen = []

    def attempt(fn):
        try:
            seen.append(("ok", fn()))
        except Exception as err:  # noqa: BLE001 - the error's type and text are what is compared
            seen.append((type(err).__name__, str(err)))

    config = cls(learning_rate=0.1, momentum=0.9)
    config.use_ema = True
    config["seed"] = 123
    attempt(lambda: (config.learning_rate, config["seed"], config.use_ema, config.get("nope", 7)))
    attempt(lambda: (list(config), list(config.keys()), list(config.values()), len(config), "seed" in config))
    attempt(lambda: config.learning_rat)
    attempt(lambda: config.zzz)
    attempt(lambda: config["zzz"])
    attempt(lambda: (config.as_dict(), config.to_json(), repr(config)))
    attempt(lambda: (config.update(momentum=0.5), config.pop("use_ema"), config.pop("gone", None)))
    config.freeze()
    attempt(lambda: config.frozen)
    for mutate in (lambda: setattr(config, "seed", 1), lambda: config.__setitem__("seed", 1),
                   lambda: config.update(seed=1), lambda: config.pop("seed"), lambda: config.__delitem__("seed")):
        attempt(mutate)
    attempt(lambda: (config.seed, config.frozen))
    config.unfreeze()
    del config["seed"]
    config.seed = 5
    attempt(lambda: (config.as_dict(), config.frozen, list(config.items())))
    attempt(lambda: cls(f=object()).to_json())
    return seen


def test_same_behaviour_as_keras():
    ours, theirs = _run(hl.utils.Config), _run(keras.utils.Config)
    assert [step[0] for step in ours] == [step[0] for step in theirs]
    for a, b in zip(ours, theirs):
        if a[0] == "ok":
            assert a == b
        else:
            assert a[1].replace("highlevel", "keras") == b[1] or a[0] == b[0] == "TypeError"


def test_messages():
    config = hl.utils.Config(batch_size=8)
    with pytest.raises(AttributeError, match=r"Unknown attribute: 'batch_sise'. Did you mean 'batch_size'\?"):
        config.batch_sise
    config.freeze()
    with pytest.raises(ValueError, match="config is frozen"):
        config.batch_size = 4
    assert config.batch_size == 8
    assert isinstance(config.as_dict(), dict) and config.as_dict() is not config.as_dict()
