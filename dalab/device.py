"""Devices and seeds: the bottom of the core (torch, numpy and the standard library only).

Everything that trains, loads or evaluates a model picks its device here, so ``train`` and
``runs`` need not import each other (until 2026-12 ``runs`` imported ``resolve_device`` from
``train`` late, an import cycle).
"""
from __future__ import annotations

import random

import numpy as np
import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" -> cuda, then mps, then cpu. An explicit device that is absent is an error."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None)
                                  and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for but is not available; use 'auto' or 'cpu'")
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """The global generators' states: ``{"python": ..., "numpy": ..., "torch": ByteTensor,
    "cuda": [ByteTensor, ...]}``. JSON-able except the tensors (see :mod:`dalab.checkpoint`)."""
    np_state = np.random.get_state()
    out = {"python": _jsonable(random.getstate()),
           "numpy": [np_state[0], np_state[1].tolist(), *map(_plain, np_state[2:])],
           "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(_tuples(state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _jsonable(v):
    return [_jsonable(x) for x in v] if isinstance(v, (tuple, list)) else v


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v
