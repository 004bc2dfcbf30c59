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
        if typ is int and isinstance(raw, float) and not raw.is_integer():
            raise ConfigError(f"{name}={raw!r} is not an integer")
        try:
            val = typ(float(raw)) if typ is int and isinstance(raw, str) and "e" in raw.lower() \
                else typ(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}={raw!r} is not a valid {typ.__name__}") from None
        if typ is float and val != val:
            raise ConfigError(f"{name}={raw!r}: NaN is not allowed")
        return val
    return raw


def make_config(cls, values: dict | None = None, overrides: list[str] | None = None):
    """``cls(**values)`` with every value type-checked, then ``key=value`` overrides applied."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    merged = dict(values or {})
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value; keys: {', '.join(sorted(fields))}")
        key, raw = item.split("=", 1)
        merged[key.strip()] = raw.strip()
    unknown = sorted(set(merged) - fields)
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(unknown)} for {cls.__name__}; "
                          f"valid: {', '.join(sorted(fields))}")
    return cls(**{k: _coerce(k, hints[k], v) for k, v in merged.items()})
