"""The method registry: the CLI, the app, the benchmark and the tests all read ``METHODS``.

Adding a method: write ``dalab/methods/<acronym>.py`` with a ``Method`` subclass and add one
line below.
"""
from __future__ import annotations

from .base import Latent, Method
from .bridge import Bridge
from .cdlm import CDLM
from .config import ConfigError, make_config, saved_values
from .dann import DANN
from .dfa import DFAEnt, DFAMCD
from .lstnet import LSTNet
from .source_only import SourceOnly
from .target_only import TargetOnly

METHODS: dict[str, type[Method]] = {cls.name: cls for cls in (
    SourceOnly,
    TargetOnly,
    DANN,
    CDLM,
    DFAEnt,
    DFAMCD,
    Bridge,
    LSTNet,
)}


class UnknownMethodError(ValueError):
    """A method name that is not registered; the message lists the registered ones."""


def list_methods() -> list[type[Method]]:
    return list(METHODS.values())


def get_method(name: str) -> type[Method]:
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownMethodError(f"unknown method {name!r}; valid: {', '.join(METHODS)}") from None


def build_method(name: str, *, input_shape, num_classes: int, config: dict | None = None,
                 overrides: list[str] | None = None, saved: bool = False) -> Method:
    """Rebuild a method from its spec (``Method.spec()``) with optional ``key=value`` overrides.
    ``saved=True``: ``config`` was read from a run (keys added since take their old values,
    :func:`dalab.methods.config.saved_values`)."""
    cls = get_method(name)
    cfg = make_config(cls.Config, saved_values(cls.Config, config) if saved else config,
                      overrides)
    return cls(cfg, input_shape=input_shape, num_classes=num_classes)


__all__ = ["METHODS", "ConfigError", "Latent", "Method", "UnknownMethodError", "build_method",
           "get_method", "list_methods"]
