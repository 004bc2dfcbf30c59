"""Batch norm with one set of running statistics per origin domain (torch only).

Used by LST-Net (its encoders see source and target images on separate paths) and by DFA
(``bn_stats="per_domain"``): in eval mode a target image is normalised with the statistics of
the target batches it was trained with, not a mix of both domains (cf. domain-specific batch
norm, Chang et al., CVPR 2019; AdaBN, Li et al. 2016).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


class DomainBatchNorm2d(nn.Module):
    """BatchNorm with one affine transform (gamma, beta: shared for real) and one pair of
    running statistics per *origin domain* (0 = source, 1 = target), chosen by ``domain``.

    In training every call normalises its own batch, one domain path at a time (as two separate
    calls of a Keras model would); the running averages are kept per origin domain so that
    eval mode normalises a target image the way training did (cf. domain-specific batch norm,
    Chang et al., CVPR 2019). ``track = False`` freezes the running averages (cycle pass).
    Works on ``(N, C, H, W)`` and ``(N, C)`` inputs alike (``F.batch_norm``)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        for d in (0, 1):
            self.register_buffer(f"running_mean_{d}", torch.zeros(num_features))
            self.register_buffer(f"running_var_{d}", torch.ones(num_features))
        self.eps, self.momentum = eps, momentum
        self.domain, self.track = 0, True

    def forward(self, x):
        mean, var = getattr(self, f"running_mean_{self.domain}"), getattr(
            self, f"running_var_{self.domain}")
        return F.batch_norm(x, mean, var, self.weight, self.bias, self.training,
                            self.momentum if self.track else 0.0, self.eps)


@contextmanager
def bn_domain(module: nn.Module, domain: int, track: bool = True):
    """Run ``module``'s :class:`DomainBatchNorm2d` layers with the statistics of ``domain``
    (0 source, 1 target); ``track=False`` leaves the running averages untouched."""
    bns = [m for m in module.modules() if isinstance(m, DomainBatchNorm2d)]
    for m in bns:
        m.domain, m.track = domain, track
    try:
        yield
    finally:
        for m in bns:
            m.domain, m.track = 0, True




DomainBatchNorm = DomainBatchNorm2d  # the same module serves (N, C) features


def predict_in_domain(module: nn.Module, domain: int):
    """``bn_domain(module, domain, track=False)``: for inference on one domain's images."""
    return bn_domain(module, domain, track=False)
