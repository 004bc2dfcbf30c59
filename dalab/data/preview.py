"""Pictures of a domain as plain uint8 arrays (no plotting library): the CLI writes them to
PNG, the app shows them."""
from __future__ import annotations

import numpy as np


def image_grid(x: np.ndarray, y: np.ndarray, classes, per_class: int = 10,
               scale: int = 2) -> "np.ndarray":
    """Rows = classes, columns = the first ``per_class`` images of each: uint8 ``(H, W, 3)``."""
    n_cls = len(classes)
    h, w = x.shape[2], x.shape[3]
    grid = np.zeros((n_cls * (h + 2), per_class * (w + 2), 3), np.float32)
    for c in range(n_cls):
        idx = np.flatnonzero(y == c)[:per_class]
        for j, i in enumerate(idx):
            img = x[i]
            img = np.repeat(img, 3, axis=0) if img.shape[0] == 1 else img
            grid[c * (h + 2) + 1:c * (h + 2) + 1 + h,
                 j * (w + 2) + 1:j * (w + 2) + 1 + w] = img.transpose(1, 2, 0)
    grid = np.kron(grid, np.ones((scale, scale, 1), np.float32))
    return (grid * 255).round().astype(np.uint8)


def points_plot(x: np.ndarray, y: np.ndarray, size: int = 400) -> np.ndarray:
    """A scatter plot of 2-D points coloured by class: uint8 ``(size, size, 3)``."""
    # class colours that are none of the app's domain colours (blue = source, red = target,
    # dalab/ui/colours.py) nor the prior's green: purple, orange, teal, brown
    colours = np.array([[148, 103, 189], [255, 127, 14], [23, 190, 207], [140, 86, 75]],
                       np.uint8)
    img = np.full((size, size, 3), 255, np.uint8)
    lo, hi = x.min(0), x.max(0)
    span = max(float((hi - lo).max()), 1e-9)  # one scale for both axes: shapes keep their aspect
    px = ((x - lo) / span * (size - 9) + 4).astype(int)
    for (cx, cy), lab in zip(px, y):
        img[size - 1 - cy - 1:size - cy + 1, cx - 1:cx + 2] = colours[lab % len(colours)]
    return img
