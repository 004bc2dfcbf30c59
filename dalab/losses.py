"""Pure loss functions (torch only), shared by training and the app."""
from __future__ import annotations

import torch
import torch.nn.functional as F

SOURCE, TARGET = 1.0, 0.0  # domain-label convention (DESIGN.md): source = 1, target = 0


def domain_adversarial_loss(d_s: torch.Tensor, d_t: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of a domain discriminator's logits: source -> 1, target -> 0.

    Mean over the two halves, so equal batch sizes weigh the domains equally (DANN Eq. 9's
    domain term, averaged instead of summed over samples).
    """
    return 0.5 * (F.binary_cross_entropy_with_logits(d_s, torch.full_like(d_s, SOURCE))
                  + F.binary_cross_entropy_with_logits(d_t, torch.full_like(d_t, TARGET)))


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean Shannon entropy (nats) of the softmax of ``logits`` ``(N, K)``."""
    logp = F.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(dim=1).mean()
