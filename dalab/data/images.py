"""Image array helpers shared by every domain loader.

Convention (DESIGN.md): images are float32 in [0, 1] with shape ``(N, C, 28, 28)``,
C = 1 (gray) or 3 (RGB); labels are int64.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

SIZE = 28  # every image domain is stored at 28 x 28, MNIST's frame


def resize_images(x: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Resize ``(N, C, H, W)`` float images to ``(N, C, size, size)``.

    Bilinear with antialiasing, so downscaling (SVHN 32 -> 28, large photos) averages instead of
    aliasing, and upscaling (USPS 16 -> 28) is smooth. Values are clipped back to [0, 1].
    """
    if x.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) images, got shape {x.shape}")
    if x.shape[2] == size and x.shape[3] == size:
        return np.ascontiguousarray(x, dtype=np.float32)
    out = []
    for start in range(0, len(x), 2048):  # chunks keep memory flat for 70k-image sets
        t = torch.from_numpy(np.ascontiguousarray(x[start:start + 2048], dtype=np.float32))
        t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True)
        out.append(t.clamp_(0.0, 1.0).numpy())
    if not out:
        return np.zeros((0, x.shape[1], size, size), np.float32)
    return np.concatenate(out)


def to_gray(x: np.ndarray) -> np.ndarray:
    """``(N, 3, H, W)`` -> ``(N, 1, H, W)`` with ITU-R 601 luma weights; gray passes through."""
    if x.shape[1] == 1:
        return x
    w = np.array([0.299, 0.587, 0.114], np.float32).reshape(1, 3, 1, 1)
    return (x * w).sum(axis=1, keepdims=True).astype(np.float32)


def to_rgb(x: np.ndarray) -> np.ndarray:
    """Repeat a gray channel three times; RGB passes through."""
    if x.shape[1] == 3:
        return x
    return np.repeat(x, 3, axis=1)


def center_by_mass(x: np.ndarray) -> np.ndarray:
    """Shift each ``(C, H, W)`` image so its intensity centre of mass sits at the frame centre.

    This is how MNIST was built (LeCun et al.: digits size-normalised into a 20 x 20 box, then
    centred by centre of mass in a 28 x 28 frame). Shifts are whole pixels (np.roll on a
    zero-padded canvas, so nothing wraps around).
    """
    n, c, h, w = x.shape
    out = np.zeros_like(x)
    ys, xs = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    for i in range(n):
        m = x[i].sum(axis=0)
        total = m.sum()
        if total <= 0:
            out[i] = x[i]
            continue
        cy = (m.sum(axis=1) * ys).sum() / total
        cx = (m.sum(axis=0) * xs).sum() / total
        dy, dx = int(round((h - 1) / 2 - cy)), int(round((w - 1) / 2 - cx))
        pad = np.zeros((c, h + 2 * h, w + 2 * w), x.dtype)
        pad[:, h + dy:2 * h + dy, w + dx:2 * w + dx] = x[i]
        out[i] = pad[:, h:2 * h, w:2 * w]
    return out
