"""Gradient reversal layer (Ganin & Lempitsky, ICML 2015; Ganin et al., JMLR 2016).

Forward is the identity; backward multiplies the gradient by ``-lambda``. The usual warm-up
schedule ramps lambda from 0 to 1 as training progresses (JMLR 2016, Sec. 5.2.2):
``lambda_p = 2 / (1 + exp(-gamma * p)) - 1`` with ``gamma = 10`` and ``p`` in [0, 1] the
training progress.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lambd):
        ctx.lambd = lambd
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.lambd * grad, None


def grad_reverse(x: torch.Tensor, lambd: float = 1.0) -> torch.Tensor:
    """Identity forward; gradient times ``-lambd`` backward."""
    return _GradReverse.apply(x, float(lambd))


def grl_lambda(progress: float, gamma: float = 10.0) -> float:
    """``2 / (1 + exp(-gamma p)) - 1``: 0 at p = 0, ~1 at p = 1 (p clipped to [0, 1])."""
    p = min(max(float(progress), 0.0), 1.0)
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse` with a settable ``lambd``."""

    def __init__(self, lambd: float = 1.0):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return grad_reverse(x, self.lambd)
