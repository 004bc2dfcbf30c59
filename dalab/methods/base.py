"""The ``Method`` interface every method implements (DESIGN.md, "Methods").

A method is an ``nn.Module`` that owns its sub-networks *and* its optimizers, so ``fit()``
never branches on the objective: it hands each batch to ``train_step`` and reads back a dict
of floats. Everything needed to rebuild a method is ``(name, config, input_shape,
num_classes)``; runs store exactly that (see :mod:`dalab.runs`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
from torch import nn


@dataclass
class Latent:
    """What ``encode`` returns: deep features ``h`` and, for VAEs, ``mu`` and ``sigma``."""
    h: torch.Tensor
    mu: torch.Tensor | None = None
    sigma: torch.Tensor | None = None


class Method(nn.Module):
    """Base class. Subclasses set the class attributes and implement ``train_step``/``predict``.

    Capabilities are contracts declared on the class (DESIGN.md, "Methods"); the app and the
    analysis layer read them instead of the method's name and never probe by catching errors:

    - ``capabilities``: ``"encode"``, ``"translate"``, ``"reconstruct"``;
    - ``translate_to``: the domains ``translate(x, to=...)`` renders into (non-empty exactly when
      ``"translate"`` is a capability; any other ``to`` raises ``ValueError``);
    - ``equation``: the method's key equation in LaTeX, shown on its Home-page card;
    - ``pages``: titles of the app pages that show the method at work.
    """

    name: ClassVar[str]
    paper: ClassVar[str]                 # citation of the method's paper
    summary: ClassVar[str]               # one line for `dalab methods` and the app
    Config: ClassVar[type]               # a dataclass with commented, cited defaults
    capabilities: ClassVar[frozenset[str]] = frozenset()
    translate_to: ClassVar[frozenset[str]] = frozenset()  # "source" and/or "target"
    equation: ClassVar[str] = ""         # key equation (LaTeX) for the app's method card
    pages: ClassVar[tuple[str, ...]] = ("Train",)  # app page titles that show this method
    uses_target_labels: ClassVar[bool] = False  # True only for the target-only upper bound
    input_kinds: ClassVar[frozenset[str]] = frozenset({"image", "points"})  # what it accepts
    default_steps: ClassVar[int] = 3000
    # what the paper reports on its nearest task, shown beside our numbers (a different
    # dataset): ({"task": "MNIST->USPS", "accuracy": 0.95, "source": "Table 2"}, ...)
    paper_results: ClassVar[tuple[dict, ...]] = ()

    def __init__(self, config=None, *, input_shape: tuple[int, ...], num_classes: int):
        super().__init__()
        self.config = config if config is not None else self.Config()
        if not isinstance(self.config, self.Config):
            raise TypeError(f"{self.name} expects a {self.Config.__name__}, "
                            f"got {type(self.config).__name__}")
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = int(num_classes)
        self.total_steps = self.default_steps

    # -- training ------------------------------------------------------------------------
    def on_fit_start(self, total_steps: int) -> None:
        """Called by ``fit`` before the first step: schedules need the run's length."""
        self.total_steps = max(1, int(total_steps))

    def progress(self, step: int) -> float:
        """Training progress p in [0, 1], as used by DANN-style schedules."""
        return min(1.0, step / self.total_steps)

    def train_step(self, x_s: torch.Tensor, y_s: torch.Tensor, x_t: torch.Tensor,
                   step: int, y_t: torch.Tensor | None = None) -> dict[str, float]:
        """One optimisation step (backward and optimizer steps inside); returns losses."""
        raise NotImplementedError

    # -- inference -----------------------------------------------------------------------
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, K)`` for target-domain inputs."""
        raise NotImplementedError

    def extra_predictors(self) -> dict:
        """Other ways this method can classify target inputs, ``{suffix: fn(x) -> logits}``;
        ``fit`` reports each as ``target_test_<suffix>`` next to ``target_test`` (e.g. CDLM:
        classifier on generated source-style images vs. on the deep features h_t)."""
        return {}

    def encode(self, x: torch.Tensor, domain: str = "target") -> Latent:
        raise NotImplementedError(f"{self.name} cannot encode")

    def translate(self, x: torch.Tensor, to: str = "source") -> torch.Tensor:
        """Inputs of the other domain rendered in domain ``to``, same shape as ``x``; defined
        for ``to`` in ``translate_to`` only, ``ValueError`` for any other ``to``."""
        raise ValueError(f"to={to!r}: {self.name} does not translate (its translate_to is empty)")

    # -- description ---------------------------------------------------------------------
    def spec(self) -> dict:
        """Everything needed to rebuild this method (weights aside)."""
        return {"method": self.name, "config": asdict(self.config),
                "input_shape": list(self.input_shape), "num_classes": self.num_classes}
