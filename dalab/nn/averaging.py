"""An exponential moving average of a module's weights (torch only).

``fit(ema=decay)`` keeps one for every method alike: after each training step
``shadow <- d shadow + (1 - d) weights`` for every floating tensor of the state dict
(parameters and batch-norm running statistics; integer buffers are copied), with the warm-up
``d = min(decay, (1 + n) / (10 + n))`` after ``n`` updates (TensorFlow's
``ExponentialMovingAverage(num_updates=...)``), so a short run is not dominated by its
initial weights. Evaluation and the saved run use the average; training continues on the raw
weights. Why: a single run's target accuracy swings by 0.03-0.09 between consecutive
evaluations (issue 13), and the average of the last weights is a steadier final number
(Polyak & Juditsky 1992; Tarvainen & Valpola 2017 use the same average as a teacher).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class WeightAverage:
    """``shadow``: a dict like ``module.state_dict()`` holding the averaged tensors."""

    def __init__(self, module: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the weight average's decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items()}

    def current_decay(self) -> float:
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        d = self.current_decay()
        for k, v in module.state_dict().items():
            s = self.shadow[k]
            if s.dtype.is_floating_point:
                s.lerp_(v.detach(), 1.0 - d)
            else:
                s.copy_(v)
        self.updates += 1

    @contextmanager
    def applied(self, module: nn.Module):
        """Run the block with the averaged weights in ``module``; its own come back after."""
        own = {k: v.detach().clone() for k, v in module.state_dict().items()}
        module.load_state_dict(self.shadow)
        try:
            yield
        finally:
            module.load_state_dict(own)

    def state_tensors(self, prefix: str = "ema/") -> dict[str, torch.Tensor]:
        """The shadow (and the update count) as named CPU tensors, for a checkpoint."""
        out = {prefix + k: v.detach().to("cpu").contiguous() for k, v in self.shadow.items()}
        out[prefix[:-1] + "#updates"] = torch.tensor([self.updates], dtype=torch.int64)
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], prefix: str = "ema/") -> None:
        missing = [k for k in self.shadow if prefix + k not in tensors]
        if missing:
            raise KeyError(f"checkpoint has no weight average for {missing[:3]} (was the run "
                           "trained without --ema?)")
        for k, s in self.shadow.items():
            s.copy_(tensors[prefix + k].to(s.device))
        self.updates = int(tensors[prefix[:-1] + "#updates"][0])
