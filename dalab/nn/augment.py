"""Image augmentation used inside training steps (torch only, on the batch's device).

``random_affine`` is LST-Net's augmentation (Sec. 3: rotation <= 10 deg, scale 0.9-1.1, shift
<= 2 px); the training engine applies the same jitter to every method's batches when asked
(``fit(augment=True)``, ``dalab train --augment``), so a benchmark can compare methods and
baselines under one switch. It draws from torch's global generator, which checkpoints save,
so a resumed run sees the same jittered images.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, rotate_deg: float = 10.0, scale: tuple = (0.9, 1.1),
                  shift_px: float = 2.0) -> torch.Tensor:
    """The paper's augmentation (Sec. 3): each image rotated by U(-rotate_deg, rotate_deg),
    scaled by U(scale), shifted by U(-shift_px, shift_px) pixels per axis. ``(N, C, H, W)``;
    borders are filled by replication (black for MNIST-like digits, texture for MNIST-M)."""
    n, _, h, w = x.shape
    ang = (torch.rand(n, device=x.device) * 2 - 1) * math.radians(rotate_deg)
    s = torch.empty(n, device=x.device).uniform_(*scale)
    t = (torch.rand(n, 2, device=x.device) * 2 - 1) * shift_px
    cos, sin = torch.cos(ang) / s, torch.sin(ang) / s  # output -> input coords: inverse scale
    theta = torch.stack([torch.stack([cos, -sin, t[:, 0] * 2 / w], 1),
                         torch.stack([sin, cos, t[:, 1] * 2 / h], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


