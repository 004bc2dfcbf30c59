"""Typed configs: build from a dict (a run's config.json) or from ``key=value`` strings."""
from __future__ import annotations

import dataclasses
import typing


class ConfigError(ValueError):
    """A config key or value is invalid; the message lists what is valid."""


def _coerce(name: str, typ, raw):
    origin = typing.get_origin(typ)
    if origin is typing.Literal:
        choices = typing.get_args(typ)
        if raw not in choices:
            raise ConfigError(f"{name}={raw!r} is not valid; choose one of "
                              f"{', '.join(map(str, choices))}")
        return raw
    if typ is bool:
        if isinstance(raw, bool):
            return raw
        low = str(raw).strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}={raw!r} is not a boolean (true/false)")
    if typ in (int, float, str):
        if isinstance(raw, bool) and typ is not str:
            raise ConfigError(f"{name}={raw!r} is a boolean, not a {typ.__name__}")
        if typ is int and isinstance(raw, float) and not raw.is_integer():
            raise ConfigError(f"{name}={raw!r} is not an integer")
        try:
            val = typ(float(raw)) if typ is int and isinstance(raw, str) and "e" in raw.lower() \
                else typ(raw)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{name}={raw!r} is not a valid {typ.__name__}") from None
        if typ is float and val != val:
            raise ConfigError(f"{name}={raw!r}: NaN is not allowed")
        if typ is float and val in (float("inf"), float("-inf")):
            raise ConfigError(f"{name}={raw!r}: must be a finite number")
        return val
    return raw


MAX_INT = 2 ** 31 - 1  # no count in any config comes near it
MAX_WIDTH = 1 << 16   # a layer width or latent size above this would not fit in memory
WIDTH_WORDS = ("dim", "hidden", "width", "channels")
UNIT_WORDS = ("ema", "momentum", "decay")  # averaging factors: 0 <= value < 1


def _check_range(name: str, default, val):
    """Counts whose default is positive (batch sizes, widths, repeats) must be >= 1; rates,
    weights and factors whose default is >= 0 must be >= 0; no int above ``MAX_INT``."""
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        return
    if isinstance(val, int) and abs(val) > MAX_INT:
        raise ConfigError(f"{name}={val} is too large (at most {MAX_INT})")
    if isinstance(val, int) and any(w in name for w in WIDTH_WORDS) and val > MAX_WIDTH:
        raise ConfigError(f"{name}={val} is too large for a layer width or latent size (at "
                          f"most {MAX_WIDTH}; the weights would not fit in memory)")
    if isinstance(val, float) and any(w in name for w in UNIT_WORDS) and not 0 <= val < 1:
        raise ConfigError(f"{name}={val}: an averaging factor must be in [0, 1)")
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return
    if isinstance(val, int) and isinstance(default, int) and default >= 1 and val < 1:
        raise ConfigError(f"{name}={val}: must be >= 1")
    if default >= 0 and val < 0:
        raise ConfigError(f"{name}={val}: must be >= 0")


def saved_values(cls, values: dict | None) -> dict:
    """A config as saved in a run, completed for today's class: a key the class renamed
    (``cls.RENAMED``, old -> new) is read under its new name, and a key the class added later
    takes the value that reproduces the old behaviour (``cls.SAVED_BEFORE``), not today's
    default, so an old checkpoint loads and runs as it was trained."""
    merged = dict(values or {})
    for old_name, new_name in getattr(cls, "RENAMED", {}).items():
        if old_name in merged and new_name not in merged:
            merged[new_name] = merged.pop(old_name)
    for key, old in getattr(cls, "SAVED_BEFORE", {}).items():
        merged.setdefault(key, old)
    return merged


def make_config(cls, values: dict | None = None, overrides: list[str] | None = None):
    """``cls(**values)`` with every value type-checked, then ``key=value`` overrides applied."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    if isinstance(overrides, (str, bytes)) or (
            overrides is not None and not all(isinstance(o, str) for o in overrides)):
        raise ConfigError(f"overrides must be a list of 'key=value' strings, got "
                          f"{overrides!r}" + (f" (write [{overrides!r}])"
                                              if isinstance(overrides, str) else ""))
    merged = dict(values or {})
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value; keys: {', '.join(sorted(fields))}")
        key, raw = item.split("=", 1)
        merged[key.strip()] = raw.strip()
    renamed = {k: v for k, v in getattr(cls, "RENAMED", {}).items() if k in merged}
    if renamed:
        raise ConfigError("renamed config key(s): " + ", ".join(
            f"{k} is now {v}" for k, v in renamed.items()) + f" ({cls.__name__}; runs saved "
            f"under the old name still load)")
    unknown = sorted(set(merged) - fields)
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(unknown)} for {cls.__name__}; "
                          f"valid: {', '.join(sorted(fields))}")
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    values = {k: _coerce(k, hints[k], v) for k, v in merged.items()}
    sentinels = getattr(cls, "MINUS_ONE_MEANS_ALL", ())
    for k, v in values.items():
        if k in sentinels and v == -1:
            continue  # a count where -1 is documented as "all"
        _check_range(k, defaults.get(k), v)
    return cls(**values)
